"""Where a consumed record sits, and how far a consumer is behind: shared by every Kafka reader.

librdkafka sets topic, partition and offset on every record it delivers without an error; its
types say `None` is possible because the same `Message` class also carries errors and records
being produced. A delivered record without a position is a client bug, raised here rather than
guessed around at every call site.
"""

import time
from collections.abc import Callable, Iterable

from confluent_kafka import Consumer, Message

from schemas.exceptions import ClientContractError

LAG_EVERY_S = 5.0


def position(msg: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a record the consumer delivered without an error."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise ClientContractError(f"a consumed record has no position: topic={topic} "
                                  f"partition={partition} offset={offset}")
    return topic, partition, offset


def next_offsets(msgs: Iterable[Message]) -> dict[tuple[str, int], int]:
    """Per (topic, partition), the offset after the last of these records: where to go on."""
    nxt: dict[tuple[str, int], int] = {}
    for m in msgs:
        topic, partition, offset = position(m)
        nxt[(topic, partition)] = max(nxt.get((topic, partition), 0), offset + 1)
    return nxt


class LagReporter:
    """Records behind per topic, from the client's cached watermarks (no request to the broker),
    reported at most once every `every_s`."""

    def __init__(self, consumer: Consumer, on_lag: Callable[[str, int], None] | None,
                 every_s: float = LAG_EVERY_S) -> None:
        self._consumer = consumer
        self._on_lag = on_lag
        self._every_s = every_s
        self._due = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if self._on_lag is None or now < self._due:
            return
        self._due = now + self._every_s
        behind: dict[str, int] = {}
        for tp in self._consumer.position(self._consumer.assignment()):
            _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset >= 0 and high >= 0:
                behind[tp.topic] = behind.get(tp.topic, 0) + max(0, high - tp.offset)
        for topic, n in behind.items():
            self._on_lag(topic, n)
