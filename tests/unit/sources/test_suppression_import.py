"""The suppression import's reading and checking, with a fake producer (no broker).

What it pins: encodings are decided before any line is read; a malformed line refuses the file
before anything is sent; a bad value rejects its line only; no reason ever quotes a line's
content; events carry the contact key and never the address. The real path (CLI → broker →
worker → PostgreSQL) is in tests/integration/test_hostile_import_lookup.py.
"""

import csv
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.contact import contact_key
from schemas.envelope import parse_event
from schemas.events import PreferenceChanged
from sources.suppression_import import (
    MAX_LINE_CHARS,
    NAMESPACE,
    Duplicate,
    FileRefused,
    ImportError_,
    Rejected,
    Suppression,
    check_file,
    check_lines,
    decode,
    import_file,
    to_event,
)

SECRET = "suppression-import-test-secret"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MTIME = datetime(2026, 5, 1, tzinfo=UTC)
MARK = "zq7secret"  # put in lines' content; must never come out in a reason or an error


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.flushed = 0

    def send(self, event: dict[str, Any]) -> str:
        self.sent.append(event)
        return ""

    def flush(self) -> None:
        self.flushed += 1


def items(text: str, now: datetime = NOW) -> list[Suppression | Duplicate | Rejected]:
    return list(check_lines(text, "list.csv", SECRET, default_at=MTIME, now=now))


def reasons(text: str) -> dict[int, str]:
    return {i.line: i.reason for i in items(text) if isinstance(i, Rejected)}


def write(tmp_path: Path, content: str | bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


# ---------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(("raw", "label"), [
    (b"email\na@example.com\n", "UTF-8"),
    (b"\xef\xbb\xbfemail\na@example.com\n", "UTF-8 (with BOM)"),
    ("email\na@example.com\n".encode("utf-16"), "UTF-16 (little-endian, BOM)"),
    (b"\xfe\xff" + "email\na@example.com\n".encode("utf-16-be"), "UTF-16 (big-endian, BOM)"),
])
def test_utf8_and_utf16_with_bom_are_read(raw: bytes, label: str):
    text, got = decode(raw, "list.csv")
    assert (text, got) == ("email\na@example.com\n", label)


def test_latin1_is_refused_up_front_with_the_line_and_no_content():
    raw = f"email\nok@example.com\nj\xe9r\xf4me.{MARK}@example.com\n".encode("latin-1")
    with pytest.raises(ImportError_) as exc:
        decode(raw, "list.csv")
    message = str(exc.value)
    assert "not valid UTF-8" in message and "line 3" in message and "iconv" in message
    assert MARK not in message and "\xe9" not in message


@pytest.mark.parametrize("raw", [
    "email\na@example.com\n".encode("utf-16-le"),  # no byte-order mark
    "email\na@example.com\n".encode("utf-32"),
])
def test_utf16_without_bom_and_utf32_are_refused(raw: bytes):
    with pytest.raises(ImportError_, match="UTF-8"):
        decode(raw, "list.csv")


def test_refusing_the_encoding_sends_nothing(tmp_path: Path):
    path = write(tmp_path, "email\na@example.com\nb\xe9@example.com\n".encode("latin-1"))
    producer = FakeProducer()
    with pytest.raises(ImportError_):
        import_file(path, producer, SECRET)  # type: ignore[arg-type]
    assert producer.sent == [] and producer.flushed == 0


# ---------------------------------------------------------------------------- the header


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty"),
    ("\n\n", "empty"),
    ("address,scope\na@example.com,all\n", "no 'email' column"),
    (f"{MARK}@example.com,all\n", "no 'email' column"),  # a list without a header
    ("email,Email\na@example.com,b@example.com\n", "more than once"),
    ('"email,scope\na@example.com\n', "header"),
])
def test_a_file_without_a_usable_header_is_refused(text: str, match: str):
    with pytest.raises(ImportError_, match=match) as exc:
        items(text)
    assert MARK not in str(exc.value)


def test_header_names_are_trimmed_and_case_insensitive_and_other_columns_ignored():
    got = items(" Name , EMAIL ,Scope\nJo,jo@example.com,NEWSLETTER\n")
    assert len(got) == 1 and isinstance(got[0], Suppression) and got[0].scope == "newsletter"


# ---------------------------------------------------------------------------- malformed lines


