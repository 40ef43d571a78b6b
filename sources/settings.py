"""Configuration of what enters Kafka: the unsubscribe endpoint, the producer helper, imports."""

from typing import Any

from pydantic import Field, SecretStr, field_validator

from schemas.settings import ClientSettings


class SourceSettings(ClientSettings):
    unsubscribe_mailto: str = "unsubscribe@example.com"
    unsubscribe_ack_timeout_s: float = Field(
        default=10.0, gt=0,
        description="how long a one-click POST waits for the broker's ack before answering 503")
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL the preference centre reads a person's current "
        "choices from (role consent_unsubscribe); unset: no preference centre, one-click only")
    db_schema: str = Field(default="consent", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    unsubscribe_db_timeout_s: float = Field(
        default=5.0, gt=0,
        description="how long the preference centre waits for PostgreSQL before answering 503")

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty variable (an unset deployment secret) means no database, not a bad URL."""
        return None if value == "" else value
