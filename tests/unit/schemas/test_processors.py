"""Declared processors: the shipped file, the model's rules, and every component's refusal.

Each refusal must name the setting to fix; the defaults of the local stack, the demo, the tests
and the bench must be declared, or none of them would start.
"""

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from schemas.exceptions import ConfigError
from schemas.processors import (
    DEFAULT_PROCESSORS,
    Destination,
    DestinationKind,
    UndeclaredDestination,
    bootstrap_hosts,
    load_processors,
    normalise_host,
    parse_processors,
)
from schemas.settings import ClientSettings
from sinks.settings import SinkSettings
from streams.settings import StreamSettings

KINDS = list(DestinationKind)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith(("CONSENT_", "PG")):
            monkeypatch.delenv(name)
    return monkeypatch


def declaring(tmp_path: Path, **hosts: list[str]) -> Path:
    lines = ['version = "t"', "[processors.company]", 'name = "us"', 'role = "controller"']
    lines += [f"{kind} = {value!r}".replace("'", '"') for kind, value in hosts.items()]
    path = tmp_path / "processors.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_shipped_file_names_the_company_and_the_ecommerce_provider() -> None:
    declared = load_processors().processors
    assert {k: p.role for k, p in declared.processors.items()} == {
        "company": "controller", "ecommerce": "processor"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_local_defaults_are_declared(kind: DestinationKind) -> None:
    declared = load_processors().processors
    assert declared.recipient(kind, "127.0.0.1") == "company"
    assert declared.recipient(kind, "localhost") == "company"


def test_default_settings_of_every_component_pass() -> None:
    for settings in (ClientSettings(), SinkSettings(), StreamSettings()):
        settings.check_destinations(*KINDS)
        settings.to_librdkafka()


@pytest.mark.parametrize(("raw", "expected"), [
    ("LocalHost.", "localhost"), ("[::1]", "::1"), ("0:0:0:0:0:0:0:1", "::1"),
    ("127.0.0.1", "127.0.0.1"), ("bücher.example", "xn--bcher-kva.example"),
])
def test_hosts_compare_in_one_spelling(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize("raw", ["", "a b", "relay..example", "-x.example", "x" * 64 + ".example"])
def test_things_that_are_not_hosts_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a host"):
        normalise_host(raw)


@pytest.mark.parametrize(("servers", "hosts"), [
    ("127.0.0.1:9092", ["127.0.0.1"]),
    ("a.example:9092, b.example:9093", ["a.example", "b.example"]),
    ("SASL_SSL://broker.example:9093", ["broker.example"]),
    ("[::1]:9092,[2001:db8::1]:9093", ["::1", "2001:db8::1"]),
    ("broker.example", ["broker.example"]),
])
def test_bootstrap_lists_yield_their_hosts(servers: str, hosts: list[str]) -> None:
    assert bootstrap_hosts(servers) == hosts


def test_the_smtp_relay_must_be_declared_and_the_setting_is_named() -> None:
    settings = SinkSettings(smtp_host="relay.other.example")
    with pytest.raises(UndeclaredDestination) as info:
        settings.check_destinations(DestinationKind.SMTP)
    message = str(info.value)
    assert message.startswith("CONSENT_SMTP_HOST points at smtp host 'relay.other.example'")
    assert "declared: 127.0.0.1, localhost" in message and str(DEFAULT_PROCESSORS) in message
    settings.check_destinations(DestinationKind.DATABASE)  # not this component's concern


@pytest.mark.parametrize("url", [
    "postgresql://u:secret-pw@db.other.example:5432/consent",
    "host=db.other.example user=u password=secret-pw dbname=consent",
    "postgresql://u:secret-pw@127.0.0.1,db.other.example/consent",
    "postgresql://u:secret-pw@/consent?hostaddr=192.0.2.7",
])
def test_every_database_host_must_be_declared_and_the_password_never_shows(url: str) -> None:
    settings = SinkSettings(database_url=SecretStr(url))
    with pytest.raises(UndeclaredDestination, match="^CONSENT_DATABASE_URL points at") as info:
        settings.check_destinations(DestinationKind.DATABASE)
    assert "secret-pw" not in str(info.value)


@pytest.mark.parametrize("url", ["postgresql:///consent", "postgresql://u@%2Fvar%2Frun/consent",
                                 "host=/var/run/postgresql dbname=consent"])
def test_a_local_socket_is_not_a_destination(url: str) -> None:
    SinkSettings(database_url=SecretStr(url)).check_destinations(DestinationKind.DATABASE)


def test_pghost_counts_when_the_url_names_no_host(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PGHOST", "db.other.example")
    with pytest.raises(UndeclaredDestination, match="db.other.example"):
        SinkSettings(database_url=SecretStr("postgresql:///consent")).check_destinations(
            DestinationKind.DATABASE)


def test_a_database_url_that_cannot_be_parsed_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError, match="CONSENT_DATABASE_URL is not a valid") as info:
        SinkSettings(database_url=SecretStr("host='unterminated pw=secret-pw")).destinations()
    assert "secret-pw" not in str(info.value)


@pytest.mark.parametrize("url", ["https://unsubscribe.other.example/u", "unsubscribe", ""])
def test_the_worker_refuses_an_undeclared_unsubscribe_host(url: str) -> None:
    with pytest.raises(UndeclaredDestination, match="^CONSENT_UNSUBSCRIBE_BASE_URL points at"):
        StreamSettings(unsubscribe_base_url=url).check_destinations(DestinationKind.UNSUBSCRIBE)


def test_no_kafka_client_is_configured_towards_an_undeclared_bootstrap_host() -> None:
    settings = ClientSettings(kafka_bootstrap="127.0.0.1:9092,kafka.other.example:9092")
    for render in (settings.to_librdkafka, settings.producer_config,
                   lambda: settings.consumer_config("g")):
        with pytest.raises(UndeclaredDestination, match="^CONSENT_KAFKA_BOOTSTRAP points at "
                           "kafka host 'kafka.other.example'"):
            render()


def test_the_client_files_bootstrap_is_checked_and_named(tmp_path: Path) -> None:
    path = tmp_path / "worker.properties"
    path.write_text("bootstrap.servers=kafka.other.example:9093\nsecurity.protocol=SSL\n")
    with pytest.raises(UndeclaredDestination, match=f"^bootstrap.servers in {path} "
                       r"\(CONSENT_KAFKA_CLIENT_CONFIG\)"):
        ClientSettings(kafka_client_config=path).to_librdkafka()


def test_a_deployment_declares_its_own_hosts(tmp_path: Path,
                                             clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CONSENT_PROCESSORS_FILE", str(declaring(
        tmp_path, kafka=["kafka"], database=["db.internal"], smtp=["relay.internal"])))
    clean_env.setenv("CONSENT_KAFKA_BOOTSTRAP", "kafka:9092")
    clean_env.setenv("CONSENT_SMTP_HOST", "Relay.Internal.")
    clean_env.setenv("CONSENT_DATABASE_URL", "postgresql://u:p@db.internal/consent")
    settings = SinkSettings()
    settings.check_destinations(DestinationKind.KAFKA, DestinationKind.DATABASE,
                                DestinationKind.SMTP)
    assert settings.to_librdkafka()["bootstrap.servers"] == "kafka:9092"
    with pytest.raises(UndeclaredDestination, match="127.0.0.1"):  # the defaults are not
        StreamSettings().check_destinations(DestinationKind.UNSUBSCRIBE)


