"""Declared processors on the real stack: a component configured towards a host that no
declared processor uses exits at once, non-zero, naming the setting; with the declared host,
the same environment runs. (issue 9, item 4)"""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.harness import Pipeline

pytestmark = pytest.mark.integration

AT_ONCE_S = 15.0  # interpreter start and imports included; connecting anywhere takes longer


def consent(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ops", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    return proc, time.monotonic() - started


def env_of(p: Pipeline, kind: str, **settings: str) -> dict[str, str]:
    return {**os.environ, **p.deployment.env_for(kind), "CONSENT_ENVIRONMENT": "test",
            "CONSENT_SMTP_HOST": p.smtp.host, "CONSENT_SMTP_PORT": str(p.smtp.port),
            **settings}


def assert_refused(proc: subprocess.CompletedProcess[str], took: float, setting: str,
                   host: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert took < AT_ONCE_S, f"took {took:.1f}s"
    err = " ".join(proc.stderr.split())  # rich wraps long lines
    assert err.startswith("error:") and setting in err and host in err, err
    assert "which no declared processor uses" in err


@pytest.fixture(scope="module")
def idle(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    """Topics, principals and a migrated schema, but no process running yet."""
    return make_pipeline(components=())


def test_the_mailer_refuses_an_undeclared_smtp_relay_at_once(idle: Pipeline) -> None:
    proc, took = consent(env_of(idle, "mailer", CONSENT_SMTP_HOST="relay.other.example"),
                         "sink", "mailer")
    assert_refused(proc, took, "CONSENT_SMTP_HOST", "relay.other.example")
    # the same environment with the declared relay runs: it was the host that was refused
    mailer = idle.procs.start("mailer-declared", "sink", "mailer")
    time.sleep(5)
    mailer.check_alive()
    mailer.stop()


def test_the_postgres_sink_and_lookup_refuse_an_undeclared_database_host(idle: Pipeline) -> None:
    url = idle.deployment.env_for("postgres-sink")["CONSENT_DATABASE_URL"]
    password = url.split("@", 1)[0].rsplit(":", 1)[1]
    foreign = url.replace("127.0.0.1", "db.other.example")
    assert foreign != url
    proc, took = consent(env_of(idle, "postgres-sink", CONSENT_DATABASE_URL=foreign),
                         "sink", "postgres")
    assert_refused(proc, took, "CONSENT_DATABASE_URL", "db.other.example")
    assert password not in proc.stdout + proc.stderr
    proc, took = consent(env_of(idle, "lookup", CONSENT_DATABASE_URL=foreign), "lookup",
                         "someone@example.com")
    assert_refused(proc, took, "CONSENT_DATABASE_URL", "db.other.example")
    assert "someone" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["worker", "filter"])
def test_the_worker_refuses_an_undeclared_unsubscribe_host(idle: Pipeline, kind: str) -> None:
    proc, took = consent(env_of(idle, kind, CONSENT_UNSUBSCRIBE_BASE_URL=
                                "https://unsubscribe.other.example/unsubscribe"), kind)
    assert_refused(proc, took, "CONSENT_UNSUBSCRIBE_BASE_URL", "unsubscribe.other.example")


def test_any_client_refuses_an_undeclared_kafka_bootstrap_host(idle: Pipeline,
                                                               tmp_path: Path) -> None:
    # the principal's own file, pointing elsewhere: the file's bootstrap is what counts
    own = Path(idle.deployment.env_for("worker")["CONSENT_KAFKA_CLIENT_CONFIG"])
    moved = tmp_path / "worker.properties"
    moved.write_text(own.read_text().replace("bootstrap.servers=127.0.0.1:",
                                             "bootstrap.servers=kafka.other.example:"))
    moved.chmod(0o600)
    proc, took = consent(env_of(idle, "worker", CONSENT_KAFKA_CLIENT_CONFIG=str(moved)),
                         "worker")
    assert_refused(proc, took, f"bootstrap.servers in {moved}", "kafka.other.example")
    assert "sasl.password" not in proc.stderr
    # no client file: CONSENT_KAFKA_BOOTSTRAP, for a producer (the unsubscribe endpoint)
    env = env_of(idle, "unsubscribe-server", CONSENT_KAFKA_BOOTSTRAP="kafka.other.example:9092")
    env.pop("CONSENT_KAFKA_CLIENT_CONFIG", None)
    proc, took = consent(env, "unsubscribe-server", "--port", "0")
    assert_refused(proc, took, "CONSENT_KAFKA_BOOTSTRAP", "kafka.other.example")


def test_the_preference_centre_refuses_an_undeclared_database_host(idle: Pipeline) -> None:
    # the unsubscribe endpoint opens its pool in the background: the check may not wait for it
    url = idle.deployment.env_for("unsubscribe-server")["CONSENT_DATABASE_URL"]
    foreign = url.replace("127.0.0.1", "db.other.example")
    assert foreign != url
    proc, took = consent(env_of(idle, "unsubscribe-server", CONSENT_DATABASE_URL=foreign),
                         "unsubscribe-server", "--port", "0")
    assert_refused(proc, took, "CONSENT_DATABASE_URL", "db.other.example")
    assert url.split("@", 1)[0] not in proc.stdout + proc.stderr  # nor the password
