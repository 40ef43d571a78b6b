"""`consent topics create`: create every topic of the catalogue and bring existing ones in line.

Creation refuses to proceed when an existing co-partitioned topic has a different partition
count, instead of silently breaking co-partitioning. An existing topic gets the catalogue's
configuration (retention, segment rolling, compaction, timestamp type) by an incremental
alter: shortening a retention in `schemas.topics` or in `CONSENT_RAW_RETENTION_DAYS` must reach
topics made by an older release, or personal data would outlive what the README promises.
Only keys whose value differs are altered, so running it again changes nothing.
"""

import time
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from ops.exceptions import TopicError
from schemas.settings import ClientSettings
from schemas.topics import DAY_MS, RETAIN_FOREVER, TopicSpec, all_specs, topic_name


def durability_config(settings: ClientSettings) -> dict[str, str]:
    """With replicas, a write is acknowledged (acks=all) only once two of them hold it, so one
    broker lost never loses an acknowledged opt-out and one broker down never stops writes."""
    rf = settings.replication_factor
    return {"min.insync.replicas": str(min(2, max(1, rf - 1)))}


@dataclass
class TopicReport:
    """What `create_topics` did to one topic, and the retention it has now."""

    status: str  # created | exists | updated
    config: dict[str, str]
    changed: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """key -> (value before, value now), for an existing topic that was altered."""

    @property
    def retention(self) -> str:
        return describe_retention(self.config)

    def __str__(self) -> str:
        return self.status


def _ms(value: str) -> str:
    ms = int(value)
    if ms < 0:
        return "for ever"
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS} d"
    if ms >= 3600_000:
        return f"{ms / 3600_000:.1f} h"
    return f"{ms / 1000:g} s"


def describe_retention(config: dict[str, str]) -> str:
    """`7 d`, `for ever`, `compacted, …`: how long a topic keeps what it is given."""
    if "compact" in config.get("cleanup.policy", ""):
        lag = config.get("max.compaction.lag.ms")
        return "compacted (latest per key kept" + (
            f"; superseded and erased records go within {_ms(lag)})" if lag else ")")
    return _ms(config.get("retention.ms", RETAIN_FOREVER))


UNKNOWN_TOPIC_RETRY_S = 0.5
"""Pause before asking again for a topic the broker does not know yet."""


def _existing_configs(admin: AdminClient, names: list[str], timeout: float
                      ) -> dict[str, dict[str, str]]:
    """Each topic's configuration; a topic the broker does not know yet is asked again.

    Right after topics are made (by this run, or by a setup just before it), the broker's
    metadata can lag its controller: listing misses the topic, creating it answers
    TOPIC_ALREADY_EXISTS, and describing it answers UNKNOWN_TOPIC_OR_PART for a moment. Seen
    on the local broker under load; waiting up to `timeout` is cheaper than a false error.
    """
    out: dict[str, dict[str, str]] = {}
    pending = list(names)
    deadline = time.monotonic() + timeout
    while pending:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in pending]
        pending = []
        for res, fut in admin.describe_configs(resources, request_timeout=timeout).items():
            try:
                entries = fut.result()
            except KafkaException as exc:
                code = exc.args[0].name()
                if code == "UNKNOWN_TOPIC_OR_PART" and time.monotonic() < deadline:
                    pending.append(res.name)
                    continue
                raise TopicError(f"cannot read the configuration of topic {res.name}: "
                                 f"{code}") from exc
            out[res.name] = {k: e.value for k, e in entries.items() if e.value is not None}
        if pending:
            time.sleep(UNKNOWN_TOPIC_RETRY_S)
    return out


def _align(admin: AdminClient, name: str, spec: TopicSpec, current: dict[str, str],
           timeout: float) -> dict[str, tuple[str | None, str]]:
    """Set every key of the catalogue whose value on the broker differs; return the changes."""
    changed = {k: (current.get(k), v) for k, v in spec.config.items() if current.get(k) != v}
    if not changed:
        return {}
    res = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[
        ConfigEntry(k, new, incremental_operation=AlterConfigOpType.SET)
        for k, (_old, new) in sorted(changed.items())])
    for fut in admin.incremental_alter_configs([res], request_timeout=timeout).values():
        try:
            fut.result()
        except KafkaException as exc:
            raise TopicError(f"cannot set the configuration of topic {name}: "
                             f"{exc.args[0].name()}") from exc
    return changed


def create_topics(settings: ClientSettings, timeout: float = 30.0) -> dict[str, TopicReport]:
    """Create missing topics and align existing ones; return name → report.

    Raises on a layout mismatch.
    """
    admin = AdminClient(settings.to_librdkafka())
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise TopicError(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc
    specs = {topic_name(settings, spec): spec for spec in all_specs(settings.retention())}
    result: dict[str, TopicReport] = {}
    wanted = []
    for name, spec in specs.items():
        if name in existing:
            count = len(existing[name].partitions)
            if spec.copartitioned and count != settings.partitions:
                raise TopicError(
                    f"topic {name} has {count} partitions but CONSENT_PARTITIONS is "
                    f"{settings.partitions}; co-partitioned topics must agree"
                )
        else:
            wanted.append(NewTopic(name, settings.partitions, settings.replication_factor,
                                   config={**spec.config, **durability_config(settings)}))
    if wanted:
        for name, fut in admin.create_topics(wanted, operation_timeout=timeout).items():
            try:
                fut.result()
                result[name] = TopicReport("created", dict(specs[name].config))
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise TopicError(f"cannot create topic {name}: {exc}") from exc
    current = _existing_configs(admin, [n for n in specs if n not in result], timeout)
    for name, config in current.items():
        changed = _align(admin, name, specs[name], config, timeout)
        result[name] = TopicReport("updated" if changed else "exists",
                                   {**config, **specs[name].config}, changed)
    return {name: result[name] for name in specs}
