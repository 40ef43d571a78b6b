"""Only who belongs (issue 9): the secured local stack, proved on a real broker and database.

This module brings up its OWN instance with `LOCAL_KAFKA_SECURITY=sasl_ssl` and
`LOCAL_PG_ROLES=1` (instance `test-access`, ports 9992/9993 and 54399 unless overridden), so
it neither needs nor disturbs the session's plaintext stack. On it:

- nobody gets in without the right credentials over the right TLS (anonymous, TLS without
  SASL, wrong password, unknown user, other mechanisms, an untrusted server, the controller);
- each principal, on every topic of a deployment and of a foreign one, can produce, consume
  and describe exactly what the catalogue gives it, and nobody can create, delete or alter
  topics, configs, groups, ACLs or users; only the worker may use its app id's groups and
  transactional ids;
- the real worker, filter, PostgreSQL sink and mailer do their whole job, each with its own
  principal and PostgreSQL role, and lookup works as the reader;
- each PostgreSQL role is denied what it must not do;
- setup is idempotent and prunes, secrets are private files that no log repeats, and an
  instance refuses to be reopened in the other mode.
"""

import os
import re
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from ops.access import acl_binding, setup_access
from ops.lookup import lookup
from ops.smtp_capture import CaptureServer
from ops.supervisor import REPO_ROOT, Components, LocalInfra, wait_until
from ops.topics import create_topics
from schemas.contact import contact_key
from schemas.principals import PRINCIPALS, Grant, Operation, Pattern, Principal, Resource, grants
from schemas.settings import ClientSettings
from schemas.topics import topic_specs
from sinks.db import migrate
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event

pytestmark = pytest.mark.integration

INSTANCE = os.environ.get("CONSENT_ACCESS_TEST_INSTANCE", "test-access")
KEY_SECRET = "access-test-secret"  # noqa: S105 - a test instance's own secret
_BASE = int(os.environ.get("CONSENT_ACCESS_TEST_PORT_BASE", "9992"))
PG_PORT = int(os.environ.get("CONSENT_ACCESS_TEST_PG_PORT", "54399"))

TAG = uuid.uuid4().hex[:6]
PREFIX = f"a{TAG}-"  # the deployment every probe works on
APP_ID = f"{PREFIX}consent"
FOREIGN = f"z{TAG}-"  # a deployment nobody was given rights on
E2E_PREFIX = f"e{TAG}-"  # the real components run here, on topics no probe wrote into
NAMES = [spec.name for spec in topic_specs()]
TOPICS = [PREFIX + n for n in NAMES] + [FOREIGN + n for n in NAMES]
GROUPS = [f"{APP_ID}-{g}" for g in ("agent", "filter", "restore", "replica")] + [
    f"{PREFIX}postgres-sink", f"{PREFIX}mailer", f"{PREFIX}dpo",  # the named groups
    f"{FOREIGN}postgres-sink", f"{FOREIGN}consent-agent",  # another deployment's
    f"{APP_ID}x-agent",  # the app id without its dash: not the worker's
]
DENIED = "TOPIC_AUTHORIZATION_FAILED"


# ------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def secured() -> Iterator[LocalInfra]:
    with LocalInfra(INSTANCE, _BASE, _BASE + 1, PG_PORT, secured=True) as running:
        yield running


def admin_for(infra: LocalInfra, prefix: str, partitions: int = 1) -> ClientSettings:
    return ClientSettings(kafka_client_config=infra.admin_config, topic_prefix=prefix,
                          partitions=partitions)


@pytest.fixture(scope="module")
def deployment(secured: LocalInfra) -> LocalInfra:
    """Topics of PREFIX and FOREIGN, one record in each, and access set up for PREFIX only."""
    for prefix in (PREFIX, FOREIGN):
        create_topics(admin_for(secured, prefix))
    setup_access(admin_for(secured, PREFIX), PREFIX, APP_ID, secured.clients_dir)
    seeder = Producer(admin_for(secured, PREFIX).producer_config())
    for topic in TOPICS:
        seeder.produce(topic, b"seed", key=b"k", partition=0)
    assert seeder.flush(30) == 0
    return secured


