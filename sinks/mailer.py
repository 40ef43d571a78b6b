"""Mailer sink: `mail-outbox` → SMTP, each request id sent at most once, several at a time.

A request id is claimed in PostgreSQL (committed) before its SMTP transaction starts. If the
process dies mid-send the claim stays `sending` and the request is never retried: an uncertain
mail is not sent twice (operators see it in `mail_sends`). Claims are taken as many at a time
as there are SMTP connections (`mailer_concurrency`), and those are sent together, so a crash
leaves at most `mailer_concurrency` mails uncertain.

Error sites:
- a record that is not an outbox record: a `sink_failures` row, and on;
- a record that must not be mailed (`mail_checks.refusal`: address not normalised or not the
  decided contact's, a line break in a header): `failed` with the reason, never sent;
- a temporary SMTP refusal (4xx) or a lost connection: retried with backoff up to
  `mailer_max_attempts`; a permanent one (5xx): `failed`, never retried;
- the relay unreachable for every attempt: the claim goes back to `retry` (certainly not
  delivered), the batch's position is not stored, and the process exits for its supervisor;
  after the restart the batch is read again and those requests are sent.

Before any of it, the last mile (`send_check`): each batch waits until the mailer's replica of
the consent table covers every consent event acknowledged before the batch was read, and a
mail whose contact may no longer receive its purpose is recorded `suppressed_at_send`.
"""

import asyncio
import functools
import logging
import threading
from dataclasses import dataclass
from email.utils import parseaddr

import aiosmtplib
import psycopg
from confluent_kafka import Message
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from schemas.contact import KeyHasher
from schemas.metrics_endpoint import serve
from schemas.positions import position
from schemas.processors import DestinationKind
from schemas.records import OutboxRecord
from sinks.db import connect
from sinks.exceptions import SinkError
from sinks.kafka_source import TrackedConsumer, install_stop_handlers
from sinks.mail_checks import refusal, request_ref, scrub
from sinks.message import build_message
from sinks.send_check import SendCheck, paused_poll
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.mailer")

CONSUMER_NAME = "mailer"
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)


class MailerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.mails = Counter("consent_mails_total", "Mails handled by the mailer", ["state"],
                             registry=r)
        self.failures = Counter("consent_mailer_failures_total",
                                "Outbox records the mailer could not use", ["kind"], registry=r)
        self.lag = Gauge("consent_mailer_lag_records", "Outbox records not yet read by the mailer",
                         registry=r)
        self.stopped = Counter("consent_mails_stopped_at_send_total",
                               "Forwarded mails not sent: consent changed before SMTP",
                               ["purpose", "reason"], registry=r)


@dataclass
class Result:
    request_id: str
    state: str  # sent | failed | retry
    response: str


class RelayUnreachable(SinkError):
    """Every attempt failed to reach the SMTP relay; nothing was delivered."""


