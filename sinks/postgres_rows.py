"""From Kafka records to the rows the PostgreSQL sink stores, per table, collapsed per batch.

Why collapse: one consent event rewrites all six purposes of `consent_current`, and a batch
often holds several events of one contact; only the last state per (contact, purpose) and the
net effect per contact profile need to reach the database, and one INSERT cannot touch a row
twice anyway.

Why sanitise: PostgreSQL refuses a NUL character in text, and one such record used to stop the
sink for good. NULs become U+FFFD (the replacement character) in every stored string (here for
what is inserted row by row, in `copy_text` for what is copied); anything else PostgreSQL
refuses is isolated per record by the sink (`postgres_sink`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from confluent_kafka import Message
from pydantic import ValidationError

from schemas.positions import position
from schemas.records import (
    ConsentChange,
    ContactProfile,
    DeadLetter,
    OutboxRecord,
    ReviewItem,
    SuppressedRecord,
)
from schemas.topics import (
    CONSENT_CHANGES,
    CONSENT_REVIEW,
    CONTACTS,
    DEAD_LETTERS,
    MAIL_OUTBOX,
    MAIL_SUPPRESSED,
)

TOPICS = [CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS, CONSENT_REVIEW]


def clean(value: Any) -> Any:
    """Strings without NUL (PostgreSQL refuses it); everything else unchanged."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def cleaned(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(clean(v) for v in row)


@dataclass
class Profile:
    """The net effect of a batch on one contact's row."""

    delete_first: bool = False  # a tombstone came before the surviving profile (or alone)
    fields: dict[str, Any] | None = None  # None: the row is deleted
    sources: set[str] = field(default_factory=set)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def apply(self, profile: ContactProfile | None) -> None:
        if profile is None:
            self.delete_first, self.fields, self.sources = True, None, set()
            self.first_seen = self.last_seen = None
            return
        fields = self.fields or {}
        fields["email"] = profile.email
        for name in ("name", "company", "phone", "address", "country"):
            value = getattr(profile, name)
            if value is not None:
                fields[name] = clean(value)
        self.fields = fields
        self.sources.add(clean(profile.source))
        seen = profile.seen_at
        self.first_seen = seen if self.first_seen is None else min(self.first_seen, seen)
        self.last_seen = seen if self.last_seen is None else max(self.last_seen, seen)


@dataclass
class Failure:
    topic: str
    partition: int
    offset: int
    stage: str
    kind: str
    reason: str


@dataclass
class Rows:
    ledger: list[tuple[Any, ...]] = field(default_factory=list)
    current: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    erasures: list[tuple[Any, ...]] = field(default_factory=list)
    letters: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: dict[str, Profile] = field(default_factory=dict)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    resolutions: list[tuple[Any, ...]] = field(default_factory=list)
    disclosures: list[tuple[Any, ...]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # COPY payloads of the big staging tables, built ahead by `postgres_copy.stage`
    staged: dict[str, bytes] = field(default_factory=dict)

    def count(self) -> int:
        return (len(self.ledger) + len(self.current) + len(self.decisions) + len(self.erasures)
                + len(self.letters) + len(self.contacts) + len(self.reviews)
                + len(self.resolutions) + len(self.disclosures))


def collect(msgs: list[Message], base_of: dict[str, str]) -> Rows:
    """Parse a batch in offset order; a record that is not what its topic promises is a failure."""
    rows = Rows()
    for m in msgs:
        topic, partition, offset = position(m)
        base = base_of.get(topic, "")
        try:
            _add(rows, base, m)
        except (ValidationError, ValueError, UnicodeDecodeError) as exc:
            kind = "invalid_record" if isinstance(exc, ValidationError) else "invalid_json"
            rows.failures.append(Failure(base, partition, offset, "deserialization", kind,
                                         f"not a valid {base} record"))
    return rows


def _add(rows: Rows, base: str, m: Message) -> None:
    value = m.value()
    if base == CONSENT_CHANGES:
        c = ConsentChange.model_validate_json(value or b"")
        # COPY rows (ledger, current, decisions) are not cleaned here: `copy_text` does it
        rows.ledger.append((
            c.contact_key, c.event_id, c.event_type, c.source, c.occurred_at, c.processed_at,
            c.policy_version, c.scope, c.action, c.applied, c.rule,
            orjson.dumps({k: clean(v) for k, v in c.evidence.items()}).decode(), c.detected))
        if c.scope == "erasure":
            rows.erasures.append(cleaned((c.contact_key, c.event_id,
                                          c.evidence.get("request_ref", ""), c.occurred_at)))
        review_id = c.evidence.get("review_id")
        if review_id and c.action in ("granted", "withdrawn"):
            rows.resolutions.append(cleaned((c.processed_at, c.action, c.event_id, review_id)))
        if c.scope == "disclosure":
            # the audit record of a legal disclosure; it changed no consent, so current
            # consent keeps the event and time that decided it
            ev = c.evidence
            rows.disclosures.append(cleaned((
                c.contact_key, c.event_id, c.occurred_at, c.processed_at, ev.get("principal", ""),
                ev.get("operator", ""), ev.get("legal_basis", ""), ev.get("case_ref", ""),
                ev.get("authority", ""),
                [clean(x) for x in ev.get("categories", "").split(",") if x],
                ev.get("export_sha256", ""))))
            return
        # six rows per event share these: converted once, not once per row by `copy_text`
        event_id, processed_at = str(c.event_id), c.processed_at.isoformat()
        for purpose, status in c.effective.items():
            rows.current[(c.contact_key, purpose)] = (
                c.contact_key, purpose, status, event_id, c.policy_version, processed_at)
    elif base == MAIL_OUTBOX:
        o = OutboxRecord.model_validate_json(value or b"")
        rows.decisions.append((
            o.request_id, o.contact_key, o.purpose.value, "forwarded", None, None, False,
            o.campaign, o.event_id, o.policy_version, o.requested_at, o.decided_at))
    elif base == MAIL_SUPPRESSED:
        s = SuppressedRecord.model_validate_json(value or b"")
        rows.decisions.append((
            s.request_id, s.contact_key, s.purpose.value, "suppressed", s.reason, s.rule,
            s.detected, s.campaign, s.event_id, s.policy_version, s.requested_at, s.decided_at))
    elif base == CONTACTS:
        key = (m.key() or b"").decode("ascii")
        if len(key) != 64:
            raise ValueError("contacts record without a contact key")
        profile = None if value is None else ContactProfile.model_validate_json(value)
        rows.contacts.setdefault(key, Profile()).apply(profile)
    elif base == CONSENT_REVIEW:
        r = ReviewItem.model_validate_json(value or b"")
        rows.reviews.append(cleaned((r.review_id, r.contact_key, r.event_id, r.ticket_id,
                                     r.outcome, r.suggested, r.rule, r.language, r.span,
                                     r.occurred_at, r.created_at)))
    elif base == DEAD_LETTERS:
        d = DeadLetter.model_validate_json(value or b"")
        rows.letters.append(cleaned((d.topic, d.partition, d.offset, d.kind, d.stage, d.reason,
                                     d.failed_at)))
