"""The HTML pages and response headers a person sees at the one-click unsubscribe endpoint.

Why they are shaped this way:
- Each page is small and self-contained (inline style, no scripts, no external resources), so
  the strict `SECURITY_HEADERS` policy can forbid everything else and the page still renders.
  Every choice is a plain HTML form, so everything works without JavaScript.
- Every page says what did or did not change: the confirmation page says "nothing has changed
  yet", the 503 page "nothing has changed yet, try again"; only the done pages claim the
  withdrawal, and the handlers show them only after the broker's acknowledgement.
- The raw token appears only where a browser must send it back: the forms' actions and the
  link to the preference centre (escaped, relative). No page echoes the contact key.
- The confirmation page offers the token's purpose first (what the mail was about, and what
  RFC 8058's one-click POST withdraws) and "everything" as a separate form with its own field,
  so a mail client's one-click POST can never withdraw more than the one purpose.
- Error pages offer the mailto address, so a person with a broken or expired link still has a
  way to be unsubscribed.

The preference centre's own pages are in `sources.unsubscribe.preference_pages`.
"""

import html
from urllib.parse import quote

from aiohttp import web

from schemas.purposes import Purpose
from sources.settings import SourceSettings

ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"  # RFC 8058, section 3.1
EVERYTHING_FIELD, EVERYTHING_VALUE = "scope", "all"
"""The field of the "unsubscribe from everything" forms; never part of a one-click POST."""
RETRY_AFTER_S = 30

PURPOSE_WORDS: dict[Purpose, str] = {
    Purpose.PRODUCT_UPDATES: "product updates",
    Purpose.SPECIAL_OFFERS: "special offers",
    Purpose.SUPPORT_NOTICES: "technical support notices",
    Purpose.NEW_PRODUCTS: "new product announcements",
    Purpose.NEWSLETTER: "our newsletter",
}
"""How each marketing purpose is named on the pages (the enum values are not for people)."""

SECURITY_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
}
"""Set on every response: the URL carries a token, so nothing may cache, index, refer or frame it."""


def page(title: str, heading: str, body: str, status: int = 200,
          headers: dict[str, str] | None = None) -> web.Response:
    """A small self-contained HTML page; `heading` is escaped here, `body` by its caller."""
    text = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a;
        background: #fff; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; }}
