"""COPY text built by the sink itself: every value as PostgreSQL's COPY reads it back."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sinks.copy_text import copy_text, field

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.mark.parametrize(("value", "text"), [
    (None, "\\N"), (True, "t"), (False, "f"), (0, "0"), (-7, "-7"),
    ("plain", "plain"), ("", ""), ("a\\b", "a\\\\b"), ("a\tb", "a\\tb"), ("a\nb", "a\\nb"),
    ("a\rb", "a\\rb"), ("\\N", "\\\\N"), ("\\.", "\\\\."), ("nul\x00here", "nul\ufffdhere"),
    ("zoë 😀", "zoë 😀"),
    (T0, "2026-01-02T03:04:05.678901+00:00"),
    (T0.astimezone(timezone(timedelta(hours=2))), "2026-01-02T05:04:05.678901+02:00"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ([], "{}"), (["a", "b"], '{"a","b"}'), (['q"uote', "back\\slash"], '{"q\\\\"uote","back\\\\\\\\slash"}'),
    (["NULL"], '{"NULL"}'),
])
def test_each_value_is_written_as_copy_reads_it(value: object, text: str) -> None:
    assert field(value) == text


@pytest.mark.parametrize("value", [1.5, {"a": 1}, b"bytes", [1, 2]])
def test_a_type_the_staging_tables_do_not_take_is_a_bug_and_raises(value: object) -> None:
    with pytest.raises(TypeError, match="no COPY text form"):
        copy_text([(value,)])


def test_rows_are_lines_of_tab_separated_fields() -> None:
    assert copy_text([("k", None, True, T0), ("x\ty", 3, False, None)]) == (
        b"k\t\\N\tt\t2026-01-02T03:04:05.678901+00:00\nx\\ty\t3\tf\t\\N\n")
    assert copy_text([]) == b""


def test_a_lone_surrogate_reaches_postgresql_which_refuses_it() -> None:
    assert copy_text([("a\ud800b",)]) == b"a\xed\xa0\x80b\n"  # not a crash of the worker


@given(st.lists(st.tuples(st.text(), st.none() | st.text(), st.booleans(),
                          st.lists(st.text(), max_size=3)), max_size=8))
def test_the_fast_path_writes_what_value_by_value_would(
        rows: list[tuple[str, str | None, bool, list[str]]]) -> None:
    slow = "".join("\t".join(field(v) for v in row) + "\n" for row in rows)
    assert copy_text(rows) == slow.encode("utf-8", "surrogatepass")
