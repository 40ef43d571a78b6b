"""The chaos verdict's rules (ops.chaos.verdict.judge), each on the smallest outputs that
break it: the run's exit code rests on these, so each must be able to say "failed"."""

from collections import Counter

from ops.chaos.driver import OptOut, Record, Request
from ops.chaos.plan import SHORT, Plan
from ops.chaos.verdict import Outputs, judge

ALL = ("product_updates", "special_offers", "support_notices", "new_products", "newsletter")


def _record(*requests: Request) -> Record:
    rec = Record()
    for n, r in enumerate(requests):
        r.acked_at = 100.0
        rec.requests[r.request_id] = r
        rec.offsets[(0, n)] = r.request_id
    return rec


def _pair(rid: str = "r1", kind: str = "pair", forbidden: bool = True) -> Request:
    return Request(rid, "k1", "special_offers", kind, forbidden)


def _state(allowed: bool) -> dict[str, bool]:
    return dict.fromkeys(ALL, allowed)


def _clean(rec: Record, **kw: object) -> Outputs:
    out = Outputs(suppressed=[(rid, "opted_out", 101.5) for rid in rec.requests],
                  state={"k1": _state(False)},
                  current={("k1", p): "opted_out" for p in ALL})
    for k, v in kw.items():
        setattr(out, k, v)
    return out


OPT_OUT = [OptOut("k1", ALL, False, "preference-all", 99.0)]


def test_a_clean_run_is_all_zero_and_reports_the_wait():
    rec = _record(_pair())
    v = judge(rec, _clean(rec), OPT_OUT)
    assert not v.failed
    assert (v.requests, v.suppressed, v.forwarded) == (1, 1, 0)
    assert v.waits == [1.5]


def test_a_forwarded_pair_is_a_leak():
    rec = _record(_pair())
    v = judge(rec, _clean(rec, suppressed=[], outbox=[("r1", 101.0)]), OPT_OUT)
    assert v.failed and len(v.leaks) == 1 and v.decided_twice == []


def test_a_delivered_forbidden_mail_is_a_leak_counted_once():
    rec = _record(_pair())
    out = _clean(rec, suppressed=[], outbox=[("r1", 101.0)], delivered=Counter({"r1": 1}))
    assert len(judge(rec, out, OPT_OUT).leaks) == 1


def test_an_undecided_request_is_an_accounting_mismatch():
    rec = _record(_pair(), _pair("r2"))
    v = judge(rec, _clean(rec, suppressed=[("r1", "opted_out", 101.0)]), OPT_OUT)
    assert [m.split()[0] for m in v.mismatches] == ["r2"]


def test_a_hostile_record_is_accounted_for_by_its_dead_letter():
    rec = _record(_pair())
    rec.offsets[(3, 7)] = None
    assert judge(rec, _clean(rec), OPT_OUT).mismatches != []
    v = judge(rec, _clean(rec, dead=[(3, 7, 102.0)]), OPT_OUT)
    assert v.mismatches == [] and v.dead_lettered == 1


def test_two_decisions_or_a_decision_and_a_dead_letter_are_duplicates():
    rec = _record(_pair())
    twice = _clean(rec, suppressed=[("r1", "opted_out", 101.0), ("r1", "opted_out", 103.0)])
    assert len(judge(rec, twice, OPT_OUT).decided_twice) == 1
    both = _clean(rec, dead=[(0, 0, 102.0)])
    assert len(judge(rec, both, OPT_OUT).decided_twice) == 1


def test_a_mail_delivered_twice_is_reported():
    ctl = _pair("c1", "control", False)
    rec = _record(ctl)
    out = _clean(rec, suppressed=[], outbox=[("c1", 101.0)], delivered=Counter({"c1": 2}))
    v = judge(rec, out, OPT_OUT)
    assert len(v.delivered_twice) == 1 and v.leaks == []


def test_a_suppressed_control_fails_the_run():
    rec = _record(_pair("c1", "control", False))
    assert judge(rec, _clean(rec), OPT_OUT).controls_suppressed != []


def test_an_opt_out_missing_from_consent_state_or_postgres_is_lost():
    rec = _record(_pair())
    assert len(judge(rec, _clean(rec, state={}), OPT_OUT).lost) == 1
    assert len(judge(rec, _clean(rec, state={"k1": _state(True)}), OPT_OUT).lost) == 1
    still = {("k1", p): "allowed" for p in ALL}
    assert len(judge(rec, _clean(rec, current=still), OPT_OUT).lost) == 1
    assert len(judge(rec, _clean(rec, current={}), OPT_OUT).lost) == 1


def test_an_erasure_may_be_a_tombstone_and_shows_in_the_erasures_table():
    rec = _record(_pair())
    erased = [OptOut("k1", ALL, True, "erasure", 99.0)]
    out = _clean(rec, state={"k1": None}, current={}, erasures={"k1"})
    assert judge(rec, out, erased).lost == []
    # a tombstone where no erasure was asked for is a lost (or wrong) change
    assert judge(rec, _clean(rec, state={"k1": None}), OPT_OUT).lost != []


def test_a_purpose_opt_out_is_checked_on_that_purpose_only():
    rec = _record(_pair())
    one = [OptOut("k1", ("newsletter",), False, "newsletter-purpose", 99.0)]
    state = {**_state(True), "newsletter": False}
    current = {("k1", p): "allowed" for p in ALL} | {("k1", "newsletter"): "opted_out"}
    assert judge(rec, _clean(rec, state={"k1": state}, current=current), one).lost == []


def test_the_schedules_put_every_fault_inside_the_run_in_order():
    full = Plan().schedule()
    assert [f for _, f in full] == ["worker-kill", "worker-join", "broker-restart",
                                    "worker-leave", "postgres-pause", "mailer-kill"]
    assert all(0 < at < 1 for at, _ in full)
    assert SHORT.pairs >= 1_000
    assert [f for _, f in SHORT.schedule()] == ["worker-kill", "worker-join", "worker-leave"]
