"""Provider payloads → our event data (`sources.ingest.mapping`) and the event built from them."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.exceptions import InvalidEvent
from sources.ingest.events import build_event, dead_letter, event_id_for
from sources.ingest.mapping import map_message, map_purchase

EMAIL = "ann@example.com"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def build(kind: str, doc: Any, delivery: str = "d-1") -> Any:
    return build_event("src", kind, delivery, orjson.dumps(doc), received_at=NOW,
                       key_secret="mapping-test-secret")


def test_our_own_data_shape_passes_unchanged_except_its_event_time() -> None:
    data = {"order_id": "A-1", "email": EMAIL, "name": "Ann", "coupon": "X"}
    assert map_purchase({**data, "occurred_at": "2025-01-01T00:00:00Z"}) == (
        data, "2025-01-01T00:00:00Z")
    msg = {"ticket_id": "T-1", "email": EMAIL, "channel": "chat"}
    assert map_message(dict(msg)) == (msg, None)


def test_an_order_with_only_the_minimum_maps_to_the_minimum() -> None:
    data, at = map_purchase({"order": {"id": "A-9", "email": EMAIL,
                                       "billing_address": {"name": "Ann Smith"}}})
    assert data == {"order_id": "A-9", "email": EMAIL, "name": "Ann Smith",
                    "marketing_opt_out": False}
    assert at is None


@pytest.mark.parametrize(("accepts", "opt_out"), [(True, False), (False, True), (None, False)])
def test_only_a_declined_marketing_box_is_an_opt_out(accepts: bool | None, opt_out: bool) -> None:
    order: dict[str, Any] = {"id": 1, "email": EMAIL, "customer": {"first_name": "Ann"}}
    if accepts is not None:
        order["buyer_accepts_marketing"] = accepts
    assert map_purchase({"order": order})[0]["marketing_opt_out"] is opt_out


@pytest.mark.parametrize(("via", "channel"), [("email", "email"), ("WEB", "email"),
                                              ("voice", "phone"), ("messaging", "chat"),
                                              ("sales", "sales")])
def test_desk_channels_map_to_ours(via: str, channel: str) -> None:
    data, _ = map_message({"ticket": {"id": 3, "via": via, "requester": {"email": EMAIL}},
                           "comment": {"body": "hi"}, "intent": "opt_out"})
    assert data == {"ticket_id": "3", "email": EMAIL, "channel": channel, "text": "hi",
                    "intent": "opt_out"}


@pytest.mark.parametrize(("kind", "doc", "where"), [
    ("purchase", {"order": "ann@example.com"}, "order: must be an object"),
    ("purchase", {"order": {"id": 1.5}}, "order.id: must be a string or an integer"),
    ("purchase", {"order": {"id": 1, "customer": ["ann@example.com"]}}, "order.customer: must"),
    ("purchase", {"order": {"id": 1, "email": 42}}, "order.email: must be a string"),
    ("purchase", {"order": {"id": 1, "email": EMAIL, "buyer_accepts_marketing": "no"}},
     "order.buyer_accepts_marketing: must be true or false"),
    ("purchase", {"order_id": "A", "occurred_at": 1_750_000_000}, "occurred_at: must be a string"),
    ("message", {"ticket": {"id": 1, "via": "pigeon"}}, "ticket.via: not a known channel"),
    ("message", {"ticket": {"id": 1}, "comment": "stop"}, "comment: must be an object"),
])
def test_provider_fields_of_the_wrong_shape_are_named_not_echoed(kind: str, doc: Any,
                                                                 where: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        build(kind, doc)
    assert info.value.kind == "invalid_fields"
    assert info.value.reason.startswith(where)
    for value in leaves(doc):
        assert value not in info.value.reason, value


def leaves(doc: Any) -> list[str]:
    """Every value in a document, as text (keys are ours: the reason may name them)."""
    if isinstance(doc, dict):
        return [leaf for v in doc.values() for leaf in leaves(v)]
    if isinstance(doc, list):
        return [leaf for v in doc for leaf in leaves(v)]
    return [] if isinstance(doc, int) and abs(doc) < 10 else [str(doc)]


def test_the_built_event_is_validated_by_the_pipelines_models() -> None:
    with pytest.raises(InvalidEvent, match="data.name: Field required"):
        build("purchase", {"order": {"id": 1, "email": EMAIL}})
    with pytest.raises(InvalidEvent, match="data.channel"):
        build("message", {"ticket": {"id": 1, "requester": {"email": EMAIL}}})


def test_the_event_id_is_the_delivery_and_the_type_follows_the_kind() -> None:
    built = build("message", {"ticket_id": "T", "email": EMAIL, "channel": "phone"}, "d-7")
    assert (built.topic, built.event_id) == ("support", event_id_for("src", "d-7"))
    event = orjson.loads(built.value)
    assert event["type"] == "support.message_received"
    assert event["occurred_at"] == NOW.isoformat()


def test_a_dead_letter_names_the_route_and_keeps_the_bytes() -> None:
    body = b'{"order_id": 1}'
    letter = dead_letter("shop", "purchase", "d-1", body, reason="r", error_kind="invalid_fields")
    assert (letter.topic, letter.partition, letter.key_b64) == ("/webhooks/shop/purchase", -1,
                                                                None)
    assert 0 <= letter.offset < 2 ** 63
    assert letter.original_length == len(body) and not letter.truncated
    other = dead_letter("shop", "purchase", "d-2", body, reason="r", error_kind="invalid_fields")
    assert other.offset != letter.offset
