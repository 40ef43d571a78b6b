"""Stored text is shown, never obeyed: no control character reaches the terminal, no markup is
parsed, nothing that can be displayed is lost."""

import io
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from ops.terminal import MAX_SHOWN_CHARS, cell, markup_safe, visible

UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp", "Cn"}
JOINERS = "\u200c\u200d"
HOSTILE = "[/b]Jo\x1b]0;pwned\x07 \x1b[2J\x9b31m\u202egnp.exe\u2066\r\n[bold red]x[/]\x00"


def render(*values: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=300, force_terminal=False, color_system=None)
    table = Table()
    table.add_column("value")
    for v in values:
        table.add_row(cell(v))
    console.print(table)
    console.print(f"inline {markup_safe(HOSTILE)} end")
    return out.getvalue()


def test_controls_are_shown_as_escapes():
    assert visible(HOSTILE) == ("[/b]Jo\\x1b]0;pwned\\x07 \\x1b[2J\\x9b31m\\u202egnp.exe\\u2066"
                                "\\r\\n[bold red]x[/]\\x00")


def test_markup_and_escape_codes_render_harmlessly():
    text = render(HOSTILE, ":smile: [link=http://x]y[/link]")
    assert "[/b]Jo" in text and "[bold red]x[/]" in text and ":smile:" in text
    assert "[link=http://x]y[/link]" in text
    assert "inline [/b]Jo" in text
    assert not any(c in text for c in "\x1b\x07\x9b\u202e\u2066\x00\r")


def test_ordinary_text_is_unchanged():
    for text in ("Zoë O'Brien-Ñúñez", "مرحبا", "日本語", "می\u200cخواهم", "👩\u200d👩\u200d👧",
                 "C:\\path", "a\u00a0b"):
        assert visible(text) == text


def test_none_is_empty_and_long_values_are_cut_with_a_count():
    assert visible(None) == ""
    shown = visible("x" * (MAX_SHOWN_CHARS + 5))
    assert shown == "x" * MAX_SHOWN_CHARS + "… (5 more characters)"


@given(st.text())
def test_no_control_format_or_separator_character_reaches_the_output(value: str):
    shown = visible(value, limit=10_000)
    assert [c for c in shown if unicodedata.category(c) in UNSAFE and c not in JOINERS] == []
    out = render(value)  # and Rich renders it, markup and all, without an error
    assert "\x1b" not in out and "\x9b" not in out
