"""What both HTTP endpoints (one-click and preference centre, webhooks) answer alike.

Liveness answers without the broker: an outage is a 503 per request, not a dead server that an
orchestrator would restart in a loop. `/metrics` serves the app's own registry, not the global
one, so tests that build several apps stay apart. `serve` is the server's life, from listening
to a stop that drains.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from schemas.exceptions import ConsentError


class HasRegistry(Protocol):
    registry: CollectorRegistry


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def metrics_endpoint(key: "web.AppKey[Any]") -> Callable[[web.Request], Awaitable[web.Response]]:
    """The `/metrics` handler of an app whose metrics object is stored under `key`."""

    async def serve(request: web.Request) -> web.Response:
        metrics: HasRegistry = request.app[key]
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    return serve


async def serve(app: web.Application, host: str, port: int, *, shutdown_timeout: float,
                runner_options: dict[str, Any], log: logging.Logger, listening: str,
                stopped: str) -> None:
    """A server's life until SIGTERM/SIGINT: our own signal handlers, so shutdown finishes the
    requests in flight (within `shutdown_timeout`) instead of killing them."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout,
                           **runner_options)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ConsentError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("%s", listening)
        await stop.wait()
        log.info("stopping: finishing requests in flight")
    finally:
        await runner.cleanup()
    log.info("%s", stopped)
