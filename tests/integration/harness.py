"""What integration tests use to drive a running pipeline: a handle on it, and unique ids.

Kept out of `conftest.py` so tests import helpers from a module of their own and conftest
holds fixtures only.
"""

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import Consumer

from ops.deployment import Deployment
from ops.smtp_capture import CaptureServer
from ops.supervisor import Components, LocalInfra
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event
from streams.settings import StreamSettings


@dataclass
class Pipeline:
    """A running pipeline (processors and sinks) on its own topics and schema, and handles on it.

    The test itself plays every producer and reads every output as the admin principal (setup
    only, like the bench's load driver); each pipeline process runs as its own principal and
    database role (`ops.deployment`).
    """

    infra: LocalInfra
    deployment: Deployment
    env: dict[str, str]
    procs: Components
    smtp: CaptureServer
    producer: EventProducer = field(init=False)

    def __post_init__(self) -> None:
        self.producer = EventProducer(self.stream_settings)

    @property
    def prefix(self) -> str:
        return self.deployment.prefix

    @property
    def stream_settings(self) -> StreamSettings:
        return self.deployment.admin_settings()

    @property
    def sink_settings(self) -> SinkSettings:
        return self.deployment.owner_sink_settings()

    def kafka(self, **extra: Any) -> dict[str, Any]:
        """librdkafka configuration of the test's own clients (admin principal)."""
        return self.deployment.admin_client().to_librdkafka(**extra)

    def producer_event(self, event_type: str, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """An event to send yourself (batched sends; `send` flushes each one)."""
        return make_event(event_type, data, source=kw.pop("source", "test"), **kw)

    def send(self, event_type: str, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        event = make_event(event_type, data, source=kw.pop("source", "test"), **kw)
        self.producer.send(event)
        self.producer.flush()
        return event

    def db(self) -> psycopg.Connection:
        conn = psycopg.connect(self.infra.database_url, autocommit=True)
        conn.execute(f'SET search_path TO "{self.sink_settings.db_schema}"')
        return conn

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.db() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def wait_rows(self, sql: str, *params: Any, count: int = 1, timeout: float = 60.0
                  ) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + timeout
        rows: list[tuple[Any, ...]] = []
        while time.monotonic() < deadline:
            self.procs.check_alive()
            rows = self.query(sql, *params)
            if len(rows) >= count:
                return rows
            time.sleep(0.2)
        raise AssertionError(f"expected {count} rows within {timeout}s, got {len(rows)}: {sql}")

    def decision(self, request_id: str, timeout: float = 60.0) -> tuple[Any, ...]:
        return self.wait_rows(
            "SELECT outcome, reason, rule, detected, purpose FROM mail_decisions "
            "WHERE request_id = %s", request_id, timeout=timeout)[0]

    def topic_records(self, topic: str, timeout: float = 10.0, expect: int = 1
                      ) -> list[tuple[bytes | None, dict[str, Any] | bytes]]:
        """Everything committed in one of this pipeline's topics (read from the beginning).

        `read_committed`, as every consumer of the pipeline's outputs reads: a record of an
        aborted transaction is not an output.
        """
        c = Consumer(self.kafka(**{"group.id": f"t-{uuid.uuid4()}",
                                   "auto.offset.reset": "earliest",
                                   "enable.auto.commit": False,
                                   "isolation.level": "read_committed"}))
        c.subscribe([f"{self.prefix}{topic}"])
        out: list[tuple[bytes | None, dict[str, Any] | bytes]] = []
        deadline = time.monotonic() + timeout
        idle_since = time.monotonic()
        try:
            while time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None or m.error():
                    if len(out) >= expect and time.monotonic() - idle_since > 1.5:
                        break
                    continue
                idle_since = time.monotonic()
                try:
                    out.append((m.key(), json.loads(m.value())))
                except (ValueError, TypeError):
                    out.append((m.key(), m.value()))
        finally:
            c.close()
        return out

    def mails_to(self, email: str) -> list[Any]:
        return [m for m in self.smtp.mailbox.snapshot() if m["To"] == email]


def unique_request() -> str:
    return f"req-{uuid.uuid4().hex}"
