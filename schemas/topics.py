"""The topic catalogue: every topic's name, what it carries, and how long it keeps it.

One place for what used to be spread over the worker, the sinks, the unsubscribe publisher and
the bench. All contact-bearing topics share one partition count: the send filter relies on
partition p of `mail-requests` and partition p of every consent input topic holding the same
contacts.

Retention follows the data (README, "Security and data protection"). Topics that hold personal
data in raw form — the consent inputs, `mail-requests`, `mail-outbox` (addresses, names, mail
bodies) and `dead-letters` (original bytes) — keep it only as long as the pipeline needs it:
days (`CONSENT_RAW_RETENTION_DAYS`, `CONSENT_DEAD_LETTER_RETENTION_DAYS`), not a month. What is
derived from them and holds no personal data (the ledger, the consent table, decisions, review
items, disclosures) is kept as the proof it is. Kafka deletes whole segments, and only once the
newest record in a segment is older than the retention, so raw topics roll a segment every
tenth of their retention: a record is gone at most 1.1 x the retention after it was written,
plus the broker's retention check interval (`log.retention.check.interval.ms`, 5 minutes by
default). `Retention.raw_copies_ms` is that bound, which `consent lookup` states for an
erasure.
"""

from dataclasses import dataclass, field
from typing import Protocol

INPUT_TOPICS = ("purchases", "support", "newsletter", "preferences")
"""Consent inputs, read by the consent agent; the send filter waits for every one of them."""
MAIL_REQUESTS = "mail-requests"
CONSENT_CHANGES = "consent-changes"
MAIL_OUTBOX = "mail-outbox"
MAIL_SUPPRESSED = "mail-suppressed"
DEAD_LETTERS = "dead-letters"
CONTACTS = "contacts"
CONSENT_REVIEW = "consent-review"
"""Detected text an agent should confirm (possible opt-outs, re-subscribe requests)."""
CONSENT_STATE = "consent-state"
"""The materialised consent table (compacted), with the agent's progress markers."""
DISCLOSURES = "disclosures"
"""Legal disclosures the DPO made (`consent disclose`); only the `dpo` principal writes it, and
the consent agent turns each into a ledger line. Not a consent input: no mail waits for it."""
AGENT_TOPICS = (*INPUT_TOPICS, DISCLOSURES)
"""What the consent agent reads: the consent inputs and the disclosures."""
OUTPUT_TOPICS = (CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS,
                 CONSENT_STATE, CONSENT_REVIEW)
RAW_TOPICS = (*INPUT_TOPICS, MAIL_REQUESTS, MAIL_OUTBOX)
"""Topics with personal data in raw form, kept `raw_retention_days`."""

TOPIC_TYPES: dict[str, frozenset[str]] = {
    "purchases": frozenset({"purchase.completed"}),
    "support": frozenset({"support.message_received"}),
    "newsletter": frozenset(
        {"newsletter.signup", "newsletter.confirmed", "newsletter.unsubscribed"}
    ),
    "preferences": frozenset({"preference.changed", "contact.erasure_requested"}),
    MAIL_REQUESTS: frozenset({"mail.requested"}),
    DISCLOSURES: frozenset({"contact.disclosure_recorded"}),
}
"""Which input topic carries which event types (DESIGN.md, "Topics")."""


def topic_for_type(event_type: str) -> str:
    for topic, types in TOPIC_TYPES.items():
        if event_type in types:
            return topic
    raise KeyError(event_type)


RETAIN_FOREVER = "-1"
DAY_MS = 24 * 3600 * 1000
RETENTION_CHECK_ALLOWANCE_MS = 5 * 60 * 1000
"""Kafka's default `log.retention.check.interval.ms`: how late a due segment may be deleted."""
AUDIT_RETENTION_MS = 400 * DAY_MS
"""Decisions without personal data (`mail-suppressed`, `consent-review`): over a year of proof
in Kafka; PostgreSQL keeps them for good."""


