"""A mail request as the send filter reads it: the model's answer, at a fraction of its cost.

Why: the filter reads every mail request, and validating it through the model was half of
the filter's own work per request (issue 7). `read_request` checks a plainly well-formed
request itself — exactly the envelope's keys, canonical spellings of the id and the time,
strings already within their limits — and hands anything else to the model (`parse_event`).
So the answer is always the model's: the fast path only accepts what the model accepts, with
the same values (`tests/unit/schemas/test_mail_request.py` checks that on generated
documents), and every refusal, with its reason, still comes from the model.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

import orjson

from schemas.contact import normalise_email
from schemas.envelope import MAX_EVENT_BYTES, parse_event, plainly_within_limits
from schemas.events import EARLIEST, LATEST, SCHEMA_MAJOR, MailRequested
from schemas.exceptions import InvalidEmail
from schemas.purposes import Purpose
from schemas.topics import MAIL_REQUESTS

_ENVELOPE_KEYS = frozenset(MailRequested.model_fields)
_PURPOSES = {p.value: p for p in Purpose}
_VERSION = re.compile(r"[0-9]{1,6}(?:\.[0-9]+)?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# what datetime.isoformat() writes for an aware time (checked again after parsing)
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?"
                   r"[+-][0-9]{2}:[0-9]{2}")
# the models' `_NO_CONTROL` pattern, as a search for what it forbids
_CONTROL = re.compile("[\x00-\x1f\x7f\u0085\u2028\u2029]")
MAX_EMAIL_CHARS = 320
MAX_SUBJECT_CHARS = 998
MAX_BODY_CHARS = 1_000_000
MAX_IDENT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Request:
    """What the filter needs of a `mail.requested` event, already in output form."""

    event_id: str  # canonical spelling, as str(UUID)
    occurred_at: str  # as datetime.isoformat() spells it
    request_id: str
    email: str  # normalised (schemas.contact.normalise_email)
    purpose: Purpose
    subject: str
    body: str
    campaign: str | None


def read_request(raw: bytes | None) -> Request:
    """The request in `raw`, or `InvalidEvent` with the model's reason."""
    fast = _plain(raw)
    if fast is not None:
        return fast
    return of_model(parse_event(raw, topic=MAIL_REQUESTS))  # type: ignore[arg-type]  # the topic check admits mail.requested only


def of_model(req: MailRequested) -> Request:
    d = req.data
    return Request(str(req.event_id), req.occurred_at.isoformat(), d.request_id, d.email,
                   d.purpose, d.subject, d.body, d.campaign)


def _ident(value: Any) -> TypeGuard[str]:
    return (type(value) is str and 0 < len(value) <= MAX_IDENT_CHARS
            and _CONTROL.search(value) is None)


def _plain(raw: bytes | None) -> Request | None:
    """The request when `raw` is plainly valid; None means "ask the model", never "invalid"."""
    if raw is None or len(raw) > MAX_EVENT_BYTES:
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if (type(doc) is not dict or doc.keys() != _ENVELOPE_KEYS
            or doc["type"] != "mail.requested" or not plainly_within_limits(raw)):
        return None
    version, event_id, at, data = (doc["schema_version"], doc["event_id"], doc["occurred_at"],
                                   doc["data"])
    if (type(version) is not str or _VERSION.fullmatch(version) is None
            or int(version.split(".", 1)[0]) > SCHEMA_MAJOR):
        return None
    if type(event_id) is not str or _UUID.fullmatch(event_id) is None:
        return None
    if type(at) is not str or _TIME.fullmatch(at) is None:
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return None
    if not EARLIEST <= when < LATEST or when.isoformat() != at:
        return None
    if not _ident(doc["source"]) or type(data) is not dict:
        return None
    request_id, email, purpose, subject, body, campaign = (
        data.get("request_id"), data.get("email"), data.get("purpose"), data.get("subject"),
        data.get("body"), data.get("campaign"))
    if not _ident(request_id) or (campaign is not None and not _ident(campaign)):
        return None
    if type(purpose) is not str or purpose not in _PURPOSES:
        return None
    if (type(subject) is not str or len(subject) > MAX_SUBJECT_CHARS
            or _CONTROL.search(subject) is not None):
        return None
    if type(body) is not str or len(body) > MAX_BODY_CHARS:  # (MAX_EVENT_BYTES bounds it today)
        return None
    if type(email) is not str or len(email) > MAX_EMAIL_CHARS:
        return None
    try:
        normalised = normalise_email(email)
    except InvalidEmail:
        return None
    return Request(event_id, at, request_id, normalised, _PURPOSES[purpose], subject, body,
                   campaign)
