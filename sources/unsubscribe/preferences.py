"""The preference centre: every marketing purpose with the person's current choice, changeable.

Reached from the link on the one-click confirmation page, with the same token. Why the same
token, whatever its purpose: the token proves that its holder received our mail at that
contact's address, which is the same proof for every purpose, and a second token minted from
it on the confirmation page would carry exactly the same power (anyone holding the first can
fetch the second), so a second kind would add code and no protection. What the token does
limit is the contact: every event carries the token's contact key and nothing the request
sends can name another. Its purpose still decides what RFC 8058's one-click POST withdraws.

Why the POST publishes only what changed: the form carries what the page showed, and one
`preference.changed` names each purpose whose box the person changed (`granted` for a box they
ticked, `withdrawn` for one they unticked). A box left as shown is not restated, so saving an
older page never re-grants a purpose withdrawn elsewhere in the meantime. A ticked box is an
explicit grant: it lifts a withdrawal, and it is proof enough for the newsletter's double
opt-in, since the link came to that address.

Like the one-click POST, the page says "saved" only after the broker acknowledged the event,
and reading the current choices (PostgreSQL, `sources.unsubscribe.choices`) never decides what
is published.
"""

import asyncio
import logging

from aiohttp import web
from multidict import MultiDictProxy

from schemas.purposes import MARKETING_PURPOSES, Purpose
from schemas.unsubscribe_token import UnsubscribeToken
from sources.unsubscribe.base import (
    CHOICES,
    SETTINGS,
    build_event,
    publish_then,
    read_form,
    record,
    token_required,
)
from sources.unsubscribe.pages import EVERYTHING_FIELD, EVERYTHING_VALUE, done_all_page, token_action
from sources.unsubscribe.preference_pages import (
    CHOSEN_FIELD,
    FORM_FIELD,
    FORM_VALUE,
    SHOWN_FIELD,
    bad_form_page,
    choices_unavailable_page,
    preferences_page,
    saved_page,
)

log = logging.getLogger("consent.sources.unsubscribe.preferences")

SOURCE = "preference-centre"
"""The events' `source`: the ledger shows a change came from the person's own page."""


def changes_of(form: MultiDictProxy[str]) -> dict[Purpose, str] | None:
    """Purpose → `granted`/`withdrawn` for each box changed against what the page showed.

    None when the body is not this page's form or names anything but a marketing purpose
    (transactional mail is not a choice).
    """
    if form.get(FORM_FIELD) != FORM_VALUE:
        return None
    allowed = {p.value for p in MARKETING_PURPOSES}
    chosen, shown = set(form.getall(CHOSEN_FIELD, [])), set(form.getall(SHOWN_FIELD, []))
    if not (chosen | shown) <= allowed:
        return None
    changes = {p: "granted" for p in MARKETING_PURPOSES if p.value in chosen - shown}
    changes |= {p: "withdrawn" for p in MARKETING_PURPOSES if p.value in shown - chosen}
    return dict(sorted(changes.items()))


@token_required
async def show_preferences(request: web.Request, raw: str, token: UnsubscribeToken,
                           _words: str) -> web.Response:
    """GET: the current choices; never publishes anything (scanners follow links)."""
    settings = request.app[SETTINGS]
    try:
        async with asyncio.timeout(settings.unsubscribe_db_timeout_s + 1):
            current = await request.app[CHOICES](token.contact_key)
    except Exception as exc:  # noqa: BLE001 - unknown is unknown: say so, show no guess
        log.warning("current choices unavailable: %s", type(exc).__name__)
        record(request, "choices_unavailable", token.purpose)
        return choices_unavailable_page(raw)
    record(request, "preferences_page", token.purpose)
    return preferences_page(raw, current)


@token_required
async def save_preferences(request: web.Request, raw: str, token: UnsubscribeToken,
                           _words: str) -> web.Response:
    """POST: publish what the person changed (or everything withdrawn), after the broker's ack."""
    form = await read_form(request)
    if form is not None and EVERYTHING_FIELD in form:
        if form[EVERYTHING_FIELD] != EVERYTHING_VALUE:
            record(request, "bad_body", token.purpose)
            return bad_form_page(raw)
        value = build_event(token.contact_key, source=SOURCE, everything="withdrawn")
        return await publish_then(request, token, value, "unsubscribed_all",
                                  lambda: done_all_page(token_action(raw)))
    changes = None if form is None else changes_of(form)
    if changes is None:
        record(request, "bad_body", token.purpose)
        return bad_form_page(raw)
    if not changes:
        record(request, "preferences_unchanged", token.purpose)
        return saved_page(raw, {})
    value = build_event(token.contact_key, source=SOURCE, changes=changes)
    return await publish_then(request, token, value, "preferences_saved",
                              lambda: saved_page(raw, changes))
