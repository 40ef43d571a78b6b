"""The product's guarantees under load and crashes (DESIGN.md, "Semantics that make it trustworthy").

1. An opt-out acknowledged by the broker suppresses every mail request appended after it,
   whichever input topic carried it, under load and across a worker crash.
4. Every mail request is accounted for exactly once; the mailer sends each request id once.
"""

import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from sinks.settings import SinkSettings
from sources.producer import make_event
from streams.worker import CRASH_EXIT_CODE
from tests.integration.harness import Pipeline

pytestmark = pytest.mark.integration

PAIRS = 2000
CONTROLS = 400


def _opt_out(rng: random.Random, email: str) -> dict:
    how = rng.randrange(4)
    if how == 0:
        return make_event("preference.changed", {"email": email, "all": "withdrawn"},
                          source="preference-centre")
    if how == 1:
        return make_event("newsletter.unsubscribed", {"email": email, "scope": "all"},
                          source="newsletter")
    if how == 2:
        return make_event("support.message_received", {
            "ticket_id": uuid.uuid4().hex[:8], "email": email, "channel": "email",
            "text": "Please stop emailing me."}, source="helpdesk")
    return make_event("support.message_received", {
        "ticket_id": uuid.uuid4().hex[:8], "email": email, "channel": "phone", "text": "",
        "intent": "opt_out"}, source="helpdesk")


