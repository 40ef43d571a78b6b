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
- This module imports only `schemas` (never `streams`): it builds the envelope itself.
"""

import asyncio
import html
import json
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import ValidationError

from schemas.contact import DEV_KEY_SECRET
from schemas.envelope import describe_validation_error
from schemas.events import PreferenceChanged
from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from schemas.unsubscribe_token import BadToken, UnsubscribeToken, verify
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.unsubscribe")
access_log = logging.getLogger("consent.sinks.unsubscribe.access")

PATH = "/unsubscribe"
SOURCE = "one-click-unsubscribe"
TOPIC = "preferences"
ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"  # RFC 8058, section 3.1
MAX_TOKEN_CHARS = 1024
MAX_BODY_BYTES = 64 * 1024
RETRY_AFTER_S = 30
_CONTACT_KEY = re.compile(r"^[0-9a-f]{64}$")

Publish = Callable[[bytes, bytes], Awaitable[None]]
"""publish(key, value): returns once the broker acknowledged the record, raises otherwise."""

PURPOSE_WORDS: dict[Purpose, str] = {
    Purpose.PRODUCT_UPDATES: "product updates",
    Purpose.SPECIAL_OFFERS: "special offers",
    Purpose.SUPPORT_NOTICES: "technical support notices",
    Purpose.NEW_PRODUCTS: "new product announcements",
    Purpose.NEWSLETTER: "our newsletter",
}

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
}


class PublishError(ConsentError):
    """The broker refused the preference change or could not take it (nothing is claimed)."""


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


SETTINGS = web.AppKey("settings", SinkSettings)
METRICS = web.AppKey("metrics", UnsubscribeMetrics)
PUBLISH = web.AppKey("publish", Callable[[bytes, bytes], Awaitable[None]])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- publishing


class KafkaPublisher:
    """confluent-kafka producer whose sends can be awaited until the broker acknowledged them.

    librdkafka runs delivery callbacks only inside `poll()`/`flush()`, so a background thread
    polls and hands each result to the event loop with `call_soon_threadsafe` (the loop is
    never blocked by the client).
    """

    def __init__(self, settings: SinkSettings, producer: Any | None = None) -> None:
        self.topic = settings.topic(TOPIC)
        self._producer = producer if producer is not None else Producer({
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            # Kafka's murmur2, so the key lands on the partition the worker reads for it.
            "partitioner": "murmur2_random",
            "client.id": "consent-unsubscribe",
            "error_cb": _log_kafka_error,
        })
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="unsubscribe-kafka-poll",
                                        daemon=True)

    def start(self) -> None:
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def __call__(self, key: bytes, value: bytes) -> None:
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            try:
                loop.call_soon_threadsafe(_settle, acked, err)
            except RuntimeError:  # loop already closed: nobody is waiting any more
                pass

        try:
            self._producer.produce(self.topic, key=key, value=value, on_delivery=on_delivery)
        except BufferError as exc:
            raise PublishError("the producer's local queue is full") from exc
        except KafkaException as exc:
            raise PublishError(f"the producer refused the record: {exc}") from exc
        await acked

    async def close(self, timeout: float = 10.0) -> None:
        """Wait for records still in flight (their requests may be waiting), then stop."""
        self._stop.set()
        if self._poller.is_alive():
            await asyncio.to_thread(self._poller.join)
        left = await asyncio.to_thread(self._producer.flush, timeout)
        if left:
            log.warning("%s preference events were not acknowledged before shutdown", left)


def _settle(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    if fut.done():  # the request timed out and stopped waiting
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(PublishError(f"the broker did not accept the record: {err}"))


def _log_kafka_error(err: KafkaError) -> None:
    log.warning("kafka client error: %s", err)


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


# ------------------------------------------------------------------------------------ pages


def _page(title: str, heading: str, body: str, status: int = 200,
          headers: dict[str, str] | None = None) -> web.Response:
    """A small self-contained HTML page; `heading` is escaped here, `body` by its caller."""
    text = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a;
        background: #fff; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; }}
button {{ font-size: 1.1rem; padding: 0.6rem 1.4rem; border: 2px solid #1a1a1a;
          border-radius: 0.3rem; background: #1a1a1a; color: #fff; cursor: pointer; }}
button:focus-visible {{ outline: 3px solid #0b57d0; outline-offset: 3px; }}
.note {{ color: #4a4a4a; font-size: 0.95rem; }}
</style>
</head>
<body>
<main>
<h1>{html.escape(heading)}</h1>
{body}
</main>
</body>
</html>
"""
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers=headers)


