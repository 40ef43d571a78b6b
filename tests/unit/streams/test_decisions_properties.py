"""Property tests of the decision rules against an independent, naive reference model.

The module keeps a join-semilattice so that arrival order never matters; the reference model
below does the opposite, obviously-correct thing: sort everything that happened by event time
and replay it step by step, exactly as a person would read the contact's history.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.events import EVENT_TYPES, ConsentEvent
from schemas.purposes import MARKETING_PURPOSES, Purpose
from streams.decisions import EMPTY, ContactState, apply_event, decide
from streams.optout import Detection, Outcome
from streams.policy import Policy

MARKETING = [p.value for p in MARKETING_PURPOSES]
RELATIONSHIP_SOURCES = ["purchase.completed", "support.message_received", "newsletter.confirmed"]
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Few instants, so that ties are common; each may be written with another UTC offset.
INSTANTS = [BASE + timedelta(minutes=m) for m in (0, 1, 2, 3)]
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]


def fake_detect(text: str) -> Detection | None:
    if (at := text.find("STOP")) < 0:
        return None
    return Detection(Outcome.OPT_OUT, "en.test", "en", (at, at + 4))


def make_policy(regimes: dict[str, str], confirmation: str) -> Policy:
    purposes: dict[str, Any] = {p: {"regime": r} for p, r in regimes.items()}
    purposes["newsletter"]["confirmation"] = confirmation
    purposes["transactional"] = {"transactional": True}
    return Policy.model_validate({
        "version": "test",
        "relationship": {"sources": RELATIONSHIP_SOURCES},
        "purposes": purposes,
    })


# --- generated histories ---------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One consent event, in plain terms the reference model reads."""

    kind: str  # purchase / support / signup / confirmed / unsubscribed / preference / erasure
    instant: int
    zone: int
    event_id: str
    opt_out: bool = False  # purchase
    intent: str | None = None  # support
    stop_text: bool = False  # support
    scope: str = "newsletter"  # unsubscribed
    changes: tuple[tuple[str, str], ...] = ()  # preference
    all: str | None = None  # preference

    @property
    def at(self) -> datetime:
        return INSTANTS[self.instant]

    def to_event(self) -> ConsentEvent:
        data: dict[str, Any] = {"email": "jane.doe@example.com"}
        event_type = {
            "purchase": "purchase.completed",
            "support": "support.message_received",
            "signup": "newsletter.signup",
            "confirmed": "newsletter.confirmed",
            "unsubscribed": "newsletter.unsubscribed",
            "preference": "preference.changed",
            "erasure": "contact.erasure_requested",
        }[self.kind]
        if self.kind == "purchase":
            data.update(order_id="o-1", name="Jane Doe", marketing_opt_out=self.opt_out)
        elif self.kind == "support":
            data.update(ticket_id="t-1", channel="chat", intent=self.intent,
                        text="STOP the mails" if self.stop_text else "licence question")
        elif self.kind == "unsubscribed":
            data.update(scope=self.scope)
        elif self.kind == "preference":
            data.update(changes=dict(self.changes))
            if self.all is not None:
                data["all"] = self.all
        elif self.kind == "erasure":
            data.update(request_ref="dsr-1")
        return EVENT_TYPES[event_type].model_validate({  # type: ignore[return-value]
            "event_id": self.event_id,
            "type": event_type,
            "schema_version": "1.0",
            "occurred_at": self.at.astimezone(ZONES[self.zone]).isoformat(),
            "source": "property-test",
            "data": data,
        })


choice = st.sampled_from(["granted", "withdrawn"])
_common = {
    "instant": st.integers(0, len(INSTANTS) - 1),
    "zone": st.integers(0, len(ZONES) - 1),
    "event_id": st.uuids().map(str),
}


def _meaningful(spec: Spec) -> Spec:
    # preference.changed needs `changes` or `all`; an empty one means "withdraw all" here.
    if spec.kind == "preference" and not spec.changes and spec.all is None:
        return replace(spec, all="withdrawn")
    return spec


spec_strategy = st.one_of(
    st.builds(Spec, kind=st.just("purchase"), opt_out=st.booleans(), **_common),
    st.builds(Spec, kind=st.just("support"), intent=st.sampled_from([None, "opt_out", "opt_in"]),
              stop_text=st.booleans(), **_common),
    st.builds(Spec, kind=st.just("signup"), **_common),
    st.builds(Spec, kind=st.just("confirmed"), **_common),
    st.builds(Spec, kind=st.just("unsubscribed"),
              scope=st.sampled_from(["newsletter", "all"]), **_common),
    st.builds(Spec, kind=st.just("preference"),
              changes=st.dictionaries(st.sampled_from(MARKETING), choice, max_size=3).map(
                  lambda d: tuple(sorted(d.items()))),
              all=st.none() | choice, **_common).map(_meaningful),
    st.builds(Spec, kind=st.just("erasure"), **_common),
)
histories = st.lists(spec_strategy, max_size=8, unique_by=lambda s: s.event_id)

