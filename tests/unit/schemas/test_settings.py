"""CONSENT_* environment variables → StreamSettings / ClientSettings."""

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.contact import DEV_KEY_SECRET
from schemas.exceptions import ConsentError
from schemas.settings import ClientSettings
from streams.settings import StreamSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_without_environment() -> None:
    s = StreamSettings()
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.topic_prefix == ""
    assert s.partitions == 6
    assert s.environment == "development"
    assert s.key_secret.get_secret_value() == ""  # no default: a secret must be given
    assert s.app_id == "consent"
    assert s.policy_file is None


def test_environment_variables_are_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_KAFKA_BOOTSTRAP", "broker-1:9093,broker-2:9093")
    clean_env.setenv("CONSENT_TOPIC_PREFIX", "t42-")
    clean_env.setenv("CONSENT_PARTITIONS", "12")
    clean_env.setenv("CONSENT_REPLICATION_FACTOR", "3")
    clean_env.setenv("CONSENT_KEY_SECRET", "s3cr3t")
    clean_env.setenv("CONSENT_ENVIRONMENT", "staging")
    clean_env.setenv("CONSENT_APP_ID", "consent-eu")
    clean_env.setenv("CONSENT_POLICY_FILE", "/etc/consent/policy.toml")
    clean_env.setenv("CONSENT_UNSUBSCRIBE_TTL_DAYS", "30")
    clean_env.setenv("CONSENT_BARRIER_STALL_S", "2.5")
    s = StreamSettings()
    assert s.kafka_bootstrap == "broker-1:9093,broker-2:9093"
    assert s.topic("purchases") == "t42-purchases"
    assert s.partitions == 12
    assert s.replication_factor == 3
    assert s.key_secret.get_secret_value() == "s3cr3t"
    assert s.environment == "staging"
    assert s.app_id == "consent-eu"
    assert s.policy_file == Path("/etc/consent/policy.toml")
    assert s.unsubscribe_ttl_days == 30
    assert s.barrier_stall_s == 2.5


def test_kafka_settings_read_the_same_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_KAFKA_BOOTSTRAP", "kafka:9092")
    clean_env.setenv("CONSENT_APP_ID", "ignored-here")
    s = ClientSettings()
    assert s.kafka_bootstrap == "kafka:9092"
    assert not hasattr(s, "app_id")


def test_variables_without_the_prefix_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KAFKA_BOOTSTRAP", "elsewhere:9092")
    assert ClientSettings().kafka_bootstrap == "127.0.0.1:9092"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONSENT_PARTITIONS", "0"),
        ("CONSENT_PARTITIONS", "six"),
        ("CONSENT_REPLICATION_FACTOR", "0"),
        ("CONSENT_UNSUBSCRIBE_TTL_DAYS", "0"),
        ("CONSENT_BARRIER_STALL_S", "0"),
        ("CONSENT_METRICS_PORT", "-1"),
    ],
)
def test_invalid_values_are_refused(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("CONSENT_").lower()):
        StreamSettings()


def test_settings_are_frozen() -> None:
    s = StreamSettings()
    with pytest.raises(ValidationError):
        s.partitions = 3  # type: ignore[misc]


def test_secret_never_prints(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_KEY_SECRET", "very-secret-value")
    s = StreamSettings()
    assert "very-secret-value" not in repr(s)
    assert "very-secret-value" not in str(s)
    assert "very-secret-value" not in str(s.model_dump())


def test_producer_config_uses_kafkas_partitioner_and_full_acks(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("CONSENT_KAFKA_BOOTSTRAP", "localhost:9092")  # a declared host
    conf = ClientSettings().producer_config()
    assert conf["bootstrap.servers"] == "localhost:9092"
    assert conf["partitioner"] == "murmur2_random"
    assert conf["acks"] == "all"
    assert conf["enable.idempotence"] is True


def test_producer_config_extra_options_are_added() -> None:
    conf = ClientSettings().producer_config(**{"client.id": "bench", "linger.ms": 50})
    assert conf["client.id"] == "bench"
    assert conf["linger.ms"] == 50
    assert conf["partitioner"] == "murmur2_random"


def test_librdkafka_config_for_consumers() -> None:
    conf = ClientSettings().to_librdkafka(**{"group.id": "g"})
    assert conf["logger"].name == "consent.kafka"  # librdkafka logs in the process format
    assert _without_logger(conf) == {"bootstrap.servers": "127.0.0.1:9092", "group.id": "g"}


@pytest.mark.parametrize("environment", ["production", "development", "test"])
def test_the_once_published_secret_is_refused_everywhere(clean_env: pytest.MonkeyPatch,
                                                          environment: str) -> None:
    clean_env.setenv("CONSENT_ENVIRONMENT", environment)
    clean_env.setenv("CONSENT_KEY_SECRET", DEV_KEY_SECRET)
    with pytest.raises(ConsentError, match="CONSENT_KEY_SECRET") as info:
        StreamSettings().check_production()
    assert DEV_KEY_SECRET not in str(info.value)


def test_no_secret_at_all_is_refused_with_where_to_find_one(clean_env: pytest.MonkeyPatch
                                                            ) -> None:
    with pytest.raises(ConsentError, match="key_secret"):
        StreamSettings().check_production()


def test_production_refuses_an_empty_secret(clean_env: pytest.MonkeyPatch) -> None:
    # An unset Kubernetes secret often arrives as an empty variable; HMAC with an empty key is
    # a plain, reversible hash of the address.
    clean_env.setenv("CONSENT_ENVIRONMENT", "production")
    clean_env.setenv("CONSENT_KEY_SECRET", "")
    with pytest.raises((ConsentError, ValidationError)):
        StreamSettings().check_production()


def test_production_with_a_real_secret_starts(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_ENVIRONMENT", "production")
    clean_env.setenv("CONSENT_KEY_SECRET", "a-long-random-production-secret")
    StreamSettings().check_production()


def test_any_environment_starts_with_a_secret_of_its_own(clean_env: pytest.MonkeyPatch
                                                          ) -> None:
    clean_env.setenv("CONSENT_KEY_SECRET", "generated-for-this-stack")
    StreamSettings().check_production()


def _without_logger(conf: dict) -> dict:
    """Every client's configuration carries the logger that routes librdkafka's lines."""
    return {k: v for k, v in conf.items() if k != "logger"}
