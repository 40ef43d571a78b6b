"""Consuming from Kafka into PostgreSQL with the position in the same transaction.

Kafka's own committed offsets are only a hint here: the `kafka_positions` row written with the
data is the truth, and on assignment we seek to it. A crash anywhere therefore either loses the
whole batch (re-read) or keeps it with its position (skipped on re-read), never half.
"""

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import psycopg
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks")

BatchHandler = Callable[[psycopg.Connection, list[Message]], None]


def install_stop_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


class TrackedConsumer:
    def __init__(self, settings: SinkSettings, name: str, topics: list[str],
                 conn: psycopg.Connection) -> None:
        self.name = name
        self.conn = conn
        self.batch = settings.sink_batch
        self.consumer = Consumer(settings.consumer_config(name))
        self.topics = [settings.topic(t) for t in topics]
        self.consumed = 0

    def _on_assign(self, consumer: Consumer, tps: list[TopicPartition]) -> None:
        stored = self._positions()
        self.conn.commit()
        for tp in tps:
            if (tp.topic, tp.partition) in stored:
                tp.offset = stored[(tp.topic, tp.partition)]
        consumer.assign(tps)

    def _positions(self) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM kafka_positions WHERE consumer = %s",
            (self.name,))
        return {(t, p): o for t, p, o in rows}

    def process(self, msgs: list[Message], handler: BatchHandler) -> int:
        """Apply one batch in one transaction; return how many messages were new."""
        with self.conn.transaction():
            seen = self._positions()
            fresh = [m for m in msgs if m.offset() >= seen.get((m.topic(), m.partition()), 0)]
            if fresh:
                handler(self.conn, fresh)
                nxt: dict[tuple[str, int], int] = {}
                for m in fresh:
                    nxt[(m.topic(), m.partition())] = max(nxt.get((m.topic(), m.partition()), 0),
                                                         m.offset() + 1)
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO kafka_positions (consumer, topic, partition, next_offset) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (consumer, topic, partition) "
                        "DO UPDATE SET next_offset = GREATEST(kafka_positions.next_offset, "
                        "EXCLUDED.next_offset)",
                        [(self.name, t, p, o) for (t, p), o in nxt.items()])
        return len(fresh)

    def poll_batch(self, timeout: float = 0.5) -> list[Message]:
        msgs = self.consumer.consume(self.batch, timeout=timeout)
        good = []
        for m in msgs:
            err = m.error()
            if err is None:
                good.append(m)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error on %s: %s", m.topic(), err)
        return good

    def run(self, handler: BatchHandler, stop: threading.Event) -> None:
        self.consumer.subscribe(self.topics, on_assign=self._on_assign)
        try:
            while not stop.is_set():
                msgs = self.poll_batch()
                if not msgs:
                    continue
                self.consumed += self.process(msgs, handler)
                self.consumer.commit(asynchronous=True)
        finally:
            self.consumer.close()
