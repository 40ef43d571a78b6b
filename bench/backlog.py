"""A consent backlog: 100,000 consent events produced while the agent is down, then worked through.

This is the situation that used to stop the pipeline (an import, a restart under load): the
time from the agent's start until its committed offsets reach the end of the backlog. A few
mail requests wait behind it, so the filter's barrier is exercised too; they must all be
decided, the opted-out ones suppressed.
"""

import time
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench.constants import BACKLOG_EVENTS, DECIDE_TIMEOUT_S
from bench.contacts import contact_email
from bench.display import progress_bars
from bench.opt_out_probes import probe_contacts
from bench.state import Bench
from bench.stats import figure, per_second
from ops.supervisor import wait_until
from schemas.purposes import Purpose
from schemas.topics import INPUT_TOPICS
from sources.producer import make_event


def work_through_backlog(bench: Bench) -> dict[str, Any]:
    bench.stop_all("worker")
    n = BACKLOG_EVENTS
    rng = bench.rng
    t0 = time.time()
    with progress_bars() as progress:
        task = progress.add_task("produce the consent backlog (agent stopped)", total=n, rate="")
        for j in range(n):
            email = contact_email(rng.randrange(bench.contacts))
            choice = "withdrawn" if j % 2 else "granted"
            purpose = rng.choice([p.value for p in Purpose if p is not Purpose.TRANSACTIONAL])
            event = make_event("preference.changed", {"email": email,
                                                      "changes": {purpose: choice}},
                               source="bench-preference-centre")
            bench.producer.send_raw("preferences", bench.key_of(email), orjson.dumps(event))
            if j % 5000 == 4999:
                progress.update(task, completed=j + 1)
        probes = {}
        # contacts that had not opted out: one that had would be suppressed whatever the agent
        # did with the backlog, and prove nothing
        for k, i in enumerate(probe_contacts(rng, bench.contacts, 50, bench.probed)):
            email = contact_email(i)
            bench.producer.send_raw("preferences", bench.key_of(email), orjson.dumps(make_event(
                "preference.changed", {"email": email, "all": "withdrawn"},
                source="bench-preference-centre")))
            probes[f"backlog-{k}"] = email
        bench.producer.flush(300)
        for rid, email in probes.items():
            bench.mail_request(rid, email, Purpose.SPECIAL_OFFERS)
        bench.producer.flush(60)
        progress.update(task, completed=n)
    produced_s = time.time() - t0
    highs = {(bench.settings.topic(t), p): h for t in INPUT_TOPICS
             for p, h in bench.end_offsets(t).items()}
    started = time.time()
    bench.start_agent("backlog")
    group = Consumer(bench.settings.to_librdkafka(**{
        "group.id": f"{bench.settings.app_id}-agent", "enable.auto.commit": False}))

    def applied() -> bool:
        try:
            got = group.committed([TopicPartition(t, p) for t, p in highs], timeout=10)
        except KafkaException:
            return False
        return all(max(tp.offset, 0) >= highs[(tp.topic, tp.partition)] for tp in got)

    try:
        wait_until(applied, DECIDE_TIMEOUT_S, "the consent backlog", check=bench.check)
    finally:
        group.close()
    worked_s = time.time() - started
    wait_until(lambda: bench.watcher.count("backlog") >= len(probes), DECIDE_TIMEOUT_S,
               "decisions behind the backlog", check=bench.check)
    seen = bench.watcher.of_phase("backlog")
    forwarded = sum(1 for s in seen.values() if s.outcome == "forwarded")
    return {"events": n, "produce_s": round(produced_s, 1),
            "agent_start_to_applied_s": round(worked_s, 1),
            "events_per_s_incl_startup": figure(per_second(n, worked_s)),
            "requests_behind_it": len(probes), "forwarded_must_be_0": forwarded}
