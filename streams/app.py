"""The faust app: the consent agent, the consent table, and the send filter.

Design choices (README, "Architecture"):
- Topics are subscribed as raw bytes and decoded inside the agents, so one bad message becomes
  a dead letter instead of crashing the agent into a restart loop (faust's JSON codec does).
- Outputs are sent with `force=True`: published at once instead of at commit time; faust
  flushes the producer before it commits offsets, so at-least-once still holds.
- The send filter reads requests in batches, asks the broker once per batch for the end offsets
  of its partitions in every consent input topic, and waits until the consent agent has applied
  up to them. That is what makes "opt-out acknowledged before the request ⇒ suppressed" true
  across topics (DESIGN.md, semantics 1).
- Any unexpected error crashes the worker (exit code 70): a worker that looks alive but no
  longer processes is worse than one a supervisor restarts.
"""

import asyncio
import logging
import os
import time
import weakref
from datetime import timedelta
from typing import Any

import faust
from confluent_kafka import Consumer, TopicPartition
from faust.streams import _current_event
from faust.types import TP, EventT, StreamT

from schemas.contact import contact_key as make_contact_key
from schemas.envelope import parse_event
from schemas.events import ConsentEvent, ErasureRequested, MailRequested
from schemas.exceptions import InvalidEvent
from schemas.keys import event_contact_key
from schemas.partitioning import partition_for
from schemas.records import (
    ConsentChange,
    ContactProfile,
    DeadLetter,
    OutboxRecord,
    SuppressedRecord,
)
from schemas.topics import INPUT_TOPICS, MAIL_REQUESTS, OUTPUT_TOPICS
from schemas.unsubscribe_token import sign
from streams.barrier import AppliedPositions
from streams.decisions import ContactState, apply_event, decide, effective
from streams.metrics import StreamMetrics
from streams.policy import Policy, load_policy
from streams.settings import StreamSettings
from streams.watermarks import WatermarkPoller

log = logging.getLogger("consent.streams")

CRASH_EXIT_CODE = 70
FILTER_BATCH = 500
FILTER_WITHIN_S = 0.005


def _raw_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
        partitions=partitions,
    )


