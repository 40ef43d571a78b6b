"""`consent import-suppressions FILE.csv`: an existing suppression list as explicit opt-outs.

Idempotent by construction: each line becomes an event whose id and time are derived from
(contact key, scope, opt-out time), so importing the same file twice produces the same events,
which the pipeline recognises as duplicates. The opt-out time is the `opted_out_at` column if
present, else the file's modification time — an old list must not override a grant the
person gave later.

Columns (header required): `email` (required), `scope` (`all` or a purpose; default `all`),
`opted_out_at` (ISO 8601 with timezone; optional). Other columns are ignored.

Why two passes over a file read once: the whole file is checked before anything is sent, so a
bad line can never leave half a list imported, and the second pass sends from the very text the
first pass checked (the file is read into memory once; it cannot change in between). The
checks are deterministic for a given (text, secret, clock), so both passes agree line by line.

What is refused, and how:

- the file as a whole (`ImportError_`, nothing sent): unreadable, larger than
  `MAX_FILE_BYTES`, not UTF-8 (with or without BOM) or UTF-16 with a BOM, no `email` column;
- the file as a whole, with every offending line listed (`FileRefused`, nothing sent): a line
  that is not a row of the header's table — not valid CSV, longer than `MAX_LINE_CHARS`, or a
  different number of fields than the header. The file is not the table the header describes
  (a wrong export, a stray delimiter), so no line of it is trusted;
- one line, counted by reason and listed by number (the rest is imported): an address that
  `normalise_email` refuses or that looks like a spreadsheet formula, an unknown scope, an
  opt-out time that is not an aware ISO 8601 date-time, outside 2000–2100, or in the future.

No message ever quotes the content of a line: a misaligned row may hold an address anywhere.

Suppression lines carry the contact key, never the address: the agent writes a contact profile
(personal data) for every event with an `email`, and a suppression list is not a relationship —
the company never had these addresses from the people themselves.
"""

import csv
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.contact import KeyHasher, normalise_email
from schemas.envelope import parse_event
from schemas.events import EARLIEST, LATEST
from schemas.exceptions import ConsentError, InvalidEmail, InvalidEvent
from schemas.purposes import MARKETING_PURPOSES
from sources.producer import EventProducer

NAMESPACE = uuid.UUID("6f1c55a0-6a53-4c1e-9a43-6c6f6e73656e")
SCOPES = {"all", *(p.value for p in MARKETING_PURPOSES)}

MAX_FILE_BYTES = 256 * 1024 * 1024
"""About five million lines: the file is held in memory once so both passes read the same text."""
MAX_LINE_CHARS = 65_536
"""Below csv's default field limit (131,072), so a long field is reported as a long line."""
MAX_FUTURE = timedelta(minutes=5)
"""Clock skew allowed on `opted_out_at`; the consent agent's default event-time skew."""
FORMULA_PREFIXES = ("=", "+", "-", "@")
"""What spreadsheets evaluate as a formula (OWASP "CSV injection"); such a value is refused."""

_NEWLINE = re.compile(r"\r\n|\r|\n")


class ImportError_(ConsentError):  # noqa: N801 - avoid shadowing the builtin ImportError
    """The file cannot be imported at all (missing, unreadable, encoding, no `email` column)."""


@dataclass(frozen=True)
class Suppression:
    """One valid line: the contact key (the address itself is not kept), scope and time."""

    line: int
    key: str
    scope: str
    at: datetime


@dataclass(frozen=True)
class Duplicate:
    """A line whose event an earlier line of the same file already produced."""

    line: int


@dataclass(frozen=True)
class Rejected:
    """A line refused with a reason free of its content.

    `malformed` lines are not rows of the header's table; one of them refuses the whole file.
    """

    line: int
    reason: str
    malformed: bool = False


