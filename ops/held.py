"""What we hold on one person, as one JSON document.

`consent lookup --json` (an access request: the person asks what we hold) and `consent
disclose` (a legal disclosure to an authority) export the same document, so an authority never
receives more or less than the person could see. It is complete: every table keyed by the
person's contact key that describes them, without row limits, read in one snapshot
(`ops.lookup.lookup`), and how long Kafka keeps raw copies (the storage period an access
request is owed). The mailer's own delivery records (`mail_sends`) are not in it: the reader
role may not see them, and `mail_decisions` already says what was forwarded and why.

Safe: every non-ASCII character is escaped (`\\u202e`, never the character itself), so stored
text cannot drive the terminal or viewer it is opened in, and the document stays lossless;
values PostgreSQL holds but Python cannot (times after 9999, 5,000-digit numbers in evidence)
appear as PostgreSQL's own text.
"""

import json
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

from ops.lookup import DISCLOSURE_COLUMNS, REVIEW_COLUMNS, LookupResult
from ops.topics import describe_retention
from schemas.contact import normalise_email
from schemas.settings import ClientSettings
from schemas.topics import topic_specs

FORMAT = "consent.subject-data/1"
CATEGORIES = ("profile", "consent", "history", "mail_decisions", "erasures", "review_items",
              "disclosures")
"""The document's sections about the person, in order (`schemas.events.DisclosedCategory`)."""

PROFILE_COLUMNS = ("email", "name", "company", "phone", "address", "country", "given_via",
                   "first_seen", "last_seen")
CONSENT_COLUMNS = ("purpose", "status", "since", "policy_version")
HISTORY_COLUMNS = ("occurred_at", "event_type", "source", "scope", "action", "applied", "rule",
                   "evidence", "detected", "policy_version")
DECISION_COLUMNS = ("decided_at", "request_id", "purpose", "outcome", "reason", "rule",
                    "campaign")
ERASURE_COLUMNS = ("requested_at", "request_ref", "erased_at")

Kind = Literal["access_request", "legal_disclosure"]


def _rows(columns: tuple[str, ...], rows: list[tuple[Any, ...]] | None) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows or []]


def _storage(settings: ClientSettings) -> dict[str, Any]:
    retention = settings.retention()
    return {
        "kafka": [{"topic": spec.name, "holds": spec.holds,
                   "kept": describe_retention(spec.config)}
                  for spec in topic_specs(retention)],
        "postgresql": "the profile until erasure; consent, history, decisions, erasures, review "
                      "items and disclosures (no personal data, the contact key only) for good",
        "raw_copies_after_erasure_days": round(retention.raw_copies_ms / 86_400_000, 3),
    }


def subject_document(result: LookupResult, email: str, settings: ClientSettings, kind: Kind,
                     generated_at: datetime | None = None) -> dict[str, Any]:
    """The whole record of one contact; `categories_held` names its non-empty sections."""
    erasures = _rows(ERASURE_COLUMNS, result.erasures)
    for row in erasures:
        row["raw_copies_until"] = result.raw_copies_until(row["erased_at"])
    profile = (dict(zip(PROFILE_COLUMNS, result.profile, strict=True))
               if result.profile is not None else None)
    return {
        "format": FORMAT,
        "kind": kind,
        "generated_at": generated_at or datetime.now(UTC),
        "subject": {"email": normalise_email(email), "contact_key": result.contact_key},
        "profile": profile,
        "consent": _rows(CONSENT_COLUMNS, result.current),
        "history": _rows(HISTORY_COLUMNS, result.history),
        "mail_decisions": _rows(DECISION_COLUMNS, result.decisions),
        "erasures": erasures,
        "review_items": _rows(REVIEW_COLUMNS, result.reviews),
        "disclosures": _rows(DISCLOSURE_COLUMNS, result.disclosures),
        "storage": _storage(settings),
    }


def access_document(result: LookupResult, email: str, settings: ClientSettings
                    ) -> dict[str, Any]:
    return subject_document(result, email, settings, "access_request")


def categories_held(doc: dict[str, Any]) -> list[str]:
    return [c for c in CATEGORIES if doc.get(c)]


def _default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


def dumps(doc: dict[str, Any]) -> bytes:
    """The document as JSON bytes: ASCII only, indented, one trailing newline."""
    return (json.dumps(doc, ensure_ascii=True, indent=2, default=_default) + "\n").encode("ascii")
