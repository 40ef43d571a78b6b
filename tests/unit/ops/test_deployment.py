"""Who each process of a local stack runs as, and which secrets it is given (no server started).

`make up` starts what `StackConfig.processes()` names with `Deployment.env_for`; a kind missing
from `IDENTITIES` would stop the supervisor, and a webhook server without signing secrets would
refuse to start. Both are checked here, where they cost nothing, rather than only by the stack
test that runs a whole second broker.
"""

import json
import os
import stat
from pathlib import Path

import pytest

from ops.deployment import IDENTITIES, INGEST_SECRETS_FILE, Deployment
from ops.exceptions import InfraError
from ops.stack import StackConfig
from ops.supervisor import LocalInfra, kind_of
from ops.topics import durability_config
from schemas.exceptions import ConfigError
from schemas.principals import principal
from schemas.settings import ClientSettings
from sources.settings import IngestSettings


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    monkeypatch.setenv("CONSENT_LOCAL_DIR", str(tmp_path))
    infra = LocalInfra("unit", 19092, 19093, 55432, secured=False)  # constructed, not started
    return Deployment(infra, prefix="u-", app_id="u-consent", db_schema="u",
                      data_dir=tmp_path / "worker")


def test_every_stack_process_has_an_identity_in_the_catalogue(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setenv("CONSENT_INGEST_PORT", "18390")
    cfg = StackConfig.from_env()
    processes = cfg.processes()
    assert processes["ingest-server"] == ["ingest-server", "--port", "18390"]
    for args in processes.values():
        kafka, _role = IDENTITIES[kind_of(args)]
        if kafka is not None:
            principal(kafka)  # raises for a name the access catalogue does not know
    assert IDENTITIES["ingest-server"] == ("ingest", None)


def test_only_the_ingest_server_is_given_the_webhook_secrets(deployment: Deployment) -> None:
    for kind in IDENTITIES:
        env = deployment.env_for(kind)
        assert ("CONSENT_INGEST_SECRETS" in env) is (kind == "ingest-server"), kind
    secrets = json.loads(deployment.env_for("ingest-server")["CONSENT_INGEST_SECRETS"])
    assert secrets == deployment.ingest_secrets  # stable: generated once, then read
    path = deployment.infra.instance_dir / INGEST_SECRETS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_generated_secrets_start_a_webhook_server(deployment: Deployment,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in deployment.env_for("ingest-server").items():
        monkeypatch.setenv(name, value)
    settings = IngestSettings()
    settings.check_ingest()  # long enough, and every source of the defaults has one
    assert set(settings.enabled_sources()) == set(settings.ingest_sources)


def test_a_three_broker_cluster_is_reached_on_every_node_and_replicates_every_topic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_LOCAL_DIR", str(tmp_path))
    infra = LocalInfra("unit3", 19092, 19093, 55432, secured=False, brokers=3)
    assert infra.env["LOCAL_KAFKA_BROKERS"] == "3"
    assert infra.bootstrap == "127.0.0.1:19092,127.0.0.1:19102,127.0.0.1:19112"
    dep = Deployment(infra, prefix="u-", app_id="u-consent", db_schema="u",
                     data_dir=tmp_path / "worker")
    assert dep.base_env()["CONSENT_REPLICATION_FACTOR"] == "3"
    assert dep.base_env()["CONSENT_KAFKA_BOOTSTRAP"] == infra.bootstrap
    assert dep.admin_settings().replication_factor == 3
    with pytest.raises(InfraError):
        LocalInfra("unit2", 19092, 19093, 55432, brokers=2)


def test_a_single_broker_keeps_one_replica(deployment: Deployment) -> None:
    assert deployment.base_env()["CONSENT_REPLICATION_FACTOR"] == "1"
    assert deployment.infra.bootstrap == "127.0.0.1:19092"


@pytest.mark.parametrize(("rf", "isr"), [(1, "1"), (2, "1"), (3, "2"), (5, "2")])
def test_topics_need_two_in_sync_replicas_once_there_are_three(rf: int, isr: str) -> None:
    settings = ClientSettings(kafka_bootstrap="x:1", replication_factor=rf,
                              key_secret="k" * 40)
    assert durability_config(settings) == {"min.insync.replicas": isr}


def test_make_up_follows_the_broker_count_the_instance_was_started_with(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_LOCAL_DIR", str(tmp_path))
    monkeypatch.setenv("CONSENT_INSTANCE", "c3")
    monkeypatch.delenv("LOCAL_KAFKA_BROKERS", raising=False)
    assert StackConfig.from_env().brokers == 1
    (tmp_path / "c3" / "kafka").mkdir(parents=True)
    (tmp_path / "c3" / "kafka" / "brokers").write_text("3\n")
    assert StackConfig.from_env().brokers == 3  # make down/status without CLUSTER=3
    monkeypatch.setenv("LOCAL_KAFKA_BROKERS", "1")
    assert StackConfig.from_env().brokers == 1
    monkeypatch.setenv("LOCAL_KAFKA_BROKERS", "2")
    with pytest.raises(ConfigError):
        StackConfig.from_env()


def test_make_status_shows_each_http_endpoints_own_metrics_port(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENT_UNSUBSCRIBE_PORT", "18389")
    monkeypatch.setenv("CONSENT_INGEST_PORT", "18390")
    monkeypatch.setenv("CONSENT_METRICS_BASE_PORT", "19300")
    cfg = StackConfig.from_env()
    assert cfg.metrics_port("unsubscribe-server") == 18389
    assert cfg.metrics_port("ingest-server") == 18390
    assert cfg.metrics_port("filter") == 19302
    assert cfg.metrics_port("smtp-capture") == 0
