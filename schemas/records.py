"""Records the pipeline writes: consent changes, mail decisions and dead letters.

Each is JSON keyed by the contact key (dead letters by their original key). Only the outbox
record carries an e-mail address: it is what the mailer needs and nothing else downstream may
hold one.
"""

import base64
import hashlib
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.purposes import Purpose


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


Scope = Literal[
    "product_updates",
    "special_offers",
    "support_notices",
    "new_products",
    "newsletter",
    "all",
    "relationship",
    "erasure",
    "review",
    "disclosure",
]


class ConsentChange(Record):
    """One line of the consent ledger: what an event did to one scope, and why.

    `applied` is false when a newer event already decided this scope (late arrival); the line
    is kept because "why did this opt-in not take effect" is a question the DPO gets.
    """

    record: Literal["consent.change"] = "consent.change"
    contact_key: str
    event_id: UUID
    event_type: str
    source: str
    occurred_at: AwareDatetime
    processed_at: AwareDatetime = Field(default_factory=utcnow)
    policy_version: str
    scope: Scope
    action: Literal["granted", "withdrawn", "pending", "relationship", "erased", "review",
                    "disclosed"]
    applied: bool
    effective: dict[str, str]
    rule: str
    evidence: dict[str, str] = Field(default_factory=dict)
    detected: bool = False


class ContactProfile(Record):
    """What we hold on a contact, from one event; the compacted `contacts` topic keeps the latest.

    This and `mail-outbox` are the only records with personal data. Erasure writes a tombstone
    for the key, and the PostgreSQL sink deletes the row.
    """

    record: Literal["contact.profile"] = "contact.profile"
    contact_key: str
    email: str
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    address: str | None = None
    country: str | None = None
    source: str
    event_type: str
    seen_at: AwareDatetime


class MailDecision(Record):
    request_id: str
    contact_key: str
    purpose: Purpose
    event_id: UUID
    requested_at: AwareDatetime
    decided_at: AwareDatetime = Field(default_factory=utcnow)
    policy_version: str
    campaign: str | None = None


class OutboxRecord(MailDecision):
    record: Literal["mail.outbox"] = "mail.outbox"
    email: str
    subject: str
    body: str
    unsubscribe_url: str | None = None


SuppressionReason = Literal[
    "opted_out",
    "purpose_withdrawn",
    "unconfirmed",
    "not_opted_in",
    "no_relationship",
    "erased",
]


class SuppressedRecord(MailDecision):
    record: Literal["mail.suppressed"] = "mail.suppressed"
    reason: SuppressionReason
    rule: str
    detected: bool = False


MAX_DEAD_LETTER_VALUE = 600_000
"""Bytes of an original kept in a dead letter: base64 and metadata stay under the broker's 1 MB."""
MAX_DEAD_LETTER_KEY = 1_024

Stage = Literal["deserialization", "processing", "production"]
"""The error site: the record could not be read; it was read but could not be processed; its
result could not be written (the sinks' `failed` rows)."""


def _clip(data: bytes | None, limit: int) -> tuple[bytes | None, bool]:
    if data is None or len(data) <= limit:
        return data, False
    return data[:limit], True


class DeadLetter(Record):
    """The original bytes and where they came from, so the message can be fixed and replayed.

    An original too large to fit the broker beside its metadata is cut: `truncated` is set and
    `original_length` and `original_sha256` identify the whole, which stays in the source topic
    for its retention.
    """

    record: Literal["dead.letter"] = "dead.letter"
    reason: str
    kind: str
    stage: Stage
    topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str | None
    truncated: bool = False
    original_length: int | None = None
    original_sha256: str | None = None
    failed_at: AwareDatetime = Field(default_factory=utcnow)

    @classmethod
    def of(
        cls,
        *,
        reason: str,
        kind: str,
        stage: Stage,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
    ) -> "DeadLetter":
        kept_key, key_cut = _clip(key, MAX_DEAD_LETTER_KEY)
        kept, value_cut = _clip(value, MAX_DEAD_LETTER_VALUE)
        return cls(
            reason=reason,
            kind=kind,
            stage=stage,
            topic=topic,
            partition=partition,
            offset=offset,
            key_b64=_b64(kept_key),
            value_b64=_b64(kept),
            truncated=key_cut or value_cut,
            original_length=None if value is None else len(value),
            original_sha256=None if value is None else hashlib.sha256(value).hexdigest(),
        )


class Verdict(BaseModel):
    """One purpose's decision in the consent table: may a mail go, and if not, why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    reason: SuppressionReason | None = None
    rule: str
    detected: bool = False


class ConsentState(Record):
    """One contact's row of the materialised consent table (compacted `consent-state` topic).

    `decisions` is what the send filter and the mailer read; `state` is the full join-semilattice
    state the agent restores from, with event times, ids, rules and sources but no personal data.
    """

    record: Literal["consent.state"] = "consent.state"
    contact_key: str
    policy_version: str
    updated_at: AwareDatetime
    decisions: dict[Purpose, Verdict]
    state: dict[str, object]


class ReviewItem(Record):
    """Detected text an agent should confirm or reverse (`consent-review` topic, `consent review`).

    `possible_opt_out`: the contact is already suppressed (erring towards not mailing); the agent
    confirms the withdrawal or reverses it with one `preference.changed`. `resubscribe`: nothing
    changed; the agent confirms an explicit grant, or dismisses the item. No text is copied:
    the ticket id and the character span point at it in the support desk.
    """

    record: Literal["consent.review"] = "consent.review"
    review_id: str
    contact_key: str
    event_id: UUID
    ticket_id: str
    outcome: Literal["possible_opt_out", "resubscribe"]
    suggested: Literal["confirm_withdrawal", "confirm_grant"]
    rule: str
    language: str
    span: str
    occurred_at: AwareDatetime
    created_at: AwareDatetime = Field(default_factory=utcnow)


PROGRESS_KEY = b"~progress"
"""Key of the progress markers in `consent-state` (never a contact key: those are hex)."""


class ProgressMarker(Record):
    """"Consent inputs of this partition are applied through these offsets."

    Written by the consent agent into `consent-state` partition `partition`, after the state
    records of the same transaction, so a reader that has seen the marker has seen every state
    it covers. `applied` maps each consent input topic (without prefix) to the next offset the
    agent will read.
    """

    record: Literal["consent.progress"] = "consent.progress"
    partition: int
    applied: dict[str, int]
    rerouted: dict[str, int] = Field(default_factory=dict)
    """"<topic>:<partition>" → the offset after the last copy this partition's agent re-routed
    there (a mis-keyed event moved to its contact's partition): a reader that waits until that
    partition is applied through it has every re-routed event the marker covers."""
    at: AwareDatetime
