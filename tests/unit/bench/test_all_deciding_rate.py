"""The rate of filters while every partition is being decided, not from the first to the last.

Two filters start together but finish restoring up to half a second apart; timed from the
first decision to the last, the early one's head start counted as the pair's speed.
"""
import math

from bench.stats import all_deciding_rate


def test_the_head_start_of_one_filter_is_not_timed() -> None:
    # filter 0 decides from t=0 ms, filter 1 only from t=500 ms; each decides 2 requests a
    # ms until t=1000 ms
    stamps = [(0, t) for t in range(0, 1001) for _ in range(2)]
    stamps += [(1, t) for t in range(500, 1001) for _ in range(2)]
    rate, seconds = all_deciding_rate(stamps)
    assert seconds == 0.5
    assert rate == 4 * 501 / 0.5  # both at once, 501 ms inclusive
    first_to_last = len(stamps) / 1.0
    assert first_to_last < rate  # the skew halved the first-to-last figure


def test_the_tail_of_the_first_filter_to_finish_is_not_timed() -> None:
    stamps = [(0, t) for t in range(0, 101)] + [(1, t) for t in range(0, 301)]
    rate, seconds = all_deciding_rate(stamps)
    assert (rate, seconds) == (2 * 101 / 0.1, 0.1)


def test_one_filter_is_timed_from_its_first_decision_to_its_last() -> None:
    rate, seconds = all_deciding_rate([(0, 1000), (0, 1500), (0, 3000)])
    assert (rate, seconds) == (1.5, 2.0)


def test_no_overlap_gives_no_figure() -> None:
    for stamps in ([], [(0, 5)], [(0, 1), (0, 2), (1, 3), (1, 4)]):
        rate, seconds = all_deciding_rate(stamps)
        assert math.isnan(rate) and seconds == 0.0
