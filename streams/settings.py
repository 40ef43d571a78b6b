"""Configuration of the stream processors (consent agent and send filter)."""

import socket
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field

from schemas.processors import Destination, DestinationKind
from schemas.settings import ClientSettings


class StreamSettings(ClientSettings):
    app_id: str = Field(default="consent", description="consumer-group and transactional-id "
                        "prefix of the stream processors")
    data_dir: Path = Field(default=Path(".local/worker"), description="the agent's state stores")
    policy_file: Path | None = None
    unsubscribe_base_url: str = "http://127.0.0.1:8089/unsubscribe"
    unsubscribe_ttl_days: int = Field(default=60, ge=1)
    barrier_stall_s: float = Field(
        default=120.0, gt=0, description="how long the send filter waits on consent input that "
        "makes no progress before it exits (a backlog that is being worked through never "
        "trips it)")
    event_time_skew_s: float = Field(
        default=300.0, ge=0, description="how far an event's occurred_at may be ahead of the "
        "broker's append time before it is clamped to the append time")
    process_id: str = Field(
        default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="stable name of this process among its peers (pod name, `filter-1`): its "
        "transactional id, so a restarted process aborts the transaction its crashed "
        "predecessor left open instead of blocking readers until the transaction times out")
    transaction_timeout_s: float = Field(default=15.0, ge=1.0)
    agent_batch: int = Field(default=2000, ge=1, description="consent events per transaction")
    filter_batch: int = Field(default=5000, ge=1, description="mail requests per transaction")
    filter_reader: bool = Field(
        default=True, description="read requests and hash their addresses in a helper process "
        "while the send filter decides (a second core's worth of work; off: all in one thread)")

    def destinations(self) -> list[Destination]:
        """Kafka, and the unsubscribe endpoint the link in every marketing mail points at."""
        host = urlsplit(self.unsubscribe_base_url).hostname or self.unsubscribe_base_url
        return [*super().destinations(),
                Destination(DestinationKind.UNSUBSCRIBE, "CONSENT_UNSUBSCRIBE_BASE_URL", host)]
