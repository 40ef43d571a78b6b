"""Free-text opt-out detection for support messages (issue 8): the public API.

The policy names one way to opt out: *send a message to customer service*. Those messages
reach the pipeline as ``support.message_received`` events whose ``text`` is whatever the
customer (or an agent taking a call) typed, in any language. :func:`detect` reads it and
returns a :class:`Detection` with one of three outcomes, or ``None`` for an ordinary message:

* ``OPT_OUT``: an explicit request; suppress marketing.
* ``POSSIBLE_OPT_OUT``: weaker evidence (a bare "stop" in a longer message, exasperation with
  no noun, a typo guess); suppress as well, erring towards not mailing, and an agent reviews.
* ``RESUBSCRIBE``: "I unsubscribed by mistake, add me back": never suppresses and never grants
  by itself; an agent confirms an explicit grant.

How it works: ``text`` tokenises (offsets kept), ``lexicon`` tags words with concepts
(stemming, typo tolerance), ``rules`` composes concepts, ``engine`` picks the outcome, one
module per language (``en``, ``nl``, ``fr``, ``de``, ``es``) supplies the words. The
detection is pure and cheap (see ``bench.measure_cost``); its evidence holds no message text.
"""

from streams.optout import de, en, es, fr, nl
from streams.optout.engine import run
from streams.optout.model import Detection, Outcome

__all__ = ["LANGUAGES", "Detection", "Outcome", "detect"]

_LANGUAGES = (en.LANGUAGE, nl.LANGUAGE, fr.LANGUAGE, de.LANGUAGE, es.LANGUAGE)

LANGUAGES: frozenset[str] = frozenset(lang.code for lang in _LANGUAGES)
"""ISO 639-1 codes of the languages covered."""


def detect(text: str) -> Detection | None:
    """Whether ``text`` asks to stop (or to resume) marketing mail, with the evidence."""
    return run(_LANGUAGES, text)
