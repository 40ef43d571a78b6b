"""The consume-transform-produce loop both stream processors run, inside Kafka transactions.

Why transactions (and not faust-streaming's at-least-once with idempotent effects): a worker
evicted from its group while still working (a long pause, a broker failover) could otherwise
publish a stale consent state after its successor published a newer one, and a crash between
output and commit used to leave a request decided twice with different outcomes. Here every
batch's outputs and its input offsets commit atomically (`send_offsets_to_transaction`, KIP-447),
and a process that lost its partitions is fenced by the group generation: its transaction
aborts and nothing it wrote becomes visible to `read_committed` readers.

The order of one iteration, which is what makes it safe:
1. consume a batch (rebalance callbacks run only here or in `keep_alive`, never inside a
   transaction);
2. `prepare` (the send filter waits for consent input here; it calls `keep_alive` so the
   group keeps us, and a rebalance during the wait drops the whole batch: it is re-read from
   the committed offsets);
3. begin, `process` (produce outputs) while a helper thread sends the batch's offsets to the
   same transaction, commit once both are done;
4. `committed` (the agent writes its local state store only now).

Error sites: a record the handler cannot read or process is the handler's (dead letter, go
on); a transaction the broker refuses is aborted, the batch re-read and retried with backoff;
a fatal or fencing error, or retries exhausted, raises `TransactionFailed` and the process
exits for its supervisor to restart it.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from consent_table.barrier import KeepAlive
from schemas.positions import LagReporter, next_offsets
from schemas.settings import ClientSettings
from streams.exceptions import TransactionFailed

log = logging.getLogger("consent.streams.processor")


RETRY_DELAYS_S = (0.1, 0.5, 1.0, 2.0, 5.0)
STEPS = ("prepare", "process", "offsets", "commit")
"""The steps of a batch that `on_step` times, in order. `offsets` is what is left of sending
the offsets once `process` is done (they are sent alongside it)."""


class Output:
    """Produce within the current transaction; a full local queue is drained, not an error.

    A transaction that turned abortable while the handler was producing (librdkafka then refuses
    every produce) is noted in `failed`, and the rest of the batch's outputs are dropped: the
    loop aborts and retries the batch, as for a refused commit, instead of the handler taking
    the refusal for a bad record.
    """

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self.count = 0
        self.failed: KafkaException | None = None

    def __call__(self, topic: str, key: bytes | None, value: bytes | None,
                 partition: int | None = None,
                 on_delivery: Callable[[KafkaError | None, Message], None] | None = None
                 ) -> None:
        if self.failed is not None:
            return
        # the send filter's path (one produce per request) passes no keyword arguments
        kw: dict[str, Any] | None = None
        if partition is not None or on_delivery is not None:
            kw = {"on_delivery": on_delivery} if on_delivery is not None else {}
            if partition is not None:
                kw["partition"] = partition
        while True:
            try:
                if kw is None:
                    self._producer.produce(topic, value, key)
                else:
                    self._producer.produce(topic, value=value, key=key, **kw)
                break
            except BufferError:
                self._producer.poll(0.01)
            except KafkaException as exc:
                err: KafkaError = exc.args[0]
                if err.fatal() or not err.txn_requires_abort():
                    raise
                self.failed = exc
                return
        self.count += 1


class Handler(Protocol):
    def on_assign(self, partitions: list[TopicPartition]) -> None: ...
    def on_revoke(self, partitions: list[TopicPartition]) -> None: ...
    def prepare(self, batch: list[Message], keep_alive: KeepAlive) -> list[Message]: ...
    def process(self, batch: list[Message], out: Output) -> None: ...
    def committed(self) -> None: ...
    def aborted(self) -> None: ...
    def idle(self, begin: Callable[[], Output]) -> None: ...


class TransactionalLoop:
    """One consumer in a group, one transactional producer, one handler."""

    def __init__(self, settings: ClientSettings, *, group: str, topics: list[str],
                 handler: Handler, name: str, process_id: str,
                 on_transaction: Callable[[float], None] | None = None,
                 on_step: Callable[[str, float], None] | None = None,
                 on_lag: Callable[[str, int], None] | None = None,
                 transaction_timeout_s: float = 15.0, batch_size: int = 2000,
                 batch_timeout_s: float = 0.005, consumer_extra: dict[str, Any] | None = None,
                 producer_extra: dict[str, Any] | None = None) -> None:
        self.name = name
        self.handler = handler
        self.topics = topics
        self.batch_size = batch_size
        self.batch_timeout_s = batch_timeout_s
        self.consumer = Consumer(settings.consumer_config(group, **{
            "partition.assignment.strategy": "range",  # co-partitioned topics stay together
            "enable.partition.eof": False,
            "fetch.wait.max.ms": 10,
            "error_cb": self._client_error,
            **(consumer_extra or {})}))
        self.producer = Producer(settings.producer_config(**{
            "transactional.id": f"{group}-{process_id}",
            "transaction.timeout.ms": int(transaction_timeout_s * 1000),
            # inside a transaction linger costs no latency (the commit flushes at once), and
            # sending each partition's outputs as one request at commit time instead of many
            # small ones cut the broker's CPU per decision by a quarter (bench, 2 cores)
            "linger.ms": 1000,
            # a transaction begun right after the last commit is often answered "concurrent
            # transactions" while the broker still writes the last one's markers; librdkafka
            # retried after its default 100 ms, which put 100-125 ms stalls in
            # send_offsets_to_transaction for both processors (the opt-out p99). The Java client
            # retries these after 20 ms; later retries still back off exponentially.
            "retry.backoff.ms": 10,
            "queue.buffering.max.messages": 200_000,
            "error_cb": self._client_error,
            **(producer_extra or {})}))
        self._rebalanced = False
        self._resume_pending = False
        self._fatal: KafkaError | None = None
        self._on_transaction = on_transaction
        self._on_step = on_step
        self._report_lag = LagReporter(self.consumer, on_lag)
        self._offsets_sender = ThreadPoolExecutor(max_workers=1,
                                                  thread_name_prefix=f"{name}-offsets")
        self.transactions = 0
        self.aborts = 0

    # ----------------------------------------------------------------------- client plumbing

    def _client_error(self, err: KafkaError) -> None:
        """librdkafka retries transient errors itself; a fatal one ends the process."""
        if err.fatal():
            self._fatal = err
            log.critical("%s: fatal Kafka client error: %s", self.name, err)
        else:
            log.warning("%s: Kafka client error: %s", self.name, err)

    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise TransactionFailed(f"{self.name}: fatal Kafka client error: {self._fatal}")

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalanced = True
        self._resume_pending = True
        self.handler.on_assign(partitions)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalanced = True
        self.handler.on_revoke(partitions)

    def _resume_assigned(self) -> None:
        """After an assignment, resume what it gave us. librdkafka keeps a partition's pause
        flag across a revoke and a re-assignment, so one paused by `keep_alive` when the
        rebalance took it came back paused and was never fetched again (the bench's two
        filters sat on half the requests for good). Resuming needs the partitions assigned,
        which they are only after the callback, hence here and not in it."""
        if not self._resume_pending:
            return
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.resume(assignment)
        self._resume_pending = False

    def keep_alive(self) -> bool:
        """Serve the group while the handler waits: pause fetching, poll, resume.

        Returns False when a rebalance happened meanwhile: the held batch may belong to
        partitions we no longer own (or will be re-delivered), so it must be dropped.
        """
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        msg = self.consumer.poll(0)
        if msg is not None and msg.error() is None:  # cannot happen while paused
            raise TransactionFailed(f"{self.name}: a paused consumer delivered a message")
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.resume(assignment)
        self._check_fatal()
        return not self._rebalanced

    # ---------------------------------------------------------------------------- the loop

    def run(self, stop: threading.Event) -> None:
        self.producer.init_transactions(30)
        self.consumer.subscribe(self.topics, on_assign=self._assigned, on_revoke=self._revoked,
                                on_lost=self._revoked)
        try:
            while not stop.is_set():
                self.step()
        finally:
            self.close()

    def step(self) -> None:
        """One iteration: consume, prepare, transact. Public so tests can drive it."""
        self._rebalanced = False
        msgs = self.consumer.consume(self.batch_size, timeout=self.batch_timeout_s)
        self._check_fatal()
        self._resume_assigned()
        batch = [m for m in msgs if self._usable(m)]
        self._report_lag()
        if not batch:
            self._idle()
            return
        self._rebalanced = False
        began = time.monotonic()
        batch = self.handler.prepare(batch, self.keep_alive)
        self._step("prepare", began)
        if self._rebalanced:
            log.info("%s: rebalance during the wait; the batch will be re-read", self.name)
            return
        if batch:
            self._transact(batch)

    def _step(self, step: str, began: float) -> None:
        """Time one step of a batch: prepare (the send filter's barrier), process, offsets,
        commit. Why: the opt-out p99 is made of these tails, and the total per transaction
        did not say which one grew (issue 7)."""
        if self._on_step is not None:
            self._on_step(step, time.monotonic() - began)

    def _usable(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.fatal():
            raise TransactionFailed(f"{self.name}: fatal consumer error: {err}")
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer error: %s", self.name, err)
        return False

    def _idle(self) -> None:
        """Let the handler write outside any input batch (the agent's first progress markers)."""
        out: Output | None = None

        def begin() -> Output:
            nonlocal out
            if out is None:
                self.producer.begin_transaction()
                out = Output(self.producer)
            return out

        self.handler.idle(begin)
        if out is not None and not self._commit_or_abort(None, out):
            self.handler.aborted()

    def _transact(self, batch: list[Message]) -> None:
        for attempt in range(len(RETRY_DELAYS_S) + 1):
            began = time.monotonic()
            self.producer.begin_transaction()
            out = Output(self.producer)
            offsets = self._send_offsets(batch)
            try:
                self.handler.process(batch, out)
            except BaseException:
                wait([offsets])  # no two transactional calls at once: the abort waits for it
                self._abort_quietly()
                raise
            self._step("process", began)
            if self._commit_or_abort(offsets, out):
                took = time.monotonic() - began
                if self._on_transaction is not None:
                    self._on_transaction(took)
                log.debug("%s: committed %d records in, %d out in %.1f ms", self.name,
                          len(batch), out.count, took * 1000)
                return
            self.handler.aborted()
            if attempt == len(RETRY_DELAYS_S):
                break
            time.sleep(RETRY_DELAYS_S[attempt])
            if not self.keep_alive():
                # fenced or rebalanced: the batch is re-read from the committed offsets by
                # whoever owns its partitions now
                log.warning("%s: transaction aborted and the group rebalanced; batch dropped",
                            self.name)
                return
            log.warning("%s: transaction aborted; retrying the batch", self.name)
        raise TransactionFailed(f"{self.name}: the broker refused {len(RETRY_DELAYS_S) + 1} "
                                "transactions in a row")

    def _send_offsets(self, batch: list[Message]) -> "Future[None]":
        """Add the batch's next offsets to the open transaction on a helper thread.

        Why: the two round trips this takes (to the transaction and group coordinators) cost
        4.6-7.6 ms a batch of 5,000 under load, a twelfth of the send filter's time, spent
        waiting while the handler could work (issue 7). The offsets belong to the open
        transaction whenever they are sent, and the commit (or an abort) waits for them, so
        what commits together is unchanged. librdkafka's producer is thread-safe; only the
        transactional calls must not overlap, and they do not.
        """
        return self._offsets_sender.submit(
            self.producer.send_offsets_to_transaction, _next_offsets(batch),
            self.consumer.consumer_group_metadata(), 30)

    def _commit_or_abort(self, offsets: "Future[None] | None", out: Output) -> bool:
        """Commit outputs and offsets together. False when aborted (the caller may retry)."""
        try:
            began = time.monotonic()
            if offsets is not None:
                offsets.result()
                self._step("offsets", began)
            if out.failed is not None:
                raise out.failed
            began = time.monotonic()
            self.producer.commit_transaction(60)
            self._step("commit", began)
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if err.fatal() or not err.txn_requires_abort():
                raise TransactionFailed(f"{self.name}: transaction failed: {err}") from exc
            self._abort_quietly()
            self.aborts += 1
            return False
        self.transactions += 1
        self.handler.committed()
        return True

    def _abort_quietly(self) -> None:
        try:
            self.producer.abort_transaction(30)
        except KafkaException as exc:
            raise TransactionFailed(f"{self.name}: could not abort: {exc.args[0]}") from exc

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self._offsets_sender.shutdown(wait=True)
            self.producer.flush(10)


def _next_offsets(batch: list[Message]) -> list[TopicPartition]:
    return [TopicPartition(t, p, o) for (t, p), o in next_offsets(batch).items()]
