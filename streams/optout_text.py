"""Detect a request to stop marketing mail in the free text of a support message.

Why this exists
---------------
The privacy policy says anyone may opt out of marketing mail "by sending a message to customer
service". Those messages reach the pipeline as ``support.message_received`` events whose
``text`` is whatever the customer typed, in any language, with typos. The pipeline has to act
on them, so this module turns the text into a decision: :func:`detect_opt_out` returns an
:class:`OptOutMatch` when the text asks to stop receiving mail, ``None`` otherwise.

Design choices
--------------
* **Errs towards suppression.** Missing a real opt-out means mailing someone who said no (a
  legal and trust problem); a false positive means one customer misses a newsletter until an
  agent reviews it. So rules are written for recall first, and a decision taken from text is
  marked as *detected* downstream so an agent can review it.
* **Evidence is the rule id, never the text.** Support texts carry personal data, and the match
  travels into logs and the consent ledger. :class:`OptOutMatch` holds only the stable rule id
  (``"<language>.<name>"``, e.g. ``de.keine_werbung``) and the ISO 639-1 language of that
  rule. Note that ``language`` is the language of the *rule* that matched, not a language
  detection of the message ("Stop newsletter" in a French mail matches ``en.stop_emailing``).
* **No negation handling.** "I do NOT want to unsubscribe" matches ``en.unsubscribe``. Parsing
  negation and its scope reliably across five languages is exactly the kind of cleverness that
  silently drops real opt-outs ("I don't want your emails" *is* an opt-out and is full of
  negation). The only exception is narrow and lexical: Dutch ``afmelden`` and German
  ``abmelden`` also mean "log out" or "deregister (from a course)", and Spanish "darme de baja"
  also means cancelling a course, so those rules do not fire when the same sentence mentions a
  device, session, account, training or event and does not mention mail, a newsletter or a
  list ("Wie melde ich mich auf allen Geräten ab?"). The broad topic rules (below) similarly
  stand down on sentences that read as a malfunction report.
* **Bare words are avoided** where they are ordinary support vocabulary: "stop", "remove",
  "cancel", "list", Spanish "baja" (also "low"). They only count next to a mail word, a
  first-person object ("remove *me*", "quítenme") or as the whole message ("BAJA", "STOP").

Matching
--------
The text is normalised first (:func:`normalise`): Unicode NFKC, typographic apostrophes and
dashes to ASCII, casefold (so German "ß" becomes "ss"), accents stripped ("désabonnez" and
"desabonnez" are the same string, German "möchte" becomes "mochte"; write ``oe?`` in a pattern
to also accept the "moechte" spelling), e-mail addresses and URLs replaced by ``address@``,
dotted abbreviations joined ("a.u.b." becomes "aub", so their dots do not end a sentence),
whitespace collapsed to single spaces. Patterns in :data:`RULES` are written against that
normalised form: lower case, no accents, single spaces. Rules are tried in order and the first
match wins, so the result is deterministic.

There are two layers. First the explicit phrase rules of each language ("unsubscribe",
"geen mails meer", "désabonnez-moi", "keine Werbung mehr", "darme de baja", ...), most specific
first. Then, per language, a polite-refusal rule ("Keine Newsletter bitte") and a broad
``<lang>.mail_topic_cessation`` rule: one sentence holding both a marketing-mail *topic*
("newsletter", "Werbung", "your emails", "sus correos") and a *cessation cue* ("no longer",
"niet meer", "ne ... plus", "kein ... mehr", "ya no", remove, enough). The second layer is what
catches phrasings nobody wrote a rule for.

Accuracy, honestly
------------------
On the test corpus the rules reach 100 % recall, but that corpus was used to write them, so it
is a regression check, not an accuracy claim. Fresh phrasings written *after* the rules and
measured blind (four rounds, 50-100 messages each, see ``tests/unit/streams/optout_corpus/dev.py``) were
detected 57 %, 75 %, 67 % and 78 % of the time, with 0-6 % false positives on ordinary
messages; each round was then used to generalise the rules. Expect recall on real, unseen
customer text well below the corpus figure. Regular expressions cannot understand a request
they have no pattern for. That is why the structured ``intent`` field set by an agent takes
precedence, and why a detected decision is marked for review: the review should also look at
support messages that were *not* detected, by sampling them.

How to add a rule or a language
-------------------------------
1. Add phrasings to ``tests/unit/streams/optout_corpus/dev.py`` first (``OPT_OUT`` and, just as important,
   ordinary messages in that language to ``ORDINARY``), written the way customers write.
   Better still, measure a batch blind before touching the rules, as the corpus did.
2. Add :class:`Rule` entries to :data:`RULES` with :func:`_rule`: id
   ``"<iso639-1>.<snake_case_name>"`` (ids are evidence stored in the ledger, so never rename
   or reuse one; add a new id instead), a one-line description and patterns over the
   normalised text. For a new language also add a ``_XX_MAIL`` vocabulary, its negators to the
   polite-refusal list and a ``_topic_rule`` with topic words and cessation cues; if a key
   verb has another everyday sense (like ``abmelden``: log out), give it ``unless=``.
3. Run ``pytest tests/unit/test_optout_text.py -s``: it prints recall and false-positive rate
   per language and fails below 99 % recall or above 10 % false positives.
"""

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "LANGUAGES",
    "RULES",
    "OptOutMatch",
    "Rule",
    "detect_opt_out",
    "normalise",
]


@dataclass(frozen=True, slots=True)
class OptOutMatch:
    """Evidence that a text asks to stop mail: which rule matched, in which language.

    Deliberately carries no text from the message (personal data must not reach logs).
    """

    rule: str
    language: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule over normalised text.

    ``unless``, when set, is searched in the sentence around each match; a match in a sentence
    where ``unless`` is found does not count. ``requires``, when set, is a cheap pre-check: the
    rule is skipped unless ``requires`` occurs somewhere in the text (keeps the broad topic
    rules linear and fast on long or hostile input).
    """

    id: str
    language: str
    description: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None
    requires: re.Pattern[str] | None = None

    def search(self, normalised: str) -> bool:
        """Whether this rule fires on already-normalised text."""
        if self.requires is not None and self.requires.search(normalised) is None:
            return False
        if self.unless is None:
            return self.pattern.search(normalised) is not None
        for m in self.pattern.finditer(normalised):
            start = max(normalised.rfind(c, 0, m.start()) for c in _SENTENCE_ENDS) + 1
            ends = [i for c in _SENTENCE_ENDS if (i := normalised.find(c, m.end())) != -1]
            sentence = normalised[start : min(ends, default=len(normalised))]
            if self.unless.search(sentence) is None:
                return True
        return False


# --------------------------------------------------------------------------- normalisation

_SENTENCE_ENDS = ".!?;"
_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u02bc": "'",  # modifier letter apostrophe
        "\u0060": "'",  # grave accent used as apostrophe
        "\u00b4": "'",  # acute accent used as apostrophe
        "\u2032": "'",  # prime
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero width space
        "\u200c": None,  # zero width non-joiner
        "\u200d": None,  # zero width joiner
        "\u2060": None,  # word joiner
        "\ufeff": None,  # zero width no-break space / BOM
    }
)
_WHITESPACE = re.compile(r"\s+")
_ADDRESS = re.compile(r"(?<!\S)[^\s@]+@[^\s@]+\.\w+|\b(?:https?://|www\.)\S+")
_ABBREVIATION = re.compile(r"\b(?:\w\.){2,}")


def normalise(text: str) -> str:
    """The form every rule pattern is written against (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", text.translate(_PUNCTUATION))
    folded = folded.translate(_PUNCTUATION).casefold()
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
    )
    stripped = _ADDRESS.sub(" address@ ", stripped)  # dots in addresses are not sentence ends
    stripped = _ABBREVIATION.sub(lambda m: m.group().replace(".", ""), stripped)  # a.u.b. -> aub
    return _WHITESPACE.sub(" ", stripped).strip()


