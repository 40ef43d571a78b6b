"""After a broker restart the admin client's leader epochs can be stale for good: the end-offset
query must ask a fresh client rather than fail the barrier (and so the processor) after 30 s."""

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from consent_table import end_offsets as module
from consent_table.end_offsets import REFRESH_EVERY, EndOffsets
from schemas.settings import ClientSettings


class Answer:
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def result(self) -> "Answer":
        return self


class StaleAdmin:
    """The first client made keeps answering `error`; every later one answers at once."""

    made: list["StaleAdmin"] = []
    error = KafkaError.FENCED_LEADER_EPOCH

    def __init__(self, _config: dict[str, Any]) -> None:
        self.stale = not StaleAdmin.made
        StaleAdmin.made.append(self)

    def list_offsets(self, request: dict[TopicPartition, Any], **_kw: Any) -> dict[Any, Answer]:
        if self.stale:
            raise KafkaException(KafkaError(StaleAdmin.error, "stale"))
        return {tp: Answer(7) for tp in request}


@pytest.fixture(autouse=True)
def _stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    StaleAdmin.made = []
    monkeypatch.setattr(module, "AdminClient", StaleAdmin)
    monkeypatch.setattr(module.time, "sleep", lambda _s: None)


def test_a_fenced_leader_epoch_is_asked_again_of_a_fresh_client() -> None:
    ends = EndOffsets(ClientSettings())
    assert ends.query([("t", 0)], timeout=5) == {("t", 0): 7}
    assert len(StaleAdmin.made) == 2 and ends.refreshes == 1


def test_any_error_that_persists_gets_a_fresh_client_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StaleAdmin, "error", KafkaError.NOT_LEADER_FOR_PARTITION)
    ends = EndOffsets(ClientSettings())
    assert ends.query([("t", 0)], timeout=5) == {("t", 0): 7}
    assert ends.refreshes == 1 and len(StaleAdmin.made) == 2
    assert REFRESH_EVERY > 1  # an election alone is retried on the same client first
