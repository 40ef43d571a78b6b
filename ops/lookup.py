"""`consent lookup EMAIL`: what we hold on one person and why we did (not) mail them.

The address is hashed to the contact key here and never stored or printed beyond what the
operator typed; an address that is not valid is refused with the reason only.

Everything printed from the database is shown, never obeyed (`ops.terminal`): stored text came
from integrators and the public. And whatever PostgreSQL can store, lookup can show: a
`timestamptz` Python cannot hold (after 9999, BC, infinity) is shown as PostgreSQL's own text,
and a `jsonb` Python's parser refuses (a 5,000-digit number, deep nesting) as its JSON text.

For an erased contact it states until when raw copies may still exist in Kafka: the erasure
removes the profile at once, but events and mail written before it age out with their topics'
retention (`schemas.topics.Retention.raw_copies_ms`, from the same settings `consent topics
create` applies). `--json` prints the whole record as one document (`ops.held`), the same one a
legal disclosure exports.
"""

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import set_json_loads
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ops.terminal import cell, visible
from schemas.contact import contact_key
from schemas.exceptions import InvalidEmail
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
    reviews: list[tuple[Any, ...]] | None = None
    disclosures: list[tuple[Any, ...]] | None = None
    raw_copies_ms: int = 0
    """How long raw copies may outlive an erasure (0: not known, nothing is stated)."""

    def raw_copies_until(self, erased_at: object) -> datetime | None:
        """Until when raw copies written before an erasure done at `erased_at` may exist."""
        if not self.raw_copies_ms or not isinstance(erased_at, datetime):
            return None
        try:
            return erased_at + timedelta(milliseconds=self.raw_copies_ms)
        except OverflowError:  # an erasure stored near the end of Python's calendar
            return None


class LenientTimestamptzLoader(TimestamptzLoader):
    """A `timestamptz` as a datetime, or as PostgreSQL's text when Python cannot hold it."""

    def load(self, data: Any) -> datetime | str:  # type: ignore[override]  # text when Python cannot hold it
        try:
            return super().load(data)
        except psycopg.DataError:
            return bytes(data).decode("utf-8", errors="replace")


def lenient_json(data: bytes | str) -> Any:
    """Parsed JSON, or the JSON text itself when Python's parser refuses it."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data


def _prepare(conn: psycopg.Connection) -> None:
    conn.execute("SET TIME ZONE 'UTC'")  # one zone for every time shown, whatever the server's
    conn.adapters.register_loader("timestamptz", LenientTimestamptzLoader)
    set_json_loads(lenient_json, conn)


REVIEW_COLUMNS = ("created_at", "review_id", "ticket_id", "outcome", "suggested", "rule",
                  "language", "span", "occurred_at", "resolved_at", "resolution")
DISCLOSURE_COLUMNS = ("disclosed_at", "event_id", "case_ref", "authority", "legal_basis",
                      "categories", "principal", "operator", "recorded_at", "export_sha256")


def lookup(settings: SinkSettings, email: str, history_limit: int | None = 50) -> LookupResult:
    """Everything stored on one contact; `history_limit=None` for all of it (exports)."""
    key = contact_key(email, settings.key_secret.get_secret_value())
    with connect(settings) as conn:
        _prepare(conn)
        conn.commit()
        # one snapshot for every table: an export must not mix two moments
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        current = conn.execute(
            "SELECT purpose, status, updated_at, policy_version FROM consent_current "
            "WHERE contact_key = %s ORDER BY purpose", (key,)).fetchall()
        history = conn.execute(
            "SELECT occurred_at, event_type, source, scope, action, applied, rule, evidence, "
            "detected, policy_version FROM consent_ledger WHERE contact_key = %s "
            "ORDER BY occurred_at DESC, id DESC LIMIT %s", (key, history_limit)).fetchall()
        decisions = conn.execute(
            "SELECT decided_at, request_id, purpose, outcome, reason, rule, campaign "
            "FROM mail_decisions WHERE contact_key = %s ORDER BY decided_at DESC LIMIT %s",
            (key, history_limit)).fetchall()
        profile = conn.execute(
            "SELECT email, name, company, phone, address, country, sources, first_seen, last_seen "
            "FROM contacts WHERE contact_key = %s", (key,)).fetchone()
        erasures = conn.execute(
            "SELECT requested_at, request_ref, erased_at FROM erasures WHERE contact_key = %s "
            "ORDER BY requested_at", (key,)).fetchall()
        reviews = conn.execute(
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM review_items WHERE contact_key = %s "  # noqa: S608 - constant column names
            "ORDER BY created_at", (key,)).fetchall()
        disclosures = conn.execute(
            f"SELECT {', '.join(DISCLOSURE_COLUMNS)} FROM disclosures WHERE contact_key = %s "  # noqa: S608 - constant column names
            "ORDER BY disclosed_at", (key,)).fetchall()
        conn.rollback()
    return LookupResult(key, current, history, decisions, profile, erasures, reviews,
                        disclosures, settings.retention().raw_copies_ms)


def when(value: object, *, date_only: bool = False) -> str:
    """A stored time for display: ISO 8601, or the database's own text for an extreme one."""
    if isinstance(value, datetime):
        return value.date().isoformat() if date_only else value.isoformat(timespec="seconds")
    return visible(value)


