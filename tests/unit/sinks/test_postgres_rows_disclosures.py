"""Ledger lines to rows: a disclosure becomes one `disclosures` row and leaves current consent
alone (it changed none), without a database."""

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from sinks.postgres_rows import collect

KEY = "cd" * 32


@dataclass
class FakeMessage:
    _topic: str
    _value: bytes
    _offset: int = 0

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return KEY.encode()

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset


def line(scope: str, action: str, evidence: dict[str, str], **kw: Any) -> bytes:
    return orjson.dumps({
        "record": "consent.change", "contact_key": KEY, "event_id": str(uuid.uuid4()),
        "event_type": kw.get("event_type", "contact.disclosure_recorded"), "source": "s",
        "occurred_at": "2026-11-25T10:00:00+00:00", "processed_at": "2026-11-25T10:00:01+00:00",
        "policy_version": "v", "scope": scope, "action": action, "applied": True,
        "effective": {"newsletter": "opted_out"}, "rule": "r", "evidence": evidence,
        "detected": False})


DISCLOSED = {"legal_basis": "court order", "case_ref": "C-9", "authority": "Court",
             "categories": "profile,history", "principal": "dpo", "operator": "dana",
             "export_sha256": "e" * 64}


def test_a_disclosure_line_is_a_disclosure_row_and_changes_no_current_consent() -> None:
    rows = collect([FakeMessage("p-consent-changes", line("disclosure", "disclosed", DISCLOSED))],
                   {"p-consent-changes": "consent-changes"})
    assert rows.failures == [] and len(rows.ledger) == 1
    assert rows.current == {}
    [row] = rows.disclosures
    assert row[0] == KEY and row[4:] == ("dpo", "dana", "court order", "C-9", "Court",
                                         ["profile", "history"], "e" * 64)


def test_other_lines_are_no_disclosures() -> None:
    rows = collect([FakeMessage("consent-changes", line("all", "withdrawn", {},
                                                        event_type="preference.changed"))],
                   {"consent-changes": "consent-changes"})
    assert rows.disclosures == [] and len(rows.current) == 1
