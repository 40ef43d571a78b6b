"""Export JSON Schema for every event and record into `schemas/json/`.

Integrators validate against these files; a unit test regenerates them in memory and fails on
drift, so the checked-in copies can never silently disagree with the models.
"""

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.events import EVENT_TYPES
from schemas.records import (
    ConsentChange,
    ConsentState,
    ContactProfile,
    DeadLetter,
    OutboxRecord,
    ProgressMarker,
    ReviewItem,
    SuppressedRecord,
)

JSON_DIR = Path(__file__).parent / "json"

RECORDS: dict[str, type[BaseModel]] = {
    "consent.change": ConsentChange,
    "mail.outbox": OutboxRecord,
    "mail.suppressed": SuppressedRecord,
    "dead.letter": DeadLetter,
    "contact.profile": ContactProfile,
    "consent.state": ConsentState,
    "consent.progress": ProgressMarker,
    "consent.review": ReviewItem,
}


def render_all() -> dict[str, str]:
    """File name → JSON text, deterministic so the drift test can compare bytes."""
    out: dict[str, str] = {}
    for name, model in {**EVENT_TYPES, **RECORDS}.items():
        schema = model.model_json_schema(mode="validation")
        out[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_all(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render_all().items():
        path = directory / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        print(p)
