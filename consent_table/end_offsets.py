"""End offsets of the consent input topics, asked of the broker after requests were read.

Why after: anything the broker acknowledged before a request was appended sits below the end
offsets returned by a query that starts after the request was read. The query asks for the
last stable offset (`read_committed`), the end a transactional reader can reach. One query
serves every partition of every consent input topic in one round trip per broker.
"""

import time
from collections.abc import Iterable

from confluent_kafka import IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from consent_table.exceptions import EndOffsetsUnavailable
from schemas.settings import ClientSettings

Ends = dict[tuple[str, int], int]


class EndOffsets:
    def __init__(self, settings: ClientSettings) -> None:
        self._admin = AdminClient(settings.to_librdkafka())
        self.round_trips = 0

    def query(self, tps: Iterable[tuple[str, int]], timeout: float = 30.0) -> Ends:
        """End offsets of `(topic, partition)` pairs.

        Retried with backoff for up to `timeout`: a leader election (a broker restart, a topic
        created a moment ago) answers "not leader" for a while, which is no reason to stop.
        """
        request = {TopicPartition(t, p): OffsetSpec.latest() for t, p in tps}
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                futures = self._admin.list_offsets(
                    request, isolation_level=IsolationLevel.READ_COMMITTED,
                    request_timeout=max(1.0, min(10.0, deadline - time.monotonic())))
                ends = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
                self.round_trips += 1
                return ends
            except KafkaException as exc:
                if time.monotonic() + delay > deadline:
                    raise EndOffsetsUnavailable(f"cannot read end offsets within {timeout:.0f}s: "
                                      f"{exc.args[0]}") from exc
                time.sleep(delay)
                delay = min(1.0, delay * 2)
