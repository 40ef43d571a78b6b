"""The fuzz harness (issue 6): hostile input at every entry point while valid traffic flows.

On the real secured broker, PostgreSQL and SMTP server (aiosmtpd), every component running as
its own process: worker, send filter, PostgreSQL sink, mailer, the unsubscribe endpoint
(one-click and preference centre) and the webhook ingestion endpoint. Each hypothesis example
is one *batch*, not one record: a pipeline round trip costs seconds, so a batch carries about a
hundred hostile records (`tests.fuzz.strategies`) for every input topic and every sink's topic,
hostile HTTP requests, correctly signed webhook deliveries with hostile payloads, a
suppression file with hostile lines and lookups, mixed with a dozen valid contacts who opt
out in every way the pipeline offers (or stay). Then it asserts, per batch:

- no component stopped, and a fresh request after the batch is still decided;
- every hostile record has its dead letter at its own topic/partition/offset, or its
  `sink_failures` row per consumer, or its `failed` / stopped `mail_sends` row with a reason;
- every webhook delivery gets an answer its case allows (never a 500), and each one refused
  with 400/422 is kept in `dead-letters` under its own delivery's fingerprint;
- every valid request is decided: forwarded for contacts who stayed, suppressed for the rest;
- no mail went to an opted-out or erased contact (envelope recipients of the real SMTP
  server, and no recipient containing a victim's local part at all);
- no generated personal data (addresses' local parts, names) appears in any process log,
  dead-letter or failure reason, SMTP failure text, metric label or command output.

Reproducible: `derandomize=True` draws the same batches every run (the people's addresses
carry a fresh tag per run, so runs never see each other's data). No shrinking: each example is
a live pipeline round, and the failure message names the offending cases. The suite runs
`CONSENT_FUZZ_EXAMPLES` hostile records (default 300, a couple of minutes); `make fuzz` runs
thousands.
"""

import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaError, Message
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ops.smtp_capture import free_port
from ops.supervisor import Component
from schemas.contact import contact_key, normalise_email
from schemas.unsubscribe_token import sign
from sources.ingest.events import dead_letter as webhook_dead_letter
from sources.ingest.signature import sign as sign_webhook
from sources.producer import make_event
from sources.settings import secret_bytes
from tests.fuzz.strategies import (
    OPTED_OUT,
    SINK_CONSUMERS,
    Cast,
    Hostile,
    Person,
    Webhook,
    address_tricks,
    hostile_http,
    hostile_import_lines,
    hostile_input,
    hostile_sink_record,
    hostile_webhook,
    people,
)
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("CONSENT_FUZZ_EXAMPLES", "300"))
"""Hostile Kafka records in all, rounded up to whole batches (HTTP requests, import lines and
lookups come on top)."""
PER_BATCH = 100
SINK_SHARE = 4  # one record in four goes to a sink's topic
PEOPLE = 12
HTTP_PER_BATCH = 16
WEBHOOKS_PER_BATCH = 20
WAIT_S = 180.0
TERMINAL_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None,
         headers: dict[str, str] | None = None) -> int:
    """The status of one request; any answer counts, only a dead server raises."""
    req = urllib.request.Request(url, data=body, method=method,  # noqa: S310 - test-local URL
                                 headers=headers or {})
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        with err:
            return int(err.code)


@dataclass
class Fuzz:
    """The running pipeline under fuzz, and what the batches so far sent and expect."""

    pipeline: Pipeline
    base: str
    metrics_ports: dict[str, int]
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    batches: int = 0
    never_mail: set[str] = field(default_factory=set)  # normalised addresses
    never_mail_markers: set[str] = field(default_factory=set)  # local-part markers
    pii: set[str] = field(default_factory=set)  # must appear in no log, reason or label
    webhook_letters: set[tuple[str, int]] = field(default_factory=set)  # (route, offset)

    @property
    def secret(self) -> str:
        return self.pipeline.stream_settings.key_secret.get_secret_value()

    def key_of(self, email: str) -> str:
        return contact_key(email, self.secret)


def _start(p: Pipeline, name: str, *args: str, port: int) -> Component:
    return p.procs.start(name, *args, env={"CONSENT_METRICS_PORT": str(port)})


