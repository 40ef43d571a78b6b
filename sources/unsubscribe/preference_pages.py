"""The preference centre's pages: every marketing purpose with the person's current choice.

Why they are shaped this way:
- One form of native checkboxes in a fieldset with a legend and a label for each box: it works
  without JavaScript, with a keyboard and with a screen reader, under the same strict CSP.
- The form also carries what the page showed (`was`, one hidden field per ticked purpose), so
  the handler publishes exactly what the person changed, not a difference against a newer
  read: a page opened before another change can only change what the person touched.
- "Unsubscribe from everything" is on this page too, and on its 503 page: it needs no database,
  so a person always has a way out even when their current choices cannot be shown.
- Like every page, they name purposes only, never the address, key or token (the token is in
  the forms' actions only).
"""

import html

from aiohttp import web

from schemas.purposes import MARKETING_PURPOSES, Purpose
from sources.unsubscribe.pages import (
    PURPOSE_WORDS,
    RETRY_AFTER_S,
    everything_form,
    page,
    token_action,
)

FORM_FIELD, FORM_VALUE = "form", "preferences"
"""Marks a submitted preference form: with every box unticked it is the only field sent."""
CHOSEN_FIELD = "granted"
"""One value per ticked purpose."""
SHOWN_FIELD = "was"
"""One value per purpose the page showed as ticked."""


def _label(purpose: Purpose) -> str:
    words = PURPOSE_WORDS.get(purpose, purpose.value.replace("_", " "))
    return words[:1].upper() + words[1:]


def preferences_page(token: str, current: dict[Purpose, bool]) -> web.Response:
    """GET's answer: a box per marketing purpose, ticked where mail may be sent now."""
    shown = "".join(f'<input type="hidden" name="{SHOWN_FIELD}" value="{p.value}">\n'
                    for p in MARKETING_PURPOSES if current.get(p))
    boxes = "".join(
        f'<div class="choice"><input type="checkbox" id="choice-{p.value}" '
        f'name="{CHOSEN_FIELD}" value="{p.value}"{" checked" if current.get(p) else ""}>'
        f'<label for="choice-{p.value}">{html.escape(_label(p))}</label></div>\n'
        for p in MARKETING_PURPOSES)
    body = f"""<p>Tick what you would like to receive from us by e-mail, then save.</p>
<form method="post" action="{token_action(token)}">
<input type="hidden" name="{FORM_FIELD}" value="{FORM_VALUE}">
{shown}<fieldset>
<legend>Send me</legend>
{boxes}</fieldset>
<p><button type="submit">Save my choices</button></p>
</form>
<p>Or stop all marketing e-mail from us:</p>
{everything_form(token)}
<p class="note">E-mails you need for a purchase, such as licence deliveries and invoices, are
always sent. A change you made a moment ago may take a few seconds to show here.</p>"""
    return page("Your e-mail choices", "Choose what you receive", body)


def _listed(purposes: list[Purpose]) -> str:
    return ", ".join(html.escape(PURPOSE_WORDS.get(p, p.value)) for p in purposes)


def saved_page(token: str, changes: dict[Purpose, str]) -> web.Response:
    """After the broker's ack (or when nothing changed): what changed, in words."""
    back = f'<p><a href="{token_action(token)}">Change your choices again</a></p>'
    if not changes:
        return page("Nothing changed", "Nothing changed",
                    "<p>You did not change any choice, so we changed nothing.</p>" + back)
    granted = [p for p, c in changes.items() if c == "granted"]
    withdrawn = [p for p, c in changes.items() if c == "withdrawn"]
    lines = ""
    if granted:
        lines += f"<p>You will now receive {_listed(granted)}.</p>\n"
    if withdrawn:
        lines += f"<p>You will no longer receive {_listed(withdrawn)}.</p>\n"
    body = (lines + '<p class="note">A message that was already on its way may still '
            "arrive.</p>\n" + back)
    return page("Choices saved", "Your choices are saved", body)


def choices_unavailable_page(token: str) -> web.Response:
    """503 with Retry-After when the current choices cannot be read; nothing has changed."""
    body = f"""<p>We could not load your current choices just now, so nothing has changed.
Please try again in a minute.</p>
<p>You can still stop all marketing e-mail from us:</p>
{everything_form(token)}"""
    return page("Please try again", "Please try again", body, status=503,
                headers={"Retry-After": str(RETRY_AFTER_S)})


def bad_form_page(token: str) -> web.Response:
    """400 for a POST that is not this page's form: nothing changed, here is the page again."""
    body = ("<p>Your choices could not be read, so nothing has changed. Please open the "
            f'<a href="{token_action(token)}">preference page</a> again and save your choices.'
            "</p>")
    return page("Request not understood", "Choices not understood", body, status=400)
