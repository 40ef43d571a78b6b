"""The one-click unsubscribe endpoint's HTTP behaviour, with a fake `publish` (no broker).

The real path (worker → mail → POST → broker → suppression) is in
tests/integration/test_unsubscribe.py; here we pin the contract of each response.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import KafkaError
from pydantic import SecretStr

from schemas.contact import DEV_KEY_SECRET, contact_key
from schemas.envelope import parse_event
from schemas.events import PreferenceChanged
from schemas.exceptions import ConsentError
from schemas.unsubscribe_token import sign
from sources.settings import SourceSettings
from sources.unsubscribe.app import (
    RUNNER_OPTIONS,
    KafkaPublisher,
    PublishError,
    build_app,
    check_production,
)

SECRET = "unsubscribe-http-test-secret"
KEY = contact_key("jane.doe@example.com", SECRET)
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def settings(**kw: Any) -> SourceSettings:
    base: dict[str, Any] = {"key_secret": SecretStr(SECRET), "topic_prefix": "unit-",
                            "environment": "development", "unsubscribe_ack_timeout_s": 5.0}
    return SourceSettings(**{**base, **kw})


def token(purpose: str = "special_offers", ttl: timedelta = timedelta(days=60),
          key: str = KEY, secret: str = SECRET) -> str:
    return sign(key, purpose, secret, ttl=ttl)


class FakePublish:
    """Records what was published; `gate` (if set) holds the ack back until it is set."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.sent: list[tuple[bytes, bytes]] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: bytes, value: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append((key, value))


Scenario = Callable[[TestClient], Awaitable[None]]


def with_client(app: web.Application, scenario: Scenario) -> None:
    async def main() -> None:
        server = TestServer(app)
        await server.start_server(**RUNNER_OPTIONS)  # the production access log, not aiohttp's
        async with TestClient(server) as client:
            await scenario(client)

    asyncio.run(main())


def request(app: web.Application, method: str, url: str, **kw: Any
            ) -> tuple[int, dict[str, str], str]:
    out: list[tuple[int, dict[str, str], str]] = []

    async def scenario(client: TestClient) -> None:
        resp = await client.request(method, url, **kw)
        out.append((resp.status, dict(resp.headers), await resp.text()))

    with_client(app, scenario)
    return out[0]


