"""What webhook ingestion counts, in a registry of its own (tests pass a fresh one).

Labels are bounded: `source` is a configured source name or `-` (never the path segment a
caller sent, which could be anything, an address included), `outcome` and `kind` are our own
words. No contact key, delivery id or event id is ever a label.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram

OUTCOMES = ("accepted", "unknown_source", "too_large", "missing_signature", "bad_signature",
            "stale_timestamp", "invalid", "ack_timeout", "publish_failed", "dead_letter_failed",
            "error")
"""Every `outcome` label value: one per way a request ends (README, Operations)."""


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "consent_ingest_requests_total",
            "Webhook requests by source and outcome (accepted = acknowledged by the broker)",
            ["source", "outcome"], registry=self.registry)
        self.ack_seconds = Histogram(
            "consent_ingest_ack_seconds",
            "Time from a verified webhook to the broker's acknowledgement of its event",
            ["source"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry)
        self.dead_letters = Counter(
            "consent_ingest_dead_letters_total",
            "Payloads from an authenticated source refused and kept in dead-letters, by kind",
            ["source", "kind"], registry=self.registry)
