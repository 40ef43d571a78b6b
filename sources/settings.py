"""Configuration of what enters Kafka: the unsubscribe endpoint, webhook ingestion, the producer
helper, imports."""

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from schemas.exceptions import ConfigError
from schemas.processors import Destination, database_destinations
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

    def destinations(self) -> list[Destination]:
        """Kafka, and the preference centre's PostgreSQL when one is configured."""
        db = ([] if self.database_url is None
              else database_destinations(self.database_url.get_secret_value()))
        return [*super().destinations(), *db]


IngestKind = Literal["purchase", "message"]
"""What a webhook source may send: `purchase` → `purchase.completed` on `purchases`,
`message` → `support.message_received` on `support` (`sources.ingest.routes`)."""

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
"""A source's name is in its URL, its metric label and its events' `source`: short and plain."""
MIN_SECRET_BYTES = 24
"""Shortest signing secret accepted (Standard Webhooks' secrets are 24 to 64 random bytes)."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a signing secret: `whsec_<base64>` decoded (the Standard Webhooks
    format providers hand out), anything else as its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError("a whsec_ signing secret is not valid base64") from exc
    return secret.encode("utf-8")


class IngestSettings(SourceSettings):
    """Webhook ingestion (`consent ingest-server`): which sources exist and how they sign.

    A source is enabled only when it has a secret: a source without one is refused like an
    unknown one, so a forgotten secret can never mean "accept anything".
    """

    ingest_sources: dict[str, IngestKind] = Field(
        default={"shop": "purchase", "helpdesk": "message"},
        description="source name → what it sends (JSON object); the URL is "
        "/webhooks/<source>/<kind>")
    ingest_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="source name → HMAC-SHA256 signing secret (JSON object); a source without "
        "one is refused")
    ingest_timestamp_tolerance_s: int = Field(
        default=300, gt=0, le=3600,
        description="how far a webhook's signed timestamp may be from now, either way")
    ingest_ack_timeout_s: float = Field(
        default=5.0, gt=0,
        description="how long a webhook waits for the broker's ack before answering 503")

    def enabled_sources(self) -> dict[str, IngestKind]:
        """The sources requests are accepted from: configured and given a secret."""
        return {name: kind for name, kind in self.ingest_sources.items()
                if name in self.ingest_secrets}

    def check_ingest(self) -> None:
        """Refuse a configuration that would accept forged or unroutable webhooks.

        A `ConfigError` rather than a pydantic validator: pydantic's messages print the input,
        and the input here is secrets.
        """
        for name in self.ingest_sources:
            if not SOURCE_NAME.match(name):
                raise ConfigError("CONSENT_INGEST_SOURCES: source names are lower-case letters, "
                                  "digits and '-', at most 32, starting with a letter")
        unknown = sorted(set(self.ingest_secrets) - set(self.ingest_sources))
        if unknown:
            # shown only when they look like names: a swapped key and value would be a secret
            shown = [n if SOURCE_NAME.match(n) else "(not a source name)" for n in unknown]
            raise ConfigError("CONSENT_INGEST_SECRETS names sources that CONSENT_INGEST_SOURCES "
                              f"does not: {', '.join(shown)}")
        for name, secret in self.ingest_secrets.items():
            if len(secret_bytes(secret.get_secret_value())) < MIN_SECRET_BYTES:
                raise ConfigError(f"the signing secret of source {name} is shorter than "
                                  f"{MIN_SECRET_BYTES} bytes")
        if not self.enabled_sources():
            raise ConfigError("webhook ingestion has no source with a signing secret "
                              "(CONSENT_INGEST_SECRETS)")
