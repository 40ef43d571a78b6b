"""`consent disclose` and `consent lookup --json` on the real stack (issue 9 item 5, issue 12
item 6): refused without a reason or as anyone but the DPO, and then exactly one audit record,
in the ledger and in PostgreSQL, with no personal data in it."""

import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from schemas.contact import contact_key
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration

NAME, PHONE, ADDRESS = "Dora Disclosed", "+49 30 7654321", "Lindenweg 5, Potsdam"
REASONS = ["--legal-basis", "Art. 6(1)(c) GDPR with s. 100 StPO (court order of 2026-11-20)",
           "--case-ref", "4 Js 512/26", "--authority", "Public prosecutor, Berlin"]


def consent(p: Pipeline, kind: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **p.deployment.env_for(kind), "CONSENT_ENVIRONMENT": "test",
            "COLUMNS": "250", **env}
    return subprocess.run([sys.executable, "-m", "ops", *args], env=full, capture_output=True,
                          text=True, timeout=120, check=False)


def ledger_lines(p: Pipeline, key: str) -> list[dict[str, Any]]:
    """The key's disclosure lines in the `consent-changes` topic (read as the admin)."""
    return [v for k, v in p.topic_records("consent-changes", expect=1)
            if k == key.encode() and isinstance(v, dict) and v.get("scope") == "disclosure"]


@pytest.fixture
def held(pipeline: Pipeline) -> tuple[str, str]:
    """A contact with a profile, history and a mail decision; (email, key)."""
    email = f"dora-{uuid.uuid4().hex[:8]}@example.com"
    key = contact_key(email, pipeline.stream_settings.key_secret.get_secret_value())
    pipeline.send("purchase.completed", {"order_id": "D-1", "email": email, "name": NAME,
                                         "phone": PHONE, "address": ADDRESS}, source="shop")
    pipeline.send("preference.changed", {"email": email, "changes": {"newsletter": "withdrawn"}},
                  source="preference-centre")
    rid = unique_request()
    pipeline.send("mail.requested", {"request_id": rid, "email": email, "purpose": "newsletter",
                                     "subject": "s", "body": "b"})
    assert pipeline.decision(rid)[:2] == ("suppressed", "purpose_withdrawn")
    pipeline.wait_rows("SELECT 1 FROM contacts WHERE contact_key = %s", key)
    pipeline.wait_rows("SELECT 1 FROM consent_ledger WHERE contact_key = %s", key, count=2)
    return email, key


