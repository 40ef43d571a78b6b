"""`consent bench`: the numbers of DESIGN.md "Performance", measured in one run on a local broker.

Why it is built this way (bench/README.md explains how to read the results):
- Everything runs against real processes (broker, PostgreSQL, `consent worker`, `consent sink
  postgres`), started by the same context managers as the demo, so they are stopped on failure
  too and the numbers include every serialisation and network hop production pays for.
- Throughput is measured on a backlog: the requests are produced and acknowledged while no
  worker runs, then the worker starts and drains them. Rates are taken from the broker's append
  timestamps (LogAppendTime) of the first and the last output record, so worker start-up and
  the bench's own consumer lag do not count; the figure that includes start-up is reported too.
- The ceiling is a bare confluent-kafka consume→produce loop over exactly the same input
  records, measured the same way, so the ratio isolates what the send filter itself costs.
- Each run uses fresh topics, app id, database schema and worker state, and deletes them at the
  end: a run never sees an earlier run's data.
"""

import importlib.metadata
import json
import logging
import math
import os
import platform
import random
import resource
import shutil
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from psycopg import sql
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from schemas.contact import contact_key
from schemas.envelope import parse_event
from schemas.exceptions import ConsentError
from schemas.purposes import Purpose
from sinks.db import migrate
from sinks.settings import SinkSettings
from streams.processes import REPO_ROOT, Component, Components, LocalInfra
from streams.producer import EventProducer, make_event
from streams.settings import INPUT_TOPICS, MAIL_REQUESTS, StreamSettings
from streams.topics import create_topics
from streams.traffic import PURPOSE_WEIGHTS, SUBJECTS

log = logging.getLogger("consent.bench")
console = Console()

BENCH_PORTS = {"kafka_port": 9492, "controller_port": 9493, "pg_port": 54333}
KAFKA_VERSION = "4.1.1"  # what deploy/local/kafka.sh runs
PACKAGES = ("faust-streaming", "confluent-kafka", "aiokafka", "rocksdict", "pydantic", "psycopg")

DEFAULT_REPEAT = 3  # throughput phases (send filter and pass-through) are repeated; median wins
OPT_OUT_EVERY = 10  # contact i opted out at purchase when i % OPT_OUT_EVERY == OPT_OUT_REMAINDER
OPT_OUT_REMAINDER = 3
LATENCY_RATE = 500.0  # offered load of the latency phase, requests/s
LATENCY_SECONDS = 20.0
LIGHT_RATE = 50.0  # the same at light load: the pipeline's own latency, without queueing
LIGHT_SECONDS = 10.0
OPT_OUT_PROBES = 200
OPT_OUT_RATE = 20.0  # probes/s: paced, so probes do not queue behind each other
SINK_MAX_S = 420.0  # the sink phase stops measuring here (reported as "not caught up")
PRELOAD_TIMEOUT_S = 3 * 3600.0
DECIDE_TIMEOUT_S = 1800.0
STOP_TIMEOUT_S = 60.0
PROGRESS_LINE_S = 60.0
SEED = 20261124

PASSTHROUGH_TOPIC = "bench-passthrough"
DECISION_TOPICS = {"mail-outbox": "forwarded", "mail-suppressed": "suppressed"}
SINK_TOPICS = ("consent-changes", "mail-outbox", "mail-suppressed", "dead-letters")
BODY = "Hello,\n\nThis is a message from Example Software, sent by the benchmark.\n"


class BenchError(ConsentError):
    """The benchmark could not complete a phase (timeout, lost records, crashed component)."""


# --------------------------------------------------------------------------------- helpers


def _email(i: int) -> str:
    return f"bench{i}@bench.example"


def _opted_out(i: int) -> bool:
    return i % OPT_OUT_EVERY == OPT_OUT_REMAINDER


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed, no interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


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


