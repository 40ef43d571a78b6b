"""RFC 8058 one-click unsubscribe: the HTTP endpoint behind every marketing mail's link.

Why it is shaped this way:
- GET never changes anything. Mail scanners and link previewers follow every URL in a mail;
  if GET unsubscribed, a virus scanner would unsubscribe people. GET shows a confirmation
  page whose form POSTs the RFC 8058 body, so a person with a browser needs one more click
  and a mail client's one-click POST needs none.
- A POST answers 200 only after the broker acknowledged the `preference.changed` event
  (`acks=all`, idempotent producer). That acknowledgement is what the send filter's guarantee
  starts from (DESIGN.md, semantics 1): every mail request appended after it is suppressed. A
  page that said "unsubscribed" before the ack could be a lie; on timeout or failure we say
  "try again" (503) and nothing is claimed.
- Each POST is a new event with a fresh `event_id`, because each click is a new act of the
  person: a deterministic id would let the pipeline drop a second unsubscribe that follows a
  re-grant. Duplicates (double clicks, mail providers retrying, a late ack after a 503) are
  harmless: withdrawing an already withdrawn purpose changes nothing but the ledger.
- The token names the contact by key only, and the key goes into the Kafka key and the event;
  neither the token nor the key ever reaches a log line, a metric label or the access log
  (whose default format would print the query string, so it is replaced).
- This module imports only `schemas` and its sibling `sinks` modules (never `streams`): it
  builds the envelope itself.

Layout: this module is the aiohttp app (routes, handlers, token checks, metrics, access log,
server); the acknowledged Kafka send is `sources.unsubscribe.publisher`, the HTML pages and response
headers are `sources.unsubscribe.pages`.
"""

import asyncio
import json
import logging
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import ValidationError

from schemas.contact import check_key_secret
from schemas.envelope import describe_validation_error
from schemas.events import PreferenceChanged
from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from schemas.unsubscribe_token import BadToken, UnsubscribeToken, verify
from sources.settings import SourceSettings
from sources.unsubscribe.pages import (
    ONE_CLICK_FIELD,
    ONE_CLICK_VALUE,
    PURPOSE_WORDS,
    SECURITY_HEADERS,
    bad_body_page,
    confirm_page,
    done_page,
    error_page,
    expired_page,
    invalid_token_page,
    missing_token_page,
    unavailable_page,
)
from sources.unsubscribe.publisher import TOPIC, KafkaPublisher, Publish, PublishError

log = logging.getLogger("consent.sources.unsubscribe.app")
access_log = logging.getLogger("consent.sources.unsubscribe.app.access")

PATH = "/unsubscribe"
SOURCE = "one-click-unsubscribe"
MAX_TOKEN_CHARS = 1024
MAX_BODY_BYTES = 64 * 1024
_CONTACT_KEY = re.compile(r"^[0-9a-f]{64}$")

# Names that moved to `sources.unsubscribe.publisher` / `sources.unsubscribe.pages` when this module was
# split; re-exported so `from sources.unsubscribe.app import ...` keeps working for callers and tests.
__all__ = [
    "METRICS", "MAX_BODY_BYTES", "MAX_TOKEN_CHARS", "ONE_CLICK_FIELD", "ONE_CLICK_VALUE", "PATH",
    "PUBLISH", "PURPOSE_WORDS", "RUNNER_OPTIONS", "SECURITY_HEADERS", "SETTINGS", "SOURCE",
    "TOPIC", "KafkaPublisher", "PathOnlyAccessLogger", "Publish", "PublishError",
    "UnsubscribeMetrics", "build_app", "check_production", "healthz", "metrics_endpoint",
    "preference_event", "run_unsubscribe_server", "show_confirmation", "unsubscribe",
]


