"""How far the consent agent has applied each input partition, and waiting for it.

The consent agent records `offset + 1` after it has applied an event. A partition it has not
touched since start counts from the group's committed offset: faust flushes the changelog
before it commits, so everything below a committed offset is in the restored table.
"""

import asyncio
from collections.abc import Awaitable, Callable

from schemas.exceptions import ConsentError

TP = tuple[str, int]


class BarrierTimeout(ConsentError):
    """The consent agent did not catch up in time; the request stays undecided (fail closed)."""


class AppliedPositions:
    def __init__(self, committed: Callable[[list[TP]], Awaitable[dict[TP, int]]]) -> None:
        self._pos: dict[TP, int] = {}
        self._committed = committed
        self._changed = asyncio.Event()

    def applied(self, tp: TP, offset: int) -> None:
        if offset + 1 > self._pos.get(tp, -1):
            self._pos[tp] = offset + 1
            self._changed.set()

    def forget(self, tps: list[TP]) -> None:
        """On revocation: another worker may apply these now; re-learn from commits if back."""
        for tp in tps:
            self._pos.pop(tp, None)

    async def wait_for(self, targets: dict[TP, int], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_commit_check = 0.0
        while True:
            behind = {tp: h for tp, h in targets.items() if self._pos.get(tp, -1) < h}
            if not behind:
                return
            now = loop.time()
            if now >= deadline:
                raise BarrierTimeout(f"consent input not applied in time for {sorted(behind)}")
            if now >= next_commit_check:
                for tp, off in (await self._committed(list(behind))).items():
                    if off > self._pos.get(tp, -1):
                        self._pos[tp] = off
                next_commit_check = now + 0.2
                continue
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)
            except TimeoutError:
                pass
