"""Phase 2, the ceiling: a bare confluent-kafka consume→produce loop over the same backlog."""

import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from bench.constants import DECIDE_TIMEOUT_S, PASSTHROUGH_TOPIC
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second
from schemas.topics import MAIL_REQUESTS


def passthrough_run(bench: Bench, phase: str, start: dict[int, int]) -> dict[str, Any]:
    """The ceiling: consume the same records and produce each unchanged, nothing else.

    Same producer settings as the project's producers (acks=all, idempotent, lz4), offsets
    committed once a second like the worker (`broker_commit_interval`).
    """
    s = bench.settings
    consumer = Consumer(s.to_librdkafka(**{
        "group.id": f"{s.topic_prefix}passthrough-{phase}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest"}))
    consumer.assign([TopicPartition(s.topic(MAIL_REQUESTS), p, o) for p, o in start.items()])
    producer = Producer(s.producer_config())
    out = s.topic(PASSTHROUGH_TOPIC)
    stamps: list[int] = []
    errors: list[str] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(str(err))
        else:
            stamps.append(msg.timestamp()[1])

    consumed = 0
    t_start = time.time()
    last_commit = t_start
    deadline = time.monotonic() + DECIDE_TIMEOUT_S
    try:
        while consumed < bench.requests:
            if time.monotonic() > deadline:
                raise BenchError(f"pass-through read only {consumed} of {bench.requests}")
            for m in consumer.consume(500, 1.0):
                if m.error() is not None:
                    continue
                while True:
                    try:
                        producer.produce(out, key=m.key(), value=m.value(),
                                         on_delivery=delivered)
                        break
                    except BufferError:
                        producer.poll(0.05)
                consumed += 1
            producer.poll(0)
            if time.time() - last_commit >= 1.0:
                consumer.commit(asynchronous=True)
                last_commit = time.time()
        if producer.flush(120):
            raise BenchError("pass-through producer did not get every ack")
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    t_end = time.time()
    if errors:
        raise BenchError(f"pass-through: {len(errors)} produce errors, first: {errors[0]}")
    first, last = min(stamps) / 1000, max(stamps) / 1000
    return {
        "phase": phase,
        "records": len(stamps),
        "records_per_s": figure(per_second(len(stamps), last - first)),
        "first_to_last_s": round(last - first, 3),
        "records_per_s_incl_startup": figure(per_second(len(stamps), t_end - t_start)),
    }
