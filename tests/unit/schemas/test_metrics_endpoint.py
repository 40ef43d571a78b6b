"""Where /metrics listens: loopback by default, the address a container needs when asked.

In a container, 127.0.0.1 is the container's own loopback: Prometheus and the orchestrator's
probes come from outside it, so the compose and Kubernetes files set CONSENT_METRICS_HOST.
"""

import ast
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from schemas import metrics_endpoint
from schemas.settings import ClientSettings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """What `serve` asked prometheus_client for, without starting a server thread."""
    calls: list[tuple[int, str]] = []

    def fake(port: int, addr: str, registry: CollectorRegistry) -> None:
        calls.append((port, addr))

    monkeypatch.setattr(metrics_endpoint, "start_http_server", fake)
    return calls


def test_loopback_unless_told_otherwise() -> None:
    assert ClientSettings().metrics_host == "127.0.0.1"


def test_the_variable_sets_the_address(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_METRICS_HOST", "0.0.0.0")
    assert ClientSettings().metrics_host == "0.0.0.0"


@pytest.mark.parametrize("bad", ["", "0.0.0.0 --x", "host/path", "a" * 254])
def test_an_address_that_is_not_one_is_refused(clean_env: pytest.MonkeyPatch, bad: str) -> None:
    clean_env.setenv("CONSENT_METRICS_HOST", bad)
    with pytest.raises(ValidationError):
        ClientSettings()


def test_serve_binds_the_given_address(started: list[tuple[int, str]]) -> None:
    assert metrics_endpoint.serve(CollectorRegistry(), None, "worker", "0.0.0.0") == 9301
    assert metrics_endpoint.serve(CollectorRegistry(), 9999, "mailer") == 9999
    assert started == [(9301, "0.0.0.0"), (9999, "127.0.0.1")]


def test_every_process_passes_its_setting() -> None:
    """A process that forgot the host would be unreachable in every container."""
    calls = []
    for path in [*(REPO / "streams").rglob("*.py"), *(REPO / "sinks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "serve":
                calls.append(path.name)
                assert len(node.args) == 4 and ast.unparse(node.args[3]).endswith(
                    "metrics_host"), f"{path}: serve() without the metrics host"
    assert sorted(calls) == ["mailer.py", "postgres_sink.py", "worker.py"]
