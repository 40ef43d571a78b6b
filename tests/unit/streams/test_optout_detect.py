"""``streams.optout.detect``: the three outcomes, evidence without text, spans, robustness."""

import dataclasses
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.optout import LANGUAGES, Detection, Outcome, detect
from tests.unit.streams.optout_corpus import dev

RULE_ID = re.compile(r"([a-z]{2})\.[a-z_]+")


def _check(text: str) -> Detection | None:
    found = detect(text)
    if found is not None:
        assert isinstance(found, Detection) and isinstance(found.outcome, Outcome)
        m = RULE_ID.fullmatch(found.rule)
        assert m and m.group(1) == found.language and found.language in LANGUAGES
        start, end = found.span
        assert 0 <= start < end <= len(text)
    assert detect(text) == found  # deterministic
    return found


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("text", "language"),
    [("Please stop emailing me.", "en"), ("unsubscribe", "en"), ("Take me off your list", "en"),
     ("Geen mails meer aub", "nl"), ("Afmelden", "nl"), ("Désabonnez-moi", "fr"),
     ("Je ne veux plus recevoir vos courriels", "fr"), ("Keine Werbung mehr, danke", "de"),
     ("Melden Sie mich vom Newsletter ab", "de"), ("Darme de baja", "es"),
     ("No me envíen más correos", "es"), ("Werbewiderspruch", "de"),
     ("Under Article 21 GDPR I object to direct marketing.", "en"),
     ("Customer called, asked not to be contacted again.", "en")],
)
def test_explicit_requests_are_opt_outs(text: str, language: str) -> None:
    found = _check(text)
    assert found is not None and found.outcome is Outcome.OPT_OUT and found.language == language


@pytest.mark.parametrize(
    "text",
    ["Enough!!! Every day the same thing.",  # exasperation, no noun
     "How many times? Stop.",  # a bare stop inside a longer message
     "pls stpo emailing me"],  # needed a typo guess
)
def test_weaker_signs_are_possible_opt_outs(text: str) -> None:
    found = _check(text)
    assert found is not None and found.outcome is Outcome.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["I unsubscribed by mistake, please add me back.",
     "Ik heb me per ongeluk afgemeld, graag weer aanmelden.",
     "Je me suis désabonné par erreur, merci de me réabonner.",
     "Ich habe mich versehentlich abgemeldet, bitte wieder anmelden.",
     "Me di de baja por error, quiero volver a suscribirme.",
     "I would like to keep receiving the newsletter."],
)
def test_resubscribe_requests_are_recognised(text: str) -> None:
    found = _check(text)
    assert found is not None and found.outcome is Outcome.RESUBSCRIBE


def test_a_partial_opt_out_is_not_a_resubscribe() -> None:
    found = _check("Unsubscribe me from the offers, I want to keep receiving support notices.")
    assert found is not None and found.outcome is Outcome.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "My licence key does not work.", "Please email me the invoice again.",
     "How do I unsubscribe a user from the scan reports?", "Please take me off the beta.",
     "Wie melde ich mich auf allen Geräten ab?", "Hoe kan ik me afmelden op mijn laptop?",
     "Can my subscribers unsubscribe from my newsletter in your plug-in?",
     "I no longer receive the newsletter since we changed mail server.",
     "I can't contact your sales team, the number is wrong.",
     "La velocidad de descarga es muy baja.", "Quiero dar de baja una licencia.",
     "Thanks for the quick call earlier. No further action needed."],
)
def test_ordinary_messages_are_not_detected(text: str) -> None:
    assert _check(text) is None


# --------------------------------------------------------------------------- evidence


def test_detection_has_exactly_the_public_shape() -> None:
    assert [f.name for f in dataclasses.fields(Detection)] == ["outcome", "rule", "language",
                                                                 "span"]
    assert {o.value for o in Outcome} == {"opt_out", "possible_opt_out", "resubscribe"}
    assert not hasattr(Detection(Outcome.OPT_OUT, "en.x", "en", (0, 1)), "__dict__")


@pytest.mark.parametrize(
    ("text", "matched"),
    [("Hello,\n\nPlease STOP emailing me.\n\n-- \nJane", "STOP emailing"),
     ("Bonjour, désabonnez-moi svp", "désabonnez"),
     ("Re: offer\n\nplease remove jane.doe@example.com from your list", "remove"),
     ("Darme de baja", "Darme de baja")],
)
def test_span_points_into_the_original_text(text: str, matched: str) -> None:
    found = _check(text)
    assert found is not None
    start, end = found.span
    assert matched in text[start:end] or text[start:end] in matched


PERSONAL = " Regards, Zyxwv Qponmlk, +31 6 1234 5678, k.zyxwv@example.org, customer 4711-XQZ"


@pytest.mark.parametrize(("lang", "text"), dev.OPT_OUT[::9])
def test_evidence_never_contains_message_text(lang: str, text: str) -> None:
    found = _check(text + PERSONAL)
    assert found is not None
    evidence = f"{found.outcome.value} {found.rule} {found.language}".casefold()
    for marker in ("zyxwv", "qponmlk", "1234", "example.org", "4711", "xqz"):
        assert marker not in evidence


# --------------------------------------------------------------------------- robustness

_VOCAB = sorted({w for _, t in dev.OPT_OUT[:200] + dev.ORDINARY[:200] for w in t.split()}
                | {".", "!", "?", ",", " - ", "'", "\n", "> ", "@", "a.u.b.", "x@y.com", "e-"})


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=80).map(" ".join))
def test_never_raises_on_corpus_vocabulary_soup(text: str) -> None:
    _check(text)


ADVERSARIAL = {
    "stop words": "stop " * 4000,
    "one long word": "a" * 20_000,
    "address-like": "x@" * 10_000,
    "hyphen chain": "e-" * 10_000,
    "apostrophes": "m'" * 10_000,
    "dots": ". " * 10_000,
    "at signs": "@" * 20_000,
    "long local parts": ("a" * 63 + "@") * 312,
    "requests and mail": "no more mail, stop emailing me, remove me from the list " * 360,
    "quotes": "> unsubscribe\n" * 1400,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_long_hostile_input_is_linear(name: str) -> None:
    text = ADVERSARIAL[name][:20_000]
    start = time.perf_counter()
    _check(text)
    # generous for a shared 2-core machine: catastrophic backtracking would take minutes
    assert time.perf_counter() - start < 5.0