button {{ font-size: 1.1rem; padding: 0.6rem 1.4rem; border: 2px solid #1a1a1a;
          border-radius: 0.3rem; background: #1a1a1a; color: #fff; cursor: pointer; }}
button.secondary {{ background: #fff; color: #1a1a1a; }}
button:focus-visible, input:focus-visible, a:focus-visible {{ outline: 3px solid #0b57d0;
          outline-offset: 3px; }}
form {{ margin: 1.2rem 0; }}
fieldset {{ border: 1px solid #8a8a8a; border-radius: 0.3rem; padding: 0.6rem 1rem; }}
legend {{ font-weight: 600; padding: 0 0.3rem; }}
.choice {{ display: flex; align-items: center; gap: 0.6rem; margin: 0.5rem 0; }}
.choice input {{ width: 1.3rem; height: 1.3rem; margin: 0; }}
a {{ color: #0b57d0; }}
.note {{ color: #4a4a4a; font-size: 0.95rem; }}
</style>
</head>
<body>
<main>
<h1>{html.escape(heading)}</h1>
{body}
</main>
</body>
</html>
"""
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers=headers)


def _contact_us(settings: SourceSettings) -> str:
    """The mailto fallback, so a broken link never leaves a person without a way out."""
    mailto = html.escape(settings.unsubscribe_mailto)
    href = html.escape(f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe")
    return (f'<p>You can also write to <a href="{href}">{mailto}</a> and we will '
            "unsubscribe you.</p>")


def token_action(token: str) -> str:
    """A form action or link back to the same path with the token (escaped, relative).

    Relative, so the path the person came through is kept (also behind a proxy prefix).
    """
    return html.escape("?token=" + quote(token, safe=""))


def link_with_token(path: str, token: str) -> str:
    """A relative link to `path` carrying the token (URL-quoted; escape it when writing HTML)."""
    return f"{path}?token={quote(token, safe='')}"


def all_words() -> str:
    """Every marketing purpose in words: "a, b and c"."""
    words = list(PURPOSE_WORDS.values())
    return ", ".join(words[:-1]) + " and " + words[-1]


def everything_form(token: str) -> str:
    """The "unsubscribe from everything" form: its own field, never the RFC 8058 body."""
    return f"""<form method="post" action="{token_action(token)}">
<input type="hidden" name="{EVERYTHING_FIELD}" value="{EVERYTHING_VALUE}">
<button type="submit" class="secondary">Unsubscribe from everything</button>
</form>"""


def _preferences_link(href: str | None, text: str) -> str:
    """A paragraph linking the preference centre, or nothing when it is not configured."""
    if href is None:
        return ""
    return f'<p><a href="{html.escape(href)}">{html.escape(text)}</a></p>'


def confirm_page(token: str, words: str, preferences_href: str | None = None) -> web.Response:
    """GET's answer: forms that POST, because GET itself changes nothing.

    The first form sends the RFC 8058 body (the token's purpose only); the second withdraws
    every marketing purpose; the link opens the preference centre for finer choices.
    """
    w = html.escape(words)
    body = f"""<p>Do you want to stop receiving {w} from us by e-mail?
Nothing has changed yet.</p>
<form method="post" action="{token_action(token)}">
<input type="hidden" name="{ONE_CLICK_FIELD}" value="{ONE_CLICK_VALUE}">
<button type="submit">Unsubscribe from {w}</button>
</form>
<p>Or stop all marketing e-mail from us: {html.escape(all_words())}.</p>
{everything_form(token)}
{_preferences_link(preferences_href, "Choose what you receive instead")}
<p class="note">E-mails you need for a purchase, such as licence deliveries and invoices,
are not affected.</p>"""
    return page("Unsubscribe", f"Unsubscribe from {words}?", body)


def done_page(words: str, preferences_href: str | None = None) -> web.Response:
    """Shown only after the broker acknowledged the withdrawal; a mail in flight may still come."""
    w = html.escape(words)
    body = f"""<p>You will no longer receive {w} from us.</p>
<p class="note">A message that was already on its way may still arrive.</p>
{_preferences_link(preferences_href, "Choose what else you receive")}"""
    return page("Unsubscribed", "You are unsubscribed", body)


def done_all_page(preferences_href: str | None = None) -> web.Response:
    """Shown only after the broker acknowledged `all: withdrawn`."""
    body = f"""<p>You will no longer receive any marketing e-mail from us.</p>
<p class="note">A message that was already on its way may still arrive. E-mails you need for a
purchase, such as licence deliveries and invoices, are not affected.</p>
{_preferences_link(preferences_href, "Choose again what you receive")}"""
    return page("Unsubscribed", "You are unsubscribed from everything", body)


def missing_token_page(settings: SourceSettings) -> web.Response:
    """400: the link was cut before its token (often a mail client wrapping a long line)."""
    body = ("<p>This link is missing its code. Please use the complete link from the "
            "e-mail.</p>" + _contact_us(settings))
    return page("Link incomplete", "This unsubscribe link is incomplete", body, status=400)


def invalid_token_page(settings: SourceSettings) -> web.Response:
    """400: the token does not verify; the page does not say which check failed."""
    body = ("<p>The link may have been cut off or changed when it was copied. Please use the "
            "complete link from the e-mail.</p>" + _contact_us(settings))
    return page("Link not valid", "This unsubscribe link is not valid", body, status=400)


def expired_page(settings: SourceSettings) -> web.Response:
    """410: a genuine but expired link; a newer mail carries a working one."""
    body = ("<p>Unsubscribe links only work for a limited time. Please use the link in a more "
            "recent e-mail from us.</p>" + _contact_us(settings))
    return page("Link expired", "This unsubscribe link has expired", body, status=410)


def bad_body_page() -> web.Response:
    """400 for a POST without the RFC 8058 body: a person is sent back to the form."""
    body = ("<p>This address expects the confirmation sent by the unsubscribe form. Please open "
            "the link from the e-mail in your browser and press the button.</p>"
            f'<p class="note">Mail clients: POST <code>{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}'
            "</code> (RFC 8058).</p>")
    return page("Request not understood", "Unsubscribe request not understood", body,
                 status=400)


def unavailable_page() -> web.Response:
    """503 with Retry-After: no ack, so nothing is claimed and the person is asked to retry."""
    body = ("<p>We could not record your request just now, so nothing has changed yet. "
            "Please try again in a minute.</p>")
    return page("Please try again", "Please try again", body, status=503,
                 headers={"Retry-After": str(RETRY_AFTER_S)})


def error_page() -> web.Response:
    """500 for a bug: a plain page instead of aiohttp's, never a stack trace."""
    body = "<p>Something went wrong on our side. Please try again later.</p>"
    return page("Error", "Sorry, something went wrong", body, status=500)
