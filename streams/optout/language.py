"""A language: its lexicon, its separable verbs, and the rules it runs; builds a View of a text.

Why separable-verb joins: Dutch and German split verbs around their objects ("meld me af",
"hören Sie bitte auf", "nehmen Sie mich raus"), English has phrasal verbs ("take me off"). A
join gives both parts a tag when they occur in that order within a few tokens of one clause,
so rules can treat "melden ... ab" like "abmelden".
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from streams.optout.common import (
    KEEP_RULES,
    OPT_OUT_RULES,
    POSSIBLE_RULES,
    RESUBSCRIBE_RULES,
    SHARED_WORDS,
)
from streams.optout.lexicon import Lexicon, Phrase, compile_lexicon
from streams.optout.rules import Rule, View
from streams.optout.tags import (
    ADDRESS_TAGS,
    CONTACT,
    MAIL,
    NOT_MAIL,
    PERSON,
    STOPWORD,
    SUBORD,
    TYPO_TAGS,
)
from streams.optout.text import ADDRESS, Tokens


@dataclass(frozen=True, slots=True)
class Join:
    """Tokens tagged ``first`` then ``second`` within ``window`` of one clause get ``tags``.

    A particle that ends its clause may stand up to ``final`` tokens after its verb: Dutch and
    German put it last, after the whole object ("Hierbij trek ik mijn toestemming voor
    commerciële mails in"), and a clause-final particle is rarely a preposition.
    """

    first: str
    second: str
    tags: tuple[str, ...]
    window: int = 5
    final: int = 0


@dataclass(frozen=True, slots=True)
class Language:
    """Everything the engine needs to read a message in one language."""

    code: str
    lexicon: Lexicon
    joins: tuple[Join, ...]
    resubscribe: tuple[Rule, ...]
    opt_out: tuple[Rule, ...]
    keep: tuple[Rule, ...]

    def view(self, tokens: Tokens) -> View:
        """Tag every token: words, phrases, then joins; index tokens by tag."""
        words, clauses = tokens.words, tokens.clauses
        entry = self.lexicon.entry
        tags: list[set[str]] = []
        typo: list[bool] = []
        starts: list[tuple[int, tuple[Phrase, ...]]] = []
        forms: list[str] = []
        for i, w in enumerate(words):
            if w == ADDRESS:
                tags.append(set(ADDRESS_TAGS))
                typo.append(False)
                forms.append(w)
                continue
            known, f, phrases, form = entry(w)
            tags.append(set(known))
            typo.append(f)
            forms.append(form)
            if phrases:
                starts.append((i, phrases))
        n = len(words)
        for i, phrases in starts:
            nxt = forms[i + 1][:1] if i + 1 < n else ""
            for ph in phrases:
                if ph.second != nxt and ph.second != "*":  # cheap: a slip keeps the first letter
                    continue
                end = i + len(ph.words)
                slipped = ph.match(forms, i)
                if slipped is None or clauses[i] != clauses[end - 1] \
                        or (slipped and not ph.tags & TYPO_TAGS):  # slips make requests only
                    continue
                for j in range(i, end):
                    if slipped and not tags[j]:  # the slip: a typo guess, reviewed
                        typo[j] = True
                    tags[j] |= ph.tags
        for t in tags:
            if NOT_MAIL in t:
                t -= {MAIL, CONTACT, NOT_MAIL}
                t.add(PERSON)
        index: dict[str, list[int]] = {}
        for i, t in enumerate(tags):
            for tag in t:
                index.setdefault(tag, []).append(i)
        for join in self.joins:
            seconds = index.get(join.second, [])
            reach = max(join.window, join.final)
            for i in index.get(join.first, []):
                for j in seconds:
                    if not 0 < j - i <= reach or clauses[i] != clauses[j]:
                        continue
                    last = j + 1 == n or clauses[j + 1] != clauses[j]
                    if j - i <= join.window or last:
                        for k in (i, j):
                            new = set(join.tags) - tags[k]
                            tags[k] |= new
                            for tag in new:
                                index.setdefault(tag, []).append(k)
                        break
        for lst in index.values():
            lst.sort()
        # a comma before "that" / "dass" / "que" does not separate a request from its object
        soft = [s and SUBORD not in t for s, t in zip(tokens.soft, tags, strict=True)]
        return View(tags, typo, tokens.clauses, soft, index, questions=tokens.questions)

    def score(self, view: View) -> int:
        """How much the text looks like this language (function words), to order languages."""
        return len(view.index.get(STOPWORD, ()))


def build(
    code: str,
    stemmer: str,
    words: Mapping[str, Iterable[str]],
    *,
    joins: Iterable[Join] = (),
    rules: Iterable[Rule] = (),
    known: Iterable[str] = (),
    enclitics: Iterable[str] = (),
    respell: Iterable[tuple[str, str]] = (),
    misspell: Iterable[tuple[str, str]] = (),
    aliases: Mapping[str, str] = MappingProxyType({}),
) -> Language:
    """A language from its words (merged with the shared ones) and any rules of its own.

    A language's own rules run before the shared opt-out rules, so their ids name the evidence
    when both would match.
    """
    merged: dict[str, list[str]] = {tag: list(ws) for tag, ws in SHARED_WORDS.items()}
    for tag, ws in words.items():
        merged.setdefault(tag, []).extend(ws)
    lexicon = compile_lexicon(code, stemmer, merged, known, enclitics, TYPO_TAGS, respell,
                              misspell, aliases)
    return Language(code, lexicon, tuple(joins), RESUBSCRIBE_RULES,
                    (*rules, *OPT_OUT_RULES, *POSSIBLE_RULES), KEEP_RULES)
