"""The access catalogue: every right names a real topic, and nobody holds more than its role."""

import re

import pytest

from schemas.exceptions import ConsentError
from schemas.principals import (
    ADMIN,
    BROKER,
    PRINCIPALS,
    Grant,
    Operation,
    Pattern,
    Resource,
    grants,
    principal,
)
from schemas.topics import (
    CONSENT_REVIEW,
    DISCLOSURES,
    INPUT_TOPICS,
    MAIL_REQUESTS,
    OUTPUT_TOPICS,
    topic_specs,
)
from sinks import mailer, postgres_rows, postgres_sink

CATALOGUE = {spec.name for spec in topic_specs()} | {CONSENT_REVIEW}
OUTPUTS = set(OUTPUT_TOPICS) | {CONSENT_REVIEW}


def writers(topic: str) -> set[str]:
    return {p.name for p in PRINCIPALS if topic in p.writes}


def readers(topic: str) -> set[str]:
    return {p.name for p in PRINCIPALS if topic in p.reads}


def test_every_principals_topics_exist_in_the_topic_catalogue() -> None:
    for p in PRINCIPALS:
        assert set(p.reads) <= CATALOGUE, p.name
        assert set(p.writes) <= CATALOGUE, p.name


def test_every_catalogue_topic_is_written_and_read_by_someone() -> None:
    for topic in CATALOGUE:
        assert writers(topic), topic
        assert readers(topic), topic


def test_nobody_but_the_worker_writes_outputs() -> None:
    for topic in OUTPUTS - {"dead-letters"}:
        assert writers(topic) == {"worker"}, topic
    # webhook ingestion dead-letters what it refuses from an authenticated source
    assert writers("dead-letters") == {"worker", "ingest"}


def test_each_input_has_exactly_its_producers_and_the_worker() -> None:
    assert writers("purchases") == {"ecommerce", "ingest", "worker"}
    assert writers("support") == {"support-desk", "ingest", "worker"}
    assert writers("newsletter") == {"newsletter", "worker"}
    assert writers("preferences") == {"preference-centre", "unsubscribe", "worker"}
    assert writers(MAIL_REQUESTS) == {"marketing", "worker"}


def test_producers_only_write_their_one_topic() -> None:
    for name in ("ecommerce", "support-desk", "newsletter", "preference-centre", "unsubscribe",
                 "marketing"):
        p = principal(name)
        assert len(p.writes) == 1 and not p.reads and not p.groups and not p.app_id_scoped


def test_ingest_writes_its_two_inputs_and_dead_letters_and_reads_nothing() -> None:
    """Webhooks carry purchases and support messages only: never preferences (an erasure or a
    grant), never mail requests, never the worker's outputs; and no reading at all."""
    ingest = principal("ingest")
    assert set(ingest.writes) == {"purchases", "support", "dead-letters"}
    assert ingest.reads == () and ingest.groups == () and not ingest.app_id_scoped
    assert "dead-letters" not in principal("ecommerce").writes
    assert "dead-letters" not in principal("support-desk").writes


def test_the_mailer_reads_only_the_outbox_and_the_consent_state() -> None:
    m = principal("mailer")
    assert set(m.reads) == {"mail-outbox", "consent-state"}
    assert m.writes == ()
    assert readers("mail-outbox") == {"mailer", "postgres-sink"}


def test_the_worker_reads_its_inputs_and_writes_its_outputs() -> None:
    w = principal("worker")
    assert set(w.reads) == {*INPUT_TOPICS, DISCLOSURES, MAIL_REQUESTS, "consent-state"}
    assert set(w.writes) == OUTPUTS | set(INPUT_TOPICS) | {DISCLOSURES, MAIL_REQUESTS}
    assert w.app_id_scoped and w.groups == ()


def test_readers_of_personal_data_are_few() -> None:
    # contacts: names, phones, addresses; mail-outbox: addresses and mail bodies
    assert readers("contacts") == {"postgres-sink", "dpo"}
    assert readers("mail-outbox") == {"postgres-sink", "mailer"}
    assert readers("purchases") == {"worker"}


