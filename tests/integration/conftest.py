"""Integration fixtures: one real broker and one real PostgreSQL per session, started here.

They never skip: if the servers cannot start, the session errors loudly. Each pipeline gets
its own topic prefix, app id and database schema, so tests do not see each other's data.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.smtp_capture import CaptureServer
from ops.supervisor import Components, LocalInfra
from ops.topics import create_topics
from sinks.db import migrate
from sinks.settings import SinkSettings
from streams.settings import StreamSettings
from tests.integration.harness import Pipeline, pipeline_env

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


@pytest.fixture(scope="session")
def make_pipeline(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Callable[..., Pipeline]]:
    """Factory: a fresh pipeline with its own topics/schema; all stopped at session end."""
    stacks: list[tuple[Components, CaptureServer]] = []
    pipelines: list[Pipeline] = []

    def factory(components: tuple[str, ...] = ("worker", "filter", "postgres", "mailer"),
                extra_env: dict[str, str] | None = None) -> Pipeline:
        tag = uuid.uuid4().hex[:8]
        prefix, schema = f"t{tag}-", f"t_{tag}"
        env = {**pipeline_env(infra, prefix, schema), **(extra_env or {})}
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
        if "filter" in components:
            procs.start("filter", "filter")
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


os.environ.setdefault("CONSENT_ENVIRONMENT", "test")
