"""The producer helper integrators use: builds envelopes, keys them, routes them.

It is the one place that knows the contact key and the partitioner, so a producer written
with it can never put an event on a partition the send filter does not look at.
"""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas.envelope import parse_event
from schemas.exceptions import ConsentError
from schemas.keys import event_contact_key
from schemas.settings import ClientSettings
from schemas.topics import topic_for_type


class ProduceError(ConsentError):
    """The broker did not acknowledge an event."""


def make_event(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
    schema_version: str = "1.0",
) -> dict[str, Any]:
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "type": event_type,
        "schema_version": schema_version,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "source": source,
        "data": data,
    }


class EventProducer:
    """Validates, keys and sends events; `flush()` returns only when the broker acknowledged."""

    def __init__(self, settings: ClientSettings, **librdkafka: Any) -> None:
        settings.check_production()  # keys under an empty or published secret are reversible
        self._settings = settings
        self._secret = settings.key_secret.get_secret_value()
        self._producer = Producer(settings.producer_config(**librdkafka))
        self._errors: list[str] = []

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._errors.append(str(err))

    def send(
        self,
        event: dict[str, Any],
        *,
        on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
    ) -> str:
        """Validate and enqueue one event; return its contact key."""
        raw = json.dumps(event, separators=(",", ":")).encode("utf-8")
        parsed = parse_event(raw)
        key = event_contact_key(parsed, self._secret)
        self.send_raw(topic_for_type(parsed.type), key.encode("ascii"), raw, on_delivery=on_delivery)
        return key

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
    ) -> None:
        """Send bytes as they are (tests and replays use this to send bad input on purpose)."""
        while True:
            try:
                self._producer.produce(
                    self._settings.topic(topic), value=value, key=key,
                    on_delivery=on_delivery or self._on_delivery,
                )
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        left = self._producer.flush(timeout)
        if left:
            raise ProduceError(f"{left} events not acknowledged within {timeout}s")
        if self._errors:
            errors, self._errors = self._errors, []
            raise ProduceError(f"{len(errors)} events failed: {errors[0]}")

    def close(self) -> None:
        """Flush, then drop the client so its threads stop before the broker may go away."""
        self.flush()
        del self._producer
