"""The mailer: outbox records → SMTP, into a local SMTP server, timed from its own records.

A scratch outbox topic (its own prefix) holds `MAILER_MAILS` valid outbox records for
distinct requests; a mailer process starts on it with the default pool of SMTP connections,
and the rate is first `sent` → last `sent` by `mail_sends.finished_at` (PostgreSQL's clock,
written as each mail is finished). The SMTP server (aiosmtpd, in the bench process) accepts
and keeps every mail in memory, so the figure is the mailer's, not a relay's.
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
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second
from ops.deployment import Deployment
from ops.smtp_capture import CaptureServer
from ops.supervisor import wait_until
from schemas.contact import normalise_email
from schemas.topics import MAIL_OUTBOX
from sources.producer import EventProducer


def mailer_run(bench: Bench) -> dict[str, Any]:
    prefix = f"{bench.settings.topic_prefix}mail-"
    main = bench.deployment
    if main is None:
        raise BenchError("the mailer phase needs the run's deployment")
    # a deployment of its own (topics, ACLs for its prefix), in the run's database schema
    mail = Deployment(main.infra, prefix=prefix, app_id=f"{prefix}consent",
                      db_schema=main.db_schema, data_dir=main.data_dir)
    mail.setup()
    now = datetime.now(UTC).isoformat()
    tag = uuid.uuid4().hex[:8]
    producer = EventProducer(bench.settings.model_copy(update={"topic_prefix": prefix}))
    for j in range(MAILER_MAILS):
        email = normalise_email(contact_email(j))
        key = bench.key_of(email)
        producer.send_raw(MAIL_OUTBOX, key, orjson.dumps({
            "record": "mail.outbox", "request_id": f"mail-{tag}-{j}",
            "contact_key": key.decode(), "purpose": "product_updates",
            "event_id": str(uuid.uuid4()), "requested_at": now, "decided_at": now,
            "policy_version": "bench", "campaign": "bench", "email": email,
            "subject": "Product update", "body": "Hello,\n\nNews from Example Software.\n",
            "unsubscribe_url": "http://127.0.0.1:8089/unsubscribe?token=bench"}))
    producer.close()
    with CaptureServer() as smtp, psycopg.connect(bench.infra.database_url,
                                                  autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(
            sql.Identifier(bench.sink_settings.db_schema)))
        started = time.time()
        comp = bench.procs.start("mailer-1-run", "sink", "mailer", env={
            **mail.env_for("mailer"), "CONSENT_SMTP_HOST": smtp.host,
            "CONSENT_SMTP_PORT": str(smtp.port)})
        bench.running[comp.name] = (comp, 0)

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
