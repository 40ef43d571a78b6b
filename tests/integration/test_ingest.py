"""Webhook ingestion end to end: signed HTTP deliveries into a real, secured pipeline.

The server runs as its own process (`consent ingest-server`) as the `ingest` principal, with
the signing secrets its deployment generated, as `make up` runs it. The test plays the
e-commerce provider and the support desk over real HTTP, and reads what the pipeline decided.
"""

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from ops.smtp_capture import free_port
from ops.supervisor import Component
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from sources.ingest.events import event_id_for
from sources.ingest.signature import sign
from sources.settings import secret_bytes
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


@dataclass
class Response:
    status: int
    body: dict[str, Any]


def http(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30.0) -> Response:
    req = urllib.request.Request(url, data=body, method=method,  # noqa: S310 - test-local URL
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            text = resp.read().decode()
            return Response(resp.status, json.loads(text) if text.startswith("{") else {})
    except urllib.error.HTTPError as err:
        with err:
            text = err.read().decode()
            return Response(err.code, json.loads(text) if text.startswith("{") else {})


def _start_server(p: Pipeline, name: str, port: int) -> Component:
    comp = p.procs.start(name, "ingest-server", "--host", "127.0.0.1", "--port", str(port))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        comp.check_alive()
        try:
            if http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return comp
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{name} did not become ready on port {port}")


@dataclass
class Ingest:
    pipeline: Pipeline
    base: str
    server: Component

    def post(self, source: str, kind: str, doc: Any, *, delivery: str | None = None,
             secret: str | None = None, headers: dict[str, str] | None = None) -> Response:
        """POST `doc` signed as `source` would sign it (or with `headers` as given)."""
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        if headers is None:
            delivery = delivery or f"msg_{uuid.uuid4().hex}"
            ts = int(time.time())
            key = secret_bytes(secret or self.pipeline.deployment.ingest_secrets[source])
            headers = {"webhook-id": delivery, "webhook-timestamp": str(ts),
                       "webhook-signature": sign(key, delivery, ts, body)}
        return http("POST", f"{self.base}/webhooks/{source}/{kind}", body,
                    {"Content-Type": "application/json", **headers})


@pytest.fixture(scope="module")
def ingest(make_pipeline: Callable[..., Pipeline]) -> Iterator[Ingest]:
    p = make_pipeline()
    port = free_port()
    yield Ingest(p, f"http://127.0.0.1:{port}", _start_server(p, "ingest", port))


def _request(p: Pipeline, email: str, purpose: str = "special_offers") -> str:
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                              "subject": "Offer", "body": "Hello"}, source="crm")
    return rid


def _order(email: str, order_id: str) -> dict[str, Any]:
    """A provider's order notification (`sources.ingest.mapping`, table 1)."""
    return {"order": {
        "id": order_id, "created_at": "2025-06-01T10:00:00+00:00", "buyer_accepts_marketing": True,
        "customer": {"email": email, "first_name": "Wendy", "last_name": "Hook"},
        "billing_address": {"company": "Hook BV", "address1": "Kade 1", "city": "Utrecht",
                            "country_code": "NL"},
        "line_items": [{"sku": "LIC-1", "price": "99.00"}]}}


def _all_values(p: Pipeline, topic: str) -> list[bytes]:
    """Every record value in one of the pipeline's topics, read up to its end offsets.

    Assigned partitions and watermarks rather than a group and a quiet period, so "nothing
    there" means nothing, not "nothing yet".
    """
    name = f"{p.prefix}{topic}"
    c = Consumer(p.kafka(**{"group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False,
                            "isolation.level": "read_uncommitted"}))
    try:
        parts = sorted(c.list_topics(name, timeout=15).topics[name].partitions)
        ends = {i: c.get_watermark_offsets(TopicPartition(name, i), timeout=15)[1] for i in parts}
        c.assign([TopicPartition(name, i, OFFSET_BEGINNING) for i in parts if ends[i] > 0])
        seen = {i: 0 for i in parts if ends[i] > 0}
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while any(seen[i] < ends[i] for i in seen):
            assert time.monotonic() < deadline, f"could not read {name} to its end"
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            seen[m.partition()] = m.offset() + 1
            values.append(m.value() or b"")
        return values
    finally:
        c.close()


