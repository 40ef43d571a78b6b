"""Phase 4: how fast an opt-out takes effect, and that it always does (probes must be suppressed)."""

import time
from collections import Counter
from typing import Any

from bench.constants import DECIDE_TIMEOUT_S, OPT_OUT_PROBES, OPT_OUT_RATE
from bench.contacts import contact_email, opted_out_at_purchase
from bench.display import progress_bars
from bench.state import Bench
from bench.stats import figure, per_second, percentile
from ops.supervisor import wait_until
from schemas.purposes import Purpose
from sources.producer import make_event


def opt_out_enforcement(bench: Bench) -> dict[str, Any]:
    """Opt-out acked, then at once a marketing request for the same contact.

    The request must come back suppressed (DESIGN.md, semantics 1); the time from the
    opt-out's ack to the suppressed decision's append is what an operator would call
    "how fast an opt-out takes effect". A forwarded probe is a correctness failure. Probes
    are paced (OPT_OUT_RATE): sent back to back they measure their own queue instead.
    """
    candidates = [i for i in bench.rng.sample(range(bench.contacts),
                                              min(bench.contacts, OPT_OUT_PROBES * 3))
                  if not opted_out_at_purchase(i)][:OPT_OUT_PROBES]
    acked_at: dict[str, float] = {}
    t0 = time.time()
    with progress_bars() as progress:
        task = progress.add_task("opt-out, ack, then a request", total=len(candidates),
                                 rate="")
        for k, i in enumerate(candidates):
            delay = t0 + k / OPT_OUT_RATE - time.time()
            if delay > 0:
                time.sleep(delay)
            email = contact_email(i)
            bench.producer.send(make_event("preference.changed",
                                           {"email": email, "all": "withdrawn"},
                                           source="bench-preference-centre"))
            bench.producer.flush(30)
            rid = f"opt-{k}"
            acked_at[rid] = time.time()
            bench.mail_request(rid, email, Purpose.SPECIAL_OFFERS)
            bench.producer.flush(30)
            progress.update(task, completed=k + 1)
        sent_s = time.time() - t0
        task = progress.add_task("decided", total=len(candidates), rate="")

        def done() -> bool:
            got = bench.watcher.count("opt")
            progress.update(task, completed=got)
            return got >= len(candidates)

        wait_until(done, DECIDE_TIMEOUT_S, "opt-out probe decisions", check=bench.check)
    seen = bench.watcher.of_phase("opt")
    by_probe = [seen[f"opt-{k}"].append_ms - acked_at[f"opt-{k}"] * 1000
                for k in range(len(candidates))]
    reasons = Counter(s.reason or "(forwarded)" for s in seen.values())
    return {
        "probes": len(candidates),
        "forwarded_must_be_0": sum(1 for s in seen.values() if s.outcome == "forwarded"),
        "reasons": dict(reasons),
        "probes_per_s": figure(per_second(len(candidates), sent_s), 1),
        "p50_ms": round(percentile(by_probe, 0.50), 1),
        "p99_ms": round(percentile(by_probe, 0.99), 1),
        "min_ms": round(min(by_probe), 1),
        "max_ms": round(max(by_probe), 1),
        "by_probe_ms": [round(x) for x in by_probe],
    }
