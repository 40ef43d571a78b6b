"""Consuming from Kafka into PostgreSQL with the position in the same transaction.

Kafka's own committed offsets are only a hint here: the `kafka_positions` row written with the
data is the truth, and on assignment we seek to it. A crash anywhere therefore either loses the
whole batch (re-read) or keeps it with its position (skipped on re-read), never half. Where no
row exists, each consumer says where to start (`unstored`): the PostgreSQL sink from the
beginning (its writes are idempotent, and an empty schema means nothing is stored), the mailer
from the group's committed offset (an empty `mail_sends` must not mean "mail the outbox again").

Error sites (README, "Guarantees"): a record the handler cannot use is the handler's to record
as a failure; PostgreSQL unreachable or the connection lost is retried with backoff on a fresh
connection for `db_retry_s`, then raises `DatabaseError` so the process exits for its
supervisor; a fatal Kafka error raises at once: a sink must never look alive while doing nothing.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import FrameType
from typing import TypeVar

import psycopg
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, Message, TopicPartition

from schemas.positions import LagReporter, next_offsets, position
from sinks.exceptions import DatabaseError, SinkError
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks")

BatchHandler = Callable[[psycopg.Connection, list[Message]], None]
Connect = Callable[[], psycopg.Connection]
T = TypeVar("T")
P = TypeVar("P")


def install_stop_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


class TrackedConsumer:
    def __init__(self, settings: SinkSettings, name: str, topics: list[str],
                 connect: Connect, on_connect: Callable[[psycopg.Connection], None] | None = None,
                 on_assigned: Callable[[list[TopicPartition]], None] | None = None,
                 on_lag: Callable[[str, int], None] | None = None,
                 unstored: int = OFFSET_INVALID) -> None:
        """`unstored`: where a partition with no stored position starts. The default follows
        the group's committed offset (a hint); OFFSET_BEGINNING re-reads the partition, for a
        sink whose writes are idempotent and whose database may have been rebuilt empty."""
        self.name = name
        self._connect = connect
        self._on_connect = on_connect
        self.conn = self._fresh_connection()
        self.batch = settings.sink_batch
        self.retry_s = settings.db_retry_s
        self.consumer = Consumer(settings.consumer_config(settings.group_id(name),
                                                          **{"error_cb": self._error}))
        self.topics = [settings.topic(t) for t in topics]
        self.consumed = 0
        self._fatal: KafkaError | None = None
        self._on_assigned = on_assigned
        self._unstored = unstored
        self._rebalanced = False
        self.report_lag = LagReporter(self.consumer, on_lag)

    def _fresh_connection(self) -> psycopg.Connection:
        conn = self._connect()
        if self._on_connect is not None:
            self._on_connect(conn)
        return conn

    def _error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        log.warning("%s: Kafka client error: %s", self.name, err)

    def on_assign(self, consumer: Consumer, tps: list[TopicPartition]) -> None:
        self._rebalanced = True
        stored = self._with_retry(lambda: self._positions())
        for tp in tps:
            tp.offset = stored.get((tp.topic, tp.partition), self._unstored)
        consumer.assign(tps)
        if self._on_assigned is not None:
            self._on_assigned(tps)

    def _positions(self) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM kafka_positions WHERE consumer = %s",
            (self.name,)).fetchall()
        self.conn.commit()
        return {(t, p): o for t, p, o in rows}

    def _with_retry(self, work: Callable[[], T]) -> T:
        """Run `work`; on a lost or refused connection, reconnect with backoff, then give up."""
        deadline = time.monotonic() + self.retry_s
        delay = 0.2
        while True:
            try:
                return work()
            except psycopg.OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise DatabaseError(f"{self.name}: PostgreSQL unavailable for "
                                        f"{self.retry_s:.0f}s ({exc.sqlstate or 'no answer'})"
                                        ) from exc
                log.warning("%s: PostgreSQL unavailable (%s); retrying in %.1fs", self.name,
                            exc.sqlstate or type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(5.0, delay * 2)
                try:
                    self.conn.close()
                    self.conn = self._fresh_connection()
                except (psycopg.OperationalError, DatabaseError):
                    pass  # still down: the next attempt fails and waits again

    def process(self, msgs: list[Message], handler: BatchHandler) -> int:
        """Apply one batch in one transaction (retried on connection loss); return new count."""
        return self._with_retry(lambda: self._process_once(msgs, handler))

    def _process_once(self, msgs: list[Message], handler: BatchHandler) -> int:
        with self.conn.transaction():
            seen = self._positions_in_tx()
            fresh = [m for m in msgs if _is_new(m, seen)]
            if fresh:
                handler(self.conn, fresh)
                nxt = next_offsets(fresh)
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO kafka_positions (consumer, topic, partition, next_offset) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition) "
                        "DO UPDATE SET next_offset = GREATEST(kafka_positions.next_offset, "
                        "EXCLUDED.next_offset)",
                        [(self.name, t, p, o) for (t, p), o in nxt.items()])
        return len(fresh)

    def _positions_in_tx(self) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM kafka_positions WHERE consumer = %s",
            (self.name,)).fetchall()
        return {(t, p): o for t, p, o in rows}

    def poll_batch(self, timeout: float = 0.5) -> list[Message]:
        msgs = self.consumer.consume(self.batch, timeout=timeout)
        self.report_lag()
        if self._fatal is not None:
            raise SinkError(f"{self.name}: fatal Kafka error: {self._fatal}")
        good = []
        for m in msgs:
            err = m.error()
            if err is None:
                good.append(m)
            elif err.fatal():
                raise SinkError(f"{self.name}: fatal Kafka error: {err}")
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("%s: consumer error on %s: %s", self.name, m.topic(), err)
        return good

    def on_revoke(self, _consumer: Consumer, _tps: list[TopicPartition]) -> None:
        self._rebalanced = True

    def subscribe(self) -> None:
        self.consumer.subscribe(self.topics, on_assign=self.on_assign, on_revoke=self.on_revoke,
                                on_lost=self.on_revoke)

    def run(self, handler: BatchHandler, stop: threading.Event) -> None:
        self.subscribe()
        try:
            while not stop.is_set():
                msgs = self.poll_batch()
                if not msgs:
                    continue
                self.consumed += self.process(msgs, handler)
                self.consumer.commit(asynchronous=True)
        finally:
            self.close()

    def run_pipelined(self, prepare: Callable[[list[Message]], P],
                      write: Callable[[psycopg.Connection, list[Message], P], None],
                      stop: threading.Event) -> None:
        """`run`, with each batch prepared (parsed, encoded) on a worker thread while the batch
        before it is written.

        Why: a sink catching up spent about half its time waiting for PostgreSQL and the other
        half in Python parsing the next records; the wait releases the GIL, so the two overlap.
        What keeps it exact: a batch is written in the same transaction as its positions, as
        in `run`; if some of its records were already stored (a replay), the rest is prepared
        again, so nothing is applied twice; and a batch polled before a rebalance is dropped
        unwritten, because the partitions may be someone else's now and the assignment seeks
        every partition back to its stored position anyway.
        """
        self.subscribe()
        pool = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-prepare")
        pending: tuple[list[Message], Future[P]] | None = None
        try:
            while True:
                msgs: list[Message] = []
                if not stop.is_set():
                    self._rebalanced = False
                    # with a batch in hand, take only what is already fetched: it must not wait
                    msgs = self.poll_batch(0 if pending is not None else 0.5)
                    if self._rebalanced and pending is not None:
                        log.info("%s: rebalanced; a prepared batch is dropped and re-read",
                                 self.name)
                        pending[1].result()  # let the worker finish before anything else
                        pending = None
                following = (msgs, pool.submit(prepare, msgs)) if msgs else None
                if pending is not None:
                    self._write_prepared(pending[0], pending[1].result(), prepare, write)
                pending = following
                if pending is None and stop.is_set():
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self.close()

    def _write_prepared(self, batch: list[Message], prepared: P,
                        prepare: Callable[[list[Message]], P],
                        write: Callable[[psycopg.Connection, list[Message], P], None]) -> None:
        def handler(conn: psycopg.Connection, fresh: list[Message]) -> None:
            # `fresh` keeps the batch's order, so the same length means the same records
            write(conn, fresh, prepared if len(fresh) == len(batch) else prepare(fresh))

        self.consumed += self.process(batch, handler)
        self.consumer.commit(offsets=[TopicPartition(t, p, o)
                                      for (t, p), o in next_offsets(batch).items()],
                             asynchronous=True)

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.conn.close()


def _is_new(msg: Message, seen: dict[tuple[str, int], int]) -> bool:
    """Not yet applied: at or past the position stored for its partition."""
    topic, partition, offset = position(msg)
    return offset >= seen.get((topic, partition), 0)