def test_disclose_is_refused_without_reasons_or_as_anyone_but_the_dpo_then_recorded_once(
        pipeline: Pipeline, held: tuple[str, str], tmp_path: Path) -> None:
    email, key = held
    out = tmp_path / "export.json"

    # without a legal basis (or any of the three): exit 2, nothing written
    proc = consent(pipeline, "disclose", "disclose", email, "--out", str(out), *REASONS[2:])
    assert proc.returncode == 2 and "--legal-basis" in proc.stderr and "required" in proc.stderr
    # as the lookup reader, the preference centre, or the DPO's Kafka file with another role
    for kind, env, said in (
            ("lookup", {}, "no client file"),
            ("review", {}, "principal 'preference-centre'"),
            ("disclose", {"CONSENT_DATABASE_URL": pipeline.infra.role_url("consent_reader")},
             "role 'consent_reader'")):
        proc = consent(pipeline, kind, "disclose", email, "--out", str(out), *REASONS, **env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "runs only as the DPO" in proc.stderr and said in " ".join(proc.stderr.split())
    assert not out.exists()

    # as the DPO: the export, with mode 600, and the record
    proc = consent(pipeline, "disclose", "disclose", email, "--out", str(out), *REASONS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "recorded in the ledger (consent-changes) and in PostgreSQL" in proc.stderr
    for secret in (email, NAME, PHONE):
        assert secret not in proc.stdout + proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    body = out.read_bytes()
    doc = json.loads(body)
    assert doc["kind"] == "legal_disclosure" and doc["subject"]["contact_key"] == key
    assert doc["profile"]["email"] == email and doc["profile"]["phone"] == PHONE
    assert {row["purpose"] for row in doc["consent"]} >= {"newsletter", "special_offers"}
    assert len(doc["history"]) >= 2 and doc["mail_decisions"][0]["reason"] == "purpose_withdrawn"
    disclosure = doc["disclosure"]
    assert disclosure["case_ref"] == "4 Js 512/26" and disclosure["principal"] == "dpo"
    assert disclosure["categories"] == ["profile", "consent", "history", "mail_decisions"]

    # exactly one record in PostgreSQL, and the same one in the ledger, with no personal data
    rows = pipeline.wait_rows(
        "SELECT event_id, principal, operator, legal_basis, case_ref, authority, categories, "
        "export_sha256, disclosed_at FROM disclosures WHERE contact_key = %s", key)
    assert len(rows) == 1
    event_id, principal, operator, basis, case, authority, categories, sha, _at = rows[0]
    assert str(event_id) == disclosure["disclosure_id"]
    assert (principal, operator) == ("dpo", pwd.getpwuid(os.getuid()).pw_name)
    assert (basis, case, authority) == (REASONS[1], REASONS[3], REASONS[5])
    assert categories == disclosure["categories"]
    assert sha == hashlib.sha256(body).hexdigest()  # names the exact file handed over
    ledger = pipeline.query("SELECT event_id, rule, evidence::text FROM consent_ledger "
                            "WHERE contact_key = %s AND scope = 'disclosure'", key)
    assert [(str(e), r) for e, r, _ev in ledger] == [(str(event_id), "dpo.legal_disclosure")]
    [line] = ledger_lines(pipeline, key)
    assert line["event_id"] == str(event_id) and line["action"] == "disclosed"
    record = json.dumps(line) + ledger[0][2] + json.dumps([str(v) for v in rows[0]])
    for secret in (email, email.split("@")[0], NAME, PHONE, ADDRESS):
        assert secret not in record
    # a disclosure changes no consent
    assert pipeline.query("SELECT count(*) FROM consent_current WHERE contact_key = %s "
                          "AND event_id = %s", key, event_id) == [(0,)]

    # lookup shows it; lookup --json exports the same record and records nothing
    proc = consent(pipeline, "lookup", "lookup", email)
    assert proc.returncode == 0, proc.stderr
    assert "Legal disclosures" in proc.stdout and "4 Js 512/26" in proc.stdout
    assert "Public prosecutor, Berlin" in proc.stdout and "dpo (" in proc.stdout
    proc = consent(pipeline, "lookup", "lookup", "--json", email)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.isascii()
    access = json.loads(proc.stdout)
    assert access["kind"] == "access_request"
    for section in ("subject", "profile", "consent", "mail_decisions", "erasures",
                    "review_items", "storage"):
        assert access[section] == doc[section], section
    assert [h for h in access["history"] if h["scope"] != "disclosure"] == doc["history"]
    assert [d["case_ref"] for d in access["disclosures"]] == ["4 Js 512/26"]

    # never over an existing file; a second disclosure is a second record
    proc = consent(pipeline, "disclose", "disclose", email, "--out", str(out), *REASONS)
    assert proc.returncode == 2 and "never overwrites" in proc.stderr
    assert out.read_bytes() == body
    second = tmp_path / "second.json"
    proc = consent(pipeline, "disclose", "disclose", email, "--out", str(second), *REASONS)
    assert proc.returncode == 0, proc.stderr
    prior = json.loads(second.read_bytes())["disclosures"]
    assert [d["case_ref"] for d in prior] == ["4 Js 512/26"]  # the first one, as held
    rows = pipeline.wait_rows("SELECT 1 FROM disclosures WHERE contact_key = %s", key, count=2)
    assert len(rows) == 2 and len(ledger_lines(pipeline, key)) == 2

    for comp in pipeline.procs.running.values():  # and no log line repeats the person
        text = comp.log_path.read_text(errors="replace")
        for secret in (email, NAME, PHONE):
            assert secret not in text, comp.name


def test_audit_texts_with_the_persons_data_are_refused(pipeline: Pipeline,
                                                       held: tuple[str, str],
                                                       tmp_path: Path) -> None:
    email, key = held
    out = tmp_path / "x.json"
    args = [*REASONS[:4], "--authority", f"Police, re: {NAME}"]
    proc = consent(pipeline, "disclose", "disclose", email, "--out", str(out), *args)
    assert proc.returncode == 2 and "--authority contains the person's data" in proc.stderr
    assert NAME not in proc.stderr and not out.exists()


def test_lookup_json_of_an_address_never_seen_is_an_empty_record(pipeline: Pipeline) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    proc = consent(pipeline, "lookup", "lookup", "--json", email)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["profile"] is None and doc["history"] == [] and doc["disclosures"] == []
    proc = consent(pipeline, "lookup", "lookup", "--json", f"x<{email}>")
    assert proc.returncode == 2 and proc.stdout == "" and "nobody" not in proc.stderr
