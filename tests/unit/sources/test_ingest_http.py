"""Webhook ingestion's HTTP contract, with a fake acknowledged send (no broker).

The real path (signed webhook → broker → worker → a mail request forwarded or suppressed) is
tests/integration/test_ingest.py; here every route and every way a request can fail.
"""

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from schemas.contact import DEV_KEY_SECRET, contact_key
from schemas.envelope import parse_event
from schemas.events import PurchaseCompleted, SupportMessageReceived
from schemas.exceptions import ConsentError
from schemas.records import DeadLetter
from sources.ingest.app import MAX_BODY_BYTES, RUNNER_OPTIONS, build_app
from sources.ingest.events import event_id_for
from sources.ingest.signature import sign
from sources.settings import IngestSettings, secret_bytes

KEY_SECRET = "ingest-http-test-key-secret"
SHOP = "shop-signing-secret-0123456789abcdef"
HELPDESK = "whsec_" + base64.b64encode(b"helpdesk-signing-secret-0123456789").decode()
NOW = 1_750_000_000.0
EMAIL = "jane.doe@example.com"
KEY = contact_key(EMAIL, KEY_SECRET)
PURCHASE = {"order_id": "A-1001", "email": EMAIL, "name": "Jane Doe"}
MESSAGE = {"ticket_id": "T-7", "email": EMAIL, "channel": "email",
           "text": "please stop emailing me"}


def settings(**kw: Any) -> IngestSettings:
    base: dict[str, Any] = {
        "key_secret": SecretStr(KEY_SECRET), "topic_prefix": "unit-",
        "environment": "development", "ingest_ack_timeout_s": 2.0,
        "ingest_secrets": {"shop": SecretStr(SHOP), "helpdesk": SecretStr(HELPDESK)}}
    return IngestSettings(**{**base, **kw})


