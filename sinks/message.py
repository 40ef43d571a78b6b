"""Building the e-mail for an outbox record, with RFC 8058 one-click unsubscribe headers."""

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from schemas.records import OutboxRecord

# RFC 5322 allows 998 characters a line. With the default 78, the email package RFC 2047-encodes
# a List-Unsubscribe header whose URL is longer than that, and receivers then ignore it.
POLICY = SMTP.clone(max_line_length=998)


def build_message(record: OutboxRecord, *, mail_from: str, unsubscribe_mailto: str) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = mail_from
    msg["To"] = record.email
    msg["Subject"] = record.subject
    msg["Date"] = format_datetime(record.decided_at)
    msg["Message-ID"] = make_msgid(idstring=record.request_id.replace("@", "_")[:60],
                                   domain="consent.invalid")
    msg["X-Request-ID"] = record.request_id
    msg["X-Purpose"] = record.purpose.value
    if record.unsubscribe_url:
        # RFC 2369 + RFC 8058: receivers may POST "List-Unsubscribe=One-Click" to the URL.
        msg["List-Unsubscribe"] = (
            f"<{record.unsubscribe_url}>, <mailto:{unsubscribe_mailto}?subject=unsubscribe>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(record.body)
    return msg
