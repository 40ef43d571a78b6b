"""Wait until the consent side has applied everything acknowledged before the requests.

Kafka orders nothing across topics, so "the opt-out was acknowledged before the request" does
not mean the filter has seen it. After reading a batch, the barrier:
1. takes the end offsets of every partition of every consent input topic (an opt-out produced
   under a wrong key sits on some other partition), and waits until the agent's progress
   markers have passed them all, and the replica of each request partition is restored;
2. waits until each request partition is applied through the last re-routed copy that any
   partition's marker reports for it: the agent re-routes a mis-keyed event, learns the copy's
   offset, and only then writes the marker that covers the original, so every copy of an event
   acknowledged before the request is below that position. (It used to take a second round
   of end offsets for this; the markers carry it for free.)

The wait lasts while the consent side makes progress: a backlog of any size is worked through.
Only when nothing moves (no marker advances, nothing is read) for `stall_s` does it raise
`BarrierStalled`, and the process exits for its supervisor.
"""

import time
from collections.abc import Callable

from consent_table.end_offsets import EndOffsets
from consent_table.exceptions import BarrierStalled
from consent_table.replica import ConsentReplica
from schemas.topics import INPUT_TOPICS

KeepAlive = Callable[[], bool]
"""Called during a long wait; returns False once a rebalance made the held batch stale."""

KEEP_ALIVE_EVERY_S = 0.5
POLL_S = 0.002


class Barrier:
    def __init__(self, replica: ConsentReplica, ends: EndOffsets, topics: dict[str, str],
                 partitions: int, stall_s: float) -> None:
        """`topics` maps each consent input topic's base name to its full (prefixed) name."""
        self.replica = replica
        self.ends = ends
        self.topics = topics
        self.partitions = partitions
        self.stall_s = stall_s

    def wait(self, request_partitions: set[int], keep_alive: KeepAlive) -> bool:
        """True once requests on these partitions may be decided; False after a rebalance."""
        everywhere = [(self.topics[t], p) for t in INPUT_TOPICS for p in range(self.partitions)]
        if not self._until(self.ends.query(everywhere), request_partitions, keep_alive):
            return False
        copies = {(self.topics[t], p): self.replica.rerouted.get((t, p), 0)
                  for t in INPUT_TOPICS for p in request_partitions}
        return self._until(copies, request_partitions, keep_alive)

    def behind(self, ends: dict[tuple[str, int], int], request_partitions: set[int]
               ) -> list[tuple[str, int]]:
        base = {full: b for b, full in self.topics.items()}
        applied = self.replica.applied
        late = [(t, p) for (t, p), end in ends.items()
                if applied[p].get(base[t], 0) < end]
        late += [("consent-state", p) for p in request_partitions if not self.replica.ready(p)]
        return late

    def _signature(self, late: list[tuple[str, int]]) -> int:
        """Grows when the consent side moves on anything we wait for."""
        base = {full: b for b, full in self.topics.items()}
        applied = self.replica.applied
        sig = sum(applied[p].get(base.get(t, ""), 0) for t, p in late if t in base)
        if any(t == "consent-state" for t, _p in late):
            sig += self.replica.progress  # a restore is reading
        return sig

    def _until(self, ends: dict[tuple[str, int], int], request_partitions: set[int],
               keep_alive: KeepAlive) -> bool:
        now = time.monotonic()
        late = self.behind(ends, request_partitions)
        last_progress, last_seen = now, self._signature(late)
        next_keep_alive = now + KEEP_ALIVE_EVERY_S
        while late:
            self.replica.poll(POLL_S)
            now = time.monotonic()
            late = self.behind(ends, request_partitions)
            seen = self._signature(late)
            if seen != last_seen:
                last_progress, last_seen = now, seen
            elif late and now - last_progress > self.stall_s:
                raise BarrierStalled(
                    f"consent input made no progress for {self.stall_s:.0f}s; waiting on "
                    f"{len(late)} partitions, e.g. {late[:3]}")
            if now >= next_keep_alive:
                if not keep_alive():
                    return False
                next_keep_alive = now + KEEP_ALIVE_EVERY_S
        return True