class UnsubscribeMetrics:
    """Counters per method and outcome: bounded label sets, never a contact key or token."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "consent_unsubscribe_requests_total",
            "Requests to the one-click unsubscribe endpoint, by outcome",
            ["method", "outcome"], registry=self.registry)
        self.ack_seconds = Histogram(
            "consent_unsubscribe_ack_seconds",
            "Time from a one-click POST to the broker's acknowledgement of its event",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)


SETTINGS = web.AppKey("settings", SourceSettings)
METRICS = web.AppKey("metrics", UnsubscribeMetrics)
PUBLISH = web.AppKey("publish", Callable[[bytes, bytes], Awaitable[None]])  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- the event


def preference_event(token: UnsubscribeToken, *, now: datetime | None = None) -> bytes:
    """The `preference.changed` envelope withdrawing the token's purpose, checked by the model."""
    doc = {
        "event_id": str(uuid.uuid4()),
        "type": "preference.changed",
        "schema_version": "1.0",
        "occurred_at": (now or datetime.now(UTC)).isoformat(),
        "source": SOURCE,
        "data": {"contact_key": token.contact_key, "changes": {token.purpose: "withdrawn"}},
    }
    try:
        PreferenceChanged.model_validate(doc)
    except ValidationError as exc:  # the message names fields, never the key
        raise ConsentError(f"invalid preference event: {describe_validation_error(exc)}") from exc
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------- handlers


class _Refused(Exception):
    """A request the endpoint answers with an error page (carries page and metric outcome)."""

    def __init__(self, outcome: str, response: web.Response) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.response = response


def _verified(request: web.Request) -> tuple[str, UnsubscribeToken, str]:
    """(raw token, parsed token, purpose in words), or `_Refused` with the right page."""
    settings = request.app[SETTINGS]
    raw = request.query.get("token", "").strip()
    if not raw:
        raise _Refused("missing_token", missing_token_page(settings))
    # Tokens are ASCII; refuse anything else before verifying.
    if len(raw) > MAX_TOKEN_CHARS or not raw.isascii():
        raise _Refused("invalid_token", invalid_token_page(settings))
    try:
        token = verify(raw, settings.key_secret.get_secret_value())
    except BadToken as exc:
        if exc.kind == "expired":
            raise _Refused("expired_token", expired_page(settings)) from exc
        raise _Refused("invalid_token", invalid_token_page(settings)) from exc
    except (TypeError, ValueError) as exc:  # garbage the verifier did not classify: not valid
        raise _Refused("invalid_token", invalid_token_page(settings)) from exc
    # Genuinely signed, but not something this endpoint can act on (a signer bug): refuse.
    try:
        purpose = Purpose(token.purpose)
    except ValueError as exc:
        raise _Refused("invalid_token", invalid_token_page(settings)) from exc
    if purpose not in MARKETING_PURPOSES or not _CONTACT_KEY.match(token.contact_key):
        raise _Refused("invalid_token", invalid_token_page(settings))
    return raw, token, PURPOSE_WORDS.get(purpose, purpose.value.replace("_", " "))


def _record(request: web.Request, outcome: str, purpose: str | None) -> None:
    """Count and log one request's outcome; only bounded labels, never the key or token."""
    method = "POST" if request.method == "POST" else "GET"  # HEAD counts as GET
    request.app[METRICS].requests.labels(method, outcome).inc()
    log.info("unsubscribe %s: outcome=%s purpose=%s", method, outcome, purpose or "-")


async def show_confirmation(request: web.Request) -> web.Response:
    """GET: verify and ask; never publishes anything (scanners follow links)."""
    try:
        raw, token, words = _verified(request)
    except _Refused as refused:
        _record(request, refused.outcome, None)
        return refused.response
    _record(request, "confirm_page", token.purpose)
    return confirm_page(raw, words)


async def _one_click_body(request: web.Request) -> bool:
    """Whether the POST carries RFC 8058's `List-Unsubscribe=One-Click` (an unreadable body: no)."""
    try:
        form = await request.post()  # urlencoded and multipart; other types give no fields
    except (ValueError, web.HTTPBadRequest):
        return False
    value = form.get(ONE_CLICK_FIELD)
    return isinstance(value, str) and value.strip() == ONE_CLICK_VALUE