# --------------------------------------------------------------------------- vocabularies
# Nouns customers use for "your mail", per language, over normalised text. Used only next to
# a verb or negation that makes the request; never matched on their own.

_EN_MAIL = (
    r"(?:e-? ?mails?|emails?|emials?|e-?mial|mails?|mailings?|newsletters?|news ?letters?"
    r"|marketing|promo\w*|offers?|spam\w*|adverts?\w*|ads|advertising|communications?"
    r"|correspondence|junk)"
)
_NL_MAIL = (
    r"(?:e-? ?mails?|emails?|mails?|mailtjes|mailings?|nieuwsbrie(?:f|ven)|newsletters?"
    r"|reclame\w*|spam\w*|aanbieding\w*|marketing\w*|promoties?|acties|post)"
)
_FR_MAIL = (
    r"(?:e-? ?mails?|emails?|mails?|courriels?|newsletters?|lettres? d'information|pubs?"
    r"|publicites?|spams?|offres|sollicitations?|promotions?|mailings?|envois?)"
)
_DE_MAIL = (
    r"(?:e-? ?mails?|emails?|mails?|werb\w*|newsletter\w*|spam\w*|zusendung\w*|post|angebote"
    r"|infos|mailings?|reklame)"
)
_ES_MAIL = (
    r"(?:correos?(?: electronicos?)?|e-? ?mails?|emails?|mails?|newsletters?|boletin\w*"
    r"|boletines|publicidad\w*|promocion\w*|ofertas?|mensajes|spam|comunicaciones)"
)

# Words that show a sentence is about logging out of a device or session, or deregistering
# from an event, rather than about mail. Keeps nl.afmelden / de.abmelden / es.darse_de_baja
# from firing on "how do I log out on all devices" or "can I deregister from Thursday's course".
_OTHER_SENSE = re.compile(
    r"^(?!.*(?:nieuwsbrie|newsletter|mail|reclame|werb|verteiler|lijst|liste|spam|marketing"
    r"|boletin|correo|publicidad|lista))"
    r".*\b(?:computer\w*|pc|laptops?|apparaat|apparaten|toestel\w*|telefoon|tablet|gebruiker\w*"
    r"|account|sessie|browser|app|gerat\w*|rechner|handy|konto|benutzer\w*|sitzung\w*"
    r"|devices?|profiel|profil|training\w*|cursus\w*|webinar\w*|workshop\w*|evenement\w*"
    r"|events?|schulung\w*|kurs\w*|seminar\w*|termin\w*|veranstaltung\w*|curso\w*|eventos?"
    r"|taller\w*|webinario\w*|clases?|reunion\w*|cita)\b"
)


def _mail_then_stop(mail: str, stop: str, tail: str) -> str:
    """Mail mentioned, then a short clause that is just "stop" ("... these mails, please stop.")."""
    return (
        rf"\b{mail}\b.{{0,100}}?(?:^|[,;:.!?] ?)(?:\S+ )?{stop}(?: {tail})*"
        r" ?(?:[.!?]|$)"
    )


def _rule(
    rule_id: str,
    description: str,
    *patterns: str,
    unless: re.Pattern[str] | None = None,
    requires: re.Pattern[str] | None = None,
) -> Rule:
    language = rule_id.split(".", 1)[0]
    pattern = re.compile("|".join(f"(?:{p})" for p in patterns))
    return Rule(rule_id, language, description, pattern, unless, requires)


# --------------------------------------------------------------------------- rules

_EN_OBJ = (
    r"(?:me|us|myself|my (?:e-? ?mail|emial|mail|address|name|details|data|contact|info)\S{0,30}"
    r"(?: address(?:es)?| details)?|this (?:e-? ?mail )?address|address@)"
)
_EN_LIST = (
    r"(?:(?:your|the|all|this|these|any|every|all of your|all your|our|those) )?(?:[\w-]+ ){0,2}?"
    r"(?:lists?|database|db|system|records?|newsletters?|mailings?|distribution|marketing"
    r"|contacts?|mailer)\b"
)

