"""Realistic synthetic traffic with its own ground truth, for the demo, tests and benchmarks.

The ground truth is deliberately independent of `streams.decisions`: it only records which
opt-outs the broker had acknowledged before each mail request was sent, so "mails that reached
an opted-out contact" is counted without trusting the code under test.
"""

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from schemas.purposes import MARKETING_PURPOSES, Purpose
from sources.producer import make_event

FIRST = ["anna", "bram", "chloe", "daan", "emma", "felix", "greta", "hugo", "ines", "jan", "karin",
         "lucas", "mila", "noah", "olga", "pablo", "quinn", "rosa", "sven", "tess", "umar", "vera"]
LAST = ["jansen", "muller", "dubois", "garcia", "smith", "devries", "martin", "lopez", "schmidt",
        "bakker", "bernard", "fernandez", "weber", "visser", "moreau", "brown"]
DOMAINS = ["example.com", "example.nl", "example.de", "example.fr", "example.es", "bücher.example"]

OPT_OUT_TEXTS = [
    "Hi, please stop emailing me. Thanks, J.",
    "Unsubscribe me from all your mailings please",
    "Please remove me from your mailing list",
    "Ik wil geen mails meer ontvangen, graag afmelden.",
    "Haal mij van de lijst aub",
    "Merci de me désabonner de vos e-mails.",
    "Désinscrivez-moi s'il vous plaît",
    "Bitte keine Werbung mehr an diese Adresse.",
    "Bitte melden Sie mich vom Newsletter ab.",
    "Por favor, darme de baja de sus correos.",
    "Quiero darme de baja, no quiero recibir más correos",
]
ORDINARY_TEXTS = [
    "My licence key does not work after reinstalling.",
    "Please email me the invoice again, I lost it.",
    "Can I move my licence to a new laptop?",
    "The installer stops at 80%, what can I do?",
    "Hoe kan ik mijn licentie verlengen?",
    "Je n'arrive pas à activer le logiciel.",
    "Wo finde ich meine Rechnung?",
    "¿Pueden enviarme el enlace de descarga otra vez?",
    "We would like a quote for 25 seats.",
]
SUBJECTS = {
    Purpose.PRODUCT_UPDATES: "What's new in version 8.2",
    Purpose.SPECIAL_OFFERS: "30% off upgrades this week",
    Purpose.SUPPORT_NOTICES: "Scheduled maintenance on Sunday",
    Purpose.NEW_PRODUCTS: "Introducing our new backup tool",
    Purpose.NEWSLETTER: "Monthly newsletter",
    Purpose.TRANSACTIONAL: "Your licence key",
}
PURPOSE_WEIGHTS: dict[Purpose, int] = {Purpose.PRODUCT_UPDATES: 20, Purpose.SPECIAL_OFFERS: 20,
                   Purpose.SUPPORT_NOTICES: 10, Purpose.NEW_PRODUCTS: 15, Purpose.NEWSLETTER: 20,
                   Purpose.TRANSACTIONAL: 15}

MALFORMED: list[tuple[str, bytes]] = [
    ("purchases", b"{this is not json"),
    ("support", b'{"type": "support.message_received", "schema_version": "1.0"}'),
    ("newsletter", b'{"event_id": "00000000-0000-4000-8000-000000000000", "type": '
                   b'"newsletter.exploded", "schema_version": "1.0", "occurred_at": '
                   b'"2026-01-01T00:00:00Z", "source": "x", "data": {}}'),
    ("preferences", b'{"event_id": "00000000-0000-4000-8000-000000000001", "type": '
                    b'"preference.changed", "schema_version": "3.0", "occurred_at": '
                    b'"2026-01-01T00:00:00Z", "source": "x", "data": {"email": "a@b.example"}}'),
    ("mail-requests", b"\xff\xfe not utf-8"),
    ("mail-requests", b'{"event_id": "00000000-0000-4000-8000-000000000002", "type": '
                      b'"mail.requested", "schema_version": "1.0", "occurred_at": '
                      b'"2026-01-01T00:00:00Z", "source": "crm", "data": {"request_id": "bad-1",'
                      b' "email": "not-an-address", "purpose": "special_offers", "subject": "s",'
                      b' "body": "b"}}'),
]


