"""Output records of the consent agent, built straight to bytes.

Why not the pydantic models: building a model and dumping it cost about 25 µs a ledger line,
more than the decision itself. These builders produce the same JSON the models describe
(`schemas/records.py`, the contract); `tests/unit/streams/test_agent_records.py` validates
their output against the models, so the two cannot drift.
"""

import uuid
from datetime import datetime
from typing import Any

import orjson

from schemas.purposes import Purpose
from schemas.records import PROGRESS_KEY
from streams.decisions import ContactState, Effect, Verdict


def verdict_doc(v: Verdict) -> dict[str, Any]:
    doc: dict[str, Any] = {"allowed": v.allowed, "rule": v.rule}
    if not v.allowed:
        doc["reason"] = v.reason
        doc["detected"] = v.detected
    return doc


def effective_of(verdicts: dict[Purpose, Verdict]) -> dict[str, str]:
    return {p.value: ("allowed" if v.allowed else str(v.reason)) for p, v in verdicts.items()}


def state_record(key: str, state: ContactState, verdicts: dict[Purpose, Verdict],
                 policy_version: str, now: datetime) -> bytes:
    return orjson.dumps({
        "record": "consent.state",
        "contact_key": key,
        "policy_version": policy_version,
        "updated_at": now.isoformat(),
        "decisions": {p.value: verdict_doc(v) for p, v in verdicts.items()},
        "state": state.to_dict(),
    })


def state_of_record(value: bytes) -> ContactState:
    return ContactState.from_dict(orjson.loads(value)["state"])


def ledger_line(*, key: str, event: Any, effect: Effect, applied: bool,
                effective: dict[str, str], policy_version: str, now: datetime,
                extra_evidence: dict[str, str] | None = None) -> bytes:
    evidence = dict(effect.evidence)
    if extra_evidence:
        evidence.update(extra_evidence)
    return orjson.dumps({
        "record": "consent.change",
        "contact_key": key,
        "event_id": str(event.event_id),
        "event_type": event.type,
        "source": event.source,
        "occurred_at": event.occurred_at.isoformat(),
        "processed_at": now.isoformat(),
        "policy_version": policy_version,
        "scope": effect.scope,
        "action": effect.action,
        "applied": applied,
        "effective": effective,
        "rule": effect.rule,
        "evidence": evidence,
        "detected": effect.detected,
    })


PROFILE_FIELDS = ("name", "company", "phone", "address", "country")


def profile_record(*, key: str, email: str, event: Any) -> bytes:
    data = event.data
    doc: dict[str, Any] = {
        "record": "contact.profile",
        "contact_key": key,
        "email": email,
        "source": event.source,
        "event_type": event.type,
        "seen_at": event.occurred_at.isoformat(),
    }
    for f in PROFILE_FIELDS:
        doc[f] = getattr(data, f, None)
    return orjson.dumps(doc)


def progress_marker(partition: int, applied: dict[str, int], rerouted: dict[str, int],
                    now: datetime) -> tuple[bytes, bytes]:
    return PROGRESS_KEY, orjson.dumps({"record": "consent.progress", "partition": partition,
                                       "applied": applied, "rerouted": rerouted,
                                       "at": now.isoformat()})


REVIEW_NAMESPACE = uuid.UUID("0f3a4d2e-7b1c-4e5f-9a8b-7c6d5e4f3a2b")
SUGGESTED = {"possible_opt_out": "confirm_withdrawal", "resubscribe": "confirm_grant"}


def review_item(*, key: str, event: Any, effect: Effect, now: datetime) -> bytes:
    """A review item; its id is derived, so a replayed event names the same item."""
    ev = effect.evidence
    review_id = uuid.uuid5(REVIEW_NAMESPACE, f"{key}:{event.event_id}:{ev['outcome']}")
    return orjson.dumps({
        "record": "consent.review", "review_id": str(review_id), "contact_key": key,
        "event_id": str(event.event_id), "ticket_id": ev.get("ticket_id", ""),
        "outcome": ev["outcome"], "suggested": SUGGESTED[ev["outcome"]],
        "rule": ev.get("text_rule", effect.rule), "language": ev.get("language", ""),
        "span": ev.get("span", ""), "occurred_at": event.occurred_at.isoformat(),
        "created_at": now.isoformat(),
    })
