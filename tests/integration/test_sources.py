"""One test per consent source, through the real broker, worker and PostgreSQL."""

import subprocess
import sys
import uuid
from typing import Any

import pytest

from schemas.contact import contact_key
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _known(p: Pipeline, email: str) -> None:
    p.send("purchase.completed", {"order_id": uuid.uuid4().hex[:6], "email": email, "name": "N"},
           source="shop")


def _decide(p: Pipeline, email: str, purpose: str) -> tuple[Any, ...]:
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                              "subject": "s", "body": "b"}, source="crm")
    return p.decision(rid)


OPT_OUTS = {
    "checkout checkbox": ("purchase.completed", {"order_id": "X", "name": "N",
                                                 "marketing_opt_out": True},
                          "purchase.marketing_opt_out", False),
    "support intent": ("support.message_received", {"ticket_id": "T", "channel": "phone",
                                                    "intent": "opt_out"},
                       "support.intent_opt_out", False),
    "support free text (nl)": ("support.message_received", {
        "ticket_id": "T", "channel": "email", "text": "Graag geen mails meer, bedankt!"},
        "support.text_opt_out", True),
    "newsletter unsubscribe from everything": ("newsletter.unsubscribed", {"scope": "all"},
                                               "newsletter.unsubscribed_all", False),
    "preference centre, everything": ("preference.changed", {"all": "withdrawn"},
                                      "preference.all", False),
}


@pytest.mark.parametrize("source", list(OPT_OUTS))
def test_each_opt_out_source_suppresses_marketing(pipeline: Pipeline, email: str, source: str):
    event_type, data, rule, detected = OPT_OUTS[source]
    _known(pipeline, email)
    pipeline.send(event_type, {"email": email, **data}, source=source)
    outcome, reason, got_rule, got_detected, _ = _decide(pipeline, email, "special_offers")
    assert (outcome, reason, got_rule, got_detected) == ("suppressed", "opted_out", rule, detected)
    assert _decide(pipeline, email, "transactional")[0] == "forwarded"


def test_ordinary_support_message_keeps_consent(pipeline: Pipeline, email: str):
    pipeline.send("support.message_received", {"email": email, "ticket_id": "T", "channel": "email",
                                               "text": "Please email me the invoice again."})
    assert _decide(pipeline, email, "product_updates")[:2] == ("forwarded", None)


def test_detected_opt_out_is_reviewable_and_reversible(pipeline: Pipeline, email: str):
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    pipeline.send("support.message_received", {"email": email, "ticket_id": "T9", "channel": "email",
                                               "text": "Bitte keine Werbung mehr."})
    assert _decide(pipeline, email, "new_products")[:2] == ("suppressed", "opted_out")
    evidence = pipeline.wait_rows("SELECT evidence->>'text_rule', detected FROM consent_ledger "
                                  "WHERE contact_key = %s AND detected", key)[0]
    assert evidence == ("de.no_more_mail", True)
    pipeline.send("preference.changed", {"email": email, "all": "granted"}, source="agent-review")
    assert _decide(pipeline, email, "new_products")[:2] == ("forwarded", None)


def test_one_purpose_withdrawn_leaves_the_others(pipeline: Pipeline, email: str):
    _known(pipeline, email)
    pipeline.send("preference.changed", {"email": email, "changes": {"new_products": "withdrawn"}})
    assert _decide(pipeline, email, "new_products")[:2] == ("suppressed", "purpose_withdrawn")
    assert _decide(pipeline, email, "special_offers")[:2] == ("forwarded", None)
    _known(pipeline, email)  # a new purchase does not re-grant (withdrawal is sticky)
    assert _decide(pipeline, email, "new_products")[:2] == ("suppressed", "purpose_withdrawn")


def test_newsletter_double_opt_in(pipeline: Pipeline, email: str):
    pipeline.send("newsletter.signup", {"email": email, "confirmation_token": "tok-1"},
                  source="newsletter")
    assert _decide(pipeline, email, "newsletter")[:2] == ("suppressed", "unconfirmed")
    pipeline.send("newsletter.confirmed", {"email": email, "confirmation_token": "tok-1"},
                  source="newsletter")
    assert _decide(pipeline, email, "newsletter")[:2] == ("forwarded", None)
    pipeline.send("newsletter.unsubscribed", {"email": email, "scope": "newsletter"},
                  source="newsletter")
    assert _decide(pipeline, email, "newsletter")[:2] == ("suppressed", "purpose_withdrawn")
    assert _decide(pipeline, email, "product_updates")[:2] == ("forwarded", None)