def settings_of(infra: LocalInfra, name: str, prefix: str = PREFIX,
                **kw: Any) -> ClientSettings:
    return ClientSettings(kafka_client_config=infra.client_config(name), topic_prefix=prefix,
                          environment="test", key_secret=SecretStr(KEY_SECRET), **kw)


def own_group(p: Principal) -> str | None:
    if p.app_id_scoped:
        return f"{APP_ID}-agent"
    return f"{PREFIX}{p.groups[0]}" if p.groups else None


def may_use_group(p: Principal, group: str) -> bool:
    return ((p.app_id_scoped and group.startswith(f"{APP_ID}-"))
            or group in {PREFIX + g for g in p.groups})


def error_name(fut: Any) -> str | None:
    """None if the admin request succeeded, else Kafka's error name."""
    try:
        fut.result()
    except KafkaException as exc:
        return str(exc.args[0].name())
    return None


# ------------------------------------------------------------------ who may connect at all

def client_errors(conf: dict[str, Any], wait: float = 6.0) -> list[str]:
    """The errors librdkafka reports while trying to connect (empty if none)."""
    errors: list[str] = []
    producer = Producer({**conf, "error_cb": lambda e: errors.append(f"{e.name()}: {e.str()}")})
    deadline = time.monotonic() + wait
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    producer.poll(0.5)  # the reason often follows the first error
    return errors


def test_anonymous_and_wrong_credentials_are_refused(deployment: LocalInfra) -> None:
    worker = settings_of(deployment, "worker").to_librdkafka()
    ca = worker["ssl.ca.location"]
    controller = f"127.0.0.1:{_BASE + 1}"
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "anonymous, plaintext": ({"bootstrap.servers": deployment.bootstrap}, ""),
        "TLS without SASL": ({"bootstrap.servers": deployment.bootstrap,
                              "security.protocol": "SSL", "ssl.ca.location": ca}, ""),
        "wrong password": ({**worker, "sasl.password": "not-the-password"}, "_AUTHENTICATION"),
        "unknown user": ({**worker, "sasl.username": "eve"}, "_AUTHENTICATION"),
        "the admin without its password": ({**worker, "sasl.username": "admin"},
                                           "_AUTHENTICATION"),
        "SCRAM-SHA-256": ({**worker, "sasl.mechanisms": "SCRAM-SHA-256"}, "_AUTHENTICATION"),
        "PLAIN": ({**worker, "sasl.mechanisms": "PLAIN"}, "_AUTHENTICATION"),
        "a server it cannot verify": ({k: v for k, v in worker.items()
                                       if k != "ssl.ca.location"}, "certificate verify failed"),
        "controller, plaintext": ({"bootstrap.servers": controller}, ""),
        "controller, TLS without a client certificate": (
            {"bootstrap.servers": controller, "security.protocol": "SSL", "ssl.ca.location": ca},
            "(certificate required|bad certificate)"),  # the TLS alert, by TLS version
        "controller, a principal's credentials": ({**worker, "bootstrap.servers": controller},
                                                  ""),
    }
    for case, (conf, reason) in cases.items():
        errors = client_errors(conf)
        assert errors, f"{case}: no error at all"
        assert re.search(reason, " ".join(errors)), f"{case}: {errors}"
        with pytest.raises(KafkaException):
            AdminClient(conf).list_topics(timeout=2)


# ------------------------------------------------------------------ topics, principal by principal

@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_a_principal_describes_exactly_its_topics(deployment: LocalInfra, p: Principal) -> None:
    listed = AdminClient(settings_of(deployment, p.name).to_librdkafka()).list_topics(timeout=15)
    visible = {t for t in listed.topics if t.startswith((PREFIX, FOREIGN))}
    assert visible == {PREFIX + t for t in (*p.reads, *p.writes, *p.describes)}


