"""The transactional loop's own logic, on stand-in clients: what commits together, what retries,
what ends the process."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from schemas.settings import ClientSettings
from streams import processor
from streams.exceptions import TransactionFailed
from streams.processor import Output, TransactionalLoop
from tests.unit.kafka_fakes import FakeConsumer, FakeProducer, error_msg, msg, txn_error


class RecordingHandler:
    def __init__(self, prepare: Callable[[list[Message], Any], list[Message]] | None = None
                 ) -> None:
        self.calls: list[str] = []
        self._prepare = prepare

    def on_assign(self, partitions: list[TopicPartition]) -> None:
        self.calls.append("assign")

    def on_revoke(self, partitions: list[TopicPartition]) -> None:
        self.calls.append("revoke")

    def prepare(self, batch: list[Message], keep_alive: Any) -> list[Message]:
        self.calls.append("prepare")
        return self._prepare(batch, keep_alive) if self._prepare else batch

    def process(self, batch: list[Message], out: Output) -> None:
        self.calls.append("process")
        for m in batch:
            out("out", m.key(), m.value())

    def committed(self) -> None:
        self.calls.append("committed")

    def aborted(self) -> None:
        self.calls.append("aborted")

    def idle(self, begin: Callable[[], Output]) -> None:
        self.calls.append("idle")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(processor.time, "sleep", slept.append)
    return slept


_made: list[TransactionalLoop] = []


@pytest.fixture(autouse=True)
def _closed_loops() -> Iterator[None]:
    """Each loop's offsets thread ends with its test, as `close` ends it in a process."""
    yield
    while _made:
        _made.pop().close()


def loop(monkeypatch: pytest.MonkeyPatch, handler: RecordingHandler, **kw: Any
         ) -> tuple[TransactionalLoop, FakeConsumer, FakeProducer]:
    monkeypatch.setattr(processor, "Consumer", FakeConsumer)
    monkeypatch.setattr(processor, "Producer", FakeProducer)
    made = TransactionalLoop(ClientSettings(), group="g", topics=["in"], handler=handler,
                             name="test", process_id="1", **kw)
    _made.append(made)
    return made, made.consumer, made.producer


def test_outputs_and_the_next_input_offsets_commit_in_one_transaction(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)
    consumer.batches = [[msg("in", 0, 5), msg("in", 1, 2), msg("in", 0, 6),
                         error_msg(KafkaError._PARTITION_EOF)]]
    lp.step()
    assert producer.steps == ["begin", "offsets", "commit"]
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in producer.offsets_sent[0]) == [
        ("in", 0, 7), ("in", 1, 3)]
    assert len(producer.produced) == 3
    assert handler.calls == ["prepare", "process", "committed"]
    assert lp.transactions == 1


def test_a_refused_transaction_is_aborted_and_the_batch_retried(
        monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)
    producer.commit_errors = [txn_error()]
    consumer.batches = [[msg("in", 0, 0)]]
    lp.step()
    assert producer.steps == ["begin", "offsets", "commit-refused", "abort",
                              "begin", "offsets", "commit"]
    assert handler.calls == ["prepare", "process", "aborted", "process", "committed"]
    assert sleeps == [processor.RETRY_DELAYS_S[0]]
    assert (lp.aborts, lp.transactions) == (1, 1)


