"""What the mailer checks before a record may become an SMTP transaction.

Why here and not only upstream: the outbox is a topic, and a record in it may be forged or
written by an older filter. The mailer sends only to an address that is already in its
normalised form and whose contact key is the one the decision was made for, and it never puts
a CR, LF or other control character into a header (header injection once kept mails in
`sending` for ever and wrote the address into the crash log). A record that fails is
recorded as `failed` with the reason, and the mailer goes on.
"""

import hashlib
import re

from schemas.contact import KeyHasher, normalise_email
from schemas.exceptions import InvalidEmail
from schemas.records import OutboxRecord

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def refusal(record: OutboxRecord, hasher: KeyHasher) -> str | None:
    """The reason this record must not be mailed, or None. Never echoes a value."""
    try:
        normal = normalise_email(record.email)
    except InvalidEmail:
        return "address is not a plain valid address"
    if normal != record.email:
        return "address is not in its normalised form"
    if hasher.key_of_normalised(normal) != record.contact_key:
        return "address does not belong to the decided contact key"
    for name, value in (("subject", record.subject), ("request_id", record.request_id),
                        ("campaign", record.campaign or ""),
                        ("unsubscribe_url", record.unsubscribe_url or "")):
        if _CONTROL.search(value):
            return f"{name} contains a line break or control character"
    return None


def scrub(response: str, email: str) -> str:
    """An SMTP reply often quotes the recipient; store it without the address."""
    text = response.replace(email, "<recipient>") if email else response
    return _CONTROL.sub(" ", text)[:300]


def request_ref(request_id: str) -> str:
    """How a log line names a request: the first 16 hex digits of its id's SHA-256.

    The id is whatever the producer chose, so it may hold an address ("welcome-ann@…"); the
    row in `mail_sends` is still found from the log, in SQL:
    `left(encode(sha256(convert_to(request_id, 'UTF8')), 'hex'), 16) = '<ref>'`.
    """
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
