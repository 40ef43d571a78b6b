"""The send filter's local copy of `consent-state`: verdicts of its contacts, markers of all.

What it keeps, and why so little: for the partitions whose requests this filter decides, each
contact's per-purpose verdicts (interned, so a million contacts share a few hundred distinct
rows), and for every partition the agent's latest progress marker. Markers of all partitions
are needed because an opt-out produced under a wrong key sits on another partition until the
agent re-routes it; the barrier waits for every partition (`consent_table.barrier`).

Reading `read_committed`, a marker is seen only after the states of its transaction, so a
partition whose marker has passed an offset has every state that offset implies. After an
assignment the partition is re-read from the start, and counts as ready only once the read
has reached the end offset taken at that moment.
"""

import logging
from collections.abc import Callable

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas.purposes import Purpose
from schemas.records import PROGRESS_KEY

log = logging.getLogger("consent.streams.replica")

Row = tuple[tuple[bool, str | None, str, bool], ...]
"""Per purpose, in `Purpose` order: (allowed, reason, rule, detected)."""
PURPOSES = tuple(Purpose)
PURPOSE_INDEX = {p: i for i, p in enumerate(PURPOSES)}


class ConsentReplica:
    def __init__(self, consumer: Consumer, topic: str, partitions: int,
                 end_offsets: Callable[[list[int]], dict[int, int]]) -> None:
        self.consumer = consumer
        self.topic = topic
        self.partitions = partitions
        self._end_offsets = end_offsets
        self.applied: dict[int, dict[str, int]] = {p: {} for p in range(partitions)}
        # (topic, target partition) -> the offset after the last re-routed copy written there,
        # the largest any partition's marker reported
        self.rerouted: dict[tuple[str, int], int] = {}
        self.contacts: dict[int, dict[bytes, tuple[Row, str]]] = {}
        self._rows: dict[bytes, tuple[Row, str]] = {}
        self._restoring: dict[int, int] = {}
        self.records_read = 0
        self.progress = 0  # grows whenever anything is read: the barrier's sign of life
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])

    # --------------------------------------------------------------------------- ownership

    def own(self, partitions: list[int]) -> None:
        """Start keeping verdicts for these partitions: re-read them from the beginning."""
        fresh = [p for p in partitions if p not in self.contacts]
        if not fresh:
            return
        ends = self._end_offsets(fresh)
        for p in fresh:
            self.contacts[p] = {}
            if ends[p] > 0:
                self._restoring[p] = ends[p]
                self.consumer.seek(TopicPartition(self.topic, p, OFFSET_BEGINNING))
        log.info("replica: restoring partitions %s", fresh)

    def disown(self, partitions: list[int]) -> None:
        for p in partitions:
            self.contacts.pop(p, None)
            self._restoring.pop(p, None)

    def ready(self, partition: int) -> bool:
        return partition in self.contacts and partition not in self._restoring

    def size(self) -> int:
        return sum(len(c) for c in self.contacts.values())

    # ------------------------------------------------------------------------------ reading

    def poll(self, timeout: float, max_records: int = 5000) -> int:
        msgs = self.consumer.consume(max_records, timeout=timeout)
        contacts, applied = self.contacts, self.applied
        for m in msgs:
            if m.error() is not None:
                continue
            p = m.partition()
            key = m.key()
            if key == PROGRESS_KEY:
                marker = orjson.loads(m.value())
                have = applied[p]
                for topic, offset in marker["applied"].items():
                    if offset > have.get(topic, -1):
                        have[topic] = offset
                for target, offset in marker.get("rerouted", {}).items():
                    topic, _, part = target.rpartition(":")
                    tp = (topic, int(part))
                    if offset > self.rerouted.get(tp, -1):
                        self.rerouted[tp] = offset
            else:
                mine = contacts.get(p)
                if mine is not None and key is not None:
                    value = m.value()
                    if value is None:
                        mine.pop(key, None)
                    else:
                        mine[key] = self._row(value)
        if msgs:
            self.records_read += len(msgs)
            self.progress += len(msgs)
        if self._restoring:
            self._check_restored()
        return len(msgs)

    def _row(self, value: bytes) -> tuple[Row, str]:
        doc = orjson.loads(value)
        decisions = doc["decisions"]
        row = tuple(
            (d["allowed"], d.get("reason"), d["rule"], d.get("detected", False))
            for d in (decisions[p.value] for p in PURPOSES))
        ident = orjson.dumps([row, doc["policy_version"]])
        interned = self._rows.get(ident)
        if interned is None:
            interned = (row, doc["policy_version"])
            self._rows[ident] = interned
        return interned

    def _check_restored(self) -> None:
        tps = [TopicPartition(self.topic, p) for p in self._restoring]
        for tp in self.consumer.position(tps):
            if tp.offset >= 0 and tp.offset >= self._restoring[tp.partition]:
                log.info("replica: partition %s restored (%s contacts)", tp.partition,
                         len(self.contacts.get(tp.partition, {})))
                del self._restoring[tp.partition]

    def get(self, partition: int, key: bytes) -> tuple[Row, str] | None:
        return self.contacts[partition].get(key)

    def close(self) -> None:
        self.consumer.close()