@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_a_principal_produces_exactly_where_it_may(deployment: LocalInfra, p: Principal) -> None:
    # not idempotent here, so one denied topic cannot fail the producer for all the others
    producer = Producer(settings_of(deployment, p.name).to_librdkafka(**{
        "enable.idempotence": False, "message.timeout.ms": 15000}))
    outcome: dict[str, str] = {}
    for topic in TOPICS:
        producer.produce(topic, b"probe", key=b"k", partition=0,
                         on_delivery=lambda err, _m, t=topic: outcome.__setitem__(
                             t, err.name() if err else "delivered"))
    assert producer.flush(30) == 0
    assert {t for t, o in outcome.items() if o == "delivered"} == {PREFIX + t for t in p.writes}
    assert {o for o in outcome.values() if o != "delivered"} <= {DENIED}
    if p.writes:  # and the configuration components really use (idempotent, acks=all) works
        real = Producer(settings_of(deployment, p.name).producer_config())
        real.produce(PREFIX + p.writes[0], b"probe", key=b"k")
        assert real.flush(30) == 0


@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_a_principal_consumes_exactly_what_it_may(deployment: LocalInfra, p: Principal) -> None:
    """Every partition 0 holds a record; a principal is served exactly those it may read."""
    allowed = {PREFIX + t for t in p.reads}
    group = own_group(p) or f"{PREFIX}probe-{p.name}"
    consumer = Consumer(settings_of(deployment, p.name).consumer_config(group))
    consumer.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in TOPICS])
    served: set[str] = set()
    start = time.monotonic()
    try:
        while time.monotonic() - start < 25:
            msg = consumer.poll(0.25)
            if msg is not None and msg.error() is None:
                served.add(str(msg.topic()))
            if served >= allowed and time.monotonic() - start > 4:
                break  # the readable ones came quickly; the rest had time to come too
    finally:
        consumer.close()
    assert served == allowed


@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_nobody_creates_deletes_or_alters_topics(deployment: LocalInfra, p: Principal) -> None:
    admin = AdminClient(settings_of(deployment, p.name).to_librdkafka())
    created = admin.create_topics([NewTopic(f"{PREFIX}intruder", 1, 1),
                                   NewTopic(f"{PREFIX}{p.name}-own", 1, 1)])
    assert {error_name(f) for f in created.values()} == {DENIED}
    assert {error_name(f) for f in admin.delete_topics(TOPICS, operation_timeout=10).values()
            } == {DENIED}
    alter = [ConfigResource(ResourceType.TOPIC, t, incremental_configs=[ConfigEntry(
        "retention.ms", "1", incremental_operation=AlterConfigOpType.SET)]) for t in TOPICS]
    assert {error_name(f) for f in admin.incremental_alter_configs(alter).values()} == {DENIED}
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, t) for t in TOPICS])
    assert {error_name(f) for f in described.values()} == {DENIED}
    grown = admin.create_partitions([NewPartitions(t, 3) for t in TOPICS])
    assert {error_name(f) for f in grown.values()} == {DENIED}
    deleted = admin.delete_records([TopicPartition(t, 0, 1) for t in TOPICS])
    assert {error_name(f) for f in deleted.values()} == {DENIED}
    # and nothing happened: every topic is there, with its one partition and its seed record
    left = AdminClient(admin_for(deployment, PREFIX).to_librdkafka()).list_topics(timeout=15)
    for topic in TOPICS:
        assert len(left.topics[topic].partitions) == 1