class Mailer:
    def __init__(self, settings: SinkSettings, metrics: MailerMetrics | None = None) -> None:
        settings.check_destinations(DestinationKind.SMTP)  # addresses go nowhere undeclared
        self.settings = settings
        self.metrics = metrics or MailerMetrics()
        self.hasher = KeyHasher(settings.key_secret.get_secret_value())
        self.sender = parseaddr(settings.mail_from)[1]
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(settings.mailer_concurrency):
            self._idle.put_nowait(None)  # connections are opened on first use
        self.sent = self.failed = self.skipped = 0

    async def _connected(self, smtp: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP:
        if smtp is not None and smtp.is_connected:
            return smtp
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, start_tls=s.smtp_starttls,
                               timeout=30)
        await smtp.connect()
        if s.smtp_username and s.smtp_password:
            await smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        return smtp

    async def close(self) -> None:
        while not self._idle.empty():
            smtp = self._idle.get_nowait()
            if smtp is not None and smtp.is_connected:
                try:
                    await smtp.quit()
                except aiosmtplib.SMTPException:
                    smtp.close()

    async def send(self, record: OutboxRecord) -> Result:
        """One mail over a pooled connection, with retries; never raises for SMTP trouble."""
        try:
            msg = build_message(record, mail_from=self.settings.mail_from,
                                unsubscribe_mailto=self.settings.unsubscribe_mailto)
        except (ValueError, TypeError):  # the email package refused a header
            return Result(record.request_id, "failed", "could not build the message headers")
        reached = False
        reason = ""
        for attempt in range(self.settings.mailer_max_attempts):
            smtp = await self._idle.get()
            try:
                smtp = await self._connected(smtp)
                reached = True
                _errors, response = await smtp.sendmail(self.sender, [record.email], msg)
            except aiosmtplib.SMTPResponseException as exc:
                reason = scrub(f"{exc.code} {exc.message}", record.email)
                if exc.code >= 500:
                    return Result(record.request_id, "failed", reason)
            except (aiosmtplib.SMTPException, OSError) as exc:
                reason = type(exc).__name__
                if smtp is not None:
                    smtp.close()
                smtp = None
            else:
                return Result(record.request_id, "sent", scrub(response, record.email))
            finally:
                self._idle.put_nowait(smtp)
            log.warning("mail attempt %s failed: request=%s reason=%s", attempt + 1,
                        request_ref(record.request_id), reason)
            await asyncio.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
        if not reached:
            return Result(record.request_id, "retry", "relay unreachable")
        return Result(record.request_id, "failed", f"gave up after retries ({reason})")

    # --------------------------------------------------------------------------- claims

    @staticmethod
    def claim(conn: psycopg.Connection, records: list[OutboxRecord]) -> list[OutboxRecord]:
        """Claim request ids (committed before any SMTP); returns the ones now ours."""
        if not records:
            return []
        rows = conn.execute(
            "INSERT INTO mail_sends (request_id, contact_key, state) "
            "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) "
            "ON CONFLICT (request_id) DO UPDATE SET state = 'sending', "
            "attempts = mail_sends.attempts + 1, claimed_at = now() "
            "WHERE mail_sends.state = 'retry' RETURNING request_id",
            ([r.request_id for r in records], [r.contact_key for r in records],
             ["sending"] * len(records))).fetchall()
        conn.commit()
        ours = {r[0] for r in rows}
        return [r for r in records if r.request_id in ours]

    @staticmethod
    def refuse(conn: psycopg.Connection, refused: list[tuple[OutboxRecord, str]]) -> None:
        if not refused:
            return
        conn.cursor().executemany(
            "INSERT INTO mail_sends (request_id, contact_key, state, finished_at, smtp_response) "
            "VALUES (%s, %s, 'failed', now(), %s) ON CONFLICT (request_id) DO NOTHING",
            [(r.request_id[:200], r.contact_key[:64], f"refused: {why}") for r, why in refused])
        conn.commit()

    def stop_at_send(self, conn: psycopg.Connection,
                     stopped: list[tuple[OutboxRecord, str]]) -> None:
        """Record mails the last mile stopped; a request already claimed is left as it is."""
        if not stopped:
            return
        conn.cursor().executemany(
            "INSERT INTO mail_sends (request_id, contact_key, state, finished_at, "
            "suppressed_reason) VALUES (%s, %s, 'suppressed_at_send', now(), %s) "
            "ON CONFLICT (request_id) DO NOTHING",
            [(r.request_id[:200], r.contact_key[:64], reason) for r, reason in stopped])
        conn.commit()
        for r, reason in stopped:
            self.metrics.mails.labels("suppressed_at_send").inc()
            self.metrics.stopped.labels(r.purpose.value, reason).inc()
            log.info("mail stopped at send: request=%s reason=%s", request_ref(r.request_id),
                     reason)

    @staticmethod
    def finish(conn: psycopg.Connection, results: list[Result]) -> None:
        conn.cursor().executemany(
            "UPDATE mail_sends SET state = %s, finished_at = now(), smtp_response = %s "
            "WHERE request_id = %s", [(r.state, r.response, r.request_id) for r in results])
        conn.commit()

    async def deliver_batch(self, conn: psycopg.Connection, records: list[OutboxRecord]) -> None:
        unreachable = False
        refused = [(r, why) for r in records if (why := refusal(r, self.hasher)) is not None]
        self.refuse(conn, refused)
        for r, why in refused:
            self.failed += 1
            self.metrics.mails.labels("refused").inc()
            log.warning("mail refused before sending: request=%s reason=%s",
                        request_ref(r.request_id), why)
        bad = {id(r) for r, _ in refused}
        good = [r for r in records if id(r) not in bad]
        step = self.settings.mailer_concurrency
        for i in range(0, len(good), step):
            chunk = good[i:i + step]
            claimed = self.claim(conn, chunk)
            self.skipped += len(chunk) - len(claimed)
            results = await asyncio.gather(*(self.send(r) for r in claimed))
            self.finish(conn, list(results))
            for res in results:
                self.metrics.mails.labels(res.state).inc()
                if res.state == "sent":
                    self.sent += 1
                elif res.state == "failed":
                    self.failed += 1
                else:
                    unreachable = True
        log.debug("mailed a batch: %d records, %d refused, sent %d so far", len(records),
                  len(refused), self.sent)
        if unreachable:
            raise RelayUnreachable(f"SMTP relay {self.settings.smtp_host}:"
                                   f"{self.settings.smtp_port} unreachable")


