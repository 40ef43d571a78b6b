"""`consent disclose EMAIL --legal-basis TEXT --case-ref REF --authority NAME [--out FILE]`.

The privacy policy says the data is "disclosed only where the law requires it". This command is
the only way to do so, and it leaves an audit record:

- **Only the DPO.** The Kafka principal must be `dpo` (CONSENT_KAFKA_CLIENT_CONFIG names
  `.local/<instance>/clients/dpo.properties`) and the PostgreSQL role `consent_dpo`; anything
  else is refused before anything is read. The broker and the database hold the line as well:
  only `dpo` may write the `disclosures` topic, and only `consent_dpo` reads every table.
- **Why, for whom, under which case.** Legal basis, case reference and authority are all
  required (argparse exits 2 without them), none may be blank, and none may contain the
  person's address, name or phone: they go into the audit record, which holds no personal data.
- **What.** The export is the document `consent lookup --json` prints (`ops.held`: profile,
  current consent, history, mail decisions, erasures, review items, prior disclosures, storage
  periods), plus this disclosure's own record, in a new file with mode 600 (an existing file is
  never overwritten). The default name carries the disclosure id, never the person.
- **The record, and why it is made this way.** The command sends one
  `contact.disclosure_recorded` event (who: principal and OS user; when; legal basis, case,
  authority; the categories disclosed; the export's SHA-256; the contact key, no personal data)
  to the `disclosures` topic. The consent agent turns it into a ledger line in `consent-changes`
  (scope `disclosure`), and the PostgreSQL sink stores that line in `consent_ledger` and in
  `disclosures`. One durable event and one path give the same record in the ledger and in
  PostgreSQL, each exactly once (keyed by the event id). The DPO needs WRITE on one topic that
  can change nobody's consent (the agent accepts only disclosure events there) and no write
  right in PostgreSQL: it can cause an audit record, never forge, alter or delete one. Writing
  the table directly as `consent_dpo` would have added a second writer, and a failure between
  the two writes would have left a disclosure in one record and not the other.
- **Order.** The export is written under a temporary name, the event is sent and acknowledged,
  and only then is the file put in place: no export exists without its durable record, and a
  failed send leaves neither. The command then waits (`--wait`) until PostgreSQL shows the
  record; if the worker or the sink is not running, the record is safe in the topic and
  appears when they run, and the command says so.
"""

import hashlib
import os
import pwd
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from ops.exceptions import OpsError
from ops.held import categories_held, dumps, subject_document
from ops.lookup import lookup
from schemas.contact import normalise_email
from schemas.envelope import describe_validation_error
from schemas.events import DisclosureRecorded
from sinks.db import connect
from sinks.settings import SinkSettings
from sources.producer import EventProducer, make_event

DPO_PRINCIPAL = "dpo"
DPO_ROLE = "consent_dpo"
SOURCE = "consent-disclose"


class DisclosureRefused(OpsError):
    """The disclosure may not happen as asked; nothing was read, written or sent."""


@dataclass(frozen=True)
class Request:
    email: str
    legal_basis: str
    case_ref: str
    authority: str


@dataclass(frozen=True)
class Outcome:
    disclosure_id: uuid.UUID
    path: Path
    categories: list[str]
    recorded: bool
    """True once PostgreSQL showed the record (the ledger line was stored with it)."""


def check_request(req: Request) -> Request:
    """Each of the three reasons present and non-blank; the texts trimmed."""
    texts = {"--legal-basis": req.legal_basis, "--case-ref": req.case_ref,
             "--authority": req.authority}
    blank = [flag for flag, text in texts.items() if not text.strip()]
    if blank:
        raise DisclosureRefused(f"a disclosure needs a legal basis, a case reference and an "
                                f"authority; empty: {', '.join(blank)}")
    return Request(req.email, req.legal_basis.strip(), req.case_ref.strip(),
                   req.authority.strip())


def check_dpo(settings: SinkSettings) -> None:
    """Refuse unless Kafka and PostgreSQL credentials are the DPO's."""
    principal = settings.kafka_principal
    if principal != DPO_PRINCIPAL:
        now = f"principal {principal!r}" if principal else "no client file"
        raise DisclosureRefused(
            "consent disclose runs only as the DPO: CONSENT_KAFKA_CLIENT_CONFIG must be the dpo "
            f"principal's client file (.local/<instance>/clients/dpo.properties); now: {now}")
    with connect(settings) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    role = row[0] if row else None
    if role != DPO_ROLE:
        raise DisclosureRefused(
            "consent disclose runs only as the DPO: CONSENT_DATABASE_URL must be the "
            f"{DPO_ROLE} role's (.local/<instance>/postgres/roles/{DPO_ROLE}.url); "
            f"now: role {role!r}")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def check_no_personal_data(req: Request, profile: tuple[Any, ...] | None) -> None:
    """The audit texts must not carry the person's address, name or phone number."""
    email = normalise_email(req.email)
    found: dict[str, str] = {"the e-mail address": email}
    local = email.split("@", 1)[0]
    if len(local) >= 4:
        found["the e-mail address's local part"] = local
    if profile is not None:
        _email, name, _company, phone, address, *_rest = profile
        for label, value in (("the name", name), ("the postal address", address)):
            if isinstance(value, str) and len(value.strip()) >= 3:
                found[label] = value.strip().lower()
        if isinstance(phone, str) and len(_digits(phone)) >= 7:
            # the subscriber part: the prefix is written as +49 (30) or 030 alike
            found["the phone number"] = _digits(phone)[-7:]
    for flag, text in (("--legal-basis", req.legal_basis), ("--case-ref", req.case_ref),
                       ("--authority", req.authority)):
        lowered = text.lower()
        for label, value in found.items():
            hit = (value in _digits(text)) if label == "the phone number" else (value in lowered)
            if hit:
                raise DisclosureRefused(
                    f"{flag} contains the person's data ({label}); the audit record must hold "
                    "none: name the case, not the person")


