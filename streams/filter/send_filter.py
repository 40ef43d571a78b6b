"""The send filter: every mail request forwarded, suppressed or dead-lettered, exactly once.

The high-volume path, so it is lean: requests are read by `schemas.mail_request`, which gives
the model's answer for every input but checks plainly valid requests itself at a fraction of
the model's cost, and that reading and the contact key are done by a helper process while the
filter waits and decides (`streams.filter.reader`); verdicts come precomputed from the
replica of `consent-state`, and output records are built straight to bytes. Each
batch waits at the barrier, then its decisions and its input offsets commit in one transaction
(`streams.processor`), so a crash or a rebalance can neither lose a request nor decide it twice.

Error sites: an unreadable request is dead-lettered (it counts as decided: in = forwarded +
suppressed + dead-lettered); a request whose key does not match its address is re-routed to
its contact's partition in the same transaction and decided there; a request that fails in
processing for an unexpected reason is dead-lettered with stage `processing`; a transaction
the broker refuses is retried, then the process exits (`streams.processor`).
"""

import logging
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import Message, TopicPartition

from consent_table.barrier import Barrier
from consent_table.replica import PURPOSE_INDEX, ConsentReplica
from schemas.contact import KeyHasher
from schemas.mail_request import Request
from schemas.partitioning import partition_for
from schemas.positions import position
from schemas.purposes import Purpose
from schemas.topics import DEAD_LETTERS, INPUT_TOPICS, MAIL_OUTBOX, MAIL_REQUESTS, MAIL_SUPPRESSED
from schemas.unsubscribe_token import Signer
from streams.agent.agent import dead_letter
from streams.filter.reader import Failed, Reader, Refused, read_one
from streams.metrics import StreamMetrics
from streams.policy import Policy
from streams.processor import KeepAlive, Output
from streams.settings import StreamSettings

log = logging.getLogger("consent.streams.filter")

NO_RELATIONSHIP: tuple[bool, str | None, str, bool] = (
    False, "no_relationship", "fail_closed.unknown_contact", False)


