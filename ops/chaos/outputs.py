"""Gathering what a chaos run's pipeline committed: Kafka outputs, PostgreSQL, the mailbox.

Read as the pipeline's own consumers read (`read_committed`): a record of an aborted
transaction is not an output, so a decision a killed filter wrote but never committed does not
count as a second decision.
"""

import logging
import time
from collections import Counter
from typing import Any

import orjson
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from ops.chaos.driver import OptOut, Record
from ops.chaos.verdict import Outputs, judge, lost_changes
from ops.deployment import Deployment
from ops.smtp_capture import Mailbox
from schemas.positions import position
from schemas.records import PROGRESS_KEY

log = logging.getLogger("consent.chaos")


class CommittedReader:
    """One topic read from the beginning, kept open so each catch-up reads only what is new."""

    def __init__(self, deployment: Deployment, topic: str) -> None:
        settings = deployment.admin_client()
        self.topic = settings.topic(topic)
        self.consumer = Consumer(settings.to_librdkafka(**{
            "group.id": f"chaos-reader-{deployment.app_id}-{topic}",
            "enable.auto.commit": False, "isolation.level": "read_committed"}))
        meta = self.consumer.list_topics(self.topic, timeout=30).topics[self.topic]
        self.partitions = sorted(meta.partitions)
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING)
                              for p in self.partitions])
        self.records: list[tuple[int, int, bytes | None, bytes | None, float]] = []

    def catch_up(self, timeout: float = 60.0) -> None:
        """Read until every partition's position reaches the end it had when called."""
        ends = {p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p),
                                                       timeout=30)[1] for p in self.partitions}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.consumer.consume(5000, 0.5):
                if m.error() is None:
                    _topic, partition, offset = position(m)
                    self.records.append((partition, offset, m.key(), m.value(),
                                         m.timestamp()[1] / 1000))
            positions = self.consumer.position([TopicPartition(self.topic, p)
                                                for p in self.partitions])
            if all(tp.offset >= ends[tp.partition] for tp in positions if ends[tp.partition]):
                return
        log.warning("%s: not caught up within %.0fs", self.topic, timeout)

    def close(self) -> None:
        self.consumer.close()


class Gatherer:
    def __init__(self, deployment: Deployment, mailbox: Mailbox) -> None:
        self.deployment, self.mailbox = deployment, mailbox
        self.readers = {t: CommittedReader(deployment, t)
                        for t in ("mail-outbox", "mail-suppressed", "dead-letters",
                                  "consent-state")}
        self.requests_topic = deployment.admin_client().topic("mail-requests")

    def _db(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.deployment.infra.database_url, autocommit=True)
        conn.execute(f'SET search_path TO "{self.deployment.db_schema}"')
        return conn

    def gather(self) -> Outputs:
        out = Outputs()
        for reader in self.readers.values():
            reader.catch_up()
        for _p, _o, _k, value, ts in self.readers["mail-outbox"].records:
            doc = orjson.loads(value) if value else {}
            out.outbox.append((doc.get("request_id", ""), ts))
        for _p, _o, _k, value, ts in self.readers["mail-suppressed"].records:
            doc = orjson.loads(value) if value else {}
            out.suppressed.append((doc.get("request_id", ""), doc.get("reason", ""), ts))
        for _p, _o, _k, value, ts in self.readers["dead-letters"].records:
            doc = orjson.loads(value) if value else {}
            if doc.get("topic") == self.requests_topic:
                out.dead.append((doc["partition"], doc["offset"], ts))
        for _p, _o, key, value, _ts in self.readers["consent-state"].records:
            if key is None or key == PROGRESS_KEY:
                continue
            k = key.decode()
            if value is None:
                out.state[k] = None
                continue
            doc = orjson.loads(value)
            if doc.get("record") != "consent.state":
                continue
            out.state[k] = {p: bool(v.get("allowed")) for p, v in doc["decisions"].items()}
        for msg in self.mailbox.snapshot():
            out.delivered[str(msg["X-Request-ID"])] += 1
        with self._db() as conn:
            for key, purpose, status in conn.execute(
                    "SELECT contact_key, purpose, status FROM consent_current"):
                out.current[(key, purpose)] = status
            out.erasures = {r[0] for r in conn.execute("SELECT contact_key FROM erasures")}
            out.sends = Counter({state: n for state, n in conn.execute(
                "SELECT state, count(*) FROM mail_sends GROUP BY state")})
        return out

    def settle(self, record: Record, opt_outs: list[OptOut], timeout: float,
               progress: Any) -> Outputs:
        """Gather until every request is accounted for, every opt-out shows and the mailer
        has claimed every forwarded mail — or until `timeout`; what is missing then is the
        verdict's to report, not this function's to hide."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.gather()
            v = judge(record, out, [])
            claimed = sum(out.sends.values())
            busy = out.sends.get("retry", 0)
            pending = len(v.mismatches)
            missing = len(lost_changes(opt_outs, out))
            progress(f"settling: {pending} requests undecided, {missing} consent changes not "
                     f"yet visible, {claimed}/{v.forwarded} forwarded mails claimed")
            if (not pending and not missing and claimed >= v.forwarded and not busy) \
                    or time.monotonic() > deadline:
                time.sleep(2)  # the last SMTP transactions of claimed mails
                return self.gather()
            time.sleep(2)

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()
