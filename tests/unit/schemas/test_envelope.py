"""parse_event: bytes in, a typed event or an InvalidEvent whose reason holds no personal data."""

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import MAX_EVENT_BYTES, parse_event
from schemas.events import (
    ErasureRequested,
    MailRequested,
    NewsletterConfirmed,
    NewsletterSignup,
    NewsletterUnsubscribed,
    PreferenceChanged,
    PurchaseCompleted,
    SupportMessageReceived,
)
from schemas.exceptions import InvalidEvent
from schemas.purposes import Purpose
from schemas.topics import topic_for_type

EMAIL = "john.doe@example.com"
LOCAL = "john.doe"
NAME = "Johnathan Doe-Smithers"
PHONE = "+44 20 7946 0958"
PERSONAL = (EMAIL, LOCAL, NAME, PHONE, "7946 0958")

DATA: dict[str, dict[str, Any]] = {
    "purchase.completed": {
        "order_id": "ord-1",
        "email": EMAIL,
        "name": NAME,
        "company": "Example Ltd",
        "phone": PHONE,
        "address": "1 Example Street, London",
        "country": "GB",
        "marketing_opt_out": False,
    },
    "support.message_received": {
        "ticket_id": "t-1",
        "email": EMAIL,
        "channel": "email",
        "text": f"Hello, this is {NAME}, call me on {PHONE}",
    },
    "newsletter.signup": {"email": EMAIL, "confirmation_token": "tok-1"},
    "newsletter.confirmed": {"email": EMAIL, "confirmation_token": "tok-1"},
    "newsletter.unsubscribed": {"email": EMAIL, "scope": "all"},
    "preference.changed": {"email": EMAIL, "changes": {"special_offers": "withdrawn"}},
    "contact.erasure_requested": {"email": EMAIL, "request_ref": "dsr-1"},
    "mail.requested": {
        "request_id": "req-1",
        "email": EMAIL,
        "purpose": "special_offers",
        "subject": "Offer",
        "body": f"Dear {NAME}",
    },
}

MODELS = {
    "purchase.completed": PurchaseCompleted,
    "support.message_received": SupportMessageReceived,
    "newsletter.signup": NewsletterSignup,
    "newsletter.confirmed": NewsletterConfirmed,
    "newsletter.unsubscribed": NewsletterUnsubscribed,
    "preference.changed": PreferenceChanged,
    "contact.erasure_requested": ErasureRequested,
    "mail.requested": MailRequested,
}


def doc(event_type: str = "purchase.completed", **envelope: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_id": "0b6f5f58-4a0e-4d8f-9d51-6b3c7f0a8e21",
        "type": event_type,
        "schema_version": "1.0",
        "occurred_at": "2026-03-01T10:15:00+01:00",
        "source": "unit-test",
        "data": copy.deepcopy(DATA[event_type]),
    }
    out.update(envelope)
    return out


def raw(d: Any) -> bytes:
    return json.dumps(d).encode("utf-8")


