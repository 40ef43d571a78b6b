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
    profile: tuple[Any, ...] | None = None
    erasures: list[tuple[Any, ...]] | None = None


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
        profile = conn.execute(
            "SELECT email, name, company, phone, address, country, sources, first_seen, last_seen "
            "FROM contacts WHERE contact_key = %s", (key,)).fetchone()
        erasures = conn.execute(
            "SELECT requested_at, request_ref, erased_at FROM erasures WHERE contact_key = %s "
            "ORDER BY requested_at", (key,)).fetchall()
    return LookupResult(key, current, history, decisions, profile, erasures)


def render_lookup(result: LookupResult, console: Console) -> None:
    console.print(f"contact key [bold]{result.contact_key}[/bold]")
    if not result.current and not result.history:
        console.print("never seen: every mail is suppressed as [bold]no_relationship[/bold]")
        return
    if result.profile is not None:
        email, name, company, phone, address, country, sources, first, last = result.profile
        held = Table(title="Personal data held (from the compacted contacts topic)")
        held.add_column("field")
        held.add_column("value")
        for label, value in (("e-mail", email), ("name", name), ("company", company),
                             ("phone", phone), ("address", address), ("country", country),
                             ("given via", ", ".join(sources)),
                             ("first / last seen", f"{first:%Y-%m-%d} / {last:%Y-%m-%d}")):
            if value:
                held.add_row(label, str(value))
        console.print(held)
    else:
        console.print("no personal data held")
    for requested_at, ref, erased_at in result.erasures or []:
        console.print(f"[bold]erased[/bold]: request {ref} of {requested_at:%Y-%m-%d %H:%M}, "
                      f"done {erased_at:%Y-%m-%d %H:%M}; only the keyed hash remains")
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
