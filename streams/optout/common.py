"""The rule set every language runs, in order, and the words every language shares.

Order matters only between outcomes: re-subscribe requests are looked for first (a message
saying "I unsubscribed by mistake" also holds the word "unsubscribed"), then explicit opt-outs,
then the weaker signs that give ``POSSIBLE_OPT_OUT``. Within a group the first rule that matches
without a veto names the evidence.
"""

from streams.optout.model import Outcome
from streams.optout.rules import (
    Rule,
    anywhere,
    bare,
    brief,
    ending,
    inside,
    near,
    nowhere,
    rule,
    together,
    when,
    without,
)
from streams.optout.tags import (
    ABLE,
    AGAIN,
    ALONE,
    ASK,
    CANCEL,
    COMMAND,
    CONSENT,
    CONTACT,
    ELSE,
    EXASP,
    EXCEPT,
    FEATURE,
    FILLER,
    FLOOD,
    GET,
    KEEP,
    LEAVE,
    LEGAL,
    LIST,
    MAIL,
    MALFUNCTION,
    MEANS,
    MEDIUM,
    MISTAKE,
    MORE,
    NAG,
    NEG,
    NOBODY,
    NOT_MAIL,
    OBJECT,
    OWNER,
    PERSON,
    POSITIVE,
    RECEIVE,
    REFUSE,
    REMOVE,
    REPLY,
    RESUB,
    SIGH,
    STOP,
    STOPWORD,
    SUBNOUN,
    SUBORD,
    SUBSCRIBE,
    UNDO,
    UNSUB,
    WANT,
    WHY,
)

OPT, MAYBE, BACK = Outcome.OPT_OUT, Outcome.POSSIBLE_OPT_OUT, Outcome.RESUBSCRIBE
_REQUEST = (COMMAND, UNSUB, STOP, REMOVE)
_SOFT = (FILLER, PERSON, EXASP)

RESUBSCRIBE_RULES: tuple[Rule, ...] = (
    rule("resubscribe", BACK, anywhere(RESUB)),
    rule("unsubscribed_by_mistake", BACK, near(MISTAKE, (UNSUB, REMOVE, SUBSCRIBE), window=10)),
    rule("undo_unsubscribe", BACK, near(UNDO, UNSUB, window=5)),
    rule("subscribe_again", BACK,
         without(inside(near(AGAIN, (SUBSCRIBE, RECEIVE, GET), window=4), WANT, FILLER, ABLE),
                 NEG, STOP)),
)
"""Strong signs of a re-subscribe request: they win over any opt-out rule."""

KEEP_RULES: tuple[Rule, ...] = (
    rule("keep_receiving", BACK, without(near(WANT, KEEP, (RECEIVE, GET), window=5), NEG, STOP)),
)
"""A weak sign ("I want to keep receiving X"): counts only when no opt-out rule fired, since
"unsubscribe me from A, I want to keep receiving B" is an opt-out."""

