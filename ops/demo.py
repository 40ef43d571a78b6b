"""`consent demo`: the whole pipeline on the local broker and database, with realistic traffic.

It starts what it needs (broker, PostgreSQL, worker, sinks, an SMTP server that captures what
arrives), drives traffic, waits until every mail request is accounted for, prints a summary and
stops everything it started, on failure too. Exit code 1 if any mail reached an opted-out
contact or a request went missing.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ops.deployment import Deployment
from ops.metrics_summary import Samples, scrape, summary_rows
from ops.role_producers import RoleProducers
from ops.smtp_capture import CaptureServer, free_port
from ops.supervisor import REPO_ROOT, Components, LocalInfra, wait_until
from ops.traffic import Traffic
from schemas.contact import normalise_email

console = Console()

DASHBOARDS = (f"{REPO_ROOT / 'deploy' / 'grafana'} (Grafana), "
              f"{REPO_ROOT / 'deploy' / 'prometheus'} (scrape config and alert rules)")
DEMO_PORTS = {"kafka_port": 9192, "controller_port": 9193, "pg_port": 54330}


@dataclass
class Outcome:
    forwarded: int
    suppressed: Counter[str]
    request_dead_letters: int
    dead_letters: Counter[str]
    sent: int
    stopped_at_send: int = 0
    failed: int = 0

    @property
    def accounted(self) -> int:
        return self.forwarded + sum(self.suppressed.values()) + self.request_dead_letters

    def settled(self, requests: int, delivered: int) -> bool:
        """Every request decided, and every forwarded mail sent (and in the mailbox), stopped
        at send or failed. A mail is stopped at send when its contact opted out after the
        filter forwarded it (the demo's live opt-outs do that now and then): waiting for it
        to be sent hung the demo for its full ten minutes."""
        return (self.accounted >= requests
                and self.sent + self.stopped_at_send + self.failed >= self.forwarded
                and delivered >= self.sent)


def read_outcome(conn: psycopg.Connection, prefix: str) -> Outcome:
    rows = conn.execute("SELECT outcome, coalesce(reason, ''), count(*) FROM mail_decisions "
                        "GROUP BY 1, 2").fetchall()
    forwarded = sum(n for o, _r, n in rows if o == "forwarded")
    suppressed = Counter({r: n for o, r, n in rows if o == "suppressed"})
    letters: Counter[str] = Counter(dict(conn.execute("SELECT kind, count(*) FROM dead_letters GROUP BY 1")
                           .fetchall()))
    req_letters = conn.execute("SELECT count(*) FROM dead_letters WHERE topic = %s",
                               (f"{prefix}mail-requests",)).fetchone()[0]  # type: ignore[index]  # count(*) returns a row
    states: dict[str, int] = dict(conn.execute(
        "SELECT state, count(*) FROM mail_sends GROUP BY 1").fetchall())
    conn.commit()
    return Outcome(forwarded, suppressed, req_letters, letters, states.get("sent", 0),
                   states.get("suppressed_at_send", 0), states.get("failed", 0))


def run_demo(contacts: int = 400, requests: int = 4000, seed: int = 7) -> int:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    run_id = time.strftime("%Y%m%d%H%M%S")
    prefix = f"demo{run_id}-"
    started = time.monotonic()
    console.rule("[bold]consent pipeline demo")
    console.print("starting the local Kafka broker and PostgreSQL (first run downloads Kafka)…")
    with LocalInfra("demo", **DEMO_PORTS, secured=True) as infra, CaptureServer() as smtp:
        deployment = Deployment(infra, prefix=prefix, app_id=f"{prefix}consent",
                                db_schema=f"demo_{run_id}",
                                data_dir=REPO_ROOT / ".local" / "demo" / "worker" / run_id)
        deployment.setup()  # topics, users and ACLs, migrations: as admin and owner
        env = {"CONSENT_SMTP_HOST": smtp.host, "CONSENT_SMTP_PORT": str(smtp.port)}
        sink_settings = deployment.owner_sink_settings()
        log_dir = REPO_ROOT / ".local" / "demo" / "logs" / run_id
        with Components(env, log_dir, env_for=deployment.env_for) as procs:
            metrics: dict[str, str] = {}
            for name, *args in (("worker", "worker"), ("filter", "filter"),
                                ("postgres-sink", "sink", "postgres"),
                                ("mailer", "sink", "mailer")):
                # free ports, so the demo runs beside `make up` (which holds the defaults)
                port = free_port()
                metrics[name] = f"http://127.0.0.1:{port}/metrics"
                procs.start(name, *args, env={"CONSENT_METRICS_PORT": str(port)})
            console.print("consent agent, send filter, PostgreSQL sink and mailer running, each "
                          f"as its own Kafka principal and database role (logs in {log_dir})")
            console.print("metrics (Prometheus format): " + ", ".join(
                f"{name} {url}" for name, url in metrics.items()))
            console.print(f"dashboard and alerts to load them into: {DASHBOARDS}")
            producer = RoleProducers(deployment)
            traffic = Traffic(producer, seed=seed)
            with _progress() as progress:
                t = progress.add_task("contacts: purchases, tickets, newsletter", total=contacts)
                for lo in range(0, contacts, 100):
                    traffic.establish_range(lo, min(contacts, lo + 100))
                    progress.update(t, completed=min(contacts, lo + 100))
                traffic.malformed()
                t = progress.add_task("mail requests (with live opt-outs)", total=requests)
                step = 500
                for lo in range(0, requests, step):
                    traffic.mail_wave(contacts, min(step, requests - lo))
                    progress.update(t, completed=min(requests, lo + step))
                    procs.check_alive()
                t = progress.add_task("decided (outbox + suppressed + dead letters)",
                                      total=traffic.requests)
                m = progress.add_task("mails delivered to SMTP (or stopped at send)",
                                      total=None)
                with psycopg.connect(sink_settings.database_url.get_secret_value()) as conn:
                    conn.execute(f'SET search_path TO "{sink_settings.db_schema}"')

                    def accounted() -> bool:
                        out = read_outcome(conn, prefix)
                        progress.update(t, completed=out.accounted)
                        progress.update(m, completed=len(smtp.mailbox) + out.stopped_at_send
                                        + out.failed, total=out.forwarded)
                        return out.settled(traffic.requests, len(smtp.mailbox))

                    wait_until(accounted, timeout=600, what="every mail request accounted for",
                               interval=0.5, check=procs.check_alive)
                    time.sleep(1.0)  # let stragglers (duplicates, if any) arrive before counting
                    outcome = read_outcome(conn, prefix)
            samples, silent = scrape(metrics)
            producer.close()
    code = _summary(traffic, outcome, smtp, time.monotonic() - started)
    _metrics_summary(samples, silent)
    return code


def _metrics_summary(samples: Samples, silent: list[str]) -> None:
    table = Table(title="Metrics (scraped from the processes' /metrics before they stopped)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for measure, value in summary_rows(samples):
        table.add_row(measure, value)
    for name in silent:
        table.add_row(f"{name}: /metrics did not answer", "!", style="red")
    console.print(table)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _summary(traffic: Traffic, out: Outcome, smtp: CaptureServer, elapsed: float) -> int:
    delivered = smtp.mailbox.snapshot()
    leaks = 0
    per_request: Counter[str] = Counter()
    for msg in delivered:
        per_request[msg["X-Request-ID"]] += 1
        if traffic.truth.forbidden(normalise_email(msg["To"]), msg["X-Purpose"]):
            leaks += 1
    duplicates = sum(n - 1 for n in per_request.values() if n > 1)
    missing = traffic.requests - out.accounted

    events = Table(title="Events in", show_footer=True)
    events.add_column("type", footer="total")
    events.add_column("count", justify="right", footer=str(sum(traffic.sent.values())))
    for etype, n in sorted(traffic.sent.items()):
        events.add_row(etype, str(n))
    decisions = Table(title="Mail requests")
    decisions.add_column("outcome")
    decisions.add_column("count", justify="right")
    decisions.add_row("requests in", str(traffic.requests))
    decisions.add_row("forwarded to mail-outbox", str(out.forwarded))
    for reason, n in sorted(out.suppressed.items()):
        decisions.add_row(f"suppressed: {reason}", str(n))
    decisions.add_row("dead-lettered", str(out.request_dead_letters))
    decisions.add_row("unaccounted (must be 0)", str(missing), style="red" if missing else "green")
    mail = Table(title="Delivery and safety")
    mail.add_column("measure")
    mail.add_column("value", justify="right")
    mail.add_row("mails delivered to SMTP", str(len(delivered)))
    mail.add_row("stopped at send by the mailer's last check", str(out.stopped_at_send))
    mail.add_row("failed at SMTP", str(out.failed), style="red" if out.failed else None)
    mail.add_row("sent twice (must be 0)", str(duplicates), style="red" if duplicates else "green")
    mail.add_row("mails to opted-out contacts (must be 0)", str(leaks),
                 style="red" if leaks else "green")
    for kind, n in sorted(out.dead_letters.items()):
        mail.add_row(f"dead letters: {kind}", str(n))
    mail.add_row("elapsed", f"{elapsed:.1f}s")
    for table in (events, decisions, mail):
        console.print(table)
    ok = leaks == 0 and missing == 0 and duplicates == 0
    console.print("[bold green]OK[/bold green]: no opted-out contact was mailed" if ok else
                  "[bold red]FAILED[/bold red]: see the red lines above")
    return 0 if ok else 1

