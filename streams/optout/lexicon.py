"""A language's vocabulary: which concept (tag) each word stands for, tolerant of form and typos.

Why a lexicon of concepts and not a list of sentences: rules compose a handful of concepts
(a request to stop + contact + a person, see ``rules``), so a new phrasing is caught as soon as
its words are known, whatever their order or inflection. Each word is recognised through, in
order:

1. its folded form with emphatic runs squeezed ("stooop", "pleeease"); lexicon entries are
   squeezed the same way;
2. its Snowball stem (PyStemmer), so one entry covers inflections ("contacting", "contacted");
3. prefixes (``"unsub*"``) and, for compounding languages, infixes (``"*werb*"`` in
   "Werbemails", "Produktwerbung");
4. failing all that, a typo: a doubled or undoubled letter ("stopp", "mailss", "emailling"),
   or one edit (a missing, extra or swapped letter; from seven letters
   on also a wrong letter; two edits from ten letters on) from a known word with the same
   first letter, measured with rapidfuzz's optimal-string-alignment distance. Four-letter
   words only match a swap of their own letters ("mial").
   Words listed as ``known`` never count as typos ("contract" is not "contact"), and only
   request vocabulary is a typo target. A language may also list *misspellings* it is prone
   to (Spanish writes "v" for "b": "dar de vaja"): an unknown word that is known once respelt
   is that word, flagged as a typo. Chat spellings ("d" for "de", "nix" for "niks", "tt" for
   "tout", "u" for "you") are *aliases*: the word is read as the one it stands for, phrases
   included, and is no typo.

Phrases are matched on those recognised forms, and one word of a phrase after its exact first
word may carry a slip of its own (a letter missing, doubled or swapped: "dar de bja",
"laat me met rsut"), flagged as a typo too; a wrong letter is not a slip ("de bajo", "low",
is not "de baja").

Entries: ``"word"`` (form and stem), ``"=word"`` (exact form only), ``"pre*"``, ``"*mid*"``,
and multi-word phrases ``"leave me alone"`` whose words may end in ``*``; a phrase tags every
token it covers. Results are cached per word, so a long-running worker pays for each distinct
word once.
"""

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import Stemmer
from rapidfuzz.distance import OSA

from streams.optout.tags import PERSON
from streams.optout.text import fold, tokenise

_RUNS = re.compile(r"(.)\1+")
_EMPHASIS = re.compile(r"(.)\1{2,}")
_CACHE_LIMIT = 100_000
_MIN_STEM = 4  # shorter stems merge unrelated words (Spanish "para" and "parar" -> "par")


@lru_cache(maxsize=1 << 16)
def squeeze_all(word: str) -> str:
    """Every run of a repeated letter collapsed to one: for prefix tests and doubled letters."""
    return _RUNS.sub(r"\1", word)


@lru_cache(maxsize=1 << 16)
def squeeze(word: str) -> str:
    """Runs of three or more of a letter collapsed to one ("stooop", "pleeease"): the key of
    every exact lookup. Doubled letters stay ("off" is not "of", "allen" is not "alleen"); a
    wrongly doubled or missing double letter is a typo (see :meth:`Lexicon._typo`).
    """
    return _EMPHASIS.sub(r"\1", word)


Entry = tuple[frozenset[str], bool, tuple["Phrase", ...], str]
"""A word's tags, whether they are a typo guess, the phrases that may start at it, its form."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words (each exact, or a prefix when it ends in ``*``) that carry tags."""

    words: tuple[str, ...]
    tags: frozenset[str]
    second: str  # first letter of the second word ("*": any), a cheap test before matching

    def match(self, words: Sequence[str], i: int) -> bool | None:
        """``None`` if the phrase does not start at ``words[i]``, else whether it needed a slip."""
        if i + len(self.words) > len(words):
            return None
        slipped = False
        for k, (pattern, word) in enumerate(zip(self.words, words[i : i + len(self.words)],
                                                strict=True)):
            if pattern.endswith("*"):
                if not squeeze_all(word).startswith(pattern[:-1]):
                    return None
            elif squeeze(word) != pattern:
                if k == 0 or slipped or not _slip(squeeze(word), pattern):
                    return None
                slipped = True
        return slipped


