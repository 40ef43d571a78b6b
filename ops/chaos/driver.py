"""The traffic of a chaos run and its own record of what the broker acknowledged.

Every pair is: an opt-out through one channel, acknowledged by the broker (its delivery report),
then at once a mail request for the same contact and a purpose the opt-out covers. Around the
pairs flow controls (contacts who never opted out: their mail must go), repeats (later requests
to contacts who already opted out), background events of every type (`ops.traffic.Traffic`,
with its own ground truth) and bursts of hostile input. The record kept here — which request
was sent when, and whether an acknowledged opt-out already covered it — is what the verdict
judges the outputs against; it never asks the pipeline what it decided.
"""

import json
import logging
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaError, Message

from ops.chaos.plan import Plan
from ops.traffic import MALFORMED, OPT_OUT_TEXTS, SUBJECTS, Traffic
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from schemas.positions import position
from schemas.purposes import MARKETING_PURPOSES, Purpose
from schemas.unsubscribe_token import sign
from sources.producer import EventProducer, make_event

log = logging.getLogger("consent.chaos")

CHANNELS = ("preference-all", "preference-purpose", "support-text", "support-intent",
            "newsletter-all", "newsletter-purpose", "purchase-box", "erasure", "mis-keyed",
            "one-click")
"""Every way an opt-out reaches the pipeline; pair i uses CHANNELS[i % len(CHANNELS)]."""
ADDRESS_TRICKS = ("x<{}", "{0}(c)", "(c){0}", "x:{0}", "<>{0}")
"""Spellings of an opted-out address that once got a key of their own and were mailed."""
ALL = tuple(p.value for p in MARKETING_PURPOSES)


@dataclass
class Request:
    request_id: str
    contact_key: str
    purpose: str
    kind: str  # pair | control | repeat | background | hostile
    forbidden: bool  # an acknowledged opt-out (or erasure) covered it when it was sent
    acked_at: float = 0.0  # wall clock of the broker's acknowledgement


@dataclass
class OptOut:
    contact_key: str
    purposes: tuple[str, ...]
    erased: bool
    channel: str
    acked_at: float = 0.0