_EN_RULES = (
    _rule(
        "en.unsubscribe",
        "unsubscribe / unsub..., including misspellings (unsubscibe, unsubcribe, unsuscribe)",
        r"\bun-? ?sub\w*|\bunsus\w*|\bunscrib\w*",
    ),
    _rule(
        "en.opt_out", "opt out / opt me out / opt-out", r"\bopt(?:ed|ing)?[- ]?(?:me |us )?out\b"
    ),
    _rule(
        "en.stop_emailing",
        "stop / quit / cease emailing, mailing, sending, contacting, spamming, the newsletter",
        r"\b(?:stop|quit|cease|halt)(?: (?:all|the|your|these|those|with|it|any|this|of|them"
        r"|sending|to send|send|receiving|getting|me|us|more|further|future|unsolicited"
        r"|unwanted))* (?:e-? ?mail\w*|emial\w*|mail\w*|spam\w*|contact\w*|messag\w*|bother\w*"
        r"|harass\w*|writing|newsletter\w*|promo\w*|advert\w*|marketing|offers?|ads\b|junk"
        r"|communications?)",
        r"\bstop\W+(?:e-? ?mailing|emailing|mailing|contacting|spamming)\W+(?:me|us)\b",
        r"\bstop using my (?:\S+ )?(?:e-? ?mail|address|data|details|contact)",
        r"\b(?:stop|cease|quit|desist|halt|refrain)\b(?: \S+){0,4}? (?:e-? ?mailing|emialing"
        r"|mailing|contacting|spamming|messaging|texting|writing to|sending (?:me|us)\b)",
    ),
    _rule(
        "en.mail_then_stop",
        "mail mentioned, then a clause that is only 'stop' ('these mails, please stop.')",
        _mail_then_stop(
            r"(?:e-? ?mails|emials|mails|newsletters?|spam|marketing|promotional|promos?"
            r"|advertising|ads)",
            r"(?:stop|make it stop|cut it out|knock it off|enough)",
            r"(?:now|please|it|this|them|immediately|already)",
        ),
    ),
    _rule("en.stop_only", "the whole message is 'stop'", r"^\W*stop\W*(?:please|pls)?\W*$"),
    _rule(
        "en.take_me_off",
        "take / get me off (the list)",
        r"\b(?:take|get|strike|cross|knock) (?:me|us) off\b",
    ),
    _rule(
        "en.remove_from_list",
        "remove / delete / take me (or my address) from / off your list, database, newsletter",
        rf"\b(?:remove[ds]?|removing|delete[ds]?|deleting|erase[ds]?|drop(?:ped)?|take[ns]?"
        rf"|taking|took|strike|purge[ds]?|scrub|block|blacklist|suppress) {_EN_OBJ}"
        rf" (?:\S+ ){{0,2}}?(?:from|off(?: of)?) {_EN_LIST}",
        rf"\b(?:be|get|been|being|am|was) (?:\S+ )?(?:(?:removed|deleted|dropped|unsubscribed"
        rf"|unlisted|excluded)(?: from| off)?|taken (?:off|out of))(?: ?[.!?]| ?$| {_EN_LIST})",
        rf"\bnot (?:be )?on (?:\S+ ){{0,3}}?{_EN_LIST}",
    ),
    _rule(
        "en.remove_me",
        "'remove me' as a whole sentence; unlist me; forget me; want out of the newsletter",
        r"\b(?:remove|delete|erase|unlist) (?:me|us) ?(?:now|immediately|asap|at once|please"
        r"|right now|already)? ?(?:[.!]|$)",
        r"\bunlist (?:me|us)\b|\bforget (?:me|about me)\b|\bright to be forgotten\b",
        rf"\b(?:want|wants|like|get|be) (?:me |us )?(?:out of|off) (?:\S+ ){{0,2}}?(?:{_EN_MAIL}"
        rf"|lists?)\b",
    ),
    _rule(
        "en.no_more_mail",
        "no more / no further emails, newsletters, marketing, spam",
        rf"\bno (?:more|further) (?:\S+ ){{0,2}}?{_EN_MAIL}\b",
    ),
    _rule(
        "en.dont_email_me",
        "don't / do not / never email, mail, contact, spam, send me (any more mail)",
        r"\b(?:do not|don't|dont|never) (?:ever )?(?:e-? ?mail|emial|mail|spam|contact|message"
        r"|bother|harass)(?:ing)? (?:me|us)\b",
        rf"\b(?:do not|don't|dont|never) (?:ever )?send (?:me|us) (?:\S+ ){{0,3}}?{_EN_MAIL}\b",
        r"\b(?:do not|don't|dont|no longer|never|not) (?:\S+ )?(?:wish|want|like|care) to be"
        r" (?:contacted|e-?mailed|mailed|messaged|spammed|bothered)",
        r"\b(?:do not|don't|dont|never|no longer) (?:\S+ )?(?:want|wish|need) to hear from (?:you"
        r"|your|this)\b",
        r"\b(?:do not|don't|dont|never) (?:\S+ )?(?:add|put|include|subscribe|sign)"
        r" (?:me|us|my \S+) (?:\S+ ){0,2}?(?:to|on|in|up for|up to) (?:\S+ ){0,3}?(?:lists?"
        r"|newsletters?|mailings?|marketing)",
    ),
    _rule(
        "en.dont_want_mail",
        "I don't want / no longer wish (to receive) emails, newsletters, marketing",
        rf"\b(?:do not|don't|dont|no longer|never|not) (?:\S+ )?(?:want|wish|need|like|care)"
        rf" (?:to (?:receive|get|be sent|have) )?(?:\S+ ){{0,4}}?{_EN_MAIL}\b",
    ),
    _rule("en.leave_me_alone", "leave me alone", r"\bleave (?:me|us) alone\b"),
    _rule(
        "en.object_do_not_contact",
        "I object to direct marketing; put me on the do-not-contact / suppression list",
        r"\bobject\w* (?:\S+ ){0,8}?(?:direct marketing|marketing|newsletters?|e-?mails|mailings?"
        r"|advertising|profiling)",
        r"\bdo[- ]not[- ](?:contact|e-?mail|mail)\b|\bsuppression list|\brobinson ?(?:list|liste"
        r"|lijst)\w*|\blista robinson",
    ),
    _rule(
        "en.only_transactional",
        "only invoices / only contact me about my order (so: no marketing)",
        r"\b(?:only|just) (?:\S+ ){0,3}?(?:invoices|billing (?:e-?mails|mails|stuff)|receipts"
        r"|(?:about|regarding) (?:my|our|the) (?:orders?|account|licen[cs]es?|subscriptions?"
        r"|purchases?)|(?:the )?important (?:account )?(?:stuff|e-?mails|mails))\b",
    ),
    _rule(
        "en.withdraw_consent",
        "withdraw / revoke my consent",
        r"\b(?:withdraw\w*|revok\w*|retract\w*) (?:my |all |any |the )?(?:\S+ )?consent\b",
    ),
    _rule(
        "en.cancel_newsletter",
        "cancel my newsletter / mailing subscription",
        r"\b(?:cancel\w*|end|terminate) (?:my |the |your |this )?(?:newsletter|mailing"
        r"|e-? ?mail|marketing)\w*(?: subscription)?\b",
        r"\bcancel\w* (?:my |the )?subscription (?:to|for|of) (?:\S+ ){0,2}?(?:newsletter"
        r"|mailing|e-? ?mail|marketing)",
    ),
)

_NL_OBJ = (
    r"(?:me|mij|ons|mezelf|mijzelf|mijn (?:e-? ?mail ?adres|e-?mailadres|emailadres|mailadres"
    r"|adres|gegevens|naam|e-? ?mail)\S{0,30})"
)
_NL_LIST = (
    r"(?:\S{0,30}lijst\w*|\S{0,30}bestand\w*|database|nieuwsbrie\w+|mailings?|adressen\w*|systeem)"
)

