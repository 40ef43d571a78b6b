"""`consent lookup EMAIL`: what we hold on one person and why we did (not) mail them.

The address is hashed to the contact key here and never stored or printed beyond what the
operator typed.
"""

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from schemas.contact import contact_key
from sinks.db import connect
from sinks.settings import SinkSettings


@dataclass
class LookupResult:
    contact_key: str
    current: list[tuple[Any, ...]]
    history: list[tuple[Any, ...]]
    decisions: list[tuple[Any, ...]]


def lookup(settings: SinkSettings, email: str, history_limit: int = 50) -> LookupResult:
    key = contact_key(email, settings.key_secret.get_secret_value())
    with connect(settings) as conn:
        current = conn.execute(
            "SELECT purpose, status, updated_at, policy_version FROM consent_current "
            "WHERE contact_key = %s ORDER BY purpose", (key,)).fetchall()
        history = conn.execute(
            "SELECT occurred_at, event_type, source, scope, action, applied, rule, evidence, "
            "detected, policy_version FROM consent_ledger WHERE contact_key = %s "
            "ORDER BY occurred_at DESC, id DESC LIMIT %s", (key, history_limit)).fetchall()
        decisions = conn.execute(
            "SELECT decided_at, request_id, purpose, outcome, reason, rule FROM mail_decisions "
            "WHERE contact_key = %s ORDER BY decided_at DESC LIMIT %s",
            (key, history_limit)).fetchall()
    return LookupResult(key, current, history, decisions)


def render_lookup(result: LookupResult, console: Console) -> None:
    console.print(f"contact key [bold]{result.contact_key}[/bold]")
    if not result.current and not result.history:
        console.print("never seen: every mail is suppressed as [bold]no_relationship[/bold]")
        return
    cur = Table(title="Current consent")
    for col in ("purpose", "status", "since", "policy"):
        cur.add_column(col)
    for purpose, status, at, version in result.current:
        style = "green" if status == "allowed" else "red"
        cur.add_row(purpose, f"[{style}]{status}[/{style}]", at.isoformat(timespec="seconds"),
                    version)
    console.print(cur)
    hist = Table(title="History (newest first)")
    for col in ("event time", "event", "source", "scope", "action", "applied", "rule", "evidence"):
        hist.add_column(col)
    for at, etype, src, scope, action, applied, rule, evidence, detected, _v in result.history:
        ev = ", ".join(f"{k}={v}" for k, v in (evidence or {}).items())
        hist.add_row(at.isoformat(timespec="seconds"), etype, src, scope, action,
                     "yes" if applied else "superseded",
                     rule + (" (detected, review)" if detected else ""), ev)
    console.print(hist)
    if result.decisions:
        dec = Table(title="Mail decisions (newest first)")
        for col in ("decided", "request", "purpose", "outcome", "reason", "rule"):
            dec.add_column(col)
        for at, rid, purpose, outcome, reason, rule in result.decisions:
            dec.add_row(at.isoformat(timespec="seconds"), rid, purpose, outcome, reason or "",
                        rule or "")
        console.print(dec)