def _contact_us(settings: SinkSettings) -> str:
    mailto = html.escape(settings.unsubscribe_mailto)
    href = html.escape(f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe")
    return (f'<p>You can also write to <a href="{href}">{mailto}</a> and we will '
            "unsubscribe you.</p>")


def _confirm_page(token: str, words: str) -> web.Response:
    # A relative URL keeps the path the person came through (also behind a proxy prefix).
    action = html.escape("?token=" + quote(token, safe=""))
    w = html.escape(words)
    body = f"""<p>Do you want to stop receiving {w} from us by e-mail?
Nothing has changed yet.</p>
<form method="post" action="{action}">
<input type="hidden" name="{ONE_CLICK_FIELD}" value="{ONE_CLICK_VALUE}">
<button type="submit">Unsubscribe from {w}</button>
</form>
<p class="note">E-mails you need for a purchase, such as licence deliveries and invoices,
are not affected.</p>"""
    return _page("Unsubscribe", f"Unsubscribe from {words}?", body)


def _done_page(words: str) -> web.Response:
    w = html.escape(words)
    body = f"""<p>You will no longer receive {w} from us.</p>
<p class="note">A message that was already on its way may still arrive.</p>"""
    return _page("Unsubscribed", "You are unsubscribed", body)


def _missing_token_page(settings: SinkSettings) -> web.Response:
    body = ("<p>This link is missing its code. Please use the complete link from the "
            "e-mail.</p>" + _contact_us(settings))
    return _page("Link incomplete", "This unsubscribe link is incomplete", body, status=400)


def _invalid_token_page(settings: SinkSettings) -> web.Response:
    body = ("<p>The link may have been cut off or changed when it was copied. Please use the "
            "complete link from the e-mail.</p>" + _contact_us(settings))
    return _page("Link not valid", "This unsubscribe link is not valid", body, status=400)


def _expired_page(settings: SinkSettings) -> web.Response:
    body = ("<p>Unsubscribe links only work for a limited time. Please use the link in a more "
            "recent e-mail from us.</p>" + _contact_us(settings))
    return _page("Link expired", "This unsubscribe link has expired", body, status=410)


def _bad_body_page() -> web.Response:
    body = ("<p>This address expects the confirmation sent by the unsubscribe form. Please open "
            "the link from the e-mail in your browser and press the button.</p>"
            f'<p class="note">Mail clients: POST <code>{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}'
            "</code> (RFC 8058).</p>")
    return _page("Request not understood", "Unsubscribe request not understood", body,
                 status=400)


def _unavailable_page() -> web.Response:
    body = ("<p>We could not record your request just now, so nothing has changed yet. "
            "Please try again in a minute.</p>")
    return _page("Please try again", "Please try again", body, status=503,
                 headers={"Retry-After": str(RETRY_AFTER_S)})


def _error_page() -> web.Response:
    body = "<p>Something went wrong on our side. Please try again later.</p>"
    return _page("Error", "Sorry, something went wrong", body, status=500)


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
        raise _Refused("missing_token", _missing_token_page(settings))
    # Tokens are ASCII; refuse anything else before verifying.
    if len(raw) > MAX_TOKEN_CHARS or not raw.isascii():
        raise _Refused("invalid_token", _invalid_token_page(settings))
    try:
        token = verify(raw, settings.key_secret.get_secret_value())
    except BadToken as exc:
        if exc.kind == "expired":
            raise _Refused("expired_token", _expired_page(settings)) from exc
        raise _Refused("invalid_token", _invalid_token_page(settings)) from exc
    except (TypeError, ValueError) as exc:  # garbage the verifier did not classify: not valid
        raise _Refused("invalid_token", _invalid_token_page(settings)) from exc
    # Genuinely signed, but not something this endpoint can act on (a signer bug): refuse.
    try:
        purpose = Purpose(token.purpose)
    except ValueError as exc:
        raise _Refused("invalid_token", _invalid_token_page(settings)) from exc
    if purpose not in MARKETING_PURPOSES or not _CONTACT_KEY.match(token.contact_key):
        raise _Refused("invalid_token", _invalid_token_page(settings))
    return raw, token, PURPOSE_WORDS.get(purpose, purpose.value.replace("_", " "))


def _record(request: web.Request, outcome: str, purpose: str | None) -> None:
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
    return _confirm_page(raw, words)


async def _one_click_body(request: web.Request) -> bool:
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
        return _bad_body_page()
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    value = preference_event(token)
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.unsubscribe_ack_timeout_s):
            await request.app[PUBLISH](token.contact_key.encode("ascii"), value)
    except TimeoutError:
        _record(request, "ack_timeout", token.purpose)
        return _unavailable_page()
    except Exception as exc:  # noqa: BLE001 - any failure means: nothing confirmed, try again
        log.warning("publishing the withdrawal failed: %s", type(exc).__name__)
        _record(request, "publish_failed", token.purpose)
        return _unavailable_page()
    metrics.ack_seconds.observe(time.monotonic() - started)
    _record(request, "unsubscribed", token.purpose)
    return _done_page(words)


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def metrics_endpoint(request: web.Request) -> web.Response:
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
        return _error_page()


async def _security_headers(_request: web.Request, response: StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query string, client address or referrer (the token is in the query)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status,
                         time * 1000)


# Runner options every server of this app must use (`_serve`, tests): aiohttp's default access
# log format prints the request line, query string (token) included.
RUNNER_OPTIONS: dict[str, Any] = {"access_log_class": PathOnlyAccessLogger,
                                  "access_log": access_log}


# ------------------------------------------------------------------------------ application


def check_production(settings: SinkSettings) -> None:
    """Refuse secrets anyone knows: with them anyone could forge links that unsubscribe others.

    An empty secret (an unset Kubernetes secret often arrives as an empty variable) is refused
    everywhere, the documented development default in production.
    """
    secret = settings.key_secret.get_secret_value()
    if not secret:
        raise ConsentError("CONSENT_KEY_SECRET is empty")
    if settings.environment == "production" and secret == DEV_KEY_SECRET:
        raise ConsentError("CONSENT_KEY_SECRET must be set in production")


def build_app(settings: SinkSettings, publish: Publish | None = None,
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


def run_unsubscribe_server(settings: SinkSettings, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish requests in flight and flush the producer."""
    asyncio.run(_serve(settings, host, port))


async def _serve(settings: SinkSettings, host: str, port: int) -> None:
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
