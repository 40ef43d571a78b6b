"""The checked-in JSON Schema files in schemas/json/ must match the pydantic models."""

import json
from pathlib import Path

import pytest

from schemas.events import EVENT_TYPES
from schemas.export import JSON_DIR, RECORDS, render_all, write_all

RENDERED = render_all()
HINT = "schemas/json/ is out of date with the models: run `make schemas` and commit the result"


def test_no_schema_file_is_missing_or_extra() -> None:
    on_disk = {p.name for p in JSON_DIR.glob("*.json")}
    missing = sorted(set(RENDERED) - on_disk)
    extra = sorted(on_disk - set(RENDERED))
    assert not missing and not extra, f"{HINT} (missing: {missing}, not generated: {extra})"


@pytest.mark.parametrize("filename", sorted(RENDERED))
def test_checked_in_schema_matches_the_model(filename: str) -> None:
    path = JSON_DIR / filename
    assert path.exists(), f"{HINT} ({filename} is missing)"
    assert path.read_text(encoding="utf-8") == RENDERED[filename], f"{HINT} ({filename} drifted)"


def test_every_event_type_and_record_has_a_schema() -> None:
    expected = {f"{name}.schema.json" for name in [*EVENT_TYPES, *RECORDS]}
    assert set(RENDERED) == expected


def test_rendering_is_deterministic() -> None:
    assert render_all() == RENDERED


@pytest.mark.parametrize("filename", sorted(RENDERED))
def test_schema_files_are_valid_json_objects_describing_objects(filename: str) -> None:
    schema = json.loads(RENDERED[filename])
    assert schema["type"] == "object"
    assert "properties" in schema


def test_event_schemas_forbid_unknown_envelope_keys_and_require_the_envelope() -> None:
    schema = json.loads(RENDERED["purchase.completed.schema.json"])
    assert schema["additionalProperties"] is False
    assert {"event_id", "type", "schema_version", "occurred_at", "source", "data"} <= set(
        schema["required"]
    )
    assert schema["properties"]["type"]["const"] == "purchase.completed"


def test_suppressed_record_schema_has_no_email_field() -> None:
    schema = json.loads(RENDERED["mail.suppressed.schema.json"])
    assert "email" not in schema["properties"]
    assert "reason" in schema["properties"]
    assert "email" in json.loads(RENDERED["mail.outbox.schema.json"])["properties"]


def test_write_all_writes_exactly_the_rendered_files(tmp_path: Path) -> None:
    written = write_all(tmp_path)
    assert {p.name for p in written} == set(RENDERED)
    for path in written:
        assert path.read_text(encoding="utf-8") == RENDERED[path.name]
