"""The person's side over HTTP: "unsubscribe from everything" and the preference centre.

A fake `publish` (no broker) and a fake reader of current choices (no database); the real
path (endpoint process, broker, worker, PostgreSQL, a real browser) is in
tests/integration/test_preference_centre.py. Here every route's contract and every failure:
bad tokens, bodies that are not the form, the reader down or slow, the broker slow or failing.
"""

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from schemas.contact import contact_key
from schemas.envelope import parse_event
from schemas.events import PreferenceChanged
from schemas.purposes import MARKETING_PURPOSES, Purpose
from sources.unsubscribe.app import SECURITY_HEADERS, build_app
from sources.unsubscribe.choices import ChoicesUnavailable
from sources.unsubscribe.publisher import PublishError
from tests.unit.sources.test_unsubscribe_http import (
    KEY,
    ONE_CLICK,
    FakePublish,
    assert_safe_page,
    request,
    settings,
    tampered_payload,
    tampered_signature,
    token,
    with_client,
)

PREFS = "/unsubscribe/preferences"
EVERYTHING = {"scope": "all"}
CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
CURRENT = {Purpose.PRODUCT_UPDATES: True, Purpose.SPECIAL_OFFERS: True,
           Purpose.SUPPORT_NOTICES: False, Purpose.NEW_PRODUCTS: True, Purpose.NEWSLETTER: False}


class FakeChoices:
    """Answers the current choices per key; `fail` raises, `gate` holds the answer back."""

    def __init__(self, current: dict[Purpose, bool] | None = None,
                 fail: BaseException | None = None) -> None:
        self.current = dict(CURRENT if current is None else current)
        self.fail = fail
        self.gate: asyncio.Event | None = None
        self.asked: list[str] = []

    async def __call__(self, key: str) -> dict[Purpose, bool]:
        self.asked.append(key)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return dict(self.current)


def app(pub: FakePublish | None = None, choices: FakeChoices | None = None,
        **kw: Any) -> web.Application:
    return build_app(settings(**kw), pub if pub is not None else FakePublish(),
                     choices=choices if choices is not None else FakeChoices())


def form(*, granted: list[str], was: list[str]) -> list[tuple[str, str]]:
    """The body a browser sends for the preference form."""
    return ([("form", "preferences")] + [("was", p) for p in was]
            + [("granted", p) for p in granted])


def shown(current: dict[Purpose, bool] = CURRENT) -> list[str]:
    return [p.value for p in MARKETING_PURPOSES if current[p]]


def event_of(pub: FakePublish) -> tuple[bytes, PreferenceChanged]:
    [(key, value)] = pub.sent
    event = parse_event(value, topic="preferences")
    assert isinstance(event, PreferenceChanged)
    return key, event


def changes(event: PreferenceChanged) -> dict[str, str]:
    return {p.value: c for p, c in event.data.changes.items()}


def assert_strict_headers(headers: dict[str, str]) -> None:
    """The CSP and the other headers exactly as the one-click pages have them."""
    assert headers["Content-Security-Policy"] == CSP == SECURITY_HEADERS["Content-Security-Policy"]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value


# ------------------------------------------------------ one-click page: "from everything"


def test_confirmation_offers_the_purpose_everything_and_the_preference_centre() -> None:
    pub = FakePublish()
    t = token()
    status, headers, body = request(app(pub), "GET", f"/unsubscribe?token={t}")
    assert status == 200
    # the purpose form is unchanged: the RFC 8058 body, nothing else
    assert ('<form method="post" action="?token=' + t + '">\n'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">\n'
            "<button type=\"submit\">Unsubscribe from special offers</button>") in body
    # "everything" is its own form with its own field
    assert ('<input type="hidden" name="scope" value="all">\n'
            '<button type="submit" class="secondary">Unsubscribe from everything</button>') in body
    assert body.count('<form method="post"') == 2
    assert f'<a href="unsubscribe/preferences?token={t}">' in body
    assert "<script" not in body
    assert_strict_headers(headers)
    assert_safe_page(headers, body, KEY)
    assert pub.sent == []


def test_without_a_database_there_is_no_preference_centre() -> None:
    _s, _h, body = request(build_app(settings(), FakePublish()), "GET",
                           f"/unsubscribe?token={token()}")
    assert "preferences" not in body
    assert "Unsubscribe from everything" in body  # needs no database
    status, _h, _b = request(build_app(settings(), FakePublish()), "GET",
                             f"{PREFS}?token={token()}")
    assert status == 404


