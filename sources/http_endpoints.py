"""What both HTTP endpoints (one-click and preference centre, webhooks) answer alike.

Liveness answers without the broker: an outage is a 503 per request, not a dead server that an
orchestrator would restart in a loop. `/metrics` serves the app's own registry, not the global
one, so tests that build several apps stay apart.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


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
