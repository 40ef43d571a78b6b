"""A Kafka producer whose send resolves only once the broker acknowledged the record.

Why it exists: the one-click unsubscribe endpoint may tell a person "you are unsubscribed" only
after the `preference.changed` event is durably in the log (`acks=all`, idempotent producer),
because that acknowledgement is where the send filter's guarantee starts (DESIGN.md,
semantics 1). A fire-and-forget `produce()` would let the page claim something the broker
never took, so every send here is awaited until its delivery report arrives.

It lives apart from the HTTP app so the librdkafka threading (a poller thread handing results
to the event loop) can be read and tested without aiohttp in the way.
"""

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas.exceptions import ConsentError
from sources.settings import SourceSettings

# The endpoint's logger name, kept from before this module was split out, so log filters and
# dashboards that select `consent.sources.unsubscribe.app` still see the publisher's warnings.
log = logging.getLogger("consent.sources.unsubscribe.app")

TOPIC = "preferences"
"""The topic (before `topic_prefix`) the withdrawals go to: the one the worker reads."""

Publish = Callable[[bytes, bytes], Awaitable[None]]
"""publish(key, value): returns once the broker acknowledged the record, raises otherwise."""


class PublishError(ConsentError):
    """The broker refused the preference change or could not take it (nothing is claimed)."""


class KafkaPublisher:
    """confluent-kafka producer whose sends can be awaited until the broker acknowledged them.

    librdkafka runs delivery callbacks only inside `poll()`/`flush()`, so a background thread
    polls and hands each result to the event loop with `call_soon_threadsafe` (the loop is
    never blocked by the client).
    """

    def __init__(self, settings: SourceSettings, producer: Any | None = None) -> None:
        """`producer` replaces the real client in tests; otherwise one is made from `settings`."""
        self.topic = settings.topic(TOPIC)
        # the one settings base renders it: idempotent, acks=all, murmur2 (so the key lands on
        # the partition the agent reads for it), and this principal's credentials
        self._producer = producer if producer is not None else Producer(settings.producer_config(
            **{"client.id": "consent-unsubscribe", "linger.ms": 0,
               "error_cb": _log_kafka_error}))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="unsubscribe-kafka-poll",
                                        daemon=True)

    def start(self) -> None:
        """Start the poller; without it no delivery report arrives and every send waits."""
        self._poller.start()

    def _poll(self) -> None:
        """Serve librdkafka's callbacks until `close()`; short polls keep shutdown prompt."""
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def __call__(self, key: bytes, value: bytes) -> None:
        """Produce one record and return only when the broker acknowledged it.

        Raises `PublishError` when the client refuses the record or the broker reports a
        failure; a caller that stops waiting (timeout) leaves the future to be ignored.
        """
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            try:
                loop.call_soon_threadsafe(_settle, acked, err)
            except RuntimeError:  # loop already closed: nobody is waiting any more
                pass

        try:
            self._producer.produce(self.topic, key=key, value=value, on_delivery=on_delivery)
        except BufferError as exc:
            raise PublishError("the producer's local queue is full") from exc
        except KafkaException as exc:
            raise PublishError(f"the producer refused the record: {exc}") from exc
        await acked

    async def close(self, timeout: float = 10.0) -> None:
        """Wait for records still in flight (their requests may be waiting), then stop."""
        self._stop.set()
        if self._poller.is_alive():
            await asyncio.to_thread(self._poller.join)
        left = await asyncio.to_thread(self._producer.flush, timeout)
        if left:
            log.warning("%s preference events were not acknowledged before shutdown", left)


def _settle(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    """Resolve a send's future on the loop's thread (futures are not thread-safe)."""
    if fut.done():  # the request timed out and stopped waiting
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(PublishError(f"the broker did not accept the record: {err}"))


def _log_kafka_error(err: KafkaError) -> None:
    """Client-level errors (broker down, auth) are logged; librdkafka retries on its own."""
    log.warning("kafka client error: %s", err)
