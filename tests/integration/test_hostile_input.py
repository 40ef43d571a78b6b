"""Hostile and careless input (issue 6): never mail an opted-out person, never stop.

Each test is one finding of the issue, reproduced on the real broker, PostgreSQL and SMTP.
"""

import base64
import hashlib
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas.contact import contact_key
from sources.producer import make_event
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _secret(p: Pipeline) -> str:
    return p.stream_settings.key_secret.get_secret_value()


def _request(email: str, rid: str, purpose: str = "special_offers", **extra: str) -> dict:
    data = {"request_id": rid, "email": email, "purpose": purpose, "subject": "Offer",
            "body": "Hello", **extra}
    return make_event("mail.requested", data, source="crm")


def _raw(event: dict) -> bytes:
    return orjson.dumps(event)


def _dead_letters(p: Pipeline, count: int, timeout: float = 90) -> list[tuple]:
    return p.wait_rows('SELECT topic, "offset", kind, stage, reason FROM dead_letters '
                       'ORDER BY failed_at', count=count, timeout=timeout)


def test_address_tricks_never_reach_an_erased_contact(make_pipeline):
    """Finding 1: `x<victim@d`, `victim(c)@d`, `(c)victim@d`, `x:victim@d` once got contact keys
    of their own, passed the filter, and the mailer delivered to the victim. Now each request is
    a dead letter: nothing is decided for it and nothing is mailed."""
    p: Pipeline = make_pipeline()
    tag = uuid.uuid4().hex[:8]
    victim = f"victim-{tag}@example.com"
    p.send("purchase.completed", {"order_id": "v", "email": victim, "name": "Vic Tim"})
    p.send("preference.changed", {"email": victim, "all": "withdrawn"})
    p.send("contact.erasure_requested", {"email": victim, "request_ref": f"gdpr-{tag}"})
    local, domain = victim.split("@")
    tricks = [f"x<{victim}", f"{local}(c)@{domain}", f"(c){victim}", f"x:{victim}",
              f"<>{victim}", f"<{victim}>", f"Vic <{victim}>"]
    rids = {}
    for trick in tricks:
        rid = unique_request()
        rids[rid] = trick
        p.producer.send_raw("mail-requests", contact_key(victim, _secret(p)).encode(),
                            _raw(_request(trick, rid)))
        p.producer.send_raw("purchases", None, _raw(make_event(
            "purchase.completed", {"order_id": rid, "email": trick, "name": "x"},
            source="shop")))
    p.producer.flush()
    control = unique_request()
    p.send("mail.requested", _request(victim, control)["data"])
    assert p.decision(control)[:2] == ("suppressed", "erased")
    letters = _dead_letters(p, count=2 * len(tricks))
    assert {r[2] for r in letters} == {"invalid_fields"}
    assert not any(victim in r[4] or local in r[4] for r in letters), "reasons repeat the input"
    assert not p.query("SELECT 1 FROM mail_decisions WHERE request_id = ANY(%s)", list(rids))
    time.sleep(2)
    assert not [m for m in p.smtp.mailbox.snapshot() if local in str(m["To"])]


def test_a_future_dated_grant_cannot_outrank_a_later_opt_out(pipeline: Pipeline, email: str):
    """Finding 2: a grant dated now + 1 h (or a confirmation dated 2099) used to outrank every
    later opt-out. occurred_at is trusted only up to the broker's append time plus the skew:
    the grant is clamped to its append time, so the later opt-out wins, and the ledger says so."""
    pipeline.send("purchase.completed", {"order_id": "f", "email": email, "name": "F"})
    future = datetime.now(UTC) + timedelta(hours=1)
    grant = pipeline.send("preference.changed", {"email": email, "all": "granted"},
                          occurred_at=future)
    pipeline.send("newsletter.confirmed", {"email": email},
                  occurred_at=datetime(2099, 6, 1, tzinfo=UTC))
    time.sleep(0.05)
    pipeline.send("preference.changed", {"email": email, "all": "withdrawn"})
    rid = unique_request()
    pipeline.send("mail.requested", _request(email, rid, "newsletter")["data"])
    assert pipeline.decision(rid)[:2] == ("suppressed", "opted_out")
    key = contact_key(email, _secret(pipeline))
    evidence, occurred = pipeline.wait_rows(
        "SELECT evidence, occurred_at FROM consent_ledger WHERE contact_key = %s AND "
        "event_id = %s", key, grant["event_id"])[0]
    assert evidence["occurred_at_clamped_from"].startswith(future.isoformat()[:16])
    assert occurred < future - timedelta(minutes=30)


