"""Webhook ingestion: providers POST purchases and support messages, the pipeline gets events.

`POST /webhooks/<source>/<kind>`: a configured source (`CONSENT_INGEST_SOURCES`, e.g. `shop`
sends `purchase`, `helpdesk` sends `message`) with a signing secret (`CONSENT_INGEST_SECRETS`).
What each answer means, and why:

- 404, unknown source: a source that is not configured, has no secret, or sends another kind.
  Nothing is read, nothing is written.
- 413, body larger than `MAX_BODY_BYTES`: refused before the signature can be checked, so it is
  an unauthenticated request and leaves nothing behind.
- 401, missing, malformed or wrong signature, or a timestamp outside the tolerance
  (`sources.ingest.signature`). No dead letter: an unauthenticated caller must not be able to
  fill our topics.
- 400 (not JSON, over a limit) or 422 (fields): the source is authenticated, so the payload is
  kept as a dead letter (original bytes, a reason that names fields and rules, never values)
  and the answer comes only once the broker acknowledged that dead letter.
- 200 `{"event_id": …}`: only after the broker acknowledged the event (`acks=all`, idempotent
  producer), because that acknowledgement is where the send filter's guarantee starts
  (DESIGN.md, semantics 1): a support message saying "stop emailing me" answered 200 is
  honoured by every mail request appended after it.
- 503 with `Retry-After`: the broker did not acknowledge in time (or refused). Nothing is
  claimed; the provider's retry carries the same delivery id and so becomes the same event,
  even when the first attempt's record reached the broker after all (librdkafka keeps
  retrying it after we stopped waiting).

The access log is one JSON line per request with the route pattern, the configured source name,
status, outcome and duration: no query string, no body, no client address, never the path a
caller made up (it could hold an address).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from prometheus_client import CollectorRegistry

from schemas.exceptions import InvalidEvent
from schemas.processors import DestinationKind
from schemas.topics import DEAD_LETTERS
from sources.http_endpoints import healthz, metrics_endpoint, serve
from sources.ingest.events import build_event, dead_letter, route_path
from sources.ingest.metrics import IngestMetrics
from sources.ingest.signature import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    verify,
)
from sources.publisher import AckedProducer
from sources.settings import IngestSettings, secret_bytes

log = logging.getLogger("consent.sources.ingest")
access_log = logging.getLogger("consent.sources.ingest.access")

ROUTE = "/webhooks/{source}/{kind}"
MAX_BODY_BYTES = 256 * 1024
"""Largest webhook body: a large order fits, and its dead letter keeps every byte."""
RETRY_AFTER_S = 30

Send = Callable[[str, bytes | None, bytes], Awaitable[None]]
"""send(topic, key, value): returns once the broker acknowledged the record, raises otherwise."""


@dataclass(frozen=True)
class Source:
    """An enabled source: what it may send and the HMAC key it signs with."""

    kind: str
    key: bytes


SETTINGS = web.AppKey("settings", IngestSettings)
METRICS = web.AppKey("metrics", IngestMetrics)
SOURCES = web.AppKey("sources", dict[str, Source])
# a Callable is no class: such keys take their type as a subscript (aiohttp's documented form)
SEND = web.AppKey[Callable[[str, bytes | None, bytes], Awaitable[None]]]("send")
CLOCK = web.AppKey[Callable[[], float]]("clock")
REQUEST = web.RequestKey("ingest", dict[str, str])
"""What the access log reports about a request: source, outcome, event id or dead-letter kind."""

_SYNTAX_KINDS = frozenset({"empty", "too_large", "invalid_json", "over_limit"})
"""Dead-letter kinds answered 400 (not a JSON object within limits); the rest are 422."""


def refusal_status(kind: str) -> int:
    """The answer to an authenticated source's unusable payload, by its dead-letter kind."""
    return 400 if kind in _SYNTAX_KINDS else 422


# ---------------------------------------------------------------------------------- answers