def test_sinks_read_only_granted_topics_with_their_own_group() -> None:
    # what the code subscribes to must be in the catalogue, or the sink is denied at start
    assert set(postgres_rows.TOPICS) <= set(principal("postgres-sink").reads)
    assert principal("postgres-sink").groups == (postgres_sink.CONSUMER_NAME,)
    assert principal("mailer").groups == (mailer.CONSUMER_NAME,)


def test_dpo_reads_only_what_lookup_and_disclosure_need() -> None:
    dpo = principal("dpo")
    assert set(dpo.reads) == {"contacts", "consent-changes", "consent-state"}
    assert dpo.writes == (DISCLOSURES,)  # the record of a disclosure, and nothing else


def test_only_the_dpo_records_disclosures_and_only_the_worker_reads_them() -> None:
    # the worker too, only to re-route a mis-keyed record, as on every input
    assert writers(DISCLOSURES) == {"dpo", "worker"}
    assert readers(DISCLOSURES) == {"worker"}


def test_principal_names_are_unique_plain_and_not_the_super_users() -> None:
    names = [p.name for p in PRINCIPALS]
    assert len(names) == len(set(names))
    assert ADMIN not in names and BROKER not in names
    for name in names:  # SCRAM user names: no ',' or '=' (RFC 5802 escapes them)
        assert re.fullmatch(r"[a-z][a-z-]*", name)


def test_grants_name_prefixed_topics_and_groups_literally() -> None:
    got = set(grants("t1a2b3c4-", "t1a2b3c4-consent"))
    assert Grant("ecommerce", Resource.TOPIC, Pattern.LITERAL, "t1a2b3c4-purchases",
                 Operation.WRITE) in got
    assert Grant("mailer", Resource.GROUP, Pattern.LITERAL, "t1a2b3c4-mailer",
                 Operation.READ) in got
    assert Grant("worker", Resource.GROUP, Pattern.PREFIXED, "t1a2b3c4-consent-",
                 Operation.READ) in got
    assert Grant("worker", Resource.TRANSACTIONAL_ID, Pattern.PREFIXED, "t1a2b3c4-consent-",
                 Operation.WRITE) in got
    for g in got:
        if g.resource is not Resource.TOPIC:
            continue
        assert g.pattern is Pattern.LITERAL and g.name.startswith("t1a2b3c4-")
        assert g.name.removeprefix("t1a2b3c4-") in CATALOGUE


def test_only_the_worker_has_prefixed_grants() -> None:
    prefixed = {g.principal for g in grants("", "consent") if g.pattern is Pattern.PREFIXED}
    assert prefixed == {"worker"}


def test_grants_are_only_read_write_and_describe() -> None:
    assert {g.operation for g in grants("", "consent")} == {Operation.READ, Operation.WRITE,
                                                           Operation.DESCRIBE}


def test_only_the_mailer_may_see_topics_it_cannot_read_and_only_the_consent_inputs() -> None:
    """DESCRIBE alone is for the mailer's barrier (end offsets), never a way to read data."""
    seers = {p.name: set(p.describes) for p in PRINCIPALS if p.describes}
    assert seers == {"mailer": set(INPUT_TOPICS)}
    described = [g for g in grants("", "consent") if g.operation is Operation.DESCRIBE]
    assert {g.name for g in described} == set(INPUT_TOPICS)


def test_grants_are_deterministic_and_without_duplicates() -> None:
    first = grants("p-", "p-consent")
    assert first == grants("p-", "p-consent")
    assert len(first) == len(set(first))


def test_an_empty_app_id_is_refused() -> None:
    with pytest.raises(ConsentError, match="CONSENT_APP_ID"):
        grants("", "")


def test_an_unknown_principal_is_a_clear_error() -> None:
    with pytest.raises(ConsentError, match="known: ecommerce"):
        principal("eve")
