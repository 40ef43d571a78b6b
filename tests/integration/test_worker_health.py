"""The worker fails loudly instead of looking alive, and exposes metrics without personal data."""

import socket
import time
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sources.producer import make_event
from streams.app import CRASH_EXIT_CODE
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_undecidable_request_crashes_the_worker_and_is_decided_after_restart(make_pipeline):
    """A backlog the consent agent cannot apply within the barrier timeout must not be decided
    on stale state: the worker exits (code 70) and the request waits for the restart."""
    p: Pipeline = make_pipeline(components=("postgres",),
                                extra_env={"CONSENT_BARRIER_TIMEOUT_S": "0.1"})
    tag = uuid.uuid4().hex[:8]
    target = f"backlog-{tag}@example.com"
    for i in range(5_000):
        p.producer.send(make_event("purchase.completed", {"order_id": f"{tag}-{i}",
                                                          "email": f"b{i}-{tag}@example.com",
                                                          "name": "B"}, source="shop"))
    p.producer.send(make_event("purchase.completed", {"order_id": "t", "email": target,
                                                      "name": "T"}, source="shop"))
    p.producer.send(make_event("preference.changed", {"email": target, "all": "withdrawn"},
                               source="preference-centre"))
    rid = unique_request()
    p.producer.send(make_event("mail.requested", {"request_id": rid, "email": target,
                                                  "purpose": "special_offers", "subject": "s",
                                                  "body": "b"}, source="crm"))
    p.producer.flush()

    worker = p.procs.start("worker", "worker")
    assert worker.proc.wait(timeout=180) == CRASH_EXIT_CODE
    log = worker.log_path.read_text()
    assert "agent send-filter failed" in log and "BarrierTimeout" in log
    assert not p.query("SELECT 1 FROM mail_decisions WHERE request_id = %s", rid)

    p.procs.start("worker", "worker", env={"CONSENT_BARRIER_TIMEOUT_S": "120"})
    assert p.decision(rid, timeout=240)[:2] == ("suppressed", "opted_out")


def test_metrics_endpoint_counts_decisions_without_personal_data(make_pipeline):
    port = _free_port()
    p: Pipeline = make_pipeline(components=("worker",),
                                extra_env={"CONSENT_METRICS_PORT": str(port)})
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
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                body = r.read().decode()
        except OSError:
            body = ""
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
