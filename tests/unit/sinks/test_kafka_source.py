"""The tracked consumer: positions in the data's transaction, bounded retries, loud fatal errors."""

import threading
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from sinks import kafka_source
from sinks.exceptions import DatabaseError, SinkError
from sinks.kafka_source import TrackedConsumer
from sinks.settings import SinkSettings
from tests.unit.kafka_fakes import FakeConsumer, error_msg, msg
from tests.unit.sinks.fakes import StandInConnection

NAME = "postgres-sink"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(kafka_source.time, "sleep", slept.append)
    return slept


def tracked(monkeypatch: pytest.MonkeyPatch, *connections: StandInConnection,
            retry_s: float = 60.0, **kw: Any) -> TrackedConsumer:
    monkeypatch.setattr(kafka_source, "Consumer", FakeConsumer)
    pool = list(connections)
    settings = SinkSettings(topic_prefix="p-", db_retry_s=retry_s)
    return TrackedConsumer(settings, NAME, ["mail-outbox"], connect=lambda: pool.pop(0), **kw)


def test_a_batch_skips_what_is_stored_and_stores_where_to_go_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    conn = StandInConnection({(NAME, "t", 0): 5, ("other-sink", "t", 1): 9})
    source = tracked(monkeypatch, conn)
    handled: list[list[int | None]] = []
    batch = [msg("t", 0, 4), msg("t", 0, 5), msg("t", 0, 6), msg("t", 1, 0)]
    assert source.process(batch, lambda _c, ms: handled.append([m.offset() for m in ms])) == 3
    assert handled == [[5, 6, 0]]  # offset 4 was stored with an earlier batch
    assert conn.positions == {(NAME, "t", 0): 7, (NAME, "t", 1): 1, ("other-sink", "t", 1): 9}

    handled.clear()
    assert source.process(batch, lambda _c, ms: handled.append([])) == 0  # a replay
    assert handled == []
    assert conn.positions[(NAME, "t", 0)] == 7


def test_on_assignment_it_seeks_to_the_stored_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    source = tracked(monkeypatch, StandInConnection({(NAME, "t", 0): 42}))
    assigned: list[list[TopicPartition]] = []
    source._on_assigned = assigned.append
    consumer = source.consumer
    source.on_assign(consumer, [TopicPartition("t", 0), TopicPartition("t", 1)])
    assert [(tp.partition, tp.offset) for tp in consumer.assigned] == [(0, 42), (1, -1001)]
    assert len(assigned) == 1


def test_a_partition_with_no_stored_position_starts_where_the_sink_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    source = tracked(monkeypatch, StandInConnection({(NAME, "t", 0): 42}),
                     unstored=OFFSET_BEGINNING)
    source.on_assign(source.consumer, [TopicPartition("t", 0), TopicPartition("t", 1)])
    # t:1 has nothing stored: read from the start, not from what the group committed
    assert [(tp.partition, tp.offset) for tp in source.consumer.assigned] == [
        (0, 42), (1, OFFSET_BEGINNING)]


def test_a_lost_connection_is_retried_on_a_fresh_one(monkeypatch: pytest.MonkeyPatch,
                                                     sleeps: list[float]) -> None:
    first, second = StandInConnection(fail=1), StandInConnection()
    connected: list[StandInConnection] = []
    source = tracked(monkeypatch, first, second, on_connect=connected.append)
    assert source.process([msg("t", 0, 0)], lambda _c, _ms: None) == 1
    assert first.closed and source.conn is second
    assert connected == [first, second]  # the session is prepared again
    assert sleeps == [0.2]
    assert second.positions == {(NAME, "t", 0): 1}


def test_postgresql_down_for_longer_than_the_bound_raises(monkeypatch: pytest.MonkeyPatch,
                                                          sleeps: list[float]) -> None:
    down = [StandInConnection(fail=10**6) for _ in range(10)]
    source = tracked(monkeypatch, *down, retry_s=1.0)
    with pytest.raises(DatabaseError, match="unavailable for 1s"):
        source.process([msg("t", 0, 0)], lambda _c, _ms: None)
    assert sleeps == [0.2, 0.4, 0.8]  # the next wait (1.6) would pass the 1 s deadline


def test_poll_keeps_records_skips_end_of_partition_and_raises_on_fatal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    source = tracked(monkeypatch, StandInConnection())
    consumer = source.consumer
    good = msg("t", 0, 0)
    consumer.batches = [[good, error_msg(KafkaError._PARTITION_EOF),
                         error_msg(KafkaError._TRANSPORT)],
                        [error_msg(KafkaError._FATAL, fatal=True)]]
    assert source.poll_batch() == [good]
    with pytest.raises(SinkError, match="fatal"):
        source.poll_batch()


def test_a_fatal_client_error_stops_the_next_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    source = tracked(monkeypatch, StandInConnection())
    source._error(KafkaError(KafkaError._TRANSPORT, "blip"))
    assert source.poll_batch() == []
    source._error(KafkaError(KafkaError._FATAL, "fenced", fatal=True))
    with pytest.raises(SinkError, match="fatal Kafka error"):
        source.poll_batch()


