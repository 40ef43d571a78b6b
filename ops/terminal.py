"""Stored text on an operator's terminal: shown as it is, never obeyed.

Why: what the database holds came from integrators and the public (a name, a request id, an
event source, a file name). Printed raw, `ESC ] 0 ; … BEL` retitles the terminal, `ESC [ 2 J`
clears it, a bidi override reorders what the operator reads, and Rich markup such as `[/b]`
crashes the renderer. So every such value goes through `visible`, which replaces each control,
format or line-separator character by its backslash escape (the value stays readable and
complete, as evidence should), and then reaches Rich either as a `Text` (`cell`; Rich parses
neither markup nor `:emoji:` codes in it) or, inside a markup string, through
`rich.markup.escape` (`markup_safe`).
"""

import unicodedata

from rich.markup import escape
from rich.text import Text

MAX_SHOWN_CHARS = 2_000
"""A stored value longer than this is cut (with the count of what is left out) before display."""

_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Cn"})
_JOINERS = frozenset({"\u200c", "\u200d"})  # ZWNJ/ZWJ: part of Persian, Indic and emoji text
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(c: str) -> str:
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """`value` as text with every terminal control (C0, C1, ESC, bidi, …) shown as an escape."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    cut = ""
    if len(text) > limit:
        cut = f"… ({len(text) - limit} more characters)"
        text = text[:limit]
    if not text.isprintable():
        text = "".join(_escape_char(c) if unicodedata.category(c) in _UNSAFE
                       and c not in _JOINERS else c for c in text)
    return text + cut


def cell(value: object, style: str = "") -> Text:
    """A stored value as a Rich `Text`: never parsed for markup, controls escaped."""
    return Text(visible(value), style=style)


def markup_safe(value: object) -> str:
    """A stored value for use inside a Rich markup string."""
    return escape(visible(value))
