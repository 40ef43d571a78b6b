"""How long personal data lives (issue 9, item 6), on the real broker and database.

A pipeline made with the default retention (7 days) is brought down to a retention of seconds
by `consent topics create` (existing topics are altered, and it says so). A person buys, is
mailed, sends a bad event (a dead letter with the original bytes), and is erased. Right after
the erasure their address is still readable in the raw topics, which proves the search looks
in the right places; once the retention has passed, it is in no topic (every record, aborted
transactions included, dead letters decoded), no table and no component's log.

Kafka deletes whole segments, and only those whose newest record is older than the retention:
the catalogue rolls raw segments every tenth of the retention, and the local broker checks
retention every 10 s (deploy/local/kafka.sh). A compacted topic's segment rolls only when
something is written to its partition, so the test keeps ordinary traffic going on the erased
person's partition, as a live system does. The measured time is printed.
"""

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, timedelta
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from ops.lookup import when
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from schemas.topics import DAY_MS, RAW_TOPICS, Retention
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration

RETENTION_S = 40  # long enough that the first search, on a busy machine, still sees it all
SHORT = {"CONSENT_RAW_RETENTION_DAYS": str(RETENTION_S / 86400),
         "CONSENT_DEAD_LETTER_RETENTION_DAYS": str(RETENTION_S / 86400)}
NAME, PHONE, ADDRESS = "Rita Retained", "+31 20 5550123", "Keizersgracht 9, Amsterdam"
DEADLINE_S = 240


def consent(p: Pipeline, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops", *args],
                          env={**os.environ, **env, "CONSENT_ENVIRONMENT": "test",
                               "COLUMNS": "250"},
                          capture_output=True, text=True, timeout=120, check=False)


def _texts(value: bytes | None) -> list[bytes]:
    """A record's bytes, and any base64 originals inside it (dead letters) decoded."""
    if value is None:
        return []
    out = [value]
    try:
        doc = json.loads(value)
    except ValueError:
        return out
    if isinstance(doc, dict):
        for field in ("value_b64", "key_b64"):
            if isinstance(doc.get(field), str):
                out.append(base64.b64decode(doc[field]))
    return out


def where_readable(p: Pipeline, needles: list[bytes]) -> dict[str, int]:
    """Topic -> records in which any needle is readable, over every topic of the pipeline."""
    admin = AdminClient(p.kafka())
    topics = [t for t in admin.list_topics(timeout=30).topics if t.startswith(p.prefix)]
    c = Consumer(p.kafka(**{"group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False,
                            "isolation.level": "read_uncommitted",  # aborted records too
                            "enable.partition.eof": True}))
    ends: dict[tuple[str, int], int] = {}
    for t in topics:
        for part in admin.list_topics(t, timeout=30).topics[t].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(t, part), timeout=30)
            if high > low:
                ends[(t, part)] = high
    found: dict[str, int] = {}
    c.assign([TopicPartition(t, part, OFFSET_BEGINNING) for t, part in ends])
    left = set(ends)
    deadline = time.monotonic() + 60
    try:
        while left and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            tp = (m.topic(), m.partition())
            if m.error() is None:
                if any(n in text for text in [*_texts(m.key()), *_texts(m.value())]
                       for n in needles):
                    found[m.topic().removeprefix(p.prefix)] = found.get(
                        m.topic().removeprefix(p.prefix), 0) + 1
            if m.error() is not None or m.offset() + 1 >= ends.get(tp, 0):
                left.discard(tp)
    finally:
        c.close()
    assert not left, f"could not read to the end of {sorted(left)[:3]}"
    return found


def filler_on_partition_of(p: Pipeline, key: str) -> str:
    """An address on the same partition as `key`: traffic there rolls its segments."""
    secret = p.stream_settings.key_secret.get_secret_value()
    target = partition_for(key.encode(), p.stream_settings.partitions)
    while True:
        email = f"filler-{uuid.uuid4().hex[:8]}@example.com"
        if partition_for(contact_key(email, secret).encode(), p.stream_settings.partitions) \
                == target:
            return email


