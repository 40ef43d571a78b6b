"""E-mail addresses: one definition of valid for the whole pipeline, and the contact key.

Why a kept library decides: every component that accepts an address (events, requests, the
mailer, imports) must agree on what it is, or an address that normalises differently in two
places gets a contact key of its own and slips past an opt-out (`x<victim@d`, `victim(c)@d`).
`email-validator` accepts a plain addr-spec only (no display name, comment, quoted local part,
route or domain literal) and handles internationalised domains and local parts (RFC 6531);
anything else is refused with a reason, never guessed at.

Why a fast path: the library costs about 60 µs an address, which alone would cap the send filter
below its floor. Plain ASCII addresses (dot-atom local part, letters-digits-hyphen domain with an
alphabetic top-level label, no IDNA label, no special-use name) are a strict subset of what the
library accepts and normalise to their lower case; `tests/unit/schemas/test_contact.py` checks
with generated addresses that the fast path never accepts what the library refuses and always
gives the library's result. Everything else goes through the library.

The contact key is the only identity that travels in Kafka keys, metric labels and logs: a keyed
HMAC-SHA256 of the normalised address (a plain hash of an e-mail is trivially reversed with a
list of addresses).
"""

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from schemas.exceptions import ConsentError, InvalidEmail
from schemas.keyed_hash import HmacSha256

DEV_KEY_SECRET = "consent-dev-secret-do-not-use-in-production"  # noqa: S105 - refused, see below
"""Once the documented default; kept only so that it is refused everywhere."""
MAX_ADDRESS_CHARS = 320

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
# IDNA 2008 refuses "--" in the 3rd and 4th places of a label (that is where "xn--" goes)
_LABEL = r"(?![a-z0-9]{2}--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FAST = re.compile(
    rf"(?P<local>{_ATEXT}{{1,64}}(?:\.{_ATEXT}{{1,64}})*)@(?P<domain>(?:{_LABEL}\.)+(?P<tld>[a-z]{{2,63}}))"
)
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
# every special-use name is a single label today; were one to gain a dot, the fast path would
# have to check every suffix, so it then steps aside for the library altogether
_SPECIAL_SINGLE_LABELS = all("." not in s for s in _SPECIAL)


def check_key_secret(secret: str, environment: str) -> None:
    """Refuse secrets anyone knows: with them contact keys are reversible and links forgeable.

    An empty secret (unset, or an unset Kubernetes secret that arrives as an empty variable)
    and the value once published as a development default are refused in every environment;
    the local stack generates a secret per instance (`.local/<instance>/key_secret`).
    """
    if not secret:
        raise ConsentError("CONSENT_KEY_SECRET must be set (the local stack keeps one in "
                           ".local/<instance>/key_secret)")
    if secret == DEV_KEY_SECRET:
        raise ConsentError("CONSENT_KEY_SECRET is the published development value; "
                           "use a secret of your own")


def _fast(text: str) -> str | None:
    """The normalised address when `text` is plainly valid ASCII, else None (ask the library)."""
    m = _FAST.fullmatch(text)
    if m is None or len(m["local"]) > 64 or len(text) > 254:
        return None
    if len(m["domain"]) > 253 or not _SPECIAL_SINGLE_LABELS or m["tld"] in _SPECIAL:
        return None
    return text


@lru_cache(maxsize=65_536)
def _library(text: str) -> str:
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=True,
                               allow_quoted_local=False, allow_domain_literal=False,
                               allow_display_name=False, allow_empty_local=False,
                               strict=True)
    except EmailNotValidError as exc:  # the library's message may quote the input: not ours
        raise InvalidEmail(_reason(text)) from exc
    if valid.ascii_domain is None:
        raise InvalidEmail("e-mail domain is not a valid internationalised name")
    return f"{valid.local_part}@{valid.ascii_domain}"


def _reason(text: str) -> str:
    """Why an address is refused, in our words: never the address or a piece of it."""
    if text.count("@") != 1:
        return "e-mail must be a plain address with exactly one '@'"
    local, domain = text.split("@")
    if any(c in text for c in "<>()[]:;,\"\\ "):
        return "e-mail must be a plain address (no display name, comment, quoting or route)"
    if not local:
        return "e-mail local part is empty"
    if len(local) > 64:
        return "e-mail local part is longer than 64 characters"
    if "." not in domain:
        return "e-mail domain must have a dot"
    return "e-mail address is not valid"


def normalise_email(raw: str) -> str:
    """Trim, NFKC, lower-case, validate, IDNA-encode the domain: one mailbox, one spelling."""
    if not isinstance(raw, str):
        raise InvalidEmail("e-mail must be a string")
    if len(raw) > MAX_ADDRESS_CHARS:
        raise InvalidEmail(f"e-mail is longer than {MAX_ADDRESS_CHARS} characters")
    text = raw.strip()
    if text.isascii():
        text = text.lower()
        fast = _fast(text)
        if fast is not None:
            return fast
    else:
        text = unicodedata.normalize("NFKC", text).lower()
    return _library(text)


class KeyHasher:
    """The contact key function with its HMAC key set up once (the filter calls it per request)."""

    def __init__(self, secret: str) -> None:
        self._mac = HmacSha256(secret.encode("utf-8"))

    def key_of_normalised(self, normalised: str) -> str:
        return self._mac.hexdigest(normalised.encode("utf-8"))

    def __call__(self, email: str) -> str:
        return self.key_of_normalised(normalise_email(email))


def contact_key(email: str, secret: str) -> str:
    """Lower-case hex HMAC-SHA256 of the normalised address under `secret`."""
    normalised = normalise_email(email)
    return hmac.new(secret.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()
