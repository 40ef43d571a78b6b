"""`consent topics create` against a fake admin client: existing topics get the catalogue's
retention (only what differs is altered), and the report says what each topic keeps."""

import os
from concurrent.futures import Future
from types import SimpleNamespace
from typing import Any

import pytest

from ops import topics as ops_topics
from ops.exceptions import TopicError
from ops.topics import create_topics, describe_retention
from schemas.settings import ClientSettings
from schemas.topics import DAY_MS, Retention, topic_specs


def done(value: Any = None) -> Future:
    fut: Future = Future()
    fut.set_result(value)
    return fut


class FakeAdmin:
    """Topics with configurations; records every create and alter."""

    def __init__(self, existing: dict[str, dict[str, str]], partitions: int = 6) -> None:
        self.configs = existing
        self.partitions = partitions
        self.created: list[str] = []
        self.altered: dict[str, dict[str, str]] = {}

    def __call__(self, conf: dict[str, Any]) -> "FakeAdmin":
        return self

    def list_topics(self, timeout: float) -> Any:
        parts = dict.fromkeys(range(self.partitions))
        return SimpleNamespace(topics={n: SimpleNamespace(partitions=parts) for n in self.configs})

    def create_topics(self, new: list[Any], operation_timeout: float) -> dict[str, Future]:
        for t in new:
            self.created.append(t.topic)
        return {t.topic: done() for t in new}

    def describe_configs(self, resources: list[Any], request_timeout: float
                         ) -> dict[Any, Future]:
        return {r: done({k: SimpleNamespace(value=v) for k, v in self.configs[r.name].items()})
                for r in resources}

    def incremental_alter_configs(self, resources: list[Any], request_timeout: float
                                  ) -> dict[Any, Future]:
        for r in resources:
            changes = {e.name: e.value for e in r.incremental_configs}
            self.altered[r.name] = changes
            self.configs[r.name].update(changes)
        return {r: done() for r in resources}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def old_release() -> dict[str, dict[str, str]]:
    """Every topic as an earlier release made it: inputs and dead letters kept 30 days."""
    out = {}
    for spec in topic_specs():
        config = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS),
                  "segment.ms": str(7 * DAY_MS), **spec.config}
        if spec.name in ("purchases", "dead-letters"):
            config["retention.ms"] = str(30 * DAY_MS)
        out[spec.name] = config
    return out


def test_existing_topics_get_the_catalogues_retention_and_report_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    admin = FakeAdmin(old_release())
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    report = create_topics(ClientSettings())
    assert admin.created == []
    assert report["purchases"].status == "updated"
    assert report["purchases"].changed["retention.ms"] == (str(30 * DAY_MS), str(7 * DAY_MS))
    assert admin.altered["dead-letters"]["retention.ms"] == str(7 * DAY_MS)
    assert report["purchases"].retention == "7 d"
    assert report["consent-changes"].status == "exists" and not report["consent-changes"].changed
    assert report["consent-changes"].retention == "for ever"
    assert report["contacts"].retention.startswith("compacted")
    # a second run finds nothing to change
    admin.altered.clear()
    again = create_topics(ClientSettings())
    assert admin.altered == {} and {r.status for r in again.values()} == {"exists"}


def test_a_shorter_retention_from_the_settings_reaches_existing_topics(
        monkeypatch: pytest.MonkeyPatch, clean_env: pytest.MonkeyPatch) -> None:
    admin = FakeAdmin(old_release())
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    clean_env.setenv("CONSENT_RAW_RETENTION_DAYS", "2")
    report = create_topics(ClientSettings())
    for name in ("purchases", "support", "mail-requests", "mail-outbox"):
        assert admin.configs[name]["retention.ms"] == str(2 * DAY_MS), name
        assert report[name].retention == "2 d"
    assert admin.configs["dead-letters"]["retention.ms"] == str(7 * DAY_MS)


def test_missing_topics_are_created_with_their_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    existing = old_release()
    del existing["mail-outbox"]
    admin = FakeAdmin(existing)
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    report = create_topics(ClientSettings())
    assert admin.created == ["mail-outbox"] and report["mail-outbox"].status == "created"
    assert report["mail-outbox"].retention == "7 d"


def test_a_partition_mismatch_still_stops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = FakeAdmin(old_release(), partitions=3)
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    with pytest.raises(TopicError, match="co-partitioned"):
        create_topics(ClientSettings())
    assert admin.altered == {}


@pytest.mark.parametrize(("config", "shown"), [
    ({"retention.ms": "-1"}, "for ever"),
    ({"retention.ms": str(400 * DAY_MS)}, "400 d"),
    ({"retention.ms": "20000"}, "20 s"),
    ({"retention.ms": str(36 * 3600_000)}, "36.0 h"),
    ({"cleanup.policy": "compact"}, "compacted (latest per key kept)"),
])
def test_retention_is_described_for_people(config: dict[str, str], shown: str) -> None:
    assert describe_retention(config) == shown


def test_the_retention_ms_of_a_short_test_setting_is_exact() -> None:
    assert Retention(raw_ms=20_000).raw(x="y")["retention.ms"] == "20000"


class LaggingAdmin(FakeAdmin):
    """A broker whose metadata lags its controller: the first describes find no topic."""

    def __init__(self, existing: dict[str, dict[str, str]], lag: int) -> None:
        super().__init__(existing)
        self.lag = lag

    def describe_configs(self, resources: list[Any], request_timeout: float
                         ) -> dict[Any, Future]:
        from confluent_kafka import KafkaError, KafkaException

        if self.lag:
            self.lag -= 1
            out: dict[Any, Future] = {}
            for r in resources:
                fut: Future = Future()
                fut.set_exception(KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)))
                out[r] = fut
            return out
        return super().describe_configs(resources, request_timeout)


def test_a_topic_the_broker_does_not_know_yet_is_asked_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # seen on the real broker: right after setup, list and describe may miss topics the
    # controller already has (creation then answers TOPIC_ALREADY_EXISTS)
    monkeypatch.setattr(ops_topics, "UNKNOWN_TOPIC_RETRY_S", 0.01)
    admin = LaggingAdmin(old_release(), lag=3)
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    report = create_topics(ClientSettings())
    assert report["purchases"].status == "updated" and admin.lag == 0
    # for ever is not an option: a topic that never appears is an error naming it
    admin = LaggingAdmin(old_release(), lag=10 ** 6)
    monkeypatch.setattr(ops_topics, "AdminClient", admin)
    with pytest.raises(TopicError, match="UNKNOWN_TOPIC_OR_PART"):
        create_topics(ClientSettings(), timeout=0.05)
