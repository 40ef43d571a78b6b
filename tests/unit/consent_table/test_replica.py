"""The filter's replica of consent-state: markers of every partition, verdicts of its own."""

import orjson
from confluent_kafka import KafkaError

from consent_table.replica import PURPOSES, ConsentReplica
from schemas.records import PROGRESS_KEY
from tests.unit.kafka_fakes import FakeConsumer, error_msg, msg

TOPIC = "consent-state"


def marker(applied: dict[str, int], rerouted: dict[str, int] | None = None) -> bytes:
    return orjson.dumps({"record": "consent.progress", "applied": applied,
                         "rerouted": rerouted or {}})


def state(allowed: bool, version: str = "v1") -> bytes:
    decisions = {p.value: {"allowed": allowed, "reason": None if allowed else "opted_out",
                           "rule": "r"} for p in PURPOSES}
    return orjson.dumps({"decisions": decisions, "policy_version": version})


def replica(ends: dict[int, int] | None = None, partitions: int = 2
            ) -> tuple[ConsentReplica, FakeConsumer]:
    consumer = FakeConsumer()
    asked: list[list[int]] = []

    def end_offsets(ps: list[int]) -> dict[int, int]:
        asked.append(ps)
        return {p: (ends or {}).get(p, 0) for p in ps}

    return ConsentReplica(consumer, TOPIC, partitions, end_offsets), consumer


def test_reads_every_partition_from_the_start() -> None:
    _r, consumer = replica(partitions=3)
    assert [(tp.topic, tp.partition, tp.offset) for tp in consumer.assigned] == [
        (TOPIC, 0, -2), (TOPIC, 1, -2), (TOPIC, 2, -2)]


def test_markers_only_move_forward_and_carry_rerouted_copies() -> None:
    r, consumer = replica()
    consumer.batches = [[
        msg(TOPIC, 1, 0, marker({"consent-events": 10}, {"consent-events:0": 4}), PROGRESS_KEY),
        msg(TOPIC, 1, 1, marker({"consent-events": 7, "tickets": 3}, {"consent-events:0": 2}),
            PROGRESS_KEY),
    ]]
    assert r.poll(0) == 2
    assert r.applied[1] == {"consent-events": 10, "tickets": 3}
    assert r.rerouted == {("consent-events", 0): 4}
    assert r.applied[0] == {}
    assert r.progress == 2


def test_verdicts_are_kept_for_owned_partitions_only_and_tombstones_delete() -> None:
    r, consumer = replica()
    r.own([0])
    consumer.batches = [[
        msg(TOPIC, 0, 0, state(True), b"a"),
        msg(TOPIC, 1, 0, state(True), b"b"),  # not ours: only its markers matter
        msg(TOPIC, 0, 1, state(False), b"c"),
        msg(TOPIC, 0, 2, None, b"c"),  # erased
    ]]
    r.poll(0)
    found = r.get(0, b"a")
    assert found is not None
    row, version = found
    assert version == "v1" and all(allowed for allowed, *_ in row)
    assert r.get(0, b"c") is None
    assert 1 not in r.contacts
    assert r.size() == 1


def test_identical_rows_are_shared() -> None:
    r, consumer = replica()
    r.own([0])
    consumer.batches = [[msg(TOPIC, 0, 0, state(False), b"a"), msg(TOPIC, 0, 1, state(False), b"b")]]
    r.poll(0)
    assert r.get(0, b"a") is r.get(0, b"b")


def test_errors_and_a_marker_tombstone_are_skipped() -> None:
    r, consumer = replica()
    consumer.batches = [[error_msg(KafkaError._PARTITION_EOF, topic=TOPIC),
                         msg(TOPIC, 0, 0, None, PROGRESS_KEY)]]
    assert r.poll(0) == 2
    assert r.applied == {0: {}, 1: {}}


def test_an_owned_partition_is_ready_once_read_to_the_end_taken_at_assignment() -> None:
    r, consumer = replica(ends={0: 5, 1: 0})
    assert not r.ready(0)
    r.own([0, 1])
    assert consumer.seeks == [(TOPIC, 0, -2)]  # an empty partition needs no re-read
    assert r.ready(1) and not r.ready(0)
    consumer.positions[(TOPIC, 0)] = 4
    r.poll(0)
    assert not r.ready(0)
    consumer.positions[(TOPIC, 0)] = 5
    r.poll(0)
    assert r.ready(0)
    r.disown([0])
    assert not r.ready(0) and 0 not in r.contacts