def test_everything_withdraws_all_by_the_tokens_contact() -> None:
    pub = FakePublish()
    t = token("newsletter")
    status, headers, body = request(app(pub), "POST", f"/unsubscribe?token={t}", data=EVERYTHING)
    assert status == 200
    assert "You are unsubscribed from everything" in body
    assert f'<a href="unsubscribe/preferences?token={t}">' in body
    assert_safe_page(headers, body, KEY)
    key, event = event_of(pub)
    assert key == KEY.encode("ascii")
    assert event.source == "one-click-unsubscribe"
    assert event.data.contact_key == KEY and event.data.email is None
    assert event.data.all == "withdrawn"
    assert event.data.changes == {}


def test_the_one_click_body_still_withdraws_only_the_tokens_purpose() -> None:
    pub = FakePublish()
    status, _h, body = request(app(pub), "POST", f"/unsubscribe?token={token()}", data=ONE_CLICK)
    assert status == 200
    assert "You are unsubscribed" in body and "from everything" not in body
    _key, event = event_of(pub)
    assert changes(event) == {"special_offers": "withdrawn"}
    assert event.data.all is None


def test_the_everything_field_wins_over_the_one_click_body() -> None:
    """A mail client sends only the RFC body; the person's form may carry both."""
    pub = FakePublish()
    status, _h, _b = request(app(pub), "POST", f"/unsubscribe?token={token()}",
                             data={**ONE_CLICK, **EVERYTHING})
    assert status == 200
    assert event_of(pub)[1].data.all == "withdrawn"


@pytest.mark.parametrize("data", [{"scope": "everything"}, {"scope": ""},
                                  {"scope": "x", "List-Unsubscribe": "One-Click"}])
def test_an_unknown_scope_is_refused(data: dict[str, str]) -> None:
    pub = FakePublish()
    status, _h, body = request(app(pub), "POST", f"/unsubscribe?token={token()}", data=data)
    assert status == 400
    assert "Unsubscribe request not understood" in body
    assert pub.sent == []


@pytest.mark.parametrize("path", ["/unsubscribe", PREFS])
def test_everything_says_try_again_without_the_ack(path: str) -> None:
    pub = FakePublish()
    pub.gate = asyncio.Event()  # the broker never answers
    status, headers, body = request(app(pub, unsubscribe_ack_timeout_s=0.2), "POST",
                                    f"{path}?token={token()}", data=EVERYTHING)
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "nothing has changed yet" in body
    assert "unsubscribed" not in body.lower()


# --------------------------------------------------------------- preference centre: GET


def test_preference_centre_shows_every_marketing_purpose_with_the_current_choice() -> None:
    pub, reader = FakePublish(), FakeChoices()
    t = token()
    status, headers, body = request(app(pub, reader), "GET", f"{PREFS}?token={t}")
    assert status == 200
    assert "Choose what you receive" in body
    for p in MARKETING_PURPOSES:
        box = (f'<input type="checkbox" id="choice-{p.value}" name="granted" value="{p.value}"'
               f'{" checked" if CURRENT[p] else ""}><label for="choice-{p.value}">')
        assert box in body, p
    assert "transactional" not in body
    for p in shown():  # what the page showed travels with the form
        assert f'<input type="hidden" name="was" value="{p}">' in body
    assert body.count('name="was"') == len(shown())
    assert '<input type="hidden" name="form" value="preferences">' in body
    assert "<fieldset>" in body and "<legend>Send me</legend>" in body
    assert f'<form method="post" action="?token={t}">' in body
    assert "Unsubscribe from everything" in body
    assert "<script" not in body
    assert_strict_headers(headers)
    assert_safe_page(headers, body, KEY)
    assert reader.asked == [KEY]
    assert pub.sent == []


@pytest.mark.parametrize("purpose", [p.value for p in MARKETING_PURPOSES])
def test_a_token_for_any_purpose_opens_that_contacts_centre(purpose: str) -> None:
    reader = FakeChoices()
    status, _h, _b = request(app(choices=reader), "GET", f"{PREFS}?token={token(purpose)}")
    assert status == 200
    assert reader.asked == [KEY]


def test_head_on_the_preference_centre_publishes_nothing() -> None:
    pub = FakePublish()
    status, _h, _b = request(app(pub), "HEAD", f"{PREFS}?token={token()}")
    assert status == 200
    assert pub.sent == []


@pytest.mark.parametrize("fail", [ChoicesUnavailable("down"), RuntimeError("bug"),
                                  OSError("refused")])
