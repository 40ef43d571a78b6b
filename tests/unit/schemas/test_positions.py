"""Positions of consumed records and the lag every reader reports."""

import pytest
from confluent_kafka import TopicPartition

from schemas import positions
from schemas.exceptions import ClientContractError
from schemas.positions import LagReporter, next_offsets, position
from tests.unit.kafka_fakes import FakeConsumer, FakeMessage, msg


def test_a_delivered_record_has_a_position_and_a_missing_one_is_a_client_bug() -> None:
    assert position(msg("t", 2, 9)) == ("t", 2, 9)
    for broken in (FakeMessage(None, 0, 1), FakeMessage("t", None, 1), FakeMessage("t", 0, None)):
        with pytest.raises(ClientContractError):
            position(broken)


def test_next_offsets_are_one_past_the_last_record_per_partition_in_any_order() -> None:
    batch = [msg("t", 0, 7), msg("t", 0, 3), msg("t", 1, 0), msg("u", 0, 11)]
    assert next_offsets(batch) == {("t", 0): 8, ("t", 1): 1, ("u", 0): 12}
    assert next_offsets([]) == {}


def test_lag_is_summed_per_topic_and_reported_at_most_every_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = FakeConsumer()
    consumer.assigned = [TopicPartition(t, p) for t, p in (("t", 0), ("t", 1), ("u", 0),
                                                           ("v", 0), ("w", 0))]
    # v: no watermark cached yet; w: nothing read yet (no position): neither is a figure
    consumer.positions = {("t", 0): 10, ("t", 1): 20, ("u", 0): 5, ("v", 0): 3}
    consumer.watermarks = {("t", 0): (0, 15), ("t", 1): (0, 22), ("u", 0): (0, 5), ("w", 0): (0, 9)}
    lags: list[tuple[str, int]] = []
    now = [100.0]
    monkeypatch.setattr(positions.time, "monotonic", lambda: now[0])
    report = LagReporter(consumer, lambda t, n: lags.append((t, n)), every_s=5.0)
    report()
    assert lags == [("t", 7), ("u", 0)]
    now[0] += 4.9
    report()
    assert len(lags) == 2
    now[0] += 0.2
    report()
    assert len(lags) == 4


def test_no_callback_no_work() -> None:
    consumer = FakeConsumer()
    consumer.assigned = [TopicPartition("t", 0)]
    LagReporter(consumer, None)()  # get_watermark_offsets would assert on a position of -1001