_NL_RULES = (
    _rule(
        "nl.afmelden",
        "afmelden / afmelding / meld me af (not when the sentence is about logging out)",
        r"\b(?:afmelden|afmelding\w*|afgemeld|afmeld\w*)\b",
        r"\bmeld (?:\S+ )?(?:me|mij|ons|mezelf|mijzelf) (?:\S+ ){0,4}?af\b",
        unless=_OTHER_SENSE,
    ),
    _rule(
        "nl.uitschrijven",
        "uitschrijven / uitgeschreven / schrijf me uit",
        r"\b(?:uitsch?r?ijv\w*|uitgesch?r?even|uit te sch?r?ijven)\b",
        r"\bschrijf (?:\S+ )?(?:me|mij|ons|mezelf) (?:\S+ ){0,4}?uit\b",
    ),
    _rule(
        "nl.geen_mail",
        "geen (e-)mails / nieuwsbrief / reclame meer; ik wil geen reclame; alleen facturen",
        rf"\bgeen (?:\S+ ){{0,2}}?{_NL_MAIL}\S{{0,30}}(?: \S+){{0,4}}? (?:meer|langer)\b",
        rf"\b(?:wil|wens|hoef)\w* (?:\S+ ){{0,2}}?geen (?:\S+ )?{_NL_MAIL}\b",
        r"\b(?:ontvang\w*|krijg\w*|niks|niets|communicatie|mails?)\b[^.!?]{0,60}?\b(?:alleen"
        r"|enkel|behalve|uitgezonderd|buiten) (?:nog )?(?:de |mijn )?facturen\b",
    ),
    _rule(
        "nl.niet_meer_mailen",
        "niet meer (ge)mailen / niet langer mails; mail me niet meer",
        rf"\bniet (?:meer|langer) (?:\S+ ){{0,3}}?(?:ge-?maild|(?:e-?)?mailen|{_NL_MAIL}"
        rf"|(?:ge)?contacte\w*|benader\w*|lastig\w*)\b",
        r"\b(?:niks|niets) meer (?:\S+ ){0,3}?(?:ontvangen|krijgen|sturen)\b",
        r"\b(?:e-?)?mail (?:me|mij|ons) niet meer\b",
        r"\bstuur (?:\S+ )?(?:me|mij|ons) (?:\S+ ){0,2}?(?:niks|niets|geen \S+) meer\b",
    ),
    _rule(
        "nl.van_de_lijst",
        "haal / verwijder me (of mijn adres) van / uit de (mailing)lijst of het bestand",
        rf"\b{_NL_OBJ} (?:\S+ ){{0,2}}?(?:van|uit) (?:(?:de|het|uw|jullie|je|deze|die|alle"
        rf"|jouw) )?(?:\S+ )?{_NL_LIST}\b",
        r"\bvan (?:uw|jullie|je) (?:\S+ )?\S{0,30}lijst\w* (?:\S+ )?af\b",
        r"\bvan (?:de|het|uw|jullie|je|die|deze|dat) (?:\S+ )?(?:mailing ?lijst|verzendlijst"
        r"|mailbestand|adressenbestand|e-?maillijst|nieuwsbrie\w+|mailings?|reclame\w*|mails)"
        r" (?:\S+ )?af\b",
        r"\b(?:wil|wens|graag|gelieve) (?:\S+ ){0,3}?(?:uit|van|af) (?:de|het|uw|jullie|je)"
        r" (?:mailing ?lijst|verzendlijst|mailbestand|adressenbestand|e-?maillijst|nieuwsbrie\w+)",
        r"\b(?:verwijder\w*|schrap\w*) (?:me|mij|mijn (?:e-? ?mail ?adres|e-?mailadres|emailadres"
        r"|mailadres|adres|e-? ?mail)) ?(?:aub|a\.u\.b\.?|ajb|alsjeblieft|alstublieft|graag|nu"
        r"|direct|meteen)? ?(?:[.!]|$)",
        r"\bvergeet (?:me|mij|ons)\b",
    ),
    _rule(
        "nl.stop_met_mailen",
        "stop / hou op met mailen, sturen, spam, nieuwsbrieven",
        rf"\b(?:stop\w*|hou\w* op|ophouden|kap\w*) (?:\S+ )?met (?:\S+ ){{0,3}}?(?:mailen"
        rf"|e-?mailen|sturen|versturen|verzenden|spam\w*|{_NL_MAIL})\b",
        rf"\bstop (?:de|die|jullie|uw|alle) (?:\S+ )?{_NL_MAIL}\b",
    ),
    _rule(
        "nl.mail_then_stop",
        "mail mentioned, then a clause that is only 'stop (ermee)'",
        _mail_then_stop(
            r"(?:e-? ?mails|mails|mailtjes|nieuwsbrie\w+|reclame|spam)",
            r"(?:stop(?:pen)?|hou op|ophouden)",
            r"(?:ermee|daarmee|hiermee|nu|aub|a\.u\.b\.?|ajb|alstublieft|graag|nou|dan)",
        ),
    ),
    _rule(
        "nl.bezwaar",
        "bezwaar (maken) tegen reclame / mail",
        rf"\bbezwaar\b.{{0,60}}?\b(?:direct ?marketing|{_NL_MAIL})",
    ),
    _rule(
        "nl.toestemming_intrekken",
        "ik trek mijn toestemming in / toestemming intrekken",
        r"\btrek\w* (?:\S+ ){0,3}?toestemming (?:\S+ ){0,6}?in\b",
        r"\btoestemming (?:\S+ ){0,3}?(?:in ?trekken|ingetrokken|intrek\w*)",
        r"\b(?:intrek\w*|ingetrokken) (?:\S+ ){0,3}?toestemming",
    ),
)

_FR_VERB_REMOVE = (
    r"(?:retir\w*|supprim\w*|enlev\w*|radi\w*|effac\w*|sort\w*|desinscri\w*|ot(?:er|ez)"
    r"|exclu\w*)"
)
_FR_LIST = (
    r"(?:(?:votre|vos|la|les|ce|cette|ces|tous|toutes|notre) )?(?:\S+ )?(?:listes?\b|fichiers?"
    r"|bases?\b|mailing\w*|diffusion|newsletters?|envois?|campagnes?|e-?mailing)"
)