def test_unreadable_choices_say_try_again_and_still_offer_everything(fail: Exception) -> None:
    pub = FakePublish()
    status, headers, body = request(app(pub, FakeChoices(fail=fail)), "GET",
                                    f"{PREFS}?token={token()}")
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "could not load your current choices" in body and "nothing has changed" in body
    assert 'type="checkbox"' not in body  # no guess shown as if it were the truth
    assert '<input type="hidden" name="scope" value="all">' in body
    assert_strict_headers(headers)
    assert_safe_page(headers, body, KEY)
    assert pub.sent == []


def test_a_slow_database_is_a_503_not_a_hang() -> None:
    reader = FakeChoices()
    reader.gate = asyncio.Event()  # never answers
    status, _h, body = request(app(choices=reader, unsubscribe_db_timeout_s=0.1), "GET",
                               f"{PREFS}?token={token()}")
    assert status == 503
    assert "could not load your current choices" in body


BAD_TOKENS = [
    ("", 400, "This unsubscribe link is incomplete"),
    ("?token=garbage", 400, "This unsubscribe link is not valid"),
    ("?token=" + tampered_signature(token()), 400, "This unsubscribe link is not valid"),
    ("?token=" + tampered_payload(token()), 400, "This unsubscribe link is not valid"),
    ("?token=" + token(secret="another-secret"), 400, "This unsubscribe link is not valid"),
    ("?token=" + token("transactional"), 400, "This unsubscribe link is not valid"),
    ("?token=" + token(ttl=timedelta(seconds=-5)), 410, "This unsubscribe link has expired"),
]


@pytest.mark.parametrize(("query", "status", "heading"), BAD_TOKENS)
@pytest.mark.parametrize("body", [form(granted=["newsletter"], was=[]), EVERYTHING, None])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_tokens_open_and_change_nothing(method: str, body: Any, query: str, status: int,
                                            heading: str) -> None:
    pub, reader = FakePublish(), FakeChoices()
    got, headers, page = request(app(pub, reader), method, PREFS + query, data=body)
    assert got == status
    assert heading in page
    assert "unsubscribe@example.com" in page
    assert 'type="checkbox"' not in page
    assert_safe_page(headers, page, KEY, "signature")
    assert pub.sent == [] and reader.asked == []


# -------------------------------------------------------------- preference centre: POST


def test_saving_publishes_one_event_with_only_the_changed_purposes() -> None:
    pub, reader = FakePublish(), FakeChoices()
    t = token()
    # shown: product_updates, special_offers, new_products ticked; the person unticks special
    # offers and ticks the newsletter
    body = form(granted=["product_updates", "new_products", "newsletter"], was=shown())
    status, headers, page = request(app(pub, reader), "POST", f"{PREFS}?token={t}", data=body)
    assert status == 200
    assert "Your choices are saved" in page
    assert "You will now receive our newsletter." in page
    assert "You will no longer receive special offers." in page
    assert f'<a href="?token={t}">Change your choices again</a>' in page
    assert_strict_headers(headers)
    assert_safe_page(headers, page, KEY)
    key, event = event_of(pub)
    assert key == KEY.encode("ascii")
    assert event.source == "preference-centre"
    assert event.data.contact_key == KEY and event.data.email is None
    assert changes(event) == {"newsletter": "granted", "special_offers": "withdrawn"}
    assert event.data.all is None
    assert reader.asked == []  # what is published never depends on a re-read


def test_unticking_everything_withdraws_each_shown_purpose() -> None:
    pub = FakePublish()
    status, _h, _p = request(app(pub), "POST", f"{PREFS}?token={token()}",
                             data=form(granted=[], was=shown()))
    assert status == 200
    assert changes(event_of(pub)[1]) == {p: "withdrawn" for p in shown()}


def test_saving_unchanged_choices_publishes_nothing() -> None:
    pub = FakePublish()
    status, _h, page = request(app(pub), "POST", f"{PREFS}?token={token()}",
                               data=form(granted=shown(), was=shown()))
    assert status == 200
    assert "Nothing changed" in page
    assert pub.sent == []


def test_a_form_names_no_other_contact() -> None:
    """Extra fields cannot redirect the change: the key is always the token's."""
    pub = FakePublish()
    other = contact_key("someone.else@example.com", "unsubscribe-http-test-secret")
    body = form(granted=["newsletter"], was=[]) + [("contact_key", other), ("email", "x@y.z")]
    status, _h, _p = request(app(pub), "POST", f"{PREFS}?token={token()}", data=body)
    assert status == 200
    key, event = event_of(pub)
    assert key == KEY.encode("ascii") and event.data.contact_key == KEY


def test_everything_from_the_preference_centre() -> None:
    pub = FakePublish()
    t = token()
    status, _h, page = request(app(pub), "POST", f"{PREFS}?token={t}", data=EVERYTHING)
    assert status == 200
    assert "You are unsubscribed from everything" in page
    assert f'<a href="?token={t}">' in page
    _key, event = event_of(pub)
    assert event.source == "preference-centre"
    assert event.data.all == "withdrawn" and event.data.changes == {}


