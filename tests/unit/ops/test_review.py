"""`consent review` rendering and the mapping from an agent's verdict to a consent action."""

from datetime import UTC, datetime

import pytest
from rich.console import Console

from ops.review import ACTIONS, Item, render


def _item(**kw: str) -> Item:
    base = {"review_id": "r1", "contact_key": "k" * 64, "ticket_id": "T-1",
            "outcome": "possible_opt_out", "suggested": "confirm_withdrawal", "rule": "en.x",
            "language": "en", "span": "0-4"}
    return Item(**{**base, **kw}, created_at=datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_stored_text_is_shown_escaped_never_as_markup_or_control_codes() -> None:
    console = Console(width=200, record=True)
    render([_item(ticket_id="[/b]\x1b]0;pwned\x07", rule="[red]x")], console)
    out = console.export_text()
    assert "[/b]" in out and "\\x1b" in out and "[red]x" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "k" * 64 not in out  # the contact key is not needed to decide an item


def test_empty_listing_says_so() -> None:
    console = Console(record=True)
    render([], console)
    assert "no open review items" in console.export_text()


@pytest.mark.parametrize(("suggested", "verdict", "action"), [
    ("confirm_withdrawal", "confirm", "withdrawn"), ("confirm_withdrawal", "reverse", "granted"),
    ("confirm_grant", "confirm", "granted"), ("confirm_grant", "reverse", "withdrawn")])
def test_a_verdict_is_an_explicit_action(suggested: str, verdict: str, action: str) -> None:
    assert ACTIONS[(suggested, verdict)] == action