@pytest.mark.parametrize(("text", "error"), [
    ('version = "t"\n[processors.a]\nname = "a"\nrole = "processor"\n', "exactly one controller"),
    ('version = "t"\n[processors.a]\nname = "a"\nrole = "controller"\nsmtp = ["r.example"]\n'
     '[processors.b]\nname = "b"\nrole = "processor"\nsmtp = ["R.example"]\n',
     "declared by both a and b"),
    ('version = "t"\n[processors.a]\nname = "a"\nrole = "controller"\nftp = ["x"]\n',
     "processors.a.ftp"),
    ('version = "t"\n[processors.a]\nname = "a"\nrole = "controller"\nsmtp = ["*.example"]\n',
     "not a host"),
    ('version = "t"\n[processors.a\n', "not valid TOML"),
])
def test_a_bad_declaration_is_a_readable_error(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_processors(text, "p.toml")


def test_a_missing_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CONSENT_PROCESSORS_FILE"):
        load_processors(tmp_path / "nope.toml")


def test_each_host_has_one_recipient_which_is_reported() -> None:
    declared = parse_processors(
        'version = "t"\n[processors.us]\nname = "us"\nrole = "controller"\nkafka = ["k"]\n'
        '[processors.shop]\nname = "shop"\nrole = "processor"\nsmtp = ["relay.shop.example"]\n',
        "p.toml")
    assert declared.processors.recipient(DestinationKind.SMTP, "relay.shop.example") == "shop"
    assert declared.processors.recipient(DestinationKind.KAFKA, "relay.shop.example") is None
    declared.check(Destination(DestinationKind.SMTP, "CONSENT_SMTP_HOST", "relay.shop.example"))


# ------------------------------------------------------- components refuse before connecting

SECRET = SecretStr("unit-test-secret")


def test_the_mailer_refuses_an_undeclared_relay_before_anything_else() -> None:
    from sinks.mailer import Mailer, run_mailer

    settings = SinkSettings(smtp_host="relay.other.example", key_secret=SECRET)
    with pytest.raises(UndeclaredDestination, match="^CONSENT_SMTP_HOST"):
        run_mailer(settings)
    with pytest.raises(UndeclaredDestination, match="^CONSENT_SMTP_HOST"):
        Mailer(settings)


def test_the_postgres_sink_and_every_connection_refuse_an_undeclared_database() -> None:
    from sinks.db import connect, migrate
    from sinks.postgres_sink import run_postgres_sink

    settings = SinkSettings(database_url=SecretStr("postgresql://u:p@db.other.example/c"),
                            key_secret=SECRET)
    for start in (run_postgres_sink, connect, migrate):
        with pytest.raises(UndeclaredDestination, match="^CONSENT_DATABASE_URL"):
            start(settings)


def test_both_stream_processors_refuse_an_undeclared_unsubscribe_host() -> None:
    from streams.worker import run_agent, run_filter

    settings = StreamSettings(unsubscribe_base_url="https://u.other.example/unsubscribe",
                              key_secret=SECRET)
    for start in (run_agent, run_filter):
        with pytest.raises(UndeclaredDestination, match="^CONSENT_UNSUBSCRIBE_BASE_URL"):
            start(settings)


def test_the_producer_helper_refuses_an_undeclared_bootstrap_host() -> None:
    from sources.producer import EventProducer

    with pytest.raises(UndeclaredDestination, match="^CONSENT_KAFKA_BOOTSTRAP"):
        EventProducer(ClientSettings(kafka_bootstrap="kafka.other.example:9092",
                                     key_secret=SECRET))


def test_the_unsubscribe_server_refuses_an_undeclared_database_or_kafka_host() -> None:
    from sources.settings import SourceSettings
    from sources.unsubscribe.app import build_app

    async def publish(*_args: object) -> None:  # never called: the app is not built
        raise AssertionError

    foreign_db = SourceSettings(key_secret=SECRET, database_url=SecretStr(
        "postgresql://consent_unsubscribe:pw@db.other.example/consent"))
    with pytest.raises(UndeclaredDestination, match="^CONSENT_DATABASE_URL") as err:
        build_app(foreign_db, publish=publish)
    assert ":pw@" not in str(err.value)  # the URL holds the password; only the host is named
    # the Kafka producer is made on startup: the check may not wait for it
    with pytest.raises(UndeclaredDestination, match="^CONSENT_KAFKA_BOOTSTRAP"):
        build_app(SourceSettings(key_secret=SECRET, kafka_bootstrap="kafka.other.example:9092"))


def test_the_ingest_server_refuses_an_undeclared_kafka_host_before_serving() -> None:
    from sources.ingest.app import build_app
    from sources.settings import IngestSettings

    settings = IngestSettings(key_secret=SECRET, kafka_bootstrap="kafka.other.example:9092",
                              ingest_secrets={"shop": SecretStr("s" * 32)})
    with pytest.raises(UndeclaredDestination, match="^CONSENT_KAFKA_BOOTSTRAP"):
        build_app(settings)
