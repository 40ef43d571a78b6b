"""Turning raw message bytes into a typed event, or into a reason it is not one.

Why limits come first: one hostile message (100k nested brackets, an integer of 5,000 digits)
used to crash the worker on every restart. The bytes are bounded before parsing, orjson bounds
nesting (1,024) and numbers (64 bits) while parsing, and a walk over the decoded document
bounds depth, string length and item count before any model sees it — unless counts over the
raw bytes already prove those bounds, which is the case for nearly every real event and saves
the walk on the send filter's hot path.

Why reasons are our own words: the reason becomes a dead-letter record, so it names the failing
field and rule but never a value or a key that is not one of our field names (a JSON key can be
an address or a name). pydantic's messages are built with `include_input=False`.
"""

from typing import Any

import orjson
from pydantic import ValidationError

from schemas.events import EVENT_TYPES, SCHEMA_MAJOR, AnyEvent
from schemas.exceptions import InvalidEvent
from schemas.purposes import Purpose
from schemas.topics import TOPIC_TYPES

MAX_EVENT_BYTES = 512 * 1024
"""Largest event accepted; its dead letter (base64 and metadata) still fits the broker's 1 MB."""
MAX_DEPTH = 16
MAX_STRING_CHARS = 200_000
MAX_ITEMS = 2_000


def _field_names() -> frozenset[str]:
    names: set[str] = {"[key]"} | {p.value for p in Purpose}
    for model in EVENT_TYPES.values():
        names |= set(model.model_fields)
        data_model = model.model_fields["data"].annotation
        names |= set(getattr(data_model, "model_fields", {}))
    return frozenset(names)


FIELD_NAMES = _field_names()
_TYPE_FAMILIES = tuple({t.split(".", 1)[0] + "." for t in EVENT_TYPES})


def _safe_loc(part: str | int) -> str:
    """Path elements that are not our own field names may be user data (dict keys)."""
    if isinstance(part, int) or part in FIELD_NAMES:
        return str(part)
    return "<key>"


def describe_validation_error(exc: ValidationError, limit: int = 5, *,
                              trusted_keys: bool = False) -> str:
    """A short, personal-data-free summary of what failed validation.

    `trusted_keys` shows every key of the path: for files an operator wrote (the policy), never
    for events, whose keys may be addresses or names.
    """
    parts = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        loc = ".".join(str(p) if trusted_keys else _safe_loc(p) for p in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _major(version: Any) -> int | None:
    if not isinstance(version, str):
        return None
    head = version.split(".", 1)[0]
    # ASCII digits only: str.isdigit() also admits "１", "١" (which int() reads as 1) and "¹"
    # (which int() refuses with a bare ValueError, not an InvalidEvent)
    return int(head) if head.isascii() and head.isdigit() and len(head) <= 6 else None


def plainly_within_limits(raw: bytes) -> bool:
    """True when the bytes alone prove every limit holds, so the walk can be skipped.

    Counted in C over the raw bytes, each count an upper bound of what it stands for: fewer
    brackets than `MAX_DEPTH` bound the depth, fewer commas than `MAX_ITEMS` bound the items,
    and the length bounds every string (numbers are bounded by the parser: 64 bits).
    A quote or escape may only make a count larger, never smaller, so a "no" is just slower.
    """
    return (raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH
            and raw.count(b",") < MAX_ITEMS
            and len(raw) <= MAX_STRING_CHARS)


def check_limits(doc: Any) -> None:
    """Walk a decoded document; raise `InvalidEvent` (kind `over_limit`) past any limit."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    items = 0
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                raise InvalidEvent(f"a string is longer than {MAX_STRING_CHARS} characters",
                                   kind="over_limit")
        elif isinstance(value, bool | int | float) or value is None:
            continue  # the parser refuses integers beyond 64 bits and infinities
        else:
            if depth > MAX_DEPTH:
                raise InvalidEvent(f"nesting is deeper than {MAX_DEPTH}", kind="over_limit")
            children = value.values() if isinstance(value, dict) else value
            if isinstance(value, dict):
                for key in value:
                    if len(key) > 256:
                        raise InvalidEvent("a key is longer than 256 characters", kind="over_limit")
            items += len(value)
            if items > MAX_ITEMS:
                raise InvalidEvent(f"more than {MAX_ITEMS} items", kind="over_limit")
            stack.extend((child, depth + 1) for child in children)


def decode_document(raw: bytes | None) -> dict[str, Any]:
    """Bytes to a bounded JSON object, or `InvalidEvent` saying which limit or rule failed."""
    if raw is None:
        raise InvalidEvent("message has no value", kind="empty")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"message is larger than {MAX_EVENT_BYTES} bytes", kind="too_large")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        if "recursion" in text:
            raise InvalidEvent("nesting is deeper than 1024", kind="over_limit") from exc
        if "number" in text:
            raise InvalidEvent("a number is out of range", kind="over_limit") from exc
        if "utf-8" in text.lower() or "surrogate" in text:
            raise InvalidEvent("invalid JSON (not UTF-8)", kind="invalid_json") from exc
        raise InvalidEvent(f"invalid JSON (at byte {exc.pos})", kind="invalid_json") from exc
    if not isinstance(doc, dict):
        raise InvalidEvent("event must be a JSON object", kind="invalid_json")
    if not plainly_within_limits(raw):
        check_limits(doc)
    return doc


def parse_event(raw: bytes | None, *, topic: str | None = None) -> AnyEvent:
    """Decode and validate one message value; raise `InvalidEvent` with a readable reason."""
    doc = decode_document(raw)
    event_type = doc.get("type")
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        # echo the type only when it looks like one of ours (a typo, a newer event);
        # anything else may be personal data put in the wrong field
        if (isinstance(event_type, str) and len(event_type) <= 64
                and event_type.startswith(_TYPE_FAMILIES)
                and event_type.replace(".", "").replace("_", "").isalnum()
                and event_type.isascii()):
            raise InvalidEvent(f"unknown event type {event_type!r}", kind="unknown_type")
        raise InvalidEvent("unknown event type (value not shown)", kind="unknown_type")
    if topic is not None and topic in TOPIC_TYPES and event_type not in TOPIC_TYPES[topic]:
        raise InvalidEvent(f"event type {event_type!r} does not belong on this topic",
                           kind="wrong_topic")
    major = _major(doc.get("schema_version"))
    if major is None:
        raise InvalidEvent("schema_version must look like '1' or '1.2'", kind="invalid_fields")
    if major > SCHEMA_MAJOR:
        raise InvalidEvent(
            f"schema_version major {major} is newer than supported {SCHEMA_MAJOR}",
            kind="unsupported_version",
        )
    try:
        return model.model_validate(doc)  # type: ignore[return-value]  # EVENT_TYPES' values are AnyEvent members
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc), kind="invalid_fields") from exc