@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_nobody_touches_acls_users_or_the_broker(deployment: LocalInfra, p: Principal) -> None:
    admin = AdminClient(settings_of(deployment, p.name).to_librdkafka())
    escalate = acl_binding(Grant(p.name, Resource.TOPIC, Pattern.PREFIXED, PREFIX,
                                 Operation.READ))
    assert error_name(next(iter(admin.create_acls([escalate]).values()))
                      ) == "CLUSTER_AUTHORIZATION_FAILED"
    anything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                AclOperation.ANY, AclPermissionType.ANY)
    assert admin.describe_acls(anything).result() == []  # Kafka answers, but reveals nothing
    super_user = AdminClient(admin_for(deployment, PREFIX).to_librdkafka())
    assert super_user.describe_acls(anything).result()  # while the admin sees every ACL
    assert {error_name(f) for f in admin.delete_acls([anything]).values()
            } == {"CLUSTER_AUTHORIZATION_FAILED"}
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    upserts = [UserScramCredentialUpsertion(user, info, b"taken-over")
               for user in dict.fromkeys(("admin", "worker", "mallory", p.name))]
    assert {error_name(f) for f in admin.alter_user_scram_credentials(upserts).values()
            } == {"CLUSTER_AUTHORIZATION_FAILED"}
    # not describe_user_scram_credentials: confluent-kafka 2.16.1 aborts the process
    # (munmap_chunk) at exit after that call fails
    broker = ConfigResource(ResourceType.BROKER, "1")
    assert {error_name(f) for f in admin.describe_configs([broker]).values()
            } == {"CLUSTER_AUTHORIZATION_FAILED"}


# ------------------------------------------------------------------ groups and transactions

@pytest.mark.parametrize("p", PRINCIPALS, ids=lambda p: p.name)
def test_a_principal_sees_only_its_groups_and_deletes_none(deployment: LocalInfra,
                                                          p: Principal) -> None:
    admin = AdminClient(settings_of(deployment, p.name).to_librdkafka())
    described = admin.describe_consumer_groups(GROUPS)
    for group in GROUPS:
        expected = None if may_use_group(p, group) else "GROUP_AUTHORIZATION_FAILED"
        assert error_name(described[group]) == expected, group
    deleted = admin.delete_consumer_groups(GROUPS)
    assert {error_name(f) for f in deleted.values()} == {"GROUP_AUTHORIZATION_FAILED"}


@pytest.mark.parametrize(("name", "group"), [
    ("mailer", f"{PREFIX}postgres-sink"),
    ("postgres-sink", f"{PREFIX}mailer"),
    ("dpo", f"{PREFIX}mailer"),
    ("worker", f"{FOREIGN}consent-agent"),
    ("worker", f"{PREFIX}dpo"),
    ("mailer", f"{APP_ID}-filter"),
])
def test_nobody_joins_another_roles_group(deployment: LocalInfra, name: str, group: str) -> None:
    p = next(q for q in PRINCIPALS if q.name == name)
    consumer = Consumer(settings_of(deployment, name).consumer_config(group))
    consumer.subscribe([PREFIX + p.reads[0]])
    errors: set[str] = set()
    deadline = time.monotonic() + 20
    try:
        while not errors and time.monotonic() < deadline:
            msg = consumer.poll(0.25)
            assert msg is None or msg.error() is not None, "served through a foreign group"
            if msg is not None:
                errors.add(msg.error().name())
    finally:
        consumer.close()
    assert errors == {"GROUP_AUTHORIZATION_FAILED"}


@pytest.mark.parametrize(("name", "transactional_id", "allowed"), [
    ("worker", f"{APP_ID}-agent-{uuid.uuid4().hex[:12]}", True),
    ("worker", f"{APP_ID}-filter-{uuid.uuid4().hex[:12]}", True),
    ("worker", f"{FOREIGN}consent-agent-1", False),
    ("worker", f"{APP_ID}x-agent-1", False),
    ("marketing", f"{APP_ID}-filter-1", False),
    ("postgres-sink", f"{APP_ID}-agent-1", False),
    ("mailer", f"{PREFIX}mailer", False),
])
def test_only_the_worker_uses_its_transactional_ids(deployment: LocalInfra, name: str,
                                                   transactional_id: str, allowed: bool) -> None:
    p = next(q for q in PRINCIPALS if q.name == name)
    producer = Producer(settings_of(deployment, name).producer_config(**{
        "transactional.id": transactional_id}))
    if not allowed:
        with pytest.raises(KafkaException) as info:
            producer.init_transactions(20)
        assert info.value.args[0].code() in (KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                                             KafkaError.CLUSTER_AUTHORIZATION_FAILED)
        return
    producer.init_transactions(20)
    producer.begin_transaction()
    producer.produce(PREFIX + p.writes[0], b"in a transaction", key=b"k")
    producer.commit_transaction(20)


