"""Configuration of what enters Kafka: the unsubscribe endpoint, the producer helper, imports."""

from pydantic import Field

from schemas.settings import ClientSettings


class SourceSettings(ClientSettings):
    unsubscribe_mailto: str = "unsubscribe@example.com"
    unsubscribe_ack_timeout_s: float = Field(
        default=10.0, gt=0,
        description="how long a one-click POST waits for the broker's ack before answering 503")
