"""The last mile (issue 11, item 3): an opt-out acknowledged before the mailer hands a mail to
SMTP stops that mail, even though the filter forwarded it earlier."""

import uuid

import pytest

from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def test_an_opt_out_after_forwarding_but_before_smtp_stops_the_mail(make_pipeline):
    p: Pipeline = make_pipeline(components=("worker", "filter", "postgres"))  # the mailer is "backed up"
    tag = uuid.uuid4().hex[:8]
    late, fine = f"late-{tag}@example.com", f"fine-{tag}@example.com"
    requests = {}
    for email in (late, fine):
        p.send("purchase.completed", {"order_id": email, "email": email, "name": "M"})
        rid = unique_request()
        requests[email] = rid
        p.send("mail.requested", {"request_id": rid, "email": email, "purpose": "new_products",
                                  "subject": "New", "body": "b"})
        assert p.decision(rid)[:2] == ("forwarded", None)
    p.send("preference.changed", {"email": late, "all": "withdrawn"})  # acknowledged
    p.procs.start("mailer", "sink", "mailer")
    rows = dict((r[0], r[1:]) for r in p.wait_rows(
        "SELECT request_id, state, suppressed_reason FROM mail_sends WHERE request_id = ANY(%s) "
        "AND state <> 'sending'", list(requests.values()), count=2, timeout=120))
    assert rows[requests[late]] == ("suppressed_at_send", "opted_out")
    assert rows[requests[fine]][0] == "sent"
    assert [m["X-Request-ID"] for m in p.smtp.mailbox.snapshot()
            if m["X-Request-ID"] in requests.values()] == [requests[fine]]
