"""A language's vocabulary: which concept (tag) each word stands for, tolerant of form and typos.

Why a lexicon of concepts and not a list of sentences: rules compose a handful of concepts
(a request to stop + contact + a person, see ``rules``), so a new phrasing is caught as soon as
its words are known, whatever their order or inflection. Each word is recognised through, in
order:

1. its folded form with repeated letters squeezed ("stooop", "mailss", "stopp" -> one letter
   per run, so a doubled or missing double letter does not matter); lexicon entries are
   squeezed the same way;
2. its Snowball stem (PyStemmer), so one entry covers inflections ("contacting", "contacted");
3. prefixes (``"unsub*"``) and, for compounding languages, infixes (``"*werb*"`` in
   "Werbemails", "Produktwerbung");
4. failing all that, a typo: one edit (a missing, extra or swapped letter; from seven letters
   on also a wrong letter; two edits from ten letters on) from a known word with the same
   first letter, measured with rapidfuzz's optimal-string-alignment distance. Four-letter
   words only match a swap of their own letters ("mial").
   Words listed as ``known`` never count as typos ("contract" is not "contact"), and only
   request vocabulary is a typo target.

Entries: ``"word"`` (form and stem), ``"=word"`` (exact form only), ``"pre*"``, ``"*mid*"``,
and multi-word phrases ``"leave me alone"`` whose words may end in ``*``; a phrase tags every
token it covers. Results are cached per word, so a long-running worker pays for each distinct
word once.
"""

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import Stemmer
from rapidfuzz.distance import OSA

from streams.optout.text import fold

_RUNS = re.compile(r"(.)\1+")
_CACHE_LIMIT = 100_000


def squeeze(word: str) -> str:
    """Repeated letters collapsed to one: the key every lookup uses.

    Words of four letters or fewer are left alone: "off" is not "of", "too" is not "to".
    """
    return _RUNS.sub(r"\1", word) if len(word) > 4 else word


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words (each exact, or a prefix when it ends in ``*``) that carry tags."""

    words: tuple[str, ...]
    tags: frozenset[str]

    def matches_at(self, words: tuple[str, ...], i: int) -> bool:
        if i + len(self.words) > len(words):
            return False
        for pattern, word in zip(self.words, words[i:], strict=False):
            w = squeeze(word)
            if not (w == pattern or (pattern.endswith("*") and w.startswith(pattern[:-1]))):
                return False
        return True


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
    known: frozenset[str]
    enclitics: tuple[str, ...] = ()
    _cache: dict[str, tuple[frozenset[str], bool]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stem(self, word: str) -> str:
        with self._lock:  # PyStemmer objects are not thread-safe
            return squeeze(self.stemmer.stemWord(word))

    def tags(self, word: str) -> tuple[frozenset[str], bool]:
        """The tags of one folded word, and whether they were found only as a typo."""
        hit = self._cache.get(word)
        if hit is None:
            hit = self._lookup(word)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = hit
        return hit

    def _known_tags(self, word: str) -> set[str]:
        sq = squeeze(word)
        tags = set(self.exact.get(sq, ()))
        tags |= self.stems.get(self.stem(word), frozenset())
        for prefix, t in self.prefixes:
            if sq.startswith(prefix):
                tags |= t
        for infix, t in self.infixes:
            if infix in sq:
                tags |= t
        return tags

    def _lookup(self, word: str) -> tuple[frozenset[str], bool]:
        tags = self._known_tags(word)
        for clitic in self.enclitics:  # Spanish "quitenme", "enviarme": verb + me
            if not tags and word.endswith(clitic) and len(word) > len(clitic) + 3:
                verb_tags = self._known_tags(word[: -len(clitic)])
                if verb_tags:
                    tags = verb_tags | {"person"}
        if tags or not word.isalpha():
            return frozenset(tags), False
        typo = self._typo(squeeze(word))
        return (self.typo_tags[typo], True) if typo else (frozenset(), False)

    def _typo(self, word: str) -> str | None:
        if len(word) < 4 or word in self.known:
            return None
        cutoff = 2 if len(word) >= 10 else 1
        letters = sorted(word)
        best: tuple[int, str] | None = None
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


def compile_lexicon(
    code: str,
    stemmer: str,
    entries: Mapping[str, Iterable[str]],
    known: Iterable[str] = (),
    enclitics: Iterable[str] = (),
    typo_tags: frozenset[str] = frozenset(),
) -> Lexicon:
    """Compile ``tag -> entries`` (see the module docstring) for language ``code``.

    Only words carrying one of ``typo_tags`` are candidates for typo matching: a typo may turn
    a word into a request, never into context that changes the outcome (a re-subscribe cue).
    """
    lex = Lexicon(code, Stemmer.Stemmer(stemmer), {}, {}, (), (), {}, {}, {},
                  frozenset(squeeze(fold(k)) for k in known), tuple(enclitics))
    exact: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    infixes: dict[str, set[str]] = {}
    phrases: dict[str, list[Phrase]] = {}
    for tag, words in entries.items():
        for entry in words:
            e = fold(entry)
            if " " in e:
                parts = tuple(squeeze(w) for w in e.split())
                key = "" if parts[0].endswith("*") else parts[0]
                phrases.setdefault(key, []).append(Phrase(parts, frozenset({tag})))
            elif e.startswith("*") and e.endswith("*"):
                infixes.setdefault(squeeze(e.strip("*")), set()).add(tag)
            elif e.endswith("*"):
                prefixes.setdefault(squeeze(e[:-1]), set()).add(tag)
                if len(e) > 6:  # "verwijder*": "verwijdr" is a typo of "verwijder"
                    exact.setdefault(squeeze(e[:-1]), set()).add(tag)
            elif e.startswith("="):
                exact.setdefault(squeeze(e[1:]), set()).add(tag)
            else:
                exact.setdefault(squeeze(e), set()).add(tag)
                stems.setdefault(lex.stem(e), set()).add(tag)
    lex.exact = {k: frozenset(v) for k, v in exact.items()}
    lex.stems = {k: frozenset(v) for k, v in stems.items()}
    lex.prefixes = tuple((k, frozenset(v)) for k, v in sorted(prefixes.items()))
    lex.infixes = tuple((k, frozenset(v)) for k, v in sorted(infixes.items()))
    lex.phrases = {k: tuple(v) for k, v in phrases.items()}
    for word, tags in exact.items():
        if len(word) >= 4 and word.isalpha() and tags & typo_tags:
            lex.typo_choices.setdefault(word[0], []).append(word)
            lex.typo_tags[word] = frozenset(tags & typo_tags)
    return lex
