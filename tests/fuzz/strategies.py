"""Hypothesis strategies for hostile input to every entry point of the pipeline (issue 6).

Why a module of its own: the bounded run in the test suite (`tests/integration/test_fuzz.py`),
its long run (`make fuzz`) and the unit check that every "bad" record really is bad
(`tests/unit/test_fuzz_strategies.py`) draw from the same definitions, so a case added here is
fuzzed everywhere.

Why records carry an expectation: the harness does not ask "did something go to the dead
letters?" but "did *this* record, at its topic, partition and offset, get a dead letter (or a
failed row) with a reason?". Each strategy therefore builds records that are bad by
construction, and says where their failure must show up.

Why the people in the traffic are given, not drawn: the addresses and names that must never
appear in a log line are the caller's (`Cast`), unique per run, so a search of the logs for them
cannot match anything else; hypothesis draws the *shape* of the attack around them (which
trick, which control character, which field, which key). With `derandomize=True` the shapes
repeat run after run.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hypothesis import strategies as st

from schemas.contact import normalise_email
from schemas.purposes import MARKETING_PURPOSES
from schemas.topics import (
    CONSENT_CHANGES,
    CONSENT_REVIEW,
    CONTACTS,
    DEAD_LETTERS,
    MAIL_OUTBOX,
    MAIL_REQUESTS,
    MAIL_SUPPRESSED,
)
from sources.ingest.app import MAX_BODY_BYTES

INPUT_TOPICS = ("purchases", "support", "newsletter", "preferences", MAIL_REQUESTS)
"""What the worker and the send filter read: a bad record there must become a dead letter."""
SINK_TOPICS = (CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS,
               CONSENT_REVIEW)
"""What the PostgreSQL sink reads (and the mailer: `mail-outbox`): a bad record there must
become a `sink_failures` row per consumer."""
SINK_CONSUMERS: dict[str, tuple[str, ...]] = {t: ("postgres-sink",) for t in SINK_TOPICS}
SINK_CONSUMERS[MAIL_OUTBOX] = ("postgres-sink", "mailer")

MARKETING = tuple(p.value for p in MARKETING_PURPOSES)
CONTROLS = ("\r\n", "\n", "\r", "\x00", "\x1b[2J", "\x07", "\x7f", "\u0085", "\u2028",
            "\u2029", "\t", "\x0b")
"""Characters an identifier or header value must never carry (`schemas.events.Ident`)."""
OVERSIZE_RANGE = (512 * 1024 + 1, 990_000)
"""Past the event limit (512 KiB) up to just under the producer's 1 MB: the dead letter of the
upper end would not fit the broker beside its metadata unless it is truncated."""

Expect = Literal["dead_letter", "sink_failure", "mail_failed", "mail_stopped"]


@dataclass(frozen=True)
class Cast:
    """The people a batch is about, made by the caller, unique per run.

    `victims` opted out of everything or were erased before any hostile record is sent: no
    mail may ever reach them. `key_of` is the pipeline's contact key function.
    """

    victims: tuple[str, ...]
    key_of: Callable[[str], str]
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def stranger(self, i: int) -> str:
        """An address nobody gave us (a key for mis-keyed records), unique per run."""
        return f"stranger{i}-{self.tag}@example.org"


@dataclass(frozen=True)
class Hostile:
    """One record to put on `topic` (a base name) as it is, and where its failure must show."""

    topic: str
    key: bytes | None
    value: bytes | None
    case: str
    expect: Expect


class Round:
    """Picks a case round-robin from a record's index, so a batch covers every case.

    Hypothesis starts each run with its simplest example, which would make the first batch a
    hundred copies of the first case; with `nth` set, the index enumerates the case tree
    (mixed radix) and hypothesis draws only the details (sizes, positions, characters, keys).
    Without it (`nth=None`) every choice is drawn.
    """

    def __init__(self, draw: st.DrawFn, nth: int | None) -> None:
        self.draw, self.nth = draw, nth

    def pick(self, options: tuple[Any, ...] | list[Any]) -> Any:
        if self.nth is None:
            return self.draw(st.sampled_from(options))
        chosen = options[self.nth % len(options)]
        self.nth //= len(options)
        return chosen


# ------------------------------------------------------------------------------- addresses

def address_tricks(victim: str) -> st.SearchStrategy[str]:
    """Strings that contain `victim` but are not a plain addr-spec (issue 6, finding 1 and 4).

    Each once got a contact key of its own and a mail delivered to the victim, or crashed the
    mailer. Every one must be refused by the one address rule (`schemas.contact`).
    """
    local, domain = victim.split("@")
    fixed = [f"x<{victim}", f"{local}(c)@{domain}", f"(c){victim}", f"x:{victim}",
             f"<>{victim}", f"<{victim}>", f"Vic Tim <{victim}>", f'"{local}"@{domain}',
             f"@relay.example:{victim}", f"{victim},spy@example.net", f"{victim};x@d.example",
             f"{local}@{domain}>", f"{local}@[127.0.0.1]", f"{local} @{domain}",
             f"{local}@@{domain}", f"{victim}\r\nBcc: spy@example.net", f"{local}\x00@{domain}",
             f"=HYPERLINK(\"{victim}\")", f"{local}..x@{domain}", f"{local}@{domain}.",
             f"{local}@-{domain}", f"{local}\u2028@{domain}"]
    # inside, never at either end: leading and trailing white space is trimmed by design
    control = st.builds(lambda c, at: victim[:at] + c + victim[at:],
                        st.sampled_from(CONTROLS), st.integers(1, len(victim) - 1))
    return st.one_of(st.sampled_from(fixed), control)


# ----------------------------------------------------------------------------- event parts

def _event(event_type: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"event_id": str(uuid.uuid4()), "type": event_type,
                           "schema_version": "1.0",
                           "occurred_at": datetime.now(UTC).isoformat(), "source": "fuzz",
                           "data": data}
    doc.update(envelope)
    return doc


def _data_for(topic: str, email: str, marker: str) -> tuple[str, dict[str, Any]]:
    """A valid event type and data of `topic` about `email` (a template to break)."""
    if topic == "purchases":
        return "purchase.completed", {"order_id": f"o-{marker}", "email": email,
                                      "name": "Fuzz Person"}
    if topic == "support":
        return "support.message_received", {"ticket_id": f"t-{marker}", "email": email,
                                            "channel": "email", "text": "hello"}
    if topic == "newsletter":
        return "newsletter.confirmed", {"email": email}
    if topic == "preferences":
        return "preference.changed", {"email": email, "all": "granted"}
    return "mail.requested", {"request_id": f"r-{marker}", "email": email,
                              "purpose": "special_offers", "subject": "Offer", "body": "Hi"}


IDENT_FIELDS = {"purchases": ("order_id",), "support": ("ticket_id",),
                "newsletter": ("confirmation_token",), "preferences": ("review_id",),
                MAIL_REQUESTS: ("request_id", "subject", "campaign")}
"""Per topic, the data fields that refuse line breaks and control characters."""

ABSURD_TIMES: tuple[Any, ...] = (
    "1999-12-31T23:59:59+00:00", "2100-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+00:00", "2025-06-01T10:00:00", "yesterday", "", 1e20, -1e15,
    None, ["2025-06-01T10:00:00+00:00"], "2025-13-45T99:99:99+00:00",
    "+275760-09-13T00:00:00Z")
"""`occurred_at` values no event may carry: outside 2000–2100, naive, not a date at all."""

WRONG_TYPES: tuple[Any, ...] = (42, -1, 3.5, True, None, [], {}, [1, 2], {"a": 1}, "",
                                2**63, "\x00")


@st.composite
def broken_event(draw: st.DrawFn, topic: str, email: str, key: bytes | None,
                 marker: str, nth: int | None = None) -> Hostile:
    """A JSON event for `topic` with exactly one drawn defect that must make it a dead letter."""
    event_type, data = _data_for(topic, email, marker)
    doc = _event(event_type, data)
    how = Round(draw, nth).pick(("control_in_id", "absurd_time", "wrong_type", "unknown_type",
                                 "foreign_type", "newer_major", "extra_envelope_key",
                                 "missing_field", "bad_event_id", "bad_choice"))
    if how == "control_in_id":
        name = draw(st.sampled_from(IDENT_FIELDS[topic] + ("@source",)))
        ctl = draw(st.sampled_from(CONTROLS))
        value = f"id{ctl}{marker}"
        if name == "@source":
            doc["source"] = value
        else:
            data[name] = value
    elif how == "absurd_time":
        doc["occurred_at"] = draw(st.sampled_from(ABSURD_TIMES))
    elif how == "wrong_type":
        name = draw(st.sampled_from(sorted(data) + ["@data", "@event_id", "@type",
                                                    "@schema_version"]))
        wrong = draw(st.sampled_from(WRONG_TYPES))
        if name.startswith("@"):
            doc[name[1:]] = wrong if name != "@data" or not isinstance(wrong, dict) else [wrong]
        else:
            if isinstance(wrong, str) and name in ("text", "body", "name"):
                wrong = 7  # an empty text or name is valid; a number is not
            data[name] = wrong
    elif how == "unknown_type":
        doc["type"] = draw(st.sampled_from(("purchase.refunded", "PURCHASE.COMPLETED",
                                            f"{event_type} ", "", "contact.deleted",
                                            "newsletter.*", "mail.requested\x00")))
    elif how == "foreign_type":  # a valid event of another topic: the topic check refuses it
        other = draw(st.sampled_from([t for t in INPUT_TOPICS if t != topic]))
        event_type, other_data = _data_for(other, email, marker)
        doc = _event(event_type, other_data)
    elif how == "newer_major":
        doc["schema_version"] = draw(st.sampled_from(("2", "2.0", "10.1", "1.0.0", "v1",
                                                      "１", "١", "¹", "")))
    elif how == "extra_envelope_key":
        doc[draw(st.sampled_from(("Type", "email", "data ", "x")))] = email
    elif how == "missing_field":
        required = {"purchases": "order_id", "support": "channel", "newsletter": "email",
                    "preferences": "all", MAIL_REQUESTS: "purpose"}[topic]
        del data[required]
    elif how == "bad_event_id":
        doc["event_id"] = draw(st.sampled_from(("", "not-a-uuid", marker, "0" * 33)))
    else:  # bad_choice: a value outside the field's allowed words
        if topic == "preferences":
            data["all"] = draw(st.sampled_from(("maybe", "WITHDRAWN", "withdrawn ", "")))
        elif topic == MAIL_REQUESTS:
            data["purpose"] = draw(st.sampled_from(("spam", "all", "Special_Offers", "")))
        elif topic == "support":
            data["channel"] = draw(st.sampled_from(("fax", "", "EMAIL")))
        elif topic == "purchases":
            data["marketing_opt_out"] = draw(st.sampled_from(("yes please", [], {})))
        else:
            data["email"] = ""
    return Hostile(topic, key, json.dumps(doc).encode(), f"{topic}:{how}", "dead_letter")


@st.composite
def raw_garbage(draw: st.DrawFn, topic: str, email: str, key: bytes | None,
                marker: str, nth: int | None = None) -> Hostile:
    """Bytes that are not a bounded JSON object: nesting, huge numbers, size, NUL, bad UTF-8."""
    event_type, data = _data_for(topic, email, marker)
    valid = json.dumps(_event(event_type, data)).encode()
    how = Round(draw, nth).pick(("deep_array", "deep_object", "huge_integer", "oversized",
                                 "nul_byte", "invalid_utf8", "not_an_object", "truncated",
                                 "empty", "many_items"))
    if how == "deep_array":
        value = b"[" * draw(st.integers(17, 200_000))
    elif how == "deep_object":  # valid JSON, deeper than the limit, inside the data
        depth = draw(st.integers(17, 600))
        doc = json.loads(valid)
        doc["data"]["x"] = json.loads('{"a":' * depth + "1" + "}" * depth)
        value = json.dumps(doc).encode()
    elif how == "huge_integer":
        # past a double's range: orjson reads a shorter integer beyond 64 bits as a float,
        # which the contract tolerates in an extra field
        digits = draw(st.integers(310, 6_000))
        spot = draw(st.sampled_from((b'"occurred_at": ', b'"n": ', b'"data": {')))
        if spot == b'"n": ':
            value = valid[:-1] + b', "n": ' + b"9" * digits + b"}"
        elif spot == b'"data": {':
            value = valid.replace(spot, spot + b'"n": -' + b"9" * digits + b", ", 1)
        else:
            doc = json.loads(valid)
            doc["occurred_at"] = "X"
            value = json.dumps(doc).encode().replace(b'"X"', b"1" + b"0" * digits)
    elif how == "oversized":
        size = draw(st.integers(*OVERSIZE_RANGE))
        value = valid[:-1] + b', "pad": "' + b"x" * max(0, size - len(valid) - 12) + b'"}'
    elif how == "nul_byte":
        at = draw(st.integers(1, len(valid) - 1))
        value = valid[:at] + b"\x00" + valid[at:]
    elif how == "invalid_utf8":
        bad = draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80",
                                    b"\xf8\x88\x80\x80\x80", b"\xe2\x82")))
        spot = valid.index(email.encode()) if email.encode() in valid else len(valid) // 2
        value = valid[:spot] + bad + valid[spot:]
    elif how == "not_an_object":
        value = draw(st.sampled_from((b"[]", b'"purchase.completed"', b"42", b"null", b"true",
                                      b"[" + valid + b"]", b"\xef\xbb\xbf" + valid)))
    elif how == "truncated":
        value = valid[:draw(st.integers(1, len(valid) - 1))]
    elif how == "empty":
        value = b""
    else:  # many_items: more array items than the limit, each tiny
        n = draw(st.integers(2_001, 20_000))
        value = valid[:-1] + b', "items": [' + b",".join([b"0"] * n) + b"]}"
    return Hostile(topic, key, value, f"{topic}:{how}", "dead_letter")


@st.composite
def hostile_input(draw: st.DrawFn, cast: Cast, marker: str, nth: int | None = None
                  ) -> Hostile:
    """One bad record for an input topic, keyed as a careless or hostile producer keys it."""
    rr = Round(draw, nth)
    topic = rr.pick(INPUT_TOPICS)
    victim = draw(st.sampled_from(cast.victims))
    key = draw(st.sampled_from((cast.key_of(victim).encode(), None, b"",
                                cast.key_of(cast.stranger(0)).encode(), victim.encode(),
                                b"\xff\xfe", b"k" * 300)))
    kind = rr.pick(("trick", "broken", "garbage"))
    if kind == "trick":
        event_type, data = _data_for(topic, draw(address_tricks(victim)), marker)
        if topic == "preferences":  # a grant for the victim under a forged address
            data["all"] = "granted"
        value = json.dumps(_event(event_type, data)).encode()
        return Hostile(topic, key, value, f"{topic}:address_trick", "dead_letter")
    if kind == "broken":
        return draw(broken_event(topic, victim, key, marker, rr.nth))
    return draw(raw_garbage(topic, victim, key, marker, rr.nth))


# --------------------------------------------------------------------------- sinks' topics

def _outbox(cast: Cast, victim: str, marker: str, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    record = {"record": "mail.outbox", "request_id": f"forged-{marker}",
              "contact_key": cast.key_of(victim), "purpose": "special_offers",
              "event_id": str(uuid.uuid4()), "requested_at": now, "decided_at": now,
              "policy_version": "forged", "campaign": None, "email": victim,
              "subject": "Offer", "body": "b", "unsubscribe_url": None}
    record["email"] = normalise_email(victim)  # what the filter would have written
    record.update(over)
    return record


@st.composite
def hostile_sink_record(draw: st.DrawFn, cast: Cast, marker: str, nth: int | None = None
                        ) -> Hostile:
    """A record on a sink's topic that no component of ours wrote (forged, corrupt, replayed).

    Unreadable ones must give a `sink_failures` row for each consumer of the topic; readable
    outbox records the mailer must not send must be `failed` (wrong address, header injection)
    or stopped at send (the contact opted out) — never mailed.
    """
    victim = draw(st.sampled_from(cast.victims))
    key = cast.key_of(victim).encode()
    rr = Round(draw, nth)
    topic = rr.pick(SINK_TOPICS)
    how = rr.pick(("forged_outbox", "garbage", "wrong_shape", "forged_outbox")
                  if topic == MAIL_OUTBOX else ("garbage", "wrong_shape"))
    if how == "garbage":
        value = draw(st.sampled_from((b"{not json", b"[" * 50_000, b"\xff\xfe\x00",
                                      b'{"n": ' + b"9" * 5_000 + b"}", b"", b"null",
                                      b'"\x00"', b"[]")))
        if topic == CONTACTS and value == b"":  # an empty value there is a valid tombstone
            value = b"{not json"
        return Hostile(topic, key, value, f"{topic}:garbage", "sink_failure")
    if how == "wrong_shape":
        doc = {"record": draw(st.sampled_from(("consent.change", "mail.outbox", "x", None))),
               "contact_key": draw(st.sampled_from((key.decode(), victim, 7, None))),
               "email": victim, "name": f"Name\x00{marker}"}
        return Hostile(topic, key if topic != CONTACTS else draw(
            st.sampled_from((key, b"short", b""))), json.dumps(doc).encode(),
            f"{topic}:wrong_shape", "sink_failure")
    attack = rr.pick(("trick_address", "other_contact", "header_injection",
                      "opted_out_victim"))
    if attack == "trick_address":
        record = _outbox(cast, victim, marker, email=draw(address_tricks(victim)))
        expect: Expect = "mail_failed"
    elif attack == "other_contact":
        record = _outbox(cast, victim, marker, email=cast.stranger(1))
        expect = "mail_failed"
    elif attack == "header_injection":
        name = draw(st.sampled_from(("subject", "request_id", "campaign", "unsubscribe_url")))
        ctl = draw(st.sampled_from(CONTROLS))
        record = _outbox(cast, victim, marker)
        record[name] = f"{record.get(name) or 'x'}{ctl}Bcc: spy@example.net"
        expect = "mail_failed"
    else:
        record = _outbox(cast, victim, marker)
        expect = "mail_stopped"
    return Hostile(topic, key, json.dumps(record).encode(), f"{topic}:{attack}", expect)


# ---------------------------------------------------------------------------- valid traffic

hostile_text = st.one_of(
    st.sampled_from(("Nu\x00ll", "Line\r\nBreak", "[/b]Mallory[red]x[/]", "\x1b]0;pwned\x07",
                     "\u202egnp.exe", "Robert'); DROP TABLE contacts;--", "=1+1",
                     "\ud7ff\ufffd", "Ζωή 🙂", "<script>alert(1)</script>", "%s%n%x")),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
"""Free text a valid event may carry (names, addresses, support text): stored, never logged."""

FATES = ("keep", "withdraw_all", "withdraw_mis_keyed", "support_text", "newsletter_all",
         "erase", "future_grant_then_withdraw", "one_click", "centre_everything", "imported")
OPTED_OUT = frozenset(FATES) - {"keep"}
"""What happens to a valid contact before its mail request; all but `keep` mean: never mail."""


@dataclass(frozen=True)
class Person:
    """A valid contact of the batch: the name carries hostile text and a personal marker."""

    email: str
    name: str
    fate: str


@st.composite
def people(draw: st.DrawFn, cast: Cast, count: int, fates: tuple[str, ...] = FATES
           ) -> list[Person]:
    """`count` contacts, each with a drawn fate; every fate appears while count allows."""
    out = []
    for i in range(count):
        fate = fates[i] if i < len(fates) else draw(st.sampled_from(fates))
        local = draw(st.sampled_from(("p", "jérôme", "o'brien", "a+b", "x.y", "ünï")))
        domain = draw(st.sampled_from(("example.com", "EXAMPLE.org", "bücher.example")))
        out.append(Person(f"{local}-pii{i}x{cast.tag}@{domain}",
                          f"Pii{i}Name{cast.tag} {draw(hostile_text)}", fate))
    return out


@st.composite
def hostile_http(draw: st.DrawFn, token: str) -> tuple[str, str, bytes | None, str | None]:
    """(method, path?query, body, content type) aimed at the unsubscribe endpoint's routes.

    Half use a genuine token with a hostile body or a hostile extra query; half a forged token.
    Nothing of these may change anyone's consent, crash the server or answer 500.
    """
    path = draw(st.sampled_from(("/unsubscribe", "/unsubscribe/preferences")))
    method = draw(st.sampled_from(("GET", "POST", "HEAD")))
    forged = draw(st.sampled_from((
        token[:-1], token + "A", token.upper(), "", "x" * 5000, "%00", "%FF%FE",
        "..%2F..%2Fetc%2Fpasswd", "%0d%0aSet-Cookie:x=1", "[/b]", "%C3%A9", token + "%00")))
    raw_token = draw(st.sampled_from((token, forged)))
    query = f"?token={raw_token}" + draw(st.sampled_from(("", "&token=x", "&scope=all",
                                                          "&token=", "&%ff=1")))
    body = draw(st.sampled_from((
        None, b"", b"List-Unsubscribe=One-Click%00", b"scope=everything",
        b"form=preferences&granted=transactional", b"form=preferences&granted=spam&was=x",
        b"form=preferences&" + b"granted=special_offers&" * 3000, b"\xff\xfe=\x00",
        b"scope=all&scope=none", b"List-Unsubscribe=" + b"x" * 70_000, b"a=%zz%",
        b"--b\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nall", b"{\"scope\": \"all\"}")))
    ctype = draw(st.sampled_from(("application/x-www-form-urlencoded",
                                  "multipart/form-data; boundary=b", "application/json",
                                  "text/plain; charset=utf-16", None)))
    return method, path + query, body, ctype


@st.composite
def hostile_import_lines(draw: st.DrawFn, victims: tuple[str, ...], count: int
                         ) -> list[tuple[str, bool]]:
    """CSV lines (without newline) for `consent import-suppressions`, and whether each is valid.

    Only per-line defects (the importer rejects the line and imports the rest); a line that
    breaks the table (misaligned, over-long) refuses the whole file and is tested on its own
    in `test_hostile_import_lookup`.
    """
    lines: list[tuple[str, bool]] = []
    for _ in range(count):
        victim = draw(st.sampled_from(victims))
        how = draw(st.sampled_from(("trick", "formula", "absurd_date", "future", "bad_scope",
                                    "naive_date")))
        if how == "trick":
            trick = draw(address_tricks(victim))
            if any(c in trick for c in "\r\n\x00\u2028\u2029\x85\x0b"):
                trick = f"x<{victim}"  # a line break would break the table, not the line
            quoted = trick.replace('"', '""')
            lines.append((f'"{quoted}",all,', False))
        elif how == "formula":
            lines.append((f"{draw(st.sampled_from('=+-@'))}cmd|{victim},all,", False))
        elif how == "absurd_date":
            lines.append((f"{victim},all,{draw(st.sampled_from(ABSURD_TIMES[:4]))}", False))
        elif how == "future":
            later = datetime.now(UTC) + timedelta(days=draw(st.integers(1, 3000)))
            lines.append((f"{victim},all,{later.isoformat(timespec='seconds')}", False))
        elif how == "bad_scope":
            lines.append((f"{victim},{draw(st.sampled_from(('everything', 'spam', 'transactional')))},",
                          False))
        else:
            lines.append((f"{victim},all,2025-06-01T10:00:00", False))
    return lines


# ------------------------------------------------------------------------------- webhooks

WEBHOOK_ROUTES = (("shop", "purchase"), ("helpdesk", "message"))
"""The ingest server's default sources and what each sends (`CONSENT_INGEST_SOURCES`)."""
REFUSED = frozenset({400, 422})
"""A signed delivery the endpoint cannot use: answered once its dead letter is kept."""


