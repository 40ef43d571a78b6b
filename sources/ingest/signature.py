"""Webhook signatures: HMAC-SHA256 over the delivery id, the timestamp and the raw body.

The scheme is Standard Webhooks' (https://www.standardwebhooks.com, used by Svix and others),
so providers that already sign that way need no code of ours:

    webhook-id:        the delivery's id, the same on every retry of one message
    webhook-timestamp: Unix seconds when this attempt was sent
    webhook-signature: v1,<base64 of HMAC-SHA256(secret, "<id>.<timestamp>.<raw body>")>
                       (several, separated by spaces, while a provider rotates its secret)

Why the id and the timestamp are signed with the body, not beside it: a signature over the
body alone would let whoever captured one request replay it with a fresh timestamp (so the
tolerance stops nothing) or with a new id (so it becomes a new event instead of a duplicate).
Comparisons are constant-time (`hmac.compare_digest`), and the reasons given back say which
check failed, never what was expected.
"""

import base64
import binascii
import hashlib
import hmac
import re

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

MAX_SIGNATURES = 8
_ID = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces: it is signed and logged
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class BadSignature(Exception):
    """A request that is not provably from the source: `outcome` is its metric label."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def signed_content(delivery_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{delivery_id}.{timestamp}.".encode("ascii") + body


def sign(key: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value a provider sends: what integrators and tests sign with."""
    mac = hmac.new(key, signed_content(delivery_id, timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify(key: bytes, headers: dict[str, str | None], body: bytes, *, now: float,
           tolerance_s: int) -> str:
    """The delivery id of a genuinely signed, fresh request; `BadSignature` otherwise.

    `headers` holds the three header values (None when absent). Checks run from cheapest to
    dearest; every failure is the same 401 to the caller, and only the outcome differs.
    """
    delivery_id = headers.get(ID_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if not delivery_id or not stamp or not given:
        raise BadSignature("missing_signature", "missing webhook-id, webhook-timestamp or "
                           "webhook-signature header")
    if not _ID.match(delivery_id) or not _TIMESTAMP.match(stamp) or len(given) > 1024:
        raise BadSignature("bad_signature", "malformed signature headers")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        raise BadSignature("stale_timestamp", "webhook-timestamp is outside the tolerance")
    expected = hmac.new(key, signed_content(delivery_id, timestamp, body),
                        hashlib.sha256).digest()
    matched = False
    for entry in given.split(" ")[:MAX_SIGNATURES]:
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # no early exit: every candidate is compared, so timing says nothing about which
        matched |= hmac.compare_digest(candidate, expected)
    if not matched:
        raise BadSignature("bad_signature", "the signature does not match")
    return delivery_id
