"""Erasure end to end: personal data gone from PostgreSQL and the compacted topic, the person
never mailed again, and the erasure itself on record without personal data."""

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from schemas.contact import contact_key
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _contacts_topic(p: Pipeline) -> list[tuple[bytes | None, bytes | None]]:
    c = Consumer(p.kafka(**{"group.id": uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    c.subscribe([f"{p.prefix}contacts"])
    out = []
    idle = time.monotonic()
    while time.monotonic() - idle < 3:
        m = c.poll(0.3)
        if m is not None and not m.error():
            out.append((m.key(), m.value()))
            idle = time.monotonic()
    c.close()
    return out


def _compact_quickly(p: Pipeline) -> None:
    admin = AdminClient(p.kafka())
    res = ConfigResource(ConfigResource.Type.TOPIC, f"{p.prefix}contacts", incremental_configs=[
        ConfigEntry("segment.ms", "200", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("min.cleanable.dirty.ratio", "0.01",
                    incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("delete.retention.ms", "100", incremental_operation=AlterConfigOpType.SET),
    ])
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result()


def test_erasure_removes_personal_data_and_suppresses_forever(make_pipeline):
    p: Pipeline = make_pipeline()
    _compact_quickly(p)
    email = f"erase-{uuid.uuid4().hex[:8]}@example.com"
    name, phone, address = "Erika Mustermann", "+49 30 1234567", "Hauptstr. 1, Berlin"
    key = contact_key(email, p.stream_settings.key_secret.get_secret_value())
    p.send("purchase.completed", {"order_id": "E-1", "email": email, "name": name,
                                  "phone": phone, "address": address, "country": "DE"},
           source="shop")
    held = p.wait_rows("SELECT email, name, phone FROM contacts WHERE contact_key = %s", key)
    assert held[0] == (email, name, phone)
    before = unique_request()
    p.send("mail.requested", {"request_id": before, "email": email, "purpose": "transactional",
                              "subject": "Licence", "body": "b"}, source="billing")
    assert p.decision(before)[0] == "forwarded"

    p.send("contact.erasure_requested", {"email": email, "request_ref": "DSR-77"},
           source="privacy-desk")
    after = [unique_request() for _ in range(2)]
    p.send("mail.requested", {"request_id": after[0], "email": email,
                              "purpose": "special_offers", "subject": "s", "body": "b"})
    p.send("mail.requested", {"request_id": after[1], "email": email,
                              "purpose": "transactional", "subject": "s", "body": "b"})
    assert p.decision(after[0])[:2] == ("suppressed", "erased")
    assert p.decision(after[1])[:2] == ("suppressed", "erased")  # erasure beats transactional

    # PostgreSQL: no personal data left anywhere; the erasure is recorded without it
    p.wait_rows("SELECT 1 FROM erasures WHERE contact_key = %s AND request_ref = 'DSR-77'", key)
    deadline = time.monotonic() + 30
    while p.query("SELECT 1 FROM contacts WHERE contact_key = %s", key):
        assert time.monotonic() < deadline, "contacts row not deleted"
        time.sleep(0.3)
    with p.db() as conn:
        for (table,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (p.sink_settings.db_schema,)).fetchall():
            dump = conn.execute(f'SELECT coalesce(string_agg(t::text, \'|\'), \'\') FROM "{table}" t'
                                ).fetchone()[0]
            for secret in (email, name, phone, address):
                assert secret not in dump, f"personal data left in table {table}"
    ledger = p.query("SELECT scope, action, evidence::text FROM consent_ledger "
                     "WHERE contact_key = %s AND scope = 'erasure'", key)
    assert ledger and ledger[0][:2] == ("erasure", "erased")

    # the compacted topic: after compaction nothing readable carries the person's data
    for i in range(5):  # later writes roll the segment so the cleaner can work on it
        time.sleep(0.3)
        p.send("purchase.completed", {"order_id": f"F-{i}", "email": f"filler{i}-{key[:6]}@x.example",
                                      "name": "Filler"}, source="shop")
    deadline = time.monotonic() + 120
    while True:
        records = _contacts_topic(p)
        mine = [v for k, v in records if k == key.encode()]
        if all(v is None for v in mine):
            break
        assert time.monotonic() < deadline, (
            f"compaction left {sum(v is not None for v in mine)} profile record(s) of the erased key")
        p.send("purchase.completed", {"order_id": "G", "email": f"g{time.time()}@x.example",
                                      "name": "Filler"}, source="shop")
        time.sleep(2)
    assert not any(v is not None and email.encode() in v for _k, v in records)

    # a later explicit opt-in lifts the suppression (the policy allows it), a purchase does not
    p.send("purchase.completed", {"order_id": "E-2", "email": email, "name": name}, source="shop")
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": "special_offers",
                              "subject": "s", "body": "b"})
    assert p.decision(rid)[:2] == ("suppressed", "erased")
    p.send("preference.changed", {"email": email, "changes": {"special_offers": "granted"}},
           source="preference-centre")
    rid2 = unique_request()
    p.send("mail.requested", {"request_id": rid2, "email": email, "purpose": "special_offers",
                              "subject": "s", "body": "b"})
    assert p.decision(rid2)[:2] == ("forwarded", None)
    assert json.loads(ledger[0][2]).get("request_ref") == "DSR-77"
