"""E-mail normalisation and the contact key.

The contact key is the only identity that travels in Kafka keys, metric labels and logs, so it
must be stable for every spelling of one address and reveal nothing about it: a keyed
HMAC-SHA256 of the normalised address (a plain hash of an e-mail is trivially reversed with a
list of addresses).
"""

import hashlib
import hmac
import re
import unicodedata

from schemas.exceptions import ConsentError, InvalidEmail

DEV_KEY_SECRET = "consent-dev-secret-do-not-use-in-production"  # noqa: S105 - documented default

_LOCAL_PART = re.compile(r"^[^\s@]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_key_secret(secret: str, environment: str) -> None:
    """Refuse secrets anyone knows: with them contact keys are reversible and links forgeable.

    An empty secret (an unset Kubernetes secret often arrives as an empty variable) is refused
    everywhere, the documented development default in production.
    """
    if not secret:
        raise ConsentError("CONSENT_KEY_SECRET must not be empty")
    if environment.strip().lower() == "production" and secret == DEV_KEY_SECRET:
        raise ConsentError("CONSENT_KEY_SECRET must be set in production")


def normalise_email(raw: str) -> str:
    """Trim, NFKC, lower-case, and IDNA-encode the domain, so one mailbox has one key."""
    if not isinstance(raw, str):
        raise InvalidEmail("e-mail must be a string")
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    if text.count("@") != 1:
        raise InvalidEmail("e-mail must contain exactly one '@'")
    local, domain = text.split("@")
    if not _LOCAL_PART.match(local):
        raise InvalidEmail("e-mail local part is empty, too long or contains spaces")
    domain = domain.rstrip(".")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidEmail("e-mail domain is not a valid internationalised name") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidEmail("e-mail domain is not a valid host name")
    if len(ascii_domain) > 253:
        raise InvalidEmail("e-mail domain is too long")
    return f"{local}@{ascii_domain}"


def contact_key(email: str, secret: str) -> str:
    """Lower-case hex HMAC-SHA256 of the normalised address under `secret`."""
    normalised = normalise_email(email)
    return hmac.new(secret.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256).hexdigest()