def _dead_letters(p: Pipeline) -> list[dict[str, Any]]:
    return [json.loads(v) for v in _all_values(p, "dead-letters")]


def test_signed_purchase_and_support_webhooks_decide_later_mail(ingest: Ingest, email: str):
    """A purchase webhook makes the contact mailable; a support message "please stop emailing
    me", once answered 200, suppresses the very next mail request."""
    p = ingest.pipeline
    key = contact_key(email, p.stream_settings.key_secret.get_secret_value())
    order_id = f"W-{uuid.uuid4().hex[:8]}"

    bought = ingest.post("shop", "purchase", _order(email.upper(), order_id),
                         delivery=f"order-{order_id}")
    assert bought.status == 200, bought.body
    assert bought.body["event_id"] == str(event_id_for("shop", f"order-{order_id}"))
    assert p.decision(_request(p, email))[:2] == ("forwarded", None)

    # the mapped purchase reached the worker and the sink as what we hold on the person
    assert p.wait_rows("SELECT name, company, country FROM contacts WHERE contact_key = %s",
                       key) == [("Wendy Hook", "Hook BV", "NL")]
    # keyed by the contact key, on the partition Kafka's murmur2 gives it
    events = [(m_key, m_part) for m_key, m_part in _keys_and_partitions(p, "purchases", order_id)]
    assert events == [(key.encode(), partition_for(key.encode(), p.stream_settings.partitions))]

    ticket = {"ticket": {"id": f"T-{order_id}", "via": "email", "requester": {"email": email}},
              "comment": {"body": "Hello, please stop emailing me. Thanks"}}
    said = ingest.post("helpdesk", "message", ticket, delivery=f"comment-{order_id}")
    assert said.status == 200, said.body
    # the 200 came after the broker's ack: the next request is decided after the opt-out
    outcome, reason, _rule, detected, _purpose = p.decision(_request(p, email))
    assert (outcome, reason, detected) == ("suppressed", "opted_out", True)

    # the desk retries the delivery (it never saw our answer): the same event, not a new one
    again = ingest.post("helpdesk", "message", ticket, delivery=f"comment-{order_id}")
    assert again.status == 200 and again.body["event_id"] == said.body["event_id"]
    on_topic = [json.loads(v) for v in _all_values(p, "support") if f"T-{order_id}".encode() in v]
    assert [e["event_id"] for e in on_topic] == [said.body["event_id"]] * 2
    assert p.wait_rows("SELECT DISTINCT source FROM consent_ledger WHERE contact_key = %s "
                       "AND event_id = %s", key, said.body["event_id"]) == [("helpdesk",)]


def _keys_and_partitions(p: Pipeline, topic: str, marker: str) -> list[tuple[bytes, int]]:
    name = f"{p.prefix}{topic}"
    c = Consumer(p.kafka(**{"group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False,
                            "auto.offset.reset": "earliest"}))
    c.subscribe([name])
    found: list[tuple[bytes, int]] = []
    deadline = time.monotonic() + 30
    try:
        while not found and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error() and marker.encode() in (m.value() or b""):
                found.append((m.key() or b"", m.partition()))
    finally:
        c.close()
    return found


def test_an_invalid_payload_from_a_signed_source_is_dead_lettered_without_its_values(
        ingest: Ingest, email: str):
    p = ingest.pipeline
    order_id = f"X-{uuid.uuid4().hex[:8]}"
    doc = {"order_id": order_id, "email": f"Wendy Hook <{email}>", "name": "Wendy Hook"}
    body = json.dumps(doc).encode()
    refused = ingest.post("shop", "purchase", body)
    assert refused.status == 422
    assert refused.body["kind"] == "invalid_fields" and "data.email" in refused.body["reason"]

    [letter] = [d for d in _dead_letters(p) if order_id.encode() in
                base64.b64decode(d.get("value_b64") or "")]
    assert base64.b64decode(letter["value_b64"]) == body  # the provider's bytes, as sent
    assert (letter["topic"], letter["partition"], letter["stage"], letter["kind"]) == (
        "/webhooks/shop/purchase", -1, "deserialization", "invalid_fields")
    assert letter["reason"] == refused.body["reason"]
    for value in (email, "Wendy", "Hook", order_id):
        assert value not in letter["reason"]
    # indexed by the PostgreSQL sink like any dead letter
    assert p.wait_rows('SELECT kind, reason FROM dead_letters WHERE topic = %s AND "offset" = %s',
                       letter["topic"], letter["offset"]) == [("invalid_fields",
                                                               letter["reason"])]
    # and nothing reached the purchases topic: the contact is still unknown
    assert not [v for v in _all_values(p, "purchases") if order_id.encode() in v]
    assert p.decision(_request(p, email))[:2] == ("suppressed", "no_relationship")


