"""Row building: a batch collapses per table, NULs are replaced, bad records become failures."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import ConsentChange, ContactProfile, OutboxRecord
from schemas.topics import CONSENT_CHANGES, CONTACTS, MAIL_OUTBOX
from sinks.postgres_copy import stage
from sinks.postgres_rows import Failure, collect
from tests.unit.kafka_fakes import msg

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "a" * 64
BASE = {f"p-{t}": t for t in (CONSENT_CHANGES, CONTACTS, MAIL_OUTBOX)}


def change(status: str, at: datetime, **kw: Any) -> bytes:
    fields: dict[str, Any] = {
        "contact_key": KEY, "event_id": uuid.uuid4(), "event_type": "consent.withdrawn",
        "source": "crm", "occurred_at": at, "processed_at": at, "policy_version": "v1",
        "scope": "newsletter", "action": "withdrawn", "applied": True,
        "effective": {"newsletter": status, "special_offers": "allowed"}, "rule": "r"}
    return ConsentChange(**{**fields, **kw}).to_bytes()


def profile(at: datetime, **kw: Any) -> bytes:
    fields: dict[str, Any] = {"contact_key": KEY, "email": "jane@example.com", "source": "crm",
                              "event_type": "contact.seen", "seen_at": at}
    return ContactProfile(**{**fields, **kw}).to_bytes()


def test_the_last_state_per_contact_and_purpose_wins_and_every_change_is_a_ledger_line() -> None:
    rows = collect([msg("p-consent-changes", 0, 0, change("allowed", T0)),
                    msg("p-consent-changes", 0, 1, change("withdrawn", T0 + timedelta(1)))], BASE)
    assert len(rows.ledger) == 2
    assert {k: v[2] for k, v in rows.current.items()} == {
        (KEY, "newsletter"): "withdrawn", (KEY, "special_offers"): "allowed"}
    assert rows.failures == []


def test_nul_characters_become_the_replacement_character() -> None:
    rows = collect([msg("p-consent-changes", 0, 0, change("allowed", T0, source="c\x00rm",
                                                           evidence={"span": "x\x00y"}))], BASE)
    copied = stage(rows).staged["s_ledger"].decode()  # what COPY sends to PostgreSQL
    assert "\tc\ufffdrm\t" in copied and "\x00" not in copied
    line = rows.ledger[0]
    assert "\\u0000" not in line[11] and "x\ufffdy" in line[11]


def test_profiles_net_out_per_contact_and_a_tombstone_deletes_first() -> None:
    rows = collect([msg("p-contacts", 0, 0, profile(T0, name="Jane"), KEY.encode()),
                    msg("p-contacts", 0, 1, None, KEY.encode()),
                    msg("p-contacts", 0, 2, profile(T0 + timedelta(1), country="NL"),
                        KEY.encode()),
                    msg("p-contacts", 0, 3, profile(T0 + timedelta(2), source="web"),
                        KEY.encode())], BASE)
    p = rows.contacts[KEY]
    assert p.delete_first
    assert p.fields == {"email": "jane@example.com", "country": "NL"}  # the name was erased
    assert p.sources == {"crm", "web"}
    assert (p.first_seen, p.last_seen) == (T0 + timedelta(1), T0 + timedelta(2))


def test_a_record_that_is_not_what_its_topic_promises_is_a_failure_and_the_batch_goes_on() -> None:
    outbox = OutboxRecord(request_id="r1", contact_key=KEY, purpose="newsletter",
                          event_id=uuid.uuid4(), requested_at=T0, policy_version="v1",
                          email="jane@example.com", subject="s", body="b").to_bytes()
    rows = collect([msg("p-mail-outbox", 2, 7, b"not json"),
                    msg("p-mail-outbox", 2, 8, b'{"record": "mail.outbox"}'),
                    msg("p-contacts", 1, 3, profile(T0), b"short-key"),
                    msg("p-mail-outbox", 2, 9, outbox)], BASE)
    assert rows.failures == [
        Failure("mail-outbox", 2, 7, "deserialization", "invalid_record",
                "not a valid mail-outbox record"),
        Failure("mail-outbox", 2, 8, "deserialization", "invalid_record",
                "not a valid mail-outbox record"),
        # a contacts record must be keyed by a contact key: a ValueError, not a schema error
        Failure("contacts", 1, 3, "deserialization", "invalid_json", "not a valid contacts record"),
    ]
    assert [d[0] for d in rows.decisions] == ["r1"]
    assert rows.count() == 1
