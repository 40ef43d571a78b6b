"""The fuzz harness's strategies build what they promise, checked without any server.

Why: the integration harness asserts that every hostile record gets a dead letter or a failed
row. If a strategy drew a record that is in fact valid, that assertion would fail for the
wrong reason (or, worse, a valid record would be counted as "refused" somewhere). These tests
run the same parsers the components run over many drawn records.
"""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.contact import KeyHasher, contact_key, normalise_email
from schemas.envelope import parse_event
from schemas.exceptions import InvalidEmail, InvalidEvent
from schemas.records import OutboxRecord
from sinks.mail_checks import refusal
from sinks.postgres_rows import collect
from sources.ingest.app import MAX_BODY_BYTES, refusal_status
from sources.ingest.events import build_event
from sources.suppression_import import Rejected, check_lines
from tests.fuzz.strategies import (
    MAIL_OUTBOX,
    Cast,
    address_tricks,
    hostile_import_lines,
    hostile_input,
    hostile_sink_record,
    hostile_webhook,
    people,
)

SECRET = "unit-test-secret-of-sufficient-length"
CAST = Cast(victims=("victim-a@example.com", "jérôme.v@bücher.example"),
            key_of=lambda e: contact_key(e, SECRET), tag="unit")
NTH = st.one_of(st.none(), st.integers(0, 100_000))  # drawn freely, or round-robin by index
FAST = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class _Msg:
    """The few `confluent_kafka.Message` methods the sink's row builder calls."""

    def __init__(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self._t, self._k, self._v = topic, key, value

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0

    def key(self) -> bytes | None:
        return self._k

    def value(self) -> bytes | None:
        return self._v


@FAST
@given(st.data())
def test_every_address_trick_is_refused(data: st.DataObject) -> None:
    victim = data.draw(st.sampled_from(CAST.victims))
    trick = data.draw(address_tricks(victim))
    with pytest.raises(InvalidEmail):
        normalise_email(trick)


@FAST
@given(st.data())
def test_every_hostile_input_record_is_refused_by_the_parser(data: st.DataObject) -> None:
    h = data.draw(hostile_input(CAST, "m1", data.draw(NTH)))
    with pytest.raises(InvalidEvent):
        parse_event(h.value, topic=h.topic)


@FAST
@given(st.data())
def test_every_hostile_sink_record_fails_where_it_says(data: st.DataObject) -> None:
    h = data.draw(hostile_sink_record(CAST, "m2", data.draw(NTH)))
    if h.expect == "sink_failure":
        rows = collect([_Msg(h.topic, h.key, h.value)], {h.topic: h.topic})  # type: ignore[list-item]
        assert len(rows.failures) == 1, h.case
        return
    assert h.topic == MAIL_OUTBOX
    record = OutboxRecord.model_validate_json(h.value or b"")
    why = refusal(record, KeyHasher(SECRET))
    if h.expect == "mail_failed":
        assert why is not None, h.case
    else:  # mail_stopped: a well-formed record the last-mile check must stop (victim opted out)
        assert why is None and record.email in {normalise_email(v) for v in CAST.victims}


@FAST
@given(st.data())
def test_every_hostile_import_line_is_rejected_alone(data: st.DataObject) -> None:
    lines = data.draw(hostile_import_lines(CAST.victims, 5))
    text = "email,scope,opted_out_at\n" + "".join(f"{line}\n" for line, _ok in lines)
    items = list(check_lines(text, "f.csv", SECRET, default_at=datetime(2025, 1, 1, tzinfo=UTC),
                             now=datetime.now(UTC)))
    assert len(items) == len(lines)
    assert all(isinstance(i, Rejected) and not i.malformed for i in items), items


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.data())
def test_people_are_valid_contacts_with_their_marker_in_name_and_address(
        data: st.DataObject) -> None:
    for i, person in enumerate(data.draw(people(CAST, 12))):
        event: dict[str, Any] = {"event_id": "00000000-0000-4000-8000-000000000000",
                                 "type": "purchase.completed", "schema_version": "1",
                                 "occurred_at": "2025-06-01T10:00:00+00:00", "source": "s",
                                 "data": {"order_id": "o", "email": person.email,
                                          "name": person.name}}
        parse_event(json.dumps(event).encode(), topic="purchases")
        assert f"pii{i}x" in person.email and f"Pii{i}Name" in person.name


def _webhook_answer(source: str, kind: str, body: bytes) -> int:
    """The status the ingest server gives a correctly signed delivery (`sources.ingest.app`):
    413 over its limit, else 200 once built, else its refusal status."""
    if len(body) > MAX_BODY_BYTES:
        return 413
    try:
        build_event(source, kind, "msg_1", body, received_at=datetime.now(UTC),
                    key_secret=SECRET)
    except InvalidEvent as exc:
        return refusal_status(exc.kind)
    return 200


@FAST
@given(st.data(), NTH)
def test_every_hostile_webhook_gets_an_answer_it_allows(data: st.DataObject, nth: int | None
                                                        ) -> None:
    """A case the endpoint would accept is no test of refusal (and the reverse): the drawn
    payload meets the answers it claims, the pipeline's own mapping and limits deciding."""
    hook = data.draw(hostile_webhook(CAST, "m1", nth))
    answer = _webhook_answer(hook.source, hook.kind, hook.body)
    assert answer in hook.answers, (hook.case, answer, hook.body[:300])
    if answer == 200:  # what is published carries the values the logs are searched for
        assert all(v.encode() in hook.body for v in hook.pii)
