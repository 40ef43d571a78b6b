"""Rules that compose concepts, shared by every language; tags are what the lexicons provide.

Why composition: a request to stop mail is a handful of concepts in some order - a request to
stop ("stop", "no more", "never again", "remove", "unsubscribe", "object"), contact ("mail",
"call", "write", "newsletter", "special offers", the policy's mail types) and a person ("me",
"us", an address, "my mother") - and each language only differs in its words. So the rules
below are written once, over tags, and a language module supplies the words (and, where its
grammar needs it, a few rules of its own). A rule fires on tokens of one clause within a small
window, so "stop" in one sentence and "mail" in the next do not combine.

Context that makes a match ordinary (a *veto*, checked in the clause of the match):

* ``own``: the customer's own audience ("my subscribers", "mes clients", "meine Kunden"): the
  question is about their marketing, not ours;
* ``feature``: a product feature next to the match and no mail word in it ("unsubscribe a user
  from the scan reports", "leave the beta"), or a feature word right before the mail word
  ("licence emails", "disk space alert emails");
* ``malfunction``: the sentence reports a fault ("the newsletter link is broken");
* ``receive``: "I no longer receive the newsletter" is a complaint, unless the clause also says
  *want* ("I no longer want to receive ...");
* ``able``: "I can't contact your sales team" is not "do not contact me".

Outcomes: explicit requests are ``OPT_OUT``; weaker evidence (a stop verb without its object, a
bare "stop" in a longer message, exasperation without a noun, any match that needed a typo
guess) is ``POSSIBLE_OPT_OUT``, which also suppresses and asks an agent to look.
"""

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from streams.optout.model import Outcome
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


@dataclass(slots=True)
class View:
    """One language's reading of a message: tags per token, typo flags, clause numbers."""

    tags: list[set[str]]
    typo: list[bool]
    clauses: Sequence[int]
    soft: Sequence[bool]
    index: dict[str, list[int]] = field(default_factory=dict)
    memo: dict[tuple[str, ...], list[int]] = field(default_factory=dict)

    def where(self, *tags: str) -> list[int]:
        if len(tags) == 1:
            return self.index.get(tags[0], [])
        found = self.memo.get(tags)
        if found is None:
            found = self.memo[tags] = sorted({i for t in tags for i in self.index.get(t, ())})
        return found

    def add(self, i: int, tags: set[str]) -> None:
        """Give token ``i`` more tags, keeping the index sorted."""
        for tag in tags - self.tags[i]:
            bisect.insort(self.index.setdefault(tag, []), i)
        self.tags[i] |= tags
        self.memo.clear()

    def clear(self, i: int) -> None:
        """Forget the tags of token ``i`` (a typo guess another language knows better)."""
        for tag in self.tags[i]:
            self.index[tag].remove(i)
            if not self.index[tag]:
                del self.index[tag]
        self.tags[i] = set()
        self.typo[i] = False
        self.memo.clear()

    def clause_range(self, i: int) -> range:
        c = self.clauses[i]
        lo = bisect.bisect_left(self.clauses, c)
        return range(lo, bisect.bisect_right(self.clauses, c, lo))


Finder = Callable[[View], Iterator[tuple[int, ...]]]
Group = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """A named finder with the outcome it gives and the contexts that veto it."""

    name: str
    outcome: Outcome
    find: Finder
    vetoes: frozenset[str] = frozenset()


def rule(name: str, outcome: Outcome, find: Finder, vetoes: str = "") -> Rule:
    return Rule(name, outcome, find, frozenset(vetoes.split()))


def _group(g: Group) -> tuple[str, ...]:
    return g if isinstance(g, tuple) else (g,)