def test_each_step_of_a_batch_is_timed_and_a_refused_commit_is_not(
        monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    """The dashboard's per-step histogram: which step of a transaction makes the tail."""
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(processor.time, "monotonic", lambda: float(next(clock)))
    timed: list[tuple[str, float]] = []
    lp, consumer, producer = loop(monkeypatch, RecordingHandler(),
                                  on_step=lambda step, s: timed.append((step, s)))
    producer.commit_errors = [txn_error()]
    consumer.batches = [[msg("in", 0, 0)]]
    lp.step()
    assert [step for step, _ in timed] == ["prepare", "process", "offsets",  # refused commit
                                           "process", "offsets", "commit"]
    assert all(s > 0 for _, s in timed)


def test_retries_are_bounded(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    lp, consumer, producer = loop(monkeypatch, RecordingHandler())
    producer.commit_errors = [txn_error() for _ in range(len(processor.RETRY_DELAYS_S) + 1)]
    consumer.batches = [[msg("in", 0, 0)]]
    with pytest.raises(TransactionFailed, match="refused 6 transactions"):
        lp.step()
    assert sleeps == list(processor.RETRY_DELAYS_S)


def test_a_rebalance_while_retrying_drops_the_batch(monkeypatch: pytest.MonkeyPatch,
                                                    sleeps: list[float]) -> None:
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)
    producer.commit_errors = [txn_error()]
    consumer.batches = [[msg("in", 0, 0)]]
    real_keep_alive = lp.keep_alive

    def rebalanced() -> bool:
        lp._rebalanced = True
        return real_keep_alive()

    monkeypatch.setattr(lp, "keep_alive", rebalanced)
    lp.step()
    assert producer.steps.count("begin") == 1
    assert handler.calls == ["prepare", "process", "aborted"]


def test_a_fatal_or_unabortable_transaction_error_ends_the_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for error in (txn_error(fatal=True), txn_error(abortable=False)):
        lp, consumer, producer = loop(monkeypatch, RecordingHandler())
        producer.commit_errors = [error]
        consumer.batches = [[msg("in", 0, 0)]]
        with pytest.raises(TransactionFailed, match="transaction failed"):
            lp.step()


def test_a_handler_error_aborts_the_open_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)

    def broken(batch: list[Message], out: Output) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(handler, "process", broken)
    consumer.batches = [[msg("in", 0, 0)]]
    with pytest.raises(RuntimeError):
        lp.step()
    assert producer.steps == ["begin", "offsets", "abort"]  # the abort waited for the offsets


