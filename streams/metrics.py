"""Prometheus metrics of the stream processors, grouped in one object per registry.

Labels are topics, purposes, reasons, kinds and processor names: bounded sets, and never a
contact key or address. The registry is injected so each test gets a fresh one.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                   60, 120)


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
        self.clamped = Counter("consent_event_time_clamped_total",
                               "Events whose occurred_at was ahead of the broker's append time "
                               "plus the allowed skew", ["topic"], registry=r)
        self.changes = Counter("consent_changes_total", "Ledger lines written",
                               ["scope", "action", "applied"], registry=r)
        self.reviews = Counter("consent_review_items_total",
                               "Detected text put on consent-review for an agent",
                               ["outcome"], registry=r)
        self.restored = Counter("consent_state_restored_total",
                                "Consent states read back from consent-state on assignment",
                                registry=r)
        self.restored_seen = 0
        self.decisions = Counter("consent_mail_decisions_total", "Mail requests decided",
                                 ["purpose", "outcome", "reason"], registry=r)
        self.barrier_wait = Histogram(
            "consent_barrier_wait_seconds",
            "Time a mail request batch waited for consent input to be applied",
            buckets=LATENCY_BUCKETS, registry=r)
        self.request_latency = Histogram(
            "consent_request_decision_seconds",
            "From a mail request's append to the broker until its decision was produced",
            buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("consent_batch_size", "Records per transaction",
                                    ["processor"],
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
                                    registry=r)
        self.transaction_seconds = Histogram(
            "consent_transaction_seconds",
            "From the start of a transaction (outputs produced) to its commit",
            ["processor"], buckets=LATENCY_BUCKETS, registry=r)
        self.transaction_steps = Histogram(
            "consent_transaction_step_seconds",
            "Time of each step of a batch: prepare (the send filter's wait for consent input), "
            "process, offsets (sent to the transaction), commit",
            ["processor", "step"], buckets=LATENCY_BUCKETS, registry=r)
        self.last_commit = Gauge("consent_last_commit_timestamp_seconds",
                                 "Unix time of the last committed transaction", registry=r)
        self.last_decision = Gauge("consent_last_decision_timestamp_seconds",
                                   "Unix time of the last mail decision", registry=r)
        self.lag = Gauge("consent_consumer_lag_records",
                         "Records in the input topics not yet processed (all partitions)",
                         ["processor", "topic"], registry=r)
        self.input_age = Gauge("consent_input_age_seconds",
                               "Age at processing of the oldest record of the last batch: how "
                               "far behind the processor is", ["processor", "topic"], registry=r)
        self.opt_out_enforced = Histogram(
            "consent_opt_out_enforced_seconds",
            "From an opt-out's acknowledgement by the broker to its state being committed to "
            "consent-state, where the send filter and the mailer read it",
            buckets=LATENCY_BUCKETS, registry=r)
        self.state_contacts = Gauge("consent_state_contacts",
                                    "Contacts in the consent agent's table (an estimate)",
                                    registry=r)
        self.replica_contacts = Gauge("consent_replica_contacts",
                                      "Contacts in the send filter's replica of consent-state",
                                      registry=r)
