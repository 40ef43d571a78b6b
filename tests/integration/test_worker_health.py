"""The worker fails loudly instead of looking alive, and exposes metrics without personal data."""

import time
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops.smtp_capture import free_port
from sources.producer import make_event
from streams.worker import CRASH_EXIT_CODE
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def test_filter_exits_when_consent_input_stalls_and_decides_after_restart(make_pipeline):
    """No consent agent runs, so the opt-out is never applied: the filter must not decide the
    request on stale state. It waits while nothing moves, exits (code 70) after the stall
    time, and once the agent runs, the restarted filter suppresses the request."""
    p: Pipeline = make_pipeline(components=("postgres",),
                                extra_env={"CONSENT_BARRIER_STALL_S": "3"})
    tag = uuid.uuid4().hex[:8]
    target = f"stall-{tag}@example.com"
    p.producer.send(make_event("purchase.completed", {"order_id": "t", "email": target,
                                                      "name": "T"}, source="shop"))
    p.producer.send(make_event("preference.changed", {"email": target, "all": "withdrawn"},
                               source="preference-centre"))
    rid = unique_request()
    p.producer.send(make_event("mail.requested", {"request_id": rid, "email": target,
                                                  "purpose": "special_offers", "subject": "s",
                                                  "body": "b"}, source="crm"))
    p.producer.flush()

    stalled = p.procs.start("filter", "filter")
    assert stalled.proc.wait(timeout=120) == CRASH_EXIT_CODE
    log = stalled.log_path.read_text()
    assert "BarrierStalled" in log or "made no progress" in log
    assert not p.query("SELECT 1 FROM mail_decisions WHERE request_id = %s", rid)
    assert not p.topic_records("mail-outbox", timeout=3, expect=0)

    p.procs.start("worker", "worker")
    p.procs.start("filter", "filter")
    assert p.decision(rid, timeout=120)[:2] == ("suppressed", "opted_out")


def test_metrics_endpoint_counts_decisions_without_personal_data(make_pipeline):
    agent_port, filter_port = free_port(), free_port()
    p: Pipeline = make_pipeline(components=("worker",),
                                extra_env={"CONSENT_METRICS_PORT": str(agent_port)})
    p.procs.start("filter", "filter", env={"CONSENT_METRICS_PORT": str(filter_port)})
    email = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    p.send("purchase.completed", {"order_id": "m", "email": email, "name": "Metric Person"})
    p.send("mail.requested", {"request_id": unique_request(), "email": email,
                              "purpose": "product_updates", "subject": "s", "body": "b"})
    p.producer.send_raw("support", b"k", b"{broken")
    p.producer.flush()
    deadline = time.monotonic() + 90
    body = ""
    while time.monotonic() < deadline:
        p.procs.check_alive()
        body = _scrape(agent_port) + _scrape(filter_port)
        if "consent_mail_decisions_total{" in body and "consent_dead_letters_total{" in body:
            break
        time.sleep(0.5)
    values = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
              for family in text_string_to_metric_families(body) for sample in family.samples}

    def value(name: str, **labels: str) -> float | None:
        return values.get((name, tuple(sorted(labels.items()))))

    assert value("consent_mail_decisions_total", purpose="product_updates",
                 outcome="forwarded", reason="") == 1.0
    assert value("consent_dead_letters_total", topic="support", kind="invalid_json") == 1.0
    assert value("consent_events_total", topic="purchases", type="purchase.completed") == 1.0
    assert email not in body and "Metric Person" not in body
