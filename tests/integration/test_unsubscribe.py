"""One-click unsubscribe end to end: the link in a real mail, over real HTTP, into the pipeline.

The server runs as its own process (`consent unsubscribe-server`), as in production, and the
worker is configured to put that server's URL into the mails, so the test follows the same
URL a recipient's mail client would.
"""

import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from confluent_kafka import Consumer

from ops.smtp_capture import free_port
from ops.supervisor import Component
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from schemas.unsubscribe_token import sign
from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration

ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None,
         timeout: float = 30.0) -> Response:
    req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - test-local URL
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return Response(resp.status, dict(resp.headers), resp.read().decode())
    except urllib.error.HTTPError as err:
        with err:
            return Response(err.code, dict(err.headers), err.read().decode())


def _start_server(p: Pipeline, name: str, port: int) -> Component:
    comp = p.procs.start(name, "unsubscribe-server", "--host", "127.0.0.1", "--port", str(port))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        comp.check_alive()
        try:
            if http("GET", f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return comp
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{name} did not become ready on port {port}")


@dataclass
class Unsub:
    pipeline: Pipeline
    base: str
    server: Component

    @property
    def secret(self) -> str:
        return self.pipeline.sink_settings.key_secret.get_secret_value()


@pytest.fixture(scope="module")
def unsub(make_pipeline: Callable[..., Pipeline]) -> Iterator[Unsub]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/unsubscribe"
    p = make_pipeline(extra_env={"CONSENT_UNSUBSCRIBE_BASE_URL": base})
    yield Unsub(p, base, _start_server(p, "unsubscribe", port))


def _purchase(p: Pipeline, email: str) -> None:
    p.send("purchase.completed", {"order_id": f"o-{uuid.uuid4().hex[:6]}", "email": email,
                                  "name": "Test Person"}, source="shop")


def _request(p: Pipeline, email: str, purpose: str) -> str:
    rid = unique_request()
    p.send("mail.requested", {"request_id": rid, "email": email, "purpose": purpose,
                              "subject": "Offer", "body": "Hello"}, source="crm")
    return rid


def _mail_url(p: Pipeline, email: str, rid: str, timeout: float = 60.0) -> str:
    """The one-click URL from the List-Unsubscribe header of the mail for `rid`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in p.mails_to(email):
            if msg["X-Request-ID"] == rid:
                assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                match = re.search(r"<(https?://[^>]+)>", msg["List-Unsubscribe"])
                assert match, msg["List-Unsubscribe"]
                return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no mail for {rid} within {timeout}s")


def _mailed_contact(u: Unsub, email: str) -> str:
    """A contact with a relationship and the URL from their first special-offers mail."""
    _purchase(u.pipeline, email)
    rid = _request(u.pipeline, email, "special_offers")
    assert u.pipeline.decision(rid)[:2] == ("forwarded", None)
    url = _mail_url(u.pipeline, email, rid)
    assert url.startswith(f"{u.base}?token=")
    return url


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


def _one_click_events(p: Pipeline, key: str) -> list[tuple[int, dict]]:
    """(partition, event) of every one-click event for `key` in the preferences topic."""
    import json

    c = Consumer(p.kafka(**{"group.id": f"t-{uuid.uuid4()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    c.subscribe([f"{p.prefix}preferences"])
    found: list[tuple[int, dict]] = []
    deadline, idle = time.monotonic() + 20, time.monotonic()
    try:
        while time.monotonic() < deadline and not (found and time.monotonic() - idle > 2):
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            idle = time.monotonic()
            event = json.loads(m.value())
            if event.get("source") == "one-click-unsubscribe" and m.key() == key.encode():
                found.append((m.partition(), event))
    finally:
        c.close()
    return found


def test_one_click_post_from_the_mail_suppresses_that_purpose_only(unsub: Unsub, email: str):
    p = unsub.pipeline
    url = _mailed_contact(unsub, email)
    key = contact_key(email, unsub.secret)

    resp = http("POST", url, ONE_CLICK, FORM)
    assert resp.status == 200, resp.text
    assert "You are unsubscribed" in resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    assert "noindex" in resp.headers["X-Robots-Tag"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"

    # The 200 came after the broker's ack, so the very next request is already suppressed.
    offers = _request(p, email, "special_offers")
    updates = _request(p, email, "product_updates")
    assert p.decision(offers)[:3] == ("suppressed", "purpose_withdrawn", "preference.purpose")
    assert p.decision(updates)[:2] == ("forwarded", None)

    # The event: keyed by the contact key, on the partition Kafka's murmur2 gives that key.
    [(partition, event)] = _one_click_events(p, key)
    assert partition == partition_for(key.encode(), p.stream_settings.partitions)
    assert event["type"] == "preference.changed"
    assert event["data"] == {"contact_key": key, "changes": {"special_offers": "withdrawn"}}
    ledger = p.wait_rows("SELECT source, scope, action, applied FROM consent_ledger "
                         "WHERE contact_key = %s AND event_id = %s", key, event["event_id"])
    assert ledger == [("one-click-unsubscribe", "special_offers", "withdrawn", True)]

    # Neither the token nor the contact key (nor the address) reached the server's log.
    server_log = unsub.server.log_path.read_text(errors="replace")
    assert "outcome=unsubscribed purpose=special_offers" in server_log
    token = _token(url)
    assert token not in server_log and token.split(".")[1] not in server_log
    assert key not in server_log and email not in server_log


def test_get_only_shows_a_confirmation_and_changes_nothing(unsub: Unsub, email: str):
    p = unsub.pipeline
    url = _mailed_contact(unsub, email)

    for method in ("GET", "HEAD", "GET"):  # scanners and previewers follow links, repeatedly
        resp = http(method, url)
        assert resp.status == 200
    page = http("GET", url).text
    assert "Unsubscribe from special offers?" in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert '<form method="post"' in page

    rid = _request(p, email, "special_offers")
    assert p.decision(rid)[:2] == ("forwarded", None)
    assert _one_click_events(p, contact_key(email, unsub.secret)) == []


def test_bad_links_and_bodies_get_clear_4xx_pages_and_change_nothing(unsub: Unsub, email: str):
    p = unsub.pipeline
    url = _mailed_contact(unsub, email)
    token = _token(url)
    payload, mac = token.split(".")
    key = contact_key(email, unsub.secret)

    for bad in (f"{payload}.{_flip(mac, 3)}", f"{_flip(payload, 10)}.{mac}", "nonsense"):
        for method, body in (("GET", None), ("POST", ONE_CLICK)):
            resp = http(method, f"{unsub.base}?token={bad}", body, FORM if body else None)
            assert resp.status == 400, (method, bad)
            assert "This unsubscribe link is not valid" in resp.text
            assert "Traceback" not in resp.text and "signature" not in resp.text

    expired = sign(key, "special_offers", unsub.secret, ttl=timedelta(seconds=-60))
    for method, body in (("GET", None), ("POST", ONE_CLICK)):
        resp = http(method, f"{unsub.base}?token={expired}", body, FORM if body else None)
        assert resp.status == 410
        assert "This unsubscribe link has expired" in resp.text

    missing = http("POST", unsub.base, ONE_CLICK, FORM)
    assert missing.status == 400
    assert "incomplete" in missing.text

    for body, ctype in ((b"", FORM), (b"List-Unsubscribe=Yes", FORM),
                        (ONE_CLICK, "text/plain")):
        resp = http("POST", url, body, ctype)
        assert resp.status == 400, (body, ctype)
        assert "Unsubscribe request not understood" in resp.text

    rid = _request(p, email, "special_offers")
    assert p.decision(rid)[:2] == ("forwarded", None)
    assert _one_click_events(p, key) == []


def test_multipart_one_click_and_repeats_are_harmless(unsub: Unsub, email: str):
    p = unsub.pipeline
    url = _mailed_contact(unsub, email)
    boundary = uuid.uuid4().hex
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\""
                 f"\r\n\r\nOne-Click\r\n--{boundary}--\r\n").encode()

    first = http("POST", url, multipart, f"multipart/form-data; boundary={boundary}")
    again = http("POST", url, ONE_CLICK, FORM)  # a double click, or a provider retrying
    assert (first.status, again.status) == (200, 200)

    rid = _request(p, email, "special_offers")
    assert p.decision(rid)[:2] == ("suppressed", "purpose_withdrawn")
    assert len(_one_click_events(p, contact_key(email, unsub.secret))) == 2


def test_server_stops_cleanly_on_sigterm(unsub: Unsub):
    port = free_port()
    comp = _start_server(unsub.pipeline, "unsubscribe-sigterm", port)
    metrics = http("GET", f"http://127.0.0.1:{port}/metrics").text
    assert "consent_unsubscribe_requests_total" in metrics
    assert comp.stop(timeout=30) == 0
    assert "unsubscribe endpoint stopped" in comp.log_path.read_text(errors="replace")