def _slip(word: str, pattern: str) -> bool:
    """``word`` is ``pattern`` with one letter missing, doubled or swapped (four letters on),
    the first letter kept, as for single words."""
    if len(pattern) < 4 or not len(pattern) - 1 <= len(word) <= len(pattern) + 1 \
            or word[0] != pattern[0] or not word.isalpha():
        return False
    if squeeze_all(word) == squeeze_all(pattern):
        return True
    if len(word) == len(pattern) - 1 or (len(word) == len(pattern) and sorted(word) == sorted(pattern)):
        return OSA.distance(word, pattern, score_cutoff=1) <= 1
    return False


@dataclass(slots=True)
class Lexicon:
    """The compiled vocabulary of one language. Build with :func:`compile_lexicon`."""

    code: str
    stemmer: Stemmer.Stemmer
    exact: dict[str, frozenset[str]]
    stems: dict[str, frozenset[str]]
    prefixes: tuple[tuple[str, frozenset[str]], ...]
    infixes: tuple[tuple[str, frozenset[str]], ...]
    phrases: dict[str, tuple[Phrase, ...]]  # by first word (prefix phrases under "")
    typo_choices: dict[str, list[str]]  # known words by first letter
    typo_tags: dict[str, frozenset[str]]
    typo_prefixes: dict[str, list[str]]  # long prefixes of request words, by first letter
    typo_doubled: dict[str, str]  # request words by their form with every run squeezed
    known: frozenset[str]
    enclitics: tuple[str, ...] = ()
    respell: tuple[tuple[str, str], ...] = ()
    misspell: tuple[tuple[str, str], ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    typo_kinds: frozenset[str] = frozenset()
    _cache: dict[str, Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stem(self, word: str) -> str:
        with self._lock:  # PyStemmer objects are not thread-safe
            return squeeze(self.stemmer.stemWord(word))

    def tags(self, word: str) -> tuple[frozenset[str], bool]:
        """The tags of one folded word, and whether they were found only as a typo."""
        tags, typo, _, _ = self.entry(word)
        return tags, typo

    def entry(self, word: str) -> Entry:
        """:meth:`tags`, the phrases that may start at ``word`` and the form phrases see
        (the respelt word for a misspelling), cached per word."""
        hit = self._cache.get(word)
        if hit is None:
            tags, typo, form = self._lookup(self.aliases.get(word, word))
            hit = (tags, typo, self.phrases.get(squeeze(form), ()) + self.phrases.get("", ()),
                   form)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = hit
        return hit

    def _known_tags(self, word: str) -> set[str]:
        tags = set(self.exact.get(squeeze(word), ()))
        tags |= self.stems.get(self.stem(word), frozenset())
        sq = squeeze_all(word)
        for prefix, t in self.prefixes:
            if sq.startswith(prefix):
                tags |= t
        for infix, t in self.infixes:
            if infix in sq:
                tags |= t
        return tags

    def _lookup(self, word: str) -> tuple[frozenset[str], bool, str]:
        tags = self._known_tags(word)
        for clitic in self.enclitics:  # Spanish "quitenme", "enviarme": verb + me
            if word.endswith(clitic) and len(word) > len(clitic) + 3:
                verb_tags = self._known_tags(word[: -len(clitic)])
                if verb_tags:
                    tags |= verb_tags | {PERSON}
                    break
        if not tags:
            for old, new in self.respell:  # German "moechte", "Hoeren": ö written as oe
                if old in word:
                    tags = self._known_tags(word.replace(old, new))
                    if tags:
                        break
        if tags or not word.isalpha():
            return frozenset(tags), False, word
        for old, new in self.misspell:  # Spanish "vaja", "vorrar": b written as v
            respelt = word.replace(old, new)
            if old in word and (tags := self._known_tags(respelt) & self.typo_kinds):
                return frozenset(tags), True, respelt
        typo = self._typo(squeeze(word))
        return (self.typo_tags[typo], True, word) if typo else (frozenset(), False, word)

    def _typo(self, word: str) -> str | None:
        if len(word) < 4 or word in self.known:
            return None
        if doubled := self.typo_doubled.get(squeeze_all(word)):
            return doubled
        cutoff = 2 if len(word) >= 10 else 1
        letters = sorted(word)
        best: tuple[int, str] | None = None
        for p in self.typo_prefixes.get(word[0], ()) if len(word) >= 7 else ():
            # "desuscrbirme" is a typo of a word starting "desuscri"
            if any(OSA.distance(word[:k], p, score_cutoff=1) <= 1
                   for k in (len(p) - 1, len(p), len(p) + 1)):
                return p
        for c in self.typo_choices.get(word[0], ()):
            if abs(len(c) - len(word)) > cutoff or (len(word) == 4) != (len(c) == 4):
                continue
            d = OSA.distance(word, c, score_cutoff=cutoff)
            if d > cutoff:
                continue
            # short words: a swap, a missing or an extra letter; never another letter
            if len(word) < 7 and len(c) == len(word) and sorted(c) != letters:
                continue
            if best is None or (d, c) < best:
                best = (d, c)
        return None if best is None else best[1]


def _entry_words(entry: str) -> tuple[str, ...]:
    """An entry's words, tokenised like messages ("e-mail" -> "email", "m'envoyer" -> 2 words)."""
    words: list[str] = []
    for part in entry.split():
        if "*" in part or part.startswith("="):
            words.append(squeeze_all(part) if part.endswith("*") else part)
        else:
            words.extend(squeeze(w) for w in tokenise(part).words)
    return tuple(words)


def compile_lexicon(
    code: str,
    stemmer: str,
    entries: Mapping[str, Iterable[str]],
    known: Iterable[str] = (),
    enclitics: Iterable[str] = (),
    typo_tags: frozenset[str] = frozenset(),
    respell: Iterable[tuple[str, str]] = (),
    misspell: Iterable[tuple[str, str]] = (),
    aliases: Mapping[str, str] = MappingProxyType({}),
) -> Lexicon:
    """Compile ``tag -> entries`` (see the module docstring) for language ``code``.

    Only words carrying one of ``typo_tags`` are candidates for typo matching: a typo may turn
    a word into a request, never into context that changes the outcome (a re-subscribe cue).
    """
    lex = Lexicon(code, Stemmer.Stemmer(stemmer), {}, {}, (), (), {}, {}, {}, {}, {},
                  frozenset(squeeze(fold(k)) for k in known), tuple(enclitics), tuple(respell),
                  tuple(misspell), {fold(k): fold(v) for k, v in aliases.items()}, typo_tags)
    exact: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    infixes: dict[str, set[str]] = {}
    phrases: dict[str, list[Phrase]] = {}
    for tag, words in entries.items():
        for entry in words:
            e = fold(entry)
            parts = _entry_words(e)
            if len(parts) > 1:
                key = "" if parts[0].endswith("*") else parts[0]
                phrases.setdefault(key, []).append(Phrase(parts, frozenset({tag}), parts[1][:1]))
                continue
            e = parts[0]
            if e.startswith("*") and e.endswith("*"):
                infixes.setdefault(squeeze_all(e.strip("*")), set()).add(tag)
            elif e.endswith("*"):
                prefixes.setdefault(squeeze_all(e[:-1]), set()).add(tag)
                if len(e) > 6:  # "verwijder*": "verwijdr" is a typo of "verwijder"
                    exact.setdefault(squeeze(e[:-1]), set()).add(tag)
            elif e.startswith("="):
                exact.setdefault(squeeze(e[1:]), set()).add(tag)
            else:
                exact.setdefault(squeeze(e), set()).add(tag)
                if len(stem := lex.stem(e)) >= _MIN_STEM:
                    stems.setdefault(stem, set()).add(tag)
    lex.exact = {k: frozenset(v) for k, v in exact.items()}
    lex.stems = {k: frozenset(v) for k, v in stems.items()}
    lex.prefixes = tuple((k, frozenset(v)) for k, v in sorted(prefixes.items()))
    lex.infixes = tuple((k, frozenset(v)) for k, v in sorted(infixes.items()))
    lex.phrases = {k: tuple(v) for k, v in phrases.items()}
    for prefix, tags in prefixes.items():
        if len(prefix) >= 6 and prefix.isalpha() and tags & typo_tags:
            lex.typo_prefixes.setdefault(prefix[0], []).append(prefix)
            lex.typo_tags[prefix] = lex.typo_tags.get(prefix, frozenset()) | (tags & typo_tags)
    for word, tags in exact.items():
        if len(word) >= 4 and word.isalpha() and tags & typo_tags:
            lex.typo_choices.setdefault(word[0], []).append(word)
            lex.typo_tags[word] = lex.typo_tags.get(word, frozenset()) | (tags & typo_tags)
            lex.typo_doubled.setdefault(squeeze_all(word), word)
    return lex