def _answer(request: web.Request, source: str, outcome: str, status: int,
            body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    """Count the outcome, note it for the access log, and answer JSON."""
    request.app[METRICS].requests.labels(source, outcome).inc()
    request[REQUEST] = {"source": source, "outcome": outcome}
    return web.json_response(body, status=status, headers=headers)


def _unavailable(request: web.Request, source: str, outcome: str) -> web.Response:
    return _answer(request, source, outcome, 503,
                   {"error": "not stored, nothing changed; retry later"},
                   {"Retry-After": str(RETRY_AFTER_S)})


async def _acked(request: web.Request, topic: str, key: bytes | None, value: bytes) -> None:
    """Publish and wait for the broker's ack within the configured time (raises otherwise)."""
    settings = request.app[SETTINGS]
    async with asyncio.timeout(settings.ingest_ack_timeout_s):
        await request.app[SEND](settings.topic(topic), key, value)


# --------------------------------------------------------------------------------- handlers


async def _body(request: web.Request) -> bytes | None:
    """The raw body (it is what is signed), or None when it is over `MAX_BODY_BYTES`."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    try:
        return await request.read()  # the app's client_max_size stops a body without a length
    except web.HTTPRequestEntityTooLarge:
        return None


async def receive(request: web.Request) -> web.Response:
    """POST /webhooks/{source}/{kind}: verify, map, validate, publish; answer after the ack."""
    name, kind = request.match_info["source"], request.match_info["kind"]
    source = request.app[SOURCES].get(name)
    if source is None or source.kind != kind:
        return _answer(request, "-", "unknown_source", 404, {"error": "unknown source"})
    body = await _body(request)
    if body is None:
        return _answer(request, name, "too_large", 413,
                       {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
    settings, clock = request.app[SETTINGS], request.app[CLOCK]
    headers = {h: request.headers.get(h) for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    try:
        delivery_id = verify(source.key, headers, body, now=clock(),
                             tolerance_s=settings.ingest_timestamp_tolerance_s)
    except BadSignature as bad:
        return _answer(request, name, bad.outcome, 401, {"error": bad.reason})
    try:
        built = build_event(name, kind, delivery_id, body,
                            received_at=datetime.fromtimestamp(clock(), UTC),
                            key_secret=settings.key_secret.get_secret_value())
    except InvalidEvent as exc:
        return await _refuse_payload(request, name, kind, delivery_id, body, exc)
    started = time.monotonic()
    try:
        await _acked(request, built.topic, built.key, built.value)
    except TimeoutError:
        return _unavailable(request, name, "ack_timeout")
    except Exception as exc:  # noqa: BLE001 - any failure means: nothing stored, retry
        log.warning("publishing a %s event failed: %s", name, type(exc).__name__)
        return _unavailable(request, name, "publish_failed")
    request.app[METRICS].ack_seconds.labels(name).observe(time.monotonic() - started)
    response = _answer(request, name, "accepted", 200,
                       {"status": "accepted", "event_id": str(built.event_id)})
    request[REQUEST]["event_id"] = str(built.event_id)
    return response


async def _refuse_payload(request: web.Request, name: str, kind: str, delivery_id: str,
                          body: bytes, exc: InvalidEvent) -> web.Response:
    """An authenticated source's unusable payload: dead-letter it, then say why (400/422)."""
    letter = dead_letter(name, kind, delivery_id, body, reason=exc.reason, error_kind=exc.kind)
    try:
        await _acked(request, DEAD_LETTERS, None, letter.to_bytes())
    except Exception as err:  # noqa: BLE001 - not kept, so not refused for good: retry
        log.warning("dead-lettering a %s payload failed: %s", name, type(err).__name__)
        return _unavailable(request, name, "dead_letter_failed")
    request.app[METRICS].dead_letters.labels(name, exc.kind).inc()
    log.warning("dead letter: source=%s kind=%s reason=%s", name, exc.kind, exc.reason)
    status = refusal_status(exc.kind)
    response = _answer(request, name, "invalid", status,
                       {"error": "invalid payload", "kind": exc.kind, "reason": exc.reason})
    request[REQUEST]["kind"] = exc.kind
    return response


@web.middleware
async def _unexpected_errors(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[StreamResponse]]
                             ) -> StreamResponse:
    """A bug answers a plain 500 (the provider retries), and the log names the error type only."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort, see docstring
        log.error("unexpected error on %s: %s", request.method, type(exc).__name__)
        return _answer(request, "-", "error", 500, {"error": "internal error"})


async def _no_store(_request: web.Request, response: StreamResponse) -> None:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


class JsonAccessLogger(AbstractAccessLogger):
    """One JSON line per request: method, route pattern, source, status, outcome, duration.

    Never the path as sent (the source segment is the caller's text), the query, a header,
    the body or the client's address.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        match_info = getattr(request, "match_info", None)
        resource = getattr(getattr(match_info, "route", None), "resource", None)
        line: dict[str, Any] = {
            "log": "access", "method": request.method,
            "route": resource.canonical if resource is not None else "(no route)",
            "status": response.status, "ms": round(time * 1000, 1)}
        line.update(request.get(REQUEST, {}))
        # the fields go as fields (ops.logs puts them at the top level of the JSON line), so
        # they are filterable and not a JSON string inside `msg`
        self.logger.info("%s %s %s", line["method"], line["route"], line["status"],
                         extra={"fields": line})


RUNNER_OPTIONS: dict[str, Any] = {"access_log_class": JsonAccessLogger, "access_log": access_log}
"""Runner options every server of this app must use (`_serve`, tests): aiohttp's default access
log format prints the request line as sent."""


# ------------------------------------------------------------------------------ application


def build_app(settings: IngestSettings, send: Send | None = None,
              registry: CollectorRegistry | None = None,
              clock: Callable[[], float] = time.time) -> web.Application:
    """The endpoint as an aiohttp app; without `send`, a Kafka producer is made on startup.

    Refuses to build with a key secret anyone knows (contact keys would be reversible) or a
    source configuration that would accept forged webhooks (`IngestSettings.check_ingest`).
    """
    settings.check_production()
    settings.check_ingest()
    settings.check_destinations(DestinationKind.KAFKA)  # before serving, not at first send
    app = web.Application(middlewares=[_unexpected_errors], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[METRICS] = IngestMetrics(registry)
    app[CLOCK] = clock
    app[SOURCES] = {name: Source(kind, secret_bytes(settings.ingest_secrets[name]
                                                    .get_secret_value()))
                    for name, kind in settings.enabled_sources().items()}
    if send is not None:
        app[SEND] = send
    else:
        async def kafka_producer(app: web.Application) -> AsyncIterator[None]:
            producer = AckedProducer(settings, client_id="consent-ingest", log=log,
                                     what="webhook records")
            producer.start()
            app[SEND] = producer.send
            yield
            await producer.close()

        app.cleanup_ctx.append(kafka_producer)
    app.on_response_prepare.append(_no_store)
    app.router.add_post(ROUTE, receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint(METRICS))
    return app


def run_ingest_server(settings: IngestSettings, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish requests in flight and flush the producer."""
    asyncio.run(_serve(settings, host, port))


async def _serve(settings: IngestSettings, host: str, port: int) -> None:
    """The server's life: our own signal handlers, so shutdown drains instead of killing."""
    routes = ", ".join(route_path(n, k) for n, k in settings.enabled_sources().items())
    await serve(build_app(settings), host, port,
                shutdown_timeout=settings.ingest_ack_timeout_s + 5, runner_options=RUNNER_OPTIONS,
                log=log, listening=f"webhook ingestion listening on http://{host}:{port} ({routes})",
                stopped="webhook ingestion stopped")
