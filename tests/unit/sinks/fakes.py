"""A stand-in PostgreSQL connection for the sinks' unit tests: it keeps `kafka_positions` rows
and records what was executed and copied; `fail` makes the next calls raise like a lost server."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class StandInCursor:
    def __init__(self, conn: "StandInConnection") -> None:
        self.conn = conn

    def __enter__(self) -> "StandInCursor":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, query: str, params: Any = None) -> None:
        self.conn.executed.append(query)

    def executemany(self, query: str, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executed.append(query)
        if "kafka_positions" in query:
            for consumer, topic, partition, offset in rows:
                key = (consumer, topic, partition)
                self.conn.positions[key] = max(self.conn.positions.get(key, 0), offset)
        else:
            self.conn.many.append((query, list(rows)))

    @contextmanager
    def copy(self, statement: str) -> Iterator["StandInCopy"]:
        copy = StandInCopy()
        yield copy
        self.conn.copied.append((statement, copy.rows))


class StandInCopy:
    """Keeps the COPY payload's lines, split into their fields (COPY text format)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def write(self, data: bytes) -> None:
        self.rows += [tuple(line.split("\t")) for line in data.decode().splitlines()]


class Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class StandInConnection:
    def __init__(self, positions: dict[tuple[str, str, int], int] | None = None,
                 fail: int = 0) -> None:
        self.positions = positions if positions is not None else {}
        self.fail = fail
        self.executed: list[str] = []
        self.many: list[tuple[str, list[tuple[Any, ...]]]] = []
        self.copied: list[tuple[str, list[tuple[str, ...]]]] = []
        self.closed = False
        self.commits = 0

    def _maybe_fail(self) -> None:
        if self.fail:
            self.fail -= 1
            raise psycopg.OperationalError("server closed the connection")

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> Rows:
        self._maybe_fail()
        self.executed.append(query)
        if "FROM kafka_positions" in query:
            (name,) = params
            return Rows([(t, p, o) for (c, t, p), o in self.positions.items() if c == name])
        return Rows([])

    def commit(self) -> None:
        self.commits += 1

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._maybe_fail()
        yield

    def cursor(self) -> StandInCursor:
        return StandInCursor(self)

    def close(self) -> None:
        self.closed = True
