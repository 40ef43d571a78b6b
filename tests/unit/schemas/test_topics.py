"""The topic catalogue's retention: set on every topic, days for personal data, from settings."""

import os

import pytest

from schemas.settings import ClientSettings
from schemas.topics import (
    CONTACTS,
    DAY_MS,
    DEAD_LETTERS,
    INPUT_TOPICS,
    MAIL_OUTBOX,
    MAIL_REQUESTS,
    RAW_TOPICS,
    RETENTION_CHECK_ALLOWANCE_MS,
    Retention,
    topic_specs,
)

PERSONAL = {*INPUT_TOPICS, MAIL_REQUESTS, MAIL_OUTBOX, DEAD_LETTERS, CONTACTS}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def specs(retention: Retention | None = None) -> dict[str, dict[str, str]]:
    return {s.name: s.config for s in topic_specs(retention)}


def test_every_topic_sets_its_retention_or_is_compacted_and_says_what_it_holds() -> None:
    for spec in topic_specs():
        policy = spec.config.get("cleanup.policy")
        assert policy in {"delete", "compact"}, spec.name
        if policy == "delete":
            assert "retention.ms" in spec.config, spec.name
        assert spec.holds, spec.name
        assert spec.holds.startswith("personal data") == (spec.name in PERSONAL), spec.name
        assert spec.holds.endswith("no personal data") == (spec.name not in PERSONAL), spec.name


def test_personal_data_in_raw_topics_is_kept_days_not_a_month_by_default() -> None:
    got = specs()
    for name in (*RAW_TOPICS, DEAD_LETTERS):
        assert int(got[name]["retention.ms"]) == 7 * DAY_MS, name
        assert int(got[name]["segment.ms"]) == 7 * DAY_MS // 10, name  # whole segments go
    assert int(got[CONTACTS]["max.compaction.lag.ms"]) <= DAY_MS


def test_retention_comes_from_the_settings(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_RAW_RETENTION_DAYS", "3")
    clean_env.setenv("CONSENT_DEAD_LETTER_RETENTION_DAYS", "0.5")
    retention = ClientSettings().retention()
    assert retention == Retention(raw_ms=3 * DAY_MS, dead_letter_ms=DAY_MS // 2)
    got = specs(retention)
    assert {got[t]["retention.ms"] for t in RAW_TOPICS} == {str(3 * DAY_MS)}
    assert got[DEAD_LETTERS]["retention.ms"] == str(DAY_MS // 2)


def test_a_retention_of_seconds_is_possible_for_tests(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_RAW_RETENTION_DAYS", str(20 / 86400))
    retention = ClientSettings().retention()
    assert retention.raw_ms == 20_000
    got = specs(retention)
    assert got[MAIL_OUTBOX]["segment.ms"] == "2000"
    assert got[CONTACTS]["max.compaction.lag.ms"] == "20000"


@pytest.mark.parametrize("value", ["0", "-1", "400", "a week"])
def test_a_retention_that_keeps_nothing_or_for_ever_is_refused(
        clean_env: pytest.MonkeyPatch, value: str) -> None:
    clean_env.setenv("CONSENT_RAW_RETENTION_DAYS", value)
    with pytest.raises(ValueError, match="raw_retention_days"):
        ClientSettings()


def test_the_bound_on_raw_copies_covers_segment_rolling_and_the_retention_check() -> None:
    r = Retention(raw_ms=7 * DAY_MS, dead_letter_ms=14 * DAY_MS)
    assert r.raw_copies_ms == 14 * DAY_MS + 14 * DAY_MS // 10 + RETENTION_CHECK_ALLOWANCE_MS
    assert Retention().raw_copies_ms == 7 * DAY_MS + 7 * DAY_MS // 10 + 300_000


def test_inputs_and_requests_count_retention_from_the_brokers_clock() -> None:
    got = specs()
    for name in (*INPUT_TOPICS, MAIL_REQUESTS):
        assert got[name]["message.timestamp.type"] == "LogAppendTime", name