async def unsubscribe(request: web.Request) -> web.Response:
    """POST: verify, publish the withdrawal, answer only after the broker acknowledged it."""
    try:
        _raw, token, words = _verified(request)
    except _Refused as refused:
        _record(request, refused.outcome, None)
        return refused.response
    if not await _one_click_body(request):
        _record(request, "bad_body", token.purpose)
        return bad_body_page()
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    value = preference_event(token)
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.unsubscribe_ack_timeout_s):
            await request.app[PUBLISH](token.contact_key.encode("ascii"), value)
    except TimeoutError:
        _record(request, "ack_timeout", token.purpose)
        return unavailable_page()
    except Exception as exc:  # noqa: BLE001 - any failure means: nothing confirmed, try again
        log.warning("publishing the withdrawal failed: %s", type(exc).__name__)
        _record(request, "publish_failed", token.purpose)
        return unavailable_page()
    metrics.ack_seconds.observe(time.monotonic() - started)
    _record(request, "unsubscribed", token.purpose)
    return done_page(words)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness only: answers without the broker (an outage is a 503 per POST, not a dead server)."""
    return web.Response(text="ok")


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text of this app's own registry (not the global one, so tests stay apart)."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def _unexpected_errors(request: web.Request,
                             handler: Callable[[web.Request], Awaitable[StreamResponse]]
                             ) -> StreamResponse:
    """A bug shows a plain page, not a stack trace; the log names the error type only."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort, see docstring
        log.error("unexpected error on %s %s: %s", request.method, request.path,
                  type(exc).__name__)
        return error_page()


async def _security_headers(_request: web.Request, response: StreamResponse) -> None:
    """Add `SECURITY_HEADERS` to every response, error pages included; a handler's own win."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query string, client address or referrer (the token is in the query)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """One line per request: method, path (no query), status and duration."""
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status,
                         time * 1000)


# Runner options every server of this app must use (`_serve`, tests): aiohttp's default access
# log format prints the request line, query string (token) included.
RUNNER_OPTIONS: dict[str, Any] = {"access_log_class": PathOnlyAccessLogger,
                                  "access_log": access_log}


# ------------------------------------------------------------------------------ application


def check_production(settings: SourceSettings) -> None:
    """Refuse secrets anyone knows: with them anyone could forge links that unsubscribe others.

    An empty secret (an unset Kubernetes secret often arrives as an empty variable) is refused
    everywhere, the documented development default in production.
    """
    check_key_secret(settings.key_secret.get_secret_value(), settings.environment)


def build_app(settings: SourceSettings, publish: Publish | None = None,
              registry: CollectorRegistry | None = None) -> web.Application:
    """The endpoint as an aiohttp app; without `publish`, a Kafka producer is made on startup."""
    check_production(settings)
    app = web.Application(middlewares=[_unexpected_errors], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[METRICS] = UnsubscribeMetrics(registry)
    if publish is not None:
        app[PUBLISH] = publish
    else:
        async def kafka_publisher(app: web.Application) -> AsyncIterator[None]:
            publisher = KafkaPublisher(settings)
            publisher.start()
            app[PUBLISH] = publisher
            yield
            await publisher.close()

        app.cleanup_ctx.append(kafka_publisher)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get(PATH, show_confirmation)
    app.router.add_post(PATH, unsubscribe)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app


def run_unsubscribe_server(settings: SourceSettings, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish requests in flight and flush the producer."""
    asyncio.run(_serve(settings, host, port))


async def _serve(settings: SourceSettings, host: str, port: int) -> None:
    """The server's life: our own signal handlers, so shutdown drains instead of killing."""
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False,
                           shutdown_timeout=settings.unsubscribe_ack_timeout_s + 5,
                           **RUNNER_OPTIONS)
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
        log.info("unsubscribe endpoint listening on http://%s:%s%s (topic %s)", host, port,
                 PATH, settings.topic(TOPIC))
        await stop.wait()
        log.info("stopping: finishing requests in flight")
    finally:
        await runner.cleanup()
    log.info("unsubscribe endpoint stopped")
