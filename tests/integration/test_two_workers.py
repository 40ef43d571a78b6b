"""Two consent agents in one group (issue 11, item 4): one is killed, the other takes over its
partitions, restores their state from consent-state, and its decisions stay correct."""

import re
import uuid

import pytest

from ops.supervisor import wait_until
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def test_the_surviving_worker_takes_over_restores_and_decides_correctly(make_pipeline):
    p: Pipeline = make_pipeline(components=("filter", "postgres"),
                                extra_env={"CONSENT_SESSION_TIMEOUT_S": "6"})
    # each on a disk of its own, as on two machines: the survivor must restore from the topic
    base = p.deployment.data_dir
    a = p.procs.start("worker-a", "worker", env={"CONSENT_DATA_DIR": str(base / "a")})
    tag = uuid.uuid4().hex[:8]
    secret = p.stream_settings.key_secret.get_secret_value()
    partitions = p.stream_settings.partitions
    emails = [f"tw{i}-{tag}@example.com" for i in range(120)]
    for e in emails:  # every partition holds contacts, so both agents own state
        p.producer.send(p.producer_event("purchase.completed",
                                         {"order_id": e, "email": e, "name": "W"}))
    p.producer.flush()
    owned = {p_ for e in emails for p_ in [partition_for(contact_key(e, secret).encode(),
                                                            partitions)]}
    assert owned == set(range(partitions))
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": emails[0], "purpose": "newsletter",
                              "subject": "s", "body": "b"})
    assert p.decision(rid)[:2] == ("forwarded", None)
    # a holds the state of every contact; b joins (a rebalance), then a dies
    b = p.procs.start("worker-b", "worker", env={"CONSENT_DATA_DIR": str(base / "b")})
    wait_until(lambda: "restored" in b.log_path.read_text(), 60, "b's first assignment",
               check=p.procs.check_alive)
    a.kill()  # SIGKILL: its partitions move to b after the session times out
    p.procs.running.pop("worker-a")
    opted = emails[::2]
    for e in opted:
        p.producer.send(p.producer_event("preference.changed", {"email": e, "all": "withdrawn"}))
    p.producer.flush()
    rids = {}
    for e in emails:
        r = unique_request()
        rids[r] = e
        p.producer.send(p.producer_event("mail.requested", {
            "request_id": r, "email": e, "purpose": "special_offers", "subject": "s",
            "body": "b"}))
    p.producer.flush()
    decided = {r: p.decision(r, timeout=120)[:2] for r in rids}
    wrong = [r for r, d in decided.items()
             if d != (("suppressed", "opted_out") if rids[r] in opted else ("forwarded", None))]
    assert wrong == []
    assert b.proc.poll() is None
    restored = [int(n) for n in re.findall(r"restored (\d+) consent states",
                                           b.log_path.read_text())]
    # b never saw those contacts' events: what it holds, it read back from consent-state
    assert restored[-1] >= len(emails) - 10, f"the survivor restored {restored}"
