"""Client configuration files (`CONSENT_KAFKA_CLIENT_CONFIG`): parsing, merging, secrecy."""

import logging
import os
from pathlib import Path

import pytest

from schemas.client_properties import load_client_properties, parse_client_properties
from schemas.exceptions import ConfigError, ConsentError
from schemas.settings import ClientSettings
from streams.settings import StreamSettings

PASSWORD = "pA55=w0rd==with=equals"  # a password may contain "="
FILE = f"""# written by ops.access for principal worker
! a comment in the Java style

bootstrap.servers=127.0.0.1:9892
security.protocol = SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=worker
sasl.password={PASSWORD}
ssl.ca.location=/tmp/ca.crt
ssl.endpoint.identification.algorithm=https
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith("CONSENT_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "worker.properties"
    path.write_text(FILE)
    return path


def test_comments_blank_lines_whitespace_and_equals_in_values() -> None:
    plain, secret = parse_client_properties(FILE, "f")
    assert plain == {
        "bootstrap.servers": "127.0.0.1:9892",
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "worker",
        "ssl.ca.location": "/tmp/ca.crt",
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert {k: v.get_secret_value() for k, v in secret.items()} == {"sasl.password": PASSWORD}


def test_windows_line_endings_are_fine() -> None:
    plain, secret = parse_client_properties("sasl.username=a\r\nsasl.password=b\r\n", "f")
    assert plain == {"sasl.username": "a"}
    assert secret["sasl.password"].get_secret_value() == "b"


@pytest.mark.parametrize(("text", "match"), [
    ("sasl.username", "line 1: expected key=value"),
    ("\n\n=value", "line 3: '' is not a librdkafka property name"),
    ("Sasl.Username=x", "not a librdkafka property name"),
    ("enable.idempotence=false", "enable.idempotence is not a connection setting"),
    ("group.id=someone-elses", "group.id is not a connection setting"),
    ("sasl.username=a\nsasl.username=b", "line 2: sasl.username is set twice"),
    ("sasl.password=", "line 1: sasl.password has no value"),
])
def test_unclear_files_are_refused_with_the_line(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_client_properties(text, "f")


def test_errors_never_repeat_a_secret_value() -> None:
    with pytest.raises(ConfigError) as info:
        parse_client_properties(f"sasl.password={PASSWORD}\nsasl.password={PASSWORD}", "f")
    assert PASSWORD not in str(info.value)


def test_a_missing_file_is_a_clear_consent_error(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.properties"
    with pytest.raises(ConsentError, match="nobody.properties does not exist.*"
                       "CONSENT_KAFKA_CLIENT_CONFIG"):
        load_client_properties(missing)


def test_settings_refuse_a_missing_file_when_made(clean_env: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    clean_env.setenv("CONSENT_KAFKA_CLIENT_CONFIG", str(tmp_path / "gone.properties"))
    with pytest.raises(ConfigError, match="gone.properties does not exist"):
        StreamSettings()


def test_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read Kafka client configuration"):
        load_client_properties(tmp_path)


def test_the_files_bootstrap_wins_and_secrets_reach_librdkafka(
        clean_env: pytest.MonkeyPatch, config: Path) -> None:
    clean_env.setenv("CONSENT_KAFKA_BOOTSTRAP", "elsewhere:9092")
    clean_env.setenv("CONSENT_KAFKA_CLIENT_CONFIG", str(config))
    s = StreamSettings()
    conf = s.consumer_config("g")
    assert conf["bootstrap.servers"] == "127.0.0.1:9892"
    assert s.bootstrap_servers == "127.0.0.1:9892"
    assert conf["sasl.password"] == PASSWORD
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["group.id"] == "g" and conf["isolation.level"] == "read_committed"
    producer = s.producer_config()
    assert producer["sasl.username"] == "worker" and producer["enable.idempotence"] is True


def test_a_file_without_bootstrap_keeps_kafka_bootstrap(tmp_path: Path) -> None:
    path = tmp_path / "c.properties"
    path.write_text("security.protocol=SSL\n")
    s = ClientSettings(kafka_bootstrap="localhost:9093", kafka_client_config=path)
    assert _without_logger(s.to_librdkafka()) == {"bootstrap.servers": "localhost:9093",
                                                   "security.protocol": "SSL"}


def test_unset_keeps_every_method_as_it_was(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_KAFKA_CLIENT_CONFIG", "")  # an unset deployment secret
    s = ClientSettings()
    assert s.kafka_client_config is None
    assert _without_logger(s.to_librdkafka()) == {"bootstrap.servers": "127.0.0.1:9092"}
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert _without_logger(s.consumer_config("g")) == {
        "bootstrap.servers": "127.0.0.1:9092", "group.id": "g", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "isolation.level": "read_committed",
        "session.timeout.ms": 10_000}


def test_every_consumer_gets_the_session_timeout_setting(clean_env: pytest.MonkeyPatch) -> None:
    """The sinks used librdkafka's 45 s: a restarted mailer waited that long for its own
    partitions while its dead predecessor still held them."""
    from sinks.settings import SinkSettings

    assert SinkSettings().consumer_config("mailer")["session.timeout.ms"] == 10_000
    clean_env.setenv("CONSENT_SESSION_TIMEOUT_S", "7.5")
    for settings in (SinkSettings(), StreamSettings(), ClientSettings()):
        assert settings.consumer_config("g")["session.timeout.ms"] == 7_500
    assert SinkSettings().consumer_config("g", **{"session.timeout.ms": 6000})[
        "session.timeout.ms"] == 6000  # a caller may still choose its own


def test_secrets_are_not_in_repr_str_dump_or_logs(
        clean_env: pytest.MonkeyPatch, config: Path, caplog: pytest.LogCaptureFixture) -> None:
    clean_env.setenv("CONSENT_KAFKA_CLIENT_CONFIG", str(config))
    s = StreamSettings()
    props = load_client_properties(config)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings %s %r / properties %s %r", s, s, props, props)
    for shown in (repr(s), str(s), str(s.model_dump()), s.model_dump_json(), repr(props),
                  str(props), repr(props.secret), caplog.text):
        assert PASSWORD not in shown
    assert "sasl.password" in repr(props)  # the key is shown, so one can see it is set


def _without_logger(conf: dict) -> dict:
    """Every client's configuration carries the logger that routes librdkafka's lines."""
    return {k: v for k, v in conf.items() if k != "logger"}