class Pipeline:
    """Holds the app and everything its agents share; one per worker process."""

    def __init__(
        self,
        settings: StreamSettings,
        policy: Policy | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        settings.check_production()
        self.settings = settings
        self.policy = policy or load_policy(*([settings.policy_file] if settings.policy_file else []))
        self.metrics = metrics or StreamMetrics()
        self.secret = settings.key_secret.get_secret_value()
        n = settings.partitions
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
            store="rocksdb://",
            datadir=str(settings.data_dir),
            topic_partitions=n,
            topic_replication_factor=settings.replication_factor,
            topic_allow_declare=True,
            topic_disable_leader=True,
            web_enabled=False,
            producer_acks=-1,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=1.0,
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
            autodiscover=False,
        )
        self.consent_topics = [settings.topic(t) for t in INPUT_TOPICS]
        self.base_name = {settings.topic(t): t for t in (*INPUT_TOPICS, MAIL_REQUESTS)}
        self.inputs = self.app.topic(
            *self.consent_topics, key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
        )
        self.requests = _raw_topic(self.app, settings.topic(MAIL_REQUESTS), n)
        self.outputs = {t: _raw_topic(self.app, settings.topic(t), n) for t in OUTPUT_TOPICS}
        self.resend = {settings.topic(t): _raw_topic(self.app, settings.topic(t), n)
                       for t in (*INPUT_TOPICS, MAIL_REQUESTS)}
        self.table = self.app.Table("consent", default=None, partitions=n)
        self.positions = AppliedPositions(self._committed)
        self.poller = WatermarkPoller(settings, self.consent_topics, n)
        self._offsets = Consumer(settings.to_librdkafka(**{
            "group.id": settings.app_id, "enable.auto.commit": False}))
        self.app.agent(self.inputs, name="consent-agent")(self._consent_agent)
        self.app.agent(self.requests, name="send-filter")(self._send_filter)
        self.app.on_partitions_revoked.connect(self._on_revoked)

    # ----------------------------------------------------------------------------- plumbing

    async def _on_revoked(self, sender: Any, revoked: set[TP], **_: Any) -> None:
        self.positions.forget([(tp.topic, tp.partition) for tp in revoked])

    async def _committed(self, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Where applying resumes after a restart: the committed offset, else the log start."""
        def fetch() -> dict[tuple[str, int], int]:
            got = self._offsets.committed([TopicPartition(t, p) for t, p in tps], timeout=10)
            out = {}
            for tp in got:
                if tp.offset >= 0:
                    out[(tp.topic, tp.partition)] = tp.offset
                else:  # never committed: nothing below the earliest offset can be applied
                    low, _high = self._offsets.get_watermark_offsets(tp, timeout=10, cached=False)
                    out[(tp.topic, tp.partition)] = low
            return out
        return await asyncio.to_thread(fetch)

    async def _emit(self, topic: str, key: bytes | None, value: bytes) -> None:
        await self.outputs[topic].send(key=key, value=value, force=True)

    async def _dead_letter(self, event: EventT, exc: InvalidEvent, stage: str = "deserialization"
                           ) -> None:
        msg = event.message
        base = self.base_name.get(msg.topic, msg.topic)
        letter = DeadLetter.of(reason=exc.reason, kind=exc.kind, stage=stage,  # type: ignore[arg-type]
                               topic=msg.topic, partition=msg.partition, offset=msg.offset,
                               key=msg.key, value=msg.value)
        self.metrics.dead_letters.labels(base, exc.kind).inc()
        log.warning("dead letter: topic=%s partition=%s offset=%s kind=%s reason=%s",
                    msg.topic, msg.partition, msg.offset, exc.kind, exc.reason)
        await self._emit("dead-letters", msg.key, letter.to_bytes())

    async def _rekeyed(self, event: EventT, key: str) -> bool:
        """Re-route an event whose key or partition disagrees with its payload. True if moved."""
        msg = event.message
        want = key.encode("ascii")
        if msg.key == want and msg.partition == partition_for(want, self.settings.partitions):
            return False
        self.metrics.rekeyed.labels(self.base_name.get(msg.topic, msg.topic)).inc()
        log.warning("re-keyed event: topic=%s partition=%s offset=%s", msg.topic, msg.partition,
                    msg.offset)
        await self.resend[msg.topic].send(key=want, value=msg.value, force=True)
        return True

    def _parse(self, event: EventT) -> Any:
        msg = event.message
        return parse_event(msg.value, topic=self.base_name.get(msg.topic))

    async def _guard(self, agent: str, exc: BaseException) -> None:
        log.critical("agent %s failed; stopping the worker so it is restarted", agent,
                     exc_info=exc)
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)

    # -------------------------------------------------------------------------- consent agent

    async def _consent_agent(self, stream: StreamT) -> None:
        try:
            async for event in stream.events():
                await self.handle_consent(event)
                msg = event.message
                self.positions.applied((msg.topic, msg.partition), msg.offset)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - crash loudly, see module docstring
            await self._guard("consent-agent", exc)

    async def handle_consent(self, event: EventT) -> None:
        try:
            parsed: ConsentEvent = self._parse(event)
        except InvalidEvent as exc:
            await self._dead_letter(event, exc)
            return
        key = event_contact_key(parsed, self.secret)
        if await self._rekeyed(event, key):
            return
        before = ContactState.from_dict(self.table.get(key))
        result = apply_event(before, parsed, self.policy)
        if result.state != before:
            self.table[key] = result.state.to_dict()
        snapshot = effective(result.state, self.policy)
        kb = key.encode("ascii")
        await self._profile(parsed, key, kb, result.state)
        for eff, applied in result.effects:
            change = ConsentChange(
                contact_key=key, event_id=parsed.event_id, event_type=parsed.type,
                source=parsed.source, occurred_at=parsed.occurred_at,
                policy_version=self.policy.version, scope=eff.scope,  # type: ignore[arg-type]
                action=eff.action, applied=applied, effective=snapshot, rule=eff.rule,
                evidence=eff.evidence, detected=eff.detected,
            )
            self.metrics.changes.labels(eff.scope, eff.action, str(applied).lower()).inc()
            await self._emit("consent-changes", kb, change.to_bytes())
        self.metrics.events.labels(self.base_name.get(event.message.topic, "?"), parsed.type).inc()

    async def _profile(self, event: ConsentEvent, key: str, kb: bytes, state: ContactState) -> None:
        """Keep `contacts` (compacted) in step: a profile per event, a tombstone on erasure."""
        contacts = self.settings.topic("contacts")
        if isinstance(event, ErasureRequested):
            await self.app.producer.send(contacts, kb, None, partition=None, timestamp=None,
                                         headers=None)
            return
        data = event.data
        email = getattr(data, "email", None)
        if email is None:
            return
        if state.erased_at is not None and event.occurred_at <= state.erased_at:
            return  # older than the erasure: must not bring the data back
        profile = ContactProfile(
            contact_key=key, email=email, source=event.source, event_type=event.type,
            seen_at=event.occurred_at,
            **{f: getattr(data, f, None) for f in ("name", "company", "phone", "address", "country")},
        )
        await self._emit("contacts", kb, profile.to_bytes())

    # ---------------------------------------------------------------------------- send filter

    async def _send_filter(self, stream: StreamT) -> None:
        try:
            async for batch in stream.take_events(FILTER_BATCH, within=FILTER_WITHIN_S):
                await self.handle_mail_batch(batch)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - crash loudly, see module docstring
            await self._guard("send-filter", exc)

    async def handle_mail_batch(self, batch: list[EventT]) -> None:
        read_at = time.monotonic()
        highs = await self.poller.highs_after(read_at)
        partitions = {e.message.partition for e in batch}
        targets = {(t, p): highs[(t, p)] for t in self.consent_topics for p in partitions}
        await self.positions.wait_for(targets, self.settings.barrier_timeout_s)
        self.metrics.barrier_wait.observe(time.monotonic() - read_at)
        self.metrics.batch_size.observe(len(batch))
        for event in batch:
            _current_event.set(weakref.ref(event))  # table reads go to this event's partition
            await self.handle_mail(event)
        self.metrics.last_decision.set_to_current_time()

    async def handle_mail(self, event: EventT) -> None:
        try:
            req: MailRequested = self._parse(event)
        except InvalidEvent as exc:
            await self._dead_letter(event, exc)
            return
        key = make_contact_key(req.data.email, self.secret)
        if await self._rekeyed(event, key):
            return
        state = ContactState.from_dict(self.table.get(key))
        verdict = decide(state, req.data.purpose, self.policy)
        common: dict[str, Any] = {
            "request_id": req.data.request_id, "contact_key": key, "purpose": req.data.purpose,
            "event_id": req.event_id, "requested_at": req.occurred_at,
            "policy_version": self.policy.version, "campaign": req.data.campaign,
        }
        kb = key.encode("ascii")
        purpose = req.data.purpose.value
        if verdict.allowed:
            url = None
            if not self.policy.rule(req.data.purpose).transactional:
                token = sign(key, purpose, self.secret,
                             ttl=timedelta(days=self.settings.unsubscribe_ttl_days))
                url = f"{self.settings.unsubscribe_base_url}?token={token}"
            record: OutboxRecord | SuppressedRecord = OutboxRecord(
                **common, email=req.data.email, subject=req.data.subject, body=req.data.body,
                unsubscribe_url=url)
            self.metrics.decisions.labels(purpose, "forwarded", "").inc()
            await self._emit("mail-outbox", kb, record.to_bytes())
        else:
            record = SuppressedRecord(**common, reason=verdict.reason,  # type: ignore[arg-type]
                                      rule=verdict.rule, detected=verdict.detected)
            self.metrics.decisions.labels(purpose, "suppressed", str(verdict.reason)).inc()
            await self._emit("mail-suppressed", kb, record.to_bytes())
