"""The state one run's phases share (`Bench`), and the plumbing they all use: starting and
stopping the worker, reading end offsets, producing a mail request, waiting for a condition."""

import json
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from bench.constants import BODY, SEED, STOP_TIMEOUT_S
from bench.machine import vm_hwm_mib
from bench.watcher import DecisionWatcher, scrape_metrics
from ops.supervisor import Component, Components, LocalInfra
from ops.traffic import PURPOSE_WEIGHTS, SUBJECTS
from schemas.contact import contact_key
from schemas.envelope import parse_event
from schemas.purposes import Purpose
from schemas.topics import MAIL_REQUESTS
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event
from streams.settings import StreamSettings

log = logging.getLogger("consent.bench")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_component(procs: Components, comp: Component) -> float | None:
    """Stop a component gracefully and return its peak RSS; a bad exit is worth a warning.

    It leaves `procs`, whose liveness check would otherwise report the stopped process.
    """
    comp.check_alive()
    peak = vm_hwm_mib(comp.proc.pid)
    code = comp.stop(STOP_TIMEOUT_S)
    procs.running.pop(comp.name, None)
    if code not in (0, None):
        log.warning("%s exited with code %s after SIGTERM (log: %s)", comp.name, code,
                    comp.log_path)
    return peak


@dataclass
class Bench:
    """State shared by the phases of one run."""

    infra: LocalInfra
    settings: StreamSettings
    sink_settings: SinkSettings
    procs: Components
    watcher: DecisionWatcher
    producer: EventProducer
    contacts: int
    requests: int
    repeat: int
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    worker: Component | None = None
    worker_starts: int = 0
    worker_peaks: list[float] = field(default_factory=list)
    worker_metrics: list[dict[str, Any]] = field(default_factory=list)
    metrics_port: int = 0
    request_checked: bool = False
    notes: list[str] = field(default_factory=list)

    def check(self) -> None:
        self.procs.check_alive()
        self.watcher.check()

    def start_worker(self, label: str) -> float:
        self.worker_starts += 1
        self.metrics_port = _free_port()
        started = time.time()
        self.worker = self.procs.start(f"worker-{self.worker_starts}-{label}", "worker",
                                       env={"CONSENT_METRICS_PORT": str(self.metrics_port)})
        return started

    def stop_worker(self) -> None:
        if self.worker is not None:
            metrics = scrape_metrics(self.metrics_port)
            peak = stop_component(self.procs, self.worker)
            if peak is not None:
                self.worker_peaks.append(peak)
            self.worker_metrics.append({"worker": self.worker.name, "peak_rss_mib": peak and
                                        round(peak, 1), **metrics})
            self.worker = None

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = Consumer(self.settings.to_librdkafka(**{"group.id": "bench-offsets"}))
        try:
            return {p: consumer.get_watermark_offsets(TopicPartition(self.settings.topic(topic),
                                                                     p), timeout=10)[1]
                    for p in range(self.settings.partitions)}
        finally:
            consumer.close()

    def mail_request(self, rid: str, email: str, purpose: Purpose,
                     on_delivery: Callable[[KafkaError | None, Message], None] | None = None
                     ) -> None:
        event = make_event("mail.requested", {
            "request_id": rid, "email": email, "purpose": purpose.value,
            "subject": SUBJECTS[purpose], "body": BODY, "campaign": "bench"}, source="bench-crm")
        raw = json.dumps(event, separators=(",", ":")).encode("utf-8")
        if not self.request_checked:  # the bench's requests must be valid, or it measures DLQs
            parse_event(raw, topic=MAIL_REQUESTS)
            self.request_checked = True
        key = contact_key(email, self.settings.key_secret.get_secret_value()).encode("ascii")
        self.producer.send_raw(MAIL_REQUESTS, key, raw, on_delivery=on_delivery)

    def random_purpose(self) -> Purpose:
        return self.rng.choices(list(PURPOSE_WEIGHTS), list(PURPOSE_WEIGHTS.values()))[0]
