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
- "Unsubscribe from everything" is a separate form field (`scope=all`) on the same POST: a
  mail client's RFC 8058 body withdraws the token's purpose only, as mail clients expect.
- This module imports only `schemas` and its sibling `sources` modules (never `streams`): it
  builds the envelope itself.

Layout: this module is the aiohttp app (routes, one-click handlers, access log, server); what
every route shares (token check, metrics, the acknowledged publish) is
`sources.unsubscribe.base`; the preference centre is `sources.unsubscribe.preferences` and
reads current choices through `sources.unsubscribe.choices`; the acknowledged Kafka send is
`sources.unsubscribe.publisher`, the HTML pages and response headers are
`sources.unsubscribe.pages` and `sources.unsubscribe.preference_pages`.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from prometheus_client import CollectorRegistry

from schemas.contact import check_key_secret
from schemas.processors import DestinationKind
from schemas.purposes import Purpose
from schemas.unsubscribe_token import UnsubscribeToken
from sources.http_endpoints import healthz, metrics_endpoint, serve
from sources.settings import SourceSettings
from sources.unsubscribe.base import (
    CHOICES,
    MAX_TOKEN_CHARS,
    METRICS,
    PUBLISH,
    SETTINGS,
    UnsubscribeMetrics,
    build_event,
    publish_then,
    read_form,
    record,
    token_required,
)
from sources.unsubscribe.choices import PostgresChoices, ReadChoices
from sources.unsubscribe.pages import (
    EVERYTHING_FIELD,
    EVERYTHING_VALUE,
    ONE_CLICK_FIELD,
    ONE_CLICK_VALUE,
    PURPOSE_WORDS,
    SECURITY_HEADERS,
    bad_body_page,
    confirm_page,
    done_all_page,
    done_page,
    error_page,
    link_with_token,
)
from sources.unsubscribe.preferences import save_preferences, show_preferences
from sources.unsubscribe.publisher import TOPIC, KafkaPublisher, Publish, PublishError

log = logging.getLogger("consent.sources.unsubscribe.app")
access_log = logging.getLogger("consent.sources.unsubscribe.app.access")

PATH = "/unsubscribe"
PREFERENCES_PATH = f"{PATH}/preferences"
PREFERENCES_LINK = f"{PATH.rsplit('/', 1)[-1]}/preferences"
"""The preference centre relative to `PATH`'s pages (kept relative, like the forms' actions)."""
SOURCE = "one-click-unsubscribe"
MAX_BODY_BYTES = 64 * 1024

# Names that moved to `sources.unsubscribe.publisher` / `.pages` / `.base` when this module was
# split; re-exported so `from sources.unsubscribe.app import ...` keeps working for callers and tests.
__all__ = [
    "CHOICES", "METRICS", "MAX_BODY_BYTES", "MAX_TOKEN_CHARS", "ONE_CLICK_FIELD",
    "ONE_CLICK_VALUE", "PATH", "PREFERENCES_PATH", "PUBLISH", "PURPOSE_WORDS", "RUNNER_OPTIONS",
    "SECURITY_HEADERS", "SETTINGS", "SOURCE", "TOPIC", "KafkaPublisher", "PathOnlyAccessLogger",
    "Publish", "PublishError", "UnsubscribeMetrics", "build_app", "check_production", "healthz",
    "metrics_endpoint", "preference_event", "run_unsubscribe_server", "show_confirmation",
    "unsubscribe",
]


# -------------------------------------------------------------------------------- the event


def preference_event(token: UnsubscribeToken, *, everything: bool = False,
                     now: datetime | None = None) -> bytes:
    """The `preference.changed` envelope: the token's purpose withdrawn, or `all` withdrawn."""
    if everything:
        return build_event(token.contact_key, source=SOURCE, everything="withdrawn", now=now)
    return build_event(token.contact_key, source=SOURCE,
                       changes={Purpose(token.purpose): "withdrawn"}, now=now)


# --------------------------------------------------------------------------------- handlers


def _preferences_href(request: web.Request, raw: str) -> str | None:
    """The link to the preference centre, or None when it is not configured."""
    return link_with_token(PREFERENCES_LINK, raw) if CHOICES in request.app else None


