"""Integration fixtures: one real broker and one real PostgreSQL per session, started here.

They never skip: if the servers cannot start, the session errors loudly. Each pipeline gets
its own topic prefix, app id and database schema, so tests do not see each other's data.
"""

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops.deployment import Deployment
from ops.smtp_capture import CaptureServer
from ops.supervisor import REPO_ROOT, Components, LocalInfra
from tests.integration.harness import Pipeline

pytestmark = pytest.mark.integration

# Overridable so two test runs on one machine do not share (and stop) each other's servers.
TEST_INSTANCE = os.environ.get("CONSENT_TEST_INSTANCE", "test")
_BASE = int(os.environ.get("CONSENT_TEST_PORT_BASE", "9392"))
TEST_PORTS = {"kafka_port": _BASE, "controller_port": _BASE + 1,
              "pg_port": int(os.environ.get("CONSENT_TEST_PG_PORT", "54332"))}


@pytest.fixture(scope="session")
def infra() -> Iterator[LocalInfra]:
    """The session's broker (SASL_SSL, ACLs) and PostgreSQL (a role per component)."""
    with LocalInfra(TEST_INSTANCE, **TEST_PORTS, secured=True) as running:
        yield running


class _Pipelines:
    """Builds pipelines on the session's servers and stops them in groups.

    A pipeline that is left running after its tests keeps four processes polling the broker;
    by the end of a session two dozen of them took most of this 2-core machine and made the
    later files several times slower. So each test file's pipelines stop when the file ends;
    only the shared `pipeline` lives for the whole session.
    """

    def __init__(self, infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.infra = infra
        self.tmp_path_factory = tmp_path_factory

    def build(self, started: list[Pipeline],
              components: tuple[str, ...] = ("worker", "filter", "postgres", "mailer"),
              extra_env: dict[str, str] | None = None,
              settings_env: dict[str, str] | None = None) -> Pipeline:
        """`settings_env`: `CONSENT_*` settings of the deployment itself (setup included)."""
        tag = uuid.uuid4().hex[:8]
        deployment = Deployment(self.infra, prefix=f"t{tag}-", app_id=f"t{tag}-consent",
                                db_schema=f"t_{tag}",
                                data_dir=REPO_ROOT / ".local" / TEST_INSTANCE / "worker" / tag,
                                settings_env=dict(settings_env or {}))
        deployment.setup()
        smtp = CaptureServer().__enter__()
        # many pipelines run at once here: no process takes its kind's default metrics port
        env = {"CONSENT_ENVIRONMENT": "test", "CONSENT_METRICS_PORT": "0",
               "CONSENT_SMTP_HOST": smtp.host,
               "CONSENT_SMTP_PORT": str(smtp.port), **(extra_env or {})}
        procs = Components(env, Path(self.tmp_path_factory.mktemp(f"logs-{tag}")),
                           env_for=deployment.env_for).__enter__()
        made = Pipeline(self.infra, deployment, {**os.environ, **deployment.env_for("review"),
                                                  **env}, procs, smtp)
        started.append(made)  # before any start: a failed start is still stopped
        if "worker" in components:
            procs.start("worker", "worker")
        if "filter" in components:
            procs.start("filter", "filter")
        if "postgres" in components:
            procs.start("postgres-sink", "sink", "postgres")
        if "mailer" in components:
            procs.start("mailer", "sink", "mailer")
        return made

    @staticmethod
    def stop(started: list[Pipeline]) -> None:
        """Every pipeline is told to stop at once, then each is waited for."""
        for p in started:
            p.producer.close()
        for p in started:
            p.procs.terminate()
        for p in reversed(started):
            p.procs.__exit__(None, None, None)
            p.smtp.__exit__()


@pytest.fixture(scope="session")
def _pipelines(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory) -> _Pipelines:
    return _Pipelines(infra, tmp_path_factory)


@pytest.fixture(scope="module")
def make_pipeline(_pipelines: _Pipelines) -> Iterator[Callable[..., Pipeline]]:
    """Factory: a fresh pipeline with its own topics/schema; stopped when the file ends."""
    started: list[Pipeline] = []
    yield functools.partial(_pipelines.build, started)
    _pipelines.stop(started)


@pytest.fixture(scope="session")
def pipeline(_pipelines: _Pipelines) -> Iterator[Pipeline]:
    """The shared pipeline most tests use; tests keep apart by using unique addresses."""
    started: list[Pipeline] = []
    yield _pipelines.build(started)
    _pipelines.stop(started)


@pytest.fixture
def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


os.environ.setdefault("CONSENT_ENVIRONMENT", "test")
