"""COPY encoding of a batch: staging rows per table, only tables that have rows, in one order."""

from datetime import UTC, datetime

from sinks.postgres_copy import stage, write
from sinks.postgres_rows import Profile, Rows
from tests.unit.sinks.fakes import StandInConnection

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = [f"source-{i:02}" for i in range(12)]  # sorted; a set would rarely give this order
NULL = "\\N"


def test_an_empty_batch_only_empties_the_staging_tables() -> None:
    conn = StandInConnection()
    write(conn, Rows())
    assert conn.executed == ["TRUNCATE s_ledger, s_current, s_decisions, s_contacts"]
    assert conn.copied == [] and conn.many == []


def test_contacts_are_staged_with_their_delete_flags_and_sorted_sources() -> None:
    kept = Profile(delete_first=True, fields={"email": "j@example.com", "country": "NL"},
                   sources=set(SOURCES[::-1]), first_seen=T0, last_seen=T0)
    gone = Profile(delete_first=True, fields=None)
    conn = StandInConnection()
    write(conn, Rows(contacts={"k1": kept, "k2": gone}))
    (statement, staged), = conn.copied
    assert statement.startswith("COPY s_contacts (contact_key, delete_first, deleted, email,")
    at, sources = T0.isoformat(), "{" + ",".join(f'"{s}"' for s in SOURCES) + "}"
    assert staged == [
        ("k1", "t", "f", "j@example.com", NULL, NULL, NULL, NULL, "NL", sources, at, at),
        ("k2", "t", "t", NULL, NULL, NULL, NULL, NULL, NULL, "{}", NULL, NULL)]
    merges = [q.split()[0:3] for q in conn.executed[1:]]
    assert merges == [["DELETE", "FROM", "contacts"], ["INSERT", "INTO", "contacts"]]


def test_current_rows_are_copied_once_per_contact_and_purpose_then_merged() -> None:
    row = ("k", "newsletter", "withdrawn", "e", "v1", T0)
    conn = StandInConnection()
    write(conn, Rows(current={("k", "newsletter"): row}, ledger=[("l",)] * 2))
    assert [(s.split()[1], rows) for s, rows in conn.copied] == [
        ("s_ledger", [("l",), ("l",)]), ("s_current", [(*row[:5], T0.isoformat())])]
    assert [q.split()[2] for q in conn.executed[1:]] == ["consent_ledger", "consent_current"]


def test_staged_payloads_are_what_is_copied_and_an_unstaged_batch_is_formatted_in_place(
) -> None:
    rows = Rows(decisions=[("r1", "k", "newsletter", "forwarded", None, None, False, None, "e",
                            "v1", T0, T0)], current={("k", "p"): ("k", "p", "allowed", "e", "v",
                                                                   "t")})
    inline, ahead = StandInConnection(), StandInConnection()
    write(inline, rows)
    staged = stage(rows)
    assert set(staged.staged) == {"s_current", "s_decisions"}
    staged.staged["s_current"] = b"from\tthe\tworker\n"  # proves the staged bytes are used
    write(ahead, staged)
    assert inline.copied[1] == ahead.copied[1]  # decisions: the same either way
    assert ahead.copied[0][1] == [("from", "the", "worker")]


def test_dead_letters_erasures_and_reviews_are_inserted_idempotently() -> None:
    conn = StandInConnection()
    write(conn, Rows(letters=[("t", 0, 1, "k", "s", "r", T0)], erasures=[("k", "e", "", T0)],
                     reviews=[tuple(range(11))], resolutions=[(T0, "withdrawn", "e", "id")]))
    tables = [q.split()[2] if q.startswith("INSERT") else q.split()[1] for q, _ in conn.many]
    assert tables == ["erasures", "review_items", "review_items", "dead_letters"]
    assert all("ON CONFLICT" in q for q, _ in conn.many if q.startswith("INSERT"))
