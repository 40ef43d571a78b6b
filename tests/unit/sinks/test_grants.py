"""sinks/grants.sql, read as data: the component roles' rights name real tables and stay small.

The integration test (tests/integration/test_access.py) proves them on a real PostgreSQL; these
checks catch a grant that names a table no migration makes, or one that grows too much.
"""

import re
from importlib import resources

from sinks import mailer, postgres_sink

TEXT = (resources.files("sinks") / "grants.sql").read_text(encoding="utf-8")
ROWS = re.findall(r"\('(consent_\w+)',\s*'(\w+)',\s*'([^']*)'\)", TEXT)
MIGRATED = {m for p in (resources.files("sinks") / "migrations").iterdir()
            if p.name.endswith(".sql")
            for m in re.findall(r"CREATE TABLE (\w+)", p.read_text(encoding="utf-8"))}


def rights(role: str) -> dict[str, str]:
    return {table: privileges for r, table, privileges in ROWS if r == role}


def test_every_granted_table_is_made_by_a_migration() -> None:
    assert ROWS
    assert {table for _, table, _ in ROWS} <= MIGRATED


def test_only_plain_data_rights_are_granted() -> None:
    for _, _, privileges in ROWS:
        words = set(re.findall(r"[A-Z]+", privileges))
        assert words <= {"SELECT", "INSERT", "UPDATE", "DELETE"}, privileges


def test_the_ledger_is_insert_only_for_the_sink() -> None:
    assert rights("consent_sink")["consent_ledger"].startswith("INSERT, SELECT (")
    assert not re.search(r"UPDATE|DELETE", rights("consent_sink")["consent_ledger"])


def test_the_mailer_has_its_own_tables_only() -> None:
    assert set(rights("consent_mailer")) == {"mail_sends", "kafka_positions", "sink_failures"}


def test_readers_only_select() -> None:
    assert set(rights("consent_reader").values()) == {"SELECT"}
    # SELECT on every table (below) and nothing else: disclosures reach PostgreSQL through the
    # ledger and the sink, so the DPO cannot forge or change an audit record
    assert rights("consent_dpo") == {}
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA %I TO consent_dpo" in TEXT


def test_disclosures_are_written_by_the_sink_only_and_append_only() -> None:
    assert rights("consent_sink")["disclosures"] == "INSERT, SELECT (contact_key, event_id)"
    assert rights("consent_reader")["disclosures"] == "SELECT"
    migration = (resources.files("sinks") / "migrations" / "006_disclosures.sql").read_text(
        encoding="utf-8")
    assert "BEFORE UPDATE OR DELETE ON disclosures" in migration


def test_row_policies_use_the_components_consumer_names() -> None:
    assert f"'{postgres_sink.CONSUMER_NAME}', '{postgres_sink.CONSUMER_NAME}'" in TEXT
    assert f"'{mailer.CONSUMER_NAME}', '{mailer.CONSUMER_NAME}'" in TEXT


MIGRATION_005 = (resources.files("sinks") / "migrations" / "005_preference_choices.sql"
                 ).read_text(encoding="utf-8")


def test_the_unsubscribe_endpoint_has_no_table_right() -> None:
    """Its preference centre reads one contact's choices through a function, nothing else."""
    assert "'consent_unsubscribe'" in TEXT  # a component: revoked, converged like the others
    assert rights("consent_unsubscribe") == {}
    grants = re.findall(r"GRANT (\w+) ON FUNCTION %I\.(\w+)\(text\) '\s*'TO (\w+)'", TEXT)
    assert grants == [("EXECUTE", "preference_choices", "consent_unsubscribe")]
    assert "ON FUNCTION %I.preference_choices(text) FROM PUBLIC" in TEXT


def test_the_choices_function_answers_for_one_key_with_a_pinned_path() -> None:
    assert "SECURITY DEFINER" in MIGRATION_005
    assert "SET search_path = %1$I, pg_temp" in MIGRATION_005  # pg_temp last: no stand-ins
    assert "WHERE c.contact_key = for_key" in MIGRATION_005
    assert "REVOKE ALL ON FUNCTION %I.preference_choices(text) FROM PUBLIC" in MIGRATION_005