def test_hostile_messages_become_dead_letters_and_the_worker_goes_on(make_pipeline):
    """Finding 3: 100k nested brackets, an integer of 5,000 digits and a bad message of 900 KB
    (whose dead letter would exceed the broker's limit) used to stop the worker on every
    restart. Each becomes a dead letter that fits; a valid event after them is applied."""
    p: Pipeline = make_pipeline()
    huge = b'{"type": "purchase.completed", "pad": "' + b"x" * 900_000 + b'"}'
    hostile = [b"[" * 100_000, b'{"type": "purchase.completed", "n": ' + b"9" * 5_000 + b"}",
               huge]
    for value in hostile:
        p.producer.send_raw("purchases", b"k", value)
    p.producer.send_raw("mail-requests", b"k", b"[" * 100_000)
    p.producer.flush()
    email = f"after-{uuid.uuid4().hex[:8]}@example.com"
    p.send("purchase.completed", {"order_id": "a", "email": email, "name": "A"})
    rid = unique_request()
    p.send("mail.requested", _request(email, rid, "product_updates")["data"])
    assert p.decision(rid)[:2] == ("forwarded", None)
    letters = _dead_letters(p, count=4)
    assert sorted(r[2] for r in letters) == ["over_limit", "over_limit", "over_limit",
                                            "too_large"]
    records = [r for _k, r in p.topic_records("dead-letters", expect=4)
               if isinstance(r, dict)]
    big = [r for r in records if r.get("original_length") == len(huge)]
    assert big and big[0]["truncated"] is True
    assert big[0]["original_sha256"] == hashlib.sha256(huge).hexdigest()
    assert len(base64.b64decode(big[0]["value_b64"])) < len(huge)
    p.procs.check_alive()


def test_mailer_refuses_forged_records_and_goes_on(make_pipeline):
    """Finding 4: CR/LF in a subject or request id, or an address that is not the decided
    contact's, kept mails in `sending` for ever and crashed the mailer with the address in the
    log. Requests carrying them are now dead letters at the filter; a forged outbox record is
    `failed` with the reason at the mailer, which keeps sending. The mailer's log names a
    request by a digest of its id, since the id is the producer's text and may hold an
    address."""
    p: Pipeline = make_pipeline()
    tag = uuid.uuid4().hex[:8]
    email = f"forged-{tag}@example.com"
    p.send("purchase.completed", {"order_id": "fg", "email": email, "name": "F"})
    key = contact_key(email, _secret(p))
    bad_subject = unique_request()
    p.producer.send_raw("mail-requests", key.encode(), _raw(  # the helper would refuse it
        _request(email, bad_subject, subject="Offer\r\nBcc: spy@example.com")))
    now = datetime.now(UTC).isoformat()
    forged = {"record": "mail.outbox", "contact_key": key, "purpose": "special_offers",
              "event_id": str(uuid.uuid4()), "requested_at": now, "decided_at": now,
              "policy_version": "x", "campaign": None, "body": "b", "unsubscribe_url": None}
    injected = unique_request()
    elsewhere = f"{unique_request()}-for-{email}"  # a producer may name requests after anyone
    p.producer.send_raw("mail-outbox", key.encode(), orjson.dumps(
        {**forged, "request_id": injected, "email": email, "subject": "a\r\nBcc: spy@x.com"}))
    p.producer.send_raw("mail-outbox", key.encode(), orjson.dumps(
        {**forged, "request_id": elsewhere, "email": f"other-{tag}@example.com",
         "subject": "Hi"}))
    p.producer.send_raw("mail-outbox", key.encode(), b"{not an outbox record")
    p.producer.flush()
    ok = unique_request()
    p.send("mail.requested", _request(email, ok, "product_updates")["data"])
    rows = dict(p.wait_rows("SELECT request_id, smtp_response FROM mail_sends WHERE "
                            "request_id = ANY(%s) AND state = 'failed'", [injected, elsewhere],
                            count=2))
    assert "line break" in rows[injected]
    assert "contact key" in rows[elsewhere]
    p.wait_rows("SELECT 1 FROM mail_sends WHERE request_id = %s AND state = 'sent'", ok)
    assert p.wait_rows("SELECT kind FROM sink_failures WHERE consumer = 'mailer'")[0][0] == \
        "invalid_record"
    letters = _dead_letters(p, count=1)
    assert letters[0][2] == "invalid_fields" and "subject" in letters[0][4]
    assert [m["X-Request-ID"] for m in p.smtp.mailbox.snapshot() if m["To"] == email] == [ok]
    for name in ("mailer", "filter"):
        assert email not in (p.procs.running[name].log_path.read_text())
    # the log's reference still finds the row, with the SQL the README gives
    refs = re.findall(r"request=([0-9a-f]{16})", p.procs.running["mailer"].log_path.read_text())
    found = p.wait_rows("SELECT request_id FROM mail_sends WHERE left(encode(sha256(convert_to("
                        "request_id, 'UTF8')), 'hex'), 16) = ANY(%s)", refs, count=2)
    assert {r[0] for r in found} == {injected, elsewhere}


