"""Phase 5: the PostgreSQL sink started on everything produced so far, timed until it catches up."""

import time
from typing import Any

import psycopg
from psycopg import sql

from bench.constants import SINK_MAX_S, SINK_TOPICS
from bench.display import progress_bars
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second, rate_text
from bench.watcher import metric_total


def sink_catch_up(bench: Bench) -> dict[str, Any]:
    """Start the PostgreSQL sink on everything produced so far and time its catch-up.

    Progress is read from `kafka_positions`, which the sink writes in the same transaction
    as the rows, so a position is the moment its rows became visible; rows are counted once
    at the end (count(*) every tick would compete with the sink for PostgreSQL).
    """
    targets = {(bench.settings.topic(t), p): h for t in SINK_TOPICS
               for p, h in bench.end_offsets(t).items()}
    total = sum(targets.values())
    with psycopg.connect(bench.infra.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(
            sql.Identifier(bench.sink_settings.db_schema)))

        def rows() -> int:
            return sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(t))).fetchone()[0]  # type: ignore[index]  # count(*) returns a row
                for t in ("consent_ledger", "mail_decisions"))

        started = time.time()
        comp = bench.start("sink", "postgres", "sink", "postgres")
        first: tuple[float, int, int] | None = None  # time, records, rows
        last_change = started
        done = 0
        with progress_bars() as progress:
            task = progress.add_task("PostgreSQL sink catches up (records)", total=total,
                                     rate="")
            while True:
                comp.check_alive()
                positions = conn.execute(
                    "SELECT topic, partition, next_offset FROM kafka_positions "
                    "WHERE consumer = 'postgres-sink'").fetchall()
                now = time.time()
                pos = sum(min(o, targets.get((t, p), 0)) for t, p, o in positions)
                if pos != done:
                    last_change = now
                done = pos
                if first is None and done > 0:
                    first = (now, done, rows())
                if first is not None and now > first[0]:
                    progress.update(task, rate=rate_text(per_second(done - first[1],
                                                                    now - first[0])))
                progress.update(task, completed=done)
                if done >= total or now - started > SINK_MAX_S:
                    break
                time.sleep(0.25)
        rows_end = rows()  # before stopping: a partial run keeps writing meanwhile
        written = _rows_written(bench, comp.name)
        bench.stop(comp)
        peak = bench.peaks.get("sink", [None])[-1]
        counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(t))).fetchone()[0]  # type: ignore[index]  # count(*) returns a row
            for t in ("consent_ledger", "mail_decisions", "consent_current")}
    if first is None:
        raise BenchError("the PostgreSQL sink wrote nothing")
    caught_up = done >= total
    if not caught_up:
        bench.notes.append(f"PostgreSQL sink: stopped measuring after {SINK_MAX_S:.0f}s with "
                           f"{done:,} of {total:,} records written; rates are over that window")
    span = last_change - first[0]
    return {
        "records_in": total,
        "records_written": done,
        "caught_up": caught_up,
        "ledger_rows": counts["consent_ledger"],
        "decision_rows": counts["mail_decisions"],
        "consent_current_rows": counts["consent_current"],
        "rows_per_s": figure(per_second(written, span)),
        "rows_written": written,
        "ledger_and_decision_rows_per_s": figure(per_second(rows_end - first[2], span)),
        "records_per_s": figure(per_second(done - first[1], span)),
        "rows_per_s_incl_startup": figure(per_second(rows_end, last_change - started)),
        "first_to_last_s": round(span, 2),
        "peak_rss_mib": round(peak, 1) if peak else None,
    }


def _rows_written(bench: Bench, name: str) -> int:
    """Rows the sink itself counted (every table, upserts included), from its /metrics."""
    _comp, port = bench.running[name]
    return int(metric_total(port, "consent_sink_rows_total"))