@dataclass
class ImportReport:
    """What a check (and then a send) found; `imported` counts acknowledged events only."""

    encoding: str = ""
    valid: int = 0
    imported: int = 0
    duplicates_in_file: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_lines: list[int] = field(default_factory=list)
    lines_by_reason: dict[str, list[int]] = field(default_factory=dict)
    malformed_lines: list[int] = field(default_factory=list)

    def reject(self, item: Rejected) -> None:
        self.rejected[item.reason] += 1
        self.rejected_lines.append(item.line)
        self.lines_by_reason.setdefault(item.reason, []).append(item.line)
        if item.malformed:
            self.malformed_lines.append(item.line)


class FileRefused(ImportError_):
    """Malformed lines: the file is not imported at all; `report` lists them by reason."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


# ------------------------------------------------------------------------------ the file


def _line_of(text: str) -> int:
    """1-based number of the line that `text` (a prefix of the file) ends in."""
    return len(_NEWLINE.findall(text)) + 1


def _count_lines(text: str) -> int:
    """Physical lines in `text`; a final line break does not start another line."""
    return len(_NEWLINE.findall(text)) + (0 if not text or text.endswith(("\n", "\r")) else 1)


def decode(raw: bytes, name: str) -> tuple[str, str]:
    """The file's text and the name of its encoding, or ImportError_ before anything is sent.

    Accepted: UTF-8 with or without a byte-order mark, UTF-16 with one. Anything else is
    refused rather than guessed at: a Latin-1 or Windows-1252 file read as UTF-8 would either
    fail halfway or give addresses that normalise to someone else's key.
    """
    convert = (f"save it as UTF-8 and import again (for example: iconv -f WINDOWS-1252 "
               f"-t UTF-8 {name} > {Path(name).stem}-utf8.csv)")
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise ImportError_(f"{name} is UTF-32: {convert}")
    if raw.startswith(b"\xef\xbb\xbf"):
        body, codec, label = raw[3:], "utf-8", "UTF-8 (with BOM)"
    elif raw.startswith(b"\xff\xfe"):
        body, codec, label = raw[2:], "utf-16-le", "UTF-16 (little-endian, BOM)"
    elif raw.startswith(b"\xfe\xff"):
        body, codec, label = raw[2:], "utf-16-be", "UTF-16 (big-endian, BOM)"
    else:
        if b"\x00" in raw[:4096]:
            raise ImportError_(f"{name} contains NUL bytes: it is UTF-16 without a byte-order "
                               f"mark or not a text file; {convert}")
        body, codec, label = raw, "utf-8", "UTF-8"
    try:
        return body.decode(codec), label
    except UnicodeDecodeError as exc:
        line = _line_of(body[:exc.start].decode(codec, errors="replace"))
        raise ImportError_(f"{name} is not valid {label.split(' ')[0]} (first bad byte on line "
                           f"{line}): {convert}") from exc


def read_text(path: Path) -> tuple[str, str, datetime]:
    """Text, encoding label and modification time of `path`; ImportError_ if unusable."""
    try:
        stat = path.stat()
        if stat.st_size > MAX_FILE_BYTES:
            raise ImportError_(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB: "
                               "split it and import the parts")
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportError_(f"cannot read {path.name}: {exc.strerror}") from exc
    text, encoding = decode(raw, path.name)
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
    return text, encoding, mtime


# ------------------------------------------------------------------------------ the lines


def _fields(line: str) -> list[str]:
    """One physical line as CSV fields; csv.Error or ValueError with our own reason."""
    if len(line) > MAX_LINE_CHARS:
        raise ValueError(f"line is longer than {MAX_LINE_CHARS} characters")
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error as exc:  # the message may be the reader's; ours names no content
        if "field limit" in str(exc):
            raise ValueError("a field is longer than the CSV field size limit") from exc
        raise ValueError("line is not valid CSV (a quote is not closed, or text follows "
                         "a closing quote)") from exc


@dataclass(frozen=True)
class _Header:
    width: int
    email: int
    scope: int | None
    opted_out_at: int | None


def _header(lines: Iterator[tuple[int, str]], name: str) -> _Header:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            columns = [c.strip().lower() for c in _fields(line)]
        except ValueError as exc:
            raise ImportError_(f"{name}: the header (line {number}) is unusable: {exc}") from exc
        for wanted in ("email", "scope", "opted_out_at"):
            if columns.count(wanted) > 1:
                raise ImportError_(f"{name}: column {wanted!r} appears more than once in the "
                                   "header line")
        if "email" not in columns:
            raise ImportError_(f"{name} has no 'email' column in its header line (the first "
                               "line must name the columns)")
        index = {col: i for i, col in enumerate(columns)}
        return _Header(len(columns), index["email"], index.get("scope"),
                       index.get("opted_out_at"))
    raise ImportError_(f"{name} is empty: it has no header line")


def _physical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines split on CR, LF or CRLF only (as csv does; not on U+2028 and kin).

    Slices of the text, not `io.StringIO` (which would copy it at four bytes a character).
    """
    start = number = 0
    for number, end in enumerate((m.end() for m in _NEWLINE.finditer(text)), start=1):
        yield number, text[start:end]
        start = end
    if start < len(text):
        yield number + 1, text[start:]


