"""The mailer against an SMTP relay that refuses: retry what may succeed, never resend."""

import time
import uuid
from collections import Counter

import pytest

from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def test_temporary_refusals_are_retried_permanent_ones_recorded_and_skipped(make_pipeline):
    p: Pipeline = make_pipeline()
    attempts: Counter[str] = Counter()

    def relay(msg) -> str | None:
        rid = msg["X-Request-ID"]
        attempts[rid] += 1
        if msg["To"].startswith("greylisted") and attempts[rid] <= 2:
            return "451 4.7.1 greylisted, try again later"
        if msg["To"].startswith("nosuchuser"):
            return "550 5.1.1 no such user"
        return None

    p.smtp.mailbox.responder = relay
    tag = uuid.uuid4().hex[:6]
    people = {kind: f"{kind}-{tag}@example.com" for kind in ("greylisted", "nosuchuser", "fine")}
    requests = {}
    for kind, email in people.items():
        p.send("purchase.completed", {"order_id": kind, "email": email, "name": "M"})
        requests[kind] = unique_request()
        p.send("mail.requested", {"request_id": requests[kind], "email": email,
                                  "purpose": "transactional", "subject": "Licence", "body": "b"})

    rows = p.wait_rows("SELECT request_id, state, attempts, smtp_response FROM mail_sends "
                       "WHERE request_id = ANY(%s) AND state IN ('sent', 'failed')",
                       list(requests.values()), count=3, timeout=120)
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id[requests["fine"]][0] == "sent"
    assert by_id[requests["greylisted"]][0] == "sent"
    state, _attempts, response = by_id[requests["nosuchuser"]]
    assert state == "failed" and response.startswith("550")
    time.sleep(2)
    assert attempts[requests["nosuchuser"]] == 1, "a permanent refusal is not retried"
    assert attempts[requests["greylisted"]] == 3, "two 451s, then delivered"
    delivered = Counter(m["X-Request-ID"] for m in p.smtp.mailbox.snapshot())
    assert delivered[requests["greylisted"]] == 1 and delivered[requests["fine"]] == 1
    assert delivered[requests["nosuchuser"]] == 0
