"""Guards for every test: none may leave environment variables, threads or asyncio tasks behind.

A test that leaks state makes the next one pass or fail for reasons of its own; these fixtures
turn such a leak into a failure of the test that caused it.
"""

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest


def _environment() -> dict[str, str]:
    """os.environ without the variable pytest itself sets per test phase."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def _no_leaked_environment() -> Iterator[None]:
    before = _environment()
    yield
    after = _environment()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for k in after.keys() - before.keys():
            del os.environ[k]
        os.environ.update(before)
        pytest.fail(f"test changed environment variables and left them: {changed}")


@pytest.fixture(autouse=True)
def _no_leaked_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`asyncio.run` cancels tasks still pending when its coroutine returns; make that a failure."""
    leaked: list[str] = []
    real_run = asyncio.run

    def strict_run(main: Coroutine[Any, Any, Any], **kw: Any) -> Any:
        async def checked() -> Any:
            result = await main
            me = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
            leaked.extend(repr(t.get_coro()) for t in pending)
            return result
        return real_run(checked(), **kw)

    monkeypatch.setattr(asyncio, "run", strict_run)
    yield
    if leaked:
        pytest.fail(f"test left asyncio tasks pending: {leaked[:3]}")


@pytest.fixture(autouse=True)
def _no_leaked_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Threads a test starts must be gone when it ends (session fixtures' threads are exempt)."""
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("integration"):
        return  # session-scoped servers start threads during the first test that uses them
    deadline = time.monotonic() + 2.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if leaked:
        pytest.fail(f"test left threads running: {[t.name for t in leaked]}")
