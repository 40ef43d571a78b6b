"""Percentiles, rates and medians as the results report them (NaN where nothing was timed)."""

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed, no interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def per_second(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def figure(value: float, digits: int = 0) -> float | None:
    """A rounded figure for the results, or None (JSON null) where there was nothing to time."""
    if math.isnan(value):
        return None
    return round(value, digits) if digits else round(value)


def median(values: list[float | None]) -> float:
    """Median over the runs that produced a figure (a run too short to time gives None)."""
    timed = [v for v in values if v is not None]
    return float(statistics.median(timed)) if timed else float("nan")


def rate_text(rate: float) -> str:
    return "" if math.isnan(rate) else f"{rate:,.0f}/s"


PERCENTILES = ("p50_ms", "p90_ms", "p99_ms", "min_ms", "max_ms")
SUMMED = ("requests", "probes", "decided", "forwarded_must_be_0")


def combine_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated latency runs as one result: each percentile the median of the runs', counts
    summed (a probe forwarded in any run is a leak), every run kept beside them.

    Why repeated: on this shared 2-core machine one 20 s run of the same code gave an opt-out
    p99 anywhere from 99 to 633 ms; a median of runs is what the throughput phases report too.
    """
    out = dict(runs[0])
    for key in PERCENTILES:
        if key in out:
            out[key] = figure(median([r.get(key) for r in runs]), 1)
    for key in SUMMED:
        if key in out:
            out[key] = sum(r[key] for r in runs)
    if "saturated" in out:
        out["saturated"] = any(r["saturated"] for r in runs)
    if "reasons" in out:
        reasons: Counter[str] = Counter()
        for r in runs:
            reasons.update(r["reasons"])
        out["reasons"] = dict(reasons)
    out["all_p99_ms"] = [r.get("p99_ms") for r in runs]
    out["runs"] = runs
    return out


def all_deciding_rate(stamps: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Records per second while every filter was deciding, and that window in seconds.

    `stamps` are (filter, append time in ms) of each decision. The window runs from the last
    filter's first decision to the first filter's last one. Why: filters started together
    finish restoring their replicas up to a second apart, and on a 100k backlog that
    skew, not their speed, decided the first-to-last rate of two filters (40–59k requests/s
    for the same code). With one filter it is the first-to-last rate. NaN when the window is
    empty.
    """
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for who, ms in stamps:
        first[who] = min(ms, first.get(who, ms))
        last[who] = max(ms, last.get(who, ms))
    if not first:
        return float("nan"), 0.0
    start, end = max(first.values()), min(last.values())
    if end <= start:
        return float("nan"), 0.0
    inside = sum(1 for _, ms in stamps if start <= ms <= end)
    seconds = (end - start) / 1000
    return per_second(inside, seconds), seconds