@dataclass(frozen=True)
class Webhook:
    """One delivery for the ingest server, signed with its source's secret by the caller, and
    the answers it may get. `pii` holds values that no log, reason or label may show."""

    source: str
    kind: str
    body: bytes
    case: str
    answers: frozenset[int]
    pii: tuple[str, ...] = ()


def _order(email: Any, name: str, marker: str) -> dict[str, Any]:
    return {"order": {"id": f"o-{marker}", "created_at": "2025-06-01T10:00:00+00:00",
                      "buyer_accepts_marketing": True,
                      "customer": {"email": email, "first_name": name, "last_name": "Hook"},
                      "billing_address": {"address1": f"{name} Lane 1", "city": "Utrecht",
                                          "country_code": "NL"}}}


def _ticket(email: Any, name: str, marker: str, via: Any = "email") -> dict[str, Any]:
    return {"ticket": {"id": f"t-{marker}", "via": via,
                       "requester": {"email": email, "name": name}},
            "comment": {"body": f"I am {name}; hello", "created_at": "2025-06-01T10:00:00Z"}}


@st.composite
def hostile_webhook(draw: st.DrawFn, cast: Cast, marker: str, nth: int | None = None
                    ) -> Webhook:
    """A signed delivery that is hostile in content: the signature is right, the payload is not.

    Nothing of it may crash the server (500), reach an input topic unless it is a valid event,
    go unrecorded when refused, put a value into a reason or a log line, or bring mail to a
    contact who opted out or was erased (the victims).
    """
    r = Round(draw, nth)
    source, kind = r.pick(WEBHOOK_ROUTES)
    how = r.pick(("victim_again", "address_trick", "wrong_type", "control_in_id", "bad_time",
                  "bad_choice", "not_json", "not_an_object", "too_deep", "oversized"))
    victim = draw(st.sampled_from(cast.victims))
    name = f"Hooky{marker}"
    pii = (name,)

    def shaped(email: Any) -> dict[str, Any]:
        return (_order(email, name, marker) if kind == "purchase"
                else _ticket(email, name, marker))

    answers = REFUSED
    if how == "victim_again":  # valid: a new purchase or ticket must not undo the objection
        doc: Any = shaped(draw(st.sampled_from((victim, victim.upper(), f" {victim} "))))
        answers = frozenset({200})
    elif how == "address_trick":
        doc = shaped(draw(address_tricks(victim)))
    elif how == "wrong_type":
        doc = shaped(victim)
        inner = doc["order"] if kind == "purchase" else doc["ticket"]
        field_name = draw(st.sampled_from(("id", "@email", "@self")))
        wrong = draw(st.sampled_from(tuple(w for w in WRONG_TYPES if not isinstance(w, int)
                                           or isinstance(w, bool))))
        if field_name == "id":
            inner["id"] = wrong if wrong not in ("", None) else []
        elif field_name == "@email":
            holder = inner["customer"] if kind == "purchase" else inner["requester"]
            holder["email"] = wrong if wrong != "" else []
        else:
            doc[next(iter(doc))] = draw(st.sampled_from(([], "x", 7, True)))
    elif how == "control_in_id":
        doc = shaped(victim)
        inner = doc["order"] if kind == "purchase" else doc["ticket"]
        inner["id"] = f"id{draw(st.sampled_from(CONTROLS))}{marker}"
    elif how == "bad_time":
        doc = shaped(victim)
        when = draw(st.sampled_from(tuple(t for t in ABSURD_TIMES if t not in (None, ""))))
        if kind == "purchase":
            doc["order"]["created_at"] = when
        else:
            doc["comment"]["created_at"] = when
    elif how == "bad_choice":
        doc = shaped(victim)
        if kind == "purchase":
            doc["order"]["buyer_accepts_marketing"] = draw(st.sampled_from(
                ("yes", "false", 1, 0, [], {})))
        else:
            doc["ticket"]["via"] = draw(st.sampled_from(("fax", "", "pigeon", "e-mail", 1, [])))
    elif how == "not_json":
        valid = json.dumps(shaped(victim)).encode()
        body = draw(st.sampled_from((valid[:-1], b"", b"\xff" + valid, valid + b"}",
                                     valid.replace(b'"', b"'"), b"\x00")))
        return Webhook(source, kind, body, f"{kind}:{how}", frozenset({400}), pii)
    elif how == "not_an_object":
        doc = draw(st.sampled_from(([shaped(victim)], "order", 42, None, [])))
    elif how == "too_deep":
        depth = draw(st.integers(40, 5_000))
        doc = shaped(victim)
        doc["x"] = json.loads('{"a":' * min(depth, 900) + "1" + "}" * min(depth, 900))
    else:  # oversized: refused before anything is read or written
        doc = shaped(victim)
        doc["pad"] = "x" * draw(st.integers(MAX_BODY_BYTES, MAX_BODY_BYTES * 3))
        answers = frozenset({413})
    return Webhook(source, kind, json.dumps(doc).encode(), f"{kind}:{how}", answers, pii)
