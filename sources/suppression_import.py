"""`consent import-suppressions FILE.csv`: an existing suppression list as explicit opt-outs.

Idempotent by construction: each line becomes an event whose id and time are derived from
(contact key, scope, opt-out time), so importing the same file twice produces the same events,
which the pipeline recognises as duplicates. The opt-out time is the `opted_out_at` column if
present, else the file's modification time — an old list must not override a grant the
person gave later.

Columns (header required): `email` (required), `scope` (`all` or a purpose; default `all`),
`opted_out_at` (ISO 8601 with timezone; optional). Other columns are ignored.
"""

import csv
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas.contact import contact_key, normalise_email
from schemas.exceptions import ConsentError, InvalidEmail
from schemas.purposes import MARKETING_PURPOSES
from sources.producer import EventProducer

NAMESPACE = uuid.UUID("6f1c55a0-6a53-4c1e-9a43-6c6f6e73656e")
SCOPES = {"all", *(p.value for p in MARKETING_PURPOSES)}


class ImportError_(ConsentError):  # noqa: N801 - avoid shadowing the builtin ImportError
    """The file cannot be imported at all (missing, unreadable, no `email` column)."""


@dataclass(frozen=True)
class Suppression:
    line: int
    email: str
    scope: str
    at: datetime


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


def read_suppressions(path: Path) -> Iterator[Suppression | Rejected]:
    """Parse the file; yield a Suppression or a Rejected (with a reason free of the address)."""
    try:
        default_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        fields = {f.strip().lower() for f in (reader.fieldnames or [])}
        if "email" not in fields:
            raise ImportError_(f"{path} has no 'email' column in its header line")
        for row in reader:
            line = reader.line_num
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            try:
                email = normalise_email(row.get("email", ""))
            except InvalidEmail as exc:
                yield Rejected(line, f"invalid e-mail: {exc}")
                continue
            scope = (row.get("scope") or "all").lower()
            if scope not in SCOPES:
                yield Rejected(line, f"unknown scope {scope[:40]!r}")
                continue
            at = default_at
            if raw_at := row.get("opted_out_at"):
                try:
                    at = datetime.fromisoformat(raw_at)
                except ValueError:
                    yield Rejected(line, "opted_out_at is not an ISO 8601 date-time")
                    continue
                if at.tzinfo is None:
                    yield Rejected(line, "opted_out_at has no timezone")
                    continue
            yield Suppression(line, email, scope, at)


def to_event(s: Suppression, secret: str, source: str) -> dict[str, object]:
    key = contact_key(s.email, secret)
    data: dict[str, object] = {"email": s.email}
    if s.scope == "all":
        data["all"] = "withdrawn"
    else:
        data["changes"] = {s.scope: "withdrawn"}
    return {
        "event_id": str(uuid.uuid5(NAMESPACE, f"{key}|{s.scope}|{s.at.isoformat()}")),
        "type": "preference.changed",
        "schema_version": "1.0",
        "occurred_at": s.at.isoformat(),
        "source": source,
        "data": data,
    }


@dataclass
class ImportReport:
    imported: int = 0
    duplicates_in_file: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_lines: list[int] = field(default_factory=list)


def import_file(path: Path, producer: EventProducer, secret: str,
                progress: Callable[[], None] | None = None) -> ImportReport:
    """Send every valid line through `producer` (an EventProducer) and flush (acknowledged)."""
    report = ImportReport()
    seen: set[str] = set()
    source = f"suppression-import:{path.name}"[:200]
    for item in read_suppressions(path):
        if isinstance(item, Rejected):
            report.rejected[item.reason] += 1
            report.rejected_lines.append(item.line)
        else:
            event = to_event(item, secret, source)
            if event["event_id"] in seen:
                report.duplicates_in_file += 1
            else:
                seen.add(str(event["event_id"]))
                producer.send(event)
                report.imported += 1
        if progress is not None:
            progress()
    producer.flush()
    return report
