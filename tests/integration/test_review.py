"""`consent review` (issue 8, item 2): possible opt-outs and re-subscribe requests, explained
and decided by an agent with one explicit preference change that closes the item."""

import subprocess
import sys
import uuid

import pytest

from schemas.contact import contact_key
from sources.producer import make_event
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _decide(p: Pipeline, email: str, purpose: str = "special_offers") -> tuple:
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                              "subject": "s", "body": "b"})
    return p.decision(rid)


def _consent(p: Pipeline, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "ops", *args], env={**p.env, "COLUMNS": "250"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def _item(p: Pipeline, key: str) -> tuple:
    return p.wait_rows("SELECT review_id::text, outcome, suggested, rule, span, ticket_id "
                       "FROM review_items WHERE contact_key = %s", key)[0]


def test_a_possible_opt_out_suppresses_and_an_agent_can_reverse_it(pipeline: Pipeline):
    email = f"maybe-{uuid.uuid4().hex[:8]}@example.com"
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    pipeline.send("purchase.completed", {"order_id": "m", "email": email, "name": "M"})
    text = "plese stop emialing me"
    pipeline.send("support.message_received", {"email": email, "ticket_id": "T-42",
                                               "channel": "email", "text": text})
    outcome, reason, rule, detected, _ = _decide(pipeline, email)
    assert (outcome, reason, rule, detected) == ("suppressed", "opted_out",
                                                 "support.text_possible_opt_out", True)
    review_id, kind, suggested, text_rule, span, ticket = _item(pipeline, key)
    assert (kind, suggested, ticket) == ("possible_opt_out", "confirm_withdrawal", "T-42")
    start, end = map(int, span.split("-"))
    assert 0 <= start < end <= len(text) and text_rule.startswith("en.")
    listing = _consent(pipeline, "review")
    assert review_id in listing and "possible_opt_out" in listing and email not in listing
    _consent(pipeline, "review", "reverse", review_id)
    pipeline.wait_rows("SELECT 1 FROM review_items WHERE review_id::text = %s AND "
                       "resolution = 'reversed'", review_id)
    assert _decide(pipeline, email)[:2] == ("forwarded", None)
    assert review_id not in _consent(pipeline, "review")


def test_a_resubscribe_request_never_suppresses_and_grants_only_when_confirmed(
        pipeline: Pipeline):
    email = f"back-{uuid.uuid4().hex[:8]}@example.com"
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    pipeline.send("purchase.completed", {"order_id": "b", "email": email, "name": "B"})
    happy = f"happy-{uuid.uuid4().hex[:8]}@example.com"
    pipeline.send("purchase.completed", {"order_id": "h", "email": happy, "name": "H"})
    pipeline.send("newsletter.unsubscribed", {"email": email, "scope": "all"})
    text = "I unsubscribed by mistake, please add me back to the newsletter"
    for who in (email, happy):
        pipeline.producer.send(make_event("support.message_received", {
            "email": who, "ticket_id": "T-7", "channel": "email", "text": text},
            source="helpdesk"))
    pipeline.producer.flush()
    # the request alone changes nothing: still unsubscribed, and a mailable contact stays so
    assert _decide(pipeline, email)[:2] == ("suppressed", "opted_out")
    assert _decide(pipeline, happy)[:2] == ("forwarded", None)
    review_id, kind, suggested, *_ = _item(pipeline, key)
    assert (kind, suggested) == ("resubscribe", "confirm_grant")
    _consent(pipeline, "review", "confirm", review_id)
    pipeline.wait_rows("SELECT 1 FROM review_items WHERE review_id::text = %s AND "
                       "resolution = 'confirmed'", review_id)
    assert _decide(pipeline, email)[:2] == ("forwarded", None)
    history = pipeline.query("SELECT source, evidence->>'review_id' FROM consent_ledger WHERE "
                             "contact_key = %s AND scope = 'all' AND action = 'granted'", key)
    assert history == [("consent-review", review_id)]
