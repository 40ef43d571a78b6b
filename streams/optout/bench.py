"""What opt-out detection costs per message, for ``consent bench`` (issue 8: "stays cheap").

Measured in-process with :func:`time.perf_counter_ns` around each :func:`detect` call, after one
warm-up pass: a long-running worker has its per-word caches (lexicon lookups, stems, typo
guesses) warm for the words it keeps seeing, so the warm figure is the steady state. The first
sight of a new word costs more (a stem and, for unknown words, a typo search); the warm-up pass
is left out of the figure on purpose and the caller should say so next to it.
"""

import statistics
import time
from collections.abc import Sequence

from streams.optout import detect


def measure_cost(texts: Sequence[str], repeat: int = 5) -> float:
    """Median microseconds per :func:`detect` call over ``repeat`` passes through ``texts``."""
    if not texts or repeat < 1:
        raise ValueError("need at least one text and one repeat")
    for text in texts:  # warm-up, not measured
        detect(text)
    timings: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for text in texts:
            start = clock()
            detect(text)
            timings.append(clock() - start)
    return statistics.median(timings) / 1000