def _vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size of a live process (VmHWM), read before it is stopped."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _stop(procs: Components, comp: Component) -> float | None:
    """Stop a component gracefully and return its peak RSS; a bad exit is worth a warning.

    It leaves `procs`, whose liveness check would otherwise report the stopped process.
    """
    comp.check_alive()
    peak = _vm_hwm_mib(comp.proc.pid)
    code = comp.stop(STOP_TIMEOUT_S)
    procs.running.pop(comp.name, None)
    if code not in (0, None):
        log.warning("%s exited with code %s after SIGTERM (log: %s)", comp.name, code,
                    comp.log_path)
    return peak


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, Any]:
    """The worker's own view (Prometheus): how long filter batches waited at the barrier and
    how large they were. It explains a throughput or latency figure instead of guessing."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:  # noqa: S310
            text = resp.read().decode("utf-8")
    except OSError as exc:
        return {"metrics_error": str(exc)}
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith(("consent_barrier_wait_seconds_", "consent_filter_batch_size_")) \
                and "{" not in name or name.startswith("consent_events_total"):
            values[name] = values.get(name, 0.0) + float(value)
    batches = values.get("consent_filter_batch_size_count", 0.0)
    consent_events = sum(v for k, v in values.items() if k.startswith("consent_events_total"))
    return {
        "filter_batches": int(batches),
        "mean_batch_size": round(values.get("consent_filter_batch_size_sum", 0.0) / batches, 1)
        if batches else None,
        "mean_barrier_wait_ms": round(1000 * values.get("consent_barrier_wait_seconds_sum", 0.0)
                                      / batches, 2) if batches else None,
        "consent_events_applied": int(consent_events),
    }


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=console)


def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def _num(value: float, digits: int = 0) -> float | None:
    """A rounded figure for the results, or None (JSON null) where there was nothing to time."""
    if math.isnan(value):
        return None
    return round(value, digits) if digits else round(value)


def _median(values: list[float | None]) -> float:
    """Median over the runs that produced a figure (a run too short to time gives None)."""
    timed = [v for v in values if v is not None]
    return float(statistics.median(timed)) if timed else float("nan")


def _rate_text(rate: float) -> str:
    return "" if math.isnan(rate) else f"{rate:,.0f}/s"


def _wait(predicate: Callable[[], bool], timeout: float, what: str,
          check: Callable[[], None], interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        check()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------ machine and notes


def _run_text(args: list[str]) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False,
                              cwd=REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout or proc.stderr).strip()


def machine_description() -> dict[str, Any]:
    """What the numbers depend on, so results from different machines are not compared blind."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    commit = _run_text(["git", "rev-parse", "HEAD"]) or "unknown"
    dirty = bool(_run_text(["git", "status", "--porcelain", "--untracked-files=no"]))
    java = _run_text(["java", "-version"]).splitlines()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "java": java[0] if java else "unknown",
        "packages": versions,
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _other_brokers() -> int:
    """Kafka brokers on this machine that are not ours: they share the CPU and skew numbers."""
    mine = str(REPO_ROOT / ".local" / "bench")
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmd and mine not in cmd:
            count += 1
    return count


# ----------------------------------------------------------------------- decisions observed


@dataclass
class Seen:
    outcome: str
    reason: str | None
    append_ms: int  # broker append time (the output topics use LogAppendTime in the bench)


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
            "fetch.wait.max.ms": 50}))
        outcome_of = {s.topic(t): o for t, o in DECISION_TOPICS.items()}
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in outcome_of
                         for p in range(s.partitions)])
        try:
            while not self._stop.is_set():
                for m in consumer.consume(2000, 0.1):
                    if m.error() is not None:
                        continue
                    value = m.value() or b""
                    rid = _field(value, b"request_id")
                    if rid is None:
                        continue
                    outcome = outcome_of[m.topic()]
                    reason = _field(value, b"reason") if outcome == "suppressed" else None
                    phase = rid.split("-", 1)[0]
                    with self._lock:
                        if rid in self.decided:
                            self.duplicates[phase] += 1
                        else:
                            self.decided[rid] = Seen(outcome, reason, m.timestamp()[1])
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


