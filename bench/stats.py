"""Percentiles, rates and medians as the results report them (NaN where nothing was timed)."""

import math
import statistics
from collections.abc import Sequence


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
