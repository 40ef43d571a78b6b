"""Building the e-mail for an outbox record, with RFC 8058 one-click unsubscribe headers."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from schemas.records import OutboxRecord


def build_message(record: OutboxRecord, *, mail_from: str, unsubscribe_mailto: str) -> EmailMessage:
    msg = EmailMessage()
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
