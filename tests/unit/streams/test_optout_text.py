"""Tokenising and folding (``streams.optout.text``): one normal form, offsets into the original."""

import pytest

from streams.optout.text import ADDRESS, fold, tokenise


@pytest.mark.parametrize(
    ("word", "folded"),
    [("Désabonnez", "desabonnez"), ("STRASSE", "strasse"), ("Straße", "strasse"),
     ("ﬁle", "file"), ("Œuvre", "oeuvre"), ("QUÍTENME", "quitenme"), ("Geräten", "geraten")],
)
def test_fold_casefolds_strips_accents_and_splits_ligatures(word: str, folded: str) -> None:
    assert fold(word) == folded


def _pairs(text: str) -> list[tuple[str, str]]:
    t = tokenise(text)
    return [(w, text[s:e]) for w, s, e in zip(t.words, t.starts, t.ends, strict=True)]


def test_every_token_points_into_the_original_text() -> None:
    text = "Ne m\u2019envoyez plus d\u2019e\u2011mails, STRASSE \ufb01le Don't"
    assert _pairs(text) == [
        ("ne", "Ne"), ("me", "m\u2019"), ("envoyez", "envoyez"), ("plus", "plus"),
        ("de", "d\u2019"), ("emails", "e\u2011mails"), ("strasse", "STRASSE"),
        ("file", "\ufb01le"), ("do", "Do"), ("not", "n't"),
    ]


def test_addresses_and_urls_are_one_token_naming_a_person() -> None:
    text = "Remove jane.doe@example.com and https://example.org/x?y=1 please."
    assert _pairs(text) == [("remove", "Remove"), (ADDRESS, "jane.doe@example.com"),
                            ("and", "and"), (ADDRESS, "https://example.org/x?y=1"),
                            ("please", "please")]


def test_quoted_reply_and_signature_are_not_the_customers_words() -> None:
    promo = "> Spring sale!\n> Don't want these emails? Unsubscribe here.\n"
    assert tokenise(f"Thanks, nice offer.\n\n{promo}").words == ("thanks", "nice", "offer")
    header = "Hi\n\nOn Mon, 3 Mar 2026, Acme <news@example.com> wrote:\nUnsubscribe here"
    assert tokenise(header).words == ("hi",)
    forwarded = "ok\n-----Original Message-----\nFrom: Acme\nunsubscribe"
    assert tokenise(forwarded).words == ("ok",)
    assert tokenise("Stop\n-- \nJane Doe, unsubscribe team").words == ("stop",)


def test_a_header_on_the_first_line_is_kept() -> None:
    assert "unsubscribe" in tokenise("From: me\nunsubscribe").words


def test_clauses_end_at_sentence_marks_but_not_at_abbreviations_or_times() -> None:
    t = tokenise("Stop. Mail me a.u.b. at 14:05, Fr. Schulz - thanks")
    clause = dict(zip(t.words, t.clauses, strict=True))
    assert clause["stop"] != clause["mail"]
    assert "aub" in t.words
    assert clause["mail"] == clause["aub"] == clause["14"] == clause["05"] == clause["schulz"]
    assert clause["thanks"] != clause["schulz"]  # a spaced dash ends a clause


def test_commas_are_soft_boundaries() -> None:
    t = tokenise("invoices, no advertising")
    assert t.soft == (False, True, False)


def test_empty_and_blank_text() -> None:
    assert tokenise("").words == ()
    assert tokenise(" \n\t ").words == ()


def test_question_clauses_are_remembered() -> None:
    # "did you unsubscribe me?" after "I no longer get it" reports a fault (vetoes read this)
    assert tokenise("I no longer get it. Did you unsubscribe me? Thanks").questions == {1}
    assert tokenise("Stop. Please").questions == frozenset()