policies = st.builds(
    make_policy,
    st.fixed_dictionaries({p: st.sampled_from(["opt_out", "opt_in"]) for p in MARKETING}),
    st.sampled_from(["single", "double"]),
)


def replay(events: list[ConsentEvent], policy: Policy) -> ContactState:
    state = EMPTY
    for event in events:
        state = apply_event(state, event, policy, fake_detect).state
    return state


def verdicts(state: ContactState, policy: Policy) -> dict[str, tuple[bool, str | None, bool]]:
    out = {}
    for purpose in Purpose:
        v = decide(state, purpose, policy)
        out[purpose.value] = (v.allowed, v.reason, v.detected)
    return out


# --- the reference model ---------------------------------------------------------------------

GRANT, WITHDRAW, ERASE = 0, 1, 2  # order of replay at one instant: the stronger action last


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: int  # GRANT / WITHDRAW / ERASE
    event_id: str
    scope: str  # a marketing purpose, "all", or "erasure"
    detected: bool = False

    def order(self) -> tuple[datetime, int, str, int]:
        # Same time: grant, then withdrawal, then erasure (err towards not mailing); then the
        # larger event id last; within one event, "all" after the single purposes.
        return (self.at, self.kind, self.event_id, 1 if self.scope == "all" else 0)


def steps_of(spec: Spec, policy: Policy) -> list[Step]:
    def step(kind: int, scope: str, detected: bool = False) -> Step:
        return Step(spec.at, kind, spec.event_id, scope, detected)

    if spec.kind == "purchase":
        return [step(WITHDRAW, "all")] if spec.opt_out else []
    if spec.kind == "support":
        if spec.intent == "opt_out":
            return [step(WITHDRAW, "all")]
        if spec.intent == "opt_in":
            return [step(GRANT, "all")]
        return [step(WITHDRAW, "all", detected=True)] if spec.stop_text else []
    if spec.kind == "signup":
        return [] if policy.double_opt_in else [step(GRANT, "newsletter")]
    if spec.kind == "confirmed":
        return [step(GRANT, "newsletter")]
    if spec.kind == "unsubscribed":
        return [step(WITHDRAW, spec.scope)]
    if spec.kind == "preference":
        out = [step(GRANT if c == "granted" else WITHDRAW, p) for p, c in spec.changes]
        if spec.all is not None:
            out.append(step(GRANT if spec.all == "granted" else WITHDRAW, "all"))
        return out
    assert spec.kind == "erasure"
    return [step(ERASE, "erasure")]


def reference(history: list[Spec], policy: Policy) -> dict[str, tuple[bool, str | None, bool]]:
    """Replay the history in event-time order and read off each purpose's verdict."""
    # Facts that do not depend on order.
    known = any(
        s.kind in ("purchase", "support", "confirmed")
        or (s.kind == "signup" and not policy.double_opt_in)
        or s.intent == "opt_in" or s.all == "granted" or ("granted" in dict(s.changes).values())
        for s in history
    )  # gave their details: a relationship source, or any explicit grant
    pending_signup = policy.double_opt_in and any(s.kind == "signup" for s in history)

    # Replay explicit actions and erasures in order.
    last: dict[str, Step] = {}  # purpose -> the last explicit action that spoke about it
    erased: set[str] = set()  # purposes (and "transactional") an erasure currently covers
    for st_ in sorted((x for s in history for x in steps_of(s, policy)), key=Step.order):
        targets = MARKETING if st_.scope == "all" else [st_.scope]
        if st_.kind == ERASE:
            erased = {*MARKETING, "transactional"}
            continue
        for purpose in targets:
            last[purpose] = st_
        if st_.kind == GRANT:
            # "Erasure suppresses everything, transactional included, until a later explicit
            # grant": the grant ends the erasure for what it grants, and the contact is back.
            erased -= {*targets, "transactional"}

    out: dict[str, tuple[bool, str | None, bool]] = {}
    for purpose in Purpose:
        p = purpose.value
        if p == "transactional":
            if p in erased:
                out[p] = (False, "erased", False)
            elif not known:
                out[p] = (False, "no_relationship", False)
            else:
                out[p] = (True, None, False)
            continue
        action = last.get(p)
        if p in erased:
            out[p] = (False, "erased", False)
        elif action is not None and action.kind == WITHDRAW:
            reason = "opted_out" if action.scope == "all" else "purpose_withdrawn"
            out[p] = (False, reason, action.detected)
        elif action is not None:
            out[p] = (True, None, False)
        elif policy.rule(purpose).regime == "opt_out" and known:
            out[p] = (True, None, False)
        elif p == "newsletter" and pending_signup:
            out[p] = (False, "unconfirmed", False)
        elif not known:
            out[p] = (False, "no_relationship", False)
        else:
            out[p] = (False, "not_opted_in", False)
    return out


