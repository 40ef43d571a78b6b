"""The person's side end to end: a real browser on the pages behind a real mail's link.

Debian's chromium, driven through chromium-driver by selenium, headless, with a fresh profile;
the endpoint runs as its own process (`consent unsubscribe-server`, Kafka principal
`unsubscribe`, PostgreSQL role `consent_unsubscribe`) beside the real broker, worker, filter,
sinks and mailer. The browser follows the URL from the List-Unsubscribe header of a mail that
the mailer really sent, clicks what a person clicks, and the next mail requests show what it
did. The browser is installed by deploy/local/browser.sh if missing; if it cannot be
installed or started the tests error, they never skip.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from ops.smtp_capture import free_port
from ops.supervisor import REPO_ROOT, Component
from schemas.contact import contact_key
from schemas.partitioning import partition_for
from schemas.purposes import MARKETING_PURPOSES
from tests.integration.harness import Pipeline
from tests.integration.test_unsubscribe import (
    _mail_url,
    _purchase,
    _request,
    _start_server,
    _token,
    http,
)

pytestmark = pytest.mark.integration

BROWSER_SH = REPO_ROOT / "deploy" / "local" / "browser.sh"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
MARKETING = [p.value for p in MARKETING_PURPOSES]


@dataclass
class Centre:
    pipeline: Pipeline
    base: str
    server: Component

    @property
    def secret(self) -> str:
        return self.pipeline.sink_settings.key_secret.get_secret_value()


@pytest.fixture(scope="module")
def centre(make_pipeline: Callable[..., Pipeline]) -> Iterator[Centre]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/unsubscribe"
    p = make_pipeline(extra_env={"CONSENT_UNSUBSCRIBE_BASE_URL": base})
    yield Centre(p, base, _start_server(p, "unsubscribe-centre", port))


def _processes_using(profile: str) -> list[int]:
    """Pids whose command line names our profile folder: the browser we started, and its children."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if profile.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless chromium with a fresh profile, quit (and proved gone) at the end."""
    installed = subprocess.run(["bash", str(BROWSER_SH)], capture_output=True, text=True,
                               timeout=900, check=False)
    if installed.returncode != 0:
        pytest.fail(f"cannot install the browser:\n{installed.stderr}", pytrace=False)
    chromium, driver_path = subprocess.run(["bash", str(BROWSER_SH), "paths"], check=True,
                                           capture_output=True, text=True).stdout.split()
    profile = tempfile.mkdtemp(prefix="consent-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    driver: WebDriver | None = None
    try:
        try:
            # the driver's path is given, so Selenium Manager (which downloads drivers) never runs
            driver = webdriver.Chrome(service=Service(driver_path, log_output=str(log)),
                                      options=options)
        except WebDriverException as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"cannot start the browser: {exc.msg}\n{tail}", pytrace=False)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        deadline = time.monotonic() + 10
        while (left := _processes_using(profile)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in left:  # only what we started: it names our own profile folder
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)
        assert not left, f"the browser left processes behind: {left}"


# --------------------------------------------------------------------------------- helpers


def _heading(driver: WebDriver, text: str, timeout: float = 30) -> None:
    """Wait until the page shown has this <h1> (a click navigates asynchronously)."""
    seen: list[str] = []

    def shown(d: WebDriver) -> bool:
        seen.append(d.find_element(By.TAG_NAME, "h1").text)
        return seen[-1] == text

    try:
        WebDriverWait(driver, timeout,
                      ignored_exceptions=(StaleElementReferenceException,
                                          NoSuchElementException)).until(shown)
    except TimeoutException:
        raise AssertionError(f"no page with heading {text!r}; last seen "
                             f"{seen[-1] if seen else None!r}") from None


def _button(driver: WebDriver, text: str) -> None:
    driver.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()


def _ticked(driver: WebDriver) -> dict[str, bool]:
    boxes = driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox][name=granted]")
    return {b.get_attribute("value") or "": b.is_selected() for b in boxes}


