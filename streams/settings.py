"""Configuration of the stream processors (consent agent and send filter)."""

from pathlib import Path

from pydantic import Field

from schemas.settings import ClientSettings


class StreamSettings(ClientSettings):
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
