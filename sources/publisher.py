"""A Kafka producer whose sends can be awaited until the broker acknowledged the record.

Why it exists: an HTTP endpoint that feeds the pipeline may say "done" only once the event is
durably in the log (`acks=all`, idempotent producer), because that acknowledgement is where the
send filter's guarantee starts (DESIGN.md, semantics 1). A fire-and-forget `produce()` would let
a page or a webhook answer claim something the broker never took, so every send here is awaited
until its delivery report arrives.

Two endpoints use it: the one-click unsubscribe (`sources.unsubscribe.publisher`, one topic) and
webhook ingestion (`sources.ingest`, several topics: the event's and dead letters). It lives
apart from any HTTP app so the librdkafka threading (a poller thread handing results to the
event loop) can be read and tested without aiohttp in the way.
"""

import asyncio
import logging
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas.exceptions import ConsentError
from schemas.settings import ClientSettings


class PublishError(ConsentError):
    """The broker refused a record or could not take it (so nothing may be claimed)."""


class AckedProducer:
    """confluent-kafka producer whose sends can be awaited until the broker acknowledged them.

    librdkafka runs delivery callbacks only inside `poll()`/`flush()`, so a background thread
    polls and hands each result to the event loop with `call_soon_threadsafe` (the loop is
    never blocked by the client).
    """

    def __init__(self, settings: ClientSettings, *, client_id: str, log: logging.Logger,
                 what: str = "records", producer: Any | None = None) -> None:
        """`producer` replaces the real client in tests; otherwise one is made from `settings`.

        `log` is the owning endpoint's logger, so its filters and dashboards keep seeing the
        client's warnings; `what` names the records in the shutdown warning.
        """
        self._log, self._what = log, what

        def on_error(err: KafkaError) -> None:
            """Client-level errors (broker down, auth) are logged; librdkafka retries on its own."""
            log.warning("kafka client error: %s", err)

        # the one settings base renders it: idempotent, acks=all, murmur2 (so the key lands on
        # the partition the agent reads for it), and this principal's credentials
        self._producer = producer if producer is not None else Producer(settings.producer_config(
            **{"client.id": client_id, "linger.ms": 0, "error_cb": on_error}))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"{client_id}-kafka-poll",
                                        daemon=True)

    def start(self) -> None:
        """Start the poller; without it no delivery report arrives and every send waits."""
        self._poller.start()

    def _poll(self) -> None:
        """Serve librdkafka's callbacks until `close()`; short polls keep shutdown prompt."""
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
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
            self._producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
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
            self._log.warning("%s %s were not acknowledged before shutdown", left, self._what)


def _settle(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    """Resolve a send's future on the loop's thread (futures are not thread-safe)."""
    if fut.done():  # the request timed out and stopped waiting
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(PublishError(f"the broker did not accept the record: {err}"))
