"""Vetoes: context in the clause of a match that makes the message ordinary after all.

Each rule names the vetoes it accepts (``rules.rule(..., vetoes="own feature")``):

* ``own``: the customer's own audience ("my subscribers", "mes clients", "meine Kunden"): the
  question is about their marketing, not ours;
* ``feature``: the object of the request is a product feature ("stop the scan", "send the
  invoice", "unsubscribe a user from the scan reports", "sich von der Schulung abmelden"), or a
  feature word qualifies the mail word ("licence emails", "disk space alert emails") - unless a
  request word wins ("supportmeldingen", "afmelding") or "except"/"only" closes the object;
* ``malfunction``: the sentence reports a fault ("the newsletter link is broken");
* ``receive``: "I no longer receive the newsletter" is a complaint, unless the clause also says
  *want* ("I no longer want to receive ...");
* ``able``: "I can't contact your sales team" is not "do not contact me".
"""

from collections.abc import Callable

from streams.optout.rules import Rule, View
from streams.optout.tags import (
    ABLE,
    AUDIENCE,
    CANCEL,
    CONTACT,
    EXCEPT,
    FEATURE,
    FILLER,
    LIST,
    MAIL,
    MALFUNCTION,
    NEG,
    OWNER,
    PERSON,
    READERS,
    RECEIVE,
    REMOVE,
    STOP,
    STOPWORD,
    UNSUB,
    WANT,
)


def _own(v: View, r: range, m: tuple[int, ...]) -> bool:
    for i in r:
        if READERS in v.tags[i]:
            return True
        if OWNER in v.tags[i] and any(AUDIENCE in v.tags[j] for j in range(i + 1, min(i + 4, r.stop))):
            return True
    return False


def _feature(v: View, r: range, m: tuple[int, ...]) -> bool:
    lo, hi = min(m), max(m)
    end = min(r.stop, hi + 8)
    end = next((j for j in range(hi + 1, end) if EXCEPT in v.tags[j]), end)
    after = range(lo, end)

    def feature(j: int) -> bool:  # request words win: "supportmeldingen", "afmelding"
        return FEATURE in v.tags[j] and not v.tags[j] & _REQUEST_WORDS

    for i in m:  # the object of the request is a feature: "stop the scan", "send the invoice"
        if v.tags[i] & _VERBS:
            following = [j for j in range(i + 1, min(r.stop, i + 4)) if not v.tags[j] & _SKIP]
            if following and feature(following[0]):
                return True

    nouns = [i for i in after if v.tags[i] & {MAIL, LIST}]
    for i in nouns:  # "licence emails", "disk space alert emails", "the billing contacts"
        j = i
        while j > max(r.start, i - 3) and not v.soft[j]:  # not across a comma
            j -= 1
            if feature(j):
                return True
    if any(MAIL in v.tags[i] for i in r):
        return False
    # the object of the request is a feature: "unsubscribe a user from the scan reports",
    # "sich von der Schulung abmelden" (verb last)
    return any(feature(j) for j in range(max(r.start, lo - 6), end))


_REQUEST_WORDS = frozenset({MAIL, UNSUB, LIST})
_VERBS = frozenset({STOP, REMOVE, UNSUB, CANCEL, CONTACT})
_SKIP = frozenset({FILLER, PERSON, STOPWORD})


def _has(tag: str) -> Callable[[View, range, tuple[int, ...]], bool]:
    return lambda v, r, m: any(tag in v.tags[i] for i in r)


def _receive(v: View, r: range, m: tuple[int, ...]) -> bool:
    return any(RECEIVE in v.tags[i] for i in r) and not any(WANT in v.tags[i] for i in r)


def _able(v: View, r: range, m: tuple[int, ...]) -> bool:
    """"can't" / "no consigo" / "niet bereiken": an inability right next to the negation."""
    negs = [i for i in m if NEG in v.tags[i]] or list(m)
    return any(ABLE in v.tags[j] for i in negs for j in range(max(r.start, i - 1), min(r.stop, i + 2)))


VETOES: dict[str, Callable[[View, range, tuple[int, ...]], bool]] = {
    "own": _own,
    "feature": _feature,
    "malfunction": _has(MALFUNCTION),
    "receive": _receive,
    "able": _able,
}


def vetoed(rule: Rule, v: View, m: tuple[int, ...]) -> bool:
    r = v.clause_range(m[0])
    return any(VETOES[name](v, r, m) for name in rule.vetoes)