OPT_OUT_RULES: tuple[Rule, ...] = (
    rule("legal_objection", OPT, anywhere(LEGAL), "own"),
    rule("object", OPT, near(OBJECT, (MAIL, CONSENT, CONTACT), window=12), "own feature"),
    # "Kunde lehnt weitere Werbung ab", "refuses any further marketing": a refusal names an
    # objection only with "further" - "wir lehnen das Angebot ab" declines a quote
    rule("refuse_more", OPT, near(REFUSE, MORE, (MAIL, CONTACT), window=6), "own feature"),
    rule("unsubscribe", OPT, anywhere(UNSUB), "own feature missing"),
    rule("leave_me_alone", OPT, anywhere(ALONE)),
    rule("bare_request", OPT, bare(_REQUEST, _SOFT)),
    rule("stop_mail", OPT, near(STOP, MAIL, window=6), "own feature malfunction"),
    rule("stop_contacting_me", OPT, near(STOP, CONTACT, PERSON, window=6),
         "own feature able instead time"),
    rule("withdraw_consent", OPT, near((OBJECT, REMOVE, CANCEL, STOP), CONSENT, window=4),
         "own feature negated"),
    rule("no_more_mail", OPT, near(NEG, MORE, (MAIL, CONTACT), window=6, commas=False),
         "own feature malfunction receive able"),
    rule("want_nothing_more", OPT, near(WANT, NEG, MORE, (RECEIVE, GET), window=6, commas=False),
         "own feature malfunction"),
    rule("stop_contacting", OPT, near(STOP, CONTACT, window=4),
         "own feature malfunction able instead time"),
    rule("do_not_want_mail", OPT, near(NEG, WANT, (MAIL, CONTACT, LIST), window=7, commas=False),
         "own feature malfunction receive"),
    rule("do_not_contact_me", OPT, near(NEG, CONTACT, PERSON, window=5, commas=None),
         "own feature malfunction receive able instead past time"),
    rule("nobody_contacts_me", OPT,
         inside(near(NOBODY, CONTACT, PERSON, window=8), WANT),
         "own feature malfunction receive able instead"),
    rule("remove_from_list", OPT, near(REMOVE, PERSON, (LIST, MAIL), window=8),
         "own feature missing negated"),
    # "she asked to be removed from all marketing" (an agent's note), "pide que la borremos"
    rule("want_removed", OPT, near((WANT, ASK), REMOVE, (LIST, MAIL), window=7), "own feature"),
    rule("do_not_add_me", OPT, near(NEG, SUBSCRIBE, PERSON, (LIST, MAIL), window=8),
         "own feature receive"),
    rule("remove_me", OPT, bare((REMOVE,), (PERSON, FILLER, LIST, LEAVE, OWNER, MAIL, ABLE),
                                limit=6, whole=False), "own feature missing"),
    rule("off_the_list", OPT, near(LEAVE, (LIST, MAIL), window=5), "own feature malfunction"),
    rule("no_mail_please", OPT, bare((MAIL,), (NEG, FILLER, PERSON, MAIL, MORE), limit=8,
                                     whole=False), "receive"),
    rule("no_mail_please", OPT, near(NEG, MAIL, FILLER, window=3),
         "own feature receive malfunction"),
    rule("cancel_mail", OPT, near(CANCEL, MAIL, window=6), "own feature malfunction"),
    rule("fed_up_with_mail", OPT, near(EXASP, (MAIL, CONTACT), window=6),
         "own feature malfunction"),
)
"""Explicit requests: ``OPT_OUT``."""

POSSIBLE_RULES: tuple[Rule, ...] = (
    rule("do_not_contact", MAYBE, near(NEG, CONTACT, window=3, commas=None),
         "own feature malfunction able receive instead past time"),
    rule("bare_stop", MAYBE, nowhere(when(bare(_REQUEST, _SOFT, limit=4, whole=False),
                                          MAIL, CONTACT, NAG, EXASP, REPLY),
                                     MALFUNCTION, FEATURE)),
    rule("exasperation", MAYBE,
         without(when(anywhere(EXASP), NAG, STOP, EXASP), MALFUNCTION, FEATURE)),
    # a short reply that only complains of being asked again: "How many times do I have to
    # ask?", "¿Otra vez? ¿En serio?", "Echt jetzt? Schon wieder?!"
    rule("asked_again", MAYBE,
         nowhere(brief(ending(near(NAG, ASK, window=8), ASK, *_SOFT, STOPWORD), 14),
                 MALFUNCTION, FEATURE)),
    rule("sigh_again", MAYBE,
         nowhere(brief(together((SIGH, EXASP), NAG), 8), MALFUNCTION, FEATURE, POSITIVE)),
    # "so that I only get invoices and nothing else", "solo quiero recibir facturas, nada más"
    rule("only_this", MAYBE,
         inside(near(EXCEPT, ELSE, (RECEIVE, GET, CONTACT), window=10), WANT, PERSON, SUBORD),
         "malfunction"),
    # a whole message "Eliminar suscripción", "Remove subscription" (not "cancel": that may be
    # the software subscription)
    rule("end_subscription", MAYBE,
         nowhere(brief(near((REMOVE, STOP, UNSUB), SUBNOUN, window=3), 4), FEATURE)),
    # "Why do you keep emailing me??", "¿Por qué me siguen escribiendo?"
    rule("why_keep_contacting", MAYBE, near(WHY, (NAG, KEEP), CONTACT, window=7),
         "own feature malfunction instead"),
    # "I get far too many mails from you", "bombarded with offers", "veel te veel mails"
    rule("too_much_mail", MAYBE, near(FLOOD, MAIL, window=5), "own feature malfunction"),
    rule("want_off", MAYBE, bare((LEAVE,), (WANT, PERSON, FILLER), limit=5, whole=False)),
)
"""Weaker signs: ``POSSIBLE_OPT_OUT`` (suppress, and an agent reviews)."""