class SendFilter:
    """The handler of the filter's transactional loop (see `streams.processor.Handler`)."""

    def __init__(self, settings: StreamSettings, policy: Policy, metrics: StreamMetrics,
                 replica: ConsentReplica, barrier: Barrier, reader: Reader | None = None
                 ) -> None:
        self.settings = settings
        self.policy = policy
        self.metrics = metrics
        self.replica = replica
        self.barrier = barrier
        self.reader = reader
        self.hasher = KeyHasher(settings.key_secret.get_secret_value())
        self.sign = Signer(settings.key_secret.get_secret_value(),
                           timedelta(days=settings.unsubscribe_ttl_days))
        self.partitions = settings.partitions
        self.requests_topic = settings.topic(MAIL_REQUESTS)
        self.outbox = settings.topic(MAIL_OUTBOX)
        self.suppressed = settings.topic(MAIL_SUPPRESSED)
        self.dead_letters = settings.topic(DEAD_LETTERS)
        self.base_url = settings.unsubscribe_base_url
        self.transactional = {p for p in Purpose if policy.rule(p).transactional}
        self.decided = 0

    # --------------------------------------------------------------------------- rebalance

    def on_assign(self, partitions: list[TopicPartition]) -> None:
        self.replica.own(sorted({tp.partition for tp in partitions}))

    def on_revoke(self, partitions: list[TopicPartition]) -> None:
        self.replica.disown(sorted({tp.partition for tp in partitions}))

    def idle(self, begin: Any) -> None:
        self.replica.poll(0)
        self.metrics.replica_contacts.set(self.replica.size())

    def committed(self) -> None:
        self.metrics.last_commit.set_to_current_time()

    def aborted(self) -> None:
        pass

    # ------------------------------------------------------------------------------ batches

    def prepare(self, batch: list[Message], keep_alive: KeepAlive) -> list[Message]:
        started = datetime.now(UTC)
        if self.reader is not None:  # read while we wait; `process` takes the answers
            self.reader.submit([m.value() for m in batch])
        if not self.barrier.wait({position(m)[1] for m in batch}, keep_alive):
            return []
        self.metrics.barrier_wait.observe((datetime.now(UTC) - started).total_seconds())
        return batch

    def process(self, batch: list[Message], out: Output) -> None:
        now = datetime.now(UTC)
        now_iso = now.isoformat()
        outcomes: Counter[tuple[str, str, str]] = Counter()
        now_ms = now.timestamp() * 1000
        answers = (self.reader.answers() if self.reader is not None
                   else (read_one(m.value(), self.hasher) for m in batch))
        for i, (msg, answer) in enumerate(zip(batch, answers, strict=True)):
            if isinstance(answer, Refused):
                dead_letter(out, self.dead_letters, msg, reason=answer.reason, kind=answer.kind,
                            stage="deserialization", metrics=self.metrics, base=MAIL_REQUESTS)
                continue
            if isinstance(answer, Failed):
                self._failed(msg, out, answer.error, answer.trace)
                continue
            try:
                outcome = self._decide(msg, answer.request, answer.key, out, now, now_iso)
            except Exception as exc:  # noqa: BLE001 - one request must not stop the filter
                self._failed(msg, out, type(exc).__name__,
                             "".join(traceback.format_tb(exc.__traceback__)))
                continue
            if outcome is not None:
                outcomes[outcome] += 1
            if i % 16 == 0:
                ts = msg.timestamp()[1]
                if ts > 0:
                    self.metrics.request_latency.observe(max(0.0, (now_ms - ts) / 1000))
        for labels, n in outcomes.items():
            self.metrics.decisions.labels(*labels).inc(n)
        self.decided += sum(outcomes.values())
        self.metrics.last_decision.set_to_current_time()
        self.metrics.batch_size.labels("filter").observe(len(batch))

    def _failed(self, msg: Message, out: Output, error: str, trace: str) -> None:
        """A request that failed for an unexpected reason: logged (type and code lines, no
        values) and dead-lettered, and the batch goes on."""
        log.error("processing failed: partition=%s offset=%s %s\n%s", msg.partition(),
                  msg.offset(), error, trace)
        dead_letter(out, self.dead_letters, msg, reason=f"processing failed ({error})",
                    kind="processing_error", stage="processing", metrics=self.metrics,
                    base=MAIL_REQUESTS)

    def _decide(self, msg: Message, data: Request, key: str, out: Output, now: datetime,
                now_iso: str) -> tuple[str, str, str] | None:
        kb = key.encode("ascii")
        # `prepare` checked every record's position (schemas.positions): no second check here
        p: int = msg.partition()  # type: ignore[assignment]
        keyed = msg.key() == kb
        found = self.replica.get(p, kb) if keyed else None
        if found is None and (not keyed or partition_for(kb, self.partitions) != p):
            self.metrics.rekeyed.labels(MAIL_REQUESTS).inc()
            log.warning("re-keyed request: partition=%s offset=%s", p, msg.offset())
            out(self.requests_topic, kb, msg.value())
            return None
        if found is None:
            verdict, version = NO_RELATIONSHIP, self.policy.version
        else:
            row, version = found
            verdict = row[PURPOSE_INDEX[data.purpose]]
        purpose = data.purpose  # a StrEnum: a str already, no `.value` on the hot path
        record: dict[str, Any] = {
            "request_id": data.request_id, "contact_key": key, "purpose": purpose,
            "event_id": data.event_id, "requested_at": data.occurred_at,
            "decided_at": now_iso, "policy_version": version, "campaign": data.campaign,
        }
        allowed, reason, rule, detected = verdict
        if allowed:
            record["record"] = "mail.outbox"
            record["email"] = data.email
            record["subject"] = data.subject
            record["body"] = data.body
            record["unsubscribe_url"] = (
                None if data.purpose in self.transactional
                else f"{self.base_url}?token={self.sign(key, purpose, now)}")
            out(self.outbox, kb, orjson.dumps(record))
            return (purpose, "forwarded", "")
        record["record"] = "mail.suppressed"
        record["reason"] = reason
        record["rule"] = rule
        record["detected"] = detected
        out(self.suppressed, kb, orjson.dumps(record))
        return (purpose, "suppressed", str(reason))


def consent_topics(settings: StreamSettings) -> dict[str, str]:
    return {t: settings.topic(t) for t in INPUT_TOPICS}
