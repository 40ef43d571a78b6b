"""Turn a support message into tokens every language's rules read, with offsets into the original.

Why tokens and not one normalised string: evidence must point into the *original* text (the
ledger stores offsets, never the text), and normalising (NFKD, casefold, ``ß`` to ``ss``, ligatures)
changes lengths. So each token keeps the offsets of the characters it came from, and rules only
ever see folded words.

What the tokeniser does, and why:

* **Quoted replies are dropped.** A reply to a promotion quotes its footer ("unsubscribe here")
  and an ordinary reply would look like an opt-out. Lines starting with ``>`` are skipped; a
  reply header ("On ... wrote:", "-----Original Message-----", "Von:", ...) ends the message.
* **Words are folded** (:func:`fold`): casefold, accents stripped, ligatures split. Repeated
  letters are squeezed later, when words are looked up (see ``lexicon``), not here.
* **E-mail addresses and URLs become one token** ``@addr``: they name a person ("remove
  jane@example.com") and their dots are not sentence ends.
* **Clitics are split**: French elision ("m'envoyer" -> "me envoyer") and English "n't"
  ("don't" -> "do not"); other apostrophes are dropped ("reicht's" -> "reichts"). "e-mail" is
  joined, other hyphenated words stay apart ("Support-Hinweise", "re-subscribe").
* **Clauses**: ``.!?;:``, a spaced dash and line breaks end a clause, except dots of abbreviations ("Fr.",
  "a.u.b.", "Art. 21") and colons in times. Rules combine words within one clause only. A clause
  ended by ``?`` is remembered as a question: "did you unsubscribe me?" after "I no longer get
  the newsletter" reports a fault, it does not ask to leave.

Everything is linear in the length of the text: bounded character classes, no nested quantifiers.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

ADDRESS = "@addr"
"""The token that stands for an e-mail address or URL."""

_LEX = re.compile(
    r"(?P<a>[^\s@<>()\[\]{},;:\"'\u2019]{1,64}@[^\s@<>()\[\]{},;:\"'\u2019]{1,253})"
    r"|(?P<u>(?:https?://|www\.)\S{1,2000})"
    r"|(?P<abbr>(?:[^\W\d_]\.){2,})"
    r"|(?P<w>[^\W_]+(?:['\u2019\u02bc`\u00b4][^\W_]+)*)"
    r"|(?P<b>[.!?;:\n\u2026]|(?<=\s)[-\u2013\u2014](?=\s))"
    r"|(?P<c>[,()\u2013\u2014])"
)
_QUOTE_HEADER = re.compile(
    r"(?:-{2,} ?(?:original|forwarded|urspr|weitergeleitet|message d'origine|mensaje original)"
    r"|(?:on|op|le|am|el)\b.{0,200}\b(?:wrote|schreef|a \u00e9crit|schrieb|escribi\u00f3)\s*:"
    r"|(?:from|von|van|de|sent|gesendet|envoy\u00e9|enviado)\s?:\s)",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"--\s*$")
_ELISIONS = {
    "l": "le", "d": "de", "m": "me", "t": "te", "s": "se", "n": "ne", "j": "je", "c": "ce",
    "qu": "que", "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque",
}
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr dhr mevr mw fr hr sr sra srta mme mlle art nr no st ca bzw evtl ggf usw etc"
    " tel cust approx vs jr prof ing abs apdo".split()
)
_JOINED_PREFIXES = frozenset({"e"})
_HYPHENS = "-\u2010\u2011"
_EXTRA = str.maketrans({"\u0153": "oe", "\u00e6": "ae", "\u00f8": "o", "\u0142": "l", "\u0111": "d"})


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """Casefolded, accents stripped, ligatures split: the form lexicons and rules are written in."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_EXTRA)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Folded words with ``[start, end)`` offsets into the original text and a clause number.

    ``soft[i]`` says a comma, dash or bracket stands between token ``i - 1`` and token ``i``:
    "invoices, no advertising" keeps "invoices" from qualifying "advertising". ``questions``
    holds the numbers of the clauses that end with a question mark.
    """

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    clauses: tuple[int, ...]
    soft: tuple[bool, ...]
    questions: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.words)


def _kept_segments(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``text`` that are the customer's own words."""
    segments: list[tuple[int, int]] = []
    pos = 0
    first = True
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        stripped = line.strip()
        if not first and (_QUOTE_HEADER.match(stripped) or _SIGNATURE.match(stripped)):
            break
        if stripped:
            first = False
        if stripped.startswith(">"):
            continue
        segments.append((start, pos))
    return segments


class _Builder:
    """Collects tokens; keeps the clause counter and the join / split decisions in one place."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.clauses: list[int] = []
        self.soft: list[bool] = []
        self.clause = 0
        self.pause = False
        self.questions: set[int] = set()

    def add(self, word: str, start: int, end: int) -> None:
        self.words.append(word)
        self.starts.append(start)
        self.ends.append(end)
        self.clauses.append(self.clause)
        self.soft.append(self.pause)
        self.pause = False

    def add_word(self, text: str, raw: str, start: int) -> None:
        word = fold(raw)
        if self.words and self.ends[-1] == start - 1 and text[start - 1] in _HYPHENS \
                and self.clauses[-1] == self.clause and self.words[-1] in _JOINED_PREFIXES:
            self.words[-1] += word  # e-mail
            self.ends[-1] = start + len(raw)
            return
        parts = re.split(r"['\u2019\u02bc`\u00b4]", word)
        if len(parts) == 1:
            self.add(word, start, start + len(raw))
            return
        head = parts[0]
        if head in _ELISIONS:
            self.add(_ELISIONS[head], start, start + len(head) + 1)
            rest = "".join(parts[1:])
            self.add(rest, start + len(head) + 1, start + len(raw))
        elif len(parts) == 2 and parts[1] == "t" and head.endswith("n"):
            self.add(head[:-1], start, start + len(head) - 1)  # don't -> do not
            self.add("not", start + len(head) - 1, start + len(raw))
        else:
            self.add("".join(parts), start, start + len(raw))

    def boundary(self, text: str, char: str, start: int) -> None:
        prev = self.words[-1] if self.words and self.clauses[-1] == self.clause else ""
        nxt = text[start + 1 : start + 2]
        if char == "." and (prev in _ABBREVIATIONS or (prev.isdigit() and nxt.isdigit())):
            return
        if char == ":" and prev.isdigit() and nxt.isdigit():
            return
        if char == "?":
            self.questions.add(self.clause)
        self.clause += 1


def tokenise(text: str) -> Tokens:
    """The tokens of the customer's own words in ``text`` (quoted replies and signature left out)."""
    b = _Builder()
    for seg_start, seg_end in _kept_segments(text):
        for m in _LEX.finditer(text, seg_start, seg_end):
            kind, start = m.lastgroup, m.start()
            if kind in ("a", "u"):
                b.add(ADDRESS, start, m.end())
            elif kind == "abbr":
                b.add(fold(m.group().replace(".", "")), start, m.end())
            elif kind == "w":
                b.add_word(text, m.group(), start)
            elif kind == "c":
                b.pause = True
            else:
                b.boundary(text, m.group(), start)
        b.clause += 1
    return Tokens(tuple(b.words), tuple(b.starts), tuple(b.ends), tuple(b.clauses),
                  tuple(b.soft), frozenset(b.questions))
