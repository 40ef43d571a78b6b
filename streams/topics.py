"""Topic layout and idempotent creation.

All contact-bearing topics share one partition count: the send filter relies on partition p of
`mail-requests` and partition p of every consent input topic being owned by the same worker.
Creation therefore refuses to proceed when an existing topic has a different count, instead of
silently breaking co-partitioning.
"""

from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.exceptions import ConsentError
from streams.settings import INPUT_TOPICS, MAIL_REQUESTS, KafkaSettings

RETAIN_FOREVER = "-1"


class TopicError(ConsentError):
    """Topics could not be created or do not have the layout the pipeline needs."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    copartitioned: bool = True
    config: dict[str, str] = field(default_factory=dict)
    internal: bool = False  # named after the app id (already prefixed), not the topic prefix


DAY_MS = 24 * 3600 * 1000


def topic_specs() -> list[TopicSpec]:
    """Retention follows the data: inputs carry personal data, so they age out (the consent
    state derived from them lives on in the changelog and the ledger, which carry none)."""
    consent_log = {"retention.ms": RETAIN_FOREVER, "cleanup.policy": "delete"}
    inputs = {"retention.ms": str(30 * DAY_MS), "cleanup.policy": "delete"}
    return [
        *[TopicSpec(t, config=inputs) for t in INPUT_TOPICS],
        TopicSpec(MAIL_REQUESTS, config={"retention.ms": str(14 * DAY_MS)}),
        TopicSpec("consent-changes", config=consent_log),
        TopicSpec("mail-outbox", config={"retention.ms": str(14 * DAY_MS)}),
        TopicSpec("mail-suppressed", config={"retention.ms": str(400 * DAY_MS)}),
        TopicSpec("dead-letters", config={"retention.ms": str(30 * DAY_MS)}),
        # personal data per contact; erasure writes a tombstone, compaction removes the rest
        TopicSpec("contacts", config={"cleanup.policy": "compact", "delete.retention.ms":
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


def all_specs(settings: KafkaSettings) -> list[TopicSpec]:
    app_id = getattr(settings, "app_id", None)
    return topic_specs() + (internal_specs(app_id) if app_id else [])


def topic_name(settings: KafkaSettings, spec: TopicSpec) -> str:
    return spec.name if spec.internal else settings.topic(spec.name)


def create_topics(settings: KafkaSettings, timeout: float = 30.0) -> dict[str, str]:
    """Create missing topics; return name → "created" | "exists". Raises on a layout mismatch."""
    admin = AdminClient(settings.to_librdkafka())
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
    result: dict[str, str] = {}
    wanted = []
    for spec in all_specs(settings):
        name = topic_name(settings, spec)
        if name in existing:
            count = len(existing[name].partitions)
            if spec.copartitioned and count != settings.partitions:
                raise TopicError(
                    f"topic {name} has {count} partitions but CONSENT_PARTITIONS is "
                    f"{settings.partitions}; co-partitioned topics must agree"
                )
            result[name] = "exists"
        else:
            wanted.append(
                NewTopic(name, settings.partitions, settings.replication_factor, config=spec.config)
            )
    if wanted:
        for name, fut in admin.create_topics(wanted, operation_timeout=timeout).items():
            try:
                fut.result()
                result[name] = "created"
            except KafkaException as exc:
                if exc.args[0].name() == "TOPIC_ALREADY_EXISTS":
                    result[name] = "exists"
                else:
                    raise TopicError(f"cannot create topic {name}: {exc}") from exc
    return result