class FakeSend:
    """Records what was acknowledged; `gate` holds acks back, `fail` makes them fail."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def __call__(self, topic: str, key: bytes | None, value: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append((topic, key, value))

    def on(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


def signed(body: bytes, secret: str = SHOP, delivery: str = "msg_2xQ1", at: float = NOW
           ) -> dict[str, str]:
    ts = int(at)
    return {"webhook-id": delivery, "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret_bytes(secret), delivery, ts, body),
            "Content-Type": "application/json"}


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


Scenario = Callable[[TestClient], Awaitable[None]]


def with_client(app: web.Application, scenario: Scenario) -> None:
    async def main() -> None:
        server = TestServer(app)
        await server.start_server(**RUNNER_OPTIONS)  # the production access log
        async with TestClient(server) as client:
            await scenario(client)

    asyncio.run(main())


def app_with(send: FakeSend | None = None, **kw: Any) -> web.Application:
    return build_app(settings(**kw), send or FakeSend(), clock=lambda: NOW)


def post(app: web.Application, path: str, body: bytes, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], Any]:
    out: list[tuple[int, dict[str, str], Any]] = []

    async def scenario(client: TestClient) -> None:
        resp = await client.post(path, data=body, headers=headers or {})
        text = await resp.text()
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = text
        out.append((resp.status, dict(resp.headers), payload))

    with_client(app, scenario)
    return out[0]


# ------------------------------------------------------------------------- accepted events


def test_a_signed_purchase_is_published_keyed_by_contact_and_answered_200() -> None:
    send = FakeSend()
    body = raw({**PURCHASE, "occurred_at": "2025-06-01T10:00:00+00:00"})
    status, headers, answer = post(app_with(send), "/webhooks/shop/purchase", body, signed(body))
    assert status == 200, answer
    assert headers["Cache-Control"] == "no-store"
    [(key, value)] = send.on("unit-purchases")
    assert key == KEY.encode()
    event = parse_event(value, topic="purchases")
    assert isinstance(event, PurchaseCompleted)
    assert answer == {"status": "accepted", "event_id": str(event.event_id)}
    assert event.event_id == event_id_for("shop", "msg_2xQ1")
    assert event.source == "shop"
    assert event.occurred_at.isoformat() == "2025-06-01T10:00:00+00:00"
    assert (event.data.order_id, event.data.email, event.data.name) == ("A-1001", EMAIL,
                                                                       "Jane Doe")
    assert "occurred_at" not in (event.data.model_extra or {})
    assert send.on("unit-dead-letters") == []


def test_a_provider_order_is_mapped_to_purchase_data() -> None:
    send = FakeSend()
    order = {"order": {
        "id": 1001, "created_at": "2025-06-01T12:00:00+02:00", "buyer_accepts_marketing": False,
        "customer": {"email": "Jane.Doe@Example.com", "first_name": "Jane", "last_name": "Doe",
                     "phone": "+31 20 123 4567"},
        "billing_address": {"company": "Doe BV", "address1": "Main St 1", "zip": "1011 AB",
                            "city": "Amsterdam", "country_code": "NL"},
        "line_items": [{"sku": "LIC-1", "price": "99.00"}]}}
    body = raw(order)
    status, _h, _a = post(app_with(send), "/webhooks/shop/purchase", body, signed(body))
    assert status == 200
    [(key, value)] = send.on("unit-purchases")
    event = parse_event(value)
    assert key == KEY.encode()  # the address is normalised before it is keyed
    assert event.data.model_dump() == {
        "order_id": "1001", "email": EMAIL, "name": "Jane Doe", "company": "Doe BV",
        "phone": "+31 20 123 4567", "address": "Main St 1, 1011 AB, Amsterdam",
        "country": "NL", "marketing_opt_out": True}
    assert event.occurred_at.isoformat() == "2025-06-01T12:00:00+02:00"
    assert b"line_items" not in value and b"LIC-1" not in value  # not ours to hold


@pytest.mark.parametrize("body", [
    MESSAGE,
    {"ticket": {"id": 7, "via": "Web", "requester": {"email": EMAIL}},
     "comment": {"body": "please stop emailing me", "created_at": "2025-06-01T10:00:00Z"}},
])
def test_a_signed_support_message_is_published_on_support(body: dict[str, Any]) -> None:
    send = FakeSend()
    payload = raw(body)
    status, _h, answer = post(app_with(send), "/webhooks/helpdesk/message", payload,
                              signed(payload, HELPDESK))
    assert status == 200, answer
    [(key, value)] = send.on("unit-support")
    assert key == KEY.encode()
    event = parse_event(value, topic="support")
    assert isinstance(event, SupportMessageReceived)
    assert event.source == "helpdesk"
    assert event.data.channel == "email"
    assert event.data.text == "please stop emailing me"
    assert send.on("unit-purchases") == []


def test_without_an_event_time_the_receipt_time_is_used() -> None:
    send = FakeSend()
    body = raw(PURCHASE)
    assert post(app_with(send), "/webhooks/shop/purchase", body, signed(body))[0] == 200
    event = parse_event(send.sent[0][2])
    assert event.occurred_at.timestamp() == NOW


def test_a_retried_delivery_is_the_same_event_and_a_new_one_is_not() -> None:
    send = FakeSend()
    app = app_with(send)
    body = raw(PURCHASE)

    async def scenario(client: TestClient) -> None:
        for delivery, at in (("msg_1", NOW), ("msg_1", NOW + 60), ("msg_2", NOW)):
            resp = await client.post("/webhooks/shop/purchase", data=body,
                                     headers=signed(body, delivery=delivery, at=at))
            assert resp.status == 200

    with_client(app, scenario)
    ids = [parse_event(v).event_id for _k, v in send.on("unit-purchases")]
    assert ids[0] == ids[1] == event_id_for("shop", "msg_1")
    assert ids[2] == event_id_for("shop", "msg_2") != ids[0]
    assert event_id_for("helpdesk", "msg_1") != ids[0]  # delivery ids are per source


def test_success_is_answered_only_after_the_ack() -> None:
    send = FakeSend()
    send.gate = asyncio.Event()
    body = raw(PURCHASE)

    async def scenario(client: TestClient) -> None:
        assert send.gate is not None
        pending = asyncio.ensure_future(
            client.post("/webhooks/shop/purchase", data=body, headers=signed(body)))
        await asyncio.sleep(0.3)
        assert not pending.done()
        send.gate.set()
        assert (await asyncio.wait_for(pending, 5)).status == 200

    with_client(app_with(send), scenario)
    assert len(send.sent) == 1


# ------------------------------------------------------------- refused before being trusted


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_signature_header_is_401_and_nothing_is_written(drop: str) -> None:
    send = FakeSend()
    body = raw(PURCHASE)
    headers = {k: v for k, v in signed(body).items() if k != drop}
    status, _h, answer = post(app_with(send), "/webhooks/shop/purchase", body, headers)
    assert status == 401
    assert "missing" in answer["error"]
    assert send.sent == []


def _tampered(body: bytes) -> dict[str, str]:
    headers = signed(body)
    return {**headers, "webhook-signature": headers["webhook-signature"][:-6] + "AAAAA="}


@pytest.mark.parametrize(("path", "headers"), [
    ("/webhooks/shop/purchase", signed(raw(PURCHASE), "another-secret-of-thirty-two-chars!")),
    ("/webhooks/shop/purchase", signed(raw(PURCHASE), HELPDESK)),  # another source's secret
    ("/webhooks/helpdesk/message", signed(raw(PURCHASE), SHOP)),
    ("/webhooks/shop/purchase", signed(raw({**PURCHASE, "name": "Someone Else"}))),  # body changed
    ("/webhooks/shop/purchase", _tampered(raw(PURCHASE))),
    ("/webhooks/shop/purchase", {**signed(raw(PURCHASE)), "webhook-id": "msg_other"}),
    ("/webhooks/shop/purchase", {**signed(raw(PURCHASE)), "webhook-signature": "v1,not base64!"}),
    ("/webhooks/shop/purchase", {**signed(raw(PURCHASE)),
                                 "webhook-signature": "v2," + signed(raw(PURCHASE))
                                 ["webhook-signature"][3:]}),
    ("/webhooks/shop/purchase", {**signed(raw(PURCHASE)), "webhook-timestamp": "-5"}),
])
def test_a_bad_signature_is_401_and_nothing_is_written(path: str, headers: dict[str, str]
                                                       ) -> None:
    send = FakeSend()
    status, _h, answer = post(app_with(send), path, raw(PURCHASE), headers)
    assert status == 401
    assert answer["error"] in ("the signature does not match", "malformed signature headers")
    assert send.sent == []


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_timestamp_outside_the_tolerance_is_401(offset: int) -> None:
    send = FakeSend()
    body = raw(PURCHASE)
    status, _h, answer = post(app_with(send), "/webhooks/shop/purchase", body,
                              signed(body, at=NOW + offset))
    assert status == 401
    assert answer == {"error": "webhook-timestamp is outside the tolerance"}
    assert send.sent == []


def test_a_captured_request_replayed_with_a_fresh_timestamp_is_refused() -> None:
    """The timestamp is signed: changing it to pass the tolerance breaks the signature."""
    send = FakeSend()
    body = raw(PURCHASE)
    old = signed(body, at=NOW - 3600)
    status, _h, _a = post(app_with(send), "/webhooks/shop/purchase", body,
                          {**old, "webhook-timestamp": str(int(NOW))})
    assert status == 401
    assert send.sent == []


def test_the_tolerance_is_a_setting() -> None:
    body = raw(PURCHASE)
    app = app_with(ingest_timestamp_tolerance_s=3600)
    assert post(app, "/webhooks/shop/purchase", body, signed(body, at=NOW - 3000))[0] == 200


@pytest.mark.parametrize("path", [
    "/webhooks/eve/purchase",                 # not configured
    "/webhooks/jane.doe@example.com/purchase",  # anything at all, never echoed or counted
    "/webhooks/shop/message",                 # a configured source, but not what it sends
    "/webhooks/helpdesk/purchase",
    "/webhooks/marketplace/purchase",          # configured without a secret: not enabled
])
def test_an_unknown_source_is_404_and_nothing_is_written(path: str) -> None:
    send = FakeSend()
    app = app_with(send, ingest_sources={"shop": "purchase", "helpdesk": "message",
                                         "marketplace": "purchase"})
    body = raw(PURCHASE)
    status, _h, answer = post(app, path, body, signed(body))
    assert (status, answer) == (404, {"error": "unknown source"})
    assert send.sent == []


def test_an_oversized_body_is_413_and_nothing_is_written() -> None:
    send = FakeSend()
    body = raw({**PURCHASE, "padding": "x" * MAX_BODY_BYTES})
    status, _h, _a = post(app_with(send), "/webhooks/shop/purchase", body, signed(body))
    assert status == 413
    assert send.sent == []


def test_an_oversized_body_without_a_length_is_413_too() -> None:
    send = FakeSend()
    body = raw({**PURCHASE, "padding": "x" * MAX_BODY_BYTES})

    async def chunks() -> Any:
        for i in range(0, len(body), 16_384):
            yield body[i:i + 16_384]

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/webhooks/shop/purchase", data=chunks(), headers=signed(body))
        assert resp.status == 413

    with_client(app_with(send), scenario)
    assert send.sent == []


def test_a_declared_oversized_body_is_refused_without_waiting_for_it() -> None:
    """A caller announcing 10 MB gets its 413 at once: the server reads none of it (a slow
    sender cannot hold a connection open by trickling a body that will be refused anyway)."""
    send = FakeSend()
    answers: list[bytes] = []

    async def scenario(client: TestClient) -> None:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"POST /webhooks/shop/purchase HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{")
        await writer.drain()
        answers.append(await asyncio.wait_for(reader.readline(), 5))
        writer.close()
        await writer.wait_closed()

    with_client(app_with(send), scenario)
    assert answers == [b"HTTP/1.1 413 Request Entity Too Large\r\n"]
    assert send.sent == []


# ------------------------------------------------- authenticated, but not a usable payload


def _dead_letter(send: FakeSend) -> DeadLetter:
    [(key, value)] = send.on("unit-dead-letters")
    assert key is None
    return DeadLetter.model_validate_json(value)


@pytest.mark.parametrize(("body", "status", "kind"), [
    (b'{"order_id": "A-1", "email": "jane.doe@example.com", ', 400, "invalid_json"),
    (b"", 400, "invalid_json"),
    (b'["jane.doe@example.com"]', 400, "invalid_json"),
    (b'{"a": ' + b"[" * 20 + b'"jane.doe@example.com"' + b"]" * 20 + b"}", 400, "over_limit"),
])
def test_a_body_that_is_not_a_json_object_is_400_and_dead_lettered(body: bytes, status: int,
                                                                    kind: str) -> None:
    send = FakeSend()
    got, _h, answer = post(app_with(send), "/webhooks/shop/purchase", body, signed(body))
    assert got == status
    assert answer["kind"] == kind
    letter = _dead_letter(send)
    assert base64.b64decode(letter.value_b64 or "") == body
    assert (letter.kind, letter.stage, letter.topic, letter.partition) == (
        kind, "deserialization", "/webhooks/shop/purchase", -1)
    assert EMAIL not in letter.reason and EMAIL not in json.dumps(answer)
    assert send.on("unit-purchases") == []


@pytest.mark.parametrize(("path", "secret", "doc", "field"), [
    ("/webhooks/shop/purchase", SHOP, {**PURCHASE, "email": "Jane <jane.doe@example.com>"},
     "data.email"),
    ("/webhooks/shop/purchase", SHOP, {"email": EMAIL, "name": "Jane Doe"}, "data.order_id"),
    ("/webhooks/shop/purchase", SHOP, {**PURCHASE, "occurred_at": "1999-12-31T23:00:00+00:00"},
     "occurred_at"),
    ("/webhooks/shop/purchase", SHOP, {"order": {"id": True, "email": EMAIL}}, "order.id"),
    ("/webhooks/helpdesk/message", HELPDESK, {**MESSAGE, "channel": "jane.doe@example.com"},
     "data.channel"),
    ("/webhooks/helpdesk/message", HELPDESK,
     {"ticket": {"id": 7, "via": "jane.doe@example.com", "requester": {"email": EMAIL}}},
     "ticket.via"),
])
def test_invalid_fields_are_422_and_dead_lettered_without_their_values(
        path: str, secret: str, doc: dict[str, Any], field: str) -> None:
    send = FakeSend()
    body = raw(doc)
    status, _h, answer = post(app_with(send), path, body, signed(body, secret))
    assert status == 422, answer
    assert answer["kind"] == "invalid_fields"
    assert field in answer["reason"]
    letter = _dead_letter(send)
    assert base64.b64decode(letter.value_b64 or "") == body  # the original bytes, as sent
    assert letter.reason == answer["reason"]
    assert letter.topic == path and letter.offset >= 0
    for value in ("jane.doe", "Jane", "1999", "example.com"):
        assert value not in letter.reason and value not in answer["reason"]
    assert [t for t, _k, _v in send.sent] == ["unit-dead-letters"]


def test_a_retried_bad_delivery_keeps_its_dead_letter_position() -> None:
    """The PostgreSQL index keys dead letters by (topic, partition, offset): a retry of the same
    bad delivery lands on the same row; another bad delivery gets its own."""
    send = FakeSend()
    app = app_with(send)
    body, other = raw({"email": EMAIL}), raw({"email": "x@example.com"})

    async def scenario(client: TestClient) -> None:
        for b, delivery in ((body, "msg_1"), (body, "msg_1"), (other, "msg_2")):
            resp = await client.post("/webhooks/shop/purchase", data=b,
                                     headers=signed(b, delivery=delivery))
            assert resp.status == 422

    with_client(app, scenario)
    offsets = [DeadLetter.model_validate_json(v).offset for _k, v in send.on("unit-dead-letters")]
    assert offsets[0] == offsets[1] != offsets[2]


# ------------------------------------------------------------------------ broker trouble


def test_no_ack_in_time_is_503_with_retry_after() -> None:
    send = FakeSend()
    send.gate = asyncio.Event()  # never set: the broker never answers
    body = raw(PURCHASE)
    status, headers, answer = post(app_with(send, ingest_ack_timeout_s=0.2),
                                   "/webhooks/shop/purchase", body, signed(body))
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "accepted" not in json.dumps(answer)


def test_a_refused_publish_is_503() -> None:
    from sources.publisher import PublishError

    body = raw(PURCHASE)
    status, headers, _a = post(app_with(FakeSend(fail=PublishError("TOPIC_AUTHORIZATION_FAILED"))),
                               "/webhooks/shop/purchase", body, signed(body))
    assert status == 503 and headers["Retry-After"] == "30"


def test_an_invalid_payload_whose_dead_letter_is_not_acked_is_503_not_4xx() -> None:
    """A 4xx tells the provider to give up; it may say so only once the bytes are kept."""
    send = FakeSend()
    send.gate = asyncio.Event()
    body = raw({"email": EMAIL})
    status, headers, _a = post(app_with(send, ingest_ack_timeout_s=0.2),
                               "/webhooks/shop/purchase", body, signed(body))
    assert status == 503 and headers["Retry-After"] == "30"


# -------------------------------------------------------- metrics, logs, health, start-up


def test_metrics_count_requests_by_source_and_outcome() -> None:
    send = FakeSend()
    app = app_with(send)
    ok, bad = raw(PURCHASE), raw({"email": EMAIL})
    out: list[str] = []

    async def scenario(client: TestClient) -> None:
        await client.post("/webhooks/shop/purchase", data=ok, headers=signed(ok))
        await client.post("/webhooks/shop/purchase", data=bad, headers=signed(bad))
        await client.post("/webhooks/shop/purchase", data=ok, headers=signed(ok, HELPDESK))
        await client.post("/webhooks/shop/purchase", data=ok)
        await client.post("/webhooks/shop/purchase", data=ok, headers=signed(ok, at=NOW - 900))
        await client.post(f"/webhooks/{EMAIL}/purchase", data=ok, headers=signed(ok))
        out.append(await (await client.get("/metrics")).text())

    with_client(app, scenario)
    text = out[0]
    for source, outcome in [("shop", "accepted"), ("shop", "invalid"), ("shop", "bad_signature"),
                            ("shop", "missing_signature"), ("shop", "stale_timestamp"),
                            ("-", "unknown_source")]:
        line = f'consent_ingest_requests_total{{outcome="{outcome}",source="{source}"}} 1.0'
        assert line in text, line
    assert 'consent_ingest_ack_seconds_count{source="shop"} 1.0' in text
    assert 'consent_ingest_dead_letters_total{kind="invalid_fields",source="shop"} 1.0' in text
    assert EMAIL not in text and KEY not in text and "jane" not in text


def test_the_access_log_is_json_without_paths_as_sent_bodies_or_addresses(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ok, bad = raw(PURCHASE), raw({**PURCHASE, "email": "Jane <jane.doe@example.com>"})

    async def scenario(client: TestClient) -> None:
        await client.post("/webhooks/shop/purchase?email=jane.doe@example.com", data=ok,
                          headers=signed(ok))
        await client.post("/webhooks/shop/purchase", data=bad, headers=signed(bad))
        await client.post(f"/webhooks/{EMAIL}/purchase", data=ok, headers=signed(ok))
        await client.post(f"/nowhere/{EMAIL}", data=ok)

    with_client(app_with(), scenario)
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith(".access")]
    assert [(a["route"], a["status"], a.get("outcome")) for a in access] == [
        ("/webhooks/{source}/{kind}", 200, "accepted"),
        ("/webhooks/{source}/{kind}", 422, "invalid"),
        ("/webhooks/{source}/{kind}", 404, "unknown_source"),
        ("(no route)", 404, None)]
    assert [a.get("source") for a in access] == ["shop", "shop", "-", None]
    assert access[0]["event_id"] == str(event_id_for("shop", "msg_2xQ1"))
    assert access[1]["kind"] == "invalid_fields"
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (EMAIL, "jane", "Jane", KEY, "127.0.0.1", "A-1001", "msg_2xQ1"):
        assert secret not in everything, secret


def test_healthz() -> None:
    out: list[tuple[int, str]] = []

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/healthz")
        out.append((resp.status, await resp.text()))

    with_client(app_with(), scenario)
    assert out == [(200, "ok")]


def test_a_bug_is_a_plain_500_without_details(monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise KeyError(EMAIL)

    monkeypatch.setattr("sources.ingest.app.build_event", broken)
    send = FakeSend()
    body = raw(PURCHASE)
    out: list[Any] = []

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/webhooks/shop/purchase", data=body, headers=signed(body))
        out.extend([resp.status, await resp.json()])
        out.append(await (await client.get("/metrics")).text())

    with_client(app_with(send), scenario)
    assert out[:2] == [500, {"error": "internal error"}]
    assert 'consent_ingest_requests_total{outcome="error",source="-"} 1.0' in out[2]
    assert EMAIL not in caplog.text
    assert send.sent == []


@pytest.mark.parametrize(("kw", "message"), [
    ({"environment": "production", "key_secret": SecretStr(DEV_KEY_SECRET)}, "development"),
    ({"key_secret": SecretStr("")}, "must be set"),
    ({"ingest_secrets": {}}, "no source with a signing secret"),
    ({"ingest_secrets": {"shop": SecretStr("short")}}, "shorter than 24 bytes"),
    ({"ingest_secrets": {"shop": SecretStr("whsec_c2hvcnQ=")}}, "shorter than 24 bytes"),
    ({"ingest_secrets": {"shop": SecretStr("whsec_***not base64***")}}, "not valid base64"),
    ({"ingest_secrets": {"shop": SecretStr(SHOP), "sh0p-typo": SecretStr(SHOP)}},
     "does not: sh0p-typo"),
    ({"ingest_secrets": {"shop": SecretStr(SHOP), SHOP: SecretStr("shop")}},
     "does not: \\(not a source name\\)"),
    ({"ingest_sources": {"Shop Front": "purchase"}}, "source names are lower-case"),
])
def test_start_up_refuses_configurations_that_would_accept_forgeries(kw: dict[str, Any],
                                                                     message: str) -> None:
    with pytest.raises(ConsentError, match=message) as info:
        build_app(settings(**kw), FakeSend())
    assert SHOP not in str(info.value)


def test_sources_and_secrets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("CONSENT_INGEST_SOURCES", '{"reseller": "purchase"}')
    monkeypatch.setenv("CONSENT_INGEST_SECRETS", json.dumps({"reseller": SHOP}))
    monkeypatch.setenv("CONSENT_INGEST_TIMESTAMP_TOLERANCE_S", "120")
    s = IngestSettings()
    assert s.enabled_sources() == {"reseller": "purchase"}
    assert s.ingest_secrets["reseller"].get_secret_value() == SHOP
    assert SHOP not in repr(s) and SHOP not in str(s.model_dump())
    assert s.ingest_timestamp_tolerance_s == 120
    assert uuid.UUID(str(event_id_for("reseller", "d"))).version == 5
