"""``streams.optout.bench.measure_cost``: the figure ``consent bench`` reports."""

import pytest

from streams.optout.bench import measure_cost


def test_measure_cost_returns_median_microseconds() -> None:
    cost = measure_cost(["Please stop emailing me.", "My licence key does not work."], repeat=3)
    assert 0 < cost < 1_000_000


def test_measure_cost_needs_texts_and_repeats() -> None:
    with pytest.raises(ValueError, match="at least one"):
        measure_cost([], repeat=3)
    with pytest.raises(ValueError, match="at least one"):
        measure_cost(["x"], repeat=0)