def run_mailer(settings: SinkSettings, stop: threading.Event | None = None) -> None:
    settings.check_production()
    settings.check_destinations(DestinationKind.KAFKA, DestinationKind.DATABASE,
                                DestinationKind.SMTP)
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    asyncio.run(_run(settings, stop))


async def _run(settings: SinkSettings, stop: threading.Event) -> None:
    mailer = Mailer(settings)
    serve(mailer.metrics.registry, settings.metrics_port, "mailer", settings.metrics_host)
    check = SendCheck(settings, settings.group_id(CONSUMER_NAME))
    # no `unstored=OFFSET_BEGINNING` here, unlike the PostgreSQL sink: with `mail_sends` empty
    # (a rebuilt database) reading the outbox from its start would mail it all again
    source = TrackedConsumer(settings, CONSUMER_NAME, ["mail-outbox"], lambda: connect(settings),
                             on_assigned=check.on_assign,
                             on_lag=lambda _topic, n: mailer.metrics.lag.set(n))
    claims = connect(settings)
    keep_alive = paused_poll(source.consumer)
    source.subscribe()
    log.info("mailer started: smtp=%s:%s concurrency=%s", settings.smtp_host,
             settings.smtp_port, settings.mailer_concurrency)
    try:
        while not stop.is_set():
            msgs = await asyncio.to_thread(source.poll_batch)
            if not msgs:
                continue
            parsed, failures = _parse(msgs)
            await asyncio.to_thread(check.wait, {p for _r, p in parsed}, keep_alive)
            stopped = [(r, why) for r, p in parsed if (why := check.stopped(r, p)) is not None]
            mailer.stop_at_send(claims, stopped)
            gone = {id(r) for r, _ in stopped}
            await mailer.deliver_batch(claims, [r for r, _p in parsed if id(r) not in gone])
            source.process(msgs, functools.partial(_record_failures, failures=failures,
                                                   mailer=mailer))
            source.consumer.commit(asynchronous=True)
    finally:
        source.close()
        claims.close()
        check.close()
        await mailer.close()


def _parse(msgs: list[Message]) -> tuple[list[tuple[OutboxRecord, int]], list[Message]]:
    """Outbox records with their partition (the contact's), and what could not be read."""
    records, failures = [], []
    for m in msgs:
        try:
            records.append((OutboxRecord.model_validate_json(m.value() or b""), position(m)[1]))
        except ValidationError:
            failures.append(m)
    return records, failures


def _record_failures(conn: psycopg.Connection, _fresh: list[Message], *,
                     failures: list[Message], mailer: Mailer) -> None:
    for m in failures:
        mailer.metrics.failures.labels("invalid_record").inc()
        log.error("unreadable outbox record: partition=%s offset=%s", m.partition(), m.offset())
    if failures:
        conn.cursor().executemany(
            'INSERT INTO sink_failures (consumer, topic, partition, "offset", stage, kind, '
            "reason) VALUES (%s,%s,%s,%s,'deserialization','invalid_record',"
            "'not a valid mail-outbox record') ON CONFLICT DO NOTHING",
            [(CONSUMER_NAME, "mail-outbox", m.partition(), m.offset()) for m in failures])
