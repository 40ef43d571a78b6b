"""PostgreSQL sink: consent ledger, current consent, mail decisions, profiles, dead letters,
erasures, review items and legal disclosures (the last three from the ledger's lines).

Every write is an idempotent upsert keyed by what makes the record unique (contact, event and
scope; request id; topic position), so replays and duplicate events change nothing.

Error sites:
- a record that is not what its topic promises (bad JSON, wrong fields): a `sink_failures` row
  with the reason, in the batch's transaction, and the sink goes on (never the content);
- a record PostgreSQL refuses (beyond the NULs `postgres_rows` already replaces): the batch is
  retried record by record under savepoints, the refused one becomes a `sink_failures` row
  with its SQLSTATE, the rest are stored;
- PostgreSQL unreachable: retried with backoff, then the process exits (`kafka_source`).
Each site has a counter (`SinkMetrics`).
"""

import logging
import sys
import threading
import time

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Message
from prometheus_client import CollectorRegistry, Counter, Gauge

from schemas.metrics_endpoint import serve
from schemas.positions import position
from schemas.processors import DestinationKind
from sinks.db import connect
from sinks.kafka_source import TrackedConsumer, install_stop_handlers
from sinks.postgres_copy import prepare_session, stage, write
from sinks.postgres_rows import TOPICS, Failure, Rows, collect
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.postgres")

CONSUMER_NAME = "postgres-sink"


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.rows = Counter("consent_sink_rows_total", "Rows written by the PostgreSQL sink",
                            ["table"], registry=r)
        self.failures = Counter("consent_sink_failures_total",
                                "Records the sink could not store", ["topic", "stage", "kind"],
                                registry=r)
        self.last_batch = Gauge("consent_sink_last_batch_timestamp_seconds",
                                "Unix time of the last stored batch", registry=r)
        self.lag = Gauge("consent_sink_lag_records", "Records not yet read by a sink",
                         ["sink", "topic"], registry=r)
        self.reviews_open = Gauge("consent_review_items_open",
                                  "Review items no agent has decided yet", registry=r)


class PostgresWriter:
    def __init__(self, settings: SinkSettings, metrics: SinkMetrics | None = None) -> None:
        self.base = {settings.topic(t): t for t in TOPICS}
        self.metrics = metrics or SinkMetrics()
        self.rejected = 0
        self._reviews_due = 0.0

    def prepare(self, msgs: list[Message]) -> Rows:
        """The batch's rows and COPY payloads; no connection: runs on the sink's worker thread."""
        return stage(collect(msgs, self.base))

    def write(self, conn: psycopg.Connection, msgs: list[Message], rows: Rows) -> None:
        """Store a prepared batch inside the caller's transaction."""
        try:
            with conn.transaction():  # a savepoint inside the batch's transaction
                write(conn, rows)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.warning("PostgreSQL refused a batch (%s); storing record by record",
                        exc.sqlstate)
            rows = self._one_by_one(conn, msgs)
        self._record_failures(conn, rows.failures)
        self._count(rows)
        if time.monotonic() >= self._reviews_due:
            self._reviews_due = time.monotonic() + 30.0
            row = conn.execute("SELECT count(*) FROM review_items WHERE resolved_at IS NULL"
                               ).fetchone()
            self.metrics.reviews_open.set(row[0] if row else 0)
        log.debug("stored a batch: %d records, %d rows, %d failures", len(msgs), rows.count(),
                  len(rows.failures))

    def _one_by_one(self, conn: psycopg.Connection, msgs: list[Message]) -> Rows:
        total = Rows()
        for m in msgs:
            single = collect([m], self.base)
            total.failures.extend(single.failures)
            try:
                with conn.transaction():
                    write(conn, single)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                topic, partition, offset = position(m)
                total.failures.append(Failure(
                    self.base.get(topic, ""), partition, offset, "processing",
                    f"sqlstate_{exc.sqlstate}",
                    f"PostgreSQL refused the record (SQLSTATE {exc.sqlstate})"))
                continue
            total.ledger += single.ledger
            total.decisions += single.decisions
            total.current.update(single.current)
            total.contacts.update(single.contacts)
            total.letters += single.letters
            total.erasures += single.erasures
            total.reviews += single.reviews
            total.resolutions += single.resolutions
            total.disclosures += single.disclosures
        return total

    def _record_failures(self, conn: psycopg.Connection, failures: list[Failure]) -> None:
        if not failures:
            return
        with conn.cursor() as cur:
            cur.executemany(
                'INSERT INTO sink_failures (consumer, topic, partition, "offset", stage, kind, '
                "reason) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                [(CONSUMER_NAME, f.topic, f.partition, f.offset, f.stage, f.kind, f.reason)
                 for f in failures])
        for f in failures:
            self.rejected += 1
            self.metrics.failures.labels(f.topic, f.stage, f.kind).inc()
            log.error("record not stored: topic=%s partition=%s offset=%s stage=%s reason=%s",
                      f.topic, f.partition, f.offset, f.stage, f.reason)

    def _count(self, rows: Rows) -> None:
        m = self.metrics.rows
        for table, n in (("consent_ledger", len(rows.ledger)),
                         ("consent_current", len(rows.current)),
                         ("mail_decisions", len(rows.decisions)),
                         ("contacts", len(rows.contacts)), ("erasures", len(rows.erasures)),
                         ("dead_letters", len(rows.letters)),
                         ("review_items", len(rows.reviews)),
                         ("disclosures", len(rows.disclosures))):
            if n:
                m.labels(table).inc(n)
        self.metrics.last_batch.set_to_current_time()


def run_postgres_sink(settings: SinkSettings, stop: threading.Event | None = None,
                      metrics: SinkMetrics | None = None) -> None:
    settings.check_production()
    settings.check_destinations(DestinationKind.KAFKA, DestinationKind.DATABASE)
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    metrics = metrics or SinkMetrics()
    serve(metrics.registry, settings.metrics_port, "postgres-sink", settings.metrics_host)
    base = {settings.topic(t): t for t in TOPICS}
    source = TrackedConsumer(settings, CONSUMER_NAME, TOPICS, lambda: connect(settings),
                             on_connect=prepare_session,
                             on_lag=lambda topic, n: metrics.lag.labels(
                                 CONSUMER_NAME, base.get(topic, "?")).set(n),
                             # no stored position means nothing of that partition is stored
                             # (a schema rebuilt empty), whatever the group committed before
                             unstored=OFFSET_BEGINNING)
    log.info("postgres sink started")
    # each PostgreSQL round trip ends with the writing thread asking for the GIL back; at the
    # default 5 ms switch interval it waited behind the preparing thread that long every time
    sys.setswitchinterval(0.0005)
    writer = PostgresWriter(settings, metrics)
    source.run_pipelined(writer.prepare, writer.write, stop)