_FR_RULES = (
    _rule("fr.desabonner", "désabonner / désabonnement", r"\bdes-?abo(?:nn)?\w*"),
    _rule("fr.desinscrire", "désinscrire / désinscription", r"\bdes-?inscri\w*|\bdesincri\w*"),
    _rule(
        "fr.ne_plus_recevoir",
        "ne plus recevoir / ne plus m'envoyer / ne m'envoyez plus / ne plus être contacté",
        r"\bne (?:\S+ ){0,3}?plus (?:\S+ ){0,2}?(?:recevoir|etre destinataire"
        r"|etre \S{0,30}(?:contact"
        r"|sollicit|derang"
        r"|spamm)\w*|m'envoyer|m'ecrire|me (?:contacter|solliciter|deranger|spammer|mailer"
        r"|envoyer|ecrire)|nous (?:contacter|envoyer|ecrire))",
        r"\bne (?:m'|me |nous )?(?:envoy\w*|ecriv\w*|contact\w*|mail\w*|spam\w*) plus\b",
    ),
    _rule(
        "fr.plus_de_mails",
        "plus de mails / courriels / newsletter; fini les mails",
        rf"\b(?:plus|assez) (?:de|d'|aucun\w*) ?(?:(?:vos|ces|tes) )?{_FR_MAIL}\b",
        rf"\bfini (?:les|vos|ces) {_FR_MAIL}\b",
    ),
    _rule(
        "fr.arretez_envoyer",
        "arrêtez / cessez de m'envoyer, m'écrire, me contacter; stop aux mails",
        r"\b(?:arret\w*|cess\w*|stopp\w*) (?:donc |svp |immediatement )?(?:de |d')(?:m'|me "
        r"|nous )?(?:envoyer|ecrire|contacter|spammer|solliciter|harceler|mailer|relancer"
        r"|inonder)",
        rf"\b(?:arret\w*|cess\w*) (?:tout|tous|toute|toutes|les|vos|ces) (?:\S+ )?(?:envois?"
        rf"|{_FR_MAIL})\b",
        rf"\bstop (?:aux?|a la|a vos|les|vos|a) {_FR_MAIL}\b",
    ),
    _rule(
        "fr.mail_then_stop",
        "mail mentioned, then a clause that is only 'arrêtez' / 'stop'",
        _mail_then_stop(
            r"(?:e-? ?mails|mails|courriels|newsletters?|pubs|publicites|spams?)",
            r"(?:arretez|cessez|stop|stoppez)",
            r"(?:immediatement|tout de suite|maintenant|svp|s'il vous plait|ca|tout|cela|merci)",
        ),
    ),
    _rule(
        "fr.retirez_moi",
        "retirez-moi / supprimez-moi / enlevez-moi / oubliez-moi",
        r"\b(?:retire[zr]?|supprime[zr]?|enleve[zr]?|radie[zr]?|efface[zr]?|sorte[zr]"
        r"|desinscrive[zr]|oubliez|otez|excluez)[- ](?:moi|nous)\b",
        r"\bm'oublier\b",
    ),
    _rule(
        "fr.retirer_de_liste",
        "me retirer de la liste; supprimer mon adresse de votre fichier; être retiré;"
        " que les factures",
        rf"(?:\bm'|\bme |\bnous ){_FR_VERB_REMOVE} (?:\S+ )?(?:de|des|du|d') ?{_FR_LIST}",
        rf"\b{_FR_VERB_REMOVE} (?:mon|mes) (?:adresse|e-? ?mail|mail|courriel|nom|coordonnees"
        rf"|donnees|contact)\S{{0,30}} (?:\S+ ){{0,3}}?(?:de|des|du|d') ?{_FR_LIST}",
        r"\betre (?:\S+ )?(?:retire|supprime|radie|enleve|desinscrit|desabonne)e?s?\b",
        rf"\b(?:suppression|retrait|radiation) (?:de|d') ?(?:mon|mes|ma) (?:\S+ ){{0,3}}?"
        rf"(?:de|des|du"
        rf"|d') ?{_FR_LIST}",
        r"\b(?:recevoir|recois|envoyer|envoyez) (?:\S+ ){0,2}?que (?:les |mes |vos )?factures\b",
    ),
    _rule(
        "fr.refus_opposition",
        "je refuse de recevoir; je m'oppose à la prospection; retire mon consentement; marre",
        r"\brefuse\w* (?:\S+ ){0,2}?(?:recevoir|d'etre contact)",
        rf"\boppos\w*\b.{{0,80}}?\b(?:prospection|marketing|commerc\w*|{_FR_MAIL})",
        r"\b(?:retir\w*|revoqu\w*) (?:mon |le )?consentement",
        rf"\bmarre\b.{{0,40}}?\b{_FR_MAIL}",
        r"\b(?:vos|ces|tes) spams?\b",
    ),
)

_DE_OBJ = r"(?:mich|uns|meine (?:\S+ )?(?:\S{0,30}adresse|daten|kontaktdaten|\S{0,30}mail\S{0,30}))"
_DE_LIST = (
    r"(?:\S{0,30}liste\w*|\S{0,30}verteiler\w*|\S{0,30}newsletter\w*|datenbank|\S{0,30}kartei|adressbestand"
    r"|\S{0,30}datei|system|\S{0,30}mailing\w*)"
)

_DE_RULES = (
    _rule(
        "de.abmelden",
        "abmelden / Abmeldung / melden Sie mich ab (not when the sentence is about logging out)",
        r"\b(?:abmelden|abmeldung\w*|abgemeldet|abmelde)\b",
        r"\bmeld\w* (?:\S+ ){0,2}?(?:mich|uns) (?:\S+ ){0,4}?ab\b",
        unless=_OTHER_SENSE,
    ),
    _rule(
        "de.abbestellen",
        "abbestellen; Newsletter kündigen",
        r"\babbestell\w*|\bbestell\w* (?:\S+ ){0,4}?(?:newsletter\w*|werb\w*|mails?) (?:\S+ )?ab\b",
        r"\b(?:newsletter\w*|werb\w*|e-?mails?|mailing\w*) (?:\S+ ){0,2}?(?:kundig\w*|kuendig\w*"
        r"|stornier\w*)",
        r"\b(?:kundig|kuendig)\w* (?:\S+ ){0,3}?(?:newsletter|werb|mailing)",
    ),
    _rule(
        "de.austragen",
        "austragen / Austragung / tragen Sie mich aus",
        r"\b(?:austrag\w*|ausgetragen)\b",
        r"\btrag\w* (?:\S+ ){0,2}?(?:mich|uns|meine (?:\S+ )?\S{0,30}(?:adresse|mail\S{0,30}))"
        r" (?:\S+ ){0,4}?"
        r"aus\b",
    ),
    _rule(
        "de.keine_werbung",
        "keine Werbung / E-Mails / Newsletter mehr; keine weiteren E-Mails; ich will keine"
        " Werbung; nur Rechnungen",
        rf"\bkein\w* (?:\S+ ){{0,2}}?{_DE_MAIL}\S{{0,30}}(?: \S+){{0,4}}? mehr\b",
        rf"\bkein\w* weiter\w* (?:\S+ )?{_DE_MAIL}\b",
        rf"\b(?:will|wollen|m(?:o|oe)chte\w*|w(?:u|ue)nsche\w*|brauche) (?:\S+ ){{0,2}}?kein\w*"
        rf" (?:\S+ )?{_DE_MAIL}\b",
        r"\b(?:will|m(?:o|oe)chte\w*|bekomm\w*|erhalt\w*|schick\w*|send\w*) (?:\S+ ){0,3}?nur"
        r" (?:noch )?(?:die |meine )?rechnungen\b",
    ),
    _rule(
        "de.nicht_mehr",
        "ich will den Newsletter nicht mehr; nicht mehr angeschrieben werden",
        rf"\b(?:will|wollen|m(?:o|oe)chte\w*|w(?:u|ue)nsche|brauche) (?:\S+ ){{0,3}}?{_DE_MAIL}"
        rf" nicht mehr\b",
        r"\bnicht mehr (?:\S+ ){0,3}?(?:angeschrieben|kontaktiert|angemailt|gemailt|beworben"
        r"|belastigt|zugespammt|angesprochen|anschreiben|anmailen|kontaktieren|belastigen"
        r"|zuspammen|zumullen|(?:zu|an)?(?:e-?)?mailen)\b",
        rf"\b(?:will|wollen|m(?:o|oe)chte\w*|brauche) (?:\S+ ){{0,3}}?{_DE_MAIL}\S{{0,30}}"
        rf" (?:\S+ )?"
        rf"nicht\b",
        r"\b(?:schick|send|mail|schreib)\w* (?:sie |ihr )?(?:mir|uns) (?:\S+ ){0,2}?(?:nichts|keine"
        r" \S+) mehr\b",
    ),
    _rule(
        "de.hoeren_sie_auf",
        "hören Sie auf, mir zu schreiben / mailen / E-Mails zu schicken",
        r"\bh(?:o|oe)r\w* (?:\S+ ){0,3}?auf\b.{0,40}?(?:schreib\w*|(?:e-?)?mail\w*|schick\w*"
        r"|send\w*|kontakt\w*|anzuschreiben|spam\w*|werb\w*|newsletter\w*|zu belastigen)",
    ),
    _rule(
        "de.entfernen_sie_mich",
        "entfernen / löschen / streichen Sie mich (meine Adresse) aus der Liste, dem Verteiler",
        rf"\b(?:entfern\w*|l(?:o|oe)sch\w*|streich\w*|nehm\w*|nimm|nehmt) (?:\S+ ){{0,2}}?"
        rf"{_DE_OBJ} (?:\S+ ){{0,2}}?(?:aus|von|vom) (?:\S+ )?{_DE_LIST}\b",
        rf"\b(?:von|aus|vom) (?:(?:der|dem|ihrer|ihrem|eurer|eurem|dieser|diesem) )?{_DE_LIST}"
        rf" (?:\S+ )?(?:zu )?(?:nehmen|streichen|entfernen|l(?:o|oe)schen|austragen|werfen"
        rf"|raus\w*|runter\w*)\b",
        r"\bvergessen sie mich\b",
        r"\b(?:entfern|l(?:o|oe)sch|streich)\w* (?:sie )?(?:mich|meine (?:e-?mail-?)?adresse)"
        r" ?(?:bitte|sofort)? ?(?:[.!]|$)",
    ),
    _rule(
        "de.widerspruch",
        "Widerspruch gegen Werbung; Widerruf der Einwilligung",
        r"\bwidersp\w*\b.{0,80}?\b(?:werb\w*|marketing|newsletter\w*|e-?mail\w*|mail\w*"
        r"|zusendung\w*)",
        r"\bwiderr\w*\b.{0,60}?\b(?:einwilligung\w*|werb\w*|newsletter\w*|marketing)",
    ),
    _rule("de.in_ruhe_lassen", "lassen Sie mich in Ruhe",
          r"\blass\w* (?:sie )?(?:mich|uns) (?:\S+ ){0,2}?in ruhe\b"),
    _rule(
        "de.zusendung_stoppen",
        "stoppen / unterlassen / untersagen / stellen Sie die Zusendung von Werbung, E-Mails ein",
        r"\b(?:stopp\w*|unterlass\w*|unterbind\w*|untersag\w*|verbiet\w*|verbitte\w*)"
        r" (?:\S+ ){0,3}?(?:zusendung\w*|werb\w*|(?:e-?)?mails?\b|newsletter\w*|spam\w*)",
        r"\bstell\w* (?:\S+ ){0,2}?(?:die|den|das|alle|jede|jegliche) (?:\S+ ){0,3}?(?:zusendung"
        r"|werb|newsletter|e-?mail|mail)\S{0,30} (?:\S+ ){0,3}?ein\b",
    ),
)