SHARED_WORDS: dict[str, tuple[str, ...]] = {
    MAIL: ("=newsletter", "newsletters", "newsletter*", "=spam", "spams", "=mailing", "mailings",
           "=marketing", "=mail", "=mails", "=email", "=emails", "=emailing"),
    LEGAL: ("exclusion list", "lista de exclusion", "uitsluitingslijst", "ausschlussliste",
            "robinson*", "=tps", "bloctel", "gdpr art 21", "gdpr article 21", "dsgvo art 21",
            "art 21 gdpr", "art 21 dsgvo", "art 21 rgpd", "art 21 avg", "article 21 gdpr",
            "article 21 du rgpd", "artikel 21 avg", "artikel 21 dsgvo", "articulo 21 del rgpd",
            "articulo 21 rgpd", "article 21 rgpd", "art 21 de la rgpd"),
    UNSUB: ("unsubscribe", "unsub*", "opt out", "optout", "opt me out", "opted out"),
    STOP: ("=stop", "=stopp"),
    COMMAND: ("=stop", "=stopp", "unsubscribe", "=optout", "=unsub", "=basta", "=genug",
              "=genoeg", "=assez"),
    FILLER: ("not for me", "niks voor mij", "niets voor mij", "pas pour moi", "nichts fur mich",
             "no es para mi", "=ok", "=okay", "=thanks", "=thx", "=merci", "=danke", "=gracias",
             "=please", "=pls", "=plz", "=svp", "=aub", "=bitte", "=porfa", "=xfa", "=now",
             "=asap"),
    NOT_MAIL: ("email address", "email addresses", "mail address", "email account", "email adresse",
               "mail adresse", "adresse email", "adresse mail", "adresse electronique",
               "direccion de correo", "direccion de email", "direccion email", "email adres",
               "mail adres"),
    FEATURE: ("beta*", "=plugin", "=plugins", "plug in", "=addon", "=api", "=sdk", "=app", "=apps",
              "=server", "=servers", "=cpu", "=vpn", "=firewall", "=backup", "=backups", "=pdf",
              "=csv", "=smtp", "=spf", "=dns", "=admin", "=toolbar", "=webinar", "=trial",
              "=demo", "=sync", "in spam", "in the spam", "in my spam", "in de spam", "im spam",
              "dans les spams", "en spam", "en el spam"),
    MALFUNCTION: ("=bug", "=bugs", "=error", "=errors", "=crash", "crashes", "=crashed",
                  "=link", "=links"),
    MISTAKE: ("=oops", "=oeps", "=ups", "=oups", "=uy"),
    RESUB: ("resubscrib*", "=resub"),
    SUBORD: ("=that", "=dass", "=dat", "=que"),
    REPLY: ("=re", "=aw", "=antw"),
    MEDIUM: ("=mail", "=mails", "=email", "=emails", "=emailing"),
    MEANS: ("=via",),
}
"""Words that are the same in every language (borrowings, acronyms, register names)."""
