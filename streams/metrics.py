"""Prometheus metrics of the stream processors, grouped in one object per registry.

Labels are topics, purposes, reasons and kinds: bounded sets, and never a contact key or
address.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter("consent_events_total", "Input events applied", ["topic", "type"],
                              registry=r)
        self.dead_letters = Counter("consent_dead_letters_total", "Messages sent to dead-letters",
                                    ["topic", "kind"], registry=r)
        self.rekeyed = Counter("consent_rekeyed_total",
                               "Events whose key or partition did not match their payload",
                               ["topic"], registry=r)
        self.changes = Counter("consent_changes_total", "Ledger lines written",
                               ["scope", "action", "applied"], registry=r)
        self.decisions = Counter("consent_mail_decisions_total", "Mail requests decided",
                                 ["purpose", "outcome", "reason"], registry=r)
        self.barrier_wait = Histogram(
            "consent_barrier_wait_seconds",
            "Time a mail request batch waited for consent input to be applied",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r)
        self.batch_size = Histogram("consent_filter_batch_size", "Mail requests per filter batch",
                                    buckets=(1, 5, 10, 50, 100, 250, 500, 1000), registry=r)
        self.last_decision = Gauge("consent_last_decision_timestamp_seconds",
                                   "Unix time of the last mail decision", registry=r)
