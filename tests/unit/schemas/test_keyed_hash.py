"""The pre-keyed HMAC-SHA256 gives the standard library's HMAC, for every key and message."""

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from schemas.keyed_hash import HmacSha256

# around SHA-256's 64-byte block: shorter keys are padded, longer ones hashed first
KEYS = st.one_of(st.binary(max_size=200), st.binary(min_size=63, max_size=66))


@given(key=KEYS, prefix=st.binary(max_size=80), msg=st.binary(max_size=300))
def test_is_hmac_sha256_of_prefix_and_message(key: bytes, prefix: bytes, msg: bytes) -> None:
    mac = HmacSha256(key, prefix=prefix)
    expected = hmac.new(key, prefix + msg, hashlib.sha256)
    assert mac.digest(msg) == expected.digest()
    assert mac.hexdigest(msg) == expected.hexdigest()


def test_rfc_4231_case_2() -> None:
    """A published test vector, so a shared mistake with `hmac` could not pass unseen."""
    mac = HmacSha256(b"Jefe")
    assert mac.hexdigest(b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_calls_do_not_disturb_each_other() -> None:
    mac = HmacSha256(b"k" * 32)
    first = mac.digest(b"one")
    mac.digest(b"two" * 100)
    assert mac.digest(b"one") == first
