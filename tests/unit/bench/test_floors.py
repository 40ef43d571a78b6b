"""The bench's floor check says met, missed or not measured for each of issue 7's floors."""

from typing import Any

from bench.floors import FLOORS, check


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "send_filter": {"median_requests_per_s": 30_000},
        "ratio_send_filter_to_passthrough": 0.2,
        "preload": {"applied_events_per_s": 7_000},
        "postgres_sink": {"rows_per_s": 60_000},
        "mailer": {"mails_per_s": 600},
        "opt_out_enforcement": {"p99_ms": 80.0},
        "restore": {"agent": {"restore_s": 20.0}, "filter": {"process_start_to_restored_s": 40}},
        "memory": {"worker_peak_rss_mib": 500.0},
    }
    doc.update(over)
    return doc


def test_a_run_over_every_floor_meets_them_all() -> None:
    lines = check(_doc())
    assert len(lines) == len(FLOORS) == 8
    assert all(line["met"] is True for line in lines)


def test_a_slow_filter_a_slow_restore_and_a_late_opt_out_are_missed() -> None:
    doc = _doc(send_filter={"median_requests_per_s": 21_959},
               opt_out_enforcement={"p99_ms": 100.1},
               restore={"agent": {"restore_s": 2.0},
                        "filter": {"process_start_to_restored_s": 181}})
    missed = {line["floor"] for line in check(doc) if line["met"] is False}
    assert missed == {"send filter", "opt-out → enforced p99 at 5,000 req/s",
                      "restore of the consent state"}


def test_a_figure_the_run_did_not_produce_is_not_measured_rather_than_met() -> None:
    doc = _doc(mailer={"mails_per_s": None})
    del doc["memory"]["worker_peak_rss_mib"]
    lines = {line["floor"]: line for line in check(doc)}
    assert lines["mailer"]["met"] is None and lines["worker peak RSS"]["met"] is None
    assert lines["PostgreSQL sink"]["bound"] == "≥ 50,000 rows/s"