def test_nul_bytes_and_refused_values_never_stop_the_sink(make_pipeline):
    """Finding 5: a NUL byte in any stored text stopped ledger, decisions and erasures from
    reaching PostgreSQL. NULs are stored as U+FFFD; a record PostgreSQL refuses anyway becomes
    a `sink_failures` row with its SQLSTATE, and the records around it are stored."""
    p: Pipeline = make_pipeline()
    email = f"nul-{uuid.uuid4().hex[:8]}@example.com"
    p.send("purchase.completed", {"order_id": "nul", "email": email, "name": "Nu\x00ll",
                                  "address": "1 Null\x00 Street"})
    key = contact_key(email, _secret(p))
    assert p.wait_rows("SELECT name FROM contacts WHERE contact_key = %s", key)[0][0] == \
        "Nu\ufffdll"
    change = {"record": "consent.change", "contact_key": key, "event_id": str(uuid.uuid4()),
              "event_type": "purchase.completed", "source": "forged",
              "occurred_at": datetime.now(UTC).isoformat(),
              "processed_at": datetime.now(UTC).isoformat(), "policy_version": "x",
              "scope": "relationship", "action": "relationship", "applied": True,
              "effective": {}, "rule": "r", "evidence": {"k\x00": "v"}, "detected": False}
    p.producer.send_raw("consent-changes", key.encode(), orjson.dumps(change))
    p.producer.flush()
    p.send("preference.changed", {"email": email, "all": "withdrawn"})
    rid = unique_request()
    p.send("mail.requested", _request(email, rid)["data"])
    assert p.decision(rid)[:2] == ("suppressed", "opted_out")
    failure = p.wait_rows("SELECT stage, kind, reason FROM sink_failures WHERE "
                          "consumer = 'postgres-sink'")[0]
    assert failure[0] == "processing" and failure[1].startswith("sqlstate_")
    assert p.wait_rows("SELECT 1 FROM consent_ledger WHERE contact_key = %s AND scope = 'all'",
                       key)


def test_two_contacts_sharing_an_event_id_each_keep_their_proof(pipeline: Pipeline):
    """Finding 8: events of different contacts that share an event_id (a producer bug, a replay)
    kept one ledger line between them: 4 of 5 opt-outs had no history explaining them."""
    shared = uuid.uuid4()
    emails = [f"shared-{i}-{uuid.uuid4().hex[:6]}@example.com" for i in range(5)]
    for e in emails:
        pipeline.send("purchase.completed", {"order_id": e, "email": e, "name": "S"})
        pipeline.send("preference.changed", {"email": e, "all": "withdrawn"}, event_id=shared)
    keys = [contact_key(e, _secret(pipeline)) for e in emails]
    rows = pipeline.wait_rows("SELECT contact_key FROM consent_ledger WHERE event_id = %s AND "
                              "scope = 'all'", shared, count=5)
    assert sorted(r[0] for r in rows) == sorted(keys)