@pytest.mark.parametrize("kw", [
    {},
    {"data": ONE_CLICK},  # the RFC body means nothing here
    {"data": [("granted", "newsletter")]},  # not the form (no marker)
    {"data": [("form", "other"), ("granted", "newsletter")]},
    {"data": form(granted=["transactional"], was=[])},
    {"data": form(granted=["no_such_purpose"], was=[])},
    {"data": form(granted=[], was=["transactional"])},
    {"data": [("scope", "everything")]},
    {"data": "form=preferences&granted=newsletter", "headers": {"Content-Type": "text/plain"}},
    {"json": {"form": "preferences", "granted": ["newsletter"]}},
    {"data": b"--broken\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
])
def test_a_body_that_is_not_the_form_is_refused(kw: dict[str, Any]) -> None:
    pub = FakePublish()
    t = token()
    status, headers, page = request(app(pub), "POST", f"{PREFS}?token={t}", **kw)
    assert status == 400
    assert "Choices not understood" in page and "nothing has changed" in page
    assert_safe_page(headers, page, KEY)
    assert pub.sent == []


def test_saved_is_answered_only_after_the_ack() -> None:
    pub = FakePublish()
    pub.gate = asyncio.Event()
    application = app(pub)

    async def scenario(client: TestClient) -> None:
        assert pub.gate is not None
        pending = asyncio.ensure_future(client.post(
            f"{PREFS}?token={token()}", data=form(granted=["newsletter"], was=[])))
        await asyncio.sleep(0.3)
        assert not pending.done()
        pub.gate.set()
        resp = await asyncio.wait_for(pending, 5)
        assert resp.status == 200
        assert "Your choices are saved" in await resp.text()

    with_client(application, scenario)
    assert len(pub.sent) == 1


def test_saving_says_try_again_when_the_broker_does_not_ack() -> None:
    pub = FakePublish()
    pub.gate = asyncio.Event()
    status, headers, page = request(app(pub, unsubscribe_ack_timeout_s=0.2), "POST",
                                    f"{PREFS}?token={token()}",
                                    data=form(granted=["newsletter"], was=[]))
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert "nothing has changed yet" in page
    assert "saved" not in page.lower()


def test_saving_says_try_again_when_the_broker_refuses() -> None:
    pub = FakePublish(fail=PublishError("broker said no"))
    status, _h, page = request(app(pub), "POST", f"{PREFS}?token={token()}",
                               data=form(granted=["newsletter"], was=[]))
    assert status == 503
    assert "saved" not in page.lower()


# ---------------------------------------------------------------------- metrics and logs


def test_metrics_count_the_new_outcomes() -> None:
    application = app(FakePublish(), FakeChoices())
    out: list[str] = []

    async def scenario(client: TestClient) -> None:
        t = token()
        await client.post(f"/unsubscribe?token={t}", data=EVERYTHING)
        await client.get(f"{PREFS}?token={t}")
        await client.post(f"{PREFS}?token={t}", data=form(granted=["newsletter"], was=[]))
        await client.post(f"{PREFS}?token={t}", data=form(granted=[], was=[]))
        out.append(await (await client.get("/metrics")).text())

    with_client(application, scenario)
    for method, outcome in [("POST", "unsubscribed_all"), ("GET", "preferences_page"),
                            ("POST", "preferences_saved"), ("POST", "preferences_unchanged")]:
        assert (f'consent_unsubscribe_requests_total{{method="{method}",outcome="{outcome}"}} 1.0'
                in out[0])
    assert KEY not in out[0]


def test_logs_name_neither_token_nor_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    t = token()
    application = app(FakePublish(), FakeChoices(fail=ChoicesUnavailable(f"no row for {KEY}")))

    async def scenario(client: TestClient) -> None:
        await client.get(f"{PREFS}?token={t}")
        await client.post(f"{PREFS}?token={t}", data=form(granted=["newsletter"], was=[]))
        await client.post(f"{PREFS}?token={t}", data=EVERYTHING)
        await client.post(f"/unsubscribe?token={t}", data=EVERYTHING)

    with_client(application, scenario)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "outcome=preferences_saved" in text and "outcome=choices_unavailable" in text
    assert "GET /unsubscribe/preferences 503" in text  # the access log: path only
    assert t not in text and t.split(".")[0] not in text and t.split(".")[1] not in text
    assert KEY not in text and KEY[:16] not in text and "token" not in text
