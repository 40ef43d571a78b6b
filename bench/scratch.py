"""The run's scratch resources on the broker and in PostgreSQL: created fresh, deleted after."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from psycopg import sql

from bench.constants import DECISION_TOPICS, PASSTHROUGH_TOPIC
from ops.topics import create_topics
from schemas.topics import MAIL_REQUESTS
from streams.settings import StreamSettings

log = logging.getLogger("consent.bench")


@contextmanager
def bench_topics(settings: StreamSettings) -> Iterator[None]:
    """Create the run's topics with broker append timestamps; delete them (and faust's) after.

    LogAppendTime on the request and decision topics makes every timestamp the bench uses come
    from the broker's clock at the moment a record became durable, not from a client's clock.
    """
    create_topics(settings)
    admin = AdminClient(settings.to_librdkafka())
    fut = admin.create_topics([NewTopic(settings.topic(PASSTHROUGH_TOPIC), settings.partitions,
                                        settings.replication_factor)])
    for f in fut.values():
        f.result()
    resources = [ConfigResource(ResourceType.TOPIC, settings.topic(t), incremental_configs=[
        ConfigEntry("message.timestamp.type", "LogAppendTime",
                    incremental_operation=AlterConfigOpType.SET)])
        for t in (MAIL_REQUESTS, *DECISION_TOPICS, PASSTHROUGH_TOPIC)]
    for f in admin.incremental_alter_configs(resources).values():
        f.result()
    try:
        yield
    finally:
        try:
            names = [t for t in admin.list_topics(timeout=30).topics
                     if t.startswith(settings.topic_prefix)]
            if names:
                for f in admin.delete_topics(names, operation_timeout=60).values():
                    f.result()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real outcome
            log.warning("could not delete the bench topics: %s", exc)


def drop_schema(url: str, schema: str) -> None:
    """Best effort, like the topic cleanup: a failure here must not hide the run's outcome."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    except psycopg.Error as exc:
        log.warning("could not drop schema %s: %s", schema, exc)