def evidence_text(evidence: object) -> str:
    """`key=value, …` for an object, else the JSON as it is (jsonb may hold any value)."""
    if isinstance(evidence, dict):
        return ", ".join(f"{visible(k)}={visible(v)}" for k, v in evidence.items())
    if evidence is None:
        return ""
    return visible(evidence if isinstance(evidence, str) else json.dumps(evidence))


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def render_lookup(result: LookupResult, console: Console) -> None:
    console.print(Text.assemble("contact key ", (result.contact_key, "bold")))
    if not result.current and not result.history:
        console.print("never seen: every mail is suppressed as [bold]no_relationship[/bold]")
        return
    if result.profile is not None:
        email, name, company, phone, address, country, sources, first, last = result.profile
        held = _table("Personal data held (from the compacted contacts topic)", "field", "value")
        given_via = ", ".join(map(str, sources)) if isinstance(sources, list) else sources
        for label, value in (("e-mail", email), ("name", name), ("company", company),
                             ("phone", phone), ("address", address), ("country", country),
                             ("given via", given_via),
                             ("first / last seen",
                              f"{when(first, date_only=True)} / {when(last, date_only=True)}")):
            if value:
                held.add_row(label, cell(value))
        console.print(held)
    else:
        console.print("no personal data held")
    for requested_at, ref, erased_at in result.erasures or []:
        console.print(Text.assemble(
            ("erased", "bold"), f": request {visible(ref)} of {when(requested_at)}, done "
            f"{when(erased_at)}; only the keyed hash remains"))
        until = result.raw_copies_until(erased_at)
        if until is not None:
            console.print(Text(
                "raw copies written before the erasure (input topics, mail-requests, "
                f"mail-outbox, dead-letters) may exist in Kafka until {when(until)}, when their "
                "retention has deleted them; the profile leaves the compacted contacts topic "
                "at its next compaction"))
    cur = _table("Current consent", "purpose", "status", "since", "policy")
    for purpose, status, at, version in result.current:
        style = "green" if status == "allowed" else "red"
        cur.add_row(cell(purpose), cell(status, style), Text(when(at)), cell(version))
    console.print(cur)
    hist = _table("History (newest first)", "event time", "event", "source", "scope", "action",
                  "applied", "rule", "evidence")
    for at, etype, src, scope, action, applied, rule, evidence, detected, _v in result.history:
        hist.add_row(Text(when(at)), cell(etype), cell(src), cell(scope), cell(action),
                     "yes" if applied else "superseded",
                     Text(visible(rule) + (" (detected, review)" if detected else "")),
                     Text(evidence_text(evidence)))
    console.print(hist)
    if result.decisions:
        dec = _table("Mail decisions (newest first)", "decided", "request", "purpose", "outcome",
                     "reason", "rule", "campaign")
        for at, rid, purpose, outcome, reason, rule, campaign in result.decisions:
            dec.add_row(Text(when(at)), cell(rid), cell(purpose), cell(outcome), cell(reason),
                        cell(rule), cell(campaign))
        console.print(dec)
    if result.reviews:
        rev = _table("Review items (detected text an agent confirms or reverses)", "created",
                     "outcome", "suggested", "rule", "ticket", "span", "resolved")
        for (created, _rid, ticket, outcome, suggested, rule, _lang, span, _at, resolved_at,
             resolution) in result.reviews:
            rev.add_row(Text(when(created)), cell(outcome), cell(suggested), cell(rule),
                        cell(ticket), cell(span),
                        Text(f"{visible(resolution)} {when(resolved_at)}" if resolved_at
                             else "open"))
        console.print(rev)
    if result.disclosures:
        dis = _table("Legal disclosures", "disclosed", "case", "authority", "legal basis",
                     "categories", "by", "disclosure id")
        for (at, eid, case, authority, basis, categories, principal, operator, _rec,
             _sha) in result.disclosures:
            shown = ", ".join(map(str, categories)) if isinstance(categories, list) else categories
            dis.add_row(Text(when(at)), cell(case), cell(authority), cell(basis), cell(shown),
                        cell(f"{principal} ({operator})"), cell(eid))
        console.print(dis)


def run_lookup(email: str, console: Console | None = None, *, as_json: bool = False) -> int:
    """The command: exit 2 with the reason (never the address) when the address is not valid.

    `as_json`: the whole record (no row limit) as one JSON document on stdout, for an access
    request; escaped to ASCII, so no stored text can drive a terminal it is printed on.
    """
    settings = SinkSettings()
    try:
        result = lookup(settings, email, history_limit=None if as_json else 50)
        if as_json:
            from ops.held import access_document, dumps

            sys.stdout.buffer.write(dumps(access_document(result, email, settings)))
            sys.stdout.flush()
            return 0
    except InvalidEmail as exc:
        Console(stderr=True, soft_wrap=True).print(
            Text(f"error: not a valid e-mail address: {exc}", style="red"))
        return 2
    render_lookup(result, console or Console())
    return 0