def invalid(data: bytes | None, **kw: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        parse_event(data, **kw)
    return info.value


# --- valid events ----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", list(MODELS))
def test_every_event_type_parses_into_its_model(event_type: str) -> None:
    event = parse_event(raw(doc(event_type)))
    assert type(event) is MODELS[event_type]
    assert event.type == event_type
    assert event.data.email == EMAIL  # type: ignore[attr-defined]
    assert str(event.event_id) == "0b6f5f58-4a0e-4d8f-9d51-6b3c7f0a8e21"
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize("event_type", list(MODELS))
def test_every_event_type_is_accepted_on_its_own_topic(event_type: str) -> None:
    event = parse_event(raw(doc(event_type)), topic=topic_for_type(event_type))
    assert event.type == event_type


def test_email_is_normalised_on_parse() -> None:
    d = doc()
    d["data"]["email"] = "  John.Doe@EXAMPLE.com "
    assert parse_event(raw(d)).data.email == EMAIL  # type: ignore[attr-defined]


def test_purchase_fields_are_typed() -> None:
    d = doc()
    d["data"]["marketing_opt_out"] = True
    event = parse_event(raw(d))
    assert isinstance(event, PurchaseCompleted)
    assert event.data.marketing_opt_out is True
    assert event.data.order_id == "ord-1"


def test_preference_changes_are_purposes() -> None:
    event = parse_event(raw(doc("preference.changed")))
    assert isinstance(event, PreferenceChanged)
    assert event.data.changes == {Purpose.SPECIAL_OFFERS: "withdrawn"}


def test_preference_may_name_the_contact_by_key_instead_of_email() -> None:
    d = doc("preference.changed")
    del d["data"]["email"]
    d["data"]["contact_key"] = "ab" * 32
    event = parse_event(raw(d))
    assert isinstance(event, PreferenceChanged)
    assert event.data.contact_key == "ab" * 32
    assert event.data.email is None


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"changes": {"newsletter": "withdrawn"}}, id="neither"),
        pytest.param({"email": EMAIL, "contact_key": "ab" * 32, "all": "withdrawn"}, id="both"),
        pytest.param({"contact_key": "AB" * 32, "all": "withdrawn"}, id="upper-case-key"),
        pytest.param({"contact_key": "ab" * 31, "all": "withdrawn"}, id="short-key"),
        pytest.param({"contact_key": EMAIL, "all": "withdrawn"}, id="email-as-key"),
    ],
)
def test_preference_needs_exactly_one_valid_contact(data: dict[str, Any]) -> None:
    err = invalid(raw(doc("preference.changed", data=data)))
    assert err.kind == "invalid_fields"
    assert EMAIL not in err.reason and LOCAL not in err.reason


@pytest.mark.parametrize("version", ["1", "1.0", "1.7", "1.42"])
def test_same_major_version_is_accepted(version: str) -> None:
    assert parse_event(raw(doc(schema_version=version))).schema_version == version


def test_extra_data_fields_are_accepted_and_kept() -> None:
    d = doc()
    d["data"]["loyalty_tier"] = "gold"
    event = parse_event(raw(d))
    assert event.data.model_extra == {"loyalty_tier": "gold"}


def test_optional_fields_take_their_defaults() -> None:
    d = doc("newsletter.unsubscribed")
    del d["data"]["scope"]
    event = parse_event(raw(d))
    assert isinstance(event, NewsletterUnsubscribed)
    assert event.data.scope == "newsletter"


def test_events_are_frozen() -> None:
    event = parse_event(raw(doc()))
    with pytest.raises(ValueError, match="frozen"):
        event.source = "other"  # type: ignore[misc]


# --- invalid events: kinds -------------------------------------------------------------------


def test_missing_value_is_empty() -> None:
    assert invalid(None).kind == "empty"


def test_oversized_value_is_too_large() -> None:
    err = invalid(b" " * (MAX_EVENT_BYTES + 1))
    assert err.kind == "too_large"
    assert str(MAX_EVENT_BYTES) in err.reason


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty-bytes"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"purchase.completed"', id="string"),
        pytest.param(b"null", id="null"),
    ],
)
def test_not_a_json_object_is_invalid_json(data: bytes) -> None:
    err = invalid(data)
    assert err.kind == "invalid_json"
    assert err.reason


@pytest.mark.parametrize("event_type", ["purchase.refunded", "", None, 42])
def test_unknown_type_is_unknown_type(event_type: Any) -> None:
    err = invalid(raw(doc(type=event_type)))
    assert err.kind == "unknown_type"


def test_unknown_type_reason_names_a_plausible_type() -> None:
    assert "purchase.refunded" in invalid(raw(doc(type="purchase.refunded"))).reason


def test_missing_type_is_unknown_type() -> None:
    d = doc()
    del d["type"]
    assert invalid(raw(d)).kind == "unknown_type"


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [
        ("purchase.completed", "support"),
        ("support.message_received", "purchases"),
        ("mail.requested", "preferences"),
        ("preference.changed", "mail-requests"),
        ("newsletter.signup", "preferences"),
    ],
)
def test_event_on_the_wrong_topic_is_wrong_topic(event_type: str, topic: str) -> None:
    err = invalid(raw(doc(event_type)), topic=topic)
    assert err.kind == "wrong_topic"
    assert event_type in err.reason


