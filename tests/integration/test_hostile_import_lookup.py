"""Issue 6, findings 6 and 7, on the real broker, worker and PostgreSQL.

`consent import-suppressions` with hostile files: checked whole before anything is sent,
encodings decided up front, bad lines reported by number and reason only, no contact profile
created. `consent lookup` with hostile stored text and extreme stored times: shown escaped,
never a crash. Each test failed on the code before the fix (see the commit that added it).
"""

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.contact import contact_key
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration

TERMINAL_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def consent(p: Pipeline, *args: str, columns: int | None = 200) -> subprocess.CompletedProcess[str]:
    env = {**p.env, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run([sys.executable, "-m", "ops", *args], env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def key_of(p: Pipeline, email: str) -> str:
    return contact_key(email, p.stream_settings.key_secret.get_secret_value())


def tag() -> str:
    return uuid.uuid4().hex[:10]


def sent_from(p: Pipeline, path: Path) -> list[dict[str, Any]]:
    """Events of this file on the preferences topic (the CLI returns only once acknowledged)."""
    source = f"suppression-import:{path.name}"
    return [v for _k, v in p.topic_records("preferences", expect=0)
            if isinstance(v, dict) and v.get("source") == source]


def test_a_huge_field_after_valid_lines_refuses_the_file_and_sends_nothing(
        pipeline: Pipeline, tmp_path: Path):
    t = tag()
    path = tmp_path / f"huge-{t}.csv"
    path.write_text(f"email,scope\nfirst-{t}@example.com,all\nsecond-{t}@example.com,all\n"
                    f"{'h' * 2_000_000}@example.com,all\nthird-{t}@example.com,all\n",
                    encoding="utf-8")
    proc = consent(pipeline, "import-suppressions", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-2000:]
    assert "Traceback" not in out
    assert "rejected: line is longer than 65536 characters" in out
    assert "rejected line numbers: 4" in out and "nothing was sent" in out
    assert "hhhhhhhh" not in out and t not in out.replace(path.name, "")
    assert sent_from(pipeline, path) == []


def test_a_latin1_file_is_refused_up_front_with_a_readable_error(
        pipeline: Pipeline, tmp_path: Path):
    t = tag()
    path = tmp_path / f"latin-{t}.csv"
    path.write_bytes(f"email\nplain-{t}@example.com\nj\xe9r\xf4me-{t}@example.com\n"
                     .encode("latin-1"))
    proc = consent(pipeline, "import-suppressions", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in out
    assert "is not valid UTF-8 (first bad byte on line 3)" in out and "iconv" in out
    assert f"plain-{t}" not in out and "j\ufffdr" not in out
    assert sent_from(pipeline, path) == []


def test_a_utf16_file_is_imported(pipeline: Pipeline, tmp_path: Path):
    t = tag()
    emails = [f"jérôme-{t}@example.com", f"ascii-{t}@example.com"]
    path = tmp_path / f"utf16-{t}.csv"
    path.write_bytes(("email,scope\r\n" + "".join(f"{e},all\r\n" for e in emails))
                     .encode("utf-16"))
    proc = consent(pipeline, "import-suppressions", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "imported=2 duplicates_in_file=0 rejected=0" in out
    assert "UTF-16 (little-endian, BOM)" in out
    keys = [key_of(pipeline, e) for e in emails]
    rows = pipeline.wait_rows("SELECT contact_key, scope, action FROM consent_ledger "
                              "WHERE contact_key = ANY(%s)", keys, count=2)
    assert sorted(rows) == sorted((k, "all", "withdrawn") for k in keys)


def test_formulas_and_absurd_dates_are_rejected_and_no_profile_is_created(
        pipeline: Pipeline, tmp_path: Path):
    t = tag()
    kept = [f"kept-{t}@example.com", f"dated-{t}@example.com"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    path = tmp_path / f"hostile-{t}.csv"
    path.write_text(
        "email,scope,opted_out_at\n"
        f"{kept[0]},all,\n"
        f'"=HYPERLINK(""http://evil.example/{t}"")@example.com",all,\n'
        f"=formula-{t}@example.com,all,\n"
        f"far-{t}@example.com,all,2999-01-01T00:00:00+00:00\n"
        f"soon-{t}@example.com,all,{tomorrow}\n"
        f"{kept[1]},special_offers,2026-01-02T03:04:05+00:00\n", encoding="utf-8")
    proc = consent(pipeline, "import-suppressions", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "imported=2 duplicates_in_file=0 rejected=4" in out
    assert "rejected: e-mail looks like a spreadsheet formula" in out
    assert "rejected: opted_out_at is before 2000 or after 2099" in out
    assert "rejected: opted_out_at is in the future" in out
    assert "rejected line numbers: 3, 4, 5, 6" in out
    assert t not in out.replace(path.name, "")  # no line's content, only numbers and reasons

    keys = [key_of(pipeline, e) for e in kept]
    events = sent_from(pipeline, path)
    assert sorted(e["data"]["contact_key"] for e in events) == sorted(keys)
    assert all("email" not in e["data"] for e in events)
    pipeline.wait_rows("SELECT 1 FROM consent_ledger WHERE contact_key = ANY(%s)", keys, count=2)
    assert pipeline.query("SELECT status FROM consent_current WHERE contact_key = %s "
                          "AND purpose = 'newsletter'", keys[0]) == [("opted_out",)]
    # profiles are written in the agent's transaction with the ledger lines: none is coming
    profiles = [k for k, _v in pipeline.topic_records("contacts", expect=0)
                if k is not None and k.decode() in keys]
    assert profiles == []
    assert pipeline.query("SELECT 1 FROM contacts WHERE contact_key = ANY(%s)", keys) == []

    proc = consent(pipeline, "lookup", kept[0])
    assert proc.returncode == 0, proc.stderr
    assert "no personal data held" in proc.stdout and "opted_out" in proc.stdout
    assert f"suppression-import:{path.name}" in proc.stdout


HOSTILE = "[/b]Mallory\x1b]0;pwned\x07\x1b[2J\u202egnp.exe[red]x[/]"  # no space: never wrapped
SHOWN = "[/b]Mallory\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp.exe[red]x[/]"
EXTREME = "9999-12-31T23:59:59-14:00"  # 10000-01-01 13:59:59 UTC: past Python's datetime


def test_lookup_shows_hostile_stored_text_escaped_and_survives_extreme_dates(
        pipeline: Pipeline, email: str):
    key = key_of(pipeline, email)
    # identifiers (source, request id, campaign) refuse control characters at the door now,
    # so events carry markup there and the escape codes in free text; the rows below carry
    # what no event can any more
    source = "[/i]shop[red]"
    markup = "[/b]Mallory[red]x[/]"
    pipeline.send("purchase.completed", {"order_id": "H-1", "email": email, "name": HOSTILE,
                                         "company": HOSTILE, "address": HOSTILE,
                                         "country": "NL"}, source=source)
    pipeline.send("preference.changed", {"email": email, "all": "withdrawn"}, source=markup)
    rid = f"[/b]{unique_request()}"
    pipeline.send("mail.requested", {"request_id": rid, "email": email,
                                     "purpose": "special_offers", "subject": "s", "body": "b",
                                     "campaign": markup})
    assert pipeline.decision(rid)[:2] == ("suppressed", "opted_out")
    pipeline.wait_rows("SELECT 1 FROM contacts WHERE contact_key = %s", key)
    pipeline.wait_rows("SELECT 1 FROM consent_ledger WHERE contact_key = %s", key, count=2)
    # what no event can carry any more, but a database may hold (old rows, hand edits)
    with pipeline.db() as conn:
        conn.execute("INSERT INTO consent_ledger (contact_key, event_id, event_type, source, "
                     "occurred_at, processed_at, policy_version, scope, action, applied, rule, "
                     "evidence, detected) VALUES (%s, %s, 'preference.changed', %s, %s, "
                     "'0001-01-01T00:00:00+00', %s, 'all', 'withdrawn', true, %s, %s::jsonb, "
                     "false)", (key, uuid.uuid4(), HOSTILE, EXTREME, HOSTILE, HOSTILE,
                                json.dumps({"k": HOSTILE, "n": [1]})))
        conn.execute("INSERT INTO consent_current (contact_key, purpose, status, event_id, "
                     "policy_version, updated_at) VALUES (%s, %s, %s, %s, %s, "
                     "'0001-01-01T00:00:00+00')", (key, HOSTILE, HOSTILE, uuid.uuid4(), HOSTILE))
        conn.execute("INSERT INTO mail_decisions (request_id, contact_key, purpose, outcome, "
                     "reason, rule, campaign, event_id, policy_version, requested_at, "
                     "decided_at) VALUES (%s, %s, %s, 'suppressed', %s, %s, %s, %s, %s, %s, %s)",
                     (f"{HOSTILE}{uuid.uuid4()}", key, HOSTILE, HOSTILE, HOSTILE, HOSTILE,
                      uuid.uuid4(), HOSTILE, EXTREME, EXTREME))
        conn.execute("INSERT INTO erasures (contact_key, event_id, request_ref, requested_at, "
                     "erased_at) VALUES (%s, %s, %s, '0001-01-01T00:00:00+00', 'infinity')",
                     (key, uuid.uuid4(), HOSTILE))
        conn.execute("UPDATE contacts SET first_seen = '0001-01-01T00:00:00+00', "
                     "last_seen = %s WHERE contact_key = %s", (EXTREME, key))

    proc = consent(pipeline, "lookup", email, columns=1000)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert not [c for c in TERMINAL_CONTROLS if c in out + proc.stderr]
    # name, company, address, campaign, sources, rule, evidence, request ids… each escaped
    assert out.count(SHOWN) >= 10
    assert "[/i]shop[red]" in out and "[/b]req-" in out and markup in out
    assert "10000-01-01 13:59:59+00" in out and "0001-01-01" in out and "infinity" in out
    assert "suppressed" in out and "opted_out" in out


def test_lookup_of_an_invalid_address_is_one_line_without_the_address(pipeline: Pipeline):
    victim = f"victim-{tag()}"
    for address in (f"x<{victim}@example.com>", f"{victim}(c)@example.com",
                    f"\x1b]0;{victim}\x07@example.com"):
        proc = consent(pipeline, "lookup", address, columns=None)  # a narrow, 80-column pipe
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.startswith("error: not a valid e-mail address: ")
        assert proc.stderr.count("\n") == 1 and victim not in proc.stderr
