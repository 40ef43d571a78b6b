"""One settings base for every Kafka client of the project, from `CONSENT_*` variables.

Frozen so a running process cannot drift from what it logged at start; secrets are
`SecretStr` so they never print. Each component subclasses it with what only it needs
(`streams.settings`, `sinks.settings`, `sources.settings`), and every librdkafka configuration
is rendered here, so no component builds its own.

How a client authenticates comes from one file per principal (`kafka_client_config`, written by
`ops.access`): the same settings class serves every principal, and a process can only be what
its file says. The file is read once, when the settings are made, so a missing file stops a
component at start rather than at its first connection.
"""

import logging
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.client_properties import ClientProperties, load_client_properties
from schemas.contact import check_key_secret

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
    kafka_client_config: Path | None = Field(
        default=None, description="librdkafka properties file with this principal's connection "
        "settings (bootstrap, SASL, TLS); its bootstrap.servers wins over kafka_bootstrap")
    _client_properties: ClientProperties | None = PrivateAttr(default=None)

    @field_validator("kafka_client_config", mode="before")
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
        return self.to_librdkafka()["bootstrap.servers"]

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def to_librdkafka(self, **extra: Any) -> dict[str, Any]:
        """The connection settings (client configuration file merged in), then `extra`.

        librdkafka's own log lines go through Python logging (`consent.kafka`), so they come
        out in the process's format (JSON for the daemons) instead of raw on stderr.
        """
        conf: dict[str, Any] = {"bootstrap.servers": self.kafka_bootstrap,
                                "logger": KAFKA_LOG}
        if self._client_properties is not None:
            conf.update(self._client_properties.librdkafka())
        conf.update(extra)
        return conf

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
        """Manual commits, from the beginning, and never a record of an aborted transaction.

        `group` is used as it is: callers name it with `group_id` or the app id.
        """
        return self.to_librdkafka(**{
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            **extra,
        })

    def check_production(self) -> None:
        check_key_secret(self.key_secret.get_secret_value(), self.environment)