_ES_LIST = (
    r"(?:(?:su|sus|la|las|el|los|esta|este|vuestra|tu|tus) )?(?:\S+ )?(?:lista\w*|base\w*"
    r"|boletin\w*|newsletter\w*|envios|mailing\w*|distribucion|registro\w*|sistema"
    rf"|{_ES_MAIL})"
)
_ES_VERB_REMOVE = r"(?:elimin|quit|sac|saqu|borr|retir|exclu|remuev)"

_ES_RULES = (
    _rule(
        "es.darse_de_baja",
        "darme / denme / me doy de baja",
        r"\b(?:darme|darnos|darse|darle|dame|denme|denos|deme|dese) de baja\b",
        r"\b(?:me|nos) (?:\S+ ){0,2}?(?:dar|den|de|doy|dan|des|das|damos|dieran|diera|dio"
        r"|dieron|di|dimos|diste) de baja\b",
        r"\bbaj(?:en|e|a|ar)(?:me|nos)\b",
        unless=_OTHER_SENSE,
    ),
    _rule(
        "es.baja",
        "solicito la baja; baja del boletín; dar de baja este correo; a message that is 'BAJA'",
        r"\b(?:solicit\w*|pid\w*|ped\w*|quiero|quisiera|deseo|tramit\w*|confirm\w*|proces\w*"
        r"|gestion\w*) (?:la|mi) baja\b",
        r"^\W*(?:dar(?:me|se)? de )?baja\W*(?:(?:por favor|gracias|ya|inmediata|urgente)\W*)*$",
        rf"\bbaja (?:de|del|de la|de los|de las|en) (?:\S+ ){{0,2}}?(?:{_ES_MAIL}|lista\w*"
        rf"|suscripci\w*)",
        rf"\bdar de baja (?:\S+ ){{0,2}}?(?:{_ES_MAIL}|direccion|lista\w*)",
    ),
    _rule(
        "es.desuscribir",
        "desuscribir(me) / desubscribir",
        r"\bdes-?s?u(?:b?s)?cri\w*|\bdesubscri\w*",
    ),
    _rule(
        "es.no_quiero_recibir",
        "no quiero / no deseo recibir (más) correos; no deseo seguir recibiendo",
        rf"\bno (?:\S+ )?(?:quiero|deseo|quisiera|queremos|deseamos|necesito) (?:seguir )?"
        rf"(?:recib\w+|tener) (?:\S+ ){{0,2}}?(?:mas\b|ningun\w*|nada\b|{_ES_MAIL})",
        rf"\bno (?:quiero|deseo|queremos) (?:\S+ )?{_ES_MAIL}\b",
        r"\b(?:recibir|quiero|deseo|envien|manden) (?:\S+ ){0,3}?(?:solo|solamente|unicamente)"
        r" (?:las |mis )?facturas\b|\b(?:solo|solamente|unicamente) (?:quiero|deseo) (?:recibir )?"
        r"(?:las |mis )?facturas\b",
    ),
    _rule(
        "es.no_mas_correos",
        "no (me envíen) más correos / publicidad",
        rf"\bno (?:\S+ ){{0,3}}?mas (?:\S+ )?{_ES_MAIL}\b",
    ),
    _rule(
        "es.no_me_envien",
        "no me envíen / manden / escriban; no me sigan enviando",
        r"\bno (?:me|nos) (?:sigan|siga|sigas|vuelvan|vuelva) (?:a )?(?:env|mand|escrib|contact"
        r"|llam|molest)\w*",
        r"\bno (?:me|nos) (?:envien|envie|envies|manden|mande|mandes|escriban|escriba"
        r"|contacten|contacte|molesten|spameen)\b",
    ),
    _rule(
        "es.dejen_de_enviar",
        "dejen de enviarme / escribirme / contactarme; dejen de mandar correos",
        r"\bdej\w* de (?:env|mand|escrib|contact|molest|spam|llam)\w*(?:me|nos)\b",
        rf"\bdej(?:en|e|ar|ad|es) de (?:enviar|mandar) (?:\S+ ){{0,2}}?{_ES_MAIL}",
        rf"\bdejar de recib\w* (?:\S+ ){{0,2}}?{_ES_MAIL}",
    ),
    _rule(
        "es.eliminenme",
        "elimínenme / quítenme / sáquenme de la lista; salir de la lista; olvídenme",
        rf"\b{_ES_VERB_REMOVE}\w*(?:me|nos) (?:de|del) {_ES_LIST}",
        rf"\b{_ES_VERB_REMOVE}\w*(?:me|nos) ?(?:[.!]|$)",
        rf"\bsal(?:ir|irme|irnos|go) de {_ES_LIST}",
        rf"\b(?:me|nos) (?:\S+ )?{_ES_VERB_REMOVE}\w* (?:de|del) {_ES_LIST}",
        r"\bolvid\w*(?:me|nos)\b",
        rf"\b{_ES_VERB_REMOVE}\w* (?:mi|mis) (?:correo|email|e-?mail|direccion|datos|nombre"
        rf"|contacto)\S{{0,30}} (?:\S+ ){{0,3}}?(?:de|del) {_ES_LIST}",
    ),
    _rule(
        "es.oposicion",
        "me opongo al envío de publicidad; retiro mi consentimiento",
        rf"\b(?:me opongo|oposicion)\b.{{0,80}}?\b(?:comercial\w*|marketing|envio\w*|{_ES_MAIL})",
        r"\b(?:retir\w*|revoc\w*) (?:mi |el )?consentimiento",
    ),
    _rule(
        "es.cancelar_suscripcion",
        "cancelar / anular la suscripción al boletín, a los correos",
        rf"\b(?:cancel\w*|anul\w*|termin\w*) (?:\S+ ){{0,2}}?suscripci\w* (?:a|al|de|del|en"
        rf"|con) (?:\S+ ){{0,2}}?(?:{_ES_MAIL}|lista\w*)",
    ),
    _rule(
        "es.harto_spam",
        "harto de su spam / correos; basta de correos",
        rf"\bhart[oa]s?\b.{{0,40}}?\b{_ES_MAIL}",
        r"\b(?:su|sus|tu|tus|vuestro|vuestros|este|estos|tanto) spam\b",
        rf"\bbasta (?:ya )?(?:de|con) (?:\S+ )?{_ES_MAIL}",
    ),
)

