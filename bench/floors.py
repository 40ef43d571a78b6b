"""Issue 7's floors, checked against a run's own figures and printed beside them.

Why in the report: a figure alone invites "is that good?"; the floor it must clear, and
whether this run cleared it, is what a reader needs. The floors are for the default size
(1,000,000 contacts) on the 2-core development machine; at another size or on a loaded machine
the verdict still prints, marked with the size it was measured at.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Floor:
    name: str
    bound: float
    at_least: bool  # False: at most
    unit: str
    measure: Callable[[Doc], float | None]

    def check(self, doc: Doc) -> dict[str, Any]:
        try:
            value = self.measure(doc)
        except (KeyError, TypeError):
            value = None
        ok = None if value is None else (value >= self.bound if self.at_least
                                         else value <= self.bound)
        return {"floor": self.name, "bound": f"{'≥' if self.at_least else '≤'} "
                f"{self.bound:,g} {self.unit}", "measured": value, "met": ok}


def _restore(doc: Doc) -> float | None:
    r = doc["restore"]
    times = [r["agent"].get("restore_s"), r["filter"].get("process_start_to_restored_s")]
    return max((t for t in times if t is not None), default=None)


FLOORS = (
    Floor("send filter", 25_000, True, "requests/s",
          lambda d: d["send_filter"]["median_requests_per_s"]),
    Floor("send filter / pass-through", 0.15, True, "",
          lambda d: d["ratio_send_filter_to_passthrough"]),
    Floor("consent agent", 3_000, True, "events/s", lambda d: d["preload"]["applied_events_per_s"]),
    Floor("PostgreSQL sink", 50_000, True, "rows/s", lambda d: d["postgres_sink"]["rows_per_s"]),
    Floor("mailer", 500, True, "mails/s", lambda d: d["mailer"]["mails_per_s"]),
    Floor("opt-out → enforced p99 at 5,000 req/s", 100, False, "ms",
          lambda d: d["opt_out_enforcement"]["p99_ms"]),
    Floor("restore of the consent state", 180, False, "s", _restore),
    Floor("worker peak RSS", 1024, False, "MiB", lambda d: d["memory"]["worker_peak_rss_mib"]),
)


def check(doc: Doc) -> list[dict[str, Any]]:
    """One line per floor: its bound, this run's figure, met (True/False, None: not measured)."""
    return [f.check(doc) for f in FLOORS]
