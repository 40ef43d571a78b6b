"""The shared acknowledged send (`sources.publisher.AckedProducer`), with a fake librdkafka client.

The one-click endpoint's binding of it to `preferences` is pinned in test_unsubscribe_http.py;
here: any topic per send (webhook ingestion writes events and dead letters through one
producer), and a shutdown that says how many records were never acknowledged.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError
from pydantic import SecretStr

from schemas.settings import ClientSettings
from sources.publisher import AckedProducer, PublishError

LOG = logging.getLogger("consent.test.publisher")


class FakeProducer:
    """Deliveries resolve on poll(), as librdkafka's; `stuck` leaves records unacknowledged."""

    def __init__(self, error: KafkaError | None = None, stuck: int = 0) -> None:
        self.error, self.stuck = error, stuck
        self.pending: list[Callable[[KafkaError | None, Any], None]] = []
        self.produced: list[tuple[str, bytes | None, bytes]] = []

    def produce(self, topic: str, *, key: bytes | None, value: bytes,
                on_delivery: Callable[[KafkaError | None, Any], None]) -> None:
        self.produced.append((topic, key, value))
        self.pending.append(on_delivery)

    def poll(self, timeout: float) -> int:
        done, self.pending = self.pending, []
        for cb in done:
            cb(self.error, None)
        if not done:
            import time

            time.sleep(min(timeout, 0.01))
        return len(done)

    def flush(self, timeout: float) -> int:
        return self.stuck


def settings() -> ClientSettings:
    return ClientSettings(key_secret=SecretStr("publisher-test-secret"), topic_prefix="unit-")


def test_each_send_goes_to_its_own_topic_and_returns_after_the_ack() -> None:
    fake = FakeProducer()

    async def main() -> None:
        pub = AckedProducer(settings(), client_id="consent-test", log=LOG, producer=fake)
        pub.start()
        await asyncio.wait_for(pub.send("unit-purchases", b"k", b"event"), 5)
        await asyncio.wait_for(pub.send("unit-dead-letters", None, b"letter"), 5)
        await pub.close()

    asyncio.run(main())
    assert fake.produced == [("unit-purchases", b"k", b"event"),
                             ("unit-dead-letters", None, b"letter")]


def test_a_failed_delivery_raises() -> None:
    fake = FakeProducer(error=KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))

    async def main() -> None:
        pub = AckedProducer(settings(), client_id="consent-test", log=LOG, producer=fake)
        pub.start()
        with pytest.raises(PublishError, match="did not accept"):
            await asyncio.wait_for(pub.send("unit-support", b"k", b"v"), 5)
        await pub.close()

    asyncio.run(main())


def test_shutdown_names_what_was_left_unacknowledged(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        pub = AckedProducer(settings(), client_id="consent-test", log=LOG, what="webhook events",
                            producer=FakeProducer(stuck=2))
        pub.start()
        await pub.close()

    asyncio.run(main())
    assert "2 webhook events were not acknowledged before shutdown" in caplog.text
