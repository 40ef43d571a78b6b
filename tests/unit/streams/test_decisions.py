"""The consent decision rules, one named case per rule (streams/decisions.py, DESIGN.md)."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.events import (
    ConsentEvent,
    ErasureRequested,
    NewsletterConfirmed,
    NewsletterSignup,
    NewsletterUnsubscribed,
    PreferenceChanged,
    PurchaseCompleted,
    SupportMessageReceived,
)
from schemas.purposes import MARKETING_PURPOSES, Purpose
from streams.decisions import (
    EMPTY,
    ContactState,
    Effect,
    Verdict,
    apply_event,
    decide,
    effective,
)
from streams.optout import Detection, Outcome
from streams.policy import DEFAULT_POLICY, Policy, load_policy, parse_policy

# --- factories -------------------------------------------------------------------------------

EMAIL = "jane.doe@example.com"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEFAULT = load_policy()
_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
OPT_IN_PRODUCT_UPDATES = parse_policy(
    _TEXT.replace('[purposes.product_updates]\nregime = "opt_out"',
                  '[purposes.product_updates]\nregime = "opt_in"')
)
OPT_IN_NEWSLETTER = parse_policy(
    _TEXT.replace('[purposes.newsletter]\nregime = "opt_out"',
                  '[purposes.newsletter]\nregime = "opt_in"')
)
SINGLE_OPT_IN = parse_policy(_TEXT.replace('confirmation = "double"', 'confirmation = "single"'))
assert OPT_IN_PRODUCT_UPDATES.rule(Purpose.PRODUCT_UPDATES).regime == "opt_in"
assert OPT_IN_NEWSLETTER.rule(Purpose.NEWSLETTER).regime == "opt_in"
assert not SINGLE_OPT_IN.double_opt_in

MARKETING = [p.value for p in MARKETING_PURPOSES]
EVERY = [p.value for p in Purpose]


def fake_detect(text: str) -> Detection | None:
    """Deterministic stand-in for the text detector: only the word STOP opts out."""
    if (at := text.find("STOP")) < 0:
        return None
    return Detection(Outcome.OPT_OUT, "en.test", "en", (at, at + 4))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _event(model: type, event_type: str, data: dict[str, Any], t: int, eid: str | None,
           source: str = "unit-test") -> Any:
    return model.model_validate({
        "event_id": eid or str(uuid.uuid4()),
        "type": event_type,
        "schema_version": "1.0",
        "occurred_at": at(t).isoformat(),
        "source": source,
        "data": {"email": EMAIL, **data},
    })


def purchase(t: int = 0, *, opt_out: bool = False, eid: str | None = None) -> PurchaseCompleted:
    data = {"order_id": f"o-{t}", "name": "Jane Doe", "marketing_opt_out": opt_out}
    return _event(PurchaseCompleted, "purchase.completed", data, t, eid, "shop")


def support(t: int = 0, *, intent: str | None = None, text: str = "Where is my licence key?",
            eid: str | None = None) -> SupportMessageReceived:
    data = {"ticket_id": f"t-{t}", "channel": "email", "text": text, "intent": intent}
    return _event(SupportMessageReceived, "support.message_received", data, t, eid, "desk")


def signup(t: int = 0, *, eid: str | None = None) -> NewsletterSignup:
    return _event(NewsletterSignup, "newsletter.signup", {"confirmation_token": "c"}, t, eid)


def confirmed(t: int = 0, *, eid: str | None = None) -> NewsletterConfirmed:
    return _event(NewsletterConfirmed, "newsletter.confirmed", {"confirmation_token": "c"}, t, eid)


def unsubscribed(t: int = 0, *, scope: str = "newsletter",
                 eid: str | None = None) -> NewsletterUnsubscribed:
    return _event(NewsletterUnsubscribed, "newsletter.unsubscribed", {"scope": scope}, t, eid)


def preference(t: int = 0, *, changes: dict[str, str] | None = None, all: str | None = None,
               eid: str | None = None) -> PreferenceChanged:
    data: dict[str, Any] = {"changes": changes or {}}
    if all is not None:
        data["all"] = all
    return _event(PreferenceChanged, "preference.changed", data, t, eid, "preference-centre")


def erasure(t: int = 0, *, eid: str | None = None) -> ErasureRequested:
    return _event(ErasureRequested, "contact.erasure_requested", {"request_ref": "dsr-1"}, t, eid)


def replay(events: Iterable[ConsentEvent], policy: Policy = DEFAULT,
           state: ContactState = EMPTY) -> ContactState:
    for event in events:
        state = apply_event(state, event, policy, fake_detect).state
    return state


def expect(default: str = "allowed", *, transactional: str | None = None,
           **purposes: str) -> dict[str, str]:
    out = {p: default for p in MARKETING}
    out["transactional"] = transactional or ("allowed" if default != "no_relationship"
                                             else "no_relationship")
    out.update(purposes)
    return out


# --- the table -------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    events: list[ConsentEvent]
    expected: dict[str, str]
    policy: Policy = DEFAULT
    note: str = field(default="")


CASES = [
    Case("never-seen-fails-closed", [], expect("no_relationship")),
    Case("purchase-allows-every-purpose", [purchase(0)], expect("allowed")),
    Case("purchase-with-marketing-opt-out", [purchase(0, opt_out=True)],
         expect("opted_out", transactional="allowed")),
    Case("support-contact-is-a-relationship", [support(0)], expect("allowed")),
    Case("support-intent-opt-out", [purchase(0), support(1, intent="opt_out")],
         expect("opted_out", transactional="allowed")),
    Case("support-intent-opt-out-alone", [support(0, intent="opt_out")],
         expect("opted_out", transactional="allowed")),
    Case("support-text-detected", [purchase(0), support(1, text="STOP sending me offers")],
         expect("opted_out", transactional="allowed")),
    Case("support-text-not-detected", [support(0, text="My key does not work")], expect()),
    Case("support-intent-opt-in-beats-text",
         [support(0, intent="opt_in", text="STOP? no, keep me on the list")], expect()),
    Case("support-intent-opt-in-regrants-after-opt-out",
         [purchase(0, opt_out=True), support(1, intent="opt_in")], expect()),
    Case("preference-withdraws-one-purpose",
         [purchase(0), preference(1, changes={"special_offers": "withdrawn"})],
         expect(special_offers="purpose_withdrawn")),
    Case("withdrawal-sticky-against-purchase-and-support",
         [purchase(0), preference(1, changes={"special_offers": "withdrawn"}),
          purchase(2), support(3), support(4, intent=None, text="thanks!")],
         expect(special_offers="purpose_withdrawn")),
    Case("opt-out-sticky-against-new-purchase",
         [purchase(0, opt_out=True), purchase(5), support(6)],
         expect("opted_out", transactional="allowed")),
    Case("explicit-preference-grant-regrants",
         [purchase(0), preference(1, changes={"special_offers": "withdrawn"}),
          preference(2, changes={"special_offers": "granted"})], expect()),
    Case("newsletter-confirmation-regrants-newsletter",
         [purchase(0), unsubscribed(1, scope="newsletter"), signup(2), confirmed(3)], expect()),
    Case("newsletter-signup-alone-does-not-regrant",
         [purchase(0), unsubscribed(1, scope="newsletter"), signup(2)],
         expect(newsletter="purpose_withdrawn")),
    Case("late-grant-does-not-regrant",
         [purchase(0), preference(10, changes={"special_offers": "withdrawn"}),
          preference(5, changes={"special_offers": "granted"})],
         expect(special_offers="purpose_withdrawn")),
    Case("equal-time-withdrawal-beats-grant",
         [purchase(0), preference(5, changes={"new_products": "withdrawn"}),
          preference(5, changes={"new_products": "granted"})],
         expect(new_products="purpose_withdrawn")),
    Case("equal-time-withdrawal-beats-grant-other-order",
         [purchase(0), preference(5, changes={"new_products": "granted"}),
          preference(5, changes={"new_products": "withdrawn"})],
         expect(new_products="purpose_withdrawn")),
    Case("all-withdrawn-then-one-purpose-granted",
         [purchase(0), preference(1, all="withdrawn"),
          preference(2, changes={"product_updates": "granted"})],
         expect("opted_out", product_updates="allowed", transactional="allowed")),
    Case("purpose-granted-then-all-withdrawn",
         [purchase(0), preference(1, changes={"product_updates": "granted"}),
          preference(2, all="withdrawn")],
         expect("opted_out", transactional="allowed")),
    Case("all-withdrawn-and-one-granted-in-the-same-event",
         [purchase(0), preference(1, all="withdrawn", changes={"product_updates": "granted"})],
         expect("opted_out", transactional="allowed")),
    Case("double-opt-in-signup-unconfirmed",
         [signup(0)], expect("no_relationship", newsletter="unconfirmed")),
    Case("double-opt-in-signup-confirmed", [signup(0), confirmed(1)], expect()),
    Case("single-opt-in-signup-grants", [signup(0)], expect(), policy=SINGLE_OPT_IN),
    Case("unsubscribe-scope-newsletter",
         [purchase(0), unsubscribed(1, scope="newsletter")],
         expect(newsletter="purpose_withdrawn")),
    Case("unsubscribe-scope-all",
         [purchase(0), unsubscribed(1, scope="all")],
         expect("opted_out", transactional="allowed")),
    Case("erasure-suppresses-everything",
         [purchase(0), support(1), erasure(2)], expect("erased", transactional="erased")),
    Case("erasure-of-a-stranger", [erasure(0)], expect("erased", transactional="erased")),
    Case("purchase-after-erasure-does-not-lift-it",
         [purchase(0), erasure(1), purchase(2)], expect("erased", transactional="erased")),
    Case("later-grant-lifts-erasure-for-that-purpose-only",
         [purchase(0), erasure(1), preference(2, changes={"newsletter": "granted"})],
         expect("erased", newsletter="allowed", transactional="allowed"),
         note="any later explicit grant re-establishes the contact, so transactional mail "
              "(licence, invoices) is possible again; other marketing purposes stay erased"),
    Case("later-confirmation-lifts-erasure-for-newsletter",
         [purchase(0), erasure(1), signup(2), confirmed(3)],
         expect("erased", newsletter="allowed", transactional="allowed")),
    Case("later-grant-all-lifts-erasure-for-marketing",
         [purchase(0), erasure(1), preference(2, all="granted")], expect()),
    Case("older-grant-does-not-lift-erasure",
         [purchase(0), erasure(5), preference(2, changes={"newsletter": "granted"})],
         expect("erased", transactional="erased")),
    Case("grant-at-erasure-time-does-not-lift-it",
         [purchase(0), erasure(5), preference(5, changes={"newsletter": "granted"})],
         expect("erased", transactional="erased")),
    Case("withdrawal-after-a-grant-that-lifted-erasure",
         [purchase(0), erasure(1), preference(2, changes={"newsletter": "granted"}),
          preference(3, changes={"newsletter": "withdrawn"})],
         expect("erased", newsletter="purpose_withdrawn", transactional="allowed"),
         note="the grant at t=2 ended the erasure for newsletter; t=3 withdraws it again"),
    Case("opt-in-regime-purchase-alone-is-not-enough",
         [purchase(0)], expect(product_updates="not_opted_in"), policy=OPT_IN_PRODUCT_UPDATES),
    Case("opt-in-regime-explicit-grant",
         [purchase(0), preference(1, changes={"product_updates": "granted"})], expect(),
         policy=OPT_IN_PRODUCT_UPDATES),
    Case("opt-in-regime-grant-all", [purchase(0), preference(1, all="granted")], expect(),
         policy=OPT_IN_PRODUCT_UPDATES),
    Case("opt-in-regime-stranger", [], expect("no_relationship"), policy=OPT_IN_PRODUCT_UPDATES),
    Case("opt-in-newsletter-needs-confirmation",
         [purchase(0), signup(1)], expect(newsletter="unconfirmed"), policy=OPT_IN_NEWSLETTER),
    Case("opt-in-newsletter-confirmed",
         [purchase(0), signup(1), confirmed(2)], expect(), policy=OPT_IN_NEWSLETTER),
    Case("opt-in-newsletter-purchase-only",
         [purchase(0)], expect(newsletter="not_opted_in"), policy=OPT_IN_NEWSLETTER),
    Case("withdrawal-without-relationship",
         [preference(0, changes={"special_offers": "withdrawn"})],
         expect("no_relationship", special_offers="purpose_withdrawn")),
    Case("grant-without-other-relationship",
         [preference(0, changes={"special_offers": "granted"})], expect(),
         note="an explicit grant is a relationship in itself"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case) -> None:
    state = replay(case.events, case.policy)
    assert effective(state, case.policy) == case.expected
    assert set(case.expected) == set(EVERY)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_does_not_depend_on_arrival_order(case: Case) -> None:
    forward = replay(case.events, case.policy)
    backward = replay(reversed(case.events), case.policy)
    assert backward == forward
    assert effective(backward, case.policy) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_duplicate_events_change_nothing(case: Case) -> None:
    once = replay(case.events, case.policy)
    twice = replay([e for e in case.events for _ in range(2)], case.policy)
    again = replay(case.events, case.policy, state=once)
    assert twice == once
    assert again == once


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_state_survives_the_changelog_round_trip(case: Case) -> None:
    state = replay(case.events, case.policy)
    stored = json.loads(json.dumps(state.to_dict()))
    assert ContactState.from_dict(stored) == state
    assert effective(ContactState.from_dict(stored), case.policy) == case.expected


# --- verdict details: rule and `detected` ----------------------------------------------------


def test_text_detected_opt_out_is_marked_for_review() -> None:
    state = replay([purchase(0), support(1, text="STOP please")])
    verdict = decide(state, Purpose.SPECIAL_OFFERS, DEFAULT)
    assert verdict == Verdict(False, "opted_out", "support.text_opt_out", detected=True)
    assert decide(state, Purpose.TRANSACTIONAL, DEFAULT).allowed


def test_structured_opt_out_is_not_marked_detected() -> None:
    state = replay([purchase(0), support(1, intent="opt_out", text="STOP")])
    verdict = decide(state, Purpose.NEWSLETTER, DEFAULT)
    assert verdict == Verdict(False, "opted_out", "support.intent_opt_out", detected=False)


def test_intent_opt_in_beats_detected_text() -> None:
    state = replay([purchase(0), support(1, intent="opt_in", text="STOP")])
    verdict = decide(state, Purpose.NEWSLETTER, DEFAULT)
    assert verdict == Verdict(True, None, "support.intent_opt_in", detected=False)


def test_detector_is_only_asked_about_support_text() -> None:
    seen: list[str] = []

    def spy(text: str) -> None:
        seen.append(text)

    for event in [purchase(0), signup(1), preference(2, all="granted"),
                  support(3, intent="opt_out", text="a"), support(4, text="b")]:
        apply_event(EMPTY, event, DEFAULT, spy)
    assert seen == ["b"]


def test_default_detector_reads_real_support_text() -> None:
    event = support(1, text="Please unsubscribe me from all your emails.")
    state = apply_event(replay([purchase(0)]), event, DEFAULT).state
    verdict = decide(state, Purpose.SPECIAL_OFFERS, DEFAULT)
    assert (verdict.allowed, verdict.reason, verdict.detected) == (False, "opted_out", True)


@pytest.mark.parametrize(
    ("events", "purpose", "verdict"),
    [
        pytest.param([], Purpose.NEWSLETTER,
                     Verdict(False, "no_relationship", "fail_closed.unknown_contact"),
                     id="stranger"),
        pytest.param([purchase(0)], Purpose.NEWSLETTER,
                     Verdict(True, None, "opt_out_regime.relationship"), id="implicit"),
        pytest.param([purchase(0)], Purpose.TRANSACTIONAL,
                     Verdict(True, None, "transactional"), id="transactional"),
        pytest.param([purchase(0, opt_out=True)], Purpose.NEWSLETTER,
                     Verdict(False, "opted_out", "purchase.marketing_opt_out"), id="checkbox"),
        pytest.param([purchase(0), unsubscribed(1)], Purpose.NEWSLETTER,
                     Verdict(False, "purpose_withdrawn", "newsletter.unsubscribed_newsletter"),
                     id="unsubscribed"),
        pytest.param([purchase(0), unsubscribed(1, scope="all")], Purpose.PRODUCT_UPDATES,
                     Verdict(False, "opted_out", "newsletter.unsubscribed_all"),
                     id="unsubscribed-all"),
        pytest.param([purchase(0), preference(1, changes={"newsletter": "granted"})],
                     Purpose.NEWSLETTER, Verdict(True, None, "preference.purpose"),
                     id="granted"),
        pytest.param([signup(0)], Purpose.NEWSLETTER,
                     Verdict(False, "unconfirmed", "newsletter.signup_unconfirmed"),
                     id="unconfirmed"),
        pytest.param([purchase(0), erasure(1)], Purpose.TRANSACTIONAL,
                     Verdict(False, "erased", "erasure.requested"), id="erased"),
    ],
)
def test_verdict_names_the_rule(events: list[ConsentEvent], purpose: Purpose,
                                verdict: Verdict) -> None:
    assert decide(replay(events), purpose, DEFAULT) == verdict


def test_confirmation_grants_the_newsletter() -> None:
    verdict = decide(replay([signup(0), confirmed(1)]), Purpose.NEWSLETTER, DEFAULT)
    assert (verdict.allowed, verdict.reason) == (True, None)
    assert verdict.rule.startswith("newsletter.confirmed")


def test_opt_in_verdict_rule() -> None:
    state = replay([purchase(0)], OPT_IN_PRODUCT_UPDATES)
    assert decide(state, Purpose.PRODUCT_UPDATES, OPT_IN_PRODUCT_UPDATES) == Verdict(
        False, "not_opted_in", "opt_in_regime.no_grant"
    )


def test_same_state_under_a_stricter_policy() -> None:
    # The state holds facts, the policy interprets them: switching policy needs no replay.
    state = replay([purchase(0)])
    assert effective(state, DEFAULT)["product_updates"] == "allowed"
    assert effective(state, OPT_IN_PRODUCT_UPDATES)["product_updates"] == "not_opted_in"


def test_detected_withdrawal_after_regrant_following_erasure_keeps_its_review_mark() -> None:
    state = replay([purchase(0), erasure(1), preference(2, all="granted"),
                    support(3, text="STOP")])
    verdict = decide(state, Purpose.SPECIAL_OFFERS, DEFAULT)
    assert verdict == Verdict(False, "opted_out", "support.text_opt_out", detected=True)


# --- effects: the ledger lines of one event --------------------------------------------------


def _effects(applied: Any) -> list[tuple[str, str, str, bool]]:
    return [(e.scope, e.action, e.rule, ok) for e, ok in applied.effects]


def test_purchase_effects() -> None:
    assert _effects(apply_event(EMPTY, purchase(0), DEFAULT, fake_detect)) == [
        ("relationship", "relationship", "purchase.completed.relationship", True),
    ]
    assert _effects(apply_event(EMPTY, purchase(0, opt_out=True), DEFAULT, fake_detect)) == [
        ("relationship", "relationship", "purchase.completed.relationship", True),
        ("all", "withdrawn", "purchase.marketing_opt_out", True),
    ]


def test_detected_effect_carries_rule_evidence_and_no_text() -> None:
    applied = apply_event(EMPTY, support(0, text="STOP it, Jane Doe here"), DEFAULT, fake_detect)
    withdrawn = [e for e, _ in applied.effects if e.action == "withdrawn"]
    assert len(withdrawn) == 1
    effect = withdrawn[0]
    assert effect == Effect("all", "withdrawn", "support.text_opt_out",
                            {"text_rule": "en.test", "language": "en", "span": "0-4",
                             "ticket_id": "t-0", "outcome": "opt_out"},
                            detected=True)
    assert "Jane" not in json.dumps(effect.evidence)


def test_late_grant_is_reported_not_applied() -> None:
    state = replay([purchase(0), preference(10, changes={"special_offers": "withdrawn"})])
    applied = apply_event(state, preference(5, changes={"special_offers": "granted"}), DEFAULT,
                          fake_detect)
    assert _effects(applied) == [("special_offers", "granted", "preference.purpose", False)]
    assert effective(applied.state, DEFAULT)["special_offers"] == "purpose_withdrawn"


def test_newer_grant_is_reported_applied() -> None:
    state = replay([purchase(0), preference(10, changes={"special_offers": "withdrawn"})])
    applied = apply_event(state, preference(15, changes={"special_offers": "granted"}), DEFAULT,
                          fake_detect)
    assert _effects(applied) == [("special_offers", "granted", "preference.purpose", True)]


def test_equal_time_grant_loses_and_is_reported_not_applied() -> None:
    state = replay([purchase(0), preference(5, all="withdrawn")])
    applied = apply_event(state, preference(5, all="granted"), DEFAULT, fake_detect)
    assert _effects(applied) == [("all", "granted", "preference.all", False)]


def test_duplicate_event_reports_the_same_effects() -> None:
    event = preference(3, all="withdrawn", changes={"newsletter": "granted"})
    first = apply_event(replay([purchase(0)]), event, DEFAULT, fake_detect)
    second = apply_event(first.state, event, DEFAULT, fake_detect)
    assert second.state == first.state
    assert _effects(second) == _effects(first)


def test_signup_effects_follow_the_confirmation_setting() -> None:
    assert _effects(apply_event(EMPTY, signup(0), DEFAULT, fake_detect)) == [
        ("newsletter", "pending", "newsletter.signup_unconfirmed", True),
    ]
    assert _effects(apply_event(EMPTY, signup(0), SINGLE_OPT_IN, fake_detect)) == [
        ("relationship", "relationship", "newsletter.signup.relationship", True),
        ("newsletter", "granted", "newsletter.signup_single_opt_in", True),
    ]


def test_erasure_effect() -> None:
    applied = apply_event(replay([purchase(0)]), erasure(1), DEFAULT, fake_detect)
    assert [(e.scope, e.action, e.evidence, ok) for e, ok in applied.effects] == [
        ("erasure", "erased", {"request_ref": "dsr-1"}, True),
    ]


def test_state_holds_no_personal_data() -> None:
    state = replay([purchase(0), support(1, text="STOP, call Jane Doe on +44 20 7946 0958"),
                    erasure(2), preference(3, changes={"newsletter": "granted"})])
    stored = json.dumps(state.to_dict())
    for secret in (EMAIL, "jane", "Jane", "7946"):
        assert secret not in stored


def test_empty_state_from_nothing() -> None:
    assert ContactState.from_dict(None) == EMPTY
    assert ContactState.from_dict({}) == EMPTY
    assert effective(EMPTY, DEFAULT) == expect("no_relationship")


def test_merge_is_commutative_associative_and_idempotent() -> None:
    a = replay([purchase(0), preference(2, changes={"newsletter": "withdrawn"})])
    b = replay([support(1, intent="opt_out"), erasure(3)])
    c = replay([preference(4, changes={"newsletter": "granted"}), signup(5)])
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(a) == a
    assert a.merge(EMPTY) == a == EMPTY.merge(a)


def disclosure(t: int = 0) -> Any:
    from schemas.events import DisclosureRecorded

    return DisclosureRecorded.model_validate({
        "event_id": str(uuid.uuid4()), "type": "contact.disclosure_recorded",
        "schema_version": "1.0", "occurred_at": at(t).isoformat(), "source": "consent-disclose",
        "data": {"contact_key": "ab" * 32, "legal_basis": "Art. 6(1)(c) GDPR, court order",
                 "case_ref": "C-1", "authority": "District court", "principal": "dpo",
                 "categories": ["profile", "history"], "operator": "dana",
                 "export_sha256": "0" * 64}})


def test_a_disclosure_changes_no_consent_and_leaves_one_ledger_line() -> None:
    before = replay([purchase(0), preference(1, changes={"newsletter": "withdrawn"})])
    event = disclosure(2)
    result = apply_event(before, event, DEFAULT, fake_detect)
    assert result.state == before
    [(effect, applied)] = result.effects
    assert applied and (effect.scope, effect.action) == ("disclosure", "disclosed")
    assert effect.rule == "dpo.legal_disclosure"
    assert effect.evidence == {
        "legal_basis": "Art. 6(1)(c) GDPR, court order", "case_ref": "C-1",
        "authority": "District court", "categories": "profile,history", "principal": "dpo",
        "operator": "dana", "export_sha256": "0" * 64}
    # of a stranger, too: it creates no relationship
    assert effective(apply_event(EMPTY, event, DEFAULT).state, DEFAULT) == expect(
        "no_relationship")
