"""Turning raw message bytes into a typed event, or into a reason it is not one.

The reason becomes a dead-letter record, so it names the failing field and rule but never the
value: pydantic's messages are built with `include_input=False` because the input is usually
an e-mail address or a name.
"""

import json
from typing import Any

from pydantic import ValidationError

from schemas.events import EVENT_TYPES, SCHEMA_MAJOR, TOPIC_TYPES, AnyEvent
from schemas.exceptions import InvalidEvent

MAX_EVENT_BYTES = 2_000_000


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """A short, personal-data-free summary of what failed validation."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _major(version: Any) -> int | None:
    if not isinstance(version, str):
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def parse_event(raw: bytes | None, *, topic: str | None = None) -> AnyEvent:
    """Decode and validate one message value; raise `InvalidEvent` with a readable reason."""
    if raw is None:
        raise InvalidEvent("message has no value", kind="empty")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"message is larger than {MAX_EVENT_BYTES} bytes", kind="too_large")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        detail = f"at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise InvalidEvent(f"invalid JSON ({detail})", kind="invalid_json") from exc
    if not isinstance(doc, dict):
        raise InvalidEvent("event must be a JSON object", kind="invalid_json")
    event_type = doc.get("type")
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        shown = event_type if isinstance(event_type, str) and len(event_type) <= 64 else "?"
        raise InvalidEvent(f"unknown event type {shown!r}", kind="unknown_type")
    if topic is not None and topic in TOPIC_TYPES and event_type not in TOPIC_TYPES[topic]:
        raise InvalidEvent(f"event type {event_type!r} does not belong on this topic", kind="wrong_topic")
    major = _major(doc.get("schema_version"))
    if major is None:
        raise InvalidEvent("schema_version must look like '1' or '1.2'", kind="invalid_fields")
    if major > SCHEMA_MAJOR:
        raise InvalidEvent(
            f"schema_version major {major} is newer than supported {SCHEMA_MAJOR}",
            kind="unsupported_version",
        )
    try:
        return model.model_validate(doc)  # type: ignore[return-value]
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc), kind="invalid_fields") from exc
