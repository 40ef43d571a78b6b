"""The bench's summary of a processor's own metrics: what explains a throughput or latency figure."""
from prometheus_client import generate_latest

from bench.watcher import summarise_metrics
from streams.metrics import StreamMetrics


def test_each_transaction_step_is_reported_as_its_mean() -> None:
    m = StreamMetrics()
    for seconds in (0.010, 0.030):
        m.transaction_steps.labels("filter", "commit").observe(seconds)
    m.transaction_steps.labels("filter", "process").observe(0.075)
    m.transaction_seconds.labels("filter").observe(0.1)
    got = summarise_metrics(generate_latest(m.registry).decode())
    assert got["mean_step_ms"] == {"commit": 20.0, "process": 75.0}
    assert got["mean_transaction_ms"] == 100.0


def test_a_processor_without_transactions_reports_no_steps() -> None:
    got = summarise_metrics(generate_latest(StreamMetrics().registry).decode())
    assert got["mean_step_ms"] == {} and got["mean_transaction_ms"] is None
