"""Consent decision rules: pure functions from (state, event) to (state, ledger lines).

Why the state is a join-semilattice: Kafka redelivers after crashes and gives no order across
topics, and producers' clocks disagree with arrival order. Every field below only ever moves
"up" (a later event time, or at equal times the stronger action), so applying events is
commutative, associative and idempotent: duplicates and late arrivals need no special path, and
any replay of the same events gives the same state.

Rules (README, "Consent semantics"):
- An explicit action (grant or withdrawal) per scope: the newest by event time wins; at equal
  times a withdrawal beats a grant (err towards not mailing); then the larger event id.
- Scope `all` (do not contact) competes with each purpose's own mark: the newer one decides.
- Implicit events (purchase, support contact) only establish a relationship; they never
  re-grant a withdrawn purpose: withdrawal is sticky until an explicit grant.
- Erasure suppresses everything, transactional included, until a later explicit grant.
- A contact never seen is `no_relationship` (fail closed).
- A legal disclosure (`contact.disclosure_recorded`) changes nothing: it is one ledger line,
  the proof of who disclosed what, when, to whom and why.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from schemas.events import (
    ConsentEvent,
    DisclosureRecorded,
    ErasureRequested,
    NewsletterConfirmed,
    NewsletterSignup,
    NewsletterUnsubscribed,
    PreferenceChanged,
    PurchaseCompleted,
    SupportMessageReceived,
)
from schemas.purposes import Purpose
from streams.optout import Detection, Outcome
from streams.optout import detect as detect_text
from streams.policy import Policy

Action = Literal["granted", "withdrawn"]


def token_hash(token: str) -> str:
    """Confirmation tokens are secrets of the newsletter service: keep only a short hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
ALL = "all"


