"""The send filter: a backlog of mail requests, produced while no filter runs, then drained by
freshly started filters and timed from the broker's append timestamps."""

import time
from collections import Counter
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench.constants import DECIDE_TIMEOUT_S
from bench.contacts import contact_email
from bench.display import progress_bars
from bench.state import Bench
from bench.stats import figure, per_second
from ops.supervisor import wait_until
from schemas.topics import MAIL_REQUESTS


def produce_requests(bench: Bench, phase: str) -> tuple[dict[int, int], float]:
    """Produce `requests` mail requests for random preloaded contacts; all acked on return."""
    before = bench.end_offsets(MAIL_REQUESTS)
    t0 = time.time()
    with progress_bars() as progress:
        task = progress.add_task(f"[{phase}] produce mail requests (no filter running)",
                                 total=bench.requests, rate="")
        for j in range(bench.requests):
            bench.mail_request(f"{phase}-{j}", contact_email(bench.rng.randrange(bench.contacts)),
                               bench.random_purpose())
            if j % 5000 == 4999:
                progress.update(task, completed=j + 1,
                                rate=f"{per_second(j + 1, time.time() - t0):,.0f}/s")
        bench.producer.flush(300)
        progress.update(task, completed=bench.requests)
    return before, per_second(bench.requests, time.time() - t0)


def send_filter_run(bench: Bench, phase: str, filters: int = 1) -> dict[str, Any]:
    """Start `filters` send filters on the backlog and time their decisions.

    No agent runs: the consent table and its progress markers are already complete in
    `consent-state`, so the barrier passes at once and only the filter is measured. Each filter
    first restores its replica of the consent table; the rate is first decision → last. The
    bench's own reader of the decisions pauses meanwhile (it would compete with the filter for
    the broker and the cores, as the pass-through has no reader either) and reads them after.
    """
    ends = bench.end_offsets(MAIL_REQUESTS)
    topic = bench.settings.topic(MAIL_REQUESTS)
    group = Consumer(bench.settings.to_librdkafka(**{
        "group.id": f"{bench.settings.app_id}-filter", "enable.auto.commit": False}))
    bench.watcher.paused.set()
    started = time.time()
    comps = [bench.start_filter(f"{phase}-{i}") for i in range(filters)]
    try:
        with progress_bars() as progress:
            task = progress.add_task(f"[{phase}] {filters} send filter(s) decide the backlog",
                                     total=sum(ends.values()), rate="")

            def done() -> bool:
                try:
                    got = group.committed([TopicPartition(topic, p) for p in ends], timeout=10)
                except KafkaException:
                    return False
                n = sum(min(max(tp.offset, 0), ends[tp.partition]) for tp in got)
                progress.update(task, completed=n)
                return n >= sum(ends.values())

            wait_until(done, DECIDE_TIMEOUT_S, f"{bench.requests} decisions ({phase})",
                       check=bench.check, interval=0.5)
    finally:
        group.close()
        bench.watcher.paused.clear()
    for comp in comps:
        bench.stop(comp)
    wait_until(lambda: bench.watcher.count(phase) >= bench.requests, DECIDE_TIMEOUT_S,
               f"reading the {phase} decisions", check=bench.check)
    seen = bench.watcher.of_phase(phase)
    stamps = [s.append_ms for s in seen.values()]
    first, last = min(stamps) / 1000, max(stamps) / 1000
    outcomes = Counter(s.outcome for s in seen.values())
    return {
        "phase": phase,
        "filters": filters,
        "decisions": len(seen),
        "forwarded": outcomes["forwarded"],
        "suppressed": outcomes["suppressed"],
        "requests_per_s": figure(per_second(len(seen), last - first)),
        "first_to_last_s": round(last - first, 3),
        "start_to_first_decision_s": round(first - started, 2),
        "requests_per_s_incl_startup": figure(per_second(len(seen), last - started)),
    }