def test_lag_is_reported_per_topic_from_cached_watermarks_every_five_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lags: list[tuple[str, int]] = []
    source = tracked(monkeypatch, StandInConnection(), on_lag=lambda t, n: lags.append((t, n)))
    consumer = source.consumer
    consumer.assigned = [TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("u", 0)]
    consumer.positions = {("t", 0): 10, ("t", 1): 3, ("u", 0): -1001}  # u: nothing read yet
    consumer.watermarks = {("t", 0): (0, 15), ("t", 1): (0, 3), ("u", 0): (0, 8)}
    source.poll_batch()
    source.poll_batch()
    assert lags == [("t", 5)]


class Scripted(FakeConsumer):
    """Hands out its batches, runs `before[i]` just before the i-th consume returns, and asks
    the loop to stop once it has nothing left."""

    def __init__(self, stop: threading.Event, before: dict[int, Any] | None = None) -> None:
        super().__init__()
        self.stop = stop
        self.before = before or {}
        self.calls = 0
        self.commits: list[list[tuple[str, int, int]]] = []

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        self.calls += 1
        if self.calls in self.before:
            self.before[self.calls]()
        if not self.batches:
            self.stop.set()
            return []
        return self.batches.pop(0)

    def commit(self, **kw: Any) -> None:
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in kw["offsets"]])


def pipelined(monkeypatch: pytest.MonkeyPatch, conn: StandInConnection,
              batches: list[list[Any]], before: dict[int, Any] | None = None,
              prepare: Any = None) -> tuple[TrackedConsumer, list[tuple[str, list[int]]]]:
    """Run `run_pipelined` over `batches`; returns the source and what was prepared/written."""
    stop = threading.Event()
    source = tracked(monkeypatch, conn)
    consumer = Scripted(stop, before)
    consumer.batches = [list(b) for b in batches]
    source.consumer = consumer
    log: list[tuple[str, list[int]]] = []

    def default_prepare(ms: list[Any]) -> list[int]:
        log.append(("prepare", [m.offset() for m in ms]))
        return [m.offset() for m in ms]

    def write(_conn: Any, ms: list[Any], prepared: list[int]) -> None:
        assert prepared == [m.offset() for m in ms]  # the rows are those of what is written
        log.append(("write", prepared))

    source.run_pipelined(prepare or default_prepare, write, stop)
    return source, log


def test_pipelined_batches_are_written_in_order_each_once_and_the_last_before_stopping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    conn = StandInConnection()
    batches = [[msg("t", 0, 0), msg("t", 0, 1)], [msg("t", 0, 2)], [msg("t", 1, 0)]]
    source, log = pipelined(monkeypatch, conn, batches)
    assert [w for kind, w in log if kind == "write"] == [[0, 1], [2], [0]]
    assert [p for kind, p in log if kind == "prepare"] == [[0, 1], [2], [0]]
    assert conn.positions == {(NAME, "t", 0): 3, (NAME, "t", 1): 1}
    assert source.consumed == 4
    # Kafka's committed offsets (a hint) are those of written batches, never of one in hand
    assert source.consumer.commits == [[("t", 0, 2)], [("t", 0, 3)], [("t", 1, 1)]]


def test_the_next_batch_is_prepared_while_one_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    second_prepared = threading.Event()
    overlapped: list[bool] = []

    def prepare(ms: list[Any]) -> list[int]:
        if ms[0].offset() == 1:
            second_prepared.set()
        return [m.offset() for m in ms]

    def write(_conn: Any, ms: list[Any], _prepared: list[int]) -> None:
        if ms[0].offset() == 0:  # would wait in vain if batches were prepared one at a time
            overlapped.append(second_prepared.wait(5))

    stop = threading.Event()
    source = tracked(monkeypatch, StandInConnection())
    source.consumer = consumer = Scripted(stop)
    consumer.batches = [[msg("t", 0, 0)], [msg("t", 0, 1)]]
    source.run_pipelined(prepare, write, stop)
    assert overlapped == [True]


def test_a_partly_stored_batch_is_prepared_again_without_what_is_stored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    conn = StandInConnection({(NAME, "t", 0): 2})  # offsets 0 and 1 were stored before a crash
    _source, log = pipelined(monkeypatch, conn, [[msg("t", 0, 0), msg("t", 0, 1),
                                                  msg("t", 0, 2), msg("t", 0, 3)]])
    assert log == [("prepare", [0, 1, 2, 3]), ("prepare", [2, 3]), ("write", [2, 3])]
    assert conn.positions == {(NAME, "t", 0): 4}


def test_a_batch_in_hand_when_the_group_rebalances_is_dropped_unwritten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    conn = StandInConnection()
    holder: list[TrackedConsumer] = []

    def rebalance() -> None:  # during the poll after the first batch: t:0 goes to another sink
        source = holder[0]
        source.on_revoke(source.consumer, [TopicPartition("t", 0)])
        source.on_assign(source.consumer, [TopicPartition("t", 1)])

    stop = threading.Event()
    source = tracked(monkeypatch, conn)
    holder.append(source)
    source.consumer = consumer = Scripted(stop, before={2: rebalance})
    consumer.batches = [[msg("t", 0, 0), msg("t", 0, 1)], [msg("t", 1, 0)]]
    written: list[list[tuple[int, int]]] = []
    source.run_pipelined(lambda ms: [(m.partition(), m.offset()) for m in ms],
                         lambda _c, _ms, p: written.append(p), stop)
    assert written == [[(1, 0)]]  # t:0's records are its new owner's to store
    assert conn.positions == {(NAME, "t", 1): 1}
