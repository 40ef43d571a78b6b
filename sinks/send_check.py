"""The last mile: consent is checked again just before a mail is handed to SMTP.

Why: the send filter decided when the request arrived, but a backed-up mailer or a slow relay
can hand that mail to SMTP much later, and an opt-out acknowledged in between must still stop
it. The mailer keeps its own replica of the consent table (`consent-state`) and waits at the
same barrier as the filter (`consent_table.barrier`): once the replica covers every consent
event acknowledged before the batch was read, a mail whose contact may no longer receive that
purpose is not sent; it is recorded as `suppressed_at_send` with the reason.
"""

import logging
from collections.abc import Callable

from confluent_kafka import Consumer, TopicPartition

from consent_table.barrier import Barrier, KeepAlive
from consent_table.end_offsets import EndOffsets
from consent_table.replica import PURPOSE_INDEX, ConsentReplica
from schemas.records import OutboxRecord
from schemas.topics import CONSENT_STATE, INPUT_TOPICS
from sinks.settings import SinkSettings

log = logging.getLogger("consent.sinks.send_check")

UNKNOWN = (False, "no_relationship", "fail_closed.unknown_contact", False)


class SendCheck:
    def __init__(self, settings: SinkSettings, group: str) -> None:
        ends = EndOffsets(settings)
        state_topic = settings.topic(CONSENT_STATE)

        def state_ends(partitions: list[int]) -> dict[int, int]:
            got = ends.query([(state_topic, p) for p in partitions])
            return {p: got[(state_topic, p)] for p in partitions}

        self.replica = ConsentReplica(
            Consumer(settings.consumer_config(group, **{"enable.partition.eof": False,
                                                         "fetch.wait.max.ms": 5})),
            state_topic, settings.partitions, state_ends)
        self.barrier = Barrier(self.replica, ends,
                               {t: settings.topic(t) for t in INPUT_TOPICS},
                               settings.partitions, settings.barrier_stall_s)

    def on_assign(self, partitions: list[TopicPartition]) -> None:
        self.replica.own(sorted({tp.partition for tp in partitions}))

    def wait(self, partitions: set[int], keep_alive: KeepAlive) -> None:
        """Until the replica covers every consent event acknowledged before now."""
        self.barrier.wait(partitions, keep_alive)

    def stopped(self, record: OutboxRecord, partition: int) -> str | None:
        """The reason this mail must not go now, or None."""
        found = self.replica.get(partition, record.contact_key.encode("ascii"))
        allowed, reason, _rule, _detected = (
            UNKNOWN if found is None else found[0][PURPOSE_INDEX[record.purpose]])
        return None if allowed else str(reason)

    def close(self) -> None:
        self.replica.close()


def paused_poll(consumer: Consumer) -> Callable[[], bool]:
    """Keep a sink's consumer in its group during a barrier wait (fetching paused)."""
    def keep_alive() -> bool:
        assignment = consumer.assignment()
        if assignment:
            consumer.pause(assignment)
        consumer.poll(0)
        assignment = consumer.assignment()
        if assignment:
            consumer.resume(assignment)
        return True  # a rebalance is harmless here: the claim in mail_sends decides who sends
    return keep_alive