@pytest.fixture(scope="module")
def fuzz(make_pipeline: Callable[..., Pipeline]) -> Iterator[Fuzz]:
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}/unsubscribe"
    p = make_pipeline(components=(), extra_env={"CONSENT_UNSUBSCRIBE_BASE_URL": base})
    ports = {name: free_port() for name in ("worker", "filter", "postgres-sink", "mailer")}
    _start(p, "worker", "worker", port=ports["worker"])
    _start(p, "filter", "filter", port=ports["filter"])
    _start(p, "postgres-sink", "sink", "postgres", port=ports["postgres-sink"])
    _start(p, "mailer", "sink", "mailer", port=ports["mailer"])
    _start_http(p, "unsubscribe", "unsubscribe-server", http_port)
    ports["unsubscribe"] = http_port
    ports["ingest"] = _start_http(p, "ingest", "ingest-server")
    yield Fuzz(p, base, ports)


def _start_http(p: Pipeline, name: str, command: str, port: int | None = None) -> int:
    """Start an HTTP endpoint of the pipeline (on a free port unless given); return the port
    once it answers."""
    port = port or free_port()
    server = p.procs.start(name, command, "--host", "127.0.0.1", "--port", str(port))
    deadline = time.monotonic() + 60
    while True:
        server.check_alive()
        try:
            if http("GET", f"http://127.0.0.1:{port}/healthz") == 200:
                return port
        except OSError:
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.2)


def _post_webhook(f: Fuzz, hook: Webhook) -> int:
    """POST one delivery signed as its source signs (a fresh delivery id); return the status.

    A refused one must be kept in `dead-letters` under the fingerprint of this delivery."""
    delivery = f"msg_{uuid.uuid4().hex}"
    ts = int(time.time())
    key = secret_bytes(f.pipeline.deployment.ingest_secrets[hook.source])
    status = http("POST", f"http://127.0.0.1:{f.metrics_ports['ingest']}/webhooks/"
                  f"{hook.source}/{hook.kind}", hook.body, "application/json",
                  {"webhook-id": delivery, "webhook-timestamp": str(ts),
                   "webhook-signature": sign_webhook(key, delivery, ts, hook.body)})
    if status in (400, 422):
        letter = webhook_dead_letter(hook.source, hook.kind, delivery, hook.body, reason="",
                                     error_kind="")
        f.webhook_letters.add((letter.topic, letter.offset))
    return status


