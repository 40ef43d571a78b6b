"""The send filter: a backlog of mail requests, produced while no filter runs, then drained by
freshly started filters and timed from the broker's append timestamps."""

import time
from collections import Counter
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.constants import DECIDE_TIMEOUT_S
from bench.contacts import contact_email
from bench.display import progress_bars
from bench.state import Bench
from bench.stats import all_deciding_rate, figure, per_second
from bench.watcher import metric_total
from ops.supervisor import wait_until
from schemas.topics import MAIL_REQUESTS


def produce_requests(bench: Bench, phase: str, count: int | None = None
                     ) -> tuple[dict[int, int], float]:
    """Produce `count` (`--requests`) mail requests for random preloaded contacts, all acked."""
    count = bench.requests if count is None else count
    before = bench.end_offsets(MAIL_REQUESTS)
    t0 = time.time()
    with progress_bars() as progress:
        task = progress.add_task(f"[{phase}] produce mail requests (no filter running)",
                                 total=count, rate="")
        for j in range(count):
            bench.mail_request(f"{phase}-{j}", contact_email(bench.rng.randrange(bench.contacts)),
                               bench.random_purpose())
            if j % 5000 == 4999:
                progress.update(task, completed=j + 1,
                                rate=f"{per_second(j + 1, time.time() - t0):,.0f}/s")
        bench.producer.flush(300)
        progress.update(task, completed=count)
    return before, per_second(count, time.time() - t0)


def partition_owners(bench: Bench, group: str) -> dict[int, int]:
    """Which filter (by its place in the group) owns each mail-requests partition now.

    The decision topics are co-partitioned with the requests, so this says which filter made
    each decision, unless the group rebalanced after the first decisions (`send_filter_run`
    compares counts). Empty, with a note, if the group cannot be described.
    """
    admin = AdminClient(bench.settings.to_librdkafka())
    try:
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    except KafkaException as exc:
        bench.notes.append(f"could not describe the filters' group: {exc.args[0]}")
        return {}
    topic = bench.settings.topic(MAIL_REQUESTS)
    members = sorted(described.members, key=lambda m: m.member_id)
    return {tp.partition: i for i, m in enumerate(members)
            for tp in m.assignment.topic_partitions if tp.topic == topic}


def send_filter_run(bench: Bench, phase: str, filters: int = 1, count: int | None = None
                    ) -> dict[str, Any]:
    """Start `filters` send filters on the backlog and time their decisions.

    No agent runs: the consent table and its progress markers are already complete in
    `consent-state`, so the barrier passes at once and only the filter is measured. Each filter
    first restores its replica of the consent table; the rate is first decision → last, and
    while every filter decides (`all_deciding_rate`). The bench's own reader of the decisions
    pauses meanwhile (it would compete with the filter for the broker and the cores, as the
    pass-through has no reader either) and reads them after.
    """
    count = bench.requests if count is None else count
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

            wait_until(done, DECIDE_TIMEOUT_S, f"{count} decisions ({phase})",
                       check=bench.check, interval=0.5)
        owner = partition_owners(bench, f"{bench.settings.app_id}-filter")
        decided_by = sorted(round(metric_total(bench.running[c.name][1],
                                               "consent_mail_decisions_total")) for c in comps)
    finally:
        group.close()
        bench.watcher.paused.clear()
    for comp in comps:
        bench.stop(comp)
    wait_until(lambda: bench.watcher.count(phase) >= count, DECIDE_TIMEOUT_S,
               f"reading the {phase} decisions", check=bench.check)
    seen = bench.watcher.of_phase(phase)
    stamps = [s.append_ms for s in seen.values()]
    first, last = min(stamps) / 1000, max(stamps) / 1000
    steady, window_s = all_deciding_rate([(owner.get(d.partition, -1), d.append_ms)
                                          for d in seen.values()])
    attributed = sorted(Counter(owner.get(d.partition, -1) for d in seen.values()).values())
    if filters > 1 and attributed != decided_by:
        # a filter decided partitions it no longer owns: the group rebalanced after the first
        # decisions (a filter joined late), so who decided what is not known
        bench.notes.append(f"{phase}: the filters' own counts {decided_by} differ from their "
                           f"partitions' {attributed}; no rate while all decide")
        steady, window_s = float("nan"), 0.0
    outcomes = Counter(s.outcome for s in seen.values())
    return {
        "phase": phase,
        "filters": filters,
        "decisions": len(seen),
        "forwarded": outcomes["forwarded"],
        "suppressed": outcomes["suppressed"],
        "requests_per_s": figure(per_second(len(seen), last - first)),
        "first_to_last_s": round(last - first, 3),
        "all_deciding_requests_per_s": figure(steady),
        "all_deciding_s": round(window_s, 3),
        "start_to_first_decision_s": round(first - started, 2),
        "requests_per_s_incl_startup": figure(per_second(len(seen), last - started)),
    }
