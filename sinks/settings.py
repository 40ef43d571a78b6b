"""Configuration of the sinks (PostgreSQL sink, mailer) and of what reads PostgreSQL."""

from pydantic import Field, SecretStr

from schemas.processors import Destination, DestinationKind, database_destinations
from schemas.settings import ClientSettings


class SinkSettings(ClientSettings):
    database_url: SecretStr = SecretStr("postgresql://consent:consent@127.0.0.1:54329/consent")
    db_schema: str = Field(default="consent", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Example Software <news@example.com>"
    unsubscribe_mailto: str = "unsubscribe@example.com"
    sink_batch: int = Field(default=5000, ge=1, description="records per PostgreSQL transaction")
    db_retry_s: float = Field(default=60.0, gt=0, description="how long a sink retries an "
                              "unreachable PostgreSQL before it exits for its supervisor")
    mailer_max_attempts: int = Field(default=5, ge=1)
    barrier_stall_s: float = Field(
        default=120.0, gt=0, description="how long the mailer waits at send time on consent "
        "input that makes no progress before it exits")
    mailer_concurrency: int = Field(default=8, ge=1, le=100,
                                    description="SMTP connections sending at once")

    def destinations(self) -> list[Destination]:
        return [*super().destinations(),
                *database_destinations(self.database_url.get_secret_value()),
                Destination(DestinationKind.SMTP, "CONSENT_SMTP_HOST", self.smtp_host)]
