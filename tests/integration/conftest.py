"""Integration fixtures: one real broker and one real PostgreSQL per session, started here.

They never skip: if the servers cannot start, the session errors loudly. Each pipeline gets
its own topic prefix, app id and database schema, so tests do not see each other's data.
"""

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


@pytest.fixture(scope="session")
def make_pipeline(infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Callable[..., Pipeline]]:
    """Factory: a fresh pipeline with its own topics/schema; all stopped at session end."""
    stacks: list[tuple[Components, CaptureServer]] = []
    pipelines: list[Pipeline] = []

    def factory(components: tuple[str, ...] = ("worker", "filter", "postgres", "mailer"),
                extra_env: dict[str, str] | None = None,
                settings_env: dict[str, str] | None = None) -> Pipeline:
        """`settings_env`: `CONSENT_*` settings of the deployment itself (setup included)."""
        tag = uuid.uuid4().hex[:8]
        deployment = Deployment(infra, prefix=f"t{tag}-", app_id=f"t{tag}-consent",
                                db_schema=f"t_{tag}",
                                data_dir=REPO_ROOT / ".local" / TEST_INSTANCE / "worker" / tag,
                                settings_env=dict(settings_env or {}))
        deployment.setup()
        smtp = CaptureServer().__enter__()
        # many pipelines run at once here: no process takes its kind's default metrics port
        env = {"CONSENT_ENVIRONMENT": "test", "CONSENT_METRICS_PORT": "0",
               "CONSENT_SMTP_HOST": smtp.host,
               "CONSENT_SMTP_PORT": str(smtp.port), **(extra_env or {})}
        procs = Components(env, Path(tmp_path_factory.mktemp(f"logs-{tag}")),
                           env_for=deployment.env_for).__enter__()
        stacks.append((procs, smtp))
        if "worker" in components:
            procs.start("worker", "worker")
        if "filter" in components:
            procs.start("filter", "filter")
        if "postgres" in components:
            procs.start("postgres-sink", "sink", "postgres")
        if "mailer" in components:
            procs.start("mailer", "sink", "mailer")
        cli_env = {**os.environ, **deployment.env_for("review"), **env}
        made = Pipeline(infra, deployment, cli_env, procs, smtp)
        pipelines.append(made)
        return made

    yield factory
    for p in pipelines:
        p.producer.close()
    for procs, _smtp in stacks:  # every pipeline stops at once, then each is waited for
        procs.terminate()
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
