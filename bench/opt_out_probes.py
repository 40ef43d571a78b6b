"""How fast an opt-out takes effect under load, and that it always does (probes must be suppressed).

A probe is an opt-out, acknowledged by the broker, then at once a marketing request for the
same contact (DESIGN.md, semantics 1). The time from the opt-out's ack to the suppressed
decision's append is what an operator would call "how fast an opt-out takes effect"; a
forwarded probe is a correctness failure. Probes run in a thread of their own, with their own
producer, while `latency` offers its load, so the figure is the one at that load. They are
paced (OPT_OUT_RATE): sent back to back they would measure their own queue instead.
"""

import random
import threading
import time
from collections import Counter
from typing import Any

from bench.constants import OPT_OUT_PROBES, OPT_OUT_RATE
from bench.contacts import contact_email, opted_out_at_purchase
from bench.state import Bench
from bench.stats import figure, per_second, percentile
from schemas.purposes import Purpose
from sources.producer import EventProducer, make_event

PHASE = "opt"


def probe_contacts(rng: random.Random, contacts: int, count: int, used: set[int]) -> list[int]:
    """Up to `count` contacts that have not opted out, none of them in `used` (updated).

    Why none twice: a contact an earlier probe opted out is suppressed at once, before the
    new opt-out is applied, so its probe would time nothing. Three runs of 200 probes drawn
    independently from 1,000,000 contacts share a contact in about one bench run of nine.
    """
    drawn = rng.sample(range(contacts), min(contacts, count * 3 + len(used)))
    picked = [i for i in drawn if i not in used and not opted_out_at_purchase(i)][:count]
    used.update(picked)
    return picked


class ProbeThread(threading.Thread):
    def __init__(self, bench: Bench, phase: str = PHASE) -> None:
        super().__init__(name="opt-out-probes", daemon=True)
        self.bench = bench
        self.phase = phase
        self.candidates = probe_contacts(bench.rng, bench.contacts, OPT_OUT_PROBES,
                                         bench.probed)
        self.acked_at: dict[str, float] = {}
        self.sent_s = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = EventProducer(self.bench.settings)
        t0 = time.time()
        try:
            for k, i in enumerate(self.candidates):
                delay = t0 + k / OPT_OUT_RATE - time.time()
                if delay > 0:
                    time.sleep(delay)
                email = contact_email(i)
                producer.send(make_event("preference.changed", {"email": email, "all": "withdrawn"},
                                         source="bench-preference-centre"))
                producer.flush(30)
                rid = f"{self.phase}-{k}"
                self.acked_at[rid] = time.time()
                self.bench.mail_request(rid, email, Purpose.SPECIAL_OFFERS, producer=producer)
                producer.flush(30)
        except BaseException as exc:  # noqa: BLE001 - reported by results()
            self.error = exc
        finally:
            self.sent_s = time.time() - t0
            producer.close()

    def results(self) -> dict[str, Any]:
        seen = self.bench.watcher.of_phase(self.phase)
        by_probe = [seen[r].append_ms - self.acked_at[r] * 1000 for r in self.acked_at if r in seen]
        reasons = Counter(s.reason or "(forwarded)" for s in seen.values())
        return {
            "probes": len(self.acked_at),
            "decided": len(seen),
            "forwarded_must_be_0": sum(1 for s in seen.values() if s.outcome == "forwarded"),
            "reasons": dict(reasons),
            "probes_per_s": figure(per_second(len(self.acked_at), self.sent_s), 1),
            "p50_ms": round(percentile(by_probe, 0.50), 1),
            "p99_ms": round(percentile(by_probe, 0.99), 1),
            "min_ms": round(min(by_probe), 1) if by_probe else None,
            "max_ms": round(max(by_probe), 1) if by_probe else None,
        }
