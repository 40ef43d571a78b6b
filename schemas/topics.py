"""The topic catalogue: every topic's name, what it carries, and how long it keeps it.

One place for what used to be spread over the worker, the sinks, the unsubscribe publisher and
the bench. All contact-bearing topics share one partition count: the send filter relies on
partition p of `mail-requests` and partition p of every consent input topic holding the same
contacts. Internal topics (faust's changelog) are named after the app id instead of the topic
prefix.
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
OUTPUT_TOPICS = (CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS)

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
    internal: bool = False  # named after the app id (already prefixed), not the topic prefix


class Prefixed(Protocol):
    """What naming a topic needs from settings: the prefix rule (`ClientSettings.topic`)."""

    def topic(self, name: str) -> str: ...


def topic_specs() -> list[TopicSpec]:
    """Retention follows the data: inputs carry personal data, so they age out (the consent
    state derived from them lives on in the changelog and the ledger, which carry none)."""
    consent_log = {"retention.ms": RETAIN_FOREVER, "cleanup.policy": "delete"}
    inputs = {"retention.ms": str(30 * DAY_MS), "cleanup.policy": "delete"}
    return [
        *[TopicSpec(t, config=inputs) for t in INPUT_TOPICS],
        TopicSpec(MAIL_REQUESTS, config={"retention.ms": str(14 * DAY_MS)}),
        TopicSpec(CONSENT_CHANGES, config=consent_log),
        TopicSpec(MAIL_OUTBOX, config={"retention.ms": str(14 * DAY_MS)}),
        TopicSpec(MAIL_SUPPRESSED, config={"retention.ms": str(400 * DAY_MS)}),
        TopicSpec(DEAD_LETTERS, config={"retention.ms": str(30 * DAY_MS)}),
        # personal data per contact; erasure writes a tombstone, compaction removes the rest
        TopicSpec(CONTACTS, config={"cleanup.policy": "compact", "delete.retention.ms":
                                    str(DAY_MS), "min.compaction.lag.ms": "0",
                                    "max.compaction.lag.ms": str(DAY_MS)}),
    ]


def changelog_topic(app_id: str) -> str:
    """faust's name for the consent table's changelog: `<app id>-<table>-changelog`."""
    return f"{app_id}-consent-changelog"


def internal_specs(app_id: str) -> list[TopicSpec]:
    """Created by us rather than by faust on first use: a worker that processes its first event
    before faust's own metadata shows the new changelog crashes with PartitionsMismatch."""
    return [TopicSpec(changelog_topic(app_id), internal=True,
                      config={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"})]


def all_specs(app_id: str | None) -> list[TopicSpec]:
    return topic_specs() + (internal_specs(app_id) if app_id else [])


def topic_name(settings: Prefixed, spec: TopicSpec) -> str:
    return spec.name if spec.internal else settings.topic(spec.name)