def assert_safe_page(headers: dict[str, str], body: str, *secrets: str) -> None:
    assert headers["Cache-Control"] == "no-store"
    assert "noindex" in headers["X-Robots-Tag"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "Traceback" not in body
    for s in secrets:
        assert s not in body


# ---------------------------------------------------------------------------------- GET


def test_get_shows_confirmation_and_publishes_nothing() -> None:
    pub = FakePublish()
    t = token()
    status, headers, body = request(build_app(settings(), pub), "GET", f"/unsubscribe?token={t}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Unsubscribe from special offers?" in body
    assert '<form method="post"' in body
    assert f'action="?token={t}"' in body
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in body
    assert '<html lang="en">' in body
    assert_safe_page(headers, body, KEY)
    assert pub.sent == []


def test_head_publishes_nothing() -> None:
    pub = FakePublish()
    status, _h, _b = request(build_app(settings(), pub), "HEAD", f"/unsubscribe?token={token()}")
    assert status == 200
    assert pub.sent == []


@pytest.mark.parametrize(("purpose", "words"), [
    ("product_updates", "product updates"),
    ("new_products", "new product announcements"),
    ("newsletter", "our newsletter"),
])
def test_purpose_in_words(purpose: str, words: str) -> None:
    status, _h, body = request(build_app(settings(), FakePublish()), "GET",
                               f"/unsubscribe?token={token(purpose)}")
    assert status == 200
    assert f"Unsubscribe from {words}?" in body


def tampered_signature(t: str) -> str:
    payload, mac = t.split(".")
    return f"{payload}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"


def tampered_payload(t: str) -> str:
    payload, mac = t.split(".")
    return f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{mac}"


@pytest.mark.parametrize(("query", "status", "heading"), [
    ("", 400, "This unsubscribe link is incomplete"),
    ("?token=", 400, "This unsubscribe link is incomplete"),
    ("?token=garbage", 400, "This unsubscribe link is not valid"),
    ("?token=" + "a" * 5000, 400, "This unsubscribe link is not valid"),
    ("?token=%C3%A9.%C3%A9", 400, "This unsubscribe link is not valid"),  # non-ASCII
    ("?token=" + token().split(".")[0] + ".%C3%A9x", 400, "This unsubscribe link is not valid"),
    ("?token=" + tampered_signature(token()), 400, "This unsubscribe link is not valid"),
    ("?token=" + tampered_payload(token()), 400, "This unsubscribe link is not valid"),
    ("?token=" + token(secret="another-secret"), 400, "This unsubscribe link is not valid"),
    ("?token=" + token(ttl=timedelta(seconds=-5)), 410, "This unsubscribe link has expired"),
    # Genuinely signed, but nothing this endpoint may act on:
    ("?token=" + token("transactional"), 400, "This unsubscribe link is not valid"),
    ("?token=" + token("no_such_purpose"), 400, "This unsubscribe link is not valid"),
    ("?token=" + token(key="not-a-contact-key"), 400, "This unsubscribe link is not valid"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_tokens_get_a_clear_page(method: str, query: str, status: int, heading: str) -> None:
    pub = FakePublish()
    got, headers, body = request(build_app(settings(), pub), method, "/unsubscribe" + query,
                                 data=ONE_CLICK)
    assert got == status
    assert heading in body
    assert "unsubscribe@example.com" in body  # a way out that does not need the link
    assert_safe_page(headers, body, KEY, "malformed token", "signature")
    assert pub.sent == []


def test_echoed_settings_are_escaped() -> None:
    app = build_app(settings(unsubscribe_mailto='x"><script>alert(1)</script>@example.com'),
                    FakePublish())
    _s, _h, body = request(app, "GET", "/unsubscribe")
    assert "<script>" not in body
    assert "&lt;script&gt;" in body


# --------------------------------------------------------------------------------- POST


def test_one_click_post_publishes_the_withdrawal() -> None:
    pub = FakePublish()
    t = token()
    status, headers, body = request(build_app(settings(), pub), "POST", f"/unsubscribe?token={t}",
                                    data=ONE_CLICK)
    assert status == 200
    assert "You are unsubscribed" in body
    assert "special offers" in body
    assert_safe_page(headers, body, KEY, t)
    [(key, value)] = pub.sent
    assert key == KEY.encode("ascii")
    event = parse_event(value, topic="preferences")
    assert isinstance(event, PreferenceChanged)
    assert event.source == "one-click-unsubscribe"
    assert event.schema_version == "1.0"
    assert event.occurred_at.tzinfo is not None
    assert event.data.contact_key == KEY
    assert event.data.email is None
    assert {p.value: c for p, c in event.data.changes.items()} == {"special_offers": "withdrawn"}
    assert event.data.all is None


def test_multipart_body_is_accepted() -> None:
    pub = FakePublish()
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("List-Unsubscribe", "One-Click")
    status, _h, _b = request(build_app(settings(), pub), "POST",
                             f"/unsubscribe?token={token()}", data=form)
    assert status == 200
    assert len(pub.sent) == 1


def test_every_click_is_its_own_event() -> None:
    """Repeats are new events (fresh event_id), harmless to the pipeline: same withdrawal."""
    pub = FakePublish()
    app = build_app(settings(), pub)
    url = f"/unsubscribe?token={token()}"

    async def scenario(client: TestClient) -> None:
        for _ in range(2):
            assert (await client.post(url, data=ONE_CLICK)).status == 200

    with_client(app, scenario)
    ids = {parse_event(v).event_id for _k, v in pub.sent}
    assert len(pub.sent) == 2 and len(ids) == 2


@pytest.mark.parametrize("kw", [
    {},
    {"data": {"List-Unsubscribe": "Yes"}},
    {"data": {"Unsubscribe": "One-Click"}},
    {"data": "List-Unsubscribe=One-Click", "headers": {"Content-Type": "text/plain"}},
    {"json": {"List-Unsubscribe": "One-Click"}},
    {"data": b"--broken\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
])
def test_post_without_the_one_click_body_is_refused(kw: dict[str, Any]) -> None:
    pub = FakePublish()
    status, headers, body = request(build_app(settings(), pub), "POST",
                                    f"/unsubscribe?token={token()}", **kw)
    assert status == 400
    assert "Unsubscribe request not understood" in body
    assert_safe_page(headers, body, KEY)
    assert pub.sent == []


def test_success_is_answered_only_after_the_ack() -> None:
    pub = FakePublish()
    pub.gate = asyncio.Event()
    app = build_app(settings(), pub)

    async def scenario(client: TestClient) -> None:
        assert pub.gate is not None
        pending = asyncio.ensure_future(
            client.post(f"/unsubscribe?token={token()}", data=ONE_CLICK))
        await asyncio.sleep(0.3)
        assert not pending.done()
        pub.gate.set()
        resp = await asyncio.wait_for(pending, 5)
        assert resp.status == 200

    with_client(app, scenario)
    assert len(pub.sent) == 1


def test_ack_timeout_says_try_again() -> None:
    pub = FakePublish()
    pub.gate = asyncio.Event()  # never set: the broker never answers
    status, headers, body = request(build_app(settings(unsubscribe_ack_timeout_s=0.2), pub),
                                    "POST", f"/unsubscribe?token={token()}", data=ONE_CLICK)
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "try again" in body and "nothing has changed yet" in body
    assert "unsubscribed" not in body.lower()


def test_publish_failure_says_try_again() -> None:
    pub = FakePublish(fail=PublishError("broker said no"))
    status, _h, body = request(build_app(settings(), pub), "POST",
                               f"/unsubscribe?token={token()}", data=ONE_CLICK)
    assert status == 503
    assert "Please try again" in body


# -------------------------------------------------------------------- health, metrics, logs


def test_healthz() -> None:
    status, _h, body = request(build_app(settings(), FakePublish()), "GET", "/healthz")
    assert (status, body) == (200, "ok")


def test_metrics_count_outcomes_without_contact_keys() -> None:
    app = build_app(settings(), FakePublish())
    out: list[str] = []

    async def scenario(client: TestClient) -> None:
        await client.get(f"/unsubscribe?token={token()}")
        await client.post(f"/unsubscribe?token={token()}", data=ONE_CLICK)
        await client.post(f"/unsubscribe?token={token()}")
        await client.get("/unsubscribe?token=nope")
        await client.get(f"/unsubscribe?token={token(ttl=timedelta(seconds=-1))}")
        out.append(await (await client.get("/metrics")).text())

    with_client(app, scenario)
    text = out[0]
    for method, outcome in [("GET", "confirm_page"), ("POST", "unsubscribed"),
                            ("POST", "bad_body"), ("GET", "invalid_token"),
                            ("GET", "expired_token")]:
        line = f'consent_unsubscribe_requests_total{{method="{method}",outcome="{outcome}"}} 1.0'
        assert line in text
    assert "consent_unsubscribe_ack_seconds_count 1.0" in text
    assert KEY not in text


def test_logs_name_neither_token_nor_contact_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    t = token()
    app = build_app(settings(), FakePublish())

    async def scenario(client: TestClient) -> None:
        await client.get(f"/unsubscribe?token={t}")
        await client.post(f"/unsubscribe?token={t}", data=ONE_CLICK)
        await client.post(f"/unsubscribe?token={tampered_signature(t)}", data=ONE_CLICK)

    with_client(app, scenario)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "outcome=unsubscribed purpose=special_offers" in text
    assert "outcome=invalid_token" in text
    assert t not in text and t.split(".")[0] not in text and t.split(".")[1] not in text
    assert KEY not in text and KEY[:16] not in text


def test_access_log_omits_the_query(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    t = token()
    request(build_app(settings(), FakePublish()), "GET", f"/unsubscribe?token={t}")
    lines = [r.getMessage() for r in caplog.records if r.name.endswith(".access")]
    assert lines and lines[0].startswith("GET /unsubscribe 200")
    assert all(t not in line and "token" not in line and "127.0.0.1" not in line
               for line in lines)


def test_any_publish_failure_says_try_again(caplog: pytest.LogCaptureFixture) -> None:
    class Boom:
        async def __call__(self, key: bytes, value: bytes) -> None:
            raise RuntimeError(f"boom {key.decode()}")

    app = build_app(settings(), Boom())
    status, _h, body = request(app, "POST", f"/unsubscribe?token={token()}", data=ONE_CLICK)
    assert status == 503  # nothing confirmed, so: try again
    assert "Traceback" not in body and KEY not in body
    assert KEY not in caplog.text  # only the exception type is logged


def test_a_bug_shows_a_plain_page(monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_a: Any, **_k: Any) -> bytes:
        raise KeyError(KEY)

    monkeypatch.setattr("sources.unsubscribe.app.preference_event", broken)
    pub = FakePublish()
    status, headers, body = request(build_app(settings(), pub), "POST",
                                    f"/unsubscribe?token={token()}", data=ONE_CLICK)
    assert status == 500
    assert "Sorry, something went wrong" in body
    assert_safe_page(headers, body, KEY)
    assert KEY not in caplog.text
    assert pub.sent == []


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConsentError):
        check_production(settings(environment="production", key_secret=SecretStr(DEV_KEY_SECRET)))
    with pytest.raises(ConsentError):
        build_app(settings(environment="production", key_secret=SecretStr(DEV_KEY_SECRET)))
    with pytest.raises(ConsentError):
        check_production(settings(key_secret=SecretStr("")))
    with pytest.raises(ConsentError):  # the once-published value, in any environment
        check_production(settings(key_secret=SecretStr(DEV_KEY_SECRET)))
    check_production(settings(environment="production"))


# ------------------------------------------------------------------- the Kafka publisher


class FakeProducer:
    """Stands in for confluent_kafka.Producer: deliveries resolve on poll(), as librdkafka's."""

    def __init__(self, error: KafkaError | None = None, full: bool = False) -> None:
        self.error, self.full = error, full
        self.pending: list[Callable[[KafkaError | None, Any], None]] = []
        self.produced: list[tuple[str, bytes, bytes]] = []
        self.flushed = False

    def produce(self, topic: str, *, key: bytes, value: bytes,
                on_delivery: Callable[[KafkaError | None, Any], None]) -> None:
        if self.full:
            raise BufferError("queue full")
        self.produced.append((topic, key, value))
        self.pending.append(on_delivery)

    def poll(self, timeout: float) -> int:
        done, self.pending = self.pending, []
        for cb in done:
            cb(self.error, None)
        if not done:
            import time

            time.sleep(min(timeout, 0.01))
        return len(done)

    def flush(self, timeout: float) -> int:
        self.poll(0)
        self.flushed = True
        return 0


def test_kafka_publisher_waits_for_the_delivery_report() -> None:
    fake = FakeProducer()

    async def main() -> None:
        pub = KafkaPublisher(settings(), producer=fake)
        pub.start()
        await asyncio.wait_for(pub(b"k", b"v"), 5)
        await pub.close()

    asyncio.run(main())
    assert fake.produced == [("unit-preferences", b"k", b"v")]
    assert fake.flushed


def test_kafka_publisher_raises_on_a_failed_delivery() -> None:
    fake = FakeProducer(error=KafkaError(KafkaError._MSG_TIMED_OUT))

    async def main() -> None:
        pub = KafkaPublisher(settings(), producer=fake)
        pub.start()
        with pytest.raises(PublishError):
            await asyncio.wait_for(pub(b"k", b"v"), 5)
        await pub.close()

    asyncio.run(main())


def test_kafka_publisher_raises_when_the_queue_is_full() -> None:
    async def main() -> None:
        pub = KafkaPublisher(settings(), producer=FakeProducer(full=True))
        with pytest.raises(PublishError):
            await pub(b"k", b"v")
        await pub.close()

    asyncio.run(main())