@dataclass(frozen=True)
class Retention:
    """How long Kafka keeps personal data in raw form (ms); from `ClientSettings.retention()`."""

    raw_ms: int = 7 * DAY_MS
    dead_letter_ms: int = 7 * DAY_MS

    @staticmethod
    def segment_ms(retention_ms: int) -> int:
        """A tenth of the retention (at least a second): Kafka deletes whole segments only."""
        return max(1000, retention_ms // 10)

    @property
    def raw_copies_ms(self) -> int:
        """Longest a raw copy may outlive the moment it was written (see the module doc)."""
        longest = max(r + self.segment_ms(r) for r in (self.raw_ms, self.dead_letter_ms))
        return longest + RETENTION_CHECK_ALLOWANCE_MS

    def raw(self, **extra: str) -> dict[str, str]:
        """A raw topic's configuration: deleted after `raw_ms`, in segments of a tenth of it."""
        return {"cleanup.policy": "delete", "retention.ms": str(self.raw_ms),
                "segment.ms": str(self.segment_ms(self.raw_ms)), **extra}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    copartitioned: bool = True
    config: dict[str, str] = field(default_factory=dict)
    internal: bool = False  # named without the topic prefix
    holds: str = ""
    """What it carries, for people: personal data or not (README, retention table)."""


class Prefixed(Protocol):
    """What naming a topic needs from settings: the prefix rule (`ClientSettings.topic`)."""

    def topic(self, name: str) -> str: ...


def topic_specs(retention: Retention | None = None) -> list[TopicSpec]:
    """Every topic with its configuration; `consent topics create` applies it, existing too.

    Consent inputs and mail requests take the broker's append time as the record timestamp:
    it is what an event's `occurred_at` is checked against and what retention counts from, so
    a producer's clock can neither bend the one nor stretch the other. `mail-outbox` and
    `dead-letters` are written by the pipeline's own processes, whose clocks are trusted.
    """
    r = retention or Retention()
    appended = {"message.timestamp.type": "LogAppendTime"}
    forever = {"retention.ms": RETAIN_FOREVER, "cleanup.policy": "delete"}
    audit = {"retention.ms": str(AUDIT_RETENTION_MS), "cleanup.policy": "delete"}
    profile_lag = str(min(DAY_MS, r.raw_ms))
    return [
        *[TopicSpec(t, config=r.raw(**appended), holds="personal data (input events)")
          for t in INPUT_TOPICS],
        TopicSpec(MAIL_REQUESTS, config=r.raw(**appended),
                  holds="personal data (address, subject, body)"),
        TopicSpec(MAIL_OUTBOX, config=r.raw(), holds="personal data (address, subject, body)"),
        TopicSpec(DEAD_LETTERS, config={
            "cleanup.policy": "delete", "retention.ms": str(r.dead_letter_ms),
            "segment.ms": str(r.segment_ms(r.dead_letter_ms))},
            holds="personal data (original bytes of bad input)"),
        TopicSpec(CONSENT_CHANGES, config=forever, holds="the ledger; no personal data"),
        TopicSpec(MAIL_SUPPRESSED, config=audit, holds="suppressed requests; no personal data"),
        TopicSpec(CONSENT_REVIEW, config=audit, holds="review items; no personal data"),
        TopicSpec(DISCLOSURES, config=forever, holds="legal disclosures; no personal data"),
        # personal data per contact, kept while we hold it; erasure writes a tombstone, and
        # compaction removes the profile within `max.compaction.lag.ms` (at most a day, never
        # longer than the raw retention) once a later write has rolled the segment
        TopicSpec(CONTACTS, config={"cleanup.policy": "compact", "delete.retention.ms":
                                    str(DAY_MS), "min.compaction.lag.ms": "0",
                                    "max.compaction.lag.ms": profile_lag,
                                    "segment.ms": str(r.segment_ms(int(profile_lag)))},
                  holds="personal data (profiles), until erasure"),
        # the consent table: the latest state per contact is kept for ever, never deleted
        # (an erased contact's state is its suppression entry); markers compact to one per
        # partition
        TopicSpec(CONSENT_STATE, config={"cleanup.policy": "compact",
                                         "min.compaction.lag.ms": "0",
                                         "segment.ms": str(3600 * 1000),
                                         "min.cleanable.dirty.ratio": "0.1"},
                  holds="the consent table; no personal data"),
    ]


def all_specs(retention: Retention | None = None) -> list[TopicSpec]:
    return topic_specs(retention)


def topic_name(settings: Prefixed, spec: TopicSpec) -> str:
    return spec.name if spec.internal else settings.topic(spec.name)
