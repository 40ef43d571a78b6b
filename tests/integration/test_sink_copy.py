"""The sink's own COPY text, read back by the real PostgreSQL: every value arrives as it was.

The sink builds COPY payloads itself (`sinks.copy_text`) so they can be built off the writing
thread; a mistake in its escaping would silently store a different string, or let a value
split a row. Here random text, including every character COPY reads specially and NUL, goes
through COPY into the column types the staging tables use and is compared on the way back.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.supervisor import LocalInfra
from sinks.copy_text import copy_text

pytestmark = pytest.mark.integration

Row = tuple[str, str | None, uuid.UUID, datetime, bool, list[str]]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # no lone surrogates
ROWS = st.lists(st.tuples(TEXT, st.none() | TEXT, st.uuids(),
                          st.datetimes(timezones=st.just(UTC)), st.booleans(),
                          st.lists(TEXT, max_size=3)), min_size=1, max_size=15)


@pytest.fixture(scope="module")
def conn(infra: LocalInfra) -> Iterator[psycopg.Connection]:
    with psycopg.connect(infra.database_url, autocommit=True) as c:
        c.execute("CREATE TEMP TABLE t (n int, a text, b text, id uuid, at timestamptz, "
                  "yes boolean, tags text[])")
        yield c


def stored(value: str) -> str:
    return value.replace("\x00", "\ufffd")  # PostgreSQL refuses NUL in text; the sink says so


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_what_copy_reads_back_is_what_was_written(conn: psycopg.Connection,
                                                  rows: list[Row]) -> None:
    conn.execute("TRUNCATE t")
    numbered = [(n, *row) for n, row in enumerate(rows)]
    with conn.cursor().copy("COPY t (n, a, b, id, at, yes, tags) FROM STDIN") as copy:
        copy.write(copy_text(numbered))
    back = conn.execute("SELECT n, a, b, id, at, yes, tags FROM t ORDER BY n").fetchall()
    assert back == [(n, stored(a), None if b is None else stored(b), i, at, yes,
                     [stored(x) for x in tags]) for n, a, b, i, at, yes, tags in numbered]


def test_a_lone_surrogate_is_refused_by_postgresql_as_bad_data(conn: psycopg.Connection) -> None:
    """So the sink's record-by-record path (which catches psycopg errors) isolates it."""
    conn.execute("TRUNCATE t")
    with pytest.raises(psycopg.errors.DataError):
        with conn.cursor().copy("COPY t (n, a) FROM STDIN") as copy:
            copy.write(copy_text([(1, "a\ud800b")]))
