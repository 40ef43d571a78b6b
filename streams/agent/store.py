"""The consent agent's table: one RocksDB per partition, restored from `consent-state`.

Why `consent-state` is the changelog: it is the materialised consent table every reader uses,
so the agent restores from the very records the send filter and the mailer decide on; there is
no second copy that could disagree. The topic is compacted and written only inside committed
transactions, so reading it `read_committed` up to its last stable offset gives exactly the
state of every input offset committed so far.

Why the store is written only after a commit: a batch whose transaction aborts must leave no
trace, so its states wait in `staged` until `commit()`. Each partition's database records the
next `consent-state` offset it reflects (the checkpoint); a restart or a reassignment reads
from there to the end, so a warm restart costs only the records written since.
"""

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from confluent_kafka import Consumer, TopicPartition
from rocksdict import Options, Rdict, WriteBatch

from schemas.records import PROGRESS_KEY
from streams.exceptions import StateRestoreFailed

log = logging.getLogger("consent.streams.store")

CHECKPOINT = b"\x00checkpoint"
REROUTED = b"\x00rerouted"
RESTORE_BATCH = 5_000
RESTORE_TIMEOUT_S = 1_800.0


class PartitionStore:
    """State records (the `consent-state` value bytes) of one partition, by contact key."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = Rdict(str(path), Options(raw_mode=True))
        self.staged: dict[bytes, bytes] = {}
        self.staged_checkpoint: int | None = None

    def get(self, key: bytes) -> bytes | None:
        staged = self.staged.get(key)
        if staged is not None:
            return staged
        value: bytes | None = self._db.get(key)
        return value

    def stage(self, key: bytes, value: bytes) -> None:
        self.staged[key] = value

    def rerouted(self) -> dict[str, int]:
        raw = self._db.get(REROUTED)
        return dict(orjson.loads(raw)) if raw else {}

    def stage_rerouted(self, rerouted: dict[str, int]) -> None:
        self.staged[REROUTED] = orjson.dumps(rerouted)

    def merge_rerouted(self, rerouted: dict[str, int]) -> None:
        """From a marker read back in a restore: a previous owner's re-routes count too."""
        mine = self.rerouted()
        merged = {k: max(v, mine.get(k, 0)) for k, v in rerouted.items()}
        if any(mine.get(k) != v for k, v in merged.items()):
            self._db[REROUTED] = orjson.dumps({**mine, **merged})

    def checkpoint(self) -> int:
        raw = self._db.get(CHECKPOINT)
        return int(raw) if raw else 0

    def commit(self) -> None:
        if not self.staged and self.staged_checkpoint is None:
            return
        batch = WriteBatch(raw_mode=True)
        for key, value in self.staged.items():
            batch.put(key, value)
        if self.staged_checkpoint is not None:
            batch.put(CHECKPOINT, str(self.staged_checkpoint).encode())
        self._db.write(batch)
        self.discard()

    def discard(self) -> None:
        self.staged = {}
        self.staged_checkpoint = None

    def write_restored(self, records: list[tuple[bytes, bytes | None]], checkpoint: int) -> None:
        batch = WriteBatch(raw_mode=True)
        for key, value in records:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(CHECKPOINT, str(checkpoint).encode())
        self._db.write(batch)

    def estimated_keys(self) -> int:
        value = self._db.property_int_value("rocksdb.estimate-num-keys")
        return int(value or 0)

    def close(self) -> None:
        self._db.close()


class StateStores:
    """The stores of the partitions this agent owns; restored on assignment."""

    def __init__(self, directory: Path, make_reader: Callable[[], Consumer],
                 end_offsets: Callable[[list[int]], dict[int, int]], state_topic: str) -> None:
        self.directory = directory
        self._make_reader = make_reader
        self._end_offsets = end_offsets
        self.state_topic = state_topic
        self.by_partition: dict[int, PartitionStore] = {}
        self.restored_records = 0
        self.restore_seconds = 0.0

    def open(self, partition: int) -> PartitionStore:
        store = self.by_partition.get(partition)
        if store is None:
            store = PartitionStore(self.directory / f"p{partition}")
            self.by_partition[partition] = store
        return store

    def restore(self, partitions: list[int]) -> None:
        """Bring each store up to the last stable offset of its `consent-state` partition.

        All partitions at once, with one end-offset query and one reader: a restore is read
        at the broker's speed rather than paced by per-partition round trips.
        """
        started = time.monotonic()
        ends = self._end_offsets(partitions)
        starts: dict[int, int] = {}
        for p in partitions:
            store = self.open(p)
            start = store.checkpoint()
            if start > ends[p]:  # the topic was recreated: our database describes another log
                log.warning("partition %s: checkpoint %s beyond end %s; rebuilding", p, start,
                            ends[p])
                store.close()
                shutil.rmtree(store.path)
                self.by_partition[p] = PartitionStore(store.path)
                start = 0
            if start < ends[p]:
                starts[p] = start
        if starts:
            reader = self._make_reader()
            try:
                self._read(reader, starts, ends)
            finally:
                reader.close()
        self.restore_seconds += time.monotonic() - started

    def _read(self, reader: Consumer, starts: dict[int, int], ends: dict[int, int]) -> None:
        topic = self.state_topic
        reader.assign([TopicPartition(topic, p, o) for p, o in starts.items()])
        position = dict(starts)
        written = dict(starts)
        deadline = time.monotonic() + RESTORE_TIMEOUT_S
        while any(position[p] < ends[p] for p in position):
            if time.monotonic() > deadline:
                late = {p: (position[p], ends[p]) for p in position if position[p] < ends[p]}
                raise StateRestoreFailed(f"restore did not reach the end within "
                                         f"{RESTORE_TIMEOUT_S:.0f}s: {late}")
            msgs = reader.consume(RESTORE_BATCH, timeout=0.2)
            per: dict[int, list[tuple[bytes, bytes | None]]] = {}
            for m in msgs:
                if m.error() is not None:
                    continue
                p = m.partition()
                position[p] = max(position[p], m.offset() + 1)
                key = m.key()
                if key == PROGRESS_KEY:
                    rerouted = orjson.loads(m.value() or b"{}").get("rerouted")
                    if rerouted:
                        self.by_partition[p].merge_rerouted(rerouted)
                elif key is not None:
                    per.setdefault(p, []).append((key, m.value()))
            # past transaction markers at the end of a partition
            for tp in reader.position([TopicPartition(topic, p) for p in position]):
                if tp.offset >= 0:
                    position[tp.partition] = max(position[tp.partition], tp.offset)
            for p in position:
                records = per.get(p, [])
                if records or position[p] > written[p]:
                    self.by_partition[p].write_restored(records, position[p])
                    written[p] = position[p]
                    self.restored_records += len(records)
        reader.unassign()

    def estimated_keys(self) -> int:
        return sum(s.estimated_keys() for s in self.by_partition.values())

    def discard_all(self) -> None:
        for store in self.by_partition.values():
            store.discard()

    def commit_all(self) -> None:
        for store in self.by_partition.values():
            store.commit()

    def release(self, partitions: list[int]) -> None:
        for p in partitions:
            store = self.by_partition.pop(p, None)
            if store is not None:
                store.discard()
                store.close()

    def close(self) -> None:
        self.release(list(self.by_partition))
