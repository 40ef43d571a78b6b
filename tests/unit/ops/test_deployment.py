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
from ops.stack import StackConfig
from ops.supervisor import LocalInfra, kind_of
from schemas.principals import principal
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
