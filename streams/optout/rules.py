"""Rules that compose concepts, shared by every language; tags are what the lexicons provide.

Why composition: a request to stop mail is a handful of concepts in some order - a request to
stop ("stop", "no more", "never again", "remove", "unsubscribe", "object"), contact ("mail",
"call", "write", "newsletter", "special offers", the policy's mail types) and a person ("me",
"us", an address, "my mother") - and each language only differs in its words. So the rules
below are written once, over tags, and a language module supplies the words (and, where its
grammar needs it, a few rules of its own). A rule fires on tokens of one clause within a small
window, so "stop" in one sentence and "mail" in the next do not combine.

Context that makes a match ordinary is checked afterwards, by the rule's *vetoes* (``vetoes``).

Outcomes: explicit requests are ``OPT_OUT``; weaker evidence (a stop verb without its object, a
bare "stop" in a longer message, exasperation without a noun, any match that needed a typo
guess) is ``POSSIBLE_OPT_OUT``, which also suppresses and asks an agent to look.

A few finders look at the whole message instead of one clause, and only where that is safe: a
message made only of a request (``bare``), a short reply (``brief``, with ``together`` for
words in different sentences: "Again?! Seriously?"). The signature after a sign-off
("Regards, ...") is no part of the message for them (``View.ranges``).
"""

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from streams.optout.model import Outcome
from streams.optout.tags import CLOSING, FILLER


@dataclass(slots=True)
class View:
    """One language's reading of a message: tags per token, typo flags, clause numbers, and
    which clauses are questions."""

    tags: list[set[str]]
    typo: list[bool]
    clauses: Sequence[int]
    soft: Sequence[bool]
    index: dict[str, list[int]] = field(default_factory=dict)
    memo: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    questions: frozenset[int] = frozenset()
    _ranges: list[range] | None = None
    _content: list[int] | None = None

    def distance(self, a: int, b: int) -> int:
        """How far apart tokens ``a`` and ``b`` are, counting only the words between them that
        carry something: "please", "the", "all your" (filler) do not widen a window ("Eliminen
        por favor la dirección X de todas sus listas")."""
        if a > b:
            a, b = b, a
        if b - a <= 1:
            return b - a
        if self._content is None:
            content = [0]
            for t in self.tags:
                content.append(content[-1] + (FILLER not in t))
            self._content = content
        return 1 + self._content[b] - self._content[a + 1]

    def ranges(self) -> list[range]:
        """The clauses of the body, as token ranges: a sign-off ("Regards, ...", "Saludos",
        "MfG") after the first clause starts the signature, whose name, number and address
        are no part of what the message asks."""
        if self._ranges is None:
            ranges: list[range] = []
            i, n, content = 0, len(self.tags), False
            while i < n:
                r = self.clause_range(i)
                if content and CLOSING in self.tags[r.start]:
                    break
                content = content or any(FILLER not in self.tags[j] for j in r)
                ranges.append(r)
                i = r.stop
            self._ranges = ranges
        return self._ranges

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
        self._content = None

    def clear(self, i: int) -> None:
        """Forget the tags of token ``i`` (a typo guess another language knows better)."""
        for tag in self.tags[i]:
            self.index[tag].remove(i)
            if not self.index[tag]:
                del self.index[tag]
        self.tags[i] = set()
        self.typo[i] = False
        self.memo.clear()
        self._content = None

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
    """One token of each group (a tag or a tuple of alternatives) within ``window`` tokens;
    filler between them does not count (:meth:`View.distance`), up to twice the window.

    With ``commas=False`` no comma, dash or bracket may stand between the first group's token
    and a later one: "I no longer work with X, send me quotes" is two requests, while "these
    mails, I don't want them" refers back and still counts. With ``commas=None`` no comma may
    stand anywhere between them ("call me on Monday, not on Friday").
    """
    gs = [_group(g) for g in groups]
    needs = [frozenset(g) for g in gs]
    reach = 2 * window

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
                lo, hi = bisect.bisect_left(o, a - reach), bisect.bisect_right(o, a + reach)
                cands = [(d, abs(j - a), j) for j in o[lo:hi]
                         if v.clauses[j] == v.clauses[a] and (d := v.distance(a, j)) <= window]
                if not cands:
                    break
                chosen.append(min(cands)[2])
            else:
                lo, hi, first = min(chosen), max(chosen), chosen[0]
                start = lo if commas is None else first
                if v.distance(lo, hi) <= window \
                        and (commas or not any(v.soft[start + 1 : hi + 1])):
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


def together(*groups: Group) -> Finder:
    """One token of each group anywhere in the message, across clauses ("Again?! Seriously?").

    Only sensible inside :func:`brief`: in a long message, words of different sentences say
    nothing together.
    """
    gs = [_group(g) for g in groups]

    def find(v: View) -> Iterator[tuple[int, ...]]:
        occ = [v.where(*g) for g in gs]
        if all(occ):
            yield tuple(o[0] for o in occ)

    return find


def ending(find: Finder, tag: str, *allowed: str) -> Finder:
    """``find``, but only where the match's ``tag`` token ends its clause, but for ``allowed``
    words: "how many times do I have to ask (you)?" complains; "how many times do I have to
    tell you my address changed?" reports something else."""
    ok = set(allowed)

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        for m in find(v):
            i = next(j for j in m if tag in v.tags[j])
            if all(v.tags[j] & ok for j in v.clause_range(i) if j > i):
                yield m

    return wrapped


def brief(find: Finder, limit: int) -> Finder:
    """``find``, but only in a message of at most ``limit`` words besides greetings and thanks.

    Why: a short reply to a mailing ("How many times do I have to ask?") is about that mailing;
    the same words inside a long ticket are about whatever the ticket is about.
    """

    def wrapped(v: View) -> Iterator[tuple[int, ...]]:
        if len(v.tags) <= limit or sum(1 for r in v.ranges() for i in r
                                       if FILLER not in v.tags[i]) <= limit:
            yield from find(v)

    return wrapped


def _is_filler_clause(v: View, r: range, required: set[str]) -> bool:
    return len(r) <= 4 and FILLER in v.tags[r.start] and not any(v.tags[i] & required for i in r)


def bare(required: tuple[str, ...], allowed: tuple[str, ...], limit: int = 6,
         whole: bool = True) -> Finder:
    """A message (or, with ``whole=False``, a clause) made only of a request and filler.

    Greeting and closing clauses ("Hi,", "Thanks, Mark") and the signature are ignored for the
    whole message.
    """
    ok = set(required) | set(allowed)
    needs = frozenset(required)

    def clause_ok(v: View, r: range) -> tuple[int, ...] | None:
        if len(r) > limit or any(not (v.tags[i] & ok) for i in r):
            return None
        hits = tuple(i for i in r if v.tags[i] & set(required))
        return hits or None

    def find(v: View) -> Iterator[tuple[int, ...]]:
        if needs.isdisjoint(v.index.keys()):  # cheap: most messages stop here
            return
        ranges = v.ranges()
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
