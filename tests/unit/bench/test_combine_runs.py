"""Repeated latency runs reported as one: medians of the runs' percentiles, leaks summed."""

from bench.stats import combine_runs


def probe_run(p99: float, forwarded: int, reason: str = "opted_out") -> dict[str, object]:
    return {"probes": 200, "decided": 200, "forwarded_must_be_0": forwarded,
            "reasons": {reason: 200 - forwarded}, "p50_ms": p99 / 3, "p99_ms": p99,
            "min_ms": 20.0, "max_ms": p99 + 10}


def test_each_percentile_is_the_median_of_the_runs_and_every_run_is_kept() -> None:
    runs = [probe_run(633.0, 0), probe_run(99.0, 0), probe_run(183.0, 0)]
    out = combine_runs(runs)
    assert out["p99_ms"] == 183.0 and out["p50_ms"] == 61.0 and out["max_ms"] == 193.0
    assert out["all_p99_ms"] == [633.0, 99.0, 183.0]
    assert out["runs"] == runs


def test_a_probe_forwarded_in_any_run_is_counted_not_outvoted() -> None:
    out = combine_runs([probe_run(90.0, 0), probe_run(95.0, 1, "none"), probe_run(99.0, 0)])
    assert out["forwarded_must_be_0"] == 1
    assert out["probes"] == 600 and out["decided"] == 600
    assert out["reasons"] == {"opted_out": 400, "none": 199}


def test_load_is_saturated_if_any_run_was() -> None:
    runs = [{"p99_ms": 1.0, "requests": 5, "saturated": s} for s in (False, True, False)]
    assert combine_runs(runs)["saturated"] is True
    assert combine_runs(runs)["requests"] == 15