@dataclass
class Truth:
    """What the broker acknowledged: opt-outs per contact (global, or per purpose), erasures."""

    opted_out_all: set[str] = field(default_factory=set)
    withdrawn: set[tuple[str, str]] = field(default_factory=set)
    erased: set[str] = field(default_factory=set)

    def forbidden(self, email: str, purpose: str) -> bool:
        if email in self.erased:
            return True
        if purpose == Purpose.TRANSACTIONAL.value:
            return False
        return email in self.opted_out_all or (email, purpose) in self.withdrawn


class Sender(Protocol):
    """What traffic needs of a producer: `sources.producer.EventProducer`, or
    `ops.role_producers.RoleProducers` (each topic written by its own principal)."""

    def send(self, event: dict[str, Any]) -> str: ...
    def send_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None: ...
    def flush(self, timeout: float = 60.0) -> None: ...


@dataclass
class Traffic:
    producer: Sender
    seed: int = 7
    source_prefix: str = "demo"
    sent: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    malformed_requests: int = 0
    truth: Truth = field(default_factory=Truth)
    _pending: Truth = field(default_factory=Truth)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.clock = datetime.now(UTC) - timedelta(days=30)

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(1, 90))
        return self.clock

    def _send(self, event_type: str, data: dict[str, Any], source: str) -> None:
        self.producer.send(make_event(event_type, data, source=f"{self.source_prefix}-{source}",
                                      occurred_at=self._tick()))
        self.sent[event_type] += 1

    def email(self, i: int) -> str:
        r = random.Random(i * 7919 + self.seed)
        return f"{r.choice(FIRST)}.{r.choice(LAST)}{i}@{r.choice(DOMAINS)}"

    def stranger(self, i: int) -> str:
        return f"stranger{i}.{self.seed}@unknown.example"

    def acknowledge(self) -> None:
        """Flush: everything sent so far is acknowledged, so pending opt-outs become truth."""
        self.producer.flush()
        self.truth.opted_out_all |= self._pending.opted_out_all
        self.truth.withdrawn |= self._pending.withdrawn
        self.truth.erased |= self._pending.erased
        self._pending = Truth()

    # ------------------------------------------------------------------------------ phase 1

    def establish(self, contacts: int) -> None:
        self.establish_range(0, contacts)

    def establish_range(self, lo: int, hi: int) -> None:
        """Contacts lo..hi-1 buy, write to support or sign up; some opt out or are erased."""
        rng = self.rng
        for i in range(lo, hi):
            email = self.email(i)
            shown = email.upper() if rng.random() < 0.05 else email  # normalisation at work
            roll = rng.random()
            if roll < 0.55:
                opt_out = rng.random() < 0.08
                self._send("purchase.completed", {
                    "order_id": f"ORD-{self.seed}-{i}", "email": shown,
                    "name": email.split("@")[0].replace(".", " ").title(),
                    "country": rng.choice(["NL", "DE", "FR", "ES", "US"]),
                    "marketing_opt_out": opt_out}, "shop")
                if opt_out:
                    self._pending.opted_out_all.add(email)
            elif roll < 0.80:
                r2 = rng.random()
                intent = None
                if r2 < 0.10:
                    text = rng.choice(OPT_OUT_TEXTS)
                    self._pending.opted_out_all.add(email)
                elif r2 < 0.15:
                    text, intent = "Customer asked by phone not to be contacted.", "opt_out"
                    self._pending.opted_out_all.add(email)
                else:
                    text = rng.choice(ORDINARY_TEXTS)
                data: dict[str, Any] = {"ticket_id": f"T-{self.seed}-{i}", "email": shown,
                                        "channel": rng.choice(["email", "phone", "chat", "sales"]),
                                        "text": text}
                if intent:
                    data["intent"] = intent
                self._send("support.message_received", data, "helpdesk")
            else:
                token = uuid.uuid4().hex
                self._send("newsletter.signup", {"email": shown, "confirmation_token": token},
                           "newsletter")
                if rng.random() < 0.8:
                    self._send("newsletter.confirmed", {"email": email,
                                                        "confirmation_token": token}, "newsletter")
                r3 = rng.random()
                if r3 < 0.10:
                    self._send("newsletter.unsubscribed", {"email": email, "scope": "newsletter"},
                               "newsletter")
                    self._pending.withdrawn.add((email, Purpose.NEWSLETTER.value))
                elif r3 < 0.13:
                    self._send("newsletter.unsubscribed", {"email": email, "scope": "all"},
                               "newsletter")
                    self._pending.opted_out_all.add(email)
            if rng.random() < 0.05:
                purposes = rng.sample([p.value for p in MARKETING_PURPOSES], k=2)
                self._send("preference.changed", {"email": email,
                                                  "changes": dict.fromkeys(purposes, "withdrawn")},
                           "preference-centre")
                self._pending.withdrawn |= {(email, p) for p in purposes}
            if rng.random() < 0.02:
                self._send("contact.erasure_requested", {"email": email,
                                                         "request_ref": f"DSR-{self.seed}-{i}"},
                           "privacy-desk")
                self._pending.erased.add(email)
        self.acknowledge()

    def malformed(self) -> None:
        for topic, raw in MALFORMED:
            self.producer.send_raw(topic, b"bad-key", raw)
            self.sent["malformed"] += 1
            if topic == "mail-requests":
                self.requests += 1
                self.malformed_requests += 1
        self.producer.flush()

    # ------------------------------------------------------------------------------ phase 2

    def opt_out_live(self, email: str) -> None:
        """An opt-out through a randomly chosen channel; counts once acknowledged."""
        how = self.rng.randrange(3)
        if how == 0:
            self._send("preference.changed", {"email": email, "all": "withdrawn"},
                       "preference-centre")
        elif how == 1:
            self._send("support.message_received", {
                "ticket_id": f"T-live-{uuid.uuid4().hex[:8]}", "email": email, "channel": "email",
                "text": self.rng.choice(OPT_OUT_TEXTS)}, "helpdesk")
        else:
            self._send("newsletter.unsubscribed", {"email": email, "scope": "all"}, "newsletter")
        self._pending.opted_out_all.add(email)

    def mail_request(self, email: str, purpose: Purpose) -> None:
        self.requests += 1
        self._send("mail.requested", {
            "request_id": f"req-{self.seed}-{self.requests}", "email": email,
            "purpose": purpose.value, "subject": SUBJECTS[purpose],
            "body": "Hello,\n\nThis is a message from Example Software.\n",
            "campaign": f"{purpose.value}-2026-11"}, "crm")

    def mail_wave(self, contacts: int, requests: int, chunk: int = 250,
                  live_opt_out_share: float = 0.02) -> None:
        purposes = list(PURPOSE_WEIGHTS)
        weights = list(PURPOSE_WEIGHTS.values())
        done = 0
        while done < requests:
            fresh_opt_outs = []
            for _ in range(max(1, int(contacts * live_opt_out_share))):
                email = self.email(self.rng.randrange(contacts))
                if email not in self.truth.opted_out_all:
                    self.opt_out_live(email)
                    fresh_opt_outs.append(email)
            self.acknowledge()  # the opt-outs are acknowledged before the next requests
            n = min(chunk, requests - done)
            for j in range(n):
                if fresh_opt_outs and j < len(fresh_opt_outs):
                    email = fresh_opt_outs[j]  # the race: request right after an acked opt-out
                    purpose: Purpose = self.rng.choice(
                        [p for p in purposes if p != Purpose.TRANSACTIONAL])
                elif self.rng.random() < 0.05:
                    email, purpose = self.stranger(self.rng.randrange(10_000)), self.rng.choices(
                        purposes, weights)[0]
                else:
                    email = self.email(self.rng.randrange(contacts))
                    purpose = self.rng.choices(purposes, weights)[0]
                self.mail_request(email, purpose)
            done += n
            self.producer.flush()
