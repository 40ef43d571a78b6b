"""Configuration of the sinks (PostgreSQL, mailer, unsubscribe endpoint), from `CONSENT_*`."""

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.contact import DEV_KEY_SECRET


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENT_", frozen=True, extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    database_url: SecretStr = SecretStr("postgresql://consent:consent@127.0.0.1:54329/consent")
    db_schema: str = Field(default="consent", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    key_secret: SecretStr = SecretStr(DEV_KEY_SECRET)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Example Software <news@example.com>"
    unsubscribe_mailto: str = "unsubscribe@example.com"
    sink_batch: int = Field(default=500, ge=1)
    mailer_max_attempts: int = Field(default=5, ge=1)
    environment: str = Field(default="development",
                             description="`production` refuses the development key secret")
    unsubscribe_ack_timeout_s: float = Field(
        default=10.0, gt=0,
        description="how long a one-click POST waits for the broker's ack before answering 503")

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def consumer_config(self, group: str, **extra: Any) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.kafka_bootstrap,
            "group.id": f"{self.topic_prefix}{group}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            **extra,
        }
