"""The sink phase waits for the last readable record of each partition, not its end offset."""

from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition

from bench import postgres_sink
from tests.unit.kafka_fakes import FakeMessage


class TailConsumer:
    """Watermarks per partition and the records a read_committed reader gets from its tail."""

    def __init__(self, watermarks: dict[tuple[str, int], tuple[int, int]],
                 records: dict[tuple[str, int], list[int]]) -> None:
        self.watermarks, self.records = watermarks, records
        self.assigned: list[TopicPartition] = []
        self.served = False

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float = -1) -> tuple[int, int]:
        return self.watermarks.get((tp.topic, tp.partition), (0, 0))

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = list(tps)

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        if self.served:
            return []
        self.served = True
        out: list[Any] = []
        for tp in self.assigned:
            key = (tp.topic, tp.partition)
            out += [FakeMessage(tp.topic, tp.partition, o) for o in self.records.get(key, [])
                    if o >= tp.offset]
            end = self.watermarks[key][1]
            out.append(FakeMessage(tp.topic, tp.partition, end,
                                   error=KafkaError(KafkaError._PARTITION_EOF)))
        return out

    def close(self) -> None:
        pass


class Settings:
    partitions = 2

    def to_librdkafka(self, **kw: Any) -> dict[str, Any]:
        return kw


class FakeBench:
    settings = Settings()


def test_a_trailing_commit_marker_is_not_a_record_to_wait_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = TailConsumer(
        watermarks={("ledger", 0): (0, 12), ("ledger", 1): (0, 0), ("plain", 0): (0, 5),
                    ("plain", 1): (0, 300)},
        # ledger/0: records 0-10, then the commit marker at 11; plain/0: no transactions;
        # plain/1: the last 100 records are aborted ones, nothing readable in the tail
        records={("ledger", 0): list(range(11)), ("plain", 0): list(range(5))})
    monkeypatch.setattr(postgres_sink, "Consumer", lambda config: consumer)
    ends = postgres_sink.readable_ends(FakeBench(), ["ledger", "plain"])  # type: ignore[arg-type]
    assert ends == {("ledger", 0): 11, ("ledger", 1): 0, ("plain", 0): 5, ("plain", 1): 300}
    assert {(tp.topic, tp.partition): tp.offset for tp in consumer.assigned} == {
        ("ledger", 0): 0, ("plain", 0): 0, ("plain", 1): 200}
