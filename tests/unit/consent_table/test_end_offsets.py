"""End offsets of the consent inputs: read_committed, one request, retried through elections."""

from typing import Any

import pytest
from confluent_kafka import IsolationLevel, KafkaError, KafkaException, TopicPartition

from consent_table import end_offsets as module
from consent_table.end_offsets import EndOffsets
from consent_table.exceptions import EndOffsetsUnavailable
from schemas.settings import ClientSettings


class Done:
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def result(self) -> "Done":
        return self


class StandInAdmin:
    """Answers list_offsets with `end + partition`, after `failures` refusals."""

    instances: list["StandInAdmin"] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self.failures = 0
        self.calls: list[dict[str, Any]] = []
        StandInAdmin.instances.append(self)

    def list_offsets(self, request: dict[TopicPartition, Any], **kw: Any
                     ) -> dict[TopicPartition, Done]:
        self.calls.append(kw)
        if self.failures:
            self.failures -= 1
            raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION, "election"))
        return {tp: Done(100 + tp.partition) for tp in request}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(module.time, "sleep", slept.append)
    return slept


@pytest.fixture
def ends(monkeypatch: pytest.MonkeyPatch) -> tuple[EndOffsets, StandInAdmin]:
    StandInAdmin.instances = []
    monkeypatch.setattr(module, "AdminClient", StandInAdmin)
    made = EndOffsets(ClientSettings())
    return made, StandInAdmin.instances[0]


def test_one_read_committed_request_for_every_partition(
        ends: tuple[EndOffsets, StandInAdmin]) -> None:
    e, admin = ends
    assert e.query([("a", 0), ("a", 1), ("b", 0)]) == {("a", 0): 100, ("a", 1): 101, ("b", 0): 100}
    assert len(admin.calls) == 1 and e.round_trips == 1
    assert admin.calls[0]["isolation_level"] == IsolationLevel.READ_COMMITTED


def test_a_leader_election_is_retried_with_growing_backoff(
        ends: tuple[EndOffsets, StandInAdmin], sleeps: list[float]) -> None:
    e, admin = ends
    admin.failures = 3
    assert e.query([("a", 0)]) == {("a", 0): 100}
    assert sleeps == [0.05, 0.1, 0.2]
    assert e.round_trips == 1


def test_gives_up_after_the_timeout(ends: tuple[EndOffsets, StandInAdmin],
                                    sleeps: list[float]) -> None:
    e, admin = ends
    admin.failures = 10**6
    with pytest.raises(EndOffsetsUnavailable, match="within 0s"):
        e.query([("a", 0)], timeout=0.0)
    assert sleeps == []