# ---------------------------------------------------------------------------- the bench run


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

    # ------------------------------------------------------------------------ plumbing

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
            metrics = _scrape(self.metrics_port)
            peak = _stop(self.procs, self.worker)
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

    # ----------------------------------------------------------------------- 1. preload

    def preload(self) -> dict[str, Any]:
        """Produce one purchase per contact with no worker running, then let a worker apply them.

        Producing first keeps the producer from competing with the worker for CPU, so the
        applied rate is the consent agent's own. Bulk events are keyed by the same function as
        EventProducer.send (checked on the first event) but skip its per-event validation,
        which would make the preload three times slower without testing anything new.
        """
        secret = self.settings.key_secret.get_secret_value()
        t0 = time.time()
        with _progress() as progress:
            task = progress.add_task("produce purchases (no worker running)", total=self.contacts,
                                     rate="")
            for i in range(self.contacts):
                email = _email(i)
                event = make_event("purchase.completed", {
                    "order_id": f"B-{i}", "email": email, "name": f"Bench Contact {i}",
                    "country": "NL", "marketing_opt_out": _opted_out(i)}, source="bench-shop")
                key = contact_key(email, secret)
                if i == 0:
                    if self.producer.send(event) != key:
                        raise BenchError("bench keys disagree with EventProducer's keys")
                else:
                    raw = json.dumps(event, separators=(",", ":")).encode("utf-8")
                    self.producer.send_raw("purchases", key.encode("ascii"), raw)
                if i % 5000 == 4999:
                    progress.update(task, completed=i + 1,
                                    rate=f"{_rate(i + 1, time.time() - t0):,.0f}/s")
            self.producer.flush(300)
            produced_s = time.time() - t0
            progress.update(task, completed=self.contacts,
                            rate=f"{_rate(self.contacts, produced_s):,.0f}/s")

            highs = {(self.settings.topic(t), p): h for t in INPUT_TOPICS
                     for p, h in self.end_offsets(t).items()}
            total = sum(highs.values())
            started = self.start_worker("preload")
            task = progress.add_task("worker applies them (committed offsets)", total=total,
                                     rate="")
            group = Consumer(self.settings.to_librdkafka(**{
                "group.id": self.settings.app_id, "enable.auto.commit": False}))
            first: tuple[float, int] | None = None
            last_line = time.time()
            try:
                while True:
                    self.check()
                    got = group.committed([TopicPartition(t, p) for t, p in highs], timeout=10)
                    done = sum(min(max(tp.offset, 0), highs[(tp.topic, tp.partition)])
                               for tp in got)
                    now = time.time()
                    if first is None and done > 0:
                        first = (now, done)
                    if first is not None and now > first[0]:
                        rate = _rate(done - first[1], now - first[0])
                        progress.update(task, rate=_rate_text(rate))
                        if now - last_line >= PROGRESS_LINE_S and rate > 0:
                            # a line that survives in logs and CI output, unlike the bar
                            progress.console.print(
                                f"    applied {done:,}/{total:,} at {rate:,.0f}/s, "
                                f"ETA {(total - done) / rate / 60:.1f} min")
                            last_line = now
                    progress.update(task, completed=done)
                    if done >= total:
                        break
                    if now - started > PRELOAD_TIMEOUT_S:
                        raise BenchError(f"preload not applied within {PRELOAD_TIMEOUT_S:.0f}s")
                    time.sleep(0.5)
            finally:
                group.close()
        finished = time.time()
        assert first is not None
        first_to_last = _rate(total - first[1], finished - first[0])
        return {
            "contacts": self.contacts,
            "opted_out_at_purchase": sum(1 for i in range(self.contacts) if _opted_out(i)),
            "consent_events": total,
            "produce_s": round(produced_s, 2),
            "produce_events_per_s": _num(_rate(self.contacts, produced_s)),
            "apply_s_from_worker_start": round(finished - started, 2),
            "applied_events_per_s": _num(first_to_last),
            "applied_events_per_s_incl_startup": _num(_rate(total, finished - started)),
            "first_commit_after_s": round(first[0] - started, 2),
        }

    # -------------------------------------------------------- 2. send filter vs pass-through

    def produce_requests(self, phase: str) -> tuple[dict[int, int], float]:
        """Produce `requests` mail requests for random preloaded contacts; all acked on return."""
        before = self.end_offsets(MAIL_REQUESTS)
        t0 = time.time()
        with _progress() as progress:
            task = progress.add_task(f"[{phase}] produce mail requests (no worker running)",
                                     total=self.requests, rate="")
            for j in range(self.requests):
                self.mail_request(f"{phase}-{j}", _email(self.rng.randrange(self.contacts)),
                                  self.random_purpose())
                if j % 5000 == 4999:
                    progress.update(task, completed=j + 1,
                                    rate=f"{_rate(j + 1, time.time() - t0):,.0f}/s")
            self.producer.flush(300)
            progress.update(task, completed=self.requests)
        return before, _rate(self.requests, time.time() - t0)

    def send_filter_run(self, phase: str) -> dict[str, Any]:
        """Start a worker on the backlog and time its decisions (see module docstring)."""
        started = self.start_worker(phase)
        with _progress() as progress:
            task = progress.add_task(f"[{phase}] send filter decides the backlog",
                                     total=self.requests, rate="")

            def done() -> bool:
                n = self.watcher.count(phase)
                progress.update(task, completed=n)
                return n >= self.requests

            _wait(done, DECIDE_TIMEOUT_S, f"{self.requests} decisions ({phase})", self.check)
        seen = self.watcher.of_phase(phase)
        stamps = [s.append_ms for s in seen.values()]
        first, last = min(stamps) / 1000, max(stamps) / 1000
        outcomes = Counter(s.outcome for s in seen.values())
        return {
            "phase": phase,
            "decisions": len(seen),
            "forwarded": outcomes["forwarded"],
            "suppressed": outcomes["suppressed"],
            "requests_per_s": _num(_rate(len(seen), last - first)),
            "first_to_last_s": round(last - first, 3),
            "worker_start_to_first_decision_s": round(first - started, 2),
            "requests_per_s_incl_startup": _num(_rate(len(seen), last - started)),
        }

    def passthrough_run(self, phase: str, start: dict[int, int]) -> dict[str, Any]:
        """The ceiling: consume the same records and produce each unchanged, nothing else.

        Same producer settings as the project's producers (acks=all, idempotent, lz4), offsets
        committed once a second like the worker (`broker_commit_interval`).
        """
        s = self.settings
        consumer = Consumer(s.to_librdkafka(**{
            "group.id": f"{s.topic_prefix}passthrough-{phase}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest"}))
        consumer.assign([TopicPartition(s.topic(MAIL_REQUESTS), p, o) for p, o in start.items()])
        producer = Producer(s.producer_config())
        out = s.topic(PASSTHROUGH_TOPIC)
        stamps: list[int] = []
        errors: list[str] = []

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(str(err))
            else:
                stamps.append(msg.timestamp()[1])

        consumed = 0
        t_start = time.time()
        last_commit = t_start
        deadline = time.monotonic() + DECIDE_TIMEOUT_S
        try:
            while consumed < self.requests:
                if time.monotonic() > deadline:
                    raise BenchError(f"pass-through read only {consumed} of {self.requests}")
                for m in consumer.consume(500, 1.0):
                    if m.error() is not None:
                        continue
                    while True:
                        try:
                            producer.produce(out, key=m.key(), value=m.value(),
                                             on_delivery=delivered)
                            break
                        except BufferError:
                            producer.poll(0.05)
                    consumed += 1
                producer.poll(0)
                if time.time() - last_commit >= 1.0:
                    consumer.commit(asynchronous=True)
                    last_commit = time.time()
            if producer.flush(120):
                raise BenchError("pass-through producer did not get every ack")
            consumer.commit(asynchronous=False)
        finally:
            consumer.close()
        t_end = time.time()
        if errors:
            raise BenchError(f"pass-through: {len(errors)} produce errors, first: {errors[0]}")
        first, last = min(stamps) / 1000, max(stamps) / 1000
        return {
            "phase": phase,
            "records": len(stamps),
            "records_per_s": _num(_rate(len(stamps), last - first)),
            "first_to_last_s": round(last - first, 3),
            "records_per_s_incl_startup": _num(_rate(len(stamps), t_end - t_start)),
        }

    # --------------------------------------------------------------------- 3. latency

    def latency(self, phase: str, rate: float, seconds: float) -> dict[str, Any]:
        """Requests at a fixed rate into a running worker; latency per request from its decision.

        Latency = decision's broker append time − the moment the bench handed the request to
        the producer (same host, same clock). The time from the request's own append is given
        too, to separate producer batching (linger.ms) from the pipeline. If the worker cannot
        keep up with the offered rate, latency is a growing queue, not a steady state: that is
        flagged (`saturated`) rather than left for the reader to guess.
        """
        n = max(1, int(rate * seconds))
        sent_at: dict[str, float] = {}
        appended: dict[str, int] = {}
        errors: list[str] = []

        def on_delivery(rid: str) -> Callable[[KafkaError | None, Message], None]:
            def cb(err: KafkaError | None, msg: Message) -> None:
                if err is not None:
                    errors.append(str(err))
                else:
                    appended[rid] = msg.timestamp()[1]
            return cb

        t0 = time.time()
        with _progress() as progress:
            task = progress.add_task(f"offered load {rate:.0f} req/s", total=n, rate="")
            for j in range(n):
                delay = t0 + j / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                rid = f"{phase}-{j}"
                sent_at[rid] = time.time()
                self.mail_request(rid, _email(self.rng.randrange(self.contacts)),
                                  self.random_purpose(), on_delivery=on_delivery(rid))
                if j % 50 == 49:
                    self.check()
                    progress.update(task, completed=j + 1,
                                    rate=_rate_text(_rate(j + 1, time.time() - t0)))
            last_sent = time.time()
            self.producer.flush(120)
            progress.update(task, completed=n)
            if errors:
                raise BenchError(f"latency phase: {len(errors)} produce errors: {errors[0]}")
            task = progress.add_task("decided", total=n, rate="")

            def done() -> bool:
                got = self.watcher.count(phase)
                progress.update(task, completed=got)
                return got >= n

            _wait(done, DECIDE_TIMEOUT_S, f"{n} decisions (latency at {rate:.0f}/s)", self.check)
        seen = self.watcher.of_phase(phase)
        lat = [seen[r].append_ms - sent_at[r] * 1000 for r in seen]
        lat_append = [seen[r].append_ms - appended[r] for r in seen if r in appended]
        last_decision = max(s.append_ms for s in seen.values()) / 1000
        drain = last_decision - last_sent
        saturated = drain > 1.0
        if saturated:
            self.notes.append(
                f"latency at {rate:.0f} req/s: the worker did not keep up (last decision "
                f"{drain:.1f}s after the last request, {_rate(n, last_decision - t0):.0f} "
                "decisions/s), so these percentiles measure a growing queue, not steady state")
        return {
            "offered_rate_per_s": rate,
            "achieved_offer_rate_per_s": _num(_rate(n, last_sent - t0)),
            "decided_per_s": _num(_rate(n, last_decision - t0)),
            "seconds": seconds,
            "requests": n,
            "saturated": saturated,
            "last_decision_after_last_request_s": round(drain, 2),
            "p50_ms": round(_pct(lat, 0.50), 1),
            "p90_ms": round(_pct(lat, 0.90), 1),
            "p99_ms": round(_pct(lat, 0.99), 1),
            "max_ms": round(max(lat), 1),
            "from_request_append_p50_ms": round(_pct(lat_append, 0.50), 1),
            "from_request_append_p99_ms": round(_pct(lat_append, 0.99), 1),
        }

    # ------------------------------------------------------------ 4. opt-out to enforcement

    def opt_out_enforcement(self) -> dict[str, Any]:
        """Opt-out acked, then at once a marketing request for the same contact.

        The request must come back suppressed (DESIGN.md, semantics 1); the time from the
        opt-out's ack to the suppressed decision's append is what an operator would call
        "how fast an opt-out takes effect". A forwarded probe is a correctness failure. Probes
        are paced (OPT_OUT_RATE): sent back to back they measure their own queue instead.
        """
        candidates = [i for i in self.rng.sample(range(self.contacts),
                                                 min(self.contacts, OPT_OUT_PROBES * 3))
                      if not _opted_out(i)][:OPT_OUT_PROBES]
        acked_at: dict[str, float] = {}
        t0 = time.time()
        with _progress() as progress:
            task = progress.add_task("opt-out, ack, then a request", total=len(candidates),
                                     rate="")
            for k, i in enumerate(candidates):
                delay = t0 + k / OPT_OUT_RATE - time.time()
                if delay > 0:
                    time.sleep(delay)
                email = _email(i)
                self.producer.send(make_event("preference.changed",
                                              {"email": email, "all": "withdrawn"},
                                              source="bench-preference-centre"))
                self.producer.flush(30)
                rid = f"opt-{k}"
                acked_at[rid] = time.time()
                self.mail_request(rid, email, Purpose.SPECIAL_OFFERS)
                self.producer.flush(30)
                progress.update(task, completed=k + 1)
            sent_s = time.time() - t0
            task = progress.add_task("decided", total=len(candidates), rate="")

            def done() -> bool:
                got = self.watcher.count("opt")
                progress.update(task, completed=got)
                return got >= len(candidates)

            _wait(done, DECIDE_TIMEOUT_S, "opt-out probe decisions", self.check)
        seen = self.watcher.of_phase("opt")
        by_probe = [seen[f"opt-{k}"].append_ms - acked_at[f"opt-{k}"] * 1000
                    for k in range(len(candidates))]
        reasons = Counter(s.reason or "(forwarded)" for s in seen.values())
        return {
            "probes": len(candidates),
            "forwarded_must_be_0": sum(1 for s in seen.values() if s.outcome == "forwarded"),
            "reasons": dict(reasons),
            "probes_per_s": _num(_rate(len(candidates), sent_s), 1),
            "p50_ms": round(_pct(by_probe, 0.50), 1),
            "p99_ms": round(_pct(by_probe, 0.99), 1),
            "min_ms": round(min(by_probe), 1),
            "max_ms": round(max(by_probe), 1),
            "by_probe_ms": [round(x) for x in by_probe],
        }

    # ---------------------------------------------------------------- 5. PostgreSQL sink

    def sink(self) -> dict[str, Any]:
        """Start the PostgreSQL sink on everything produced so far and time its catch-up.

        Progress is read from `kafka_positions`, which the sink writes in the same transaction
        as the rows, so a position is the moment its rows became visible; rows are counted once
        at the end (count(*) every tick would compete with the sink for PostgreSQL).
        """
        targets = {(self.settings.topic(t), p): h for t in SINK_TOPICS
                   for p, h in self.end_offsets(t).items()}
        total = sum(targets.values())
        with psycopg.connect(self.infra.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(
                sql.Identifier(self.sink_settings.db_schema)))

            def rows() -> int:
                return sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(t))).fetchone()[0]  # type: ignore[index]
                    for t in ("consent_ledger", "mail_decisions"))

            started = time.time()
            comp = self.procs.start("postgres-sink", "sink", "postgres")
            first: tuple[float, int, int] | None = None  # time, records, rows
            last_change = started
            done = 0
            with _progress() as progress:
                task = progress.add_task("PostgreSQL sink catches up (records)", total=total,
                                         rate="")
                while True:
                    comp.check_alive()
                    positions = conn.execute(
                        "SELECT topic, partition, next_offset FROM kafka_positions "
                        "WHERE consumer = 'postgres-sink'").fetchall()
                    now = time.time()
                    pos = sum(min(o, targets.get((t, p), 0)) for t, p, o in positions)
                    if pos != done:
                        last_change = now
                    done = pos
                    if first is None and done > 0:
                        first = (now, done, rows())
                    if first is not None and now > first[0]:
                        progress.update(task, rate=_rate_text(_rate(done - first[1],
                                                                    now - first[0])))
                    progress.update(task, completed=done)
                    if done >= total or now - started > SINK_MAX_S:
                        break
                    time.sleep(0.25)
            rows_end = rows()  # before stopping: a partial run keeps writing meanwhile
            peak = _stop(self.procs, comp)
            counts = {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(t))).fetchone()[0]  # type: ignore[index]
                for t in ("consent_ledger", "mail_decisions", "consent_current")}
        if first is None:
            raise BenchError("the PostgreSQL sink wrote nothing")
        caught_up = done >= total
        if not caught_up:
            self.notes.append(f"PostgreSQL sink: stopped measuring after {SINK_MAX_S:.0f}s with "
                              f"{done:,} of {total:,} records written; rates are over that window")
        span = last_change - first[0]
        return {
            "records_in": total,
            "records_written": done,
            "caught_up": caught_up,
            "ledger_rows": counts["consent_ledger"],
            "decision_rows": counts["mail_decisions"],
            "consent_current_rows": counts["consent_current"],
            "rows_per_s": _num(_rate(rows_end - first[2], span)),
            "records_per_s": _num(_rate(done - first[1], span)),
            "rows_per_s_incl_startup": _num(_rate(rows_end, last_change - started)),
            "first_to_last_s": round(span, 2),
            "peak_rss_mib": round(peak, 1) if peak else None,
        }