def check_lines(text: str, name: str, secret: str, *, default_at: datetime, now: datetime
                ) -> Iterator[Suppression | Duplicate | Rejected]:
    """Every line after the header, classified; deterministic for the same arguments.

    `default_at` is the opt-out time of lines without one (the file's modification time);
    `now` bounds opt-out times from above (plus `MAX_FUTURE`).
    """
    lines = _physical_lines(text)
    header = _header(lines, name)
    hasher = KeyHasher(secret)
    seen: set[bytes] = set()
    latest = now + MAX_FUTURE
    for number, line in lines:
        if not line.strip():
            continue
        try:
            fields = _fields(line)
        except ValueError as exc:
            yield Rejected(number, str(exc), malformed=True)
            continue
        if not any(f.strip() for f in fields):
            continue  # a row of empty cells, as spreadsheets write after the data
        if len(fields) != header.width:
            more = "more" if len(fields) > header.width else "fewer"
            yield Rejected(number, f"line has {more} fields than the header", malformed=True)
            continue
        item = _check_row(number, fields, header, hasher, default_at, latest)
        if isinstance(item, Suppression):
            event_id = event_id_of(item)
            if event_id.bytes in seen:
                yield Duplicate(number)
                continue
            seen.add(event_id.bytes)
        yield item


def _check_row(number: int, fields: list[str], header: _Header, hasher: KeyHasher,
               default_at: datetime, latest: datetime) -> Suppression | Rejected:
    raw_email = fields[header.email].strip()
    if raw_email.startswith(FORMULA_PREFIXES):
        return Rejected(number, "e-mail looks like a spreadsheet formula (starts with =, +, - "
                                "or @)")
    try:
        email = normalise_email(raw_email)
    except InvalidEmail as exc:  # its message never quotes the address
        return Rejected(number, f"invalid e-mail: {exc}")
    scope = "all"
    if header.scope is not None:
        scope = fields[header.scope].strip().lower() or "all"
    if scope not in SCOPES:
        return Rejected(number, "unknown scope (expected 'all' or a marketing purpose)")
    at = default_at
    raw_at = fields[header.opted_out_at].strip() if header.opted_out_at is not None else ""
    if raw_at:
        try:
            at = datetime.fromisoformat(raw_at)
        except (ValueError, OverflowError):
            return Rejected(number, "opted_out_at is not an ISO 8601 date-time")
        if at.tzinfo is None:
            return Rejected(number, "opted_out_at has no timezone")
    if not EARLIEST <= at < LATEST:
        why = "opted_out_at" if raw_at else "no opted_out_at, and the file's modification time"
        return Rejected(number, f"{why} is before 2000 or after 2099")
    if at > latest:
        return Rejected(number, "opted_out_at is in the future")
    return Suppression(number, hasher.key_of_normalised(email), scope, at)


