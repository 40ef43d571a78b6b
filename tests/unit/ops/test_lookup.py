"""`consent lookup` rendering and loading, without a database.

Stored text is hostile (Rich markup, terminal escapes, bidi overrides), stored times extreme
(after 9999 in UTC, year 1, infinity) and stored JSON odd: none of it may crash the command
or drive the terminal. The real path is in tests/integration/test_hostile_import_lookup.py.
"""

import io
import uuid
from datetime import UTC, datetime

import pytest
from psycopg.postgres import types
from rich.console import Console

from ops.lookup import (
    LenientTimestamptzLoader,
    LookupResult,
    lenient_json,
    render_lookup,
    run_lookup,
)

KEY = "ab" * 32
HOSTILE = "[/b]x\x1b]0;pwned\x07\x1b[2J\u202eevil[/]"
SHOWN = "[/b]x\\x1b]0;pwned\\x07\\x1b[2J\\u202eevil[/]"
Y1 = datetime(1, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AFTER_9999 = "10000-01-01 13:59:59+00"  # 9999-12-31T23:59:59-14:00 as PostgreSQL shows it


def render(result: LookupResult) -> str:
    out = io.StringIO()
    render_lookup(result, Console(file=out, width=400, color_system=None))
    return out.getvalue()


def hostile_result() -> LookupResult:
    return LookupResult(
        KEY,
        current=[("special_offers", HOSTILE, AFTER_9999, HOSTILE), ("newsletter", "allowed", Y1,
                                                                    "v1")],
        history=[(AFTER_9999, "purchase.completed", HOSTILE, "all", "grant", True, HOSTILE,
                  {HOSTILE: HOSTILE, "n": 1}, True, "v1"),
                 (Y1, "preference.changed", "shop", "all", "withdraw", False, "r", [HOSTILE],
                  False, "v1"),
                 ("infinity", "x", "s", "all", "grant", True, "r", "1" * 5000, False, "v1")],
        decisions=[(AFTER_9999, HOSTILE, "special_offers", "suppressed", HOSTILE, HOSTILE,
                    HOSTILE)],
        profile=(f"a@example.com{HOSTILE}", HOSTILE, HOSTILE, None, HOSTILE, "NL", [HOSTILE],
                 Y1, AFTER_9999),
        erasures=[(Y1, HOSTILE, AFTER_9999)],
    )


def test_hostile_stored_text_and_extreme_dates_render_harmlessly():
    text = render(hostile_result())
    assert not any(c in text for c in "\x1b\x07\u202e")
    assert text.count(SHOWN) >= 10  # name, company, address, source, rule, evidence, request…
    assert AFTER_9999 in text and "0001-01-01" in text and "infinity" in text
    assert "(detected, review)" in text
    assert '["[/b]x\\u001b]0;pwned' in text  # evidence that is not an object: its JSON


def test_ordinary_values_render_as_before():
    result = LookupResult(
        KEY, current=[("special_offers", "opted_out", NOW, "v1")],
        history=[(NOW, "support.message_received", "helpdesk", "all", "withdraw", True,
                  "support.text_opt_out", {"text_rule": "en.stop_emailing"}, True, "v1")],
        decisions=[(NOW, "req-1", "special_offers", "suppressed", "opted_out",
                    "support.text_opt_out", None)],
        profile=("lou@example.com", "Lou Kup", None, None, None, "NL", ["shop"], NOW, NOW),
        erasures=[])
    text = render(result)
    for expected in ("Lou Kup", "2026-06-01 / 2026-06-01", "2026-06-01T12:00:00+00:00",
                     "support.text_opt_out (detected, review)", "text_rule=en.stop_emailing",
                     "req-1", "given via", "shop"):
        assert expected in text


@pytest.mark.parametrize(("raw", "expected"), [
    (b"2026-01-02 03:04:05+00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    (b"0001-01-01 00:00:00+00", Y1),
    (AFTER_9999.encode(), AFTER_9999),
    (b"infinity", "infinity"),
    (b"0044-03-15 00:00:00+00 BC", "0044-03-15 00:00:00+00 BC"),
])
def test_times_python_cannot_hold_load_as_postgresql_text(raw: bytes, expected: object):
    assert LenientTimestamptzLoader(types["timestamptz"].oid, None).load(raw) == expected


def test_json_python_refuses_loads_as_its_text():
    assert lenient_json(b'{"a": 1}') == {"a": 1}
    deep = b"[" * 100_000 + b"]" * 100_000
    assert lenient_json(deep) == deep.decode()
    big = b'{"n": ' + b"9" * 5000 + b"}"
    assert lenient_json(big) == big.decode()


def test_an_invalid_address_is_one_line_on_stderr_without_the_address(
        capsys: pytest.CaptureFixture[str]):
    victim = f"victim-{uuid.uuid4().hex[:6]}"
    assert run_lookup(f"x<{victim}@example.com>") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: not a valid e-mail address: ") and err.count("\n") == 1
    assert victim not in err


# ------------------------------------------------ erasure, reviews, disclosures, --json

ERASED_AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def erased_result(**kw: object) -> LookupResult:
    return LookupResult(
        KEY, current=[("special_offers", "erased", NOW, "v1")],
        history=[(NOW, "contact.erasure_requested", "desk", "erasure", "erased", True,
                  "erasure.requested", {"request_ref": "DSR-1"}, False, "v1")],
        decisions=[], profile=None, erasures=[(NOW, "DSR-1", ERASED_AT)],
        reviews=[(NOW, "r-1", "T-7", "possible_opt_out", "confirm_withdrawal",
                  "en.stop", "en", "3-9", NOW, None, None)],
        disclosures=[(NOW, uuid.UUID(int=7), "C-9", "District court", HOSTILE,
                      ["profile", "history"], "dpo", "dana", NOW, "e" * 64)],
        **kw)  # type: ignore[arg-type]


def test_an_erasure_states_until_when_raw_copies_may_exist():
    from schemas.topics import Retention

    text = render(erased_result(raw_copies_ms=Retention().raw_copies_ms))
    # 7 days + a tenth for segment rolling + 5 minutes for the broker's retention check
    assert "may exist in Kafka until 2026-12-03T02:53:00+00:00" in text
    assert "raw copies" not in render(erased_result())  # unknown retention: nothing claimed


def test_an_erasure_at_the_end_of_the_calendar_states_nothing_rather_than_crash():
    far = LookupResult(KEY, current=[("x", "erased", NOW, "v")], history=[], decisions=[],
                       erasures=[(Y1, "r", datetime(9999, 12, 31, tzinfo=UTC))],
                       raw_copies_ms=10 ** 9)
    assert "raw copies" not in render(far)


def test_review_items_and_disclosures_are_shown_escaped():
    text = render(erased_result())
    assert "Legal disclosures" in text and "C-9" in text and "District court" in text
    assert "dpo (dana)" in text and "profile, history" in text and SHOWN in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "possible_opt_out" in text and "T-7" in text and "open" in text


def test_the_json_document_is_complete_and_safe_to_print():
    import json

    from ops.held import CATEGORIES, access_document, categories_held, dumps
    from schemas.settings import ClientSettings

    doc = access_document(hostile_result(), "A@Example.com", ClientSettings())
    raw = dumps(doc)
    assert raw.isascii() and b"\x1b" not in raw and b"\x07" not in raw
    back = json.loads(raw)
    assert back["subject"] == {"email": "a@example.com", "contact_key": KEY}
    assert back["kind"] == "access_request" and back["format"] == "consent.subject-data/1"
    assert back["profile"]["name"] == HOSTILE  # lossless: escaped in JSON, not altered
    assert back["history"][0]["evidence"] == {HOSTILE: HOSTILE, "n": 1}
    assert back["history"][0]["occurred_at"] == AFTER_9999  # PostgreSQL's own text
    assert back["history"][2]["evidence"] == "1" * 5000
    assert set(CATEGORIES) <= set(back)
    assert categories_held(doc) == ["profile", "consent", "history", "mail_decisions",
                                    "erasures"]
    kept = {t["topic"]: t["kept"] for t in back["storage"]["kafka"]}
    assert kept["purchases"] == "7 d" and kept["consent-changes"] == "for ever"