def test_after_an_erasure_no_copy_of_the_address_is_readable_once_retention_passed(
        make_pipeline: Any, capsys: pytest.CaptureFixture[str]) -> None:
    p: Pipeline = make_pipeline()  # topics made with the default retention, as before
    admin_env = {**p.deployment.base_env(), **SHORT,
                 "CONSENT_KAFKA_CLIENT_CONFIG": str(p.infra.admin_config)}
    proc = consent(p, admin_env, "topics", "create")
    assert proc.returncode == 0, proc.stderr
    report = {line.split()[1]: line for line in proc.stderr.splitlines() if line.strip()}
    for topic in (*RAW_TOPICS, "dead-letters"):
        line = report[p.prefix + topic]
        assert line.startswith("updated") and f"retention {RETENTION_S} s" in line, line
        assert f"retention.ms {7 * DAY_MS} -> {RETENTION_S * 1000}" in line, line
    assert "retention for ever" in report[p.prefix + "consent-changes"]

    email = f"rita-{uuid.uuid4().hex[:8]}@example.com"
    key = contact_key(email, p.stream_settings.key_secret.get_secret_value())
    p.send("purchase.completed", {"order_id": "R-1", "email": email, "name": NAME,
                                  "phone": PHONE, "address": ADDRESS}, source="shop")
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": "product_updates",
                              "subject": "News", "body": f"Hello {NAME}"})
    assert p.decision(rid)[:2] == ("forwarded", None)
    bad = json.dumps({"type": "purchase.completed", "email": email, "phone": PHONE}).encode()
    p.producer.send_raw("purchases", key.encode(), bad)  # no envelope: a dead letter
    p.producer.flush()
    p.wait_rows("SELECT 1 FROM dead_letters WHERE topic = %s", f"{p.prefix}purchases")
    p.wait_rows("SELECT 1 FROM mail_sends WHERE request_id = %s AND state = 'sent'", rid)

    p.send("contact.erasure_requested", {"email": email, "request_ref": "DSR-RET"},
           source="privacy-desk")
    erased_at = p.wait_rows("SELECT erased_at FROM erasures WHERE contact_key = %s", key)[0][0]
    started = time.monotonic()
    needles = [email.encode(), NAME.encode(), PHONE.encode()]
    first = where_readable(p, needles)
    # the search sees the raw copies: purchase, request, mail, erasure request, dead letter
    assert {"purchases", "mail-requests", "mail-outbox", "preferences", "dead-letters"} <= set(
        first), first
    deadline = started + 30
    while p.query("SELECT 1 FROM contacts WHERE contact_key = %s", key):
        assert time.monotonic() < deadline, "contacts row not deleted"
        time.sleep(0.3)

    # lookup states until when raw copies may exist: erasure + 1.1 x retention + check interval
    lookup_env = {**p.deployment.env_for("lookup"), **SHORT}
    proc = consent(p, lookup_env, "lookup", email)
    assert proc.returncode == 0, proc.stderr
    until = erased_at + timedelta(milliseconds=Retention(RETENTION_S * 1000,
                                                         RETENTION_S * 1000).raw_copies_ms)
    assert f"may exist in Kafka until {when(until.astimezone(UTC))}" in " ".join(
        proc.stdout.split())

    filler = filler_on_partition_of(p, key)
    found = first
    while found:
        assert time.monotonic() - started < DEADLINE_S, f"still readable: {found}"
        p.send("purchase.completed", {"order_id": f"F-{uuid.uuid4().hex[:6]}", "email": filler,
                                      "name": "Filler"}, source="shop")
        time.sleep(3)
        found = where_readable(p, needles)
    took = time.monotonic() - started

    with p.db() as conn:  # and no table holds any of it
        for (table,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (p.sink_settings.db_schema,)).fetchall():
            dump = conn.execute(f'SELECT coalesce(string_agg(t::text, \'|\'), \'\') FROM "{table}" t'
                                ).fetchone()[0]
            for secret in (email, NAME, PHONE, ADDRESS):
                assert secret not in dump, f"{table} holds personal data"
    for comp in p.procs.running.values():
        text = comp.log_path.read_text(errors="replace")
        for secret in (email, NAME, PHONE):
            assert secret not in text, comp.name
    with capsys.disabled():
        print(f"\n[retention {RETENTION_S} s] no copy of the address readable {took:.0f} s "
              f"after the erasure (first search found it in {sorted(first)})")