# ---------------------------------------------------------------------------- entry point


@contextmanager
def _bench_topics(settings: StreamSettings) -> Iterator[None]:
    """Create the run's topics with broker append timestamps; delete them (and faust's) after.

    LogAppendTime on the request and decision topics makes every timestamp the bench uses come
    from the broker's clock at the moment a record became durable, not from a client's clock.
    """
    create_topics(settings)
    admin = AdminClient(settings.to_librdkafka())
    fut = admin.create_topics([NewTopic(settings.topic(PASSTHROUGH_TOPIC), settings.partitions,
                                        settings.replication_factor)])
    for f in fut.values():
        f.result()
    resources = [ConfigResource(ResourceType.TOPIC, settings.topic(t), incremental_configs=[
        ConfigEntry("message.timestamp.type", "LogAppendTime",
                    incremental_operation=AlterConfigOpType.SET)])
        for t in (MAIL_REQUESTS, *DECISION_TOPICS, PASSTHROUGH_TOPIC)]
    for f in admin.incremental_alter_configs(resources).values():
        f.result()
    try:
        yield
    finally:
        try:
            names = [t for t in admin.list_topics(timeout=30).topics
                     if t.startswith(settings.topic_prefix)]
            if names:
                for f in admin.delete_topics(names, operation_timeout=60).values():
                    f.result()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real outcome
            log.warning("could not delete the bench topics: %s", exc)


