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

from confluent_kafka import Consumer, TopicPartition
from rocksdict import Options, Rdict, WriteBatch

from schemas.records import PROGRESS_KEY
from streams.exceptions import StateRestoreFailed

log = logging.getLogger("consent.streams.store")

CHECKPOINT = b"\x00checkpoint"
RESTORE_BATCH = 5_000


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

    def close(self) -> None:
        self._db.close()


class StateStores:
    """The stores of the partitions this agent owns; restored on assignment."""

    def __init__(self, directory: Path, make_reader: Callable[[], Consumer],
                 end_offset: Callable[[str, int], int], state_topic: str) -> None:
        self.directory = directory
        self._make_reader = make_reader
        self._end_offset = end_offset
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
        """Bring each store up to the last stable offset of its `consent-state` partition."""
        started = time.monotonic()
        reader = self._make_reader()
        try:
            for p in partitions:
                self._restore_one(reader, self.open(p), p)
        finally:
            reader.close()
        self.restore_seconds += time.monotonic() - started

    def _restore_one(self, reader: Consumer, store: PartitionStore, partition: int) -> None:
        start = store.checkpoint()
        end = self._end_offset(self.state_topic, partition)
        if start > end:  # the topic was recreated: our database describes another log
            log.warning("partition %s: checkpoint %s beyond end %s; rebuilding", partition,
                        start, end)
            store.close()
            shutil.rmtree(store.path)
            store = PartitionStore(store.path)
            self.by_partition[partition] = store
            start = 0
        if start >= end:
            return
        reader.assign([TopicPartition(self.state_topic, partition, start)])
        position = start
        deadline = time.monotonic() + 600
        while position < end:
            if time.monotonic() > deadline:
                raise StateRestoreFailed(f"partition {partition}: restore did not reach offset "
                                         f"{end} within 600 s (at {position})")
            msgs = reader.consume(RESTORE_BATCH, timeout=1.0)
            records: list[tuple[bytes, bytes | None]] = []
            for m in msgs:
                if m.error() is not None:
                    continue
                position = max(position, m.offset() + 1)
                key = m.key()
                if key is None or key == PROGRESS_KEY:
                    continue
                records.append((key, m.value()))
            if not msgs:
                got = reader.position([TopicPartition(self.state_topic, partition)])[0].offset
                position = max(position, got)  # past transaction markers at the end
            store.write_restored(records, position)
            self.restored_records += len(records)
        reader.unassign()

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