# ------------------------------------------------------------------ the real components

def test_the_components_do_their_job_each_as_its_own_principal_and_role(
        secured: LocalInfra, tmp_path: Path) -> None:
    schema, app_id = f"e_{TAG}", f"{E2E_PREFIX}consent"
    admin = admin_for(secured, E2E_PREFIX, partitions=2)
    create_topics(admin)
    setup_access(admin, E2E_PREFIX, app_id, secured.clients_dir)
    migrate(SinkSettings(database_url=SecretStr(secured.role_url("consent_owner")),
                         db_schema=schema))
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    with CaptureServer() as smtp, Components({
        "CONSENT_KAFKA_BOOTSTRAP": "127.0.0.1:1",  # nothing there: the client file's wins
        "CONSENT_TOPIC_PREFIX": E2E_PREFIX, "CONSENT_APP_ID": app_id,
        "CONSENT_PARTITIONS": "2", "CONSENT_DB_SCHEMA": schema, "CONSENT_ENVIRONMENT": "test",
        "CONSENT_KEY_SECRET": KEY_SECRET,
        "CONSENT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "CONSENT_DATA_DIR": str(tmp_path / "worker"),
        "CONSENT_SMTP_HOST": smtp.host, "CONSENT_SMTP_PORT": str(smtp.port),
    }, tmp_path / "logs") as procs:
        worker = {"CONSENT_KAFKA_CLIENT_CONFIG": str(secured.client_config("worker"))}
        procs.start("worker", "worker", env=worker)
        procs.start("filter", "filter", env=worker)
        procs.start("postgres-sink", "sink", "postgres", env={
            "CONSENT_KAFKA_CLIENT_CONFIG": str(secured.client_config("postgres-sink")),
            "CONSENT_DATABASE_URL": secured.role_url("consent_sink")})
        procs.start("mailer", "sink", "mailer", env={
            "CONSENT_KAFKA_CLIENT_CONFIG": str(secured.client_config("mailer")),
            "CONSENT_DATABASE_URL": secured.role_url("consent_mailer")})

        def send(principal: str, event_type: str, data: dict[str, Any]) -> None:
            producer = EventProducer(settings_of(secured, principal, E2E_PREFIX, partitions=2))
            producer.send(make_event(event_type, data, source=principal))
            producer.flush()

        send("ecommerce", "purchase.completed", {"order_id": "o-1", "email": email,
                                                  "name": "Ada"})
        send("marketing", "mail.requested", {
            "request_id": f"req-{uuid.uuid4().hex}", "email": email,
            "purpose": "product_updates", "subject": "News", "body": "Hello"})
        wait_until(lambda: any(m["To"] == email for m in smtp.mailbox.snapshot()), 90,
                   "the mail, sent by the mailer", check=procs.check_alive)

        reader = SinkSettings(database_url=SecretStr(secured.role_url("consent_reader")),
                              db_schema=schema, key_secret=SecretStr(KEY_SECRET))
        wait_until(lambda: bool(lookup(reader, email).history), 60,
                   "the ledger, written by the sink and read by lookup as the reader",
                   check=procs.check_alive)
        send("preference-centre", "contact.erasure_requested", {"email": email,
                                                                "request_ref": "r-1"})
        key = contact_key(email, reader.key_secret.get_secret_value())

        def erased() -> bool:
            with psycopg.connect(secured.role_url("consent_dpo")) as conn:
                return bool(conn.execute(f'SELECT 1 FROM "{schema}".erasures '
                                         "WHERE contact_key = %s", (key,)).fetchall())
        wait_until(erased, 60, "the erasure record, as the DPO sees it", check=procs.check_alive)

        with psycopg.connect(secured.role_url("consent_dpo")) as conn:
            assert conn.execute(f'SELECT * FROM "{schema}".sink_failures').fetchall() == []
            sends = conn.execute(f'SELECT state FROM "{schema}".mail_sends').fetchall()
            assert sends == [("sent",)]
    for log in (tmp_path / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        assert "authorization failed" not in text.lower(), log
        assert "AUTHORIZATION_FAILED" not in text and "42501" not in text, log


# ------------------------------------------------------------------ PostgreSQL roles

@pytest.fixture(scope="module")
def schema(secured: LocalInfra) -> str:
    """A migrated schema with one row per table, as the owner made it."""
    name = f"a_{TAG}"
    migrate(SinkSettings(database_url=SecretStr(secured.role_url("consent_owner")),
                         db_schema=name))
    with psycopg.connect(secured.role_url("consent_owner")) as conn:
        conn.execute(f'SET search_path TO "{name}"')
        conn.execute("INSERT INTO kafka_positions VALUES ('postgres-sink', 't', 0, 7), "
                     "('mailer', 'mail-outbox', 0, 3)")
        conn.execute("INSERT INTO contacts (contact_key, email, first_seen, last_seen) "
                     "VALUES ('k1', 'ada@example.com', now(), now())")
        conn.execute("INSERT INTO consent_ledger (contact_key, event_id, event_type, source, "
                     "occurred_at, processed_at, policy_version, scope, action, applied, rule, "
                     "evidence, detected) VALUES ('k1', gen_random_uuid(), 't', 's', now(), "
                     "now(), 'v', 'all', 'a', true, 'r', '{}', false)")
    return name


def as_role(infra: LocalInfra, role: str, schema: str) -> Callable[[str], int]:
    """Run one statement as `role` in `schema`; return the rows affected (or raise)."""
    def run(statement: str) -> int:
        with psycopg.connect(infra.role_url(role), autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            return conn.execute(statement).rowcount  # type: ignore[arg-type]
    return run


FORBIDDEN: dict[str, list[str]] = {
    "consent_sink": [
        "ALTER TABLE consent_ledger DISABLE TRIGGER consent_ledger_no_update",
        "ALTER TABLE consent_ledger DISABLE TRIGGER ALL",
        "DROP TRIGGER consent_ledger_no_update ON consent_ledger",
        "CREATE OR REPLACE FUNCTION consent_ledger_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "SET session_replication_role = replica",
        "TRUNCATE consent_ledger",
        "UPDATE consent_ledger SET rule = 'rewritten'",
        "DELETE FROM consent_ledger",
        "SELECT evidence FROM consent_ledger",
        "DROP TABLE contacts",
        "ALTER TABLE contacts ADD COLUMN spy text",
        "CREATE TABLE spy (a int)",
        "SELECT * FROM mail_sends",
        "INSERT INTO kafka_positions VALUES ('mailer', 'mail-outbox', 1, 0)",
        "SET ROLE consent_owner",
    ],
    "consent_mailer": [
        "SELECT * FROM contacts",
        "SELECT email FROM contacts",
        "SELECT * FROM consent_ledger",
        "SELECT * FROM consent_current",
        "SELECT * FROM mail_decisions",
        "INSERT INTO contacts (contact_key, email, first_seen, last_seen) "
        "VALUES ('k2', 'x@example.com', now(), now())",
        "INSERT INTO kafka_positions VALUES ('postgres-sink', 't', 1, 0)",
        "DELETE FROM mail_sends",
        "TRUNCATE mail_sends",
        "CREATE TABLE spy (a int)",
    ],
    "consent_reader": [
        "INSERT INTO consent_ledger (contact_key, event_id, event_type, source, occurred_at, "
        "processed_at, policy_version, scope, action, applied, rule, evidence, detected) VALUES "
        "('k', gen_random_uuid(), 't', 's', now(), now(), 'v', 'x', 'a', true, 'r', '{}', false)",
        "UPDATE consent_current SET status = 'allowed'",
        "DELETE FROM contacts",
        "INSERT INTO erasures VALUES ('k', gen_random_uuid(), 'r', now())",
        "SELECT * FROM mail_sends",
        "SELECT * FROM kafka_positions",
        "CREATE TABLE spy (a int)",
    ],
    "consent_dpo": [
        "DELETE FROM contacts",
        "UPDATE contacts SET email = 'x@example.com'",
        "INSERT INTO consent_ledger (contact_key, event_id, event_type, source, occurred_at, "
        "processed_at, policy_version, scope, action, applied, rule, evidence, detected) VALUES "
        "('k', gen_random_uuid(), 't', 's', now(), now(), 'v', 'x', 'a', true, 'r', '{}', false)",
        "TRUNCATE erasures",
        "CREATE TABLE spy (a int)",
    ],
}


@pytest.mark.parametrize(("role", "statement"),
                         [(r, s) for r, statements in FORBIDDEN.items() for s in statements])
def test_a_role_is_denied_what_it_must_not_do(secured: LocalInfra, schema: str, role: str,
                                              statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(secured, role, schema)(statement)


def test_roles_can_do_their_jobs_and_only_on_their_own_rows(secured: LocalInfra,
                                                            schema: str) -> None:
    mailer, sink = as_role(secured, "consent_mailer", schema), as_role(secured, "consent_sink",
                                                                      schema)
    # row-level security: the other component's Kafka position is invisible, so untouchable
    assert mailer("UPDATE kafka_positions SET next_offset = 0 WHERE consumer = 'postgres-sink'"
                  ) == 0
    assert sink("UPDATE kafka_positions SET next_offset = 0 WHERE consumer = 'mailer'") == 0
    assert mailer("SELECT * FROM kafka_positions") == 1
    assert mailer("INSERT INTO mail_sends (request_id, contact_key, state) "
                  "VALUES ('r-1', 'k1', 'sending')") == 1
    assert sink("INSERT INTO sink_failures (consumer, topic, partition, \"offset\", stage, kind, "
                "reason) VALUES ('postgres-sink', 't', 0, 1, 'processing', 'k', 'r')") == 1
    assert as_role(secured, "consent_reader", schema)("SELECT * FROM contacts") == 1
    assert as_role(secured, "consent_dpo", schema)("SELECT * FROM kafka_positions") == 2
    owner = as_role(secured, "consent_owner", schema)
    assert owner("SELECT * FROM kafka_positions WHERE next_offset IN (7, 3)") == 2


PG_ROLES = ("consent_owner", "consent_sink", "consent_mailer", "consent_reader", "consent_dpo",
            "consent_unsubscribe")
"""Every role postgres.sh makes with LOCAL_PG_ROLES=1 (`consent_unsubscribe`: the preference
centre's read)."""
DISCLOSURE_ROW = ("INSERT INTO disclosures (contact_key, event_id, disclosed_at, recorded_at, "
                  "principal, operator, legal_basis, case_ref, authority, categories, "
                  "export_sha256) VALUES ('k1', gen_random_uuid(), now(), now(), 'dpo', 'dana', "
                  "'court order', 'case-1', 'court', '{profile}', repeat('0', 64))")


def test_disclosures_are_written_by_the_sink_only_and_never_changed(secured: LocalInfra,
                                                                   schema: str) -> None:
    # migration 006: the sink stores the ledger's disclosure lines; the DPO causes them
    # through the pipeline and may not write, change or delete an audit record itself
    assert as_role(secured, "consent_sink", schema)(DISCLOSURE_ROW) == 1
    assert as_role(secured, "consent_reader", schema)("SELECT * FROM disclosures") == 1
    assert as_role(secured, "consent_dpo", schema)("SELECT * FROM disclosures") == 1
    for role in ("consent_dpo", "consent_reader", "consent_mailer", "consent_unsubscribe"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(secured, role, schema)(DISCLOSURE_ROW)
    for role in ("consent_sink", "consent_dpo"):
        for statement in ("UPDATE disclosures SET case_ref = 'forged'",
                          "DELETE FROM disclosures",
                          "ALTER TABLE disclosures DISABLE TRIGGER disclosures_no_update"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role(secured, role, schema)(statement)
    # not even the owner changes one: the table is append-only
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        as_role(secured, "consent_owner", schema)("UPDATE disclosures SET case_ref = 'forged'")


def test_no_login_without_a_password_over_tcp(secured: LocalInfra) -> None:
    url = secured.role_url("consent_sink")
    wrong = url.replace(url.split(":")[2].split("@")[0], "not-the-password")
    for dsn in (f"postgresql://postgres@127.0.0.1:{PG_PORT}/consent",
                f"postgresql://consent:consent@127.0.0.1:{PG_PORT}/consent",
                f"postgresql://consent_owner@127.0.0.1:{PG_PORT}/consent", wrong):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(dsn, connect_timeout=5)


# ------------------------------------------------------------------ setup, secrets, modes

def test_setup_is_idempotent_and_prunes_stale_acls(deployment: LocalInfra) -> None:
    admin = admin_for(deployment, PREFIX)
    before = {p.name: deployment.client_config(p.name).read_text() for p in PRINCIPALS}
    again = setup_access(admin, PREFIX, APP_ID, deployment.clients_dir)
    assert again.new_passwords == [] and again.pruned == []
    assert again.acls == len(grants(PREFIX, APP_ID))
    assert {p.name: deployment.client_config(p.name).read_text() for p in PRINCIPALS} == before
    stray = acl_binding(Grant("ecommerce", Resource.TOPIC, Pattern.LITERAL, f"{PREFIX}contacts",
                              Operation.READ))
    client = AdminClient(admin.to_librdkafka())
    assert error_name(next(iter(client.create_acls([stray]).values()))) is None
    pruned = setup_access(admin, PREFIX, APP_ID, deployment.clients_dir, prune=True).pruned
    assert pruned == [f"User:ecommerce READ TOPIC {PREFIX}contacts"]
    left = client.describe_acls(AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, "User:ecommerce", None,
        AclOperation.ANY, AclPermissionType.ANY)).result()
    assert {(b.name, b.operation.name) for b in left if b.name.startswith(PREFIX)} == {
        (f"{PREFIX}purchases", "WRITE")}


def test_secrets_are_private_and_never_logged(deployment: LocalInfra) -> None:
    kafka, pg = deployment.instance_dir / "kafka", deployment.instance_dir / "postgres"
    private_dirs = [kafka / "secrets", kafka / "tls", deployment.clients_dir, pg / "roles"]
    secret_files = [*(kafka / "secrets").glob("*.password"), kafka / "tls" / "broker.pem",
                    kafka / "server.properties", *deployment.clients_dir.glob("*.properties"),
                    *(pg / "roles").glob("*")]
    # broker and admin passwords, broker key and properties, a client file per principal and
    # the admin's, a password and a DSN per PostgreSQL role
    assert len(secret_files) == 2 + 2 + len(PRINCIPALS) + 1 + 2 * len(PG_ROLES)
    for path in private_dirs:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not list((kafka / "tls").glob("*.key")), "the CA key must be destroyed"
    passwords = [p.read_text().strip() for p in (kafka / "secrets").glob("*.password")]
    passwords += [p.read_text().strip() for p in (pg / "roles").glob("*.password")]
    passwords += [settings_of(deployment, p.name).to_librdkafka()["sasl.password"]
                  for p in PRINCIPALS]
    logs = [*(kafka / "logs").glob("*"), pg / "postgres.log"]
    text = "".join(p.read_text(errors="replace") for p in logs if p.is_file())
    assert "ssl.keystore.location" in text  # the broker did log its configuration ...
    for password in passwords:
        assert password not in text  # ... and no secret


@pytest.mark.parametrize(("script", "variable", "other"), [
    ("kafka.sh", "LOCAL_KAFKA_SECURITY", "plaintext"),
    ("postgres.sh", "LOCAL_PG_ROLES", "0"),
])
def test_a_secured_instance_is_not_reopened_unsecured(secured: LocalInfra, script: str,
                                                      variable: str, other: str) -> None:
    proc = subprocess.run(["bash", str(REPO_ROOT / "deploy" / "local" / script), "start"],
                          env={**os.environ, **secured.env, variable: other},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert f"was created with {variable}=" in proc.stderr or \
        f"was set up with {variable}=" in proc.stderr, proc.stderr
