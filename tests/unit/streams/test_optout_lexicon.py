"""Word lookup (``streams.optout.lexicon``): emphasis, stems, typos, and words that are no typo."""

import pytest

from streams.optout import de, detect, en, es, nl
from streams.optout.lexicon import squeeze, squeeze_all
from streams.optout.tags import CONTACT, LIST, MAIL, PERSON, REMOVE, STOP, UNSUB, WANT


def test_emphasis_is_squeezed_but_double_letters_stay() -> None:
    assert squeeze("stooop") == "stop" and squeeze("pleeease") == "please"
    assert squeeze("off") == "off" and squeeze("allen") == "allen"
    assert squeeze_all("stoppen") == "stopen"


@pytest.mark.parametrize(
    ("language", "word", "tag"),
    [(en, "stooop", STOP), (en, "contacting", CONTACT), (en, "contacted", CONTACT),
     (nl, "afgemeld", UNSUB), (de, "abgemeldet", UNSUB), (es, "enviarme", CONTACT),
     (es, "enviarme", PERSON), (es, "quitenme", REMOVE), (de, "moechte", WANT)],
)
def test_forms_inflections_clitics_and_spellings_are_known_words(language, word, tag) -> None:
    tags, typo = language.LANGUAGE.lexicon.tags(word)
    assert tag in tags and not typo


@pytest.mark.parametrize(
    ("language", "word", "tag"),
    [(en, "remvoe", REMOVE),  # swapped letters
     (en, "mial", MAIL),  # a four-letter word only matches a swap of its own letters
     (en, "usnubscribe", UNSUB), (en, "lsit", LIST),
     (en, "mailss", MAIL),  # doubled letter
     (nl, "afmleden", UNSUB), (nl, "verwijdr", REMOVE),  # missing letter
     (es, "desuscrbirme", UNSUB)],  # a typo inside a long word: matched by its prefix
)
def test_typos_of_request_words_are_recognised_and_flagged(language, word, tag) -> None:
    tags, typo = language.LANGUAGE.lexicon.tags(word)
    assert tag in tags and typo


@pytest.mark.parametrize("word", ["contract", "remote", "malls", "list", "start"])
def test_real_words_close_to_request_words_are_not_typos(word: str) -> None:
    for language in (en, nl):
        tags, typo = language.LANGUAGE.lexicon.tags(word)
        assert not typo, (language.LANGUAGE.code, word, tags)


def test_a_word_one_language_knows_is_no_typo_in_another() -> None:
    # German "anmelden" (subscribe) is one letter from Dutch "afmelden" (unsubscribe)
    assert detect("Ich möchte mich für den Newsletter anmelden.") is None


def test_typo_outcomes_are_reviewed_not_certain() -> None:
    found = detect("pls stpo emailing me")
    assert found is not None and found.outcome == "possible_opt_out"
