"""A PostgreSQL schema rebuilt empty is filled again from Kafka, whatever the group committed.

The sink's positions live in PostgreSQL with its rows; Kafka's committed offsets are a hint.
When the schema is emptied (restored from nothing, rebuilt on purpose: `consent-changes` is kept
for ever for exactly that), the hint points past every record, and a sink that followed it
would store nothing of the past and say nothing. It must read each partition from the start.
"""

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from ops.supervisor import wait_until
from schemas.topics import CONSENT_CHANGES
from sources.producer import make_event
from tests.integration.harness import Pipeline

pytestmark = pytest.mark.integration

EVENTS = 20
LEDGER = "SELECT DISTINCT event_id FROM consent_ledger WHERE source = %s"


def committed(p: Pipeline) -> int:
    """Offsets the sink's group has committed on `consent-changes`, summed over partitions."""
    topic = p.stream_settings.topic(CONSENT_CHANGES)
    consumer = Consumer(p.kafka(**{"group.id": p.sink_settings.group_id("postgres-sink"),
                                   "enable.auto.commit": False}))
    try:
        tps = consumer.committed([TopicPartition(topic, n)
                                  for n in range(p.stream_settings.partitions)], timeout=10)
        return sum(max(tp.offset, 0) for tp in tps)
    finally:
        consumer.close()


def test_an_emptied_schema_is_refilled_from_the_start_of_each_topic(
        make_pipeline: Callable[..., Pipeline]) -> None:
    p = make_pipeline(components=("worker", "postgres"))
    source = f"rebuild-{uuid.uuid4().hex[:8]}"
    for i in range(EVENTS):
        p.producer.send(make_event("preference.changed",
                                   {"email": f"{source}-{i}@example.com", "all": "withdrawn"},
                                   source=source))
    p.producer.flush()
    p.wait_rows(LEDGER, source, count=EVENTS)
    # the hint a naive restart would follow: the group has committed past those records
    wait_until(lambda: committed(p) >= EVENTS, 30, "the sink's committed offsets")
    p.procs.running["postgres-sink"].stop()

    with p.db() as conn:  # the schema rebuilt empty, as a restore from nothing leaves it
        conn.execute("TRUNCATE consent_ledger, consent_current, contacts, erasures, "
                     "kafka_positions")
    assert p.query(LEDGER, source) == []

    p.procs.start("postgres-sink", "sink", "postgres")
    assert len(p.wait_rows(LEDGER, source, count=EVENTS)) == EVENTS