def test_import_suppressions_is_idempotent_and_reports_rejects(pipeline: Pipeline, tmp_path):
    emails = [f"imp-{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)]
    for e in emails:
        _known(pipeline, e)
    csv_file = tmp_path / "legacy.csv"
    csv_file.write_text(
        "email,scope,opted_out_at\n"
        f"{emails[0]},all,\n"
        f"{emails[1].upper()},special_offers,2026-01-02T03:04:05+00:00\n"
        "not-an-address,all,\n"
        f"{emails[2]},weekly_digest,\n"
        f"{emails[0]},all,\n", encoding="utf-8")

    def run() -> str:
        proc = subprocess.run([sys.executable, "-m", "ops", "import-suppressions",
                               str(csv_file)], env={**pipeline.env, "COLUMNS": "200"},
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout + proc.stderr

    first = run()
    assert "imported=2 duplicates_in_file=1 rejected=2" in first
    assert "rejected: invalid e-mail" in first and "rejected: unknown scope" in first
    assert "not-an-address" not in first  # rejects are reported by line, not by content
    run()  # the same file again

    assert _decide(pipeline, emails[0], "newsletter")[:2] == ("suppressed", "opted_out")
    assert _decide(pipeline, emails[1], "special_offers")[:2] == ("suppressed", "purpose_withdrawn")
    assert _decide(pipeline, emails[1], "product_updates")[:2] == ("forwarded", None)
    assert _decide(pipeline, emails[2], "newsletter")[:2] == ("forwarded", None)
    keys = [contact_key(e, pipeline.stream_settings.key_secret.get_secret_value()) for e in emails]
    lines = pipeline.query("SELECT contact_key, scope FROM consent_ledger WHERE source LIKE "
                           "'suppression-import:%%' AND contact_key = ANY(%s)", keys[:2])
    assert sorted(lines) == sorted([(keys[0], "all"), (keys[1], "special_offers")])


def test_confirmation_counts_only_with_the_signup_token_in_either_order(
    pipeline: Pipeline, email: str
):
    other = f"late-{email}"
    pipeline.send("newsletter.signup", {"email": email, "confirmation_token": "right"})
    pipeline.send("newsletter.confirmed", {"email": email, "confirmation_token": "forged"})
    assert _decide(pipeline, email, "newsletter")[:2] == ("suppressed", "unconfirmed")
    # a confirmation that arrives before its signup counts once the signup is there
    pipeline.send("newsletter.confirmed", {"email": other, "confirmation_token": "t2"})
    assert _decide(pipeline, other, "newsletter")[:2] == ("suppressed", "no_relationship")
    pipeline.send("newsletter.signup", {"email": other, "confirmation_token": "t2"})
    assert _decide(pipeline, other, "newsletter")[:2] == ("forwarded", None)


def test_lookup_explains_state_history_and_decisions(pipeline: Pipeline, email: str):
    pipeline.send("purchase.completed", {"order_id": "L-1", "email": email, "name": "Lou Kup",
                                         "country": "NL"}, source="shop")
    pipeline.send("support.message_received", {"email": email, "ticket_id": "T-L",
                                               "channel": "email",
                                               "text": "Please stop emailing me"},
                  source="helpdesk")
    rid = unique_request()
    pipeline.send("mail.requested", {"request_id": rid, "email": email,
                                     "purpose": "special_offers", "subject": "s", "body": "b"})
    pipeline.decision(rid)
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    pipeline.wait_rows("SELECT 1 FROM consent_ledger WHERE contact_key = %s", key, count=2)
    pipeline.wait_rows("SELECT 1 FROM contacts WHERE contact_key = %s", key)

    proc = subprocess.run([sys.executable, "-m", "ops", "lookup", email],
                          env={**pipeline.env, "COLUMNS": "250"}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert key in out
    assert "Lou Kup" in out and "NL" in out  # what we hold, for the DPO
    for purpose in ("special_offers", "newsletter", "transactional"):
        assert purpose in out
    assert "opted_out" in out and "allowed" in out  # current state per purpose
    assert "support.text_opt_out (detected, review)" in out  # reviewable detected opt-out
    assert "text_rule=en." in out  # its evidence: the rule that matched
    assert "purchase.completed" in out and "helpdesk" in out  # history with sources
    assert rid in out and "suppressed" in out  # the mail decision and why