def near(*groups: Group, window: int = 6, commas: bool | None = True) -> Finder:
    """One token of each group (a tag or a tuple of alternatives) within ``window`` tokens.

    With ``commas=False`` no comma, dash or bracket may stand between the first group's token
    and a later one: "I no longer work with X, send me quotes" is two requests, while "these
    mails, I don't want them" refers back and still counts. With ``commas=None`` no comma may
    stand anywhere between them ("call me on Monday, not on Friday").
    """
    gs = [_group(g) for g in groups]
    needs = [frozenset(g) for g in gs]

    def find(v: View) -> Iterator[tuple[int, ...]]:
        present = v.index.keys()
        for n in needs:  # cheap: most rules stop here
            if n.isdisjoint(present):
                return
        occ = [v.where(*g) for g in gs]
        if not all(occ):
            return
        k = min(range(len(gs)), key=lambda i: len(occ[i]))
        for a in occ[k]:
            chosen = []
            for gi, o in enumerate(occ):
                if gi == k:
                    chosen.append(a)
                    continue
                lo, hi = bisect.bisect_left(o, a - window), bisect.bisect_right(o, a + window)
                cands = [j for j in o[lo:hi] if v.clauses[j] == v.clauses[a]]
                if not cands:
                    break
                chosen.append(min(cands, key=lambda j: abs(j - a)))
            else:
                lo, hi, first = min(chosen), max(chosen), chosen[0]
                start = lo if commas is None else first
                if hi - lo <= window and (commas or not any(v.soft[start + 1 : hi + 1])):
                    yield tuple(chosen)

    return find


def anywhere(*tags: str) -> Finder:
    """Any run of consecutive tokens with one of ``tags`` ("opt out", "de baja")."""

    def find(v: View) -> Iterator[tuple[int, ...]]:
        found = v.where(*tags)
        start = 0
        for k in range(1, len(found) + 1):
            if k == len(found) or found[k] != found[k - 1] + 1 \
                    or v.clauses[found[k]] != v.clauses[found[k - 1]]:
                yield tuple(found[start:k])
                start = k

    return find


def _is_filler_clause(v: View, r: range, required: set[str]) -> bool:
    return len(r) <= 4 and FILLER in v.tags[r.start] and not any(v.tags[i] & required for i in r)


def bare(required: tuple[str, ...], allowed: tuple[str, ...], limit: int = 6,
         whole: bool = True) -> Finder:
    """A message (or, with ``whole=False``, a clause) made only of a request and filler.

    Greeting and closing clauses ("Hi,", "Thanks, Mark") are ignored for the whole message.
    """
    ok = set(required) | set(allowed)

    def clause_ok(v: View, r: range) -> tuple[int, ...] | None:
        if len(r) > limit or any(not (v.tags[i] & ok) for i in r):
            return None
        hits = tuple(i for i in r if v.tags[i] & set(required))
        return hits or None

    def find(v: View) -> Iterator[tuple[int, ...]]:
        n = len(v.tags)
        ranges, i = [], 0
        while i < n:
            r = v.clause_range(i)
            ranges.append(r)
            i = r.stop
        if whole:
            body = [r for r in ranges if not _is_filler_clause(v, r, set(required))]
            tokens = [i for r in body for i in r]
            if body and len(tokens) <= limit:
                hits = [clause_ok(v, r) for r in body]
                if all(h is not None or all(FILLER in v.tags[i] for i in r)
                       for h, r in zip(hits, body, strict=True)) and any(hits):
                    yield tuple(i for h in hits if h for i in h)
            return
        for r in ranges:
            if (hit := clause_ok(v, r)) is not None:
                yield hit

    return find


def when(find: Finder, *tags: str) -> Finder:
    """``find``, but only in a message that also holds one of ``tags`` somewhere."""

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        if any(v.index.get(t) for t in tags):
            yield from find(v)

    return wrapped


def nowhere(find: Finder, *tags: str) -> Finder:
    """``find``, but only in a message where no token holds one of ``tags``."""

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        if not any(v.index.get(t) for t in tags):
            yield from find(v)

    return wrapped


def inside(find: Finder, *tags: str) -> Finder:
    """``find``, but only in a clause of the match that holds one of ``tags``."""

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        for m in find(v):
            if any(v.tags[i] & set(tags) for i in v.clause_range(m[0])):
                yield m

    return wrapped


def without(find: Finder, *tags: str) -> Finder:
    """``find``, but not in a clause of the match that holds one of ``tags``."""

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        for m in find(v):
            if not any(v.tags[i] & set(tags) for i in v.clause_range(m[0])):
                yield m

    return wrapped


# --------------------------------------------------------------------------- vetoes


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
