"""Consuming from Kafka into PostgreSQL with the position in the same transaction.

Kafka's own committed offsets are only a hint here: the `kafka_positions` row written with the
data is the truth, and on assignment we seek to it. A crash anywhere therefore either loses the
whole batch (re-read) or keeps it with its position (skipped on re-read), never half.

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
from types import FrameType
from typing import TypeVar

import psycopg
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from sinks.exceptions import DatabaseError, SinkError
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks")

BatchHandler = Callable[[psycopg.Connection, list[Message]], None]
Connect = Callable[[], psycopg.Connection]
T = TypeVar("T")


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
                 on_lag: Callable[[str, int], None] | None = None) -> None:
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
        self._on_lag = on_lag
        self._lag_due = 0.0

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
        stored = self._with_retry(lambda: self._positions())
        for tp in tps:
            if (tp.topic, tp.partition) in stored:
                tp.offset = stored[(tp.topic, tp.partition)]
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
            fresh = [m for m in msgs if m.offset() >= seen.get((m.topic(), m.partition()), 0)]
            if fresh:
                handler(self.conn, fresh)
                nxt: dict[tuple[str, int], int] = {}
                for m in fresh:
                    tp = (m.topic(), m.partition())
                    nxt[tp] = max(nxt.get(tp, 0), m.offset() + 1)
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

    def report_lag(self) -> None:
        """Records behind per topic, from the client's cached watermarks (no request)."""
        now = time.monotonic()
        if self._on_lag is None or now < self._lag_due:
            return
        self._lag_due = now + 5.0
        behind: dict[str, int] = {}
        for tp in self.consumer.position(self.consumer.assignment()):
            _low, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                behind[tp.topic] = behind.get(tp.topic, 0) + max(0, high - tp.offset)
        for topic, n in behind.items():
            self._on_lag(topic, n)

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

    def subscribe(self) -> None:
        self.consumer.subscribe(self.topics, on_assign=self.on_assign)

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

    def close(self) -> None:
        try:
            self.consumer.close()
        finally:
            self.conn.close()
