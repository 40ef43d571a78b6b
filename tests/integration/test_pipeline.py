"""End to end through the real broker, worker, PostgreSQL and an SMTP server."""

import base64
import time
import uuid

import pytest

from schemas.contact import contact_key
from schemas.partitioning import partition_for
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _purchase(p: Pipeline, email: str, **extra: object) -> dict:
    return p.send("purchase.completed", {"order_id": f"o-{uuid.uuid4().hex[:6]}", "email": email,
                                         "name": "Test Person", **extra}, source="shop")


def _request(p: Pipeline, email: str, purpose: str = "special_offers") -> str:
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                              "subject": "Offer", "body": "Hello"}, source="crm")
    return rid


def _wait_mail(p: Pipeline, email: str, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mails := p.mails_to(email):
            return mails
        time.sleep(0.2)
    raise AssertionError(f"no mail arrived within {timeout}s")


def test_consenting_contact_is_mailed_with_one_click_unsubscribe(pipeline: Pipeline, email: str):
    _purchase(pipeline, email)
    rid = _request(pipeline, email, "product_updates")

    assert pipeline.decision(rid)[:2] == ("forwarded", None)
    mails = _wait_mail(pipeline, email)
    assert len(mails) == 1
    msg = mails[0]
    assert msg["X-Request-ID"] == rid
    assert msg["Subject"] == "Offer"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe?token=" in msg["List-Unsubscribe"]
    assert email not in msg["List-Unsubscribe"]  # the URL names a key, never the address


def test_opted_out_contact_is_suppressed_with_reason_and_never_mailed(
    pipeline: Pipeline, email: str
):
    _purchase(pipeline, email)
    pipeline.send("preference.changed", {"email": email, "all": "withdrawn"},
                  source="preference-centre")
    rid = _request(pipeline, email, "special_offers")
    transactional = _request(pipeline, email, "transactional")

    outcome, reason, rule, _detected, _purpose = pipeline.decision(rid)
    assert (outcome, reason, rule) == ("suppressed", "opted_out", "preference.all")
    assert pipeline.decision(transactional)[0] == "forwarded"  # invoices still go out
    _wait_mail(pipeline, email)
    time.sleep(2)
    assert [m["X-Request-ID"] for m in pipeline.mails_to(email)] == [transactional]
    suppressed = [v for _k, v in pipeline.topic_records("mail-suppressed", expect=1)
                  if isinstance(v, dict) and v["request_id"] == rid]
    assert len(suppressed) == 1
    assert suppressed[0]["reason"] == "opted_out"
    assert email not in str(suppressed[0])  # the suppressed record carries no address


def test_unknown_contact_fails_closed(pipeline: Pipeline, email: str):
    rid = _request(pipeline, email, "newsletter")
    assert pipeline.decision(rid)[:2] == ("suppressed", "no_relationship")


def test_bad_input_goes_to_dead_letters_and_later_events_still_flow(
    pipeline: Pipeline, email: str
):
    bad = [
        ("purchases", b"{definitely not json"),
        ("support", b'{"event_id": "not-a-uuid", "type": "support.message_received", '
                    b'"schema_version": "1.0", "occurred_at": "2026-01-01T00:00:00Z", '
                    b'"source": "desk", "data": {"email": "' + email.encode() + b'"}}'),
        ("mail-requests", b"\x00\x01\x02"),
    ]
    for topic, raw in bad:
        pipeline.producer.send_raw(topic, b"k", raw)
    pipeline.producer.flush()
    _purchase(pipeline, email)
    rid = _request(pipeline, email, "new_products")

    assert pipeline.decision(rid)[0] == "forwarded"
    letters = [v for _k, v in pipeline.topic_records("dead-letters", expect=3)
               if isinstance(v, dict) and v["value_b64"] is not None]
    found = {}
    for topic, raw in bad:
        match = [v for v in letters if v["topic"] == f"{pipeline.prefix}{topic}"
                 and base64.b64decode(v["value_b64"]) == raw]
        assert len(match) >= 1, f"the bad {topic} message is in dead-letters with its bytes"
        found[topic] = match[0]
    assert found["purchases"]["kind"] == "invalid_json"
    assert found["support"]["kind"] == "invalid_fields"
    assert "event_id" in found["support"]["reason"]
    assert email not in found["support"]["reason"]  # reasons carry no personal data
    assert all(isinstance(v["offset"], int) and v["partition"] >= 0 for v in found.values())
    rows = pipeline.wait_rows("SELECT kind FROM dead_letters WHERE topic = %s",
                              f"{pipeline.prefix}mail-requests")
    assert rows[0][0] == "invalid_json"


def test_postgres_consent_and_ledger_match_the_events(pipeline: Pipeline, email: str):
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    purchase = _purchase(pipeline, email)
    pref = pipeline.send("preference.changed",
                         {"email": email, "changes": {"special_offers": "withdrawn"}},
                         source="preference-centre")

    ledger = pipeline.wait_rows(
        "SELECT event_id::text, event_type, scope, action, applied, rule, policy_version, source "
        "FROM consent_ledger WHERE contact_key = %s ORDER BY occurred_at, scope", key, count=2)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in ledger] == [
        (purchase["event_id"], "purchase.completed", "relationship", "relationship", True),
        (pref["event_id"], "preference.changed", "special_offers", "withdrawn", True),
    ]
    assert ledger[1][5] == "preference.purpose"
    assert ledger[1][7] == "preference-centre"
    assert all(r[6] for r in ledger)  # policy version stamped
    current = dict(pipeline.wait_rows(
        "SELECT purpose, status FROM consent_current WHERE contact_key = %s "
        "AND status = 'purpose_withdrawn'", key))
    assert current == {"special_offers": "purpose_withdrawn"}
    everything = dict(pipeline.query(
        "SELECT purpose, status FROM consent_current WHERE contact_key = %s", key))
    assert everything["product_updates"] == "allowed"
    assert everything["transactional"] == "allowed"
    # no personal data in the database
    assert not pipeline.query("SELECT 1 FROM consent_ledger WHERE evidence::text LIKE %s",
                              f"%{email}%")