def test_a_two_megabyte_field_is_a_malformed_line_and_the_lines_after_it_are_read():
    text = f"email\na@example.com\n{'x' * 2_000_000}@example.com\nb@example.com\n"
    got = items(text)
    assert [type(i) for i in got] == [Suppression, Rejected, Suppression]
    bad = got[1]
    assert isinstance(bad, Rejected) and bad.malformed and bad.line == 3
    assert bad.reason == f"line is longer than {MAX_LINE_CHARS} characters"


def test_csv_errors_are_malformed_lines_with_our_own_reason():
    text = f'email,scope\n"{MARK}@example.com"x,all\n"{MARK}@example.com,all\nok@example.com,all\n'
    got = items(text)
    assert [(i.line, i.malformed) for i in got if isinstance(i, Rejected)] == [(2, True), (3, True)]
    assert all("not valid CSV" in i.reason and MARK not in i.reason
               for i in got if isinstance(i, Rejected))
    assert isinstance(got[-1], Suppression) and got[-1].line == 4


def test_the_csv_field_size_limit_is_a_rejected_line_not_a_crash():
    old = csv.field_size_limit()
    csv.field_size_limit(100)  # a process that lowered it: the reader's own error, caught
    try:
        got = items(f"email,note\na@example.com,{'n' * 500}\n")
    finally:
        csv.field_size_limit(old)
    assert got == [Rejected(2, "a field is longer than the CSV field size limit", malformed=True)]


def test_a_misaligned_row_is_reported_by_line_and_reason_never_by_content():
    text = (f"email,scope,opted_out_at\nSmith, {MARK}@example.com,all,\n"
            f"{MARK}@example.com,all\n")
    assert reasons(text) == {2: "line has more fields than the header",
                             3: "line has fewer fields than the header"}


def test_a_malformed_line_refuses_the_whole_file_and_nothing_is_sent(tmp_path: Path):
    path = write(tmp_path, f"email\na@example.com\nb@example.com\n{'y' * 2_000_000}\n"
                           "c@example.com\n")
    producer = FakeProducer()
    with pytest.raises(FileRefused) as exc:
        import_file(path, producer, SECRET)  # type: ignore[arg-type]
    assert producer.sent == [] and producer.flushed == 0
    report = exc.value.report
    assert report.malformed_lines == [4] and report.valid == 3 and report.imported == 0
    assert "nothing was sent" in str(exc.value)


# ---------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("address", [
    '=HYPERLINK("http://evil.example/?x")@example.com',
    "=cmd@example.com", "+cmd@example.com", "-cmd@example.com", "@cmd@example.com",
    "\t=cmd@example.com",
])
def test_addresses_that_look_like_formulas_are_refused(address: str):
    quoted = '"' + address.replace('"', '""') + '"'
    assert reasons(f"email\n{quoted}\n") == {
        2: "e-mail looks like a spreadsheet formula (starts with =, +, - or @)"}


@pytest.mark.parametrize("address", [f"x<{MARK}@example.com", f"{MARK}(c)@example.com",
                                     f"x:{MARK}@example.com", f"{MARK}", f"{MARK}@localhost"])
def test_what_normalise_email_refuses_is_rejected_without_the_address(address: str):
    (reason,) = reasons(f'email\n"{address}"\n').values()
    assert reason.startswith("invalid e-mail: ") and MARK not in reason


def test_an_unknown_scope_is_not_quoted():
    assert reasons(f"email,scope\na@example.com,{MARK}@example.com\n") == {
        2: "unknown scope (expected 'all' or a marketing purpose)"}


@pytest.mark.parametrize(("at", "reason"), [
    ("2999-01-01T00:00:00+00:00", "opted_out_at is before 2000 or after 2099"),
    ("1999-12-31T23:59:59+00:00", "opted_out_at is before 2000 or after 2099"),
    ("9999-12-31T23:59:59-14:00", "opted_out_at is before 2000 or after 2099"),
    ((NOW + timedelta(hours=1)).isoformat(), "opted_out_at is in the future"),
    ("2026-01-02T03:04:05", "opted_out_at has no timezone"),
    ("yesterday", "opted_out_at is not an ISO 8601 date-time"),
    ("10000-01-01T00:00:00+00:00", "opted_out_at is not an ISO 8601 date-time"),
])
def test_absurd_and_future_opt_out_times_are_rejected(at: str, reason: str):
    assert reasons(f"email,opted_out_at\na@example.com,{at}\n") == {2: reason}


