"""Signed, expiring unsubscribe tokens: round trip, tampering, expiry, garbage."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.contact import contact_key
from schemas.exceptions import SchemaError
from schemas.unsubscribe_token import BadToken, Signer, UnsubscribeToken, sign, verify

SECRET = "token-test-secret"
KEY = contact_key("jane.doe@example.com", SECRET)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(days=60)


def token(purpose: str = "special_offers", **kw: object) -> str:
    return sign(KEY, purpose, SECRET, ttl=TTL, now=NOW, **kw)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_round_trip() -> None:
    parsed = verify(token(), SECRET, now=NOW + timedelta(days=1))
    assert parsed == UnsubscribeToken(KEY, "special_offers", NOW + TTL)


def test_token_is_url_safe_and_names_no_address() -> None:
    t = token()
    assert all(c.isalnum() or c in "-_." for c in t)
    assert "jane" not in t
    assert b"jane" not in unb64(t.split(".")[0])


def test_bad_token_is_a_schema_error() -> None:
    assert issubclass(BadToken, SchemaError)


def test_tokens_differ_per_purpose_and_contact() -> None:
    other = sign(contact_key("john@example.com", SECRET), "special_offers", SECRET,
                 ttl=TTL, now=NOW)
    assert len({token("special_offers"), token("newsletter"), other}) == 3


def test_token_from_another_secret_is_rejected() -> None:
    t = sign(KEY, "newsletter", "another-secret", ttl=TTL, now=NOW)
    with pytest.raises(BadToken, match="signature"):
        verify(t, SECRET, now=NOW)


def test_tampered_payload_is_rejected() -> None:
    payload, mac = token("special_offers").split(".")
    doc = json.loads(unb64(payload))
    for field, value in [("p", "transactional"), ("k", "0" * 64), ("e", doc["e"] + 86400 * 365)]:
        forged = b64(json.dumps({**doc, field: value}, separators=(",", ":")).encode())
        with pytest.raises(BadToken, match="signature"):
            verify(f"{forged}.{mac}", SECRET, now=NOW)


def test_tampered_mac_is_rejected() -> None:
    payload, mac = token().split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    for bad in [flipped, mac[:-1], mac + "A", "", mac.upper() if mac.upper() != mac else "x"]:
        with pytest.raises(BadToken):
            verify(f"{payload}.{bad}", SECRET, now=NOW)


def test_expired_token_is_rejected() -> None:
    t = token()
    assert verify(t, SECRET, now=NOW + TTL).expires_at == NOW + TTL  # last valid instant
    with pytest.raises(BadToken, match="expired"):
        verify(t, SECRET, now=NOW + TTL + timedelta(seconds=1))


def test_default_clock_is_used_when_now_is_omitted() -> None:
    fresh = sign(KEY, "newsletter", SECRET, ttl=timedelta(hours=1))
    assert verify(fresh, SECRET).purpose == "newsletter"
    stale = sign(KEY, "newsletter", SECRET, ttl=timedelta(hours=1),
                 now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(BadToken, match="expired"):
        verify(stale, SECRET)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("nodot", id="no-dot"),
        pytest.param("a.b.c", id="two-dots"),
        pytest.param(".", id="only-dot"),
    ],
)
def test_malformed_tokens_are_rejected(bad: str) -> None:
    with pytest.raises(BadToken):
        verify(bad, SECRET, now=NOW)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1,2,3]", id="array"),
        pytest.param(b'{"k":"x","p":"y"}', id="no-expiry"),
        pytest.param(b'{"k":"x","p":"y","e":"soon"}', id="bad-expiry"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_correctly_signed_garbage_is_malformed(payload: bytes) -> None:
    # Only the secret's holder could produce these; they must still not crash `verify`.
    from schemas.unsubscribe_token import _mac

    encoded = b64(payload)
    with pytest.raises(BadToken, match="malformed"):
        verify(f"{encoded}.{_mac(SECRET, encoded)}", SECRET, now=NOW)


@given(st.text(max_size=120))
def test_arbitrary_text_raises_bad_token_and_nothing_else(text: str) -> None:
    # The token arrives in a URL anyone can edit: garbage must be a BadToken (HTTP 400),
    # never another exception (HTTP 500).
    with pytest.raises(BadToken):
        verify(text, SECRET, now=NOW)


def test_non_ascii_signature_part_is_a_bad_token() -> None:
    payload, _ = token().split(".")
    with pytest.raises(BadToken):
        verify(f"{payload}.é", SECRET, now=NOW)


# ------------------------------------------------------------------ the send filter's signer


def test_signer_tokens_verify_and_expire_at_the_next_whole_day() -> None:
    signer = Signer(SECRET, TTL)
    parsed = verify(signer(KEY, "special_offers", NOW), SECRET, now=NOW)
    assert parsed.contact_key == KEY and parsed.purpose == "special_offers"
    assert parsed.expires_at == datetime(2026, 5, 1, tzinfo=UTC)  # NOW + 60 days, rounded up


def test_signer_works_out_the_expiry_for_each_new_now() -> None:
    """The expiry is cached per `now` object; a later one on another day gets its own."""
    signer = Signer(SECRET, TTL)
    signer(KEY, "special_offers", NOW)
    later = NOW + timedelta(days=3)
    parsed = verify(signer(KEY, "special_offers", later), SECRET, now=later)
    assert parsed.expires_at == datetime(2026, 5, 4, tzinfo=UTC)
    with pytest.raises(BadToken, match="expired"):
        verify(signer(KEY, "special_offers", NOW), SECRET, now=datetime(2026, 5, 2, tzinfo=UTC))


def test_signer_reuses_a_token_within_a_day_only() -> None:
    signer = Signer(SECRET, TTL)
    first = signer(KEY, "special_offers", NOW)
    assert signer(KEY, "special_offers", NOW + timedelta(hours=11)) == first
    assert signer(KEY, "newsletter", NOW) != first
    assert signer(KEY, "special_offers", NOW + timedelta(hours=12)) != first  # the next day


def test_signer_cache_stays_within_its_bound() -> None:
    signer = Signer(SECRET, TTL, max_cached=10)
    keys = [f"{i:064x}" for i in range(25)]
    tokens = [signer(k, "special_offers", NOW) for k in keys]
    assert len(signer._cache) <= 10
    assert [verify(t, SECRET, now=NOW).contact_key for t in tokens] == keys
