"""COPY's text format, built in Python so it can be built off the writing thread.

Why not psycopg's `write_row`: it formats on the thread that holds the connection, and at a
million contacts that was a fifth of the sink's writing thread (a dumper lookup per value);
built beforehand on the sink's worker thread (`TrackedConsumer.run_pipelined`) it overlaps with
PostgreSQL's work on the batch before. Only the types the staging tables take are accepted;
anything else is a bug and raises.

NUL, which PostgreSQL refuses in text, becomes U+FFFD here, as everywhere the sink stores text
(`postgres_rows`).
"""

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

# the characters COPY reads specially, and NUL
_SPECIAL = re.compile(r"[\\\t\n\r\x00]")
_ESCAPE = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"}


def _escape(match: re.Match[str]) -> str:
    return _ESCAPE[match.group()]


def _array(items: list[str]) -> str:
    """A text[] literal: every element quoted, its backslashes and quotes escaped."""
    return "{" + ",".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for s in items) + "}"


def field(value: Any) -> str:
    """One value as COPY text: NULL as \\N, the characters COPY reads specially escaped."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return _SPECIAL.sub(_escape, value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID | int):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return _SPECIAL.sub(_escape, _array(value))
    raise TypeError(f"no COPY text form for a {type(value).__name__}")


def copy_text(rows: Iterable[tuple[Any, ...]]) -> bytes:
    """The rows as one COPY payload.

    Most batches hold no string that needs escaping: the batch's strings are searched once,
    joined with nothing between them, and when nothing is found they go in as they are; only
    other types are converted value by value. Lone surrogates pass through, so PostgreSQL
    refuses the batch (invalid UTF-8) and the sink isolates the record, instead of the worker
    thread crashing.
    """
    rows = list(rows)
    strings = [v for row in rows for v in row if type(v) is str]
    if _SPECIAL.search("".join(strings)) is None:
        text = "".join(["\t".join([v if type(v) is str else field(v) for v in row]) + "\n"
                        for row in rows])
    else:
        text = "".join(["\t".join([field(v) for v in row]) + "\n" for row in rows])
    return text.encode("utf-8", "surrogatepass")
