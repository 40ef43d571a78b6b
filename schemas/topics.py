"""The topic catalogue: every topic's name, what it carries, and how long it keeps it.

One place for what used to be spread over the worker, the sinks, the unsubscribe publisher and
the bench. All contact-bearing topics share one partition count: the send filter relies on
partition p of `mail-requests` and partition p of every consent input topic holding the same
contacts.
"""

from dataclasses import dataclass, field
from typing import Protocol

INPUT_TOPICS = ("purchases", "support", "newsletter", "preferences")
"""Consent inputs, read by the consent agent."""
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
CONSENT_REVIEW = "consent-review"
"""Detected text an agent should confirm (DESIGN.md, semantics 7). Named here so the access
catalogue (`schemas.principals`) can grant it; not yet in `topic_specs`."""
OUTPUT_TOPICS = (CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS,
                 CONSENT_STATE, CONSENT_REVIEW)

TOPIC_TYPES: dict[str, frozenset[str]] = {
    "purchases": frozenset({"purchase.completed"}),
    "support": frozenset({"support.message_received"}),
    "newsletter": frozenset(
        {"newsletter.signup", "newsletter.confirmed", "newsletter.unsubscribed"}
    ),
    "preferences": frozenset({"preference.changed", "contact.erasure_requested"}),
    MAIL_REQUESTS: frozenset({"mail.requested"}),
}
"""Which input topic carries which event types (DESIGN.md, "Topics")."""


def topic_for_type(event_type: str) -> str:
    for topic, types in TOPIC_TYPES.items():
        if event_type in types:
            return topic
    raise KeyError(event_type)


RETAIN_FOREVER = "-1"
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    copartitioned: bool = True
    config: dict[str, str] = field(default_factory=dict)
    internal: bool = False  # named without the topic prefix


class Prefixed(Protocol):
    """What naming a topic needs from settings: the prefix rule (`ClientSettings.topic`)."""

    def topic(self, name: str) -> str: ...


def topic_specs() -> list[TopicSpec]:
    """Retention follows the data: inputs carry personal data, so they age out (the consent
    state derived from them lives on in `consent-state` and the ledger, which carry none).

    Consent inputs take the broker's append time as the record timestamp: it is what an
    event's `occurred_at` is checked against, so a producer cannot set it.
    """
    consent_log = {"retention.ms": RETAIN_FOREVER, "cleanup.policy": "delete"}
    inputs = {"retention.ms": str(30 * DAY_MS), "cleanup.policy": "delete",
              "message.timestamp.type": "LogAppendTime"}
    return [
        *[TopicSpec(t, config=inputs) for t in INPUT_TOPICS],
        TopicSpec(MAIL_REQUESTS, config={"retention.ms": str(14 * DAY_MS),
                                         "message.timestamp.type": "LogAppendTime"}),
        TopicSpec(CONSENT_CHANGES, config=consent_log),
        TopicSpec(MAIL_OUTBOX, config={"retention.ms": str(14 * DAY_MS)}),
        TopicSpec(MAIL_SUPPRESSED, config={"retention.ms": str(400 * DAY_MS)}),
        TopicSpec(DEAD_LETTERS, config={"retention.ms": str(30 * DAY_MS)}),
        TopicSpec(CONSENT_REVIEW, config={"retention.ms": str(400 * DAY_MS)}),
        # personal data per contact; erasure writes a tombstone, compaction removes the rest
        TopicSpec(CONTACTS, config={"cleanup.policy": "compact", "delete.retention.ms":
                                    str(DAY_MS), "min.compaction.lag.ms": "0",
                                    "max.compaction.lag.ms": str(DAY_MS)}),
        # the consent table: the latest state per contact is kept for ever, never deleted
        # (an erased contact's state is its suppression entry); markers compact to one per
        # partition
        TopicSpec(CONSENT_STATE, config={"cleanup.policy": "compact",
                                         "min.compaction.lag.ms": "0",
                                         "segment.ms": str(3600 * 1000),
                                         "min.cleanable.dirty.ratio": "0.1"}),
    ]


def all_specs() -> list[TopicSpec]:
    return topic_specs()


def topic_name(settings: Prefixed, spec: TopicSpec) -> str:
    return spec.name if spec.internal else settings.topic(spec.name)