# --------------------------------------------------------------------------- topic + cue
# The explicit rules above know phrasings; customers invent new ones. These rules fire when one
# sentence has both a marketing-mail *topic* ("newsletter", "Werbung", "your emails", "sus
# correos") and a *cessation cue* ("no longer", "niet meer", "ne ... plus", "kein ... mehr",
# "ya no", remove, stop, enough). They stand down when that sentence reads as a malfunction
# report ("the newsletter link does not work any more"); the explicit rules never do.

_MALFUNCTION = re.compile(
    r"\b(?:works?|working|broken|errors?|bugs?|crash\w*|links?|buttons?|loads?|loading"
    r"|werkt|kapot|fout\w*|knop\w*|fonctionn\w*|marche|cass[ee]s?|erreurs?|liens?|boutons?"
    r"|funktionier\w*|geht nicht|kaputt|fehler\w*|kn(?:o|oe)pf\w*|funciona\w*|rot[oa]s?"
    r"|enlaces?|botone?s?|carga\w*)\b"
)


_TOPIC_ANY = (
    r"(?:newsletters?|nieuwsbrie\w+|lettres? d'information|boletin\w*|boletines|marketing"
    r"|reclame\w*|werb\w*|publicit\w*|publicidad\w*|pubs?|promo\w*|spam|mailings?|e-? ?mails?"
    r"|mails?|courriels?|correos?)"
)
_POLITE = (
    r"(?:please|pls|thanks|thank you|svp|aub|ajb|alstublieft|alsjeblieft|graag|bedankt|bitte"
    r"|danke|merci|s'il vous plait|s'il te plait|por favor|gracias)"
)


def _topic_rule(rule_id: str, description: str, topic: str, cue: str) -> Rule:
    return _rule(
        rule_id,
        description,
        rf"\b{topic}\b[^.!?;]{{0,80}}?\b{cue}",
        rf"\b{cue}[^.!?;]{{0,80}}?\b{topic}\b",
        unless=_MALFUNCTION,
        requires=re.compile(rf"\b{topic}\b"),
    )