# ------------------------------------------------------------------------------ the events


def event_id_of(s: Suppression) -> uuid.UUID:
    """Derived from (contact key, scope, time): the same line always gives the same event."""
    return uuid.uuid5(NAMESPACE, f"{s.key}|{s.scope}|{s.at.isoformat()}")


def to_event(s: Suppression, source: str) -> dict[str, object]:
    """A `preference.changed` by contact key: withdrawn, and no address for a profile."""
    data: dict[str, object] = {"contact_key": s.key}
    if s.scope == "all":
        data["all"] = "withdrawn"
    else:
        data["changes"] = {s.scope: "withdrawn"}
    return {
        "event_id": str(event_id_of(s)),
        "type": "preference.changed",
        "schema_version": "1.0",
        "occurred_at": s.at.isoformat(),
        "source": source,
        "data": data,
    }


def source_of(path: Path) -> str:
    return f"suppression-import:{path.name}"[:200]


# ------------------------------------------------------------------------------ check, send


@dataclass(frozen=True)
class CheckedFile:
    """A file read once and checked whole; `send_checked` sends from exactly this text."""

    path: Path
    text: str
    secret: str
    default_at: datetime
    now: datetime
    lines: int
    report: ImportReport

    def items(self) -> Iterator[Suppression | Duplicate | Rejected]:
        return check_lines(self.text, self.path.name, self.secret, default_at=self.default_at,
                           now=self.now)


def check_file(path: Path, secret: str, *, now: datetime | None = None,
               progress: Callable[[int, int], None] | None = None) -> CheckedFile:
    """Read and check every line; FileRefused if a line is malformed. Sends nothing.

    `progress(line, lines)` is called as lines are checked. Every valid line is also built into
    its event and validated as the producer will, so the send pass cannot fail on one.
    """
    now = now or datetime.now(UTC)
    text, encoding, mtime = read_text(path)
    # a modification time in the future is a clock's error: no later than now
    checked = CheckedFile(path, text, secret, min(mtime, now.replace(microsecond=0)), now,
                          _count_lines(text), ImportReport(encoding=encoding))
    report, source = checked.report, source_of(path)
    for item in checked.items():
        if isinstance(item, Suppression):
            try:
                parse_event(json.dumps(to_event(item, source)).encode("utf-8"))
            except InvalidEvent as exc:  # cannot happen while the checks above are complete
                report.reject(Rejected(item.line, f"not a valid event: {exc.reason}"))
                continue
            report.valid += 1
        elif isinstance(item, Duplicate):
            report.duplicates_in_file += 1
        else:
            report.reject(item)
        if progress is not None:
            progress(item.line, checked.lines)
    if progress is not None:
        progress(checked.lines, checked.lines)
    if report.malformed_lines:
        n = len(report.malformed_lines)
        raise FileRefused(f"{path.name} was not imported, nothing was sent: {n} line"
                          f"{'s are' if n > 1 else ' is'} not a row of the header's table "
                          "(see the line numbers above); fix the file and import it again",
                          report)
    return checked


def send_checked(checked: CheckedFile, producer: EventProducer,
                 progress: Callable[[], None] | None = None) -> ImportReport:
    """Send the valid lines of a checked file and wait until the broker acknowledged them."""
    report, source = checked.report, source_of(checked.path)
    refused = set(report.rejected_lines)  # lines the check pass refused after building them
    sent = 0
    for item in checked.items():
        if isinstance(item, Suppression) and item.line not in refused:
            producer.send(to_event(item, source))
            sent += 1
            if progress is not None:
                progress()
    producer.flush()
    report.imported = sent
    return report


def import_file(path: Path, producer: EventProducer, secret: str,
                progress: Callable[[], None] | None = None) -> ImportReport:
    """Check the whole file, then send its valid lines (FileRefused: nothing sent)."""
    return send_checked(check_file(path, secret), producer, progress)