# --- properties ------------------------------------------------------------------------------

SEED_POLICY = make_policy({p: "opt_out" for p in MARKETING}, "double")


def _id(n: int) -> str:
    return str(uuid.UUID(int=n))


# Known hard cases, always run before the generated ones: the contact is erased, comes back
# with an explicit grant, then withdraws what they granted (later, or at the same instant).
REGRANT_THEN_WITHDRAW = [
    Spec("purchase", 0, 0, _id(1)),
    Spec("erasure", 0, 0, _id(2)),
    Spec("preference", 1, 0, _id(3), changes=(("newsletter", "granted"),)),
    Spec("preference", 2, 1, _id(4), changes=(("newsletter", "withdrawn"),)),
]
REGRANT_AND_OPT_OUT_AT_ONCE = [
    Spec("erasure", 0, 0, _id(1)),
    Spec("support", 1, 0, _id(2), intent="opt_in"),
    Spec("purchase", 1, 2, _id(3), opt_out=True),
]

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(history=histories, policy=policies, data=st.data())
def test_order_duplicates_and_replicas_do_not_matter(
    history: list[Spec], policy: Policy, data: st.DataObject
) -> None:
    events = [s.to_event() for s in history]
    state = replay(events, policy)

    # Any arrival order, with redeliveries, gives the same state and verdicts.
    shuffled = data.draw(st.permutations(events), label="arrival order")
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=4) if events else st.just([]),
                        label="redelivered")
    again = replay(shuffled + repeats, policy)
    assert again == state
    assert verdicts(again, policy) == verdicts(state, policy)

    # Two replicas that each saw part of the history agree once their states are merged.
    cut = data.draw(st.integers(0, len(events)), label="split")
    left, right = replay(shuffled[:cut], policy), replay(shuffled[cut:], policy)
    assert left.merge(right) == right.merge(left) == state

    # The changelog (to_dict / from_dict) restores the same state.
    assert ContactState.from_dict(state.to_dict()) == state


@SETTINGS
@given(history=histories, policy=policies)
@example(history=REGRANT_THEN_WITHDRAW, policy=SEED_POLICY)
@example(history=REGRANT_AND_OPT_OUT_AT_ONCE, policy=SEED_POLICY)
def test_module_agrees_with_the_reference_model(history: list[Spec], policy: Policy) -> None:
    state = replay([s.to_event() for s in history], policy)
    assert verdicts(state, policy) == reference(history, policy)


def withdraws(spec: Spec) -> bool:
    return (
        spec.kind == "unsubscribed"
        or (spec.kind == "purchase" and spec.opt_out)
        or (spec.kind == "support" and (spec.intent == "opt_out"
                                        or (spec.intent is None and spec.stop_text)))
        or (spec.kind == "preference" and "withdrawn" in (spec.all, *dict(spec.changes).values()))
    )


@SETTINGS
@given(history=histories, policy=policies)
@example(history=REGRANT_THEN_WITHDRAW, policy=SEED_POLICY)
@example(history=REGRANT_AND_OPT_OUT_AT_ONCE, policy=SEED_POLICY)
def test_marketing_withdrawals_never_block_transactional_mail(
    history: list[Spec], policy: Policy
) -> None:
    # DESIGN.md: no marketing opt-out blocks transactional mail. So adding the events that
    # withdraw something to a history can never turn an allowed transactional mail into a
    # suppressed one.
    without = [s for s in history if not withdraws(s)]
    before = decide(replay([s.to_event() for s in without], policy), Purpose.TRANSACTIONAL, policy)
    after = decide(replay([s.to_event() for s in history], policy), Purpose.TRANSACTIONAL, policy)
    if before.allowed:
        assert after.allowed, f"a withdrawal blocked transactional mail: {after}"
