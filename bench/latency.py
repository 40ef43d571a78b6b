"""Phase 3: end-to-end latency of requests offered at a fixed rate to a running worker."""

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message

from bench.constants import DECIDE_TIMEOUT_S, LATENCY_RATE, LOAD_WARM_UP_S, PACE_TICK_S
from bench.contacts import contact_email
from bench.display import progress_bars
from bench.errors import BenchError
from bench.opt_out_probes import ProbeThread
from bench.state import Bench
from bench.stats import figure, per_second, percentile, rate_text
from ops.supervisor import wait_until
from schemas.purposes import Purpose


def measure_latency(bench: Bench, phase: str, rate: float, seconds: float,
                    probes: ProbeThread | None = None) -> dict[str, Any]:
    """Requests at a fixed rate into a running pipeline; latency per request from its decision.

    Latency = decision's broker append time − the moment the bench handed the request to
    the producer (same host, same clock). The time from the request's own append is given
    too, to separate producer batching (linger.ms) from the pipeline. If the filter cannot
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
    if probes is not None:
        probes.start()
    with progress_bars() as progress:
        task = progress.add_task(f"offered load {rate:.0f} req/s", total=n, rate="")
        for j in range(n):
            delay = t0 + j / rate - time.time()
            if delay > PACE_TICK_S:  # a tick's worth of requests goes at once: a sleep per
                time.sleep(delay)    # request took the bench 42-51 % of a core at 5,000/s, ticks 31 %
            rid = f"{phase}-{j}"
            sent_at[rid] = time.time()
            bench.mail_request(rid, contact_email(bench.rng.randrange(bench.contacts)),
                               bench.random_purpose(), on_delivery=on_delivery(rid))
            if j % 50 == 49:
                bench.check()
                progress.update(task, completed=j + 1,
                                rate=rate_text(per_second(j + 1, time.time() - t0)))
        last_sent = time.time()
        bench.producer.flush(120)
        progress.update(task, completed=n)
        if errors:
            raise BenchError(f"latency phase: {len(errors)} produce errors: {errors[0]}")
        task = progress.add_task("decided", total=n, rate="")

        def done() -> bool:
            got = bench.watcher.count(phase)
            progress.update(task, completed=got)
            return got >= n

        wait_until(done, DECIDE_TIMEOUT_S, f"{n} decisions (latency at {rate:.0f}/s)", check=bench.check)
        if probes is not None:
            probes.join(DECIDE_TIMEOUT_S)
            if probes.error is not None:
                raise BenchError(f"opt-out probes failed: {probes.error}")
            wait_until(lambda: bench.watcher.count(probes.phase) >= len(probes.acked_at),
                       DECIDE_TIMEOUT_S, "opt-out probe decisions", check=bench.check)
    seen = bench.watcher.of_phase(phase)
    lat = [seen[r].append_ms - sent_at[r] * 1000 for r in seen]
    lat_append = [seen[r].append_ms - appended[r] for r in seen if r in appended]
    last_decision = max(s.append_ms for s in seen.values()) / 1000
    drain = last_decision - last_sent
    saturated = drain > 1.0
    if saturated:
        bench.notes.append(
            f"latency at {rate:.0f} req/s ({phase}): the filter did not keep up (last decision "
            f"{drain:.1f}s after the last request, {per_second(n, last_decision - t0):.0f} "
            "decisions/s), so these percentiles measure a growing queue, not steady state")
    return {
        "offered_rate_per_s": rate,
        "achieved_offer_rate_per_s": figure(per_second(n, last_sent - t0)),
        "decided_per_s": figure(per_second(n, last_decision - t0)),
        "seconds": seconds,
        "requests": n,
        "saturated": saturated,
        "last_decision_after_last_request_s": round(drain, 2),
        "p50_ms": round(percentile(lat, 0.50), 1),
        "p90_ms": round(percentile(lat, 0.90), 1),
        "p99_ms": round(percentile(lat, 0.99), 1),
        "max_ms": round(max(lat), 1),
        "from_request_append_p50_ms": round(percentile(lat_append, 0.50), 1),
        "from_request_append_p99_ms": round(percentile(lat_append, 0.99), 1),
    }


def warm_up_at_load(bench: Bench) -> dict[str, Any]:
    """Offer the loaded runs' traffic, opt-out probes included, once, before measuring them.

    Why: the broker's JIT compiles the code these runs exercise (transactions of a hundred
    requests, the agent's progress markers, AddPartitionsToTxn) only once they run. Sampled
    every second through a bench run, its C2 compiler threads took 10-56 % of a core during
    the light phase and the first loaded run, and 0-20 % in the runs after. In 13 results
    files without this warm-up, the first of three loaded runs had the highest opt-out p50 in
    12 and the highest p99 in 11. A broker in service has long compiled them. The warm-up's
    own figures are kept in the results (`latency_warm_up`), and a probe forwarded here is a
    leak like any other.
    """
    probes = ProbeThread(bench, phase="warmopt")
    load = measure_latency(bench, "warmload", LATENCY_RATE, LOAD_WARM_UP_S, probes=probes)
    got = probes.results()
    return {"seconds": LOAD_WARM_UP_S, "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"],
            "probe_p50_ms": got["p50_ms"], "probe_p99_ms": got["p99_ms"],
            "probes": got["probes"], "forwarded_must_be_0": got["forwarded_must_be_0"]}


def warm_up(bench: Bench, requests: int = 20) -> None:
    """Decide a few requests before measuring, so restores and first markers are behind us."""
    for j in range(requests):
        bench.mail_request(f"warm-{j}", contact_email(j % bench.contacts), Purpose.SPECIAL_OFFERS)
    bench.producer.flush(60)
    wait_until(lambda: bench.watcher.count("warm") >= requests, DECIDE_TIMEOUT_S,
               "warm-up decisions", check=bench.check)
