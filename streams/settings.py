"""Configuration of the stream processors, from `CONSENT_*` environment variables.

Frozen so a running worker cannot drift from what it logged at start; secrets are `SecretStr`
so they never print. Sinks have their own settings class (`sinks/settings.py`): each component
reads only what it needs.
"""

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.contact import DEV_KEY_SECRET, check_key_secret

INPUT_TOPICS = ("purchases", "support", "newsletter", "preferences")
MAIL_REQUESTS = "mail-requests"
OUTPUT_TOPICS = ("consent-changes", "mail-outbox", "mail-suppressed", "dead-letters", "contacts")


class KafkaSettings(BaseSettings):
    """What every Kafka client of the project shares."""

    model_config = SettingsConfigDict(env_prefix="CONSENT_", frozen=True, extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field(
        default="", description="prepended to every topic name (isolates tests and tenants)"
    )
    partitions: int = Field(default=6, ge=1, description="partition count of co-partitioned topics")
    replication_factor: int = Field(default=1, ge=1)
    key_secret: SecretStr = SecretStr(DEV_KEY_SECRET)
    environment: str = Field(default="development", description="`production` refuses dev defaults")

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def to_librdkafka(self, **extra: Any) -> dict[str, Any]:
        conf: dict[str, Any] = {"bootstrap.servers": self.kafka_bootstrap}
        conf.update(extra)
        return conf

    def producer_config(self, **extra: Any) -> dict[str, Any]:
        """Idempotent, acks=all, and Kafka's murmur2 partitioner so keys land where faust expects."""
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

    def check_production(self) -> None:
        check_key_secret(self.key_secret.get_secret_value(), self.environment)


class StreamSettings(KafkaSettings):
    app_id: str = Field(default="consent", description="faust app id; prefixes internal topics")
    data_dir: Path = Field(default=Path(".local/worker"), description="RocksDB state")
    policy_file: Path | None = None
    unsubscribe_base_url: str = "http://127.0.0.1:8089/unsubscribe"
    unsubscribe_ttl_days: int = Field(default=60, ge=1)
    metrics_port: int = Field(default=0, ge=0, description="0 = no /metrics endpoint")
    barrier_timeout_s: float = Field(default=30.0, gt=0)
    session_timeout_s: float = Field(
        default=10.0, ge=6, description="consumer-group session timeout: how soon a crashed "
        "worker's partitions move to a live one (faust's default is 60 s)")
