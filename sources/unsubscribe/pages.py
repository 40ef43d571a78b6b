"""The HTML pages and response headers a person sees at the one-click unsubscribe endpoint.

Why they are shaped this way:
- Each page is small and self-contained (inline style, no scripts, no external resources), so
  the strict `SECURITY_HEADERS` policy can forbid everything else and the page still renders.
- Every page says what did or did not change: the confirmation page says "nothing has changed
  yet", the 503 page "nothing has changed yet, try again"; only the done page claims the
  withdrawal, and the handler shows it only after the broker's acknowledgement.
- The raw token appears in exactly one place, the confirmation form's action (escaped), so a
  browser can POST it back; no page echoes the contact key.
- Error pages offer the mailto address, so a person with a broken or expired link still has a
  way to be unsubscribed.
"""

import html
from urllib.parse import quote

from aiohttp import web

from schemas.purposes import Purpose
from sources.settings import SourceSettings

ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"  # RFC 8058, section 3.1
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


def _page(title: str, heading: str, body: str, status: int = 200,
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
button:focus-visible {{ outline: 3px solid #0b57d0; outline-offset: 3px; }}
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


def confirm_page(token: str, words: str) -> web.Response:
    """GET's answer: a form that POSTs the RFC 8058 body, because GET itself changes nothing."""
    # A relative URL keeps the path the person came through (also behind a proxy prefix).
    action = html.escape("?token=" + quote(token, safe=""))
    w = html.escape(words)
    body = f"""<p>Do you want to stop receiving {w} from us by e-mail?
Nothing has changed yet.</p>
<form method="post" action="{action}">
<input type="hidden" name="{ONE_CLICK_FIELD}" value="{ONE_CLICK_VALUE}">
<button type="submit">Unsubscribe from {w}</button>
</form>
<p class="note">E-mails you need for a purchase, such as licence deliveries and invoices,
are not affected.</p>"""
    return _page("Unsubscribe", f"Unsubscribe from {words}?", body)


def done_page(words: str) -> web.Response:
    """Shown only after the broker acknowledged the withdrawal; a mail in flight may still come."""
    w = html.escape(words)
    body = f"""<p>You will no longer receive {w} from us.</p>
<p class="note">A message that was already on its way may still arrive.</p>"""
    return _page("Unsubscribed", "You are unsubscribed", body)


def missing_token_page(settings: SourceSettings) -> web.Response:
    """400: the link was cut before its token (often a mail client wrapping a long line)."""
    body = ("<p>This link is missing its code. Please use the complete link from the "
            "e-mail.</p>" + _contact_us(settings))
    return _page("Link incomplete", "This unsubscribe link is incomplete", body, status=400)


def invalid_token_page(settings: SourceSettings) -> web.Response:
    """400: the token does not verify; the page does not say which check failed."""
    body = ("<p>The link may have been cut off or changed when it was copied. Please use the "
            "complete link from the e-mail.</p>" + _contact_us(settings))
    return _page("Link not valid", "This unsubscribe link is not valid", body, status=400)


def expired_page(settings: SourceSettings) -> web.Response:
    """410: a genuine but expired link; a newer mail carries a working one."""
    body = ("<p>Unsubscribe links only work for a limited time. Please use the link in a more "
            "recent e-mail from us.</p>" + _contact_us(settings))
    return _page("Link expired", "This unsubscribe link has expired", body, status=410)


def bad_body_page() -> web.Response:
    """400 for a POST without the RFC 8058 body: a person is sent back to the form."""
    body = ("<p>This address expects the confirmation sent by the unsubscribe form. Please open "
            "the link from the e-mail in your browser and press the button.</p>"
            f'<p class="note">Mail clients: POST <code>{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}'
            "</code> (RFC 8058).</p>")
    return _page("Request not understood", "Unsubscribe request not understood", body,
                 status=400)


def unavailable_page() -> web.Response:
    """503 with Retry-After: no ack, so nothing is claimed and the person is asked to retry."""
    body = ("<p>We could not record your request just now, so nothing has changed yet. "
            "Please try again in a minute.</p>")
    return _page("Please try again", "Please try again", body, status=503,
                 headers={"Retry-After": str(RETRY_AFTER_S)})


def error_page() -> web.Response:
    """500 for a bug: a plain page instead of aiohttp's, never a stack trace."""
    body = "<p>Something went wrong on our side. Please try again later.</p>"
    return _page("Error", "Sorry, something went wrong", body, status=500)
