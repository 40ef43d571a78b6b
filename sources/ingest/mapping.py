"""From a provider's webhook payload to our event `data`: the mapping, field by field.

Each route accepts two shapes of JSON object.

1. Our own event `data` (DESIGN.md, "Event data"), as it is, optionally with an `occurred_at`
   (ISO 8601 with a time zone) that becomes the envelope's event time:
   purchase `{"order_id", "email", "name", "company"?, "phone"?, "address"?, "country"?,
   "marketing_opt_out"?}`; message `{"ticket_id", "email", "channel", "text"?, "intent"?}`.

2. A provider's notification, recognised by its `order` or `ticket` object:

   purchase (`{"order": {...}}`)                         → data field
     `order.id` (string or integer)                      → `order_id`
     `order.email`, else `order.customer.email`          → `email`
     `order.customer.first_name` + `last_name`,
       else `order.billing_address.name`                 → `name`
     `order.billing_address.company`                     → `company`
     `order.customer.phone`, else `order.billing_address.phone` → `phone`
     `order.billing_address.address1`, `address2`, `zip`, `city`,
       joined with ", "                                  → `address`
     `order.billing_address.country_code`                → `country`
     `order.buyer_accepts_marketing` is `false`          → `marketing_opt_out: true`
     `order.created_at`                                  → the event time

   message (`{"ticket": {...}, "comment": {...}}`)       → data field
     `ticket.id` (string or integer)                     → `ticket_id`
     `ticket.requester.email`                            → `email`
     `ticket.via`: `email`, `web` → email; `phone`, `voice` → phone;
       `chat`, `messaging` → chat; `sales` → sales       → `channel`
     `comment.body`                                      → `text`
     `intent` (`opt_out` or `opt_in`, set by the desk)   → `intent`
     `comment.created_at`                                → the event time

Why only these fields: the pipeline holds what the policy names and nothing more (line items,
prices, IP addresses and the rest of an order stay with the provider). Why an explicit
`buyer_accepts_marketing: false` counts as the checkout's opt-out box: a declined box is an
objection, and where a checkout's box is opt-in and unticked by default this errs towards not
mailing, as the pipeline does everywhere. An unknown channel is refused, not guessed.

Reasons name the field we looked for (our documented names), never a value or a key the
provider chose, because they become dead-letter records.
"""

from collections.abc import Callable
from typing import Any

from schemas.exceptions import InvalidEvent

Mapped = tuple[dict[str, Any], str | None]
"""(event data, the payload's own event time or None)."""

CHANNELS = {"email": "email", "web": "email", "phone": "phone", "voice": "phone",
            "chat": "chat", "messaging": "chat", "sales": "sales"}


def _invalid(reason: str) -> InvalidEvent:
    return InvalidEvent(reason, kind="invalid_fields")


def _object(parent: dict[str, Any], field: str, where: str, *, required: bool = False
            ) -> dict[str, Any]:
    value = parent.get(field)
    if value is None:
        if required:
            raise _invalid(f"{where}: field required")
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{where}: must be an object")
    return value


def _text(parent: dict[str, Any], field: str, where: str) -> str | None:
    value = parent.get(field)
    if value is None or isinstance(value, str):
        return value
    raise _invalid(f"{where}: must be a string")


def _ident(parent: dict[str, Any], field: str, where: str) -> str | None:
    """Provider ids are strings or integers (never booleans, which JSON parsers make ints)."""
    value = parent.get(field)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _invalid(f"{where}: must be a string or an integer")


def _event_time(doc: dict[str, Any], where: str) -> str | None:
    """Our own shape may carry `occurred_at`; it is the envelope's, not a data field."""
    value = doc.pop("occurred_at", None)
    if value is None or isinstance(value, str):
        return value
    raise _invalid(f"{where}: must be a string")


def _put(data: dict[str, Any], field: str, value: Any) -> None:
    """Leave absent what the provider left absent: the model decides what is required."""
    if value is not None and value != "":
        data[field] = value


def map_purchase(doc: dict[str, Any]) -> Mapped:
    """A purchase webhook's body → `purchase.completed` data (module docstring, table 1)."""
    if "order" not in doc or "order_id" in doc:
        occurred_at = _event_time(doc, "occurred_at")
        return doc, occurred_at
    order = _object(doc, "order", "order", required=True)
    customer = _object(order, "customer", "order.customer")
    billing = _object(order, "billing_address", "order.billing_address")
    data: dict[str, Any] = {}
    _put(data, "order_id", _ident(order, "id", "order.id"))
    _put(data, "email", _text(order, "email", "order.email")
         or _text(customer, "email", "order.customer.email"))
    first = _text(customer, "first_name", "order.customer.first_name") or ""
    last = _text(customer, "last_name", "order.customer.last_name") or ""
    _put(data, "name", f"{first} {last}".strip()
         or _text(billing, "name", "order.billing_address.name"))
    _put(data, "company", _text(billing, "company", "order.billing_address.company"))
    _put(data, "phone", _text(customer, "phone", "order.customer.phone")
         or _text(billing, "phone", "order.billing_address.phone"))
    lines = [_text(billing, f, f"order.billing_address.{f}")
             for f in ("address1", "address2", "zip", "city")]
    _put(data, "address", ", ".join(line.strip() for line in lines if line and line.strip()))
    _put(data, "country", _text(billing, "country_code", "order.billing_address.country_code"))
    accepts = order.get("buyer_accepts_marketing")
    if accepts is not None and not isinstance(accepts, bool):
        raise _invalid("order.buyer_accepts_marketing: must be true or false")
    data["marketing_opt_out"] = accepts is False
    return data, _text(order, "created_at", "order.created_at")


def map_message(doc: dict[str, Any]) -> Mapped:
    """A support desk's message webhook → `support.message_received` data (table 2)."""
    if "ticket" not in doc or "ticket_id" in doc:
        occurred_at = _event_time(doc, "occurred_at")
        return doc, occurred_at
    ticket = _object(doc, "ticket", "ticket", required=True)
    requester = _object(ticket, "requester", "ticket.requester")
    comment = _object(doc, "comment", "comment")
    data: dict[str, Any] = {}
    _put(data, "ticket_id", _ident(ticket, "id", "ticket.id"))
    _put(data, "email", _text(requester, "email", "ticket.requester.email"))
    via = _text(ticket, "via", "ticket.via")
    if via is not None:
        channel = CHANNELS.get(via.strip().lower())
        if channel is None:
            raise _invalid("ticket.via: not a known channel (email, web, phone, voice, chat, "
                           "messaging, sales)")
        data["channel"] = channel
    _put(data, "text", _text(comment, "body", "comment.body"))
    _put(data, "intent", _text(doc, "intent", "intent"))
    return data, _text(comment, "created_at", "comment.created_at")


MAPPERS: dict[str, Callable[[dict[str, Any]], Mapped]] = {
    "purchase": map_purchase,
    "message": map_message,
}
"""Source kind (`sources.settings.IngestKind`) → its mapping."""
