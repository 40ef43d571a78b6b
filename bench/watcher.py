"""What the bench observes of the worker: its decisions (read from Kafka) and its metrics."""

import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from bench.constants import DECISION_TOPICS
from bench.errors import BenchError
from schemas.positions import position
from streams.settings import StreamSettings


@dataclass
class Seen:
    outcome: str
    reason: str | None
    append_ms: int  # broker append time (the output topics use LogAppendTime in the bench)
    partition: int = -1  # of the decision topic (co-partitioned with the requests)


def _field(value: bytes, name: bytes) -> str | None:
    """One string field of a compact pydantic JSON record, without parsing the whole record.

    The bench consumer competes with the worker for the same two cores; a full `json.loads`
    of every decision (they carry the mail body) would slow down what it measures.
    """
    marker = b'"' + name + b'":"'
    start = value.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = value.find(b'"', start)
    return value[start:end].decode("utf-8")


class DecisionWatcher:
    """Reads mail-outbox and mail-suppressed from the start, in a thread, for the whole run.

    Request ids carry their phase (`t1-…`, `load-…`, `opt-…`), so each phase counts its own
    decisions; the first decision per request id counts, duplicates (at-least-once) are
    counted separately.
    """

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.decided: dict[str, Seen] = {}
        self.per_phase: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.paused = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="decision-watcher", daemon=True)

    def __enter__(self) -> "DecisionWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        s = self.settings
        consumer = Consumer(s.to_librdkafka(**{
            "group.id": f"{s.topic_prefix}bench-watcher", "enable.auto.commit": False,
            "fetch.wait.max.ms": 10, "isolation.level": "read_committed"}))
        outcome_of = {s.topic(t): o for t, o in DECISION_TOPICS.items()}
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in outcome_of
                         for p in range(s.partitions)])
        try:
            while not self._stop.is_set():
                if self.paused.is_set():  # a throughput phase: reading would compete with it
                    self._stop.wait(0.05)
                    continue
                for m in consumer.consume(2000, 0.1):
                    if m.error() is not None:
                        continue
                    value = m.value() or b""
                    rid = _field(value, b"request_id")
                    if rid is None:
                        continue
                    topic, partition, _offset = position(m)
                    outcome = outcome_of[topic]
                    reason = _field(value, b"reason") if outcome == "suppressed" else None
                    phase = rid.split("-", 1)[0]
                    with self._lock:
                        if rid in self.decided:
                            self.duplicates[phase] += 1
                        else:
                            self.decided[rid] = Seen(outcome, reason, m.timestamp()[1], partition)
                            self.per_phase[phase] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by check()
            self._error = exc
        finally:
            consumer.close()

    def check(self) -> None:
        if self._error is not None:
            raise BenchError(f"decision consumer failed: {self._error}")
        if not self._thread.is_alive() and not self._stop.is_set():
            raise BenchError("decision consumer stopped unexpectedly")

    def count(self, phase: str) -> int:
        with self._lock:
            return self.per_phase[phase]

    def of_phase(self, phase: str) -> dict[str, Seen]:
        prefix = f"{phase}-"
        with self._lock:
            return {r: s for r, s in self.decided.items() if r.startswith(prefix)}


def scrape_metrics(port: int) -> dict[str, Any]:
    """A process's own view (Prometheus): batches, barrier waits, events applied, restores.

    It explains a throughput or latency figure instead of guessing.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode("utf-8")
    except OSError as exc:
        return {"metrics_error": str(exc)}
    return summarise_metrics(text)


def summarise_metrics(text: str) -> dict[str, Any]:
    """The figures `scrape_metrics` reports, from a Prometheus text page."""
    values: dict[str, float] = {}
    steps: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
            if family.name == "consent_transaction_step_seconds" and "step" in sample.labels:
                kind = sample.name.removeprefix(f"{family.name}_")  # sum, count, bucket, …
                steps.setdefault(sample.labels["step"], {})[kind] = sample.value
    batches = values.get("consent_batch_size_count", 0.0)
    waits = values.get("consent_barrier_wait_seconds_count", 0.0)
    return {
        "batches": int(batches),
        "mean_batch_size": round(values.get("consent_batch_size_sum", 0.0) / batches, 1)
        if batches else None,
        "mean_barrier_wait_ms": round(1000 * values.get("consent_barrier_wait_seconds_sum", 0.0)
                                      / waits, 2) if waits else None,
        "mean_transaction_ms": round(1000 * values.get("consent_transaction_seconds_sum", 0.0)
                                     / tx, 2) if (tx := values.get(
                                         "consent_transaction_seconds_count", 0.0)) else None,
        "mean_step_ms": {step: round(1000 * v["sum"] / v["count"], 2)
                         for step, v in sorted(steps.items()) if v.get("count")},
        "consent_events_applied": int(values.get("consent_events_total", 0.0)),
        "states_restored": int(values.get("consent_state_restored_total", 0.0)),
        "replica_contacts": int(values.get("consent_replica_contacts", 0.0)),
    }


def metric_total(port: int, name: str) -> float:
    """The sum of one metric over its label sets; NaN if the endpoint cannot be read."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode("utf-8")
    except OSError:
        return float("nan")
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))
