"""The mailer: outbox records → SMTP, into a local SMTP server, timed from its own records.

`MAILER_MAILS` transactional outbox records for preloaded contacts are appended to the run's
`mail-outbox`, and the mailer starts at the offsets where they begin (its position is stored in
PostgreSQL, so the bench writes it there first: the throughput phases' forwarded requests
before them are not part of this phase). It runs with its default pool of SMTP connections and
its send-time consent check; transactional mail passes that check for every known contact, so
every record is mailed. The rate is first `sent` → last `sent` by `mail_sends.finished_at`. The
SMTP server (aiosmtpd, in the bench process) keeps every mail in memory, so the figure is the
mailer's, not a relay's.
"""

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from bench.constants import DECIDE_TIMEOUT_S, MAILER_MAILS
from bench.contacts import contact_email
from bench.display import progress_bars
from bench.state import Bench
from bench.stats import figure, per_second
from ops.smtp_capture import CaptureServer
from ops.supervisor import wait_until
from schemas.contact import normalise_email
from schemas.topics import MAIL_OUTBOX


def mailer_run(bench: Bench) -> dict[str, Any]:
    outbox = bench.settings.topic(MAIL_OUTBOX)
    start = bench.end_offsets(MAIL_OUTBOX)
    with psycopg.connect(bench.infra.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(
            sql.Identifier(bench.sink_settings.db_schema)))
        conn.cursor().executemany(
            "INSERT INTO kafka_positions (consumer, topic, partition, next_offset) "
            "VALUES ('mailer', %s, %s, %s) ON CONFLICT (consumer, topic, partition) "
            "DO UPDATE SET next_offset = EXCLUDED.next_offset",
            [(outbox, p, o) for p, o in start.items()])
    now = datetime.now(UTC).isoformat()
    tag = uuid.uuid4().hex[:8]
    for j in range(MAILER_MAILS):
        email = normalise_email(contact_email(j % bench.contacts))
        key = bench.key_of(email)
        bench.producer.send_raw(MAIL_OUTBOX, key, orjson.dumps({
            "record": "mail.outbox", "request_id": f"mail-{tag}-{j}",
            "contact_key": key.decode(), "purpose": "transactional",
            "event_id": str(uuid.uuid4()), "requested_at": now, "decided_at": now,
            "policy_version": "bench", "campaign": "bench", "email": email,
            "subject": "Your licence", "body": "Hello,\n\nYour licence key is attached.\n",
            "unsubscribe_url": None}))
    bench.producer.flush(120)
    with CaptureServer() as smtp, psycopg.connect(bench.infra.database_url,
                                                  autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(
            sql.Identifier(bench.sink_settings.db_schema)))
        started = time.time()
        comp = bench.start("mailer", "run", "sink", "mailer", env={
            "CONSENT_SMTP_HOST": smtp.host, "CONSENT_SMTP_PORT": str(smtp.port)})

        def sent() -> int:
            row = conn.execute("SELECT count(*) FROM mail_sends WHERE state = 'sent' AND "
                               "request_id LIKE %s", (f"mail-{tag}-%",)).fetchone()
            return int(row[0]) if row else 0

        with progress_bars() as progress:
            task = progress.add_task("mailer sends into a local SMTP server", total=MAILER_MAILS,
                                     rate="")

            def done() -> bool:
                n = sent()
                progress.update(task, completed=n)
                return n >= MAILER_MAILS

            wait_until(done, DECIDE_TIMEOUT_S, "the mailer's mails", check=bench.check,
                       interval=0.5)
        first, last = conn.execute(
            "SELECT min(finished_at), max(finished_at) FROM mail_sends WHERE state = 'sent' "
            "AND request_id LIKE %s", (f"mail-{tag}-%",)).fetchone() or (None, None)
        bench.stop(comp)
        received = len(smtp.mailbox.snapshot())
    span = (last - first).total_seconds() if first and last else float("nan")
    return {"mails": MAILER_MAILS, "received_by_smtp": received,
            "mails_per_s": figure(per_second(MAILER_MAILS, span)),
            "first_to_last_s": round(span, 2),
            "mails_per_s_incl_startup": figure(per_second(MAILER_MAILS, time.time() - started))}
