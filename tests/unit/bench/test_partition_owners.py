"""Which filter decided what: partitions read from the filters' group, or no figure."""
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from bench import throughput
from streams.settings import StreamSettings


class _Done:
    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def _bench() -> Any:
    return SimpleNamespace(settings=StreamSettings(), notes=[])


def _admin(answer: _Done) -> type:
    class Admin:
        def __init__(self, conf: dict[str, Any]) -> None:
            pass

        def describe_consumer_groups(self, groups: list[str], **kw: Any) -> dict[str, _Done]:
            return {g: answer for g in groups}
    return Admin


def test_each_partition_is_credited_to_its_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench()
    topic = bench.settings.topic("mail-requests")

    def member(mid: str, parts: list[int]) -> SimpleNamespace:
        tps = [TopicPartition(topic, p) for p in parts] + [TopicPartition("other", 9)]
        return SimpleNamespace(member_id=mid, assignment=SimpleNamespace(topic_partitions=tps))

    described = SimpleNamespace(members=[member("b", [3, 4, 5]), member("a", [0, 1, 2])])
    monkeypatch.setattr(throughput, "AdminClient", _admin(_Done(described)))
    assert throughput.partition_owners(bench, "g") == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}


def test_a_group_that_cannot_be_described_gives_no_owners_and_a_note(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench()
    failed = _Done(error=KafkaException(KafkaError(KafkaError._TIMED_OUT)))
    monkeypatch.setattr(throughput, "AdminClient", _admin(failed))
    assert throughput.partition_owners(bench, "g") == {}
    assert bench.notes and "could not describe" in bench.notes[0]