def test_delivering_the_same_events_twice_changes_nothing(pipeline: Pipeline, email: str):
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    purchase = _purchase(pipeline, email)
    opt_out = pipeline.send("newsletter.unsubscribed", {"email": email, "scope": "all"},
                            source="newsletter")
    rid = unique_request()
    request = pipeline.send("mail.requested", {"request_id": rid, "email": email,
                                               "purpose": "newsletter", "subject": "s",
                                               "body": "b"}, source="crm")
    allowed_rid = unique_request()
    allowed = pipeline.send("mail.requested", {"request_id": allowed_rid, "email": email,
                                               "purpose": "transactional", "subject": "Invoice",
                                               "body": "b"}, source="billing")
    pipeline.decision(rid)
    pipeline.decision(allowed_rid)
    _wait_mail(pipeline, email)

    def snapshot() -> tuple:
        return (
            pipeline.query("SELECT event_id, scope, action, applied FROM consent_ledger "
                           "WHERE contact_key = %s ORDER BY 1, 2", key),
            pipeline.query("SELECT purpose, status FROM consent_current WHERE contact_key = %s "
                           "ORDER BY 1", key),
            pipeline.query("SELECT request_id, outcome, reason FROM mail_decisions "
                           "WHERE contact_key = %s ORDER BY 1", key),
        )

    before = snapshot()
    for event in (purchase, opt_out, request, allowed):  # the same events, redelivered
        pipeline.producer.send(event)
    pipeline.producer.flush()
    marker = _request(pipeline, email, "special_offers")  # processed after the replays
    assert pipeline.decision(marker)[:2] == ("suppressed", "opted_out")
    time.sleep(1.5)
    after = snapshot()
    assert after[0] == before[0]
    assert after[1] == before[1]
    assert [r for r in after[2] if r[0] != marker] == before[2]
    assert len(pipeline.mails_to(email)) == 1  # the invoice, once


def test_librdkafka_and_aiokafka_agree_on_partitions(pipeline: Pipeline):
    """Our producer (librdkafka, murmur2_random) puts keys where faust/aiokafka expects them."""
    from aiokafka.partitioner import DefaultPartitioner
    from confluent_kafka import Consumer

    n = pipeline.stream_settings.partitions
    partitioner = DefaultPartitioner()
    keys = [contact_key(f"p{i}@example.com", "s").encode() for i in range(60)]
    topic = "support"
    for k in keys:
        pipeline.producer.send_raw(topic, k, b"{}")
    pipeline.producer.flush()
    c = Consumer(pipeline.kafka(**{"group.id": uuid.uuid4().hex,
                  "auto.offset.reset": "earliest"}))
    c.subscribe([f"{pipeline.prefix}{topic}"])
    seen: dict[bytes, int] = {}
    deadline = time.monotonic() + 30
    while len(seen) < len(keys) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error() and m.key() in keys:
            seen[m.key()] = m.partition()
    c.close()
    assert len(seen) == len(keys)
    for k, part in seen.items():
        assert part == partition_for(k, n) == partitioner(k, list(range(n)), list(range(n)))