@pytest.mark.parametrize("version", ["2", "2.0", "10.1"])
def test_newer_major_version_is_unsupported(version: str) -> None:
    err = invalid(raw(doc(schema_version=version)))
    assert err.kind == "unsupported_version"


def test_unsupported_version_wins_over_invalid_fields_of_the_newer_schema() -> None:
    d = doc(schema_version="2.0")
    d["data"] = {"contact": {"mail": EMAIL}}  # a v2 shape we cannot read
    assert invalid(raw(d)).kind == "unsupported_version"


@pytest.mark.parametrize("version", ["v1", "1.x", "", "1.0.0", None, 1])
def test_malformed_version_is_invalid_fields(version: Any) -> None:
    assert invalid(raw(doc(schema_version=version))).kind == "invalid_fields"


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-03-01T10:15:00", "2026-03-01T10:15:00.123456", "2026-03-01", "yesterday", None],
)
def test_occurred_at_must_be_timezone_aware(occurred_at: Any) -> None:
    err = invalid(raw(doc(occurred_at=occurred_at)))
    assert err.kind == "invalid_fields"
    assert "occurred_at" in err.reason


def test_extra_envelope_field_is_rejected() -> None:
    err = invalid(raw(doc(priority="high")))
    assert err.kind == "invalid_fields"
    # an unknown key may be an address or a name put where a field name goes: never repeated
    assert err.reason == "<key>: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("event_type", "mutate", "field"),
    [
        ("purchase.completed", lambda d: d["data"].pop("order_id"), "data.order_id"),
        ("purchase.completed", lambda d: d.__setitem__("event_id", "not-a-uuid"), "event_id"),
        ("support.message_received", lambda d: d["data"].update(channel="fax"), "data.channel"),
        ("support.message_received", lambda d: d["data"].update(intent="maybe"), "data.intent"),
        ("newsletter.unsubscribed", lambda d: d["data"].update(scope="some"), "data.scope"),
        ("preference.changed", lambda d: d["data"].update(changes={}), "data"),
        (
            "preference.changed",
            lambda d: d["data"].update(changes={"transactional": "withdrawn"}),
            "data",
        ),
        ("mail.requested", lambda d: d["data"].update(purpose="spam"), "data.purpose"),
        ("contact.erasure_requested", lambda d: d["data"].update(request_ref=""), "request_ref"),
        ("purchase.completed", lambda d: d.update(source=""), "source"),
    ],
)
def test_invalid_fields_are_named(event_type: str, mutate: Any, field: str) -> None:
    d = doc(event_type)
    mutate(d)
    err = invalid(raw(d))
    assert err.kind == "invalid_fields"
    assert field in err.reason


def test_transactional_cannot_be_withdrawn() -> None:
    d = doc("preference.changed")
    d["data"]["changes"] = {"transactional": "withdrawn"}
    assert "transactional" in invalid(raw(d)).reason


# --- reasons never carry personal data ------------------------------------------------------


