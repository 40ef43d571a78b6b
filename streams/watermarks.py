"""End offsets of the consent input topics, fetched on demand and shared by waiting requests.

The send filter must not decide a mail request before it has applied every consent event that
was acknowledged before the request was appended. Asking the broker for end offsets *after*
reading a request gives an upper bound on those events. One ListOffsets round trip serves every
request read before it started, so the cost per request falls as load rises.
"""

import asyncio
import time
from collections.abc import Iterable

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas.settings import ClientSettings

Highs = dict[tuple[str, int], int]


class WatermarkPoller:
    def __init__(self, settings: ClientSettings, topics: Iterable[str], partitions: int) -> None:
        self._admin = AdminClient(settings.to_librdkafka())
        self._tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self._lock = asyncio.Lock()
        self._last_started = -1.0
        self._last: Highs = {}
        self.round_trips = 0

    def _fetch(self) -> Highs:
        futures = self._admin.list_offsets({tp: OffsetSpec.latest() for tp in self._tps},
                                           request_timeout=10)
        highs: Highs = {}
        for tp, fut in futures.items():
            highs[(tp.topic, tp.partition)] = fut.result().offset
        return highs

    async def highs_after(self, read_at: float) -> Highs:
        """End offsets from a query that started no earlier than `read_at` (monotonic clock)."""
        async with self._lock:
            if self._last_started >= read_at:
                return self._last
            started = time.monotonic()
            highs = await asyncio.to_thread(self._fetch)
            self.round_trips += 1
            self._last_started, self._last = started, highs
            return highs