def test_unauthenticated_requests_are_refused_and_leave_nothing_on_any_topic(
        ingest: Ingest, email: str):
    p = ingest.pipeline
    order_id = f"U-{uuid.uuid4().hex[:8]}"
    doc = {"order_id": order_id, "email": email, "name": "Mallory"}
    body = json.dumps(doc).encode()
    stale_ts = int(time.time()) - 3600
    shop_key = secret_bytes(p.deployment.ingest_secrets["shop"])
    attempts = {
        "unsigned": ingest.post("shop", "purchase", body, headers={}),
        "wrong secret": ingest.post("shop", "purchase", body,
                                    secret="a-guessed-secret-of-more-than-24-bytes"),
        "helpdesk's secret on the shop": ingest.post(
            "shop", "purchase", body, secret=p.deployment.ingest_secrets["helpdesk"]),
        "replayed an hour later": ingest.post("shop", "purchase", body, headers={
            "webhook-id": "msg_old", "webhook-timestamp": str(stale_ts),
            "webhook-signature": sign(shop_key, "msg_old", stale_ts, body)}),
        "invalid and unsigned": ingest.post("shop", "purchase", b"{not json " + body, headers={}),
        "unknown source": ingest.post("eve", "purchase", body, secret="eve-secret-0123456789abcdef"),
    }
    assert {name: r.status for name, r in attempts.items()} == {
        "unsigned": 401, "wrong secret": 401, "helpdesk's secret on the shop": 401,
        "replayed an hour later": 401, "invalid and unsigned": 401, "unknown source": 404}

    # the server works: a signed delivery sent after them is accepted and stored
    fine = ingest.post("shop", "purchase", {**doc, "order_id": f"{order_id}-ok",
                                            "email": f"ok-{email}"})
    assert fine.status == 200
    for topic in ("purchases", "support", "dead-letters", "preferences", "mail-requests"):
        for value in _all_values(p, topic):
            kept = value
            if topic == "dead-letters":
                kept += base64.b64decode(json.loads(value).get("value_b64") or "")
            assert order_id.encode() + b'"' not in kept, topic  # the -ok one may be there
    assert p.decision(_request(p, email))[:2] == ("suppressed", "no_relationship")


def test_metrics_a_clean_log_and_a_clean_stop(ingest: Ingest, email: str):
    p = ingest.pipeline
    port = free_port()
    server = _start_server(p, "ingest-sigterm", port)
    local = Ingest(p, f"http://127.0.0.1:{port}", server)
    assert local.post("shop", "purchase", {"order_id": "M-1", "email": email,
                                           "name": "Metric Person"}).status == 200
    assert local.post("shop", "purchase", {"order_id": "M-2", "email": email}).status == 422
    assert local.post("shop", "purchase", b"{}", headers={}).status == 401
    with urllib.request.urlopen(f"{local.base}/metrics", timeout=10) as resp:  # noqa: S310
        metrics = resp.read().decode()
    for outcome in ("accepted", "invalid", "missing_signature"):
        assert f'consent_ingest_requests_total{{outcome="{outcome}",source="shop"}} 1.0' in metrics
    assert 'consent_ingest_ack_seconds_count{source="shop"} 1.0' in metrics
    assert server.stop(timeout=30) == 0
    log = server.log_path.read_text(errors="replace")
    assert "webhook ingestion stopped" in log
    assert '"route":"/webhooks/{source}/{kind}","status":200' in log
    assert email not in log and "Metric Person" not in log and "M-1" not in log
