"""What every route of the person's pages shares: app keys, metrics, the token check, the
outcome record, the event and the acknowledged publish.

Why one module: the one-click routes (`sources.unsubscribe.app`) and the preference centre
(`sources.unsubscribe.preferences`) must check a token, count an outcome and wait for the
broker's acknowledgement in exactly one way, or one of them would drift into claiming a change
the broker never took, or into logging a token.
"""

import asyncio
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from schemas.envelope import describe_validation_error
from schemas.events import PreferenceChanged
from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from schemas.unsubscribe_token import BadToken, UnsubscribeToken, verify
from sources.settings import SourceSettings
from sources.unsubscribe.choices import ReadChoices
from sources.unsubscribe.pages import (
    PURPOSE_WORDS,
    expired_page,
    invalid_token_page,
    missing_token_page,
    unavailable_page,
)
from sources.unsubscribe.publisher import Publish

log = logging.getLogger("consent.sources.unsubscribe.app")

MAX_TOKEN_CHARS = 1024
_CONTACT_KEY = re.compile(r"^[0-9a-f]{64}$")


class UnsubscribeMetrics:
    """Counters per method and outcome: bounded label sets, never a contact key or token."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "consent_unsubscribe_requests_total",
            "Requests to the one-click unsubscribe endpoint and preference centre, by outcome",
            ["method", "outcome"], registry=self.registry)
        self.ack_seconds = Histogram(
            "consent_unsubscribe_ack_seconds",
            "Time from a POST to the broker's acknowledgement of its event",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)


SETTINGS = web.AppKey("settings", SourceSettings)
METRICS = web.AppKey("metrics", UnsubscribeMetrics)
# a Callable is no class: such keys take their type as a subscript (aiohttp's documented form)
PUBLISH = web.AppKey[Callable[[bytes, bytes], Awaitable[None]]]("publish")
CHOICES = web.AppKey[Callable[[str], Awaitable[dict[Purpose, bool]]]]("choices")
"""The preference centre's reader of current choices; absent when no database is configured."""


class Refused(Exception):
    """A request the endpoint answers with an error page (carries page and metric outcome)."""

    def __init__(self, outcome: str, response: web.Response) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.response = response


def words_for(purpose: Purpose) -> str:
    """How a purpose is named on the pages."""
    return PURPOSE_WORDS.get(purpose, purpose.value.replace("_", " "))


def verified(request: web.Request) -> tuple[str, UnsubscribeToken, str]:
    """(raw token, parsed token, purpose in words), or `Refused` with the right page.

    The token authorises changes for its contact only: every event built from it carries its
    contact key and nothing the request says can name another contact.
    """
    settings = request.app[SETTINGS]
    raw = request.query.get("token", "").strip()
    if not raw:
        raise Refused("missing_token", missing_token_page(settings))
    # Tokens are ASCII; refuse anything else before verifying.
    if len(raw) > MAX_TOKEN_CHARS or not raw.isascii():
        raise Refused("invalid_token", invalid_token_page(settings))
    try:
        token = verify(raw, settings.key_secret.get_secret_value())
    except BadToken as exc:
        if exc.kind == "expired":
            raise Refused("expired_token", expired_page(settings)) from exc
        raise Refused("invalid_token", invalid_token_page(settings)) from exc
    except (TypeError, ValueError) as exc:  # garbage the verifier did not classify: not valid
        raise Refused("invalid_token", invalid_token_page(settings)) from exc
    # Genuinely signed, but not something this endpoint can act on (a signer bug): refuse.
    try:
        purpose = Purpose(token.purpose)
    except ValueError as exc:
        raise Refused("invalid_token", invalid_token_page(settings)) from exc
    if purpose not in MARKETING_PURPOSES or not _CONTACT_KEY.match(token.contact_key):
        raise Refused("invalid_token", invalid_token_page(settings))
    return raw, token, words_for(purpose)


def record(request: web.Request, outcome: str, purpose: str | None) -> None:
    """Count and log one request's outcome; only bounded labels, never the key or token."""
    method = "POST" if request.method == "POST" else "GET"  # HEAD counts as GET
    request.app[METRICS].requests.labels(method, outcome).inc()
    log.info("unsubscribe %s: outcome=%s purpose=%s", method, outcome, purpose or "-")


TokenHandler = Callable[[web.Request, str, UnsubscribeToken, str], Awaitable[web.Response]]
"""A page behind a link: the request, the raw token, the verified token, the purpose in words."""


def token_required(handler: TokenHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Verify the link's token before the page runs; a refusal (400, 410) is recorded and
    answered here, the same way for every page."""

    @functools.wraps(handler)
    async def page(request: web.Request) -> web.Response:
        try:
            raw, token, words = verified(request)
        except Refused as refused:
            record(request, refused.outcome, None)
            return refused.response
        return await handler(request, raw, token, words)

    return page


async def read_form(request: web.Request) -> MultiDictProxy[str] | None:
    """The POST's form fields (urlencoded or multipart); None when the body cannot be read."""
    try:
        form = await request.post()  # other content types give no fields
    except (ValueError, web.HTTPBadRequest):
        return None
    # text fields only: an uploaded file is no choice
    return MultiDictProxy(MultiDict((k, v) for k, v in form.items() if isinstance(v, str)))


def build_event(contact_key: str, *, source: str, changes: dict[Purpose, str] | None = None,
                everything: str | None = None, now: datetime | None = None) -> bytes:
    """A `preference.changed` envelope by contact key, checked by the model before it is sent.

    Each call is a new event with a fresh `event_id`: each click is a new act of the person.
    """
    data: dict[str, object] = {"contact_key": contact_key,
                               "changes": {p.value: c for p, c in (changes or {}).items()}}
    if everything is not None:
        data["all"] = everything
    doc = {
        "event_id": str(uuid.uuid4()),
        "type": "preference.changed",
        "schema_version": "1.0",
        "occurred_at": (now or datetime.now(UTC)).isoformat(),
        "source": source,
        "data": data,
    }
    try:
        PreferenceChanged.model_validate(doc)
    except ValidationError as exc:  # the message names fields, never the key
        raise ConsentError(f"invalid preference event: {describe_validation_error(exc)}") from exc
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


async def publish_then(request: web.Request, token: UnsubscribeToken, value: bytes,
                       outcome: str, page: Callable[[], web.Response]) -> web.Response:
    """Publish `value` under the token's contact key; `page()` only after the broker's ack.

    On a timeout or any failure the answer is the 503 "nothing has changed yet" page: without
    the ack nothing may be claimed (the send filter's guarantee starts at the ack).
    """
    settings, metrics = request.app[SETTINGS], request.app[METRICS]
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.unsubscribe_ack_timeout_s):
            await request.app[PUBLISH](token.contact_key.encode("ascii"), value)
    except TimeoutError:
        record(request, "ack_timeout", token.purpose)
        return unavailable_page()
    except Exception as exc:  # noqa: BLE001 - any failure means: nothing confirmed, try again
        log.warning("publishing the preference change failed: %s", type(exc).__name__)
        record(request, "publish_failed", token.purpose)
        return unavailable_page()
    metrics.ack_seconds.observe(time.monotonic() - started)
    record(request, outcome, token.purpose)
    return page()


__all__ = ["CHOICES", "METRICS", "PUBLISH", "SETTINGS", "MAX_TOKEN_CHARS", "Publish", "ReadChoices",
           "Refused", "UnsubscribeMetrics", "build_event", "publish_then", "read_form", "record",
           "verified", "words_for"]
