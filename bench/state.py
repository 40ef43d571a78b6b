"""The state one run's phases share (`Bench`), and the plumbing they all use: starting and
stopping processes (with their peak RSS and metrics), reading end offsets, producing requests."""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from bench.constants import BODY, SEED, STOP_TIMEOUT_S
from bench.machine import helpers_hwm_mib, vm_hwm_mib
from bench.watcher import DecisionWatcher, scrape_metrics
from ops.deployment import Deployment
from ops.smtp_capture import free_port
from ops.supervisor import Component, Components, LocalInfra
from ops.traffic import PURPOSE_WEIGHTS, SUBJECTS
from schemas.contact import KeyHasher
from schemas.envelope import parse_event
from schemas.purposes import Purpose
from schemas.topics import MAIL_REQUESTS
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event
from streams.settings import StreamSettings

log = logging.getLogger("consent.bench")


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
    running: dict[str, tuple[Component, int]] = field(default_factory=dict)
    starts: int = 0
    peaks: dict[str, list[float]] = field(default_factory=dict)
    process_metrics: list[dict[str, Any]] = field(default_factory=list)
    request_checked: bool = False
    notes: list[str] = field(default_factory=list)
    probed: set[int] = field(default_factory=set)  # contacts an opt-out probe has used
    deployment: Deployment | None = None
    hasher: KeyHasher = field(init=False)

    def __post_init__(self) -> None:
        self.hasher = KeyHasher(self.settings.key_secret.get_secret_value())

    def check(self) -> None:
        self.procs.check_alive()
        self.watcher.check()

    def start(self, kind: str, label: str, *args: str,
              env: dict[str, str] | None = None) -> Component:
        """Start a `consent` process of one kind (`worker`, `filter`, …) with its own metrics port."""
        self.starts += 1
        port = free_port()
        comp = self.procs.start(f"{kind}-{self.starts}-{label}", *args,
                                env={"CONSENT_METRICS_PORT": str(port), **(env or {})})
        self.running[comp.name] = (comp, port)
        return comp

    def start_agent(self, label: str) -> Component:
        return self.start("worker", label, "worker")

    def start_filter(self, label: str) -> Component:
        return self.start("filter", label, "filter")

    def stop(self, comp: Component) -> None:
        _comp, port = self.running.pop(comp.name)
        metrics = scrape_metrics(port)
        helpers = helpers_hwm_mib(comp.proc.pid)
        peak = stop_component(self.procs, comp)
        kind = comp.name.split("-", 1)[0]
        if peak is not None:
            self.peaks.setdefault(kind, []).append(peak)
        if helpers is not None:
            self.peaks.setdefault(f"{kind}_helpers", []).append(helpers)
        self.process_metrics.append({"process": comp.name,
                                     "peak_rss_mib": peak and round(peak, 1), **metrics})

    def stop_all(self, kind: str | None = None) -> None:
        for name, (comp, _port) in list(self.running.items()):
            if kind is None or name.startswith(f"{kind}-"):
                self.stop(comp)

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = Consumer(self.settings.to_librdkafka(**{"group.id": "bench-offsets"}))
        try:
            return {p: consumer.get_watermark_offsets(TopicPartition(self.settings.topic(topic),
                                                                     p), timeout=10)[1]
                    for p in range(self.settings.partitions)}
        finally:
            consumer.close()

    def key_of(self, email: str) -> bytes:
        return self.hasher(email).encode("ascii")

    def mail_request(self, rid: str, email: str, purpose: Purpose,
                     on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
                     producer: EventProducer | None = None) -> None:
        event = make_event("mail.requested", {
            "request_id": rid, "email": email, "purpose": purpose.value,
            "subject": SUBJECTS[purpose], "body": BODY, "campaign": "bench"}, source="bench-crm")
        raw = orjson.dumps(event)
        if not self.request_checked:  # the bench's requests must be valid, or it measures DLQs
            parse_event(raw, topic=MAIL_REQUESTS)
            self.request_checked = True
        (producer or self.producer).send_raw(MAIL_REQUESTS, self.key_of(email), raw,
                                             on_delivery=on_delivery)

    def random_purpose(self) -> Purpose:
        return self.rng.choices(list(PURPOSE_WEIGHTS), list(PURPOSE_WEIGHTS.values()))[0]
