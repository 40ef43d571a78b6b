"""Integration fixtures: one real broker and one real PostgreSQL per session, started here.

They never skip: if the servers cannot start, the session errors loudly. Each pipeline gets
its own topic prefix, app id and database schema, so tests do not see each other's data.
"""

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer

from sinks.db import migrate
from sinks.settings import SinkSettings
from streams.processes import REPO_ROOT, Components, LocalInfra
from streams.producer import EventProducer, make_event
from streams.settings import StreamSettings
from streams.smtp_capture import CaptureServer
from streams.topics import create_topics

pytestmark = pytest.mark.integration

# Overridable so two test runs on one machine do not share (and stop) each other's servers.
TEST_INSTANCE = os.environ.get("CONSENT_TEST_INSTANCE", "test")
_BASE = int(os.environ.get("CONSENT_TEST_PORT_BASE", "9392"))
TEST_PORTS = {"kafka_port": _BASE, "controller_port": _BASE + 1,
              "pg_port": int(os.environ.get("CONSENT_TEST_PG_PORT", "54332"))}


@pytest.fixture(scope="session")
def infra() -> Iterator[LocalInfra]:
    with LocalInfra(TEST_INSTANCE, **TEST_PORTS) as running:
        yield running


@dataclass
class Pipeline:
    """A running pipeline (worker + sinks) on its own topics and schema, and handles on it."""

    infra: LocalInfra
    prefix: str
    env: dict[str, str]
    procs: Components
    smtp: CaptureServer
    stream_settings: StreamSettings
    sink_settings: SinkSettings
    producer: EventProducer = field(init=False)

    def __post_init__(self) -> None:
        self.producer = EventProducer(self.stream_settings)

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
        """Everything currently in one of this pipeline's topics (read from the beginning)."""
        c = Consumer({"bootstrap.servers": self.infra.bootstrap, "group.id": f"t-{uuid.uuid4()}",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
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


def _settings(infra: LocalInfra, prefix: str, schema: str) -> dict[str, str]:
    return {
        "CONSENT_KAFKA_BOOTSTRAP": infra.bootstrap,
        "CONSENT_DATABASE_URL": infra.database_url,
        "CONSENT_TOPIC_PREFIX": prefix,
        "CONSENT_APP_ID": f"{prefix}consent",
        "CONSENT_DB_SCHEMA": schema,
        "CONSENT_DATA_DIR": str(REPO_ROOT / ".local" / "test" / "worker" / prefix),
    }


@pytest.fixture(scope="session")
def make_pipeline(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Callable[..., Pipeline]]:
    """Factory: a fresh pipeline with its own topics/schema; all stopped at session end."""
    stacks: list[tuple[Components, CaptureServer]] = []
    pipelines: list[Pipeline] = []

    def factory(components: tuple[str, ...] = ("worker", "postgres", "mailer"),
                extra_env: dict[str, str] | None = None) -> Pipeline:
        tag = uuid.uuid4().hex[:8]
        prefix, schema = f"t{tag}-", f"t_{tag}"
        env = {**_settings(infra, prefix, schema), **(extra_env or {})}
        smtp = CaptureServer().__enter__()
        env["CONSENT_SMTP_HOST"], env["CONSENT_SMTP_PORT"] = smtp.host, str(smtp.port)
        stream_settings = StreamSettings(**{k[8:].lower(): v for k, v in env.items()
                                            if k[8:].lower() in StreamSettings.model_fields})
        sink_settings = SinkSettings(**{k[8:].lower(): v for k, v in env.items()
                                        if k[8:].lower() in SinkSettings.model_fields})
        create_topics(stream_settings)
        migrate(sink_settings)
        procs = Components(env, Path(tmp_path_factory.mktemp(f"logs-{tag}"))).__enter__()
        stacks.append((procs, smtp))
        if "worker" in components:
            procs.start("worker", "worker")
        if "postgres" in components:
            procs.start("postgres-sink", "sink", "postgres")
        if "mailer" in components:
            procs.start("mailer", "sink", "mailer")
        made = Pipeline(infra, prefix, env, procs, smtp, stream_settings, sink_settings)
        pipelines.append(made)
        return made

    yield factory
    for p in pipelines:
        p.producer.close()
    for procs, smtp in reversed(stacks):
        procs.__exit__(None, None, None)
        smtp.__exit__()


@pytest.fixture(scope="session")
def pipeline(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    """The shared pipeline most tests use; tests keep apart by using unique addresses."""
    return make_pipeline()


@pytest.fixture
def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def unique_request() -> str:
    return f"req-{uuid.uuid4().hex}"


os.environ.setdefault("CONSENT_ENVIRONMENT", "test")
