"""The short chaos run (issue 11): at least 1,000 acknowledged opt-out → request pairs over
every opt-out channel, with background traffic and hostile input, while a worker is SIGKILLed
(the supervisor restarts it) and a second worker joins and leaves. The long run, with a broker
restart, a paused database and a killed mailer on three brokers, is `make chaos`."""

import pytest

from ops.chaos.driver import CHANNELS
from ops.chaos.plan import SHORT
from ops.chaos.run import print_report, run
from ops.supervisor import LocalInfra

pytestmark = pytest.mark.integration


def test_short_chaos_run_has_no_leak_loss_or_duplicate(infra: LocalInfra, tmp_path) -> None:
    verdict, report = run(infra, SHORT, tmp_path, print)
    print_report(verdict, report, print)
    # the faults happened, in live traffic, and the supervisor brought the worker back
    assert report["fault_errors"] == []
    assert [line.split()[1] for line in report["faults"]] == ["worker-1", "worker-2", "worker-2"]
    assert report["restarts"]["worker-1"] == 1  # the kill, and nothing else crashed
    assert {n: r for n, r in report["restarts"].items() if n != "worker-1" and r} == {}
    assert report["pairs"] >= 1_000 and len(report["channels"]) == len(CHANNELS)
    # every pair's request was decided, and nothing was lost, leaked or doubled
    assert verdict.leaks == []
    assert verdict.lost == []
    assert verdict.mismatches == []
    assert verdict.decided_twice == []
    assert verdict.delivered_twice == []
    assert verdict.controls_suppressed == []
    assert verdict.suppressed >= SHORT.pairs and verdict.forwarded > 0
    assert verdict.dead_lettered > 0  # the hostile records went somewhere visible
    assert not verdict.failed
