"""Stand-ins for confluent-kafka's Message, Consumer and Producer in unit tests (no broker).

They do only what the code under test asks of them, and record what it did, so a test can
assert on positions, seeks, pauses and transactions without a server.
"""

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition


class FakeMessage:
    def __init__(self, topic: str | None, partition: int | None, offset: int | None,
                 key: bytes | None = None, value: bytes | None = None,
                 error: KafkaError | None = None, timestamp: tuple[int, int] = (0, 0)) -> None:
        self._topic, self._partition, self._offset = topic, partition, offset
        self._key, self._value, self._error, self._timestamp = key, value, error, timestamp

    def topic(self) -> str | None:
        return self._topic

    def partition(self) -> int | None:
        return self._partition

    def offset(self) -> int | None:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def error(self) -> KafkaError | None:
        return self._error

    def timestamp(self) -> tuple[int, int]:
        return self._timestamp


def msg(topic: str, partition: int, offset: int, value: bytes | None = b"{}",
        key: bytes | None = b"k") -> Any:
    """A record as the consumer delivers it (typed Any: it stands in for `Message`)."""
    return FakeMessage(topic, partition, offset, key=key, value=value)


def error_msg(code: int, *, fatal: bool = False, topic: str = "t") -> Any:
    return FakeMessage(topic, 0, None, error=KafkaError(code, "test", fatal=fatal))


class FakeConsumer:
    """Hands out queued batches; positions and watermarks are set by the test."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config or {}
        self.batches: list[list[Any]] = []
        self.assigned: list[TopicPartition] = []
        self.positions: dict[tuple[str, int], int] = {}
        self.watermarks: dict[tuple[str, int], tuple[int, int]] = {}
        self.seeks: list[tuple[str, int, int]] = []
        self.paused: list[list[TopicPartition]] = []
        self.resumed: list[list[TopicPartition]] = []
        self.polled: list[Any] = []
        self.closed = False

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        return self.batches.pop(0) if self.batches else []

    def poll(self, timeout: float = -1) -> Any:
        return self.polled.pop(0) if self.polled else None

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = list(tps)

    def assignment(self) -> list[TopicPartition]:
        return list(self.assigned)

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition),
                                                                            -1001))
                for tp in tps]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False
                              ) -> tuple[int, int]:
        assert cached, "lag must come from the cached watermarks, not a request"
        return self.watermarks.get((tp.topic, tp.partition), (-1001, -1001))

    def pause(self, tps: list[TopicPartition]) -> None:
        self.paused.append(list(tps))

    def resume(self, tps: list[TopicPartition]) -> None:
        self.resumed.append(list(tps))

    def subscribe(self, topics: list[str], **callbacks: Callable[..., None]) -> None:
        self.subscribed = (topics, callbacks)

    def commit(self, **kw: Any) -> None:
        pass

    def consumer_group_metadata(self) -> str:
        return "group-metadata"

    def close(self) -> None:
        self.closed = True


def txn_error(*, abortable: bool = True, fatal: bool = False) -> KafkaException:
    """What the producer raises when the broker refuses a transaction."""
    return KafkaException(KafkaError(KafkaError._FENCED if fatal else KafkaError._STATE, "test",
                                     fatal=fatal, txn_requires_abort=abortable))


class FakeProducer:
    """Records produce calls and transaction steps; `commit_errors` are raised in turn."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config or {}
        self.produced: list[tuple[str, bytes | None, bytes | None, dict[str, Any]]] = []
        self.steps: list[str] = []
        self.commit_errors: list[KafkaException] = []
        self.buffer_errors = 0
        self.produce_errors: list[KafkaException] = []  # raised in turn, once produced_before
        self.produced_before_error = 0
        self.offsets_sent: list[list[TopicPartition]] = []
        self.offsets_hook: Callable[[], None] | None = None

    def produce(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                **kw: Any) -> None:
        if self.buffer_errors:
            self.buffer_errors -= 1
            raise BufferError("queue full")
        if self.produce_errors and len(self.produced) >= self.produced_before_error:
            raise self.produce_errors.pop(0)
        self.produced.append((topic, key, value, kw))

    def poll(self, timeout: float = 0) -> int:
        self.steps.append("poll")
        return 0

    def begin_transaction(self) -> None:
        self.steps.append("begin")

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], metadata: Any,
                                    timeout: float) -> None:
        if self.offsets_hook is not None:
            self.offsets_hook()
        self.steps.append("offsets")
        self.offsets_sent.append(offsets)

    def commit_transaction(self, timeout: float) -> None:
        if self.commit_errors:
            self.steps.append("commit-refused")
            raise self.commit_errors.pop(0)
        self.steps.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.steps.append("abort")

    def init_transactions(self, timeout: float) -> None:
        self.steps.append("init")

    def flush(self, timeout: float = 0) -> int:
        return 0
