"""One chaos run from start to verdict: a fresh pipeline, the traffic, the faults, the judging.

Each run gets its own topics, group, database schema and state folder on the given servers, so
runs never see each other's data and the short run shares the test suite's broker.
"""

import json
import logging
import math
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from ops.chaos.driver import CHANNELS, Driver
from ops.chaos.faults import Faults
from ops.chaos.outputs import Gatherer
from ops.chaos.plan import Plan
from ops.chaos.stack import ChaosStack
from ops.chaos.verdict import Verdict, judge
from ops.deployment import Deployment
from ops.exceptions import InfraError
from ops.smtp_capture import CaptureServer, free_port
from ops.supervisor import LocalInfra
from sources.producer import EventProducer

log = logging.getLogger("consent.chaos")

Progress = Callable[[str], None]


def _wait_http(url: str, stack: ChaosStack, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local endpoint
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise InfraError(f"{url} did not answer within {timeout:.0f}s (logs: {stack.log_dir})")


def run(infra: LocalInfra, plan: Plan, log_dir: Path, progress: Progress) -> tuple[Verdict, dict]:
    """Drive `plan` through a fresh pipeline on `infra`; return the verdict and a report."""
    tag = uuid.uuid4().hex[:8]
    deployment = Deployment(infra, prefix=f"chaos{tag}-", app_id=f"chaos{tag}-consent",
                            db_schema=f"chaos_{tag}",
                            data_dir=infra.instance_dir / "chaos" / tag)
    deployment.setup()
    unsubscribe_port = free_port()
    unsubscribe_url = f"http://127.0.0.1:{unsubscribe_port}/unsubscribe"
    started = time.monotonic()
    with CaptureServer() as smtp:
        env = {"CONSENT_METRICS_PORT": "0", "CONSENT_SMTP_HOST": smtp.host,
               "CONSENT_SMTP_PORT": str(smtp.port), "CONSENT_UNSUBSCRIBE_BASE_URL": unsubscribe_url,
               # a SIGKILLed member's partitions move after this long (production: the same
               # setting, usually longer)
               "CONSENT_SESSION_TIMEOUT_S": "10"}
        stack = ChaosStack(deployment, env, log_dir / tag)
        producer: EventProducer | None = None
        gatherer: Gatherer | None = None
        try:
            stack.start("worker-1", "worker")
            stack.start("filter", "filter")
            stack.start("postgres-sink", "sink", "postgres")
            stack.start("mailer", "sink", "mailer")
            stack.start("unsubscribe-server", "unsubscribe-server", "--port",
                        str(unsubscribe_port))
            _wait_http(f"http://127.0.0.1:{unsubscribe_port}/healthz", stack)
            producer = EventProducer(deployment.admin_settings())
            settings = deployment.admin_settings()
            driver = Driver(producer, settings.key_secret.get_secret_value(), settings.partitions,
                            plan, tag, unsubscribe_url)
            progress(f"establishing {plan.pairs:,} pair and {driver.controls():,} control contacts")
            driver.establish()
            faults = Faults(stack, infra, plan, started)
            schedule = plan.schedule()
            waves = math.ceil(plan.pairs / plan.batch)
            shown = time.monotonic()
            paced = time.monotonic()
            for w in range(waves):
                driver.wave(w)
                ahead = paced + driver.pairs_sent / plan.pairs_per_s - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                while schedule and driver.pairs_sent >= schedule[0][0] * plan.pairs:
                    faults.inject(schedule.pop(0)[1])
                if time.monotonic() - shown > 5 or w == waves - 1:
                    shown = time.monotonic()
                    progress(f"{driver.pairs_sent:,}/{plan.pairs:,} pairs acknowledged, "
                             f"{len(driver.record.offsets):,} requests sent, "
                             f"{len(faults.events)} faults done")
            faults.wait()
            sent_for = time.monotonic() - started
            gatherer = Gatherer(deployment, smtp.mailbox)
            opt_outs = driver.record.opt_outs + driver.background_opt_outs()
            out = gatherer.settle(driver.record, opt_outs, plan.drain_timeout_s, progress)
            verdict = judge(driver.record, out, opt_outs)
            report = {
                "tag": tag, "brokers": infra.brokers, "pairs": plan.pairs,
                "channels": list(CHANNELS), "hostile_records": driver.record.hostile_records,
                "unacknowledged_requests": driver.record.unacknowledged,
                "opt_outs_checked": len(opt_outs), "faults": faults.events,
                "fault_errors": faults.errors, "restarts": stack.all_restarts(),
                "driving_s": round(sent_for, 1),
                "total_s": round(time.monotonic() - started, 1), **verdict.summary()}
            if faults.errors:  # a fault that did not happen proves nothing
                verdict.mismatches.append(f"faults not injected: {faults.errors}")
            return verdict, report
        finally:
            if gatherer is not None:
                gatherer.close()
            if producer is not None:
                producer.close()
            stack.close()


def print_report(verdict: Verdict, report: dict, echo: Progress) -> None:
    echo(f"chaos run {report['tag']}: {report['pairs']:,} pairs over {len(report['channels'])} "
         f"opt-out channels on {report['brokers']} broker(s), {report['requests']:,} requests "
         f"({report['hostile_records']} hostile records) in {report['total_s']}s")
    for line in report["faults"]:
        echo(f"  fault {line}")
    rows = [("leaks", verdict.leaks), ("lost consent changes", verdict.lost),
            ("accounting mismatches", verdict.mismatches),
            ("decided more than once", verdict.decided_twice),
            ("delivered more than once", verdict.delivered_twice),
            ("control mails suppressed", verdict.controls_suppressed)]
    for name, items in rows:
        echo(f"  {name:<26} {len(items)}")
        for item in items[:5]:
            echo(f"      {item}")
    echo(f"  {'longest wait':<26} {report['longest_wait_s']}s (median {report['median_wait_s']}s,"
         f" p99 {report['p99_wait_s']}s)")
    echo(f"  {'decided':<26} {verdict.forwarded:,} forwarded, {verdict.suppressed:,} suppressed,"
         f" {verdict.dead_lettered:,} dead-lettered")
    echo(f"  {'mailer':<26} {json.dumps(report['mail_sends'])}")
    echo(f"  {'restarts':<26} {json.dumps(report['restarts'])}")
    echo("  verdict: " + ("FAILED" if verdict.failed else "all zero"))
