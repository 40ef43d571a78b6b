"""Double opt-in confirmation tokens: a confirmation counts only with its signup's token."""

import uuid
from datetime import UTC, datetime, timedelta
from itertools import permutations

from schemas.events import NewsletterConfirmed, NewsletterSignup
from schemas.purposes import Purpose
from streams.decisions import EMPTY, apply_event, decide
from streams.policy import load_policy

POLICY = load_policy()
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _ev(model, event_type, t, **data):
    return model.model_validate({
        "event_id": str(uuid.uuid4()), "type": event_type, "schema_version": "1.0",
        "occurred_at": (T0 + timedelta(minutes=t)).isoformat(), "source": "newsletter",
        "data": {"email": "n@example.com", **data}})


def _newsletter(events):
    state = EMPTY
    for e in events:
        state = apply_event(state, e, POLICY).state
    v = decide(state, Purpose.NEWSLETTER, POLICY)
    return "allowed" if v.allowed else v.reason


def test_matching_token_confirms_in_any_order():
    events = [_ev(NewsletterSignup, "newsletter.signup", 0, confirmation_token="abc"),
              _ev(NewsletterConfirmed, "newsletter.confirmed", 1, confirmation_token="abc")]
    assert {_newsletter(p) for p in permutations(events)} == {"allowed"}


def test_wrong_token_does_not_confirm():
    events = [_ev(NewsletterSignup, "newsletter.signup", 0, confirmation_token="abc"),
              _ev(NewsletterConfirmed, "newsletter.confirmed", 1, confirmation_token="xyz")]
    assert {_newsletter(p) for p in permutations(events)} == {"unconfirmed"}


def test_the_state_keeps_only_a_hash_of_the_token():
    state = apply_event(EMPTY, _ev(NewsletterSignup, "newsletter.signup", 0,
                                   confirmation_token="secret-token-123"), POLICY).state
    assert "secret-token-123" not in str(state.to_dict())


def test_tokenless_confirmation_is_trusted_as_the_newsletter_service_s_word():
    assert _newsletter([_ev(NewsletterConfirmed, "newsletter.confirmed", 1)]) == "allowed"
