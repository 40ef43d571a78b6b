"""The one-click endpoint's acknowledged send: one topic, `preferences`.

Why it exists: the one-click unsubscribe endpoint may tell a person "you are unsubscribed" only
after the `preference.changed` event is durably in the log, because that acknowledgement is
where the send filter's guarantee starts (DESIGN.md, semantics 1). The awaiting itself is
`sources.publisher.AckedProducer`, shared with webhook ingestion; this module binds it to the
endpoint's topic, client id and logger.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sources.publisher import AckedProducer, PublishError
from sources.settings import SourceSettings

# The endpoint's logger name, kept from before this module was split out, so log filters and
# dashboards that select `consent.sources.unsubscribe.app` still see the publisher's warnings.
log = logging.getLogger("consent.sources.unsubscribe.app")

TOPIC = "preferences"
"""The topic (before `topic_prefix`) the withdrawals go to: the one the worker reads."""

Publish = Callable[[bytes, bytes], Awaitable[None]]
"""publish(key, value): returns once the broker acknowledged the record, raises otherwise."""

__all__ = ["TOPIC", "KafkaPublisher", "Publish", "PublishError"]


class KafkaPublisher(AckedProducer):
    """`AckedProducer` whose `publish(key, value)` always goes to the preferences topic."""

    def __init__(self, settings: SourceSettings, producer: Any | None = None) -> None:
        """`producer` replaces the real client in tests; otherwise one is made from `settings`."""
        super().__init__(settings, client_id="consent-unsubscribe", log=log,
                         what="preference events", producer=producer)
        self.topic = settings.topic(TOPIC)

    async def __call__(self, key: bytes, value: bytes) -> None:
        """Produce one withdrawal and return only when the broker acknowledged it."""
        await self.send(self.topic, key, value)