def _label(driver: WebDriver, purpose: str) -> None:
    """Click a box's label, as a person does (the label is tied to its box)."""
    driver.find_element(By.CSS_SELECTOR, f"label[for=choice-{purpose}]").click()


def _mailed_contact(c: Centre, email: str) -> str:
    """A contact with a relationship and the URL from a real mail's List-Unsubscribe header."""
    _purchase(c.pipeline, email)
    rid = _request(c.pipeline, email, "special_offers")
    assert c.pipeline.decision(rid)[:2] == ("forwarded", None)
    url = _mail_url(c.pipeline, email, rid)
    assert url.startswith(f"{c.base}?token=")
    return url


def _outcomes(c: Centre, email: str, purposes: list[str]) -> dict[str, tuple[str, str | None]]:
    """Request one mail per purpose now; (outcome, reason) of each."""
    rids = {p: _request(c.pipeline, email, p) for p in purposes}
    out: dict[str, tuple[str, str | None]] = {}
    for p, rid in rids.items():
        outcome, reason, *_rest = c.pipeline.decision(rid)
        out[p] = (outcome, reason)
    return out


def _wait_current(c: Centre, key: str, allowed: set[str], timeout: float = 60) -> None:
    """Wait until PostgreSQL's current consent (what the centre shows) is `allowed` exactly."""
    deadline = time.monotonic() + timeout
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        rows = c.pipeline.query("SELECT purpose, status FROM consent_current "
                                "WHERE contact_key = %s AND purpose <> 'transactional'", key)
        if len(rows) == len(MARKETING) and {p for p, s in rows if s == "allowed"} == allowed:
            return
        time.sleep(0.2)
    raise AssertionError(f"current consent never became {sorted(allowed)}: {rows}")