@dataclass(frozen=True, slots=True)
class Mark:
    """The explicit action currently deciding one scope, with its proof."""

    action: Action
    at: datetime
    event_id: str
    rule: str
    source: str
    detected: bool = False

    def rank(self) -> tuple[datetime, int, str]:
        return (self.at, 1 if self.action == "withdrawn" else 0, self.event_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "at": self.at.isoformat(),
            "event_id": self.event_id,
            "rule": self.rule,
            "source": self.source,
            "detected": self.detected,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Mark":
        return cls(
            action=d["action"],
            at=datetime.fromisoformat(d["at"]),
            event_id=d["event_id"],
            rule=d["rule"],
            source=d["source"],
            detected=bool(d.get("detected", False)),
        )


def _newer(a: Mark | None, b: Mark | None) -> Mark | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if b.rank() > a.rank() else a


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _parse(t: str | None) -> datetime | None:
    return None if t is None else datetime.fromisoformat(t)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(frozen=True, slots=True)
class ContactState:
    """Everything the pipeline keeps per contact. Deliberately free of personal data."""

    marks: dict[str, Mark] = field(default_factory=dict)  # purpose value or "all" -> Mark
    # newest explicit grant per scope, kept apart from `marks`: a grant that lifted an erasure
    # must stay known after a later withdrawal of the same scope replaced its mark
    grants: dict[str, datetime] = field(default_factory=dict)
    relationship_at: datetime | None = None
    pending_at: datetime | None = None  # newsletter signup awaiting confirmation
    erased_at: datetime | None = None
    # double opt-in: hashes of signup tokens, and confirmations by token hash; a confirmation
    # counts once its token matches a signup, in whichever order the two arrive
    signup_tokens: frozenset[str] = frozenset()
    confirmations: dict[str, Mark] = field(default_factory=dict)

    def merge(self, other: "ContactState") -> "ContactState":
        keys = self.marks.keys() | other.marks.keys()
        marks = {k: m for k in keys if (m := _newer(self.marks.get(k), other.marks.get(k)))}
        grants = {k: t for k in self.grants.keys() | other.grants.keys()
                  if (t := _later(self.grants.get(k), other.grants.get(k)))}
        return ContactState(
            marks=marks,
            grants=grants,
            relationship_at=_later(self.relationship_at, other.relationship_at),
            pending_at=_later(self.pending_at, other.pending_at),
            erased_at=_later(self.erased_at, other.erased_at),
            signup_tokens=self.signup_tokens | other.signup_tokens,
            confirmations={
                k: m for k in self.confirmations.keys() | other.confirmations.keys()
                if (m := _newer(self.confirmations.get(k), other.confirmations.get(k)))},
        )

    def resolved(self) -> "ContactState":
        """The state with matched newsletter confirmations counted as explicit grants."""
        matched = [m for h, m in self.confirmations.items() if h in self.signup_tokens]
        if not matched:
            return self
        best = max(matched, key=Mark.rank)
        marks = dict(self.marks)
        marks["newsletter"] = _newer(marks.get("newsletter"), best)  # type: ignore[assignment]  # best: not None
        grants = dict(self.grants)
        grants["newsletter"] = _later(grants.get("newsletter"), best.at)  # type: ignore[assignment]  # best.at: not None
        return ContactState(marks, grants, _later(self.relationship_at, best.at), self.pending_at,
                            self.erased_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "marks": {k: m.to_dict() for k, m in sorted(self.marks.items())},
            "grants": {k: t.isoformat() for k, t in sorted(self.grants.items())},
            "relationship_at": _iso(self.relationship_at),
            "pending_at": _iso(self.pending_at),
            "erased_at": _iso(self.erased_at),
            "signup_tokens": sorted(self.signup_tokens),
            "confirmations": {k: m.to_dict() for k, m in sorted(self.confirmations.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "ContactState":
        if not d:
            return EMPTY
        return cls(
            marks={k: Mark.from_dict(v) for k, v in d.get("marks", {}).items()},
            grants={k: datetime.fromisoformat(v) for k, v in d.get("grants", {}).items()},
            relationship_at=_parse(d.get("relationship_at")),
            pending_at=_parse(d.get("pending_at")),
            erased_at=_parse(d.get("erased_at")),
            signup_tokens=frozenset(d.get("signup_tokens", ())),
            confirmations={k: Mark.from_dict(v) for k, v in d.get("confirmations", {}).items()},
        )


EMPTY = ContactState()


@dataclass(frozen=True, slots=True)
class Effect:
    """What one event asserts about one scope; becomes one ledger line."""

    scope: str
    action: Literal["granted", "withdrawn", "pending", "relationship", "erased", "review",
                    "disclosed"]
    rule: str
    evidence: dict[str, str] = field(default_factory=dict)
    detected: bool = False


Detector = Callable[[str], Detection | None]

# A detected opt-out and a possible one both suppress (err towards not mailing); they differ in
# the rule, so a reviewer sees which needed judgement. A re-subscribe request suppresses nothing
# and grants nothing by itself: it is review work only, reported by the detector.
_TEXT_RULES = {Outcome.OPT_OUT: "support.text_opt_out",
               Outcome.POSSIBLE_OPT_OUT: "support.text_possible_opt_out"}
_REVIEWED = {Outcome.POSSIBLE_OPT_OUT: "review.confirm_withdrawal",
             Outcome.RESUBSCRIBE: "review.confirm_grant"}


def effects_of(event: ConsentEvent, policy: Policy, detect: Detector = detect_text) -> list[Effect]:
    """The scopes an event speaks about, in the words of the policy."""
    out: list[Effect] = []
    relationship = event.type in policy.relationship.sources
    if isinstance(event, PurchaseCompleted):
        if event.data.marketing_opt_out:
            out.append(Effect(ALL, "withdrawn", "purchase.marketing_opt_out",
                              {"field": "marketing_opt_out"}))
    elif isinstance(event, SupportMessageReceived):
        if event.data.intent == "opt_out":
            out.append(Effect(ALL, "withdrawn", "support.intent_opt_out", {"field": "intent"}))
        elif event.data.intent == "opt_in":
            out.append(Effect(ALL, "granted", "support.intent_opt_in", {"field": "intent"}))
        elif (found := detect(event.data.text)) is not None:
            evidence = {"text_rule": found.rule, "language": found.language,
                        "span": f"{found.span[0]}-{found.span[1]}",
                        "ticket_id": event.data.ticket_id, "outcome": found.outcome.value}
            if found.outcome in _TEXT_RULES:
                out.append(Effect(ALL, "withdrawn", _TEXT_RULES[found.outcome], evidence,
                                  detected=True))
            if found.outcome in _REVIEWED:
                # an agent confirms or reverses it; state_of ignores this effect
                out.append(Effect("review", "review", _REVIEWED[found.outcome], evidence,
                                  detected=True))
    elif isinstance(event, NewsletterSignup):
        if policy.double_opt_in:
            token = event.data.confirmation_token
            out.append(Effect("newsletter", "pending", "newsletter.signup_unconfirmed",
                              {"token": token_hash(token)} if token else {}))
        else:
            relationship = True
            out.append(Effect("newsletter", "granted", "newsletter.signup_single_opt_in"))
    elif isinstance(event, NewsletterConfirmed):
        token = event.data.confirmation_token
        if policy.double_opt_in and token:
            # counts only once it matches a signup's token (see ContactState.resolved)
            relationship = False
            out.append(Effect("newsletter", "granted", "newsletter.confirmed",
                              {"token": token_hash(token)}))
        else:
            out.append(Effect("newsletter", "granted", "newsletter.confirmed"))
    elif isinstance(event, NewsletterUnsubscribed):
        scope = ALL if event.data.scope == "all" else "newsletter"
        out.append(Effect(scope, "withdrawn", f"newsletter.unsubscribed_{event.data.scope}"))
    elif isinstance(event, PreferenceChanged):
        # a decision taken on a review item names it, so the item is closed with its proof
        ref = {"review_id": event.data.review_id} if event.data.review_id else {}
        if event.data.all is not None:
            out.append(Effect(ALL, event.data.all, "preference.all", dict(ref)))
        for purpose, choice in sorted(event.data.changes.items()):
            out.append(Effect(purpose.value, choice, "preference.purpose", dict(ref)))
    elif isinstance(event, ErasureRequested):
        out.append(Effect("erasure", "erased", "erasure.requested",
                          {"request_ref": event.data.request_ref}))
        return out
    elif isinstance(event, DisclosureRecorded):
        d = event.data
        out.append(Effect("disclosure", "disclosed", "dpo.legal_disclosure", {
            "legal_basis": d.legal_basis, "case_ref": d.case_ref, "authority": d.authority,
            "categories": ",".join(d.categories), "principal": d.principal,
            "operator": d.operator, "export_sha256": d.export_sha256}))
        return out
    if relationship:
        out.insert(0, Effect("relationship", "relationship", f"{event.type}.relationship"))
    return out


def state_of(event: ConsentEvent, effects: list[Effect]) -> ContactState:
    """The (tiny) state asserted by one event alone; merging it in applies the event."""
    at, eid, src = event.occurred_at, str(event.event_id), event.source
    marks: dict[str, Mark] = {}
    grants: dict[str, datetime] = {}
    relationship_at = pending_at = erased_at = None
    tokens: set[str] = set()
    confirmations: dict[str, Mark] = {}
    for e in effects:
        if e.action == "granted" and "token" in e.evidence:
            confirmations[e.evidence["token"]] = Mark("granted", at, eid, e.rule, src)
        elif e.action in ("granted", "withdrawn"):
            marks[e.scope] = Mark(e.action, at, eid, e.rule, src, e.detected)
            if e.action == "granted":
                grants[e.scope] = at
                relationship_at = at  # an explicit grant is a relationship in itself
        elif e.action == "relationship":
            relationship_at = at
        elif e.action == "pending":
            pending_at = at
            if "token" in e.evidence:
                tokens.add(e.evidence["token"])
        elif e.action == "erased":
            erased_at = at
    return ContactState(marks, grants, relationship_at, pending_at, erased_at,
                        frozenset(tokens), confirmations)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str | None  # suppression reason when not allowed
    rule: str
    detected: bool = False


def _lifted(state: ContactState, scopes: tuple[str, ...]) -> bool:
    """Did an explicit grant in one of `scopes` come after the erasure?"""
    erased_at = state.erased_at
    return erased_at is not None and any(
        (t := state.grants.get(k)) is not None and t > erased_at for k in scopes)


def decide(state: ContactState, purpose: Purpose, policy: Policy) -> Verdict:
    """May a mail for `purpose` go to this contact now? Fail closed on doubt."""
    return _decide_resolved(state.resolved(), purpose, policy)


def _decide_resolved(state: ContactState, purpose: Purpose, policy: Policy) -> Verdict:
    rule = policy.rule(purpose)
    if rule.transactional:
        # any explicit grant after the erasure re-establishes the contact
        if state.erased_at is not None and not _lifted(state, tuple(state.grants)):
            return Verdict(False, "erased", "erasure.requested")
        if state.relationship_at is None:
            return Verdict(False, "no_relationship", "fail_closed.unknown_contact")
        return Verdict(True, None, "transactional")
    if state.erased_at is not None and not _lifted(state, (ALL, purpose.value)):
        return Verdict(False, "erased", "erasure.requested")
    mark = _newer(state.marks.get(ALL), state.marks.get(purpose.value))
    if mark is not None:
        if mark.action == "withdrawn":
            reason = "opted_out" if state.marks.get(ALL) is mark else "purpose_withdrawn"
            return Verdict(False, reason, mark.rule, mark.detected)
        return Verdict(True, None, mark.rule)
    if rule.regime == "opt_out" and state.relationship_at is not None:
        return Verdict(True, None, "opt_out_regime.relationship")
    if purpose is Purpose.NEWSLETTER and state.pending_at is not None:
        return Verdict(False, "unconfirmed", "newsletter.signup_unconfirmed")
    if state.relationship_at is None:
        return Verdict(False, "no_relationship", "fail_closed.unknown_contact")
    return Verdict(False, "not_opted_in", "opt_in_regime.no_grant")


def verdicts(state: ContactState, policy: Policy) -> dict[Purpose, Verdict]:
    """Every purpose's verdict at once (the consent table's `decisions`), resolving once."""
    resolved = state.resolved()
    return {p: _decide_resolved(resolved, p, policy) for p in Purpose}


def effective(state: ContactState, policy: Policy) -> dict[str, str]:
    """Per purpose: "allowed" or the suppression reason, for the ledger and `consent lookup`."""
    return {p.value: ("allowed" if v.allowed else str(v.reason))
            for p, v in verdicts(state, policy).items()}


@dataclass(frozen=True, slots=True)
class Applied:
    state: ContactState
    effects: list[tuple[Effect, bool]]  # (effect, applied: did it become the deciding mark)


def apply_event(
    state: ContactState, event: ConsentEvent, policy: Policy, detect: Detector = detect_text
) -> Applied:
    effects = effects_of(event, policy, detect)
    new = state.merge(state_of(event, effects))
    eid = str(event.event_id)
    results = []
    resolved = new.resolved()
    for e in effects:
        if e.action in ("granted", "withdrawn"):
            m = resolved.marks.get(e.scope)
            applied = m is not None and m.event_id == eid
        else:
            applied = True
        results.append((e, applied))
    return Applied(new, results)
