"""How ``streams.decisions.effects_of`` turns each text outcome into (no) suppression."""

import uuid
from datetime import UTC, datetime

import pytest

from schemas.events import SupportMessageReceived
from streams.decisions import ALL, Effect, effects_of
from streams.optout import Detection, Outcome
from streams.policy import load_policy

POLICY = load_policy()


def _support(text: str, intent: str | None = None) -> SupportMessageReceived:
    return SupportMessageReceived.model_validate({
        "event_id": str(uuid.uuid4()), "type": "support.message_received",
        "schema_version": "1.0", "occurred_at": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
        "source": "desk", "data": {"email": "jane.doe@example.com", "ticket_id": "T-7",
                                   "channel": "email", "text": text, "intent": intent},
    })


def _text_effects(text: str, intent: str | None = None) -> list[Effect]:
    return [e for e in effects_of(_support(text, intent), POLICY) if e.scope == ALL]


def test_opt_out_withdraws_everything_with_evidence_and_no_text() -> None:
    text = "Hi, please stop emailing me. Jane"
    [effect] = _text_effects(text)
    assert (effect.action, effect.rule, effect.detected) == ("withdrawn", "support.text_opt_out",
                                                            True)
    start, end = (int(x) for x in effect.evidence["span"].split("-"))
    assert text[start:end] == "stop emailing"
    assert effect.evidence == {"text_rule": "en.stop_mail", "language": "en",
                               "span": f"{start}-{end}", "ticket_id": "T-7",
                               "outcome": "opt_out"}


def test_possible_opt_out_suppresses_too_under_its_own_rule() -> None:
    [effect] = _text_effects("Enough!!! Every day the same thing.")
    assert (effect.action, effect.rule, effect.detected) == (
        "withdrawn", "support.text_possible_opt_out", True)
    assert effect.evidence["outcome"] == "possible_opt_out"


@pytest.mark.parametrize("text", ["I unsubscribed by mistake, please add me back.",
                                  "Me di de baja por error, quiero volver a suscribirme."])
def test_resubscribe_request_neither_suppresses_nor_grants(text: str) -> None:
    assert _text_effects(text) == []


def test_desk_intent_wins_over_text() -> None:
    [effect] = _text_effects("Please stop emailing me.", intent="opt_in")
    assert (effect.action, effect.rule) == ("granted", "support.intent_opt_in")


def test_an_injected_detector_is_used() -> None:
    def fake(text: str) -> Detection | None:
        return Detection(Outcome.POSSIBLE_OPT_OUT, "en.fake", "en", (0, 1))

    [effect] = [e for e in effects_of(_support("anything"), POLICY, fake) if e.scope == ALL]
    assert effect.rule == "support.text_possible_opt_out"
    assert effect.evidence["text_rule"] == "en.fake"
