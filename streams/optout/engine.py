"""Run every language's rules over a message and pick one explained outcome.

Why every language: customers mix languages ("Bitte unsubscribe me, danke") and a support desk
does not know the language of a ticket. Context that only vetoes (features, the customer's own
audience, malfunction, "receive") is pooled across languages, so a rule of one language sees
what another language's lexicon knows about the same words. Languages are tried in order of
how much the message looks like each (function words), so the evidence names the likeliest
language; the outcome is the strongest any language finds:

0. a word one language knows is never a typo in another ("anmelden" is German for subscribe,
   not a misspelt Dutch "afmelden");
1. a re-subscribe request (strong signs) wins, because such messages also contain
   "unsubscribed" and must never suppress;
2. else an explicit opt-out, else a possible one; a match that needed a typo guess for any of
   its words is downgraded to possible, so an agent sees every guess;
3. else a weak re-subscribe sign ("I'd like to keep receiving the newsletter").
"""

from collections.abc import Iterable

from streams.optout.language import Language
from streams.optout.model import Detection, Outcome
from streams.optout.rules import Rule, View
from streams.optout.tags import ANY_NEG, CONTEXT_TAGS, NEG
from streams.optout.text import Tokens, tokenise
from streams.optout.vetoes import vetoed

_RANK = {Outcome.OPT_OUT: 0, Outcome.POSSIBLE_OPT_OUT: 1}


def _first(rules: Iterable[Rule], view: View) -> tuple[Rule, tuple[int, ...]] | None:
    for r in rules:
        for m in r.find(view):
            if not vetoed(r, view, m):
                return r, m
    return None


def _detection(lang: Language, r: Rule, m: tuple[int, ...], view: View, tokens: Tokens,
               outcome: Outcome | None = None) -> Detection:
    outcome = outcome or r.outcome
    if outcome is Outcome.OPT_OUT and any(view.typo[i] for i in m):
        outcome = Outcome.POSSIBLE_OPT_OUT
    span = (tokens.starts[min(m)], tokens.ends[max(m)])
    return Detection(outcome, f"{lang.code}.{r.name}", lang.code, span)


def _settle(views: list[tuple[Language, View]]) -> None:
    """Drop typo guesses another language knows better; pool context tags across languages
    (and negations, as ``ANY_NEG``, which only vetoes read)."""
    guessed = {i for _, v in views for i, f in enumerate(v.typo) if f}
    for i in guessed:  # a word one language knows is no typo in another ("anmelden")
        if any(v.tags[i] and not v.typo[i] for _, v in views):
            for _, v in views:
                if v.typo[i]:
                    v.clear(i)
    context: dict[int, set[str]] = {}
    for _, v in views:
        for tag in CONTEXT_TAGS:
            for i in v.index.get(tag, ()):
                context.setdefault(i, set()).add(tag)
        for i in v.index.get(NEG, ()):  # "I no longer get it, did you unsubscribe me?"
            context.setdefault(i, set()).add(ANY_NEG)
    for i, tags in context.items():
        for _, v in views:
            if not tags <= v.tags[i]:
                v.add(i, tags)


def run(languages: Iterable[Language], text: str) -> Detection | None:
    """The detection for ``text`` (see the module docstring), or ``None``."""
    tokens = tokenise(text)
    if not tokens.words:
        return None
    views = [(lang, lang.view(tokens)) for lang in languages]
    _settle(views)
    views.sort(key=lambda lv: -lv[0].score(lv[1]))  # stable: ties keep the given order
    for lang, view in views:
        if hit := _first(lang.resubscribe, view):
            return _detection(lang, *hit, view, tokens)
    best: Detection | None = None
    for lang, view in views:
        if hit := _first(lang.opt_out, view):
            found = _detection(lang, *hit, view, tokens)
            if best is None or _RANK[found.outcome] < _RANK[best.outcome]:
                best = found
            if best.outcome is Outcome.OPT_OUT:
                return best
    if best is not None:
        return best
    for lang, view in views:
        if hit := _first(lang.keep, view):
            return _detection(lang, *hit, view, tokens)
    return None
