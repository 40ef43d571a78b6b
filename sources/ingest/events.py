"""A verified webhook delivery → the event the pipeline reads, or the dead letter it is not.

Why the event goes through `parse_event`: the endpoint must accept exactly what the worker
would, under the same limits and models, so an event it acknowledged can never become a dead
letter downstream; what fails here is dead-lettered here, with the provider's original bytes.

Why the event id is derived from the delivery id: a provider retries a delivery it did not see
answered (a timeout, a 503, a lost connection after our ack). `uuid5(source, delivery id)` makes
every retry the same event, which the pipeline applies once (the ledger is unique per contact,
event and scope; the decision state is a join), instead of a new event each time.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from schemas.envelope import decode_document, parse_event
from schemas.keys import event_contact_key
from schemas.records import DeadLetter
from schemas.topics import topic_for_type
from sources.ingest.mapping import MAPPERS

EVENT_TYPES = {"purchase": "purchase.completed", "message": "support.message_received"}
"""Source kind → the event type it publishes (and so its topic, `schemas.topics`)."""
SCHEMA_VERSION = "1.0"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:consent-pipeline:webhook-delivery")
"""Fixed for ever: changing it would turn every retry after an upgrade into a new event."""


def event_id_for(source: str, delivery_id: str) -> uuid.UUID:
    """The same id for every retry of one delivery of one source; distinct across sources."""
    return uuid.uuid5(NAMESPACE, f"{source}\n{delivery_id}")


def route_path(source: str, kind: str) -> str:
    return f"/webhooks/{source}/{kind}"


@dataclass(frozen=True)
class Built:
    """An event ready to publish: unprefixed topic, contact key and the envelope's bytes."""

    topic: str
    key: bytes
    value: bytes
    event_id: uuid.UUID


def build_event(source: str, kind: str, delivery_id: str, body: bytes, *,
                received_at: datetime, key_secret: str) -> Built:
    """The envelope for one delivery, validated as the worker validates it.

    Raises `InvalidEvent` (reason free of values, `kind` for the dead letter). Without an event
    time of its own the payload gets the signed attempt time, so a retry of such a payload
    carries a later `occurred_at` under the same event id.
    """
    doc = decode_document(body)  # size, depth, strings, items: the pipeline's own limits
    data, occurred_at = MAPPERS[kind](doc)
    event_type = EVENT_TYPES[kind]
    envelope = {
        "event_id": str(event_id_for(source, delivery_id)),
        "type": event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": occurred_at or received_at.astimezone(UTC).isoformat(),
        "source": source,
        "data": data,
    }
    topic = topic_for_type(event_type)
    value = orjson.dumps(envelope)
    event = parse_event(value, topic=topic)
    key = event_contact_key(event, key_secret)
    return Built(topic, key.encode("ascii"), value, event.event_id)


def dead_letter(source: str, kind: str, delivery_id: str, body: bytes, *, reason: str,
                error_kind: str) -> DeadLetter:
    """The dead letter of a refused delivery from an authenticated source.

    A webhook has no Kafka position, so the record says where it came from instead: `topic`
    is the route (a path, never a Kafka topic name: those cannot hold '/'), `partition` is -1,
    and `offset` is a 63-bit fingerprint of (source, delivery id, body). The PostgreSQL index
    keys dead letters by (topic, partition, offset): each distinct refused delivery gets its
    row there, and a provider's retries of the same one collapse into it.
    """
    digest = hashlib.sha256(f"{source}\n{delivery_id}\n".encode() + body).digest()
    return DeadLetter.of(reason=reason, kind=error_kind, stage="deserialization",
                         topic=route_path(source, kind), partition=-1,
                         offset=int.from_bytes(digest[:8], "big") >> 1, key=None, value=body)