@token_required
async def show_confirmation(request: web.Request, raw: str, token: UnsubscribeToken,
                            words: str) -> web.Response:
    """GET: ask; never publishes anything (scanners follow links)."""
    record(request, "confirm_page", token.purpose)
    return confirm_page(raw, words, _preferences_href(request, raw))


async def _scope(request: web.Request) -> str | None:
    """What a POST asks for: "all" (the everything form), "purpose" (RFC 8058's body), or None.

    The everything field wins when present: a mail client sends only the RFC 8058 body, so it
    can never withdraw more than the token's purpose. An unreadable body asks for nothing.
    """
    form = await read_form(request)
    if form is None:
        return None
    if EVERYTHING_FIELD in form:
        return "all" if form[EVERYTHING_FIELD].strip() == EVERYTHING_VALUE else None
    value = form.get(ONE_CLICK_FIELD)
    return "purpose" if value is not None and value.strip() == ONE_CLICK_VALUE else None


@token_required
async def unsubscribe(request: web.Request, raw: str, token: UnsubscribeToken,
                      words: str) -> web.Response:
    """POST: publish the withdrawal, answer only after the broker acknowledged it."""
    scope = await _scope(request)
    if scope is None:
        record(request, "bad_body", token.purpose)
        return bad_body_page()
    link = _preferences_href(request, raw)
    if scope == "all":
        return await publish_then(request, token, preference_event(token, everything=True),
                                  "unsubscribed_all", lambda: done_all_page(link))
    return await publish_then(request, token, preference_event(token), "unsubscribed",
                              lambda: done_page(words, link))


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
              registry: CollectorRegistry | None = None,
              choices: ReadChoices | None = None) -> web.Application:
    """The endpoint as an aiohttp app; without `publish`, a Kafka producer is made on startup.

    The preference centre is served when `choices` is given or a database is configured
    (`database_url`); without either, the one-click routes alone (no link to it is shown).
    """
    check_production(settings)
    # before serving, not at the producer's or the pool's first connection: a person's
    # choices and contact key go only to declared hosts (`schemas.processors`)
    settings.check_destinations(DestinationKind.KAFKA, DestinationKind.DATABASE)
    app = web.Application(middlewares=[_unexpected_errors], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS] = settings
    app[METRICS] = UnsubscribeMetrics(registry)
    if publish is not None:
        app[PUBLISH] = publish
    else:
        async def kafka_publisher(app: web.Application) -> AsyncIterator[None]:
            publisher = KafkaPublisher(settings)
            publisher.start()
            as_publish: Publish = publisher  # mypy infers no key type from a class's __call__
            app[PUBLISH] = as_publish
            yield
            await publisher.close()

        app.cleanup_ctx.append(kafka_publisher)
    if choices is not None:
        app[CHOICES] = choices
    elif settings.database_url is not None:
        reader = PostgresChoices(settings)
        as_read: ReadChoices = reader  # as for PUBLISH above
        app[CHOICES] = as_read

        async def choices_pool(_app: web.Application) -> AsyncIterator[None]:
            await reader.open()  # in the background: a database outage is a 503 per page
            yield
            await reader.close()

        app.cleanup_ctx.append(choices_pool)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get(PATH, show_confirmation)
    app.router.add_post(PATH, unsubscribe)
    if CHOICES in app:
        app.router.add_get(PREFERENCES_PATH, show_preferences)
        app.router.add_post(PREFERENCES_PATH, save_preferences)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_endpoint(METRICS))
    return app


def run_unsubscribe_server(settings: SourceSettings, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish requests in flight and flush the producer."""
    asyncio.run(_serve(settings, host, port))


async def _serve(settings: SourceSettings, host: str, port: int) -> None:
    """The server's life: our own signal handlers, so shutdown drains instead of killing."""
    await serve(build_app(settings), host, port,
                shutdown_timeout=settings.unsubscribe_ack_timeout_s + 5,
                runner_options=RUNNER_OPTIONS, log=log,
                listening=f"unsubscribe endpoint listening on http://{host}:{port}{PATH} "
                          f"(topic {settings.topic(TOPIC)})",
                stopped="unsubscribe endpoint stopped")