def test_the_offsets_are_sent_while_the_handler_processes(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The offsets' round trips overlap the batch's work; the commit still waits for them."""
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)
    sending = threading.Event()
    release = threading.Event()

    def slow_offsets() -> None:
        sending.set()
        assert release.wait(5), "the offsets were never released"

    producer.offsets_hook = slow_offsets
    real_process = handler.process

    def process(batch: list[Message], out: Output) -> None:
        assert sending.wait(5), "the offsets were not being sent while the batch was processed"
        real_process(batch, out)
        assert "commit" not in producer.steps
        release.set()

    monkeypatch.setattr(handler, "process", process)
    consumer.batches = [[msg("in", 0, 5)]]
    lp.step()
    assert producer.steps == ["begin", "offsets", "commit"]
    assert [(tp.partition, tp.offset) for tp in producer.offsets_sent[0]] == [(0, 6)]


def test_an_abortable_refusal_while_producing_aborts_and_retries_the_batch(
        monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    """librdkafka refuses every produce once the transaction is abortable: the batch is retried
    whole, not ended by the refusal nor handed to the handler as a bad record."""
    handler = RecordingHandler()
    lp, consumer, producer = loop(monkeypatch, handler)
    producer.produce_errors = [txn_error()]
    producer.produced_before_error = 1
    consumer.batches = [[msg("in", 0, 0), msg("in", 0, 1), msg("in", 0, 2)]]
    lp.step()
    assert producer.steps == ["begin", "offsets", "abort", "begin", "offsets", "commit"]
    assert handler.calls == ["prepare", "process", "aborted", "process", "committed"]
    assert len(producer.produced) == 1 + 3  # one before the refusal, then the whole batch
    assert (lp.aborts, lp.transactions) == (1, 1)


def test_a_fatal_refusal_while_producing_ends_the_process(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    lp, consumer, producer = loop(monkeypatch, RecordingHandler())
    producer.produce_errors = [txn_error(fatal=True)]
    consumer.batches = [[msg("in", 0, 0)]]
    with pytest.raises(KafkaException):
        lp.step()
    assert producer.steps[-1] == "abort"


def test_a_rebalance_during_prepare_drops_the_batch_before_any_transaction(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def wait(batch: list[Message], keep_alive: Any) -> list[Message]:
        lp._assigned(consumer, [TopicPartition("in", 0)])  # as poll() would run it
        return batch

    handler = RecordingHandler(prepare=wait)
    lp, consumer, producer = loop(monkeypatch, handler)
    consumer.batches = [[msg("in", 0, 0)]]
    lp.step()
    assert producer.steps == []
    assert handler.calls == ["prepare", "assign"]


def test_keep_alive_pauses_polls_and_resumes_and_reports_a_rebalance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lp, consumer, _producer = loop(monkeypatch, RecordingHandler())
    consumer.assigned = [TopicPartition("in", 0)]
    assert lp.keep_alive() is True
    assert len(consumer.paused) == 1 and len(consumer.resumed) == 1
    lp._rebalanced = True
    assert lp.keep_alive() is False
    consumer.polled = [msg("in", 0, 0)]
    with pytest.raises(TransactionFailed, match="paused consumer delivered"):
        lp.keep_alive()


def test_fatal_client_and_consumer_errors_end_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    lp, consumer, _producer = loop(monkeypatch, RecordingHandler())
    consumer.batches = [[error_msg(KafkaError._FATAL, fatal=True)]]
    with pytest.raises(TransactionFailed, match="fatal consumer error"):
        lp.step()
    lp._client_error(KafkaError(KafkaError._FATAL, "fenced", fatal=True))
    with pytest.raises(TransactionFailed, match="fatal Kafka client error"):
        lp.step()


def test_an_empty_poll_lets_the_handler_write_outside_any_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    handler = RecordingHandler()
    lp, _consumer, producer = loop(monkeypatch, handler)

    def idle(begin: Callable[[], Output]) -> None:
        out = begin()
        assert begin() is out  # one transaction however often it is asked
        out("state", b"~progress", b"{}")

    monkeypatch.setattr(handler, "idle", idle)
    lp.step()
    assert producer.steps == ["begin", "commit"]  # no input offsets: there was no input
    assert handler.calls == ["committed"]


def test_output_drains_a_full_queue_instead_of_failing() -> None:
    producer = FakeProducer()
    producer.buffer_errors = 2
    out = Output(producer)
    out("t", b"k", b"v", partition=3)
    assert producer.produced == [("t", b"k", b"v", {"partition": 3})]
    assert producer.steps == ["poll", "poll"]
    assert out.count == 1
    producer.buffer_errors = 1  # the send filter's path, without keyword arguments, too
    out("t", b"k2", b"v2")
    assert producer.produced[-1] == ("t", b"k2", b"v2", {})
    assert producer.steps == ["poll", "poll", "poll"]
    assert out.count == 2


def test_lag_goes_to_the_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    lags: list[tuple[str, int]] = []
    lp, consumer, _producer = loop(monkeypatch, RecordingHandler(),
                                   on_lag=lambda t, n: lags.append((t, n)))
    consumer.assigned = [TopicPartition("in", 0)]
    consumer.positions = {("in", 0): 4}
    consumer.watermarks = {("in", 0): (0, 10)}
    lp.step()
    assert lags == [("in", 6)]


def test_partitions_assigned_again_after_a_pause_are_fetched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebalance inside keep_alive revokes what it paused; when the same partitions come
    back, they must be resumed, or the process idles on them for good."""
    handler = RecordingHandler()
    lp, consumer, _producer = loop(monkeypatch, handler)
    back = [TopicPartition("in", 3), TopicPartition("in", 4)]
    lp._assigned(consumer, back)  # type: ignore[arg-type]  # as librdkafka calls it in consume
    consumer.assigned = back  # ... then assigns them
    lp.step()
    assert consumer.resumed == [back]
    lp.step()  # once only, not on every step
    assert consumer.resumed == [back]
    assert handler.calls[0] == "assign"
