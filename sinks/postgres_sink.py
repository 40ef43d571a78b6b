"""PostgreSQL sink: consent ledger, current consent, mail decisions, dead-letter index.

Every write is an idempotent upsert keyed by what makes the record unique (event id and scope,
request id, topic position), so replays and duplicate events change nothing.
"""

import json
import logging
import threading
from typing import Any

import psycopg
from confluent_kafka import Message
from pydantic import ValidationError

from schemas.records import (
    ConsentChange,
    ContactProfile,
    DeadLetter,
    OutboxRecord,
    SuppressedRecord,
)
from sinks.db import connect
from sinks.kafka_source import TrackedConsumer, install_stop_handlers
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.postgres")

TOPICS = ["consent-changes", "mail-outbox", "mail-suppressed", "dead-letters", "contacts"]
CONSUMER_NAME = "postgres-sink"


class PostgresWriter:
    def __init__(self, settings: SinkSettings) -> None:
        self.base = {settings.topic(t): t for t in TOPICS}
        self.rejected = 0

    def __call__(self, conn: psycopg.Connection, msgs: list[Message]) -> None:
        ledger: list[tuple[Any, ...]] = []
        current: dict[tuple[str, str], tuple[Any, ...]] = {}
        decisions: list[tuple[Any, ...]] = []
        letters: list[tuple[Any, ...]] = []
        erasures: list[tuple[Any, ...]] = []
        contacts: list[tuple[str, ContactProfile | None]] = []  # in offset order
        for m in msgs:
            base = self.base.get(m.topic(), "")
            try:
                if base == "consent-changes":
                    c = ConsentChange.model_validate_json(m.value())
                    ledger.append((c.contact_key, c.event_id, c.event_type, c.source,
                                   c.occurred_at, c.processed_at, c.policy_version, c.scope,
                                   c.action, c.applied, c.rule, json.dumps(c.evidence),
                                   c.detected))
                    if c.scope == "erasure":
                        erasures.append((c.contact_key, c.event_id,
                                         c.evidence.get("request_ref", ""), c.occurred_at))
                    for purpose, status in c.effective.items():
                        current[(c.contact_key, purpose)] = (
                            c.contact_key, purpose, status, c.event_id, c.policy_version,
                            c.processed_at)
                elif base == "mail-outbox":
                    o = OutboxRecord.model_validate_json(m.value())
                    decisions.append((o.request_id, o.contact_key, o.purpose.value, "forwarded",
                                      None, None, False, o.campaign, o.event_id,
                                      o.policy_version, o.requested_at, o.decided_at))
                elif base == "mail-suppressed":
                    s = SuppressedRecord.model_validate_json(m.value())
                    decisions.append((s.request_id, s.contact_key, s.purpose.value, "suppressed",
                                      s.reason, s.rule, s.detected, s.campaign, s.event_id,
                                      s.policy_version, s.requested_at, s.decided_at))
                elif base == "contacts":
                    key = (m.key() or b"").decode("ascii", "replace")
                    value = m.value()
                    contacts.append((key, None if value is None
                                     else ContactProfile.model_validate_json(value)))
                elif base == "dead-letters":
                    d = DeadLetter.model_validate_json(m.value())
                    letters.append((d.topic, d.partition, d.offset, d.kind, d.stage, d.reason,
                                    d.failed_at))
            except ValidationError:
                self.rejected += 1
                log.error("unreadable record skipped: topic=%s partition=%s offset=%s",
                          m.topic(), m.partition(), m.offset())
        with conn.cursor() as cur:
            if ledger:
                cur.executemany(
                    "INSERT INTO consent_ledger (contact_key, event_id, event_type, source, "
                    "occurred_at, processed_at, policy_version, scope, action, applied, rule, "
                    "evidence, detected) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (event_id, scope) DO NOTHING", ledger)
            if current:
                cur.executemany(
                    "INSERT INTO consent_current (contact_key, purpose, status, event_id, "
                    "policy_version, updated_at) VALUES (%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (contact_key, purpose) DO UPDATE SET status = EXCLUDED.status, "
                    "event_id = EXCLUDED.event_id, policy_version = EXCLUDED.policy_version, "
                    "updated_at = EXCLUDED.updated_at "
                    "WHERE consent_current.updated_at <= EXCLUDED.updated_at",
                    list(current.values()))
            if decisions:
                cur.executemany(
                    "INSERT INTO mail_decisions (request_id, contact_key, purpose, outcome, "
                    "reason, rule, detected, campaign, event_id, policy_version, requested_at, "
                    "decided_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (request_id) DO NOTHING", decisions)
            for key, profile in contacts:
                if profile is None:
                    cur.execute("DELETE FROM contacts WHERE contact_key = %s", (key,))
                    continue
                cur.execute(
                    "INSERT INTO contacts (contact_key, email, name, company, phone, address, "
                    "country, sources, first_seen, last_seen) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s,ARRAY[%s],%s,%s) "
                    "ON CONFLICT (contact_key) DO UPDATE SET email = EXCLUDED.email, "
                    "name = coalesce(EXCLUDED.name, contacts.name), "
                    "company = coalesce(EXCLUDED.company, contacts.company), "
                    "phone = coalesce(EXCLUDED.phone, contacts.phone), "
                    "address = coalesce(EXCLUDED.address, contacts.address), "
                    "country = coalesce(EXCLUDED.country, contacts.country), "
                    "sources = ARRAY(SELECT DISTINCT unnest(contacts.sources || EXCLUDED.sources) "
                    "ORDER BY 1), first_seen = least(contacts.first_seen, EXCLUDED.first_seen), "
                    "last_seen = greatest(contacts.last_seen, EXCLUDED.last_seen)",
                    (key, profile.email, profile.name, profile.company, profile.phone,
                     profile.address, profile.country, profile.source, profile.seen_at,
                     profile.seen_at))
            if erasures:
                cur.executemany("DELETE FROM contacts WHERE contact_key = %s",
                                [(e[0],) for e in erasures])
                cur.executemany(
                    "INSERT INTO erasures (contact_key, event_id, request_ref, requested_at) "
                    "VALUES (%s,%s,%s,%s) ON CONFLICT (event_id) DO NOTHING", erasures)
            if letters:
                cur.executemany(
                    'INSERT INTO dead_letters (topic, partition, "offset", kind, stage, reason, '
                    "failed_at) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING", letters)


def run_postgres_sink(settings: SinkSettings, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    with connect(settings) as conn:
        source = TrackedConsumer(settings, CONSUMER_NAME, TOPICS, conn)
        log.info("postgres sink started")
        source.run(PostgresWriter(settings), stop)
