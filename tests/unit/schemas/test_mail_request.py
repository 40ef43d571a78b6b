"""read_request gives the model's answer for every input, and the fast path serves our producers.

Why: the send filter reads requests through `schemas.mail_request`, which checks plainly valid
requests itself instead of asking the model. Should the two ever disagree, the filter would
decide a request the model refuses (or with other values), so agreement is checked here on
documents drawn from spellings each field may take, valid and not, canonical and not.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import parse_event
from schemas.exceptions import InvalidEvent
from schemas.mail_request import Request, _plain, of_model, read_request
from schemas.topics import MAIL_REQUESTS
from sources.producer import make_event
from tests.fuzz.strategies import Cast, hostile_input

CHECKS = settings(max_examples=1500, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MISSING = object()

UUIDS = ["0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
         "0f8fad5bd9cb469fa16570867728950e", "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
         "{0f8fad5b-d9cb-469f-a165-70867728950e}", "00000000-0000-0000-0000-000000000000",
         "0f8fad5b-d9cb-469f-a165-70867728950", "", "not-a-uuid", 12345, None,
         "0f8fad5b-d9cb-469f-a165-70867728950E", "0f8fad5b-d9cb-469f-a165-7086772895-e",
         "0f8fad5bd-9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950g",
         "0f8fad5b-d9cb-469f-a165-7086772895 e", "０f8fad5b-d9cb-469f-a165-70867728950e",
         "-0f8fad5bd9cb-469f-a165-70867728950e"]
TYPES = ["mail.requested", "purchase.completed", "mail.requested ", 5, None]
VERSIONS = ["1", "1.0", "1.2", "0.9", "01", "000001", "0000001", "2", "2.0", "1.", ".1", "１",
            "1\n", "1.0.0", "", 1, 1.0, None, "1.0a", "1.٠", " 1"]
TIMES = ["2026-12-04T03:16:17.314759+00:00", "2026-12-04T03:16:17+00:00",
         "2026-12-04T03:16:17.314759Z", "2026-12-04T03:16:17+02:00", "2026-12-04T03:16:17-05:30",
         "2026-12-04T03:16:17.000000+00:00", "2026-12-04T03:16:17-00:00",
         "2026-02-30T03:16:17+00:00", "1999-12-31T23:59:59+00:00", "2000-01-01T00:00:00+00:00",
         "2000-01-01T00:30:00+01:00", "2099-12-31T23:59:59.999999+00:00",
         "2099-12-31T23:30:00-01:00", "2100-01-01T00:00:00+00:00", "2026-12-04T03:16:17",
         "2026-12-04 03:16:17+00:00", "2026-12-04T03:16:17.3+00:00", "2026-12-04T24:00:00+00:00",
         "2026-12-04T03:16:60+00:00", "2026-12-04T03:16:17+23:59", "2026-12-04T03:16:17+24:00",
         "2026-12-04", "２026-12-04T03:16:17+00:00", 1764818177, None,
         "2026-12-04T03:16:17.314759+05:30:15", "2026-12-04T03:16:17+0530",
         "2026-12-04T03:16:17.314+00:00", "2026-12-04T03:16:17,314759+00:00",
         "20261204T031617.314759+00:00", "2026-12-04T03:16:17.314759-00:00",
         "2026-W49-5T03:16:17.314759+00:00", "2026-12-04T03:16:17.314759+00:0",
         "2026-12-04T03:16:17.3147590+00:00", "2026-12-04t03:16:17.314759+00:00",
         "2026-12-04T03:16:17.314759 00:00", "2026-12-04T03:16:17.314759+14:00"]
IDENTS = ["crm", "a" * 200, "a" * 201, "", "x\ny", "x\u2028y", "tab\there", "naïve", 7, None]
EMAILS = ["jane.doe@example.com", "Jane.Doe@Example.COM", "  jane@example.com ",
          "jane@bücher.example", "jané@example.com", "jane@localhost", "jane@example.invalid",
          "jane@@example.com", "jane@example", "a" * 65 + "@example.com",
          "x" * 310 + "@example.com", "jane@" + "a" * 320 + ".com", 1, None]
PURPOSES = ["special_offers", "transactional", "newsletter", "Special_Offers", "offers", 1, None,
            ["special_offers"]]
SUBJECTS = ["Offer", "", "a\nb", "é" * 998, "a" * 999, "line\u0085next", 3, None]
BODIES = ["Dear customer", "", "x" * 1_000_001, 4, None]
CAMPAIGNS = ["spring", MISSING, None, "", "a\tb", "a" * 201, 5]


ENVELOPE = {"event_id": UUIDS, "type": TYPES, "schema_version": VERSIONS, "occurred_at": TIMES,
            "source": IDENTS}
DATA = {"request_id": IDENTS, "email": EMAILS, "purpose": PURPOSES, "subject": SUBJECTS,
        "body": BODIES, "campaign": CAMPAIGNS}


@st.composite
def request_documents(draw: st.DrawFn) -> bytes:
    """A valid request (each field's first spelling) with up to three fields changed, so each
    check of the fast path meets values that only it would refuse."""
    changed = draw(st.sets(st.sampled_from([*ENVELOPE, *DATA]), max_size=3))

    def value(name: str, spellings: list[Any]) -> Any:
        if name not in changed:
            return spellings[0]
        return draw(st.sampled_from([*spellings, MISSING]))

    doc: dict[str, Any] = {k: v for k, spellings in ENVELOPE.items()
                           if (v := value(k, spellings)) is not MISSING}
    data = {k: v for k, spellings in DATA.items() if (v := value(k, spellings)) is not MISSING}
    if draw(st.booleans()):
        data["extra_field"] = draw(st.sampled_from(["x", 1, [1, 2], {"a": None}]))
    doc["data"] = data if draw(st.integers(0, 19)) else draw(st.sampled_from([None, [], "d"]))
    if draw(st.integers(0, 19)) == 0:
        doc["unexpected"] = "envelope key"
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


def _model(raw: bytes) -> Request | InvalidEvent:
    try:
        return of_model(parse_event(raw, topic=MAIL_REQUESTS))  # type: ignore[arg-type]  # the topic admits mail.requested only
    except InvalidEvent as exc:
        return exc


def _agree(raw: bytes) -> None:
    model = _model(raw)
    fast = _plain(raw)
    if fast is not None:
        assert not isinstance(model, InvalidEvent), f"fast path accepted what the model refuses: {model}"
        assert fast == model
    if isinstance(model, InvalidEvent):
        with pytest.raises(InvalidEvent) as refused:
            read_request(raw)
        assert (refused.value.reason, refused.value.kind) == (model.reason, model.kind)
    else:
        assert read_request(raw) == model


@CHECKS
@given(request_documents())
def test_the_fast_path_agrees_with_the_model(raw: bytes) -> None:
    _agree(raw)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_hostile_records_get_the_models_answer(data: st.DataObject) -> None:
    """Every hostile record of the fuzz harness, whichever topic it was drawn for."""
    cast = Cast(victims=("victim-a@example.com", "jérôme.v@bücher.example"),
                key_of=lambda e: e, tag="unit")
    hostile = data.draw(hostile_input(cast, "m1", data.draw(st.integers(0, 100_000))))
    if hostile.value is not None:
        _agree(hostile.value)


def test_requests_as_our_producers_write_them_take_the_fast_path() -> None:
    """Otherwise the filter silently pays the model's price for every request."""
    for occurred in (datetime.now(UTC), datetime(2026, 12, 4, 3, 16, 17, tzinfo=UTC)):
        event = make_event("mail.requested", {
            "request_id": "r-1", "email": "Jane.Doe@Example.com", "purpose": "newsletter",
            "subject": "News", "body": "Hello", "campaign": "winter"}, source="crm",
            occurred_at=occurred)
        raw = json.dumps(event).encode()
        fast = _plain(raw)
        assert fast is not None
        assert fast == _model(raw)
        assert fast.email == "jane.doe@example.com"
        assert str(uuid.UUID(fast.event_id)) == fast.event_id


def _plain_request() -> bytes:
    event = make_event("mail.requested", {
        "request_id": "r-1", "email": "jane@example.com", "purpose": "special_offers",
        "subject": "Offer", "body": "Hello", "campaign": "winter"}, source="crm",
        occurred_at=datetime(2026, 12, 4, 3, 16, 17, tzinfo=UTC))
    return json.dumps(event).encode()


PLAIN = _plain_request()
DATA_AT = PLAIN.index(b'"data": {') + len(b'"data": {')
SPELLINGS = {
    # the parsers must agree on what a byte string says, not only on what a document holds
    "duplicate key, valid last": PLAIN.replace(b'"source": "crm"', b'"source": 5, "source": "crm"'),
    "duplicate key, invalid last": PLAIN.replace(b'"source": "crm"', b'"source": "crm", "source": 5'),
    "duplicate data key": PLAIN[:DATA_AT] + b'"purpose": "newsletter", ' + PLAIN[DATA_AT:],
    "escaped NUL": PLAIN.replace(b'"Offer"', b'"Off\\u0000er"'),
    "escaped line separator": PLAIN.replace(b'"Offer"', b'"Off\\u2028er"'),
    "escaped letters": PLAIN.replace(b'"special_offers"', b'"special\\u005foffers"'),
    "escaped type": PLAIN.replace(b'"mail.requested"', b'"mail\\u002erequested"'),
    "lone surrogate": PLAIN.replace(b'"Offer"', b'"Off\\ud800er"'),
    "surrogate pair": PLAIN.replace(b'"Offer"', b'"Off\\ud83d\\ude00er"'),
    "raw surrogate bytes": PLAIN.replace(b'"Offer"', b'"Off\xed\xa0\x80er"'),
    "invalid UTF-8": PLAIN.replace(b'"Offer"', b'"Off\xffer"'),
    "byte order mark": b"\xef\xbb\xbf" + PLAIN,
    "surrounding space": b" \n" + PLAIN + b"\t ",
    "trailing data": PLAIN + b"{}",
    "two documents": PLAIN + PLAIN,
    "truncated": PLAIN[:-1],
    "big number in data": PLAIN[:DATA_AT] + b'"n": 123456789012345678901234567890, ' + PLAIN[DATA_AT:],
    "NaN in data": PLAIN[:DATA_AT] + b'"n": NaN, ' + PLAIN[DATA_AT:],
    "null campaign": PLAIN.replace(b'"winter"', b"null"),
    "empty": b"",
    "null": b"null",
}


@pytest.mark.parametrize("raw", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_byte_spellings_get_the_models_answer(raw: bytes) -> None:
    _agree(raw)


def test_the_plain_request_of_the_spellings_takes_the_fast_path() -> None:
    """So each spelling above differs from a request the fast path serves by that spelling only."""
    assert _plain(PLAIN) is not None
