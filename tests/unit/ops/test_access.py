"""ops.access without a broker: ACL bindings, client files, and what setup refuses."""

import os
import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from ops.access import AccessError, _owned, _write_private, acl_binding, render_client_file, setup_access
from schemas.client_properties import parse_client_properties
from schemas.principals import Grant, Operation, Pattern, Resource, principal
from schemas.settings import ClientSettings


def test_a_grant_becomes_an_allow_acl_from_any_host() -> None:
    b = acl_binding(Grant("worker", Resource.TRANSACTIONAL_ID, Pattern.PREFIXED, "t1-consent-",
                          Operation.WRITE))
    assert (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
            b.permission_type) == (ResourceType.TRANSACTIONAL_ID, "t1-consent-",
                                   ResourcePatternType.PREFIXED, "User:worker", "*",
                                   AclOperation.WRITE, AclPermissionType.ALLOW)
    topic = acl_binding(Grant("mailer", Resource.TOPIC, Pattern.LITERAL, "mail-outbox",
                              Operation.READ))
    assert (topic.restype, topic.resource_pattern_type, topic.operation) == (
        ResourceType.TOPIC, ResourcePatternType.LITERAL, AclOperation.READ)


def test_a_client_file_holds_exactly_the_connection_settings() -> None:
    text = render_client_file(
        principal("mailer"), "pw=with=equals",
        {"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
         "ssl.ca.location": "/ca.crt", "ssl.endpoint.identification.algorithm": "https"},
        "127.0.0.1:9892")
    plain, secret = parse_client_properties(text, "mailer.properties")
    assert plain == {"bootstrap.servers": "127.0.0.1:9892", "security.protocol": "SASL_SSL",
                     "sasl.mechanisms": "SCRAM-SHA-512", "ssl.ca.location": "/ca.crt",
                     "ssl.endpoint.identification.algorithm": "https", "sasl.username": "mailer"}
    assert secret["sasl.password"].get_secret_value() == "pw=with=equals"


def test_private_files_are_mode_600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        _write_private(tmp_path / "x.properties", "sasl.password=p\n")
        _write_private(tmp_path / "x.properties", "sasl.password=q\n")  # replaced, still 600
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.properties").stat().st_mode) == 0o600
    assert (tmp_path / "x.properties").read_text() == "sasl.password=q\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.properties"]


def test_setup_refuses_an_admin_configuration_without_sasl(tmp_path: Path) -> None:
    with pytest.raises(AccessError, match="admin.properties"):
        setup_access(ClientSettings(), "t1-", "t1-consent", tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(("name", "owned"), [
    ("t1-purchases", True), ("t1-consent-agent-x", True), ("t2-purchases", False),
    ("purchases", False)])
def test_prune_stays_inside_the_deployments_names(name: str, owned: bool) -> None:
    assert _owned(name, "t1-", "t1-consent") is owned


class _Done:
    def __init__(self, value: object) -> None:
        self.value = value

    def result(self) -> object:
        return self.value


class _LaggingBroker:
    """describe_acls shows the created ACLs only after `lag` reads, as a loaded broker does."""

    def __init__(self, acls: set, lag: int) -> None:
        self.acls, self.lag, self.reads = acls, lag, 0

    def describe_acls(self, _flt: object, request_timeout: float) -> _Done:
        self.reads += 1
        return _Done(list(self.acls) if self.reads > self.lag else [])


def test_setup_returns_only_once_the_broker_enforces_the_acls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ops.access as access

    monkeypatch.setattr(access.time, "sleep", lambda _s: None)
    wanted = {acl_binding(g) for g in access.grants("p-", "p-consent")}
    broker = _LaggingBroker(wanted, lag=3)
    access._await_acls(broker, wanted, timeout=5)  # type: ignore[arg-type]
    assert broker.reads == 4
    never = _LaggingBroker(set(), lag=0)
    with pytest.raises(AccessError, match="not in force"):
        access._await_acls(never, wanted, timeout=0)  # type: ignore[arg-type]
