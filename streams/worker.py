"""Entry points of the stream processors: `consent worker` (the agent), `consent filter`.

Each checks the topic layout first (a missing or mis-partitioned topic is a clear error, not
an idle process), serves `/metrics`, stops cleanly on SIGTERM/SIGINT after the current batch,
and exits with code 70 on anything it cannot handle: a processor that looks alive but does
nothing is the failure we fear most, so it dies loudly and its supervisor restarts it.
"""

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from consent_table.barrier import Barrier
from consent_table.end_offsets import EndOffsets
from consent_table.replica import ConsentReplica
from schemas.exceptions import ConsentError
from schemas.metrics_endpoint import serve
from schemas.processors import DestinationKind
from schemas.topics import AGENT_TOPICS, CONSENT_STATE, MAIL_REQUESTS, all_specs, topic_name
from streams.agent.agent import ConsentAgent
from streams.agent.store import StateStores
from streams.filter.reader import Reader
from streams.filter.send_filter import SendFilter, consent_topics
from streams.metrics import StreamMetrics
from streams.policy import Policy, load_policy
from streams.processor import STEPS, Handler, TransactionalLoop
from streams.settings import StreamSettings

log = logging.getLogger("consent.streams")

CRASH_EXIT_CODE = 70


def check_topics(settings: StreamSettings, timeout: float = 30.0) -> None:
    """Fail with a clear message unless every topic exists with the expected partitions.

    Waits up to `timeout` for missing topics: metadata of topics created a moment ago (by
    `consent topics create` in the same script) can take a little while to reach every broker.
    """
    admin = AdminClient(settings.to_librdkafka())
    names = [topic_name(settings, spec) for spec in all_specs()]
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


def _policy(settings: StreamSettings) -> Policy:
    return load_policy(*([settings.policy_file] if settings.policy_file else []))


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _serve_metrics(settings: StreamSettings, metrics: StreamMetrics, kind: str) -> None:
    serve(metrics.registry, settings.metrics_port, kind, settings.metrics_host)


def _run(loop: TransactionalLoop, name: str) -> None:
    stop = _stop_on_signals()
    try:
        loop.run(stop)
    except ConsentError as exc:
        log.critical("%s cannot go on: %s", name, exc)
        logging.shutdown()
        sys.exit(CRASH_EXIT_CODE)
    except Exception:
        log.critical("%s failed; exiting so that it is restarted", name, exc_info=True)
        logging.shutdown()
        sys.exit(CRASH_EXIT_CODE)
    log.info("%s stopped", name)


def _base(settings: StreamSettings, topic: str) -> str:
    """A metric label is the topic's catalogue name: bounded, and the same in every tenant."""
    return topic.removeprefix(settings.topic_prefix)


def _state_ends(settings: StreamSettings, ends: EndOffsets) -> Callable[[list[int]], dict[int, int]]:
    """End offsets of `consent-state` partitions: where a restore or a replica's re-read is done."""
    state_topic = settings.topic(CONSENT_STATE)

    def state_ends(partitions: list[int]) -> dict[int, int]:
        got = ends.query([(state_topic, p) for p in partitions])
        return {p: got[(state_topic, p)] for p in partitions}

    return state_ends


def _step_observer(metrics: StreamMetrics, role: str) -> Callable[[str, float], None]:
    """Observe a step's time in its histogram, the labelled children looked up once."""
    children = {step: metrics.transaction_steps.labels(role, step) for step in STEPS}
    return lambda step, seconds: children[step].observe(seconds)


def _loop(settings: StreamSettings, metrics: StreamMetrics, role: str, handler: Handler, *,
          topics: list[str], name: str, batch_size: int) -> TransactionalLoop:
    """A processor's transactional loop: its group, metrics and timeouts named by `role`."""
    return TransactionalLoop(
        settings, group=f"{settings.app_id}-{role}", topics=topics, handler=handler, name=name,
        process_id=settings.process_id, transaction_timeout_s=settings.transaction_timeout_s,
        batch_size=batch_size,
        on_transaction=metrics.transaction_seconds.labels(role).observe,
        on_step=_step_observer(metrics, role),
        on_lag=lambda topic, n: metrics.lag.labels(role, _base(settings, topic)).set(n))


def build_agent(settings: StreamSettings, metrics: StreamMetrics | None = None
                ) -> TransactionalLoop:
    metrics = metrics or StreamMetrics()
    state_topic = settings.topic(CONSENT_STATE)
    state_ends = _state_ends(settings, EndOffsets(settings))

    def reader() -> Consumer:
        return Consumer(settings.consumer_config(
            f"{settings.app_id}-restore", **{"enable.partition.eof": False,
                                            "fetch.wait.max.ms": 50}))

    stores = StateStores(Path(settings.data_dir) / settings.app_id / "agent", reader,
                         state_ends, state_topic)
    rerouter = Producer(settings.producer_config(**{"client.id": f"{settings.app_id}-reroute"}))
    agent = ConsentAgent(settings, _policy(settings), metrics, stores, rerouter)
    loop = _loop(settings, metrics, "agent", agent,
                 topics=[settings.topic(t) for t in AGENT_TOPICS], name="consent agent",
                 batch_size=settings.agent_batch)
    agent.bind(loop.consumer)
    return loop


def build_filter(settings: StreamSettings, metrics: StreamMetrics | None = None,
                 reader: Reader | None = None) -> TransactionalLoop:
    metrics = metrics or StreamMetrics()
    ends = EndOffsets(settings)
    replica = ConsentReplica(
        Consumer(settings.consumer_config(f"{settings.app_id}-replica", **{
            "enable.partition.eof": False, "fetch.wait.max.ms": 5,
            "fetch.error.backoff.ms": 50})),
        settings.topic(CONSENT_STATE), settings.partitions, _state_ends(settings, ends))
    barrier = Barrier(replica, ends, consent_topics(settings), settings.partitions,
                      settings.barrier_stall_s)
    handler = SendFilter(settings, _policy(settings), metrics, replica, barrier, reader)
    return _loop(settings, metrics, "filter", handler, topics=[settings.topic(MAIL_REQUESTS)],
                 name="send filter", batch_size=settings.filter_batch)


def check_start(settings: StreamSettings) -> None:
    """Refuse to start with a published secret or towards an undeclared destination."""
    settings.check_production()
    settings.check_destinations(DestinationKind.KAFKA, DestinationKind.UNSUBSCRIBE)


def run_agent(settings: StreamSettings) -> None:
    check_start(settings)
    check_topics(settings)
    metrics = StreamMetrics()
    _serve_metrics(settings, metrics, "worker")
    loop = build_agent(settings, metrics)
    log.info("consent agent starting: app_id=%s", settings.app_id)
    _run(loop, "consent agent")


def run_filter(settings: StreamSettings) -> None:
    check_start(settings)
    check_topics(settings)
    metrics = StreamMetrics()
    _serve_metrics(settings, metrics, "filter")
    with contextlib.ExitStack() as stack:
        reader = (stack.enter_context(Reader(settings.key_secret.get_secret_value()))
                  if settings.filter_reader else None)
        loop = build_filter(settings, metrics, reader)
        log.info("send filter starting: app_id=%s, reader process=%s", settings.app_id,
                 "on" if reader is not None else "off")
        _run(loop, "send filter")