def _request(email: str, rid: str, purpose: str) -> dict:
    return make_event("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                                         "subject": "Offer", "body": "Hello"}, source="crm")


def _drive_pairs(p: Pipeline, tag: str, pairs: int, controls: int, chunk: int,
                 between_chunks: Callable[[int], None] | None = None
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """Opt-out → ack → mail request, for `pairs` contacts; plus requests to consenting controls.

    Returns request id → email for the opted-out pairs, and for the controls.
    """
    rng = random.Random(tag)
    emails = [f"race-{tag}-{i}@example.com" for i in range(pairs + controls)]
    for e in emails:
        p.producer.send(make_event("purchase.completed", {"order_id": e, "email": e, "name": "R"},
                                   source="shop"))
    p.producer.flush()
    purposes = ["product_updates", "special_offers", "support_notices", "new_products",
                "newsletter"]
    opted: dict[str, str] = {}
    control: dict[str, str] = {}
    for n, lo in enumerate(range(0, pairs, chunk)):
        batch = emails[lo:lo + chunk]
        for e in batch:
            p.producer.send(_opt_out(rng, e))
        p.producer.flush()  # acknowledged by the broker: from here on they must win
        for e in batch:
            rid = f"{tag}-{uuid.uuid4().hex[:12]}"
            opted[rid] = e
            p.producer.send(_request(e, rid, rng.choice(purposes)))
        for e in rng.sample(emails[pairs:], k=max(1, controls * len(batch) // pairs)):
            rid = f"{tag}-c-{uuid.uuid4().hex[:12]}"
            control[rid] = e
            p.producer.send(_request(e, rid, rng.choice(purposes)))
        p.producer.flush()
        if between_chunks is not None:
            between_chunks(n)
    return opted, control


def _decisions(p: Pipeline, tag: str, expected: int, timeout: float = 300.0
               ) -> dict[str, tuple[str, str | None]]:
    rows = p.wait_rows("SELECT request_id, outcome, reason FROM mail_decisions "
                       "WHERE request_id LIKE %s", f"{tag}-%", count=expected, timeout=timeout)
    return {r[0]: (r[1], r[2]) for r in rows}


def _assert_no_leaks(p: Pipeline, opted: dict[str, str], control: dict[str, str],
                     decided: dict[str, tuple[str, str | None]], mailer_kills: int = 0) -> None:
    assert set(decided) == set(opted) | set(control), "every request decided, none invented"
    leaked = [rid for rid in opted if decided[rid][0] != "suppressed"]
    assert leaked == [], f"{len(leaked)} requests after an acknowledged opt-out were forwarded"
    assert Counter(decided[r][1] for r in opted) == Counter({"opted_out": len(opted)})
    # the filter is not simply suppressing everything: consenting controls get their mail
    assert all(decided[rid] == ("forwarded", None) for rid in control)
    # A mailer killed mid-send leaves the requests in flight claimed as 'sending': they are
    # never retried (at most once), so per mailer kill at most as many controls as it has SMTP
    # connections (CONSENT_MAILER_CONCURRENCY, default 8) may stay unmailed.
    # 'sending' is also the state of a mail whose SMTP transaction is under way: wait for the
    # in-flight ones to finish before counting what a kill left behind
    allowed = mailer_kills * SinkSettings().mailer_concurrency
    pattern = f"{next(iter(control)).rsplit('-', 1)[0]}-%"
    deadline = time.monotonic() + 120
    while True:
        settled = p.wait_rows("SELECT request_id, state FROM mail_sends WHERE request_id LIKE %s",
                              pattern, count=len(control), timeout=120)
        uncertain = {rid for rid, state in settled if state == "sending"}
        if len(uncertain) <= allowed or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(uncertain) <= allowed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = Counter(m["X-Request-ID"] for m in p.smtp.mailbox.snapshot())
        if all(got[rid] >= 1 for rid in control if rid not in uncertain):
            break
        time.sleep(0.5)
    got = Counter(m["X-Request-ID"] for m in p.smtp.mailbox.snapshot())
    assert max(got.values()) == 1, "no request mailed twice"
    assert all(got[rid] == 1 for rid in control if rid not in uncertain)
    assert not any(got[rid] for rid in opted), "no opted-out contact reached SMTP"


def test_acknowledged_opt_out_always_wins_under_load(pipeline: Pipeline):
    tag = f"load{uuid.uuid4().hex[:6]}"
    opted, control = _drive_pairs(pipeline, tag, PAIRS, CONTROLS, chunk=200)
    decided = _decisions(pipeline, tag, len(opted) + len(control))
    _assert_no_leaks(pipeline, opted, control, decided)
    print(f"\nopt-out-then-send pairs: {len(opted)}, leaks: 0, controls mailed: {len(control)}")


def test_worker_crash_loses_nothing_and_sends_nothing_twice(
    make_pipeline: Callable[..., Pipeline]
):
    p = make_pipeline()
    tag = f"crash{uuid.uuid4().hex[:6]}"
    crashes = []

    def crash_worker(n: int) -> None:
        if n in (2, 5):  # SIGKILL mid-stream, as a power cut would; then restart
            p.procs.running["worker"].kill()
            crashes.append(n)
            p.procs.start("worker", "worker")
        if n == 3:
            p.procs.running["mailer"].kill()
            p.procs.start("mailer", "sink", "mailer")
        if n == 4:  # the sink resumes from the position stored with its rows
            p.procs.running["postgres-sink"].kill()
            p.procs.start("postgres-sink", "sink", "postgres")

    opted, control = _drive_pairs(p, tag, 1000, 300, chunk=100, between_chunks=crash_worker)
    assert crashes == [2, 5]
    decided = _decisions(p, tag, len(opted) + len(control))
    _assert_no_leaks(p, opted, control, decided, mailer_kills=1)


def test_a_dead_filter_reader_ends_the_filter_and_its_restart_loses_nothing(
    make_pipeline: Callable[..., Pipeline]
):
    """The send filter's reader process (streams/filter/reader.py) killed mid-stream: the filter
    exits with code 70 instead of waiting for ever, and after its restart every request is
    decided once, nobody opted out is mailed, nothing is mailed twice."""
    p = make_pipeline()
    tag = f"reader{uuid.uuid4().hex[:6]}"
    exits: list[int | None] = []

    def kill_reader(n: int) -> None:
        if n != 2:
            return
        flt = p.procs.running["filter"].proc
        children_of = Path(f"/proc/{flt.pid}/task/{flt.pid}/children")
        deadline = time.monotonic() + 60  # the reader starts once the filter's checks passed
        while not (children := children_of.read_text().split()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children) == 1, "the filter runs one reader process"
        os.kill(int(children[0]), signal.SIGKILL)
        try:
            exits.append(flt.wait(30))
        except subprocess.TimeoutExpired:
            exits.append(None)
        p.procs.start("filter", "filter")

    opted, control = _drive_pairs(p, tag, 600, 200, chunk=100, between_chunks=kill_reader)
    assert exits == [CRASH_EXIT_CODE], "the filter exits for its supervisor when its reader dies"
    decided = _decisions(p, tag, len(opted) + len(control))
    _assert_no_leaks(p, opted, control, decided)