class Sent:
    """Where each raw record landed (topic, partition, offset), from the delivery reports."""

    def __init__(self) -> None:
        self.at: dict[int, tuple[str, int, int]] = {}
        self.errors: list[str] = []

    def report(self, i: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.errors.append(str(err))
            else:
                self.at[i] = (str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
        return on_delivery


def consent(p: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops", *args], env={**p.env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=180, check=False)


# ------------------------------------------------------------------------------ one batch

def _victims(f: Fuzz, cast: Cast) -> None:
    """Contacts who opted out of everything or were erased before anything hostile is sent."""
    p = f.pipeline
    for i, victim in enumerate(cast.victims):
        p.send("purchase.completed", {"order_id": f"v{i}", "email": victim, "name": "Vic"})
        if i % 2 == 0:
            p.send("preference.changed", {"email": victim, "all": "withdrawn"})
        if i % 2 == 1 or i == 2:
            p.send("contact.erasure_requested", {"email": victim, "request_ref": f"e{i}"})
        f.never_mail.add(normalise_email(victim))
        f.never_mail_markers.add(victim.split("@")[0].lower())
        f.pii.add(victim.split("@")[0])


def _token(f: Fuzz, email: str) -> str:
    return sign(f.key_of(email), "special_offers", f.secret, ttl=timedelta(days=1))


def _opt_out(f: Fuzz, person: Person, import_lines: list[str]) -> None:
    """Make `person` opt out the way their fate says (all but the import: acknowledged here)."""
    p, email = f.pipeline, person.email
    if person.fate in ("withdraw_all", "future_grant_then_withdraw"):
        p.send("preference.changed", {"email": email, "all": "withdrawn"})
    elif person.fate == "withdraw_mis_keyed":  # repaired by the worker, never lost
        event = make_event("preference.changed", {"email": email, "all": "withdrawn"},
                           source="careless")
        p.producer.send_raw("preferences", f.key_of(f"other-{email}").encode(),
                            orjson.dumps(event))
        p.producer.flush()
    elif person.fate == "support_text":
        p.send("support.message_received", {"ticket_id": uuid.uuid4().hex, "email": email,
                                            "channel": "email",
                                            "text": "Hello, please stop emailing me."})
    elif person.fate == "newsletter_all":
        p.send("newsletter.unsubscribed", {"email": email, "scope": "all"})
    elif person.fate == "erase":
        p.send("contact.erasure_requested", {"email": email, "request_ref": "fuzz"})
    elif person.fate == "one_click":
        status = http("POST", f"{f.base}?token={_token(f, email)}",
                      b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded")
        assert status == 200, f"a valid one-click unsubscribe answered {status}"
    elif person.fate == "centre_everything":
        status = http("POST", f"{f.base}/preferences?token={_token(f, email)}", b"scope=all",
                      "application/x-www-form-urlencoded")
        assert status == 200, f"a valid preference-centre POST answered {status}"
    elif person.fate == "imported":
        import_lines.append(f"{email},all,")


def _send_hostile(f: Fuzz, hostile: list[Hostile]) -> dict[int, tuple[str, int, int]]:
    p, sent = f.pipeline, Sent()
    for i, h in enumerate(hostile):
        p.producer.send_raw(h.topic, h.key, h.value, on_delivery=sent.report(i))
    p.producer.flush(120)
    assert not sent.errors, sent.errors[:3]
    assert len(sent.at) == len(hostile)
    return sent.at


def _import(f: Fuzz, tmp: Path, valid: list[str], hostile: list[tuple[str, bool]],
            data: st.DataObject) -> str:
    """Import a file of valid and hostile lines; returns the command's output."""
    lines = [(v, True) for v in valid] + hostile
    order = data.draw(st.permutations(range(len(lines))), label="import order")
    path = tmp / f"fuzz-{uuid.uuid4().hex[:8]}.csv"
    path.write_text("email,scope,opted_out_at\n" + "".join(f"{lines[i][0]}\n" for i in order),
                    encoding="utf-8")
    proc = consent(f.pipeline, "import-suppressions", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert "Traceback" not in out
    assert f"imported={len(valid)} " in out and f"rejected={len(hostile)}" in out, out[-1500:]
    return out.replace(path.name, "")


def _missing(f: Fuzz, hostile: list[Hostile], at: dict[int, tuple[str, int, int]]
             ) -> list[str]:
    """The cases whose failure is not (yet) recorded where the strategy says it must be."""
    p = f.pipeline
    letters = {(t, pt, o): reason for t, pt, o, reason in p.query(
        'SELECT topic, partition, "offset", reason FROM dead_letters')}
    failures = {(c, t, pt, o): reason for c, t, pt, o, reason in p.query(
        'SELECT consumer, topic, partition, "offset", reason FROM sink_failures')}
    sends = {r: (s, why) for r, s, why in p.query(
        "SELECT request_id, state, coalesce(smtp_response, suppressed_reason) FROM mail_sends")}
    missing = []
    for i, h in enumerate(hostile):
        topic, part, offset = at[i]
        if h.expect == "dead_letter":
            ok = bool(letters.get((topic, part, offset)))
        elif h.expect == "sink_failure":
            ok = all(failures.get((c, h.topic, part, offset)) for c in SINK_CONSUMERS[h.topic])
        else:
            rid = orjson.loads(h.value or b"{}")["request_id"]
            state, why = sends.get(rid, (None, None))
            # refused, or stopped first by the last mile (the key's contact opted out): either
            # way recorded with a reason and never handed to SMTP
            want = {"failed", "suppressed_at_send"} if h.expect == "mail_failed" else {
                "suppressed_at_send"}
            ok = state in want and bool(why)
            if not ok:
                missing.append(f"{h.case} at {topic}/{part}/{offset}: mail_sends {state}")
                continue
        if not ok:
            missing.append(f"{h.case} at {topic}/{part}/{offset}")
    return missing


def _wait(what: str, check: Callable[[], list[str]], f: Fuzz) -> None:
    deadline = time.monotonic() + WAIT_S
    left = check()
    while left and time.monotonic() < deadline:
        f.pipeline.procs.check_alive()
        time.sleep(1.0)
        left = check()
    assert not left, f"{what}: {len(left)} not accounted for, e.g. {left[:8]}"


def _no_personal_data(f: Fuzz, extra_text: str) -> None:
    p = f.pipeline
    texts = {name: comp.log_path.read_text(errors="replace")
             for name, comp in p.procs.running.items()}
    texts["dead-letter reasons"] = "\n".join(r for (r,) in p.query(
        "SELECT reason FROM dead_letters"))
    texts["sink failure reasons"] = "\n".join(r for (r,) in p.query(
        "SELECT reason FROM sink_failures"))
    texts["smtp responses"] = "\n".join(r or "" for (r,) in p.query(
        "SELECT smtp_response FROM mail_sends"))
    for name, port in f.metrics_ports.items():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:  # noqa: S310
            texts[f"{name} metrics"] = resp.read().decode()
    texts["import and lookup output"] = extra_text
    found = [(where, marker) for where, text in texts.items() for marker in f.pii
             if marker.lower() in text.lower()]
    assert not found, f"personal data leaked: {found[:8]}"


def _mail_checks(f: Fuzz, keep: list[str]) -> None:
    """Mail reached those who stayed, and nobody who opted out, by envelope or header."""
    mailbox = f.pipeline.smtp.mailbox

    def undelivered() -> list[str]:
        got = set(mailbox.delivered_to())
        return [e for e in keep if e not in got]

    _wait("mail to contacts who stayed", undelivered, f)
    recipients = [r.lower() for r in mailbox.delivered_to()]
    recipients += [str(m["To"]).lower() for m in mailbox.snapshot()]
    leaked = [r for r in recipients if r in f.never_mail
              or any(marker in r for marker in f.never_mail_markers)]
    assert not leaked, f"mail reached opted-out or erased contacts: {leaked[:5]}"


def _batch(f: Fuzz, data: st.DataObject, tmp: Path) -> None:
    p, b = f.pipeline, f.batches
    tag = f"{f.run_tag}b{b}"
    cast = Cast(victims=tuple(f"victim{i}{tag}@example.com" for i in range(3)),
                key_of=f.key_of, tag=tag)
    _victims(f, cast)
    crowd = data.draw(people(cast, PEOPLE), label="people")
    for person in crowd:
        f.pii |= {person.email.split("@")[0].split("-")[-1], person.name.split(" ")[0]}
        if person.fate != "keep":
            f.never_mail.add(normalise_email(person.email))
            f.never_mail_markers.add(person.email.split("@")[0].split("-")[-1].lower())
        p.producer.send(make_event("purchase.completed", {
            "order_id": uuid.uuid4().hex, "email": person.email, "name": person.name,
            "address": f"{person.name}\x00 Street 1", "phone": "+31\r\n6"}, source="shop"))
        if person.fate == "future_grant_then_withdraw":  # outranks nothing (clamped)
            p.producer.send(make_event("preference.changed", {"email": person.email,
                                                              "all": "granted"}, source="x",
                                       occurred_at=datetime.now(UTC) + timedelta(hours=1)))
            p.producer.send(make_event("newsletter.confirmed", {"email": person.email},
                                       source="x", occurred_at=datetime(2099, 6, 1, tzinfo=UTC)))
    p.producer.flush()

    # cases round-robin from a drawn offset: a batch covers them all, and what is drawn
    # depends on hypothesis's choices only (never on the batch number), as it requires
    first = data.draw(st.integers(0, 10**6), label="first case")
    hostile = [data.draw(hostile_sink_record(cast, f"{tag}h{i}", (first + i) // SINK_SHARE),
                         label="sink record")
               if i % SINK_SHARE == 0 else
               data.draw(hostile_input(cast, f"{tag}h{i}", first + i), label="input record")
               for i in range(PER_BATCH)]
    half = len(hostile) // 2
    at = _send_hostile(f, hostile[:half])  # hostile and valid traffic interleaved
    import_lines: list[str] = []
    for person in crowd:
        _opt_out(f, person, import_lines)
    later = _send_hostile(f, hostile[half:])
    at |= {half + i: v for i, v in later.items()}

    statuses = []
    for _ in range(HTTP_PER_BATCH):
        method, target, body, ctype = data.draw(hostile_http(_token(f, cast.victims[0])),
                                                label="http")
        statuses.append((method, target[:40], http(method, f"{f.base.rsplit('/', 1)[0]}{target}",
                                                   body, ctype)))
    # never a crash (500); a 503 only where it is the documented "not yet": the preference
    # centre answers it while the sink has not written a new contact's rows (it never guesses
    # a page of unticked boxes), which depends on timing, not on the input
    failed = [s for s in statuses if s[2] >= 500
              and not (s[2] == 503 and s[1].startswith("/unsubscribe/preferences"))]
    assert failed == [], failed
    # signed deliveries with hostile content: each gets an answer it allows, never a 500
    hooks = [data.draw(hostile_webhook(cast, f"{tag}w{i}", first + i), label="webhook")
             for i in range(WEBHOOKS_PER_BATCH)]
    wrong_answers = []
    for hook in hooks:
        f.pii |= set(hook.pii)
        status = _post_webhook(f, hook)
        if status not in hook.answers:
            wrong_answers.append((hook.case, status))
    assert wrong_answers == [], wrong_answers
    output = _import(f, tmp, import_lines,
                     data.draw(hostile_import_lines(cast.victims, 6), label="import lines"),
                     data)

    requests = {}
    for person in crowd:
        rid = unique_request()
        requests[rid] = person
        p.producer.send(make_event("mail.requested", {
            "request_id": rid, "email": person.email, "purpose": "special_offers",
            "subject": "Offer", "body": "Hello"}, source="crm"))
    for victim in cast.victims:
        p.producer.send(make_event("mail.requested", {
            "request_id": f"victim-{unique_request()}", "email": victim,
            "purpose": "special_offers", "subject": "Offer", "body": "Hello"}, source="crm"))
    p.producer.flush()

    def undecided() -> list[str]:
        rows = p.query("SELECT request_id FROM mail_decisions WHERE request_id = ANY(%s)",
                       list(requests))
        return sorted(set(requests) - {r for (r,) in rows})

    _wait("valid requests decided", undecided, f)
    decided = dict(p.query("SELECT request_id, outcome FROM mail_decisions WHERE "
                           "request_id = ANY(%s)", list(requests)))
    wrong = [(requests[r].fate, o) for r, o in decided.items()
             if o != ("forwarded" if requests[r].fate == "keep" else "suppressed")]
    assert not wrong, f"decided against the contact's choice: {wrong}"
    assert all(requests[r].fate in OPTED_OUT or o == "forwarded" for r, o in decided.items())
    _wait("hostile records with a dead letter or failed row", lambda: _missing(f, hostile, at), f)

    def unkept() -> list[str]:
        rows = p.query('SELECT topic, "offset" FROM dead_letters WHERE partition = -1')
        return sorted(f"{t}@{o}" for t, o in f.webhook_letters - {(t, o) for t, o in rows})

    _wait("refused webhooks kept as dead letters", unkept, f)
    _mail_checks(f, [normalise_email(x.email) for x in crowd if x.fate == "keep"])

    # still deciding: a fresh contact's request after everything above
    canary = f"canary-{tag}@example.com"
    p.send("purchase.completed", {"order_id": "c", "email": canary, "name": "C"})
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": canary, "purpose": "product_updates",
                              "subject": "s", "body": "b"})
    assert p.decision(rid, timeout=WAIT_S)[0] == "forwarded"

    # lookup: a contact whose stored name is hostile, and an address trick
    shown = consent(p, "lookup", crowd[0].email)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr[-2000:]
    assert not [c for c in TERMINAL_CONTROLS if c in shown.stdout + shown.stderr]
    trick = data.draw(address_tricks(cast.victims[1]).filter(lambda t: "\x00" not in t),
                      label="lookup trick")  # argv cannot carry NUL
    refused = consent(p, "lookup", trick)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert not [c for c in TERMINAL_CONTROLS if c in refused.stdout + refused.stderr]
    p.procs.check_alive()
    _no_personal_data(f, output + refused.stdout + refused.stderr)


BATCHES = max(1, math.ceil(EXAMPLES / PER_BATCH))


@settings(max_examples=BATCHES, derandomize=True, database=None, deadline=None,
          phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_input_everywhere_while_valid_traffic_flows(
        fuzz: Fuzz, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    fuzz.batches += 1
    _batch(fuzz, data, tmp_path_factory.mktemp(f"fuzz-{fuzz.batches}"))

