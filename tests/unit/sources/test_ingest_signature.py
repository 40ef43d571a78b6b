"""Webhook signatures (`sources.ingest.signature`): what is signed, and what is refused."""

import base64
import hashlib
import hmac

import pytest

from sources.ingest.signature import BadSignature, sign, verify
from sources.settings import secret_bytes

KEY = b"a-signing-key-of-at-least-24-bytes"
BODY = b'{"order_id":"A-1"}'
NOW = 1_750_000_000


def headers(sig: str, delivery: str = "msg_1", ts: int = NOW) -> dict[str, str | None]:
    return {"webhook-id": delivery, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_the_signature_is_standard_webhooks_v1_over_id_timestamp_and_body() -> None:
    """Pinned against the spec's construction, so a provider's own library agrees with us."""
    mac = hmac.new(KEY, b"msg_1.1750000000." + BODY, hashlib.sha256).digest()
    assert sign(KEY, "msg_1", NOW, BODY) == "v1," + base64.b64encode(mac).decode()
    assert verify(KEY, headers(sign(KEY, "msg_1", NOW, BODY)), BODY, now=NOW,
                  tolerance_s=300) == "msg_1"


def test_any_of_several_signatures_may_match_while_a_provider_rotates() -> None:
    old = sign(b"the-previous-key-of-24-bytes-or-more", "msg_1", NOW, BODY)
    new = sign(KEY, "msg_1", NOW, BODY)
    for given in (f"{old} {new}", f"{new} {old}", f"v2,abc {new}"):
        assert verify(KEY, headers(given), BODY, now=NOW, tolerance_s=300) == "msg_1"


@pytest.mark.parametrize(("given", "outcome"), [
    (headers(sign(KEY, "msg_1", NOW, BODY), delivery="msg_2"), "bad_signature"),
    (headers(sign(KEY, "msg_1", NOW, BODY), ts=NOW + 1), "bad_signature"),
    (headers(sign(KEY, "msg_1", NOW, BODY + b" ")), "bad_signature"),
    (headers(sign(KEY, "msg_1", NOW, BODY).replace("v1,", "v2,")), "bad_signature"),
    (headers("v1,%%%"), "bad_signature"),
    (headers(""), "missing_signature"),
    ({"webhook-id": None, "webhook-timestamp": str(NOW), "webhook-signature": "v1,x"},
     "missing_signature"),
    (headers(sign(KEY, "msg 1", NOW, BODY), delivery="msg 1"), "bad_signature"),  # no spaces
    (headers(sign(KEY, "msg_1", NOW, BODY)) | {"webhook-timestamp": "1.5e9"}, "bad_signature"),
    (headers("v1,AAAA " * 200), "bad_signature"),
    (headers(sign(KEY, "msg_1", NOW - 301, BODY), ts=NOW - 301), "stale_timestamp"),
    (headers(sign(KEY, "msg_1", NOW + 301, BODY), ts=NOW + 301), "stale_timestamp"),
])
def test_refusals_say_which_check_failed(given: dict[str, str | None], outcome: str) -> None:
    with pytest.raises(BadSignature) as info:
        verify(KEY, given, BODY, now=NOW, tolerance_s=300)
    assert info.value.outcome == outcome


def test_the_ninth_signature_is_not_looked_at() -> None:
    """A header of thousands of candidates must not buy thousands of comparisons."""
    good = sign(KEY, "msg_1", NOW, BODY)
    with pytest.raises(BadSignature):
        verify(KEY, headers(" ".join(["v1,AAAA"] * 8 + [good])), BODY, now=NOW, tolerance_s=300)


def test_whsec_secrets_are_base64_and_others_their_utf8_bytes() -> None:
    assert secret_bytes("whsec_" + base64.b64encode(KEY).decode()) == KEY
    assert secret_bytes(KEY.decode()) == KEY
