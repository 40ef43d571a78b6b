"""Kafka access for one deployment: the catalogue's principals as users, ACLs and client files.

`setup_access` runs with the admin's client configuration (written by `deploy/local/kafka.sh`
when `LOCAL_KAFKA_SECURITY=sasl_ssl`) and, for a topic prefix and an app id:

1. gives every principal of `schemas.principals` a SCRAM-SHA-512 user with a generated password
   (kept in its client file; an existing file's password is reused, so running setup again
   changes nothing a running client relies on);
2. creates exactly the catalogue's ACLs for that prefix and app id (creating an ACL that exists
   is a no-op in Kafka, so this is idempotent); with `prune`, it also deletes the ACLs of those
   principals inside this deployment's names (`<prefix>*`, `<app id>-*`) that the catalogue
   does not name, so a right removed from the catalogue is removed from the broker;
3. writes each principal's librdkafka settings to `<clients dir>/<principal>.properties`
   (mode 600, in a mode-700 directory), which a process gets as `CONSENT_KAFKA_CLIENT_CONFIG`.

Principals are users of the whole broker, while ACLs are per deployment: setting up a second
prefix on the same broker gives the same `worker` the same rights on that prefix's topics.
"""

import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from ops.exceptions import OpsError
from schemas.client_properties import load_client_properties
from schemas.principals import PRINCIPALS, Grant, Operation, Pattern, Principal, Resource, grants
from schemas.settings import ClientSettings

log = logging.getLogger("consent.access")

SCRAM_ITERATIONS = 8192
"""Kafka accepts 4096-16384 for SCRAM-SHA-512; each client login pays them once."""
PASSWORD_BYTES = 32

_RESOURCE = {Resource.TOPIC: ResourceType.TOPIC, Resource.GROUP: ResourceType.GROUP,
             Resource.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID}
_PATTERN = {Pattern.LITERAL: ResourcePatternType.LITERAL,
            Pattern.PREFIXED: ResourcePatternType.PREFIXED}
_OPERATION = {Operation.READ: AclOperation.READ, Operation.WRITE: AclOperation.WRITE,
              Operation.DESCRIBE: AclOperation.DESCRIBE}
# what the client files copy from the admin's: how to reach and trust the broker, never who
_CONNECTION_KEYS = ("security.protocol", "sasl.mechanisms", "ssl.ca.location",
                    "ssl.endpoint.identification.algorithm")


class AccessError(OpsError):
    """Users, ACLs or client files could not be set up."""


@dataclass
class AccessReport:
    clients_dir: Path
    users: list[str] = field(default_factory=list)
    new_passwords: list[str] = field(default_factory=list)
    acls: int = 0
    pruned: list[str] = field(default_factory=list)


def acl_binding(grant: Grant) -> AclBinding:
    """The confluent-kafka form of one catalogue grant: allow, from any host."""
    return AclBinding(_RESOURCE[grant.resource], grant.name, _PATTERN[grant.pattern],
                      f"User:{grant.principal}", "*", _OPERATION[grant.operation],
                      AclPermissionType.ALLOW)


def client_file(clients_dir: Path, name: str) -> Path:
    return clients_dir / f"{name}.properties"


def _password(path: Path) -> str | None:
    """The password of an existing client file, so setup never rotates it by accident."""
    if not path.exists():
        return None
    secret = load_client_properties(path).secret.get("sasl.password")
    return secret.get_secret_value() if secret is not None else None


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 600 from the first byte on, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def render_client_file(p: Principal, password: str, connection: dict[str, str],
                       bootstrap: str) -> str:
    lines = [f"# Kafka client settings of principal {p.name} ({p.role}).",
             "# Written by ops.access; mode 600. Give it to that process only, as",
             "# CONSENT_KAFKA_CLIENT_CONFIG; never copy the password elsewhere.",
             f"bootstrap.servers={bootstrap}",
             *(f"{k}={connection[k]}" for k in _CONNECTION_KEYS if k in connection),
             f"sasl.username={p.name}",
             f"sasl.password={password}"]
    return "\n".join(lines) + "\n"