@dataclass
class Record:
    """What the driver sent, by what the outputs will name it."""

    requests: dict[str, Request] = field(default_factory=dict)
    # (partition, offset) in mail-requests → request id (None: hostile without a usable id)
    offsets: dict[tuple[int, int], str | None] = field(default_factory=dict)
    opt_outs: list[OptOut] = field(default_factory=list)
    unacknowledged: int = 0
    hostile_records: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Driver:
    def __init__(self, producer: EventProducer, secret: str, partitions: int, plan: Plan,
                 tag: str, unsubscribe_url: str | None) -> None:
        self.producer, self.secret, self.partitions = producer, secret, partitions
        self.plan, self.tag, self.unsubscribe_url = plan, tag, unsubscribe_url
        self.rng = random.Random(plan.seed)
        self.record = Record()
        self.background = Traffic(producer, seed=plan.seed, source_prefix=f"chaos-{tag}")
        self._background_next = 0
        self._n = 0
        self.pairs_sent = 0
        self.opted: list[tuple[str, tuple[str, ...]]] = []  # (email, purposes) acknowledged

    # ------------------------------------------------------------------------------ contacts

    def pair_email(self, i: int) -> str:
        return f"pair{i}.{self.tag}@example.com"

    def control_email(self, i: int) -> str:
        return f"ctl{i}.{self.tag}@example.org"

    def controls(self) -> int:
        return max(20, self.plan.pairs // 10)

    def establish(self) -> None:
        """Every pair and control contact buys once (a relationship, nothing withdrawn), and a
        first slice of background contacts goes through every event type."""
        for i in range(self.plan.pairs):
            self._purchase(self.pair_email(i), opt_out=False)
        for i in range(self.controls()):
            self._purchase(self.control_email(i), opt_out=False)
        self.producer.flush(120)
        self._background(max(50, self.plan.pairs // 20))

    def _purchase(self, email: str, *, opt_out: bool) -> None:
        self.producer.send(make_event("purchase.completed", {
            "order_id": f"O-{self.tag}-{self._next()}", "email": email, "name": "Chaos Test",
            "marketing_opt_out": opt_out}, source="chaos-shop"))

    def _background(self, contacts: int) -> None:
        lo = self._background_next
        self.background.establish_range(lo, lo + contacts)  # flushes: its truth is acknowledged
        self._background_next += contacts

    def _next(self) -> int:
        self._n += 1
        return self._n

    # ------------------------------------------------------------------------------ opt-outs

    def _opt_out(self, i: int, email: str) -> tuple[str, str]:
        """Send pair i's opt-out; return (channel, the purpose its request will ask for)."""
        channel = CHANNELS[i % len(CHANNELS)]
        purpose = self.rng.choice(ALL)
        purposes: tuple[str, ...] = ALL
        erased = False
        data: dict[str, Any]
        if channel == "preference-all":
            self._send("preference.changed", {"email": email, "all": "withdrawn"}, channel)
        elif channel == "preference-purpose":
            purposes = (purpose,)
            self._send("preference.changed", {"email": email, "changes": {purpose: "withdrawn"}},
                       channel)
        elif channel == "support-text":
            data = {"ticket_id": f"T-{self.tag}-{i}", "email": email, "channel": "email",
                    "text": OPT_OUT_TEXTS[i % len(OPT_OUT_TEXTS)]}
            self._send("support.message_received", data, channel)
        elif channel == "support-intent":
            data = {"ticket_id": f"T-{self.tag}-{i}", "email": email, "channel": "phone",
                    "text": "Customer asked by phone not to be contacted.", "intent": "opt_out"}
            self._send("support.message_received", data, channel)
        elif channel == "newsletter-all":
            self._send("newsletter.unsubscribed", {"email": email, "scope": "all"}, channel)
        elif channel == "newsletter-purpose":
            purpose, purposes = Purpose.NEWSLETTER.value, (Purpose.NEWSLETTER.value,)
            self._send("newsletter.unsubscribed", {"email": email, "scope": "newsletter"}, channel)
        elif channel == "purchase-box":
            self._purchase(email, opt_out=True)
        elif channel == "erasure":
            erased = True
            self._send("contact.erasure_requested",
                       {"email": email, "request_ref": f"DSR-{self.tag}-{i}"}, channel)
        elif channel == "mis-keyed":
            event = make_event("preference.changed", {"email": email, "all": "withdrawn"},
                               source=f"chaos-{channel}")
            self.producer.send_raw("preferences", self._wrong_key(email),
                                   json.dumps(event).encode())
        else:  # one-click: the endpoint answers 200 only after the broker's acknowledgement
            purposes = (purpose,)
            if self.unsubscribe_url is None:
                self._send("preference.changed",
                           {"email": email, "changes": {purpose: "withdrawn"}}, channel)
            else:
                self._one_click(email, purpose)
        key = contact_key(email, self.secret)
        self.record.opt_outs.append(OptOut(key, purposes, erased, channel))
        self.opted.append((email, ALL if erased else purposes))
        return channel, purpose

    def _send(self, event_type: str, data: dict[str, Any], channel: str) -> None:
        self.producer.send(make_event(event_type, data, source=f"chaos-{channel}"))

    def _wrong_key(self, email: str) -> bytes:
        home = partition_for(contact_key(email, self.secret).encode(), self.partitions)
        while True:
            key = f"wrong-{self.rng.random()}".encode()
            if partition_for(key, self.partitions) != home:
                return key

    def _one_click(self, email: str, purpose: str) -> None:
        token = sign(contact_key(email, self.secret), purpose, self.secret,
                     ttl=timedelta(days=1))
        req = urllib.request.Request(  # noqa: S310 - the run's own http://127.0.0.1 endpoint
            f"{self.unsubscribe_url}?token={token}", data=b"List-Unsubscribe=One-Click",
            method="POST")
        for attempt in range(30):  # 503: not acknowledged in time (a broker away): try again
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                    if resp.status == 200:
                        return
            except OSError as exc:
                log.debug("one-click attempt %d failed: %s", attempt, exc)
            time.sleep(1)
        raise RuntimeError("the one-click endpoint never acknowledged an unsubscribe")

    # ------------------------------------------------------------------------------ requests

    def _on_request(self, request_id: str | None) -> Any:
        def done(err: KafkaError | None, msg: Message) -> None:
            now = time.time()
            with self.record.lock:
                if err is not None:
                    self.record.unacknowledged += 1
                    if request_id is not None:
                        self.record.requests.pop(request_id, None)
                    return
                _topic, partition, offset = position(msg)
                self.record.offsets[(partition, offset)] = request_id
                if request_id is not None and request_id in self.record.requests:
                    self.record.requests[request_id].acked_at = now
        return done

    def request(self, email: str, purpose: str, kind: str, forbidden: bool) -> str:
        rid = f"chaos-{self.tag}-{self._next()}"
        with self.record.lock:
            self.record.requests[rid] = Request(rid, contact_key(email, self.secret), purpose,
                                                kind, forbidden)
        subject = SUBJECTS.get(Purpose(purpose), "Hello")
        self.producer.send(make_event("mail.requested", {
            "request_id": rid, "email": email, "purpose": purpose, "subject": subject,
            "body": "Hello,\n\nA message from the chaos run.\n", "campaign": f"chaos-{self.tag}"},
            source="chaos-crm"), on_delivery=self._on_request(rid))
        return rid

    def hostile(self) -> None:
        """Malformed records on every input, and requests for an opted-out contact spelled so
        that a careless parser would give them a key of their own."""
        for topic, raw in MALFORMED:
            if topic == "mail-requests":
                self.producer.send_raw(topic, b"bad-key", raw, on_delivery=self._on_request(None))
            else:
                self.producer.send_raw(topic, b"bad-key", raw)
            self.record.hostile_records += 1
        if not self.opted:
            return
        victim, purposes = self.opted[self.rng.randrange(len(self.opted))]
        for trick in ADDRESS_TRICKS:
            rid = f"chaos-{self.tag}-{self._next()}"
            with self.record.lock:
                self.record.requests[rid] = Request(rid, contact_key(victim, self.secret),
                                                    purposes[0], "hostile", True)
            event = make_event("mail.requested", {
                "request_id": rid, "email": trick.format(victim), "purpose": purposes[0],
                "subject": "s", "body": "b"}, source="chaos-crm")
            self.producer.send_raw("mail-requests", contact_key(victim, self.secret).encode(),
                                   json.dumps(event).encode(), on_delivery=self._on_request(rid))
            self.record.hostile_records += 1

    # ------------------------------------------------------------------------------ a wave

    def wave(self, wave_no: int) -> None:
        """`batch` pairs: their opt-outs acknowledged first, then at once their requests, with
        controls, repeats, background events and now and then hostile input."""
        lo = self.pairs_sent
        hi = min(self.plan.pairs, lo + self.plan.batch)
        asked = [(self.pair_email(i), *self._opt_out(i, self.pair_email(i))) for i in range(lo, hi)]
        self.producer.flush(120)  # acknowledged: from here on each of these must win
        acked = time.time()
        for o in self.record.opt_outs[-len(asked):]:
            o.acked_at = acked
        for email, _channel, purpose in asked:
            self.request(email, purpose, "pair", True)
        for _ in range(max(1, len(asked) // 5)):
            c = self.control_email(self.rng.randrange(self.controls()))
            self.request(c, Purpose.SPECIAL_OFFERS.value, "control", False)
        for _ in range(max(1, len(asked) // 10)):
            email, purposes = self.opted[self.rng.randrange(len(self.opted))]
            self.request(email, self.rng.choice(purposes), "repeat", True)
        self._background_requests(max(1, len(asked) // 10))
        if wave_no % self.plan.hostile_every == 0:
            self.hostile()
        self.producer.flush(120)
        self.pairs_sent = hi
        self._background(max(2, len(asked) // 10))

    def _background_requests(self, n: int) -> None:
        if self._background_next == 0:
            return
        for _ in range(n):
            email = self.background.email(self.rng.randrange(self._background_next))
            purpose = self.rng.choice(ALL)
            self.request(email, purpose, "background",
                         self.background.truth.forbidden(email, purpose))

    def background_opt_outs(self) -> list[OptOut]:
        """The background traffic's acknowledged opt-outs, for the lost-change check."""
        truth = self.background.truth
        out = [OptOut(contact_key(e, self.secret), ALL, False, "background")
               for e in truth.opted_out_all - truth.erased]
        out += [OptOut(contact_key(e, self.secret), (p,), False, "background")
                for e, p in truth.withdrawn if e not in truth.erased
                and e not in truth.opted_out_all]
        out += [OptOut(contact_key(e, self.secret), ALL, True, "background")
                for e in truth.erased]
        return out