def run_bench(contacts: int, requests: int, out_dir: str, repeat: int = DEFAULT_REPEAT) -> int:
    """Run every phase once (throughput phases `repeat` times) and write the results files."""
    if contacts < OPT_OUT_PROBES or requests < 1 or repeat < 1:
        raise BenchError(f"need --contacts >= {OPT_OUT_PROBES}, --requests >= 1, repeat >= 1")
    logging.getLogger("consent.bench").setLevel(logging.INFO)
    now = datetime.now(UTC)
    run_id = now.strftime("%Y%m%d%H%M%S")
    prefix = f"bench{run_id}-"
    machine = machine_description()
    load_before = os.getloadavg()
    other_brokers = _other_brokers()
    t_run = time.time()
    console.rule(f"[bold]consent bench: {contacts:,} contacts, {requests:,} requests, "
                 f"repeat {repeat}")
    console.print("starting the local Kafka broker and PostgreSQL (instance `bench`)…")
    data_dir = REPO_ROOT / ".local" / "bench" / "worker" / run_id
    with LocalInfra("bench", **BENCH_PORTS) as infra:
        env = {
            "CONSENT_KAFKA_BOOTSTRAP": infra.bootstrap,
            "CONSENT_DATABASE_URL": infra.database_url,
            "CONSENT_TOPIC_PREFIX": prefix,
            "CONSENT_APP_ID": f"{prefix}consent",
            "CONSENT_DB_SCHEMA": f"bench_{run_id}",
            "CONSENT_DATA_DIR": str(data_dir),
        }
        settings = StreamSettings(kafka_bootstrap=infra.bootstrap, topic_prefix=prefix,
                                  app_id=f"{prefix}consent", data_dir=data_dir)
        sink_settings = SinkSettings(kafka_bootstrap=infra.bootstrap, topic_prefix=prefix,
                                     database_url=infra.database_url,  # type: ignore[arg-type]
                                     db_schema=f"bench_{run_id}")
        migrate(sink_settings)
        log_dir = REPO_ROOT / ".local" / "bench" / "logs" / run_id
        try:
            with _bench_topics(settings), Components(env, log_dir) as procs, \
                    DecisionWatcher(settings) as watcher:
                producer = EventProducer(settings)
                bench = Bench(infra, settings, sink_settings, procs, watcher, producer,
                              contacts, requests, repeat)
                try:
                    results = _phases(bench, log_dir)
                finally:
                    bench.stop_worker()
                    producer.close()
        finally:
            _drop_schema(infra.database_url, sink_settings.db_schema)
            shutil.rmtree(data_dir, ignore_errors=True)
    results["memory"]["bench_process_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["memory"]["worker_peak_rss_mib"] = round(max(bench.worker_peaks), 1) \
        if bench.worker_peaks else None
    results["memory"]["worker_peak_rss_per_start_mib"] = [round(p, 1) for p in bench.worker_peaks]
    results["workers"] = bench.worker_metrics
    load_after = os.getloadavg()
    notes = [
        "Shared machine: other processes (test suite, demo) may run at the same time on these "
        f"{machine['cpu_cores']} cores, so numbers are noisy. Kafka brokers of other instances "
        f"running at start: {other_brokers}. Load average (1/5/15 min) at start "
        f"{'/'.join(f'{x:.2f}' for x in load_before)}, at end "
        f"{'/'.join(f'{x:.2f}' for x in load_after)}.",
        "Broker, PostgreSQL, worker, sink and the bench itself all run on this one machine.",
        *bench.notes,
    ]
    doc = {
        "started_at": now.isoformat(timespec="seconds"),
        "duration_s": round(time.time() - t_run, 1),
        "sizes": {"contacts": contacts, "requests": requests, "repeat": repeat,
                  "latency_rate_per_s": LATENCY_RATE, "latency_seconds": LATENCY_SECONDS,
                  "light_rate_per_s": LIGHT_RATE, "light_seconds": LIGHT_SECONDS,
                  "opt_out_probes": OPT_OUT_PROBES, "opt_out_probes_per_s": OPT_OUT_RATE,
                  "partitions": settings.partitions},
        "machine": machine,
        **results,
        "notes": notes,
        "logs": str(log_dir),
    }
    paths = _write(doc, Path(out_dir), now, machine["hostname"])
    _print(doc)
    for p in paths:
        console.print(f"wrote {p}")
    return 1 if doc["opt_out_enforcement"]["forwarded_must_be_0"] else 0


def _phases(bench: Bench, log_dir: Path) -> dict[str, Any]:
    console.print(f"[bold]1/6 preload[/bold] {bench.contacts:,} contacts (logs in {log_dir})")
    preload = bench.preload()
    console.print(f"    applied {preload['applied_events_per_s']:,} consent events/s")
    bench.stop_worker()
    filter_runs, pass_runs = [], []
    for r in range(1, bench.repeat + 1):
        phase = f"t{r}"
        console.print(f"[bold]2/6 throughput, run {r}/{bench.repeat}[/bold]")
        start, produce_rate = bench.produce_requests(phase)
        p = bench.passthrough_run(phase, start)
        p["produce_requests_per_s"] = _num(produce_rate)
        pass_runs.append(p)
        console.print(f"    pass-through {p['records_per_s']:,} records/s")
        f = bench.send_filter_run(phase)
        filter_runs.append(f)
        console.print(f"    send filter  {f['requests_per_s']:,} requests/s "
                      f"(worker start → first decision {f['worker_start_to_first_decision_s']}s)")
        if r < bench.repeat:
            bench.stop_worker()
    filter_med = _median([f["requests_per_s"] for f in filter_runs])
    pass_med = _median([p["records_per_s"] for p in pass_runs])
    console.print(f"[bold]3/6 latency[/bold] at {LIGHT_RATE:.0f} requests/s for "
                  f"{LIGHT_SECONDS:.0f}s, then {LATENCY_RATE:.0f} requests/s for "
                  f"{LATENCY_SECONDS:.0f}s")
    light = bench.latency("light", LIGHT_RATE, LIGHT_SECONDS)
    latency = bench.latency("load", LATENCY_RATE, LATENCY_SECONDS)
    console.print(f"[bold]4/6 opt-out to enforcement[/bold] ({OPT_OUT_PROBES} probes, "
                  f"{OPT_OUT_RATE:.0f}/s)")
    enforcement = bench.opt_out_enforcement()
    bench.stop_worker()
    console.print("[bold]5/6 PostgreSQL sink[/bold] catch-up")
    sink = bench.sink()
    console.print("[bold]6/6 memory[/bold]")
    dup = dict(bench.watcher.duplicates)
    if dup:
        bench.notes.append(f"duplicate decisions seen (at-least-once, counted once): {dup}")
    return {
        "preload": preload,
        "send_filter": {"median_requests_per_s": _num(filter_med),
                        "all_requests_per_s": [f["requests_per_s"] for f in filter_runs],
                        "runs": filter_runs},
        "passthrough": {"median_records_per_s": _num(pass_med),
                        "all_records_per_s": [p["records_per_s"] for p in pass_runs],
                        "runs": pass_runs},
        "ratio_send_filter_to_passthrough": _num(filter_med / pass_med, 3) if pass_med else None,
        "latency_light": light,
        "latency": latency,
        "opt_out_enforcement": enforcement,
        "postgres_sink": sink,
        "memory": {},
    }


def _drop_schema(url: str, schema: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    except psycopg.Error as exc:
        log.warning("could not drop schema %s: %s", schema, exc)


# ------------------------------------------------------------------------------- reporting


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _join(values: list[int | None]) -> str:
    return ", ".join(_fmt(x) for x in values)


def _headline(doc: dict[str, Any]) -> list[tuple[str, str]]:
    sf, pt, lat, light = (doc["send_filter"], doc["passthrough"], doc["latency"],
                          doc["latency_light"])
    opt, sink, mem, pre = (doc["opt_out_enforcement"], doc["postgres_sink"], doc["memory"],
                           doc["preload"])
    runs = len(sf["runs"])
    med = "median of " + str(runs) + ": " if runs > 1 else ""
    return [
        ("consent table size (contacts)", f"{pre['contacts']:,}"),
        ("preload: consent events applied/s", _fmt(pre["applied_events_per_s"])),
        ("send filter, requests/s",
         f"{med}{_fmt(sf['median_requests_per_s'])}  ({_join(sf['all_requests_per_s'])})"),
        ("pass-through ceiling, records/s",
         f"{med}{_fmt(pt['median_records_per_s'])}  ({_join(pt['all_records_per_s'])})"),
        ("ratio send filter / pass-through", f"{doc['ratio_send_filter_to_passthrough']}"),
        (f"end-to-end latency at {light['offered_rate_per_s']:.0f} req/s, p50 / p99",
         f"{light['p50_ms']} ms / {light['p99_ms']} ms"
         + (" (saturated, see notes)" if light["saturated"] else "")),
        (f"end-to-end latency at {lat['offered_rate_per_s']:.0f} req/s, p50 / p99",
         f"{lat['p50_ms']} ms / {lat['p99_ms']} ms"
         + (" (saturated, see notes)" if lat["saturated"] else "")),
        ("opt-out ack → suppressed, p50 / p99",
         f"{opt['p50_ms']} ms / {opt['p99_ms']} ms"),
        ("opt-out probes forwarded (must be 0)",
         f"{opt['forwarded_must_be_0']} of {opt['probes']}"),
        ("PostgreSQL sink, rows/s (ledger + decisions)",
         _fmt(sink["rows_per_s"]) + ("" if sink["caught_up"] else " (partial, see notes)")),
        ("peak RSS worker / sink / bench",
         f"{mem['worker_peak_rss_mib']} / {sink['peak_rss_mib']} / "
         f"{mem['bench_process_peak_rss_mib']} MiB"),
    ]


def _print(doc: dict[str, Any]) -> None:
    table = Table(title=f"consent bench — {doc['machine']['hostname']}, {doc['started_at']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in _headline(doc):
        style = "red" if name.startswith("opt-out probes") and not value.startswith("0 ") else None
        table.add_row(name, value, style=style)
    console.print(table)
    m = doc["machine"]
    console.print(f"[dim]{m['cpu_model']}, {m['cpu_cores']} cores, {m['memory_gib']} GiB, "
                  f"Python {m['python']}, Kafka {m['kafka']}, commit {m['git_commit'][:12]}"
                  f"{' (dirty)' if m['git_dirty'] else ''}[/dim]")
    for note in doc["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")


def _write(doc: dict[str, Any], out_dir: Path, now: datetime, host: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{host}"
    jpath, mpath = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    jpath.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    m, z = doc["machine"], doc["sizes"]
    lines = [
        f"# consent bench — {host}, {doc['started_at']}",
        "",
        f"Sizes: {z['contacts']:,} contacts, {z['requests']:,} requests per throughput run, "
        f"{z['repeat']} run(s); latency at {z['light_rate_per_s']:.0f} req/s for "
        f"{z['light_seconds']:.0f} s and {z['latency_rate_per_s']:.0f} req/s for "
        f"{z['latency_seconds']:.0f} s; {z['opt_out_probes']} opt-out probes at "
        f"{z['opt_out_probes_per_s']:.0f}/s; "
        f"{z['partitions']} partitions. Total run time {doc['duration_s']:.0f} s. How to read "
        "this: "
        "bench/README.md.",
        "",
        "| measure | value |",
        "|---|---:|",
        *[f"| {k} | {v} |" for k, v in _headline(doc)],
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, {m['cpu_cores']} cores ({m['cpu_cores_usable']} usable)",
        f"- Memory: {m['memory_gib']} GiB; OS: {m['os']}",
        f"- Python {m['python']}; Kafka {m['kafka']}; {m['java']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- Commit: {m['git_commit']}{' (with uncommitted changes)' if m['git_dirty'] else ''}",
        "",
        "## Details",
        "",
    ]
    for section in ("preload", "send_filter", "passthrough", "latency_light", "latency",
                    "opt_out_enforcement", "postgres_sink", "memory", "workers"):
        lines += [f"### {section}", "", "```json", json.dumps(doc[section], indent=2), "```", ""]
    lines += ["## Notes", "", *[f"- {n}" for n in doc["notes"]], ""]
    mpath.write_text("\n".join(lines), encoding="utf-8")
    return [jpath, mpath]
