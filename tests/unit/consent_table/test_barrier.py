"""The barrier: requests wait until the consent side covers every acknowledged input."""

from collections.abc import Callable
from typing import Any

import pytest

from consent_table import barrier as barrier_module
from consent_table.barrier import Barrier
from consent_table.exceptions import BarrierStalled
from schemas.topics import INPUT_TOPICS

PARTITIONS = 2
TOPICS = {t: f"p-{t}" for t in INPUT_TOPICS}


class StandInReplica:
    """The replica as the barrier sees it; each poll runs the next scripted step."""

    def __init__(self, steps: list[Callable[["StandInReplica"], None]] | None = None) -> None:
        self.applied: dict[int, dict[str, int]] = {p: {} for p in range(PARTITIONS)}
        self.rerouted: dict[tuple[str, int], int] = {}
        self.restored: set[int] = set(range(PARTITIONS))
        self.progress = 0
        self.polls = 0
        self.steps = steps or []

    def ready(self, partition: int) -> bool:
        return partition in self.restored

    def poll(self, timeout: float) -> int:
        self.polls += 1
        if self.steps:
            self.steps.pop(0)(self)
        return 0


class StandInEnds:
    def __init__(self, end: int) -> None:
        self.end = end
        self.asked: list[list[tuple[str, int]]] = []

    def query(self, tps: Any) -> dict[tuple[str, int], int]:
        tps = list(tps)
        self.asked.append(tps)
        return {tp: self.end for tp in tps}


def barrier(replica: StandInReplica, end: int, stall_s: float = 5.0) -> Barrier:
    return Barrier(replica, StandInEnds(end), TOPICS, PARTITIONS, stall_s)


def apply_all(offset: int) -> Callable[[StandInReplica], None]:
    def step(r: StandInReplica) -> None:
        for p in range(PARTITIONS):
            r.applied[p] = {t: offset for t in INPUT_TOPICS}
    return step


def always() -> bool:
    return True


def test_passes_at_once_when_markers_cover_every_partition_of_every_input() -> None:
    r = StandInReplica()
    apply_all(3)(r)
    b = barrier(r, end=3)
    assert b.wait({0}, always)
    assert r.polls == 0
    asked = b.ends.asked[0]
    assert sorted(asked) == sorted((TOPICS[t], p) for t in INPUT_TOPICS for p in range(PARTITIONS))


def test_waits_until_every_partition_is_applied_not_only_the_requests_own() -> None:
    r = StandInReplica([lambda r: r.applied[0].update({t: 3 for t in INPUT_TOPICS}),
                        lambda r: r.applied[1].update({t: 3 for t in INPUT_TOPICS})])
    assert barrier(r, end=3).wait({0}, always)
    assert r.polls == 2  # partition 1 holds no request, but may hold a mis-keyed opt-out


def test_waits_for_the_request_partitions_replica_to_be_restored() -> None:
    r = StandInReplica([lambda r: setattr(r, "progress", 1), lambda r: r.restored.add(0)])
    apply_all(0)(r)
    r.restored = set()
    assert barrier(r, end=0).wait({0}, always)
    assert r.polls == 2


def test_then_waits_for_the_rerouted_copies_the_markers_report() -> None:
    r = StandInReplica([lambda r: r.applied[0].update({INPUT_TOPICS[0]: 9})])
    apply_all(3)(r)
    r.rerouted[(INPUT_TOPICS[0], 0)] = 9  # a copy written at offset 8 of partition 0
    assert barrier(r, end=3).wait({0}, always)
    assert r.polls == 1
    assert r.applied[0][INPUT_TOPICS[0]] == 9


def test_a_stall_raises_while_progress_keeps_it_waiting() -> None:
    r = StandInReplica()
    with pytest.raises(BarrierStalled, match="no progress"):
        barrier(r, end=1, stall_s=0.05).wait({0}, always)

    moving = StandInReplica([apply_all(n) for n in range(1, 40)])
    assert barrier(moving, end=30, stall_s=0.05).wait({0}, always)  # slow, but moving


def test_a_rebalance_during_the_wait_drops_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barrier_module, "KEEP_ALIVE_EVERY_S", 0.0)
    r = StandInReplica()
    calls: list[bool] = []

    def rebalanced() -> bool:
        calls.append(False)
        return False

    assert barrier(r, end=1).wait({0}, rebalanced) is False
    assert calls == [False]
