"""The disclosure record: only on its own topic, only from the DPO, nothing smuggled in."""

import json
import uuid
from typing import Any

import pytest

from schemas.envelope import parse_event
from schemas.events import DisclosureRecorded
from schemas.exceptions import InvalidEvent
from schemas.topics import DISCLOSURES, topic_for_type


def event(**data: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "contact.disclosure_recorded",
            "schema_version": "1.0", "occurred_at": "2026-11-25T10:00:00+00:00",
            "source": "consent-disclose",
            "data": {"contact_key": "ab" * 32, "legal_basis": "s. 100 Code of Criminal Procedure",
                     "case_ref": "4 Js 1/26", "authority": "Public prosecutor",
                     "categories": ["profile", "consent"], "principal": "dpo",
                     "operator": "dana", "export_sha256": "f" * 64, **data}}


def raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_it_lives_on_its_own_topic_and_parses_there() -> None:
    assert topic_for_type("contact.disclosure_recorded") == DISCLOSURES
    parsed = parse_event(raw(event()), topic=DISCLOSURES)
    assert isinstance(parsed, DisclosureRecorded)
    assert parsed.data.categories == ("profile", "consent")


@pytest.mark.parametrize("topic", ["preferences", "purchases", "mail-requests"])
def test_no_other_topic_carries_one(topic: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw(event()), topic=topic)
    assert info.value.kind == "wrong_topic"


def test_and_nothing_but_a_disclosure_rides_on_its_topic() -> None:
    forged = event()
    forged.update(type="preference.changed", data={"contact_key": "ab" * 32, "all": "granted"})
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw(forged), topic=DISCLOSURES)
    assert info.value.kind == "wrong_topic"


@pytest.mark.parametrize(("data", "field"), [
    ({"principal": "worker"}, "principal"),
    ({"email": "someone@example.com"}, "email"),  # no personal data rides along unseen
    ({"legal_basis": ""}, "legal_basis"),
    ({"authority": "court\nforged: line"}, "authority"),
    ({"categories": ["profile", "passwords"]}, "categories"),
    ({"export_sha256": "not-a-hash"}, "export_sha256"),
    ({"contact_key": "x"}, "contact_key"),
])
def test_a_bad_record_is_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEvent, match=field) as info:
        parse_event(raw(event(**data)), topic=DISCLOSURES)
    assert "someone@example.com" not in info.value.reason
