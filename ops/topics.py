"""`consent topics create`: create every topic of the catalogue, idempotently.

Creation refuses to proceed when an existing co-partitioned topic has a different partition
count, instead of silently breaking co-partitioning.
"""

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from ops.exceptions import TopicError
from schemas.settings import ClientSettings
from schemas.topics import all_specs, topic_name


def durability_config(settings: ClientSettings) -> dict[str, str]:
    """With replicas, a write is acknowledged (acks=all) only once two of them hold it, so one
    broker lost never loses an acknowledged opt-out and one broker down never stops writes."""
    rf = settings.replication_factor
    return {"min.insync.replicas": str(min(2, max(1, rf - 1)))}


def create_topics(settings: ClientSettings, timeout: float = 30.0) -> dict[str, str]:
    """Create missing topics; return name → "created" | "exists". Raises on a layout mismatch."""
    admin = AdminClient(settings.to_librdkafka())
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
    result: dict[str, str] = {}
    wanted = []
    for spec in all_specs():
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
            wanted.append(NewTopic(name, settings.partitions, settings.replication_factor,
                                   config={**spec.config, **durability_config(settings)}))
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
