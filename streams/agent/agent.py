"""The consent agent: consent events in, the consent table, ledger and profiles out.

Per batch, inside one transaction (`streams.processor`):
- each event is parsed with limits; a bad one becomes a dead letter and the batch goes on;
- an event whose key or partition disagrees with its payload is re-routed to where its contact
  lives (a separate idempotent producer, flushed before the transaction commits, so the copy is
  durable before the progress marker that covers the original is visible);
- an `occurred_at` later than the broker's append time plus the allowed skew is clamped to the
  append time (a producer's clock is trusted only up to the broker's), and the clamp is
  recorded in the ledger's evidence;
- the event is applied to the contact's state (pure rules, `streams.decisions`), and its ledger
  lines and profile are produced; a legal disclosure (from the `disclosures` topic, which only
  the DPO writes) changes no state and yields its ledger line only;
- at the end, each touched contact's state goes to `consent-state`, then one progress marker
  per input partition of the batch: "applied through these offsets". Readers that see the
  marker have seen the states before it (same partition, same transaction).
"""

import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import (
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from schemas.contact import KeyHasher
from schemas.envelope import parse_event
from schemas.events import ConsentEvent, DisclosureRecorded, ErasureRequested
from schemas.exceptions import InvalidEvent
from schemas.partitioning import partition_for
from schemas.positions import position
from schemas.purposes import Purpose
from schemas.records import DeadLetter, Stage
from schemas.topics import (
    AGENT_TOPICS,
    CONSENT_CHANGES,
    CONSENT_REVIEW,
    CONSENT_STATE,
    CONTACTS,
    DEAD_LETTERS,
    INPUT_TOPICS,
)
from streams.agent import records
from streams.agent.store import StateStores
from streams.decisions import EMPTY, ContactState, Verdict, apply_event, verdicts
from streams.exceptions import StreamError
from streams.metrics import StreamMetrics
from streams.policy import Policy
from streams.processor import KeepAlive, Output
from streams.settings import StreamSettings

log = logging.getLogger("consent.streams.agent")


def dead_letter(out: Output, topic: str, msg: Message, *, reason: str, kind: str,
                stage: Stage, metrics: StreamMetrics, base: str) -> None:
    """A record we cannot use: its bytes, position and a reason, and the batch goes on."""
    source, partition, offset = position(msg)
    letter = DeadLetter.of(reason=reason, kind=kind, stage=stage,
                           topic=source, partition=partition, offset=offset,
                           key=msg.key(), value=msg.value())
    key = msg.key()
    out(topic, key if key is not None and len(key) <= 256 else None, letter.to_bytes())
    metrics.dead_letters.labels(base, kind).inc()
    log.warning("dead letter: topic=%s partition=%s offset=%s kind=%s reason=%s", base,
                msg.partition(), msg.offset(), kind, reason)


class ConsentAgent:
    """The handler of the agent's transactional loop (see `streams.processor.Handler`)."""

    def __init__(self, settings: StreamSettings, policy: Policy, metrics: StreamMetrics,
                 stores: StateStores, rerouter: Producer) -> None:
        self.settings = settings
        self.policy = policy
        self.metrics = metrics
        self.stores = stores
        self.rerouter = rerouter
        self.hasher = KeyHasher(settings.key_secret.get_secret_value())
        self.partitions = settings.partitions
        self.skew = timedelta(seconds=settings.event_time_skew_s)
        self.base = {settings.topic(t): t for t in AGENT_TOPICS}
        self.out_topic = {t: settings.topic(t) for t in
                          (CONSENT_CHANGES, CONSENT_REVIEW, CONSENT_STATE, CONTACTS,
                           DEAD_LETTERS)}
        self.consumer: Consumer | None = None
        # next input offset per (topic base name, partition): committed, and staged by a batch
        self.applied: dict[tuple[str, int], int] = {}
        self._staged_applied: dict[tuple[str, int], int] = {}
        self._unannounced: set[int] = set()
        self._staged_announced: set[int] = set()
        self._delivered: dict[int, int] = {}
        self._reroute_errors: list[str] = []
        # per source partition: "topic:partition" -> next offset after the last re-routed copy
        # written there; carried in every marker of the source partition, so the send filter
        # knows how far the target partition must be applied (consent_table.barrier)
        self.rerouted: dict[int, dict[str, int]] = {}
        self._staged_rerouted: dict[int, dict[str, int]] = {}
        self._opt_outs_acked: list[float] = []  # broker append times of this batch's opt-outs
        self._size_due = 0.0

    def bind(self, consumer: Consumer) -> None:
        """The loop's consumer, to read committed offsets on assignment."""
        self.consumer = consumer

    # --------------------------------------------------------------------------- rebalance

    def on_assign(self, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        log.info("assigned partitions %s; restoring their consent state", numbers)
        self.stores.restore(numbers)
        self.metrics.restored.inc(self.stores.restored_records - self.metrics.restored_seen)
        self.metrics.restored_seen = self.stores.restored_records
        if self.consumer is None:
            raise StreamError("agent is not bound to its consumer")
        for tp in self.consumer.committed(partitions, timeout=30):
            offset = tp.offset
            if offset < 0:  # never committed: nothing below the log start exists any more
                offset, _high = self.consumer.get_watermark_offsets(tp, timeout=30, cached=False)
            self.applied[(self.base[tp.topic], tp.partition)] = offset
        for p in numbers:
            self.rerouted[p] = self.stores.open(p).rerouted()
        self._unannounced |= set(numbers)
        log.info("restored %s consent states in %.1fs", self.stores.restored_records,
                 self.stores.restore_seconds)

    def on_revoke(self, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        self.stores.release(numbers)
        for tp in partitions:
            self.applied.pop((self.base.get(tp.topic, tp.topic), tp.partition), None)
        self._unannounced -= set(numbers)
        for p in numbers:
            self.rerouted.pop(p, None)

    # ------------------------------------------------------------------------------ batches

    def prepare(self, batch: list[Message], keep_alive: KeepAlive) -> list[Message]:
        return batch

    def idle(self, begin: Any) -> None:
        """Announce what was applied before we got the partitions (first marker after assign)."""
        if self._unannounced:
            out = begin()
            now = datetime.now(UTC)
            for p in sorted(self._unannounced):
                self._marker(out, p, self.applied, self.rerouted.get(p, {}), now)
            self._staged_announced = set(self._unannounced)

    def process(self, batch: list[Message], out: Output) -> None:
        now = datetime.now(UTC)
        touched: dict[int, dict[bytes, tuple[str, ContactState, dict[Purpose, Verdict]]]] = {}
        for msg in batch:
            base = self.base[position(msg)[0]]
            try:
                self._handle(msg, base, out, now, touched)
            except InvalidEvent as exc:
                dead_letter(out, self.out_topic[DEAD_LETTERS], msg, reason=exc.reason,
                            kind=exc.kind, stage="deserialization", metrics=self.metrics,
                            base=base)
            except StreamError:
                raise
            except Exception as exc:  # noqa: BLE001 - a bug on one record must not stop all
                log.error("processing failed: topic=%s partition=%s offset=%s %s\n%s", base,
                          msg.partition(), msg.offset(), type(exc).__name__,
                          "".join(traceback.format_tb(exc.__traceback__)))
                dead_letter(out, self.out_topic[DEAD_LETTERS], msg,
                            reason=f"processing failed ({type(exc).__name__})",
                            kind="processing_error", stage="processing", metrics=self.metrics,
                            base=base)
        for p, contacts in touched.items():
            store = self.stores.open(p)
            for kb, (key, state, vs) in contacts.items():
                value = records.state_record(key, state, vs, self.policy.version, now)
                out(self.out_topic[CONSENT_STATE], kb, value, p, self._on_state_delivery)
                store.stage(kb, value)
        staged = self._positions(batch)
        self._staged_applied = staged
        applied = {**self.applied, **staged}
        # re-routed copies are durable, and their offsets known, before the markers that cover
        # their originals are written
        self._flush_reroutes()
        for p in sorted({p for _t, p in staged} | self._unannounced):
            rerouted = {**self.rerouted.get(p, {}), **self._staged_rerouted.get(p, {})}
            self._marker(out, p, applied, rerouted, now)
            if p in self._staged_rerouted:
                self.stores.open(p).stage_rerouted(rerouted)
        self._staged_announced = set(self._unannounced)
        self.metrics.batch_size.labels("agent").observe(len(batch))
        oldest: dict[str, int] = {}
        for m in batch:
            ts = m.timestamp()[1]
            base = self.base[position(m)[0]]
            if ts > 0 and (base not in oldest or ts < oldest[base]):
                oldest[base] = ts
        for base, ts in oldest.items():
            self.metrics.input_age.labels("agent", base).set(max(0.0, now.timestamp() - ts / 1000))

    def _positions(self, batch: list[Message]) -> dict[tuple[str, int], int]:
        """Next offset to read per input partition whose position moved.

        The consumer's position, not the last offset + 1: it also steps over transaction
        markers and aborted records, which a topic's end offset counts.
        """
        moved: dict[tuple[str, int], int] = {}
        for m in batch:
            topic, partition, offset = position(m)
            moved[(self.base[topic], partition)] = offset + 1
        if self.consumer is not None:
            for tp in self.consumer.position(self.consumer.assignment()):
                k = (self.base[tp.topic], tp.partition)
                if tp.offset >= 0 and tp.offset > self.applied.get(k, -1):
                    moved[k] = max(moved.get(k, 0), tp.offset)
        return moved

    def _marker(self, out: Output, partition: int, applied: dict[tuple[str, int], int],
                rerouted: dict[str, int], now: datetime) -> None:
        per_topic = {t: applied.get((t, partition), 0) for t in INPUT_TOPICS}
        key, value = records.progress_marker(partition, per_topic, rerouted, now)
        out(self.out_topic[CONSENT_STATE], key, value, partition, self._on_state_delivery)

    def _on_state_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            _topic, p, offset = position(msg)
            self._delivered[p] = max(self._delivered.get(p, -1), offset)

    def committed(self) -> None:
        for p, offset in self._delivered.items():
            if p in self.stores.by_partition:
                self.stores.by_partition[p].staged_checkpoint = offset + 1
        self._delivered = {}
        self.stores.commit_all()
        self.applied.update(self._staged_applied)
        self._staged_applied = {}
        self._unannounced -= self._staged_announced
        self._staged_announced = set()
        committed_at = time.time()
        for acked in self._opt_outs_acked:
            self.metrics.opt_out_enforced.observe(max(0.0, committed_at - acked))
        self._opt_outs_acked = []
        if committed_at >= self._size_due:
            self._size_due = committed_at + 10.0
            self.metrics.state_contacts.set(self.stores.estimated_keys())
        for p, moved in self._staged_rerouted.items():
            self.rerouted.setdefault(p, {}).update(moved)
        self._staged_rerouted = {}
        self.metrics.last_commit.set_to_current_time()

    def aborted(self) -> None:
        self._opt_outs_acked = []
        self.stores.discard_all()
        self._staged_applied = {}
        self._delivered = {}
        # the copies were written (outside the transaction) and are re-written on the retry;
        # the larger offsets of the retry supersede these
        self._staged_rerouted = {}

    # ---------------------------------------------------------------------------- one event

    def _handle(self, msg: Message, base: str, out: Output, now: datetime,
                touched: dict[int, dict[bytes, tuple[str, ContactState, dict[Purpose, Verdict]]]]
                ) -> None:
        event: ConsentEvent = parse_event(msg.value(), topic=base)  # type: ignore[assignment]  # the topic check admits consent events only
        key = self._key_of(event)
        kb = key.encode("ascii")
        p = msg.partition()
        if msg.key() != kb or partition_for(kb, self.partitions) != p:
            self._reroute(msg, base, kb)
            return
        event, extra = self._clamp(event, msg, now)
        contacts = touched.setdefault(p, {})
        if kb in contacts:
            before = contacts[kb][1]
        else:
            stored = self.stores.open(p).get(kb)
            before = EMPTY if stored is None else records.state_of_record(stored)
        result = apply_event(before, event, self.policy)
        vs = verdicts(result.state, self.policy)
        if not isinstance(event, DisclosureRecorded):  # changes no consent: no state record
            contacts[kb] = (key, result.state, vs)
        effective = records.effective_of(vs)
        for effect, applied in result.effects:
            out(self.out_topic[CONSENT_CHANGES], kb, records.ledger_line(
                key=key, event=event, effect=effect, applied=applied, effective=effective,
                policy_version=self.policy.version, now=now, extra_evidence=extra))
            self.metrics.changes.labels(effect.scope, effect.action, str(applied).lower()).inc()
            if effect.action == "withdrawn" and applied and msg.timestamp()[1] > 0:
                self._opt_outs_acked.append(msg.timestamp()[1] / 1000)
            if effect.scope == "review":
                out(self.out_topic[CONSENT_REVIEW], kb,
                    records.review_item(key=key, event=event, effect=effect, now=now))
                self.metrics.reviews.labels(effect.evidence.get("outcome", "")).inc()
        self._profile(out, event, key, kb, result.state)
        self.metrics.events.labels(base, event.type).inc()

    def _key_of(self, event: ConsentEvent) -> str:
        email = getattr(event.data, "email", None)
        if email:
            return self.hasher.key_of_normalised(email)  # the model normalised it already
        return str(event.data.contact_key)  # type: ignore[union-attr]  # the model requires one of the two

    def _clamp(self, event: ConsentEvent, msg: Message, now: datetime
               ) -> tuple[ConsentEvent, dict[str, str] | None]:
        ts_type, ts = msg.timestamp()
        appended = datetime.fromtimestamp(ts / 1000, UTC) if ts > 0 else now
        if ts_type != TIMESTAMP_LOG_APPEND_TIME:  # a producer-set time bounds nothing
            appended = min(appended, now)
        if event.occurred_at <= appended + self.skew:
            return event, None
        self.metrics.clamped.labels(self.base[position(msg)[0]]).inc()
        clamped = event.model_copy(update={"occurred_at": appended})
        return clamped, {"occurred_at_clamped_from": event.occurred_at.isoformat(),
                         "clamped_to": "broker_append_time"}

    def _profile(self, out: Output, event: ConsentEvent, key: str, kb: bytes,
                 state: ContactState) -> None:
        """Keep `contacts` (compacted) in step: a profile per event, a tombstone on erasure."""
        topic = self.out_topic[CONTACTS]
        if isinstance(event, ErasureRequested):
            out(topic, kb, None)
            return
        email = getattr(event.data, "email", None)
        if email is None:
            return
        if state.erased_at is not None and event.occurred_at <= state.erased_at:
            return  # older than the erasure: must not bring the data back
        out(topic, kb, records.profile_record(key=key, email=email, event=event))

    # ------------------------------------------------------------------------------ re-route

    def _reroute(self, msg: Message, base: str, kb: bytes) -> None:
        self.metrics.rekeyed.labels(base).inc()
        topic, partition, offset = position(msg)
        log.warning("re-keyed event: topic=%s partition=%s offset=%s", base, partition, offset)
        headers: list[tuple[str, str | bytes | None]] = [
            ("consent-rerouted-from", f"{partition}:{offset}".encode())]
        while True:
            try:
                self.rerouter.produce(topic, key=kb, value=msg.value(), headers=headers,
                                      on_delivery=self._on_reroute_from(partition))
                break
            except BufferError:
                self.rerouter.poll(0.01)

    def _on_reroute_from(self, source: int) -> Callable[[KafkaError | None, Message], None]:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self._reroute_errors.append(str(err))
                return
            topic, partition, offset = position(msg)
            target = f"{self.base[topic]}:{partition}"
            moved = self._staged_rerouted.setdefault(source, {})
            moved[target] = max(moved.get(target, 0), offset + 1)
        return delivered

    def _flush_reroutes(self) -> None:
        """Re-routed copies must be durable before the marker covering their originals."""
        left = self.rerouter.flush(60)
        if left or self._reroute_errors:
            errors, self._reroute_errors = self._reroute_errors, []
            raise StreamError(f"re-routed events not acknowledged ({left} left; "
                              f"{errors[:1]})")
