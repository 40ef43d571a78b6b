"""One settings base for every Kafka client of the project, from `CONSENT_*` variables.

Frozen so a running process cannot drift from what it logged at start; secrets are
`SecretStr` so they never print. Each component subclasses it with what only it needs
(`streams.settings`, `sinks.settings`, `sources.settings`), and every librdkafka configuration
is rendered here, so no component builds its own.

How a client authenticates comes from one file per principal (`kafka_client_config`, written by
`ops.access`): the same settings class serves every principal, and a process can only be what
its file says. The file is read once, when the settings are made, so a missing file stops a
component at start rather than at its first connection.

Where data may go is checked here too (`schemas.processors`): every librdkafka configuration
is rendered by `to_librdkafka`, so no Kafka client of any component can reach a bootstrap host
the processors file does not declare; subclasses add their own destinations (database, SMTP,
unsubscribe URL) to `destinations`, and each component calls `check_destinations` at start.
How long Kafka keeps personal data (`retention`) is a setting of the same base, because
`consent topics create` applies it and `consent lookup` states it.
"""

import logging
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.client_properties import ClientProperties, load_client_properties
from schemas.contact import check_key_secret
from schemas.processors import (
    Declaration,
    Destination,
    DestinationKind,
    bootstrap_hosts,
    load_processors,
)
from schemas.topics import DAY_MS, Retention

KAFKA_LOG = logging.getLogger("consent.kafka")


class ClientSettings(BaseSettings):
    """What every Kafka client of the project shares."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_", frozen=True, extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field(
        default="", description="prepended to every topic name (isolates tests and tenants)"
    )
    partitions: int = Field(default=6, ge=1, description="partition count of co-partitioned topics")
    replication_factor: int = Field(default=1, ge=1)
    key_secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC secret of contact keys and unsubscribe tokens; "
        "required (the local stack generates one per instance)")
    environment: str = Field(default="development", description="`production` refuses dev defaults")
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="port of this process's /metrics on "
        "`metrics_host`; unset: the kind's default (schemas.metrics_endpoint); 0: none")
    metrics_host: str = Field(
        default="127.0.0.1", pattern=r"^[0-9A-Za-z.:_-]{1,253}$",
        description="address /metrics listens on: loopback by default, so nothing outside the "
        "machine sees it; a container sets `0.0.0.0` (or its pod IP) so Prometheus and the "
        "orchestrator's probes can reach it")
    session_timeout_s: float = Field(
        default=10.0, ge=6, description="consumer-group session timeout of every consumer: how "
        "soon a crashed process's partitions move to a live one, or to its own restart (the "
        "client's default, 45 s, held a restarted sink's partitions that long)")
    kafka_client_config: Path | None = Field(
        default=None, description="librdkafka properties file with this principal's connection "
        "settings (bootstrap, SASL, TLS); its bootstrap.servers wins over kafka_bootstrap")
    processors_file: Path | None = Field(
        default=None, description="the declared processors (who may receive personal data, on "
        "which hosts); default: schemas/processors.toml")
    raw_retention_days: float = Field(
        default=7.0, gt=0, le=365, description="how long Kafka keeps topics with personal data "
        "in raw form (input topics, mail-requests, mail-outbox); fractions allowed")
    dead_letter_retention_days: float = Field(
        default=7.0, gt=0, le=365, description="how long `dead-letters` keeps original bytes")
    _client_properties: ClientProperties | None = PrivateAttr(default=None)

    @field_validator("kafka_client_config", "processors_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty variable (an unset deployment secret) means no file, not the directory `.`."""
        return None if value == "" else value

    def model_post_init(self, context: Any, /) -> None:
        if self.kafka_client_config is not None:
            self._client_properties = load_client_properties(self.kafka_client_config)

    @property
    def bootstrap_servers(self) -> str:
        """Where clients connect: the client configuration's servers, else `kafka_bootstrap`."""
        return str(self._connection()["bootstrap.servers"])

    @property
    def kafka_principal(self) -> str | None:
        """Who this client authenticates as (`sasl.username` of its client file), if anyone."""
        props = self._client_properties
        return None if props is None else props.plain.get("sasl.username")

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def to_librdkafka(self, **extra: Any) -> dict[str, Any]:
        """The connection settings (client configuration file merged in), then `extra`.

        Raises `UndeclaredDestination` when a bootstrap host is not a declared processor's.
        librdkafka's own log lines go through Python logging (`consent.kafka`), so they come
        out in the process's format (JSON for the daemons) instead of raw on stderr.
        """
        conf = self._connection()
        self.declaration().check_all(self._kafka_destinations(conf["bootstrap.servers"]))
        conf.update(extra)
        return conf

    def _connection(self) -> dict[str, Any]:
        conf: dict[str, Any] = {"bootstrap.servers": self.kafka_bootstrap,
                                "logger": KAFKA_LOG}
        if self._client_properties is not None:
            conf.update(self._client_properties.librdkafka())
        return conf

    def _kafka_destinations(self, servers: str) -> list[Destination]:
        props = self._client_properties
        if props is not None and "bootstrap.servers" in props.plain:
            setting = f"bootstrap.servers in {props.path} (CONSENT_KAFKA_CLIENT_CONFIG)"
        else:
            setting = "CONSENT_KAFKA_BOOTSTRAP"
        return [Destination(DestinationKind.KAFKA, setting, h) for h in bootstrap_hosts(servers)]

    # ------------------------------------------------------------------ declared processors

    def declaration(self) -> Declaration:
        return load_processors(self.processors_file)

    def destinations(self) -> list[Destination]:
        """Every place these settings send data to; subclasses add theirs."""
        return self._kafka_destinations(str(self._connection()["bootstrap.servers"]))

    def check_destinations(self, *kinds: DestinationKind) -> None:
        """Refuse to start towards an undeclared host, for the kinds this component uses."""
        self.declaration().check_all([d for d in self.destinations() if d.kind in kinds])

    # ---------------------------------------------------------------------------- retention

    def retention(self) -> Retention:
        return Retention(raw_ms=round(self.raw_retention_days * DAY_MS),
                         dead_letter_ms=round(self.dead_letter_retention_days * DAY_MS))

    def producer_config(self, **extra: Any) -> dict[str, Any]:
        """Idempotent, acks=all, and Kafka's murmur2 partitioner, as the Java client uses."""
        return self.to_librdkafka(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "compression.type": "lz4",
                **extra,
            }
        )

    def group_id(self, name: str) -> str:
        """A consumer group of this deployment: prefixed like its topics, so tenants stay apart."""
        return f"{self.topic_prefix}{name}"

    def consumer_config(self, group: str, **extra: Any) -> dict[str, Any]:
        """Manual commits, from the beginning, never a record of an aborted transaction, and
        the session timeout of these settings.

        `group` is used as it is: callers name it with `group_id` or the app id.
        """
        return self.to_librdkafka(**{
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": round(self.session_timeout_s * 1000),
            **extra,
        })

    def check_production(self) -> None:
        check_key_secret(self.key_secret.get_secret_value(), self.environment)