def _set(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = d
        for p in parents:
            target = target[p]
        target[last] = value

    return mutate


PC, SM, PR = "purchase.completed", "support.message_received", "preference.changed"
PII_CASES = [
    # (event type, mutation); every mutated event still carries EMAIL/NAME/PHONE somewhere.
    pytest.param("mail.requested", _set("data.purpose", "offers"), id="bad-purpose-valid-email"),
    pytest.param(PC, _set("data.email", "john.doe@@x"), id="email-double-at"),
    pytest.param(PC, _set("data.email", "john.doe@x"), id="email-one-label"),
    pytest.param(PC, _set("data.email", "john.doe@example..com"), id="email-dots"),
    pytest.param(PC, _set("data.email", f"{NAME} <{EMAIL}>"), id="display-name"),
    pytest.param(PC, _set("data.email", EMAIL + "x" * 320), id="email-too-long"),
    pytest.param(PC, _set("data.name", NAME * 40), id="name-too-long"),
    pytest.param(PC, _set("data.name", {"first": NAME}), id="name-not-a-string"),
    pytest.param(PC, _set("data.phone", [PHONE]), id="phone-not-a-string"),
    pytest.param(PC, _set("data.country", PHONE * 10), id="phone-as-country"),
    pytest.param(PC, _set("data.marketing_opt_out", NAME), id="name-as-bool"),
    pytest.param(PC, _set("data.order_id", NAME * 20), id="name-as-order-id"),
    pytest.param(PC, _set("event_id", EMAIL), id="email-as-event-id"),
    pytest.param(PC, _set("occurred_at", PHONE), id="phone-as-time"),
    pytest.param(PC, _set("source", NAME * 20), id="name-as-long-source"),
    pytest.param(PC, _set("schema_version", NAME), id="name-as-version"),
    pytest.param(PC, _set("schema_version", "1.x" + EMAIL), id="email-in-version"),
    pytest.param(PC, _set("data", EMAIL), id="email-as-data"),
    pytest.param(SM, _set("data.channel", PHONE), id="phone-as-channel"),
    pytest.param(SM, _set("data.text", NAME * 2000), id="text-too-long"),
    pytest.param(SM, _set("data.intent", NAME), id="name-as-intent"),
    pytest.param("newsletter.unsubscribed", _set("data.scope", EMAIL), id="email-as-scope"),
    pytest.param(PR, _set("data.all", NAME), id="name-as-all"),
    pytest.param(
        "preference.changed", _set("data.changes", {"newsletter": PHONE}), id="phone-as-choice"
    ),
    pytest.param(
        "preference.changed", _set("data.changes", {EMAIL: "granted"}), id="email-as-purpose-key"
    ),
    pytest.param(
        "preference.changed", _set("data.changes", {NAME: "withdrawn"}), id="name-as-purpose-key"
    ),
    pytest.param(PC, _set("type", EMAIL), id="email-as-type"),
    pytest.param(PC, _set("type", NAME), id="name-as-type"),
    pytest.param(PC, lambda d: d.update({EMAIL: True}), id="email-as-envelope-key"),
    pytest.param("mail.requested", _set("data.subject", NAME * 100), id="subject-too-long"),
]


@pytest.mark.parametrize(("event_type", "mutate"), PII_CASES)
def test_invalid_event_reason_never_contains_personal_data(event_type: str, mutate: Any) -> None:
    d = doc(event_type)
    mutate(d)
    err = invalid(raw(d))
    assert err.kind in {"invalid_fields", "unknown_type"}
    for secret in PERSONAL:
        assert secret.casefold() not in err.reason.casefold(), (err.kind, err.reason)
        assert secret.casefold() not in str(err).casefold()


@pytest.mark.parametrize("topic", ["support", "newsletter"])
def test_wrong_topic_reason_carries_no_personal_data(topic: str) -> None:
    err = invalid(raw(doc("purchase.completed")), topic=topic)
    for secret in PERSONAL:
        assert secret not in err.reason


def test_invalid_json_reason_carries_no_personal_data() -> None:
    text = raw(doc())[:-5] + b" " + EMAIL.encode()
    err = invalid(text)
    assert err.kind == "invalid_json"
    for secret in PERSONAL:
        assert secret not in err.reason


# --- fuzz ------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_anything_but_invalid_event(data: bytes) -> None:
    try:
        parse_event(data)
    except InvalidEvent as err:
        assert err.kind in {"invalid_json", "unknown_type", "invalid_fields", "unsupported_version",
                            "over_limit"}
        assert err.reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    event_type=st.sampled_from(list(MODELS)),
    path=st.sampled_from(
        ["type", "schema_version", "occurred_at", "event_id", "source", "data",
         "data.email", "data.changes", "data.all", "data.scope", "data.purpose", "data.intent",
         "data.channel", "data.text", "data.name", "data.marketing_opt_out"]
    ),
    value=_json,
    topic=st.sampled_from([None, "purchases", "support", "newsletter", "preferences"]),
)
def test_mutated_events_parse_or_raise_invalid_event(
    event_type: str, path: str, value: Any, topic: str | None
) -> None:
    d = doc(event_type)
    _set(path, value)(d)
    try:
        event = parse_event(raw(d), topic=topic)
    except InvalidEvent as err:
        # Python's json writes Infinity for an infinite float: not JSON, and refused as such
        assert err.kind in {"unknown_type", "wrong_topic", "unsupported_version", "invalid_fields",
                            "invalid_json", "over_limit"}
    else:
        assert event.type in MODELS


