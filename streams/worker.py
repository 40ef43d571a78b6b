"""Running the faust worker from our own entry point (`consent worker`).

We check the topic layout before faust starts: a missing or mis-partitioned input topic would
otherwise make faust log "Ignoring missing topic" and idle forever.
"""

import logging
import time

import faust
from confluent_kafka.admin import AdminClient
from prometheus_client import start_http_server

from schemas.exceptions import ConsentError
from schemas.topics import all_specs, topic_name
from streams.app import Pipeline
from streams.settings import StreamSettings


def check_topics(settings: StreamSettings, timeout: float = 30.0) -> None:
    """Fail with a clear message unless every topic exists with the expected partitions.

    Waits up to `timeout` for missing topics: metadata of topics created a moment ago (by
    `consent topics create` in the same script) can take a little while to reach every broker.
    """
    admin = AdminClient(settings.to_librdkafka())
    names = [topic_name(settings, spec) for spec in all_specs(settings.app_id)]
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        missing = [n for n in names if n not in topics]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for full in names:
        if full not in topics:
            raise ConsentError(f"topic {full} does not exist; run `consent topics create`")
        count = len(topics[full].partitions)
        if count != settings.partitions:
            raise ConsentError(f"topic {full} has {count} partitions, expected "
                               f"{settings.partitions} (CONSENT_PARTITIONS)")


def run_worker(settings: StreamSettings, loglevel: str = "info") -> None:
    check_topics(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="127.0.0.1",  # noqa: S104
                          registry=pipeline.metrics.registry)
    logging.getLogger("consent").info("worker starting: app_id=%s policy=%s", settings.app_id,
                                      pipeline.policy.version)
    worker = faust.Worker(pipeline.app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
