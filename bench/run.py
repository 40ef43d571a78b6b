"""The entry point: start the bench instance, run the phases in order, write the results."""

import logging
import os
import resource
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.backlog import work_through_backlog
from bench.constants import (
    BACKLOG_EVENTS,
    BENCH_PORTS,
    DEFAULT_REPEAT,
    LATENCY_RATE,
    LATENCY_SECONDS,
    LIGHT_RATE,
    LIGHT_SECONDS,
    MAILER_MAILS,
    OPT_OUT_PROBES,
    OPT_OUT_RATE,
    TWO_FILTER_BACKLOG_FACTOR,
)
from bench.display import console
from bench.errors import BenchError
from bench.floors import check as check_floors
from bench.latency import measure_latency, warm_up, warm_up_at_load
from bench.machine import count_other_brokers, machine_description
from bench.mailer import mailer_run
from bench.opt_out_probes import ProbeThread
from bench.passthrough import passthrough_run
from bench.postgres_sink import sink_catch_up
from bench.preload import preload_contacts
from bench.report import print_results, write_results
from bench.restore import restore_agent, restore_filter
from bench.scratch import bench_topics, drop_schema
from bench.state import Bench
from bench.stats import combine_runs, figure, median
from bench.throughput import produce_requests, send_filter_run
from bench.watcher import DecisionWatcher
from ops.deployment import Deployment
from ops.supervisor import REPO_ROOT, Components, LocalInfra
from ops.traffic import OPT_OUT_TEXTS, ORDINARY_TEXTS
from sources.producer import EventProducer
from streams.optout.bench import measure_cost

DETECTION_TEXTS = [*OPT_OUT_TEXTS, *ORDINARY_TEXTS]