@contextmanager
def _locked(clients_dir: Path) -> Iterator[None]:
    """One setup at a time per clients directory (parallel test workers share one)."""
    fd = os.open(clients_dir / ".access.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _results(futures: dict[object, object], what: str) -> None:
    failed = []
    for key, fut in futures.items():
        try:
            fut.result()  # type: ignore[attr-defined]
        except KafkaException as exc:
            failed.append(f"{key}: {exc.args[0].name()}")
    if failed:
        raise AccessError(f"{what} failed: {'; '.join(failed[:5])}")


def _owned(name: str, prefix: str, app_id: str) -> bool:
    """Is a resource name inside this deployment's names (what prune may delete)?"""
    return name.startswith(prefix) or name.startswith(f"{app_id}-")


def _prune(admin: AdminClient, wanted: set[AclBinding], prefix: str, app_id: str,
           timeout: float) -> list[str]:
    stale: list[AclBinding] = []
    for p in PRINCIPALS:
        flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{p.name}",
                               None, AclOperation.ANY, AclPermissionType.ANY)
        try:
            existing = admin.describe_acls(flt, request_timeout=timeout).result()
        except KafkaException as exc:
            raise AccessError(f"cannot list the ACLs of {p.name}: {exc.args[0].name()}") from exc
        stale += [b for b in existing if b not in wanted and _owned(b.name, prefix, app_id)]
    if not stale:
        return []
    filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host,
                                b.operation, b.permission_type) for b in stale]
    _results(admin.delete_acls(filters, request_timeout=timeout), "deleting stale ACLs")
    return [f"{b.principal} {b.operation.name} {b.restype.name} {b.name}" for b in stale]


def setup_access(admin_settings: ClientSettings, prefix: str, app_id: str, clients_dir: Path,
                 *, prune: bool = False, timeout: float = 30.0) -> AccessReport:
    """Users, ACLs and client files of every principal for one prefix and app id."""
    conf = admin_settings.to_librdkafka()
    if not str(conf.get("security.protocol", "")).upper().startswith("SASL"):
        raise AccessError("the admin client configuration does not use SASL: point "
                          "CONSENT_KAFKA_CLIENT_CONFIG at the admin's file (clients/"
                          "admin.properties of a LOCAL_KAFKA_SECURITY=sasl_ssl stack)")
    bindings = {acl_binding(g) for g in grants(prefix, app_id)}
    clients_dir.mkdir(parents=True, exist_ok=True)
    clients_dir.chmod(0o700)
    admin = AdminClient(conf)
    report = AccessReport(clients_dir)
    with _locked(clients_dir):
        passwords: dict[str, str] = {}
        for p in PRINCIPALS:
            known = _password(client_file(clients_dir, p.name))
            if known is None:
                report.new_passwords.append(p.name)
            passwords[p.name] = known or secrets.token_urlsafe(PASSWORD_BYTES)
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upserts = [UserScramCredentialUpsertion(name, info, pw.encode())
                   for name, pw in passwords.items()]
        try:
            futures = admin.alter_user_scram_credentials(upserts, request_timeout=timeout)
        except KafkaException as exc:
            raise AccessError(f"cannot reach Kafka at {conf['bootstrap.servers']}: "
                              f"{exc.args[0].name()}") from exc
        _results(futures, "creating SCRAM users")
        report.users = list(passwords)
        _results(admin.create_acls(sorted(bindings, key=str), request_timeout=timeout),
                 "creating ACLs")
        report.acls = len(bindings)
        if prune:
            report.pruned = _prune(admin, bindings, prefix, app_id, timeout)
        connection = {k: str(v) for k, v in conf.items() if k in _CONNECTION_KEYS}
        for p in PRINCIPALS:
            _write_private(client_file(clients_dir, p.name),
                           render_client_file(p, passwords[p.name], connection,
                                              str(conf["bootstrap.servers"])))
    log.info("access set up for prefix %r, app id %r: %d users, %d ACLs, %d pruned",
             prefix, app_id, len(report.users), report.acls, len(report.pruned))
    return report


def run_access_setup(*, prune: bool = False, clients_dir: str | None = None) -> int:
    """`consent access setup [--prune] [--clients-dir DIR]`, from `CONSENT_*` variables.

    CONSENT_KAFKA_CLIENT_CONFIG names the admin's file; CONSENT_TOPIC_PREFIX and CONSENT_APP_ID
    the deployment. Client files go next to the admin's unless `clients_dir` is given.
    """
    from rich.console import Console

    from streams.settings import StreamSettings

    settings = StreamSettings()
    if settings.kafka_client_config is None:
        raise AccessError("CONSENT_KAFKA_CLIENT_CONFIG must name the admin's client file "
                          "(e.g. .local/dev/clients/admin.properties)")
    target = Path(clients_dir) if clients_dir else settings.kafka_client_config.parent
    report = setup_access(settings, settings.topic_prefix, settings.app_id, target, prune=prune)
    console = Console()
    console.print(f"{len(report.users)} principals, {report.acls} ACLs for prefix "
                  f"{settings.topic_prefix!r} and app id {settings.app_id!r}")
    for name in report.users:
        state = "new password" if name in report.new_passwords else "password kept"
        console.print(f"  {name:18} {state:14} {client_file(target, name)}")
    for line in report.pruned:
        console.print(f"  pruned: {line}")
    return 0