def test_a_few_minutes_of_clock_skew_are_accepted():
    at = NOW + timedelta(minutes=4)
    (got,) = items(f"email,opted_out_at\na@example.com,{at.isoformat()}\n")
    assert isinstance(got, Suppression) and got.at == at


def test_a_modification_time_before_2000_rejects_the_lines_without_a_date():
    text = "email,opted_out_at\na@example.com,\nb@example.com,2026-01-01T00:00:00+00:00\n"
    got = list(check_lines(text, "list.csv", SECRET, now=NOW,
                           default_at=datetime(1980, 1, 1, tzinfo=UTC)))
    assert got[0] == Rejected(2, "no opted_out_at, and the file's modification time is before "
                                 "2000 or after 2099")
    assert isinstance(got[1], Suppression)


def test_a_modification_time_in_the_future_counts_as_now(tmp_path: Path):
    path = write(tmp_path, "email\na@example.com\n")
    future = (NOW + timedelta(days=30)).timestamp()
    os.utime(path, (future, future))
    checked = check_file(path, SECRET, now=NOW)
    assert checked.default_at == NOW and checked.report.valid == 1


# ---------------------------------------------------------------------------- lines


def test_blank_lines_and_rows_of_empty_cells_are_skipped_and_numbering_is_physical():
    text = "email,scope\r\n\r\na@example.com,all\r\n,\r\n  \rb@example.com,all\rnope,all\n"
    got = items(text)
    assert [(type(i).__name__, i.line) for i in got] == [
        ("Suppression", 3), ("Suppression", 6), ("Rejected", 7)]


def test_a_unicode_line_separator_inside_a_field_does_not_split_the_line():
    got = items("email,note\na@example.com,one\u2028two\x0cthree\nb@example.com,x\n")
    assert [i.line for i in got] == [2, 3] and all(isinstance(i, Suppression) for i in got)


def test_the_same_opt_out_twice_is_a_duplicate():
    got = items("email\na@example.com\nA@Example.com \n")
    assert [type(i) for i in got] == [Suppression, Duplicate]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=40), max_size=6))
def test_no_reason_ever_quotes_a_line(cells: list[str]):
    """Whatever a line holds, its rejection reason is one of ours: the marker never shows."""
    line = ",".join(f"{MARK}{c}" for c in cells)
    for item in items(f"email,scope,opted_out_at\n{line}\n"):
        if isinstance(item, Rejected):
            assert MARK not in item.reason


# ---------------------------------------------------------------------------- events


def test_events_carry_the_contact_key_and_never_the_address():
    (s,) = items("email,scope\nJane.Doe@Example.com,special_offers\n")
    assert isinstance(s, Suppression)
    event = to_event(s, "suppression-import:list.csv")
    assert event["data"] == {"contact_key": contact_key("jane.doe@example.com", SECRET),
                             "changes": {"special_offers": "withdrawn"}}
    assert "jane" not in str(event).lower()
    parsed = parse_event(json.dumps(event).encode())
    assert isinstance(parsed, PreferenceChanged) and parsed.data.email is None


def test_event_ids_are_the_ones_earlier_imports_produced():
    """Same derivation as before the change: re-importing an old file still deduplicates."""
    (s,) = items("email,opted_out_at\nA@example.com,2026-01-02T03:04:05+00:00\n")
    assert isinstance(s, Suppression)
    key = contact_key("a@example.com", SECRET)
    expected = uuid.uuid5(NAMESPACE, f"{key}|all|2026-01-02T03:04:05+00:00")
    assert to_event(s, "x")["event_id"] == str(expected)


def test_valid_lines_are_sent_and_flushed_rejected_ones_counted(tmp_path: Path):
    path = write(tmp_path, "email,scope\na@example.com,all\nbad,all\nb@example.com,newsletter\n"
                           "a@example.com,all\n=x@example.com,all\n")
    producer = FakeProducer()
    report = import_file(path, producer, SECRET)  # type: ignore[arg-type]
    assert producer.flushed == 1
    assert [e["data"].get("contact_key") for e in producer.sent] == [
        contact_key("a@example.com", SECRET), contact_key("b@example.com", SECRET)]
    assert (report.imported, report.duplicates_in_file, report.rejected_lines) == (2, 1, [3, 6])
    assert all(e["source"] == "suppression-import:list.csv" for e in producer.sent)
