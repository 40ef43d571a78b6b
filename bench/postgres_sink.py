"""Phase 5: the PostgreSQL sink started on everything produced so far, timed until it catches up."""

import time
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition
from psycopg import sql

from bench.constants import SINK_MAX_S, SINK_TOPICS
from bench.display import progress_bars
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second, rate_text
from bench.watcher import metric_total
from schemas.positions import position

TAIL_RECORDS = 100  # read back this far to find a partition's last readable record


def sink_catch_up(bench: Bench) -> dict[str, Any]:
    """Start the PostgreSQL sink on everything produced so far and time its catch-up.

    Progress is read from `kafka_positions`, which the sink writes in the same transaction
    as the rows, so a position is the moment its rows became visible; rows are counted once
    at the end (count(*) every tick would compete with the sink for PostgreSQL).
    """
    targets = readable_ends(bench, [bench.settings.topic(t) for t in SINK_TOPICS])
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


def readable_ends(bench: Bench, topics: list[str]) -> dict[tuple[str, int], int]:
    """Per partition, the offset after the last record a `read_committed` reader gets.

    Why not the end offset: a transactional topic ends with a commit marker, which no reader
    is handed, so a sink that has written everything stores `last record + 1`, one short of
    the end. Compared with end offsets, every transactional partition looked one record
    behind and the phase waited out `SINK_MAX_S` ("partial", 24 records unwritten, at 50k).
    The tail of each partition is read back to find its last record; a partition whose tail
    holds none (aborted transactions only) keeps its end offset.
    """
    consumer = Consumer(bench.settings.to_librdkafka(**{
        "group.id": "bench-readable-ends", "enable.auto.commit": False,
        "enable.partition.eof": True, "isolation.level": "read_committed"}))
    try:
        ends: dict[tuple[str, int], int] = {}
        tps = []
        for topic in topics:
            for p in range(bench.settings.partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                ends[(topic, p)] = high
                if high > low:
                    tps.append(TopicPartition(topic, p, max(low, high - TAIL_RECORDS)))
        consumer.assign(tps)
        open_ = {(tp.topic, tp.partition) for tp in tps}
        last: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + 60
        while open_ and time.monotonic() < deadline:
            for m in consumer.consume(500, timeout=1.0):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        open_.discard(position(m)[:2])  # an EOF event carries its position
                    continue
                topic, partition, offset = position(m)
                last[(topic, partition)] = offset + 1
        if open_:
            raise BenchError(f"could not read the tail of {len(open_)} partitions")
        return {tp: last.get(tp, end) for tp, end in ends.items()}
    finally:
        consumer.close()


def _rows_written(bench: Bench, name: str) -> int:
    """Rows the sink itself counted (every table, upserts included), from its /metrics."""
    _comp, port = bench.running[name]
    return int(metric_total(port, "consent_sink_rows_total"))