# --- bounded input (one hostile message once stopped the worker on every restart) -------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"[" * 100_000, id="100k-open-brackets"),
        pytest.param(b'{"a":' + b"[" * 2_000 + b"]" * 2_000 + b"}", id="nesting-2000"),
        pytest.param(b'{"type": "purchase.completed", "n": ' + b"9" * 5_000 + b"}", id="5000-digits"),
        pytest.param(b"{}" + b" " * (MAX_EVENT_BYTES + 1), id="over-size"),
    ],
)
def test_hostile_documents_are_refused_before_any_model_sees_them(payload: bytes) -> None:
    err = invalid(payload)
    assert err.kind in {"over_limit", "too_large", "invalid_json"}
    assert len(err.reason) < 120


def test_deep_nesting_inside_an_allowed_extra_field_is_over_the_limit() -> None:
    d = doc()
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    d["data"]["extra"] = deep
    assert invalid(raw(d)).kind == "over_limit"


def test_a_number_beyond_a_double_inside_data_is_over_the_limit() -> None:
    d = doc()
    d["data"]["extra"] = 10**400  # json writes it digit by digit
    assert invalid(raw(d)).kind == "over_limit"


def test_too_many_items_is_over_the_limit() -> None:
    d = doc()
    d["data"]["extra"] = list(range(5_000))
    assert invalid(raw(d)).kind == "over_limit"


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
                                  "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_event_times_outside_2000_to_2100_are_invalid(when: str) -> None:
    err = invalid(raw(doc(occurred_at=when)))
    assert err.kind == "invalid_fields"
    assert "occurred_at" in err.reason


def test_an_unknown_data_key_is_never_echoed() -> None:
    d = doc("preference.changed")
    d["data"]["changes"] = {"victim@example.com": "granted"}
    err = invalid(raw(d))
    assert "victim" not in err.reason


_any_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8),
                                                                       children, max_size=6),
    max_leaves=60)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_any_json)
def test_the_byte_precheck_never_lets_a_document_over_the_limits_skip_the_walk(doc: Any) -> None:
    """The fast path may only say yes when the full walk would say yes too."""
    import orjson

    from schemas.envelope import check_limits, plainly_within_limits
    raw = orjson.dumps(doc)
    if plainly_within_limits(raw):
        check_limits(doc)  # must not raise


def test_the_byte_precheck_says_no_to_what_the_walk_refuses() -> None:
    from schemas.envelope import plainly_within_limits
    assert not plainly_within_limits(b"[" * 40 + b"]" * 40)
    assert not plainly_within_limits(b"[" + b"1," * 3000 + b"1]")
    assert plainly_within_limits(b'{"type": "x", "data": {"a": [1, 2]}}')


@pytest.mark.parametrize("version", ["１", "١", "߁.0", "¹", "²", "1.١"])
def test_schema_version_takes_ascii_digits_only(version: str) -> None:
    """Found by the fuzz harness: "１" and "١" passed as version 1 (both `str.isdigit()` and the
    pattern's `\\d` admit any Unicode digit) and "¹" escaped parse_event as a bare ValueError,
    which the worker filed as a processing error instead of an invalid event."""
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw(doc(schema_version=version)))
    assert caught.value.kind == "invalid_fields"