def operator() -> str:
    """The operating-system user running the command (the real uid, not $USER)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid-{os.getuid()}"


def _reserve(path: Path) -> int:
    """Create `path` empty with mode 600, failing if it exists: the name is ours."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise DisclosureRefused(f"{path} exists; a disclosure never overwrites a file") from exc
    except OSError as exc:
        raise DisclosureRefused(f"cannot create {path}: {exc.strerror}") from exc
    os.fchmod(fd, 0o600)
    return fd


def _write_new(path: Path, data: bytes) -> None:
    fd = _reserve(path)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _recorded(settings: SinkSettings, key: str, disclosure_id: uuid.UUID) -> bool:
    with connect(settings) as conn:
        return conn.execute("SELECT 1 FROM disclosures WHERE contact_key = %s AND event_id = %s",
                            (key, disclosure_id)).fetchone() is not None


def disclose(settings: SinkSettings, req: Request, out: Path | None = None,
             wait_s: float = 30.0) -> Outcome:
    """Export what is held on the person and record the disclosure (module docstring)."""
    req = check_request(req)
    settings.check_production()
    check_dpo(settings)
    result = lookup(settings, req.email, history_limit=None)
    check_no_personal_data(req, result.profile)
    disclosure_id = uuid.uuid4()
    now = datetime.now(UTC)
    doc = subject_document(result, req.email, settings, "legal_disclosure", now)
    categories = categories_held(doc)
    doc["disclosure"] = {
        "disclosure_id": str(disclosure_id), "disclosed_at": now, "legal_basis": req.legal_basis,
        "case_ref": req.case_ref, "authority": req.authority, "principal": DPO_PRINCIPAL,
        "operator": operator(), "categories": categories}
    body = dumps(doc)
    event = make_event("contact.disclosure_recorded", {
        "contact_key": result.contact_key, "legal_basis": req.legal_basis,
        "case_ref": req.case_ref, "authority": req.authority, "categories": categories,
        "principal": DPO_PRINCIPAL, "operator": doc["disclosure"]["operator"],
        "export_sha256": hashlib.sha256(body).hexdigest()},
        source=SOURCE, occurred_at=now, event_id=disclosure_id)
    try:
        DisclosureRecorded.model_validate(event)
    except ValidationError as exc:
        raise DisclosureRefused(f"the disclosure record is invalid: "
                                f"{describe_validation_error(exc, trusted_keys=True)}") from exc

    path = (out or Path.cwd() / f"disclosure-{disclosure_id}.json").resolve()
    tmp = path.with_name(f".{path.name}.{disclosure_id.hex[:8]}.tmp")
    os.close(_reserve(path))  # the final name, empty until the record is durable
    try:
        _write_new(tmp, body)
        producer = EventProducer(settings)  # as the dpo principal
        try:
            producer.send(event)
            producer.flush(30)
        finally:
            del producer
    except BaseException:
        tmp.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    deadline = time.monotonic() + wait_s
    recorded = _recorded(settings, result.contact_key, disclosure_id)
    while not recorded and time.monotonic() < deadline:
        time.sleep(0.5)
        recorded = _recorded(settings, result.contact_key, disclosure_id)
    return Outcome(disclosure_id, path, categories, recorded)


def run_disclose(email: str, legal_basis: str, case_ref: str, authority: str,
                 out: str | None, wait_s: float, console: Console) -> int:
    outcome = disclose(SinkSettings(), Request(email, legal_basis, case_ref, authority),
                       Path(out) if out else None, wait_s)
    shown = ", ".join(outcome.categories) or "nothing held"
    console.print(f"disclosure {outcome.disclosure_id}: exported {shown} to {outcome.path} "
                  "(mode 600)", markup=False, highlight=False)
    if outcome.recorded:
        console.print("recorded in the ledger (consent-changes) and in PostgreSQL (disclosures)",
                      markup=False, highlight=False)
    else:
        console.print(f"[yellow]recorded in the topic disclosures (acknowledged); not yet in "
                      f"PostgreSQL after {wait_s:.0f}s: the worker or the PostgreSQL sink is "
                      "not running or behind, and will store it when it runs[/yellow]")
    return 0
