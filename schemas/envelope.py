"""Turning raw message bytes into a typed event, or into a reason it is not one.

The reason becomes a dead-letter record, so it names the failing field and rule but never the
value: pydantic's messages are built with `include_input=False` because the input is usually
an e-mail address or a name.
"""

import json
import re
from typing import Any

from pydantic import ValidationError

from schemas.events import EVENT_TYPES, SCHEMA_MAJOR, AnyEvent
from schemas.exceptions import InvalidEvent
from schemas.topics import TOPIC_TYPES

MAX_EVENT_BYTES = 2_000_000


def _field_names() -> frozenset[str]:
    names: set[str] = {"[key]"}
    for model in EVENT_TYPES.values():
        names |= set(model.model_fields)
        data_model = model.model_fields["data"].annotation
        names |= set(getattr(data_model, "model_fields", {}))
    return frozenset(names)


FIELD_NAMES = _field_names()
# an unknown key shaped like a field name ("priority") is shown; addresses and names are not
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TYPE_FAMILIES = tuple({t.split(".", 1)[0] + "." for t in EVENT_TYPES})


def _safe_loc(part: str | int) -> str:
    """Path elements that are not our own field names may be user data (dict keys)."""
    if isinstance(part, int) or part in FIELD_NAMES or _IDENTIFIER.fullmatch(part):
        return str(part)
    return "<key>"


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """A short, personal-data-free summary of what failed validation."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        loc = ".".join(_safe_loc(p) for p in err["loc"]) or "(event)"
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
        # echo the type only when it looks like one of ours (a typo, a newer event);
        # anything else may be personal data put in the wrong field
        if (isinstance(event_type, str) and len(event_type) <= 64
                and event_type.startswith(_TYPE_FAMILIES)
                and event_type.replace(".", "").replace("_", "").isalnum()):
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
        return model.model_validate(doc)  # type: ignore[return-value]
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc), kind="invalid_fields") from exc
