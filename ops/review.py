"""`consent review`: detected text an agent should confirm or reverse.

Why one command and one event: an agent's decision is itself a consent event — an explicit
`preference.changed` for the contact (by contact key, so no address is typed or stored) that
names the review item. It goes through the pipeline like every other event, wins by event
time like every other explicit action, and the sink closes the item when its ledger line
arrives, so the decision and its proof are one record.

- a possible opt-out: the contact is already suppressed. `confirm` sends an explicit
  withdrawal of everything, `reverse` an explicit grant of everything;
- a re-subscribe request: nothing changed. `confirm` sends the explicit grant the person
  asked for, `reverse` an explicit withdrawal (they stay unsubscribed).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ops.exceptions import OpsError
from ops.terminal import cell
from schemas.settings import ClientSettings
from sinks.db import connect
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event

SOURCE = "consent-review"
ACTIONS = {("confirm_withdrawal", "confirm"): "withdrawn",
           ("confirm_withdrawal", "reverse"): "granted",
           ("confirm_grant", "confirm"): "granted",
           ("confirm_grant", "reverse"): "withdrawn"}


@dataclass(frozen=True)
class Item:
    review_id: str
    contact_key: str
    ticket_id: str
    outcome: str
    suggested: str
    rule: str
    language: str
    span: str
    created_at: datetime


def open_items(settings: SinkSettings, limit: int = 200) -> list[Item]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT review_id::text, contact_key, ticket_id, outcome, suggested, rule, language, "
            "span, created_at FROM review_items WHERE resolved_at IS NULL "
            "ORDER BY created_at LIMIT %s", (limit,)).fetchall()
    return [Item(*r) for r in rows]


def _item(settings: SinkSettings, review_id: str) -> Item:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT review_id::text, contact_key, ticket_id, outcome, suggested, rule, language, "
            "span, created_at FROM review_items WHERE review_id::text = %s AND "
            "resolved_at IS NULL", (review_id,)).fetchone()
    if row is None:
        raise OpsError(f"no open review item {review_id!r}")
    return Item(*row)


def decide(settings: SinkSettings, review_id: str, verdict: str,
           producer: EventProducer | None = None) -> dict[str, Any]:
    """Send the agent's decision as an explicit preference change; return the event."""
    item = _item(settings, review_id)
    choice = ACTIONS[(item.suggested, verdict)]
    event = make_event("preference.changed", {"contact_key": item.contact_key, "all": choice,
                                               "review_id": item.review_id}, source=SOURCE)
    own = producer is None
    producer = producer or EventProducer(ClientSettings(**_kafka_fields(settings)))
    try:
        producer.send(event)
        producer.flush()
    finally:
        if own:
            producer.close()
    return event


def _kafka_fields(settings: SinkSettings) -> dict[str, Any]:
    return {k: getattr(settings, k) for k in ClientSettings.model_fields}


def render(items: list[Item], console: Console) -> None:
    if not items:
        console.print("no open review items")
        return
    table = Table(title=f"open review items ({len(items)})")
    for col in ("review id", "created", "outcome", "suggested", "rule", "ticket", "span"):
        table.add_column(col)
    for i in items:
        table.add_row(*(cell(v) for v in (i.review_id, i.created_at.isoformat(timespec="seconds"),
                                           i.outcome, i.suggested, i.rule, i.ticket_id, i.span)))
    console.print(table)
    console.print("decide with: consent review confirm ID  |  consent review reverse ID")