_TOPIC_RULES = (
    *(
        _rule(
            f"{lang}.polite_refusal",
            f"'{negators.replace('|', ' / ')}' + marketing mail + please / thanks",
            rf"\b(?:{negators}) (?:\S+ )?{_TOPIC_ANY}\S{{0,30}}\W*(?:\S+ ){{0,2}}?{_POLITE}\b",
            rf"\b{_POLITE},? (?:{negators}) (?:\S+ )?{_TOPIC_ANY}\b",
        )
        for lang, negators in (
            ("en", "no"),
            ("nl", "geen"),
            ("fr", "pas de|plus de"),
            ("de", "kein|keine|keinerlei"),
            ("es", "no|sin|ninguna|ninguno|nada de"),
        )
    ),
    _topic_rule(
        "en.mail_topic_cessation",
        "newsletter / marketing / your emails + stop, no longer, rather not, remove, enough",
        r"(?:newsletters?|news ?letters?|marketing|promotional \S+|promotions|advert\w*|ads"
        r"|advertising|(?:your|this|all this|all the|such) spam|spam from you|junk ?mail\w*"
        r"|mailings?|mailing ?lists?|sales (?:e-? ?mails?|mails?)"
        r"|promo (?:e-? ?mails|mails|messages|stuff|spam)|digests?"
        r"|offers|(?:your|these|those|all (?:these|those|your|the)|so many|too many|constant"
        r"|endless) (?:\S+ )?(?:e-? ?mails|emials|mails)|(?:daily|weekly|monthly) (?:\S+ )?"
        r"(?:e-? ?mails?|mails?)|your (?:\S+ )?(?:messages"
        r"|updates)|(?:e-? ?mails|mails) from you)",
        r"(?:stop\b|stopping|cease|desist|quit|halt|refrain|no more|no further|any ?more"
        r"|any longer|no longer|rather not|prefer(?:red)? not|(?:do not|don't|dont|never|not)"
        r" (?:\S+ )?(?:want|wish|need|like|consent|agree|send|e-?mail|contact)|not interested"
        r"|remov(?:e|es|ed|ing)\b|delete\b|deleting|unlist\w*|drop\b|disable\b|cut it out"
        r"|(?:i'm|i am|im) done with"
        r"|kill\w*|(?:turn|switch|shut) (?:\S+ )?off|take \S+ off|off (?:your|the|this|all) "
        r"|out of "
        r"|enough|sick of|tired of|fed up|unwanted|unsolicited|never (?:asked|signed|subscribed"
        r"|agreed|opted)|without (?:my )?(?:consent|permission)|withdraw\w*|revok\w*|cancel\w*"
        r"|annoy\w*|harass\w*|bombard\w*|flood\w*)",
    ),
    _topic_rule(
        "nl.mail_topic_cessation",
        "nieuwsbrief / reclame / jullie mails + niet meer, hoeft niet, verwijder, genoeg",
        r"(?:nieuwsbrie\w+|newsletters?|reclame\w*|marketing\w*|spam|aanbiedingen|mailings?"
        r"|\S{0,30}mailinglijst\w*|verzendlijst\w*|promoties|commerciele \S+|(?:jullie|uw|je|jouw"
        r"|deze|die|al die|zoveel|zo veel|te ?veel|dagelijkse|wekelijkse) (?:\S+ )?"
        r"(?:e-? ?mails|mails"
        r"|mailtjes|berichten)|(?:e-? ?)?mails? van jullie)",
        r"(?:stop\b|stoppen|hou\w* op|ophouden|kappen|geen (?:\S+ )?meer|niet meer|niet langer"
        r"|hoef\w*|hoeven|niks meer|niets meer|geen (?:prijs|interesse|behoefte|zin)|verwijder\w*"
        r"|haal|halen|afhalen|schrap\w*|genoeg|\S{0,30}zat\b|\S{0,30}beu\b"
        r"|nooit (?:aangemeld|gevraagd"
        r"|ingeschreven|toestemming)|zonder (?:mijn )?toestemming|ongevraagd|ongewenst"
        r"|intrek\w*|ingetrokken|opzeg\w*|wil (?:\S+ )?niet|bezwaar|(?:mag|kan|moet) (?:\S+ ){0,3}?"
        r"(?:weg|stoppen|ophouden)\b)",
    ),
    _topic_rule(
        "fr.mail_topic_cessation",
        "newsletter / publicité / vos mails + ne ... plus, arrêter, retirer, marre",
        r"(?:newsletters?|lettres? d'information|pubs?|publicit\w*|prospection|marketing|spams?"
        r"|sollicitations?|mailings?|e-?mailings?|campagnes? d'e-?mailing|listes? de diffusion"
        r"|listes? d'envoi|(?:offres?"
        r"|communications?|envois?|courriels?|mails?|e-? ?mails?|messages?|informations?)"
        r" (?:\S+ )?(?:commercia\w*|publicitaires?|promotion\w*|marketing)|promotions"
        r"|(?:vos|ces|tous ces|tes|trop de) (?:\S+ )?(?:e-? ?mails|mails|courriels|messages"
        r"|envois|offres|communications))",
        r"(?:arret\w*|cess\w*|stop\b|stopp\w*|plus (?:de|d'|aucun)|ne \S+ plus\b|ne plus\b"
        r"|n'\S+ plus\b|plus jamais|interess\w* (?:pas|plus)|pas interess\w*|marre|assez"
        r"|ras le bol|suffit|retir\w*|supprim\w*|enlev\w*|radi\w*|jamais (?:demande|inscrit"
        r"|abonne|accepte)|sans (?:mon )?(?:consentement|accord|autorisation)|refus\w*"
        r"|oppos\w*|trop de|ne (?:veux|souhaite|desire) pas|resili\w*|annul\w*|suppression"
        r"|retrait|radiation|exclu\w*|desactiv\w*)",
    ),
    _topic_rule(
        "de.mail_topic_cessation",
        "Newsletter / Werbung / Ihre Mails + nicht mehr, kein Interesse, entfernen, genug",
        r"(?:newsletter\w*|werb\w*|marketing\w*|spam\w*|reklame|angebote|mailings?"
        r"|\S{0,30}verteiler\w*|(?:mailing|e-?mail|mail|newsletter|adress|kontakt|werbe|marketing)"
        r"\S{0,30}liste\w*|zusendung\w*|(?:ihre|ihren|ihrer|eure|euren|eurer|diese|diesen|dieser"
        r"|so viele|st(?:a|ae)ndig|t(?:a|ae)glich) (?:\S+ )?(?:e-? ?mails|mails|nachrichten))",
        r"(?:stop\w*|aufh(?:o|oe)r\w*|h(?:o|oe)r\w* (?:\S+ ){0,3}?auf\b|kein\w* (?:\S+ ){0,2}?mehr"
        r"|nicht mehr|nichts mehr|nicht l(?:a|ae)nger|kein(?:erlei)? interesse|unterlass\w*"
        r"|einzustellen|einstellen\b|eingestellt|entfern\w*|l(?:o|oe)sch\w*|streich\w*|genommen"
        r"|runter\w*|raus(?:nehm\w*|werf\w*|streich\w*|\b)|genug|reicht|nie (?:angemeldet"
        r"|bestellt|abonniert|zugestimmt)|ohne (?:meine )?(?:einwilligung|zustimmung|erlaubnis)"
        r"|ungefragt|unerw(?:u|ue)nscht|bel(?:a|ae)stig\w*|will (?:\S+ )?nicht"
        r"|m(?:o|oe)chte (?:\S+ )?nicht|k(?:u|ue)ndig\w*|widersp\w*|widerruf\w*|verzicht\w*"
        r"|untersag\w*|verbiet\w*|verschon\w*|deaktivier\w*|abstell\w*|abschalt\w*"
        r"|schluss mit)",
    ),
    _topic_rule(
        "es.mail_topic_cessation",
        "boletín / publicidad / sus correos + ya no, basta, quitar, no quiero",
        r"(?:boletin\w*|boletines|newsletters?|publicidad\w*|promociones|ofertas|spam|marketing"
        r"|comunicaciones comerciales|informacion comercial|\w{1,30} comerciales|lista de (?:correo"
        r"|envio|distribucion)\w*|(?:sus|tus|vuestros|estos|tantos|esos) (?:\S+ )?(?:correos"
        r"|e-? ?mails|mails|mensajes|envios))",
        r"(?:basta|dej\w* de|ya no|no (?:quiero|deseo|quisiera|me interesa\w*|necesito|acepto"
        r"|autorizo)|no (?:me|nos) (?:\S+ )?mas|no mas|nada mas|nunca (?:pedi|me suscribi"
        r"|me inscribi|autorice|solicite)|sin (?:mi )?(?:consentimiento|permiso|autorizacion)"
        r"|hart[oa]s?|cansad[oa]s?|elimin\w*|borr\w*|quit\w*|saqu\w*|sac(?:ar|a|en|ad)\w*"
        r"|retir\w*|baja|desuscri\w*|cancel\w*|anul\w*|deten\w*|paren|parar|suficiente"
        r"|salir)",
    ),
)

RULES: tuple[Rule, ...] = (
    _EN_RULES + _NL_RULES + _FR_RULES + _DE_RULES + _ES_RULES + _TOPIC_RULES
)
"""All rules, in the order they are tried. Ids are stable evidence: never rename or reuse."""

LANGUAGES: frozenset[str] = frozenset(rule.language for rule in RULES)
"""ISO 639-1 codes of the languages covered."""


def detect_opt_out(text: str) -> OptOutMatch | None:
    """The first rule that finds a request to stop mail in ``text``, or ``None``.

    Pure: no I/O, no state. The result never contains any of the input text.
    """
    normalised = normalise(text)
    if not normalised:
        return None
    for rule in RULES:
        if rule.search(normalised):
            return OptOutMatch(rule=rule.id, language=rule.language)
    return None