def run_bench(contacts: int, requests: int, out_dir: str, repeat: int = DEFAULT_REPEAT) -> int:
    """Run every phase once (throughput and loaded-latency phases `repeat` times) and write
    the results files."""
    if contacts < OPT_OUT_PROBES or requests < 1 or repeat < 1:
        raise BenchError(f"need --contacts >= {OPT_OUT_PROBES}, --requests >= 1, repeat >= 1")
    logging.getLogger("consent.bench").setLevel(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    now = datetime.now(UTC)
    run_id = now.strftime("%Y%m%d%H%M%S")
    prefix = f"bench{run_id}-"
    machine = machine_description()
    load_before = os.getloadavg()
    other_brokers = count_other_brokers()
    t_run = time.time()
    console.rule(f"[bold]consent bench: {contacts:,} contacts, {requests:,} requests, "
                 f"repeat {repeat}")
    console.print("starting the local Kafka broker and PostgreSQL (instance `bench`)…")
    data_dir = REPO_ROOT / ".local" / "bench" / "worker" / run_id
    with LocalInfra("bench", **BENCH_PORTS, secured=True) as infra:
        deployment = Deployment(infra, prefix=prefix, app_id=f"{prefix}consent",
                                db_schema=f"bench_{run_id}", data_dir=data_dir)
        deployment.setup()
        # the bench plays every producer and reads every output: the setup principal; each
        # process it measures runs as its own principal and role, TLS and SASL included
        settings = deployment.admin_settings()
        sink_settings = deployment.owner_sink_settings()
        log_dir = REPO_ROOT / ".local" / "bench" / "logs" / run_id
        try:
            with bench_topics(settings), \
                    Components({}, log_dir, env_for=deployment.env_for) as procs, \
                    DecisionWatcher(settings) as watcher:
                producer = EventProducer(settings)
                bench = Bench(infra, settings, sink_settings, procs, watcher, producer,
                              contacts, requests, repeat, deployment=deployment)
                try:
                    results = _phases(bench, log_dir)
                finally:
                    bench.stop_all()
                    producer.close()
        finally:
            drop_schema(infra.database_url, sink_settings.db_schema)
            shutil.rmtree(data_dir, ignore_errors=True)
    results["memory"]["bench_process_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for kind, peaks in sorted(bench.peaks.items()):
        results["memory"][f"{kind}_peak_rss_mib"] = round(max(peaks), 1)
    results["processes"] = bench.process_metrics
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
    doc["floors"] = check_floors(doc)
    paths = write_results(doc, Path(out_dir), now, machine["hostname"])
    print_results(doc)
    for p in paths:
        console.print(f"wrote {p}")
    leaked = (doc["opt_out_enforcement"]["forwarded_must_be_0"]
              + doc["latency_warm_up"]["forwarded_must_be_0"]
              + doc["backlog"]["forwarded_must_be_0"])
    return 1 if leaked else 0


def _phases(bench: Bench, log_dir: Path) -> dict[str, Any]:
    console.print(f"[bold]1/9 preload[/bold] {bench.contacts:,} contacts (logs in {log_dir})")
    preload = preload_contacts(bench)
    console.print(f"    applied {preload['applied_events_per_s']:,} consent events/s")
    bench.stop_all("worker")
    console.print(f"[bold]2/9 restore[/bold] the consent table of {bench.contacts:,} contacts")
    restore = {"agent": restore_agent(bench), "filter": restore_filter(bench)}
    console.print(f"    agent {restore['agent']['restore_s']}s, filter "
                  f"{restore['filter']['process_start_to_restored_s']}s")
    filter_runs, pass_runs = [], []
    for r in range(1, bench.repeat + 1):
        phase = f"t{r}"
        console.print(f"[bold]3/9 throughput, run {r}/{bench.repeat}[/bold]")
        start, produce_rate = produce_requests(bench, phase)
        p = passthrough_run(bench, phase, start)
        p["produce_requests_per_s"] = figure(produce_rate)
        pass_runs.append(p)
        console.print(f"    pass-through {p['records_per_s']:,} records/s")
        f = send_filter_run(bench, phase)
        filter_runs.append(f)
        console.print(f"    send filter  {f['requests_per_s']:,} requests/s "
                      f"(start → first decision {f['start_to_first_decision_s']}s)")
    filter_med = median([f["requests_per_s"] for f in filter_runs])
    pass_med = median([p["records_per_s"] for p in pass_runs])
    console.print("[bold]4/9 two send filters[/bold]")
    two_count = bench.requests * TWO_FILTER_BACKLOG_FACTOR
    produce_requests(bench, "two", two_count)
    two = send_filter_run(bench, "two", filters=2, count=two_count)
    both = two["all_deciding_requests_per_s"]
    console.print(f"    two filters {'n/a' if both is None else f'{both:,}'} requests/s while "
                  f"both decide, {two['requests_per_s']:,} from the first decision to the last")
    console.print(f"[bold]5/9 latency[/bold] at {LIGHT_RATE:.0f} requests/s for "
                  f"{LIGHT_SECONDS:.0f}s, then {LATENCY_RATE:.0f} requests/s for "
                  f"{LATENCY_SECONDS:.0f}s with {OPT_OUT_PROBES} opt-out probes")
    bench.start_agent("latency")
    bench.start_filter("latency")
    warm_up(bench)  # start-up (restores, first markers) is not latency
    load_warm_up = warm_up_at_load(bench)  # nor is the broker compiling the loaded paths
    console.print(f"    warm-up at load (not measured): request p99 {load_warm_up['p99_ms']} ms, "
                  f"opt-out p99 {load_warm_up['probe_p99_ms']} ms")
    light = measure_latency(bench, "light", LIGHT_RATE, LIGHT_SECONDS)
    load_runs, probe_runs = [], []
    for r in range(1, bench.repeat + 1):
        probes = ProbeThread(bench, phase=f"opt{r}")
        load_runs.append(measure_latency(bench, f"load{r}", LATENCY_RATE, LATENCY_SECONDS,
                                         probes=probes))
        probe_runs.append(probes.results())
        console.print(f"    run {r}/{bench.repeat}: request p99 {load_runs[-1]['p99_ms']} ms, "
                      f"opt-out p99 {probe_runs[-1]['p99_ms']} ms")
    latency, enforcement = combine_runs(load_runs), combine_runs(probe_runs)
    console.print(f"[bold]6/9 consent backlog[/bold] of {BACKLOG_EVENTS:,} events")
    backlog = work_through_backlog(bench)
    bench.stop_all()
    console.print("[bold]7/9 PostgreSQL sink[/bold] catch-up")
    sink = sink_catch_up(bench)
    console.print(f"[bold]8/9 mailer[/bold] {MAILER_MAILS:,} mails into a local SMTP server")
    mailer = mailer_run(bench)
    console.print("[bold]9/9 opt-out text detection cost[/bold]")
    detection = {"median_us_per_message": round(measure_cost(DETECTION_TEXTS, repeat=20), 1),
                 "texts": len(DETECTION_TEXTS), "note": "warm caches, after one unmeasured pass"}
    dup = dict(bench.watcher.duplicates)
    if dup:
        bench.notes.append(f"decisions seen twice in the committed outputs: {dup}")
    return {
        "preload": preload,
        "restore": restore,
        "send_filter": {"median_requests_per_s": figure(filter_med),
                        "all_requests_per_s": [f["requests_per_s"] for f in filter_runs],
                        "runs": filter_runs},
        "passthrough": {"median_records_per_s": figure(pass_med),
                        "all_records_per_s": [p["records_per_s"] for p in pass_runs],
                        "runs": pass_runs},
        "ratio_send_filter_to_passthrough": figure(filter_med / pass_med, 3) if pass_med else None,
        "two_filters": two,
        "latency_warm_up": load_warm_up,
        "latency_light": light,
        "latency": latency,
        "opt_out_enforcement": enforcement,
        "backlog": backlog,
        "postgres_sink": sink,
        "mailer": mailer,
        "detection": detection,
        "memory": {},
    }
