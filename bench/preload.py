"""Phase 1: one purchase per contact, produced with no agent running, then applied by the agent."""

import time
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench.constants import PRELOAD_TIMEOUT_S, PROGRESS_LINE_S
from bench.contacts import contact_email, opted_out_at_purchase
from bench.display import progress_bars
from bench.errors import BenchError
from bench.state import Bench
from bench.stats import figure, per_second, rate_text
from schemas.topics import INPUT_TOPICS
from sources.producer import make_event


def preload_contacts(bench: Bench) -> dict[str, Any]:
    """Produce one purchase per contact with no agent running, then let the agent apply them.

    Producing first keeps the producer from competing with the worker for CPU, so the
    applied rate is the consent agent's own. Bulk events are keyed by the same function as
    EventProducer.send (checked on the first event) but skip its per-event validation,
    which would make the preload three times slower without testing anything new.
    """
    t0 = time.time()
    with progress_bars() as progress:
        task = progress.add_task("produce purchases (no agent running)", total=bench.contacts,
                                 rate="")
        for i in range(bench.contacts):
            email = contact_email(i)
            event = make_event("purchase.completed", {
                "order_id": f"B-{i}", "email": email, "name": f"Bench Contact {i}",
                "country": "NL", "marketing_opt_out": opted_out_at_purchase(i)}, source="bench-shop")
            key = bench.key_of(email)
            if i == 0:
                if bench.producer.send(event).encode("ascii") != key:
                    raise BenchError("bench keys disagree with EventProducer's keys")
            else:
                bench.producer.send_raw("purchases", key, orjson.dumps(event))
            if i % 5000 == 4999:
                progress.update(task, completed=i + 1,
                                rate=f"{per_second(i + 1, time.time() - t0):,.0f}/s")
        bench.producer.flush(300)
        produced_s = time.time() - t0
        progress.update(task, completed=bench.contacts,
                        rate=f"{per_second(bench.contacts, produced_s):,.0f}/s")

        highs = {(bench.settings.topic(t), p): h for t in INPUT_TOPICS
                 for p, h in bench.end_offsets(t).items()}
        total = sum(highs.values())
        started = time.time()
        bench.start_agent("preload")
        task = progress.add_task("consent agent applies them (committed offsets)", total=total,
                                 rate="")
        group = Consumer(bench.settings.to_librdkafka(**{
            "group.id": f"{bench.settings.app_id}-agent", "enable.auto.commit": False}))
        first: tuple[float, int] | None = None
        last_line = time.time()
        try:
            while True:
                bench.check()
                try:
                    got = group.committed([TopicPartition(t, p) for t, p in highs], timeout=10)
                except KafkaException:  # the coordinator moves while the group forms
                    time.sleep(0.5)
                    continue
                done = sum(min(max(tp.offset, 0), highs[(tp.topic, tp.partition)])
                           for tp in got)
                now = time.time()
                if first is None and done > 0:
                    first = (now, done)
                if first is not None and now > first[0]:
                    rate = per_second(done - first[1], now - first[0])
                    progress.update(task, rate=rate_text(rate))
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
    first_to_last = per_second(total - first[1], finished - first[0])
    return {
        "contacts": bench.contacts,
        "opted_out_at_purchase": sum(1 for i in range(bench.contacts) if opted_out_at_purchase(i)),
        "consent_events": total,
        "produce_s": round(produced_s, 2),
        "produce_events_per_s": figure(per_second(bench.contacts, produced_s)),
        "apply_s_from_worker_start": round(finished - started, 2),
        "applied_events_per_s": figure(first_to_last),
        "applied_events_per_s_incl_startup": figure(per_second(total, finished - started)),
        "first_commit_after_s": round(first[0] - started, 2),
    }
