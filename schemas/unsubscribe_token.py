"""Signed, expiring, per-recipient unsubscribe tokens (RFC 8058 one-click URLs).

The token names the contact by its key, not its address, so the URL leaks nothing if it ends
up in a proxy log; the HMAC stops anyone from unsubscribing someone else by editing it.
"""

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from schemas.exceptions import SchemaError
from schemas.keyed_hash import HmacSha256


class BadToken(SchemaError):
    """The token is malformed, tampered with or expired; `kind` says which."""

    def __init__(self, message: str, *, kind: str = "malformed") -> None:
        super().__init__(message)
        self.kind = kind  # "malformed" | "signature" | "expired"


@dataclass(frozen=True)
class UnsubscribeToken:
    contact_key: str
    purpose: str
    expires_at: datetime


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    """Unpadded URL-safe base64 (what `base64.urlsafe_b64encode` gives, minus its Python layer)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), b"unsubscribe:" + payload.encode(), hashlib.sha256).digest()
    return _b64(digest[:20])


class Signer:
    """Signs tokens fast for the send filter: HMAC key set up once, tokens reused within a day.

    Expiry is rounded up to the next whole day, so every request for one contact and purpose
    on one day gets the same token (at most a day longer than `ttl`), and the cache holds at
    most `max_cached` tokens before it is emptied. The day and the expiry are worked out once
    per `now` the caller passes (the filter passes one per batch): a campaign of distinct
    contacts misses the cache every time, and those two took a fifth of a token's cost.
    """

    def __init__(self, secret: str, ttl: timedelta, max_cached: int = 200_000) -> None:
        self._mac = HmacSha256(secret.encode(), prefix=b"unsubscribe:")
        self._ttl = ttl
        self._cache: dict[tuple[str, str], str] = {}
        self._day = -1
        self._max = max_cached
        self._now: datetime | None = None
        self._exp = 0

    def __call__(self, contact_key: str, purpose: str, now: datetime) -> str:
        if now is not self._now:
            self._at(now)
        token = self._cache.get((contact_key, purpose))
        if token is None:
            payload = _b64(orjson.dumps({"k": contact_key, "p": purpose, "e": self._exp}))
            token = f"{payload}.{_b64(self._mac.digest(payload.encode())[:20])}"
            if len(self._cache) >= self._max:
                self._cache = {}
            self._cache[(contact_key, purpose)] = token
        return token

    def _at(self, now: datetime) -> None:
        self._now = now
        day = int(now.timestamp()) // 86_400
        if day != self._day:
            self._cache, self._day = {}, day
        self._exp = (int((now + self._ttl).timestamp()) // 86_400 + 1) * 86_400


def sign(contact_key: str, purpose: str, secret: str, *, ttl: timedelta,
         now: datetime | None = None) -> str:
    exp = int(((now or datetime.now(UTC)) + ttl).timestamp())
    payload = _b64(json.dumps({"k": contact_key, "p": purpose, "e": exp},
                              separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify(token: str, secret: str, *, now: datetime | None = None) -> UnsubscribeToken:
    if not isinstance(token, str) or not token.isascii():
        raise BadToken("malformed token")
    try:
        payload, mac = token.split(".")
    except ValueError as exc:
        raise BadToken("malformed token") from exc
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        raise BadToken("token signature does not match", kind="signature")
    try:
        doc = json.loads(_unb64(payload))
        parsed = UnsubscribeToken(str(doc["k"]), str(doc["p"]),
                                  datetime.fromtimestamp(int(doc["e"]), UTC))
    except (ValueError, KeyError, TypeError) as exc:
        raise BadToken("malformed token") from exc
    if parsed.expires_at < (now or datetime.now(UTC)):
        raise BadToken("token has expired", kind="expired")
    return parsed