def _events(c: Centre, key: str, source: str) -> list[dict]:
    """Every event of `source` for `key` in the preferences topic, read up to its end."""
    p = c.pipeline
    topic = f"{p.prefix}preferences"
    partition = partition_for(key.encode(), p.stream_settings.partitions)
    consumer = Consumer(p.kafka(**{"group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False}))
    found: list[dict] = []
    try:
        end = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline, position = time.monotonic() + 30, 0
        while position < end:
            assert time.monotonic() < deadline, f"read {position} of {end} records"
            m = consumer.poll(0.5)
            if m is None or m.error():
                continue
            position = m.offset() + 1
            event = json.loads(m.value())
            if m.key() == key.encode() and event["source"] == source:
                found.append(event)
    finally:
        consumer.close()
    return found


def _assert_no_secrets_logged(c: Centre, *secrets: str) -> None:
    text = c.server.log_path.read_text(errors="replace")
    for s in secrets:
        assert s not in text


# ------------------------------------------------------------------------ in the browser


def test_browser_everything_then_one_purpose_back(centre: Centre, browser: WebDriver,
                                                  email: str) -> None:
    p = centre.pipeline
    url = _mailed_contact(centre, email)
    key = contact_key(email, centre.secret)

    browser.get(url)
    _heading(browser, "Unsubscribe from special offers?")
    _button(browser, "Unsubscribe from everything")
    _heading(browser, "You are unsubscribed from everything")

    # The page said so only after the broker's ack: the very next requests are suppressed,
    # every marketing purpose; mail for a purchase still goes.
    after = _outcomes(centre, email, [*MARKETING, "transactional"])
    assert after == {**{m: ("suppressed", "opted_out") for m in MARKETING},
                     "transactional": ("forwarded", None)}

    # The preference centre, from the done page's link: everything unticked now.
    _wait_current(centre, key, allowed=set())
    browser.find_element(By.LINK_TEXT, "Choose again what you receive").click()
    _heading(browser, "Choose what you receive")
    assert _ticked(browser) == {m: False for m in MARKETING}

    _label(browser, "product_updates")
    _button(browser, "Save my choices")
    _heading(browser, "Your choices are saved")
    assert "You will now receive product updates." in browser.page_source

    # Only that purpose changed.
    assert _outcomes(centre, email, MARKETING) == {
        m: ("forwarded", None) if m == "product_updates" else ("suppressed", "opted_out")
        for m in MARKETING}
    [saved] = _events(centre, key, "preference-centre")
    assert saved["data"] == {"contact_key": key, "changes": {"product_updates": "granted"}}
    [everything] = _events(centre, key, "one-click-unsubscribe")
    assert everything["data"] == {"contact_key": key, "changes": {}, "all": "withdrawn"}

    # Opened again, the page shows the new choice.
    _wait_current(centre, key, allowed={"product_updates"})
    browser.find_element(By.LINK_TEXT, "Change your choices again").click()
    _heading(browser, "Choose what you receive")
    assert _ticked(browser) == {m: m == "product_updates" for m in MARKETING}
    _assert_no_secrets_logged(centre, email, key, _token(url))
    p.procs.check_alive()


def test_browser_unticking_one_purpose_changes_only_that_purpose(centre: Centre,
                                                                 browser: WebDriver,
                                                                 email: str) -> None:
    url = _mailed_contact(centre, email)
    key = contact_key(email, centre.secret)
    _wait_current(centre, key, allowed=set(MARKETING))  # opt-out regime: a buyer may be mailed

    browser.get(url)
    _heading(browser, "Unsubscribe from special offers?")
    browser.find_element(By.LINK_TEXT, "Choose what you receive instead").click()
    _heading(browser, "Choose what you receive")
    before = _ticked(browser)
    assert before == {m: True for m in MARKETING}

    _label(browser, "new_products")
    assert _ticked(browser) == {**before, "new_products": False}
    _button(browser, "Save my choices")
    _heading(browser, "Your choices are saved")
    assert "You will no longer receive new product announcements." in browser.page_source

    assert _outcomes(centre, email, MARKETING) == {
        m: ("suppressed", "purpose_withdrawn") if m == "new_products" else ("forwarded", None)
        for m in MARKETING}
    [saved] = _events(centre, key, "preference-centre")
    assert saved["data"] == {"contact_key": key, "changes": {"new_products": "withdrawn"}}
    assert _events(centre, key, "one-click-unsubscribe") == []


# --------------------------------------------------------------------------- over HTTP


def test_the_endpoints_role_reads_one_contact_through_the_function_only(centre: Centre,
                                                                        email: str) -> None:
    p = centre.pipeline
    _mailed_contact(centre, email)
    key = contact_key(email, centre.secret)
    _wait_current(centre, key, allowed=set(MARKETING))
    schema = p.deployment.db_schema
    with psycopg.connect(p.infra.role_url("consent_unsubscribe"), autocommit=True) as conn:
        rows = conn.execute(f'SELECT purpose, status FROM "{schema}".preference_choices(%s)',
                            (key,)).fetchall()
        assert dict(rows)["special_offers"] == "allowed" and len(rows) == len(MARKETING) + 1
        for table in ("consent_current", "contacts", "consent_ledger", "mail_decisions"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'SELECT * FROM "{schema}".{table} LIMIT 1')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f'UPDATE "{schema}".consent_current SET status = \'allowed\'')


def test_preference_centre_over_http_shows_current_choices_and_changes_nothing(
        centre: Centre, email: str) -> None:
    p = centre.pipeline
    url = _mailed_contact(centre, email)
    key = contact_key(email, centre.secret)
    assert http("POST", url, b"List-Unsubscribe=One-Click",
                "application/x-www-form-urlencoded").status == 200
    _wait_current(centre, key, allowed=set(MARKETING) - {"special_offers"})

    centre_url = url.replace("/unsubscribe?", "/unsubscribe/preferences?")
    for method in ("GET", "HEAD"):
        assert http(method, centre_url).status == 200
    page = http("GET", centre_url)
    assert 'value="special_offers">' in page.text
    assert 'name="granted" value="special_offers"><label' in page.text  # unticked
    assert 'name="granted" value="product_updates" checked>' in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _events(centre, key, "preference-centre") == []
    assert p.decision(_request(p, email, "product_updates"))[:2] == ("forwarded", None)
    _assert_no_secrets_logged(centre, email, key, _token(url))
