"""Producing as the system that owns each topic: purchases as `ecommerce`, mail requests as
`marketing`, and so on (`schemas.principals`).

Why the demo does this instead of using the admin: it shows, on every run, that the access
catalogue lets each upstream system do its job and nothing more — a producer that wrote a topic
it does not own would be refused by the broker, and the demo would fail loudly.
"""

from typing import Any

from confluent_kafka import KafkaError, Message

from ops.deployment import Deployment
from schemas.envelope import parse_event
from schemas.principals import PRINCIPALS
from schemas.settings import ClientSettings
from schemas.topics import topic_for_type
from sources.producer import EventProducer
from streams.settings import StreamSettings

UPSTREAM = ("ecommerce", "support-desk", "newsletter", "preference-centre", "marketing")


class RoleProducers:
    """The `EventProducer` interface, each topic written by the principal that owns it."""

    def __init__(self, deployment: Deployment) -> None:
        self._by_topic: dict[str, EventProducer] = {}
        self._all: list[EventProducer] = []
        for p in PRINCIPALS:
            if p.name not in UPSTREAM:
                continue
            settings = _settings(deployment, p.name)
            producer = EventProducer(settings)
            self._all.append(producer)
            for topic in p.writes:
                self._by_topic.setdefault(topic, producer)

    def send(self, event: dict[str, Any], **kw: Any) -> str:
        topic = topic_for_type(parse_event(_raw(event)).type)
        return self._by_topic[topic].send(event, **kw)

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None, *,
                 on_delivery: Any = None) -> None:
        self._by_topic[topic].send_raw(topic, key, value, on_delivery=on_delivery)

    def flush(self, timeout: float = 60.0) -> None:
        for p in self._all:
            p.flush(timeout)

    def close(self) -> None:
        for p in self._all:
            p.close()


def _settings(deployment: Deployment, principal: str) -> ClientSettings:
    env = deployment.env_for("worker")  # base names; the file is the principal's own below
    return StreamSettings(kafka_bootstrap=env["CONSENT_KAFKA_BOOTSTRAP"],
                          topic_prefix=deployment.prefix, key_secret=deployment.key_secret,
                          kafka_client_config=(deployment.infra.client_config(principal)
                                               if deployment.infra.secured else None))


def _raw(event: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(event)


__all__ = ["KafkaError", "Message", "RoleProducers"]
