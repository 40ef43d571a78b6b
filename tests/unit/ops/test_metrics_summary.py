"""The demo's metrics summary reads real /metrics output (a prometheus-client registry served
over HTTP), sums across endpoints and says which endpoint was silent."""

import threading
from collections.abc import Iterator
from http.server import HTTPServer

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import MetricsHandler

from ops.metrics_summary import mean, scrape, summary_rows, total
from ops.smtp_capture import free_port


@pytest.fixture
def endpoint() -> Iterator[str]:
    r = CollectorRegistry()
    decisions = Counter("consent_mail_decisions_total", "d", ["purpose", "outcome", "reason"],
                        registry=r)
    decisions.labels("newsletter", "forwarded", "").inc(7)
    decisions.labels("newsletter", "suppressed", "opted_out").inc(3)
    h = Histogram("consent_opt_out_enforced_seconds", "h", registry=r)
    h.observe(0.2)
    h.observe(0.4)
    server = HTTPServer(("127.0.0.1", 0), MetricsHandler.factory(r))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_summary_sums_what_the_endpoints_export(endpoint: str) -> None:
    samples, silent = scrape({"filter": endpoint, "gone": f"http://127.0.0.1:{free_port()}/"})
    assert silent == ["gone"]
    assert total(samples, "consent_mail_decisions_total", outcome="suppressed") == 3
    assert mean(samples, "consent_opt_out_enforced_seconds") == pytest.approx(0.3)
    rows = dict(summary_rows(samples))
    assert rows["requests forwarded / suppressed (consent_mail_decisions_total)"] == "7 / 3"
    assert rows["opt-out event time → enforced, mean (consent_opt_out_enforced_seconds)"] == \
        "300 ms"
    assert rows["request → decision, mean (consent_request_decision_seconds)"] == "–"
