"""Mailer sink: `mail-outbox` → SMTP, each request id sent at most once.

A request id is claimed in PostgreSQL (committed) before the SMTP transaction starts. If the
process dies mid-send the claim stays `sending` and the request is never retried: an uncertain
mail is not sent twice (operators see it in `mail_sends`). A refused or failed attempt that
certainly did not deliver is marked `retry` and tried again, up to a limit, then `failed`.
"""

import asyncio
import logging
import threading
from email.utils import parseaddr

import aiosmtplib
import psycopg
from confluent_kafka import Message
from pydantic import ValidationError

from schemas.records import OutboxRecord
from sinks.db import connect
from sinks.kafka_source import TrackedConsumer, install_stop_handlers
from sinks.message import build_message
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.mailer")

CONSUMER_NAME = "mailer"
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)


class Mailer:
    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self.sent = 0
        self.failed = 0
        self.skipped = 0
        self._smtp: aiosmtplib.SMTP | None = None

    async def _client(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            s = self.settings
            self._smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port,
                                         start_tls=s.smtp_starttls, timeout=30)
            await self._smtp.connect()
            if s.smtp_username and s.smtp_password:
                await self._smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        return self._smtp

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except aiosmtplib.SMTPException:
                self._smtp.close()

    @staticmethod
    def claim(conn: psycopg.Connection, record: OutboxRecord) -> bool:
        row = conn.execute(
            "INSERT INTO mail_sends (request_id, contact_key, state) VALUES (%s, %s, 'sending') "
            "ON CONFLICT (request_id) DO UPDATE SET state = 'sending', "
            "attempts = mail_sends.attempts + 1, claimed_at = now() "
            "WHERE mail_sends.state = 'retry' RETURNING attempts",
            (record.request_id, record.contact_key)).fetchone()
        conn.commit()
        return row is not None

    @staticmethod
    def finish(conn: psycopg.Connection, request_id: str, state: str, response: str) -> None:
        conn.execute("UPDATE mail_sends SET state = %s, finished_at = now(), smtp_response = %s "
                     "WHERE request_id = %s", (state, response[:500], request_id))
        conn.commit()

    async def deliver(self, conn: psycopg.Connection, record: OutboxRecord) -> None:
        if not self.claim(conn, record):
            self.skipped += 1
            return
        msg = build_message(record, mail_from=self.settings.mail_from,
                            unsubscribe_mailto=self.settings.unsubscribe_mailto)
        for attempt in range(self.settings.mailer_max_attempts):
            try:
                smtp = await self._client()
                # Flattened here: aiosmtplib's own policy would fold (encode) long headers.
                _errors, response = await smtp.sendmail(
                    parseaddr(self.settings.mail_from)[1], [record.email], msg.as_bytes())
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500:  # permanent: never delivered, do not retry
                    self.failed += 1
                    self.finish(conn, record.request_id, "failed", f"{exc.code} {exc.message}")
                    log.warning("mail refused permanently: request_id=%s code=%s",
                                record.request_id, exc.code)
                    return
                reason = f"{exc.code} {exc.message}"
            except (aiosmtplib.SMTPException, OSError) as exc:
                reason = type(exc).__name__
                self._smtp = None
            else:
                self.sent += 1
                self.finish(conn, record.request_id, "sent", response)
                return
            log.warning("mail attempt %s failed: request_id=%s reason=%s", attempt + 1,
                        record.request_id, reason)
            await asyncio.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
        self.failed += 1
        self.finish(conn, record.request_id, "failed", "gave up after retries")


def run_mailer(settings: SinkSettings, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    install_stop_handlers(stop)
    asyncio.run(_run(settings, stop))


async def _run(settings: SinkSettings, stop: threading.Event) -> None:
    mailer = Mailer(settings)
    with connect(settings) as conn, connect(settings) as claims:
        source = TrackedConsumer(settings, CONSUMER_NAME, ["mail-outbox"], conn)
        source.consumer.subscribe(source.topics, on_assign=source._on_assign)
        log.info("mailer started: smtp=%s:%s", settings.smtp_host, settings.smtp_port)
        try:
            while not stop.is_set():
                msgs = await asyncio.to_thread(source.poll_batch)
                if not msgs:
                    continue
                for m in msgs:
                    await _deliver_one(mailer, claims, m)
                source.process(msgs, lambda _c, _m: None)
                source.consumer.commit(asynchronous=True)
        finally:
            source.consumer.close()
            await mailer.close()


async def _deliver_one(mailer: Mailer, claims: psycopg.Connection, m: Message) -> None:
    try:
        record = OutboxRecord.model_validate_json(m.value())
    except ValidationError:
        log.error("unreadable outbox record skipped: partition=%s offset=%s", m.partition(),
                  m.offset())
        return
    await mailer.deliver(claims, record)
