"""The concepts (tags) lexicons give words and rules combine; see ``rules`` for how.

Each language module maps its words to these tags; the shared rules (``common``) are written
over them, so adding a language means adding words, not rules.
"""

UNSUB = "unsub"  # unsubscribe, opt out, afmelden, abbestellen, désabonner, darse de baja
STOP = "stop"  # stop, cease, quit, arrêter, aufhören, dejar de, ophouden
NEG = "neg"  # not, no, never, nothing, niet, geen, nicht, kein, ne, pas, jamais, no, nunca
MORE = "more"  # more, longer, again, further, meer, mehr, plus, más
WANT = "want"  # want, wish, like, need: wil, möchte, veux, quiero
REMOVE = "remove"  # remove, delete, take off, verwijderen, entfernen, retirer, quitar
LEAVE = "leave"  # (get) off / out of a list: eraf, raus, sortir, salir
CANCEL = "cancel"  # cancel, end, opzeggen, kündigen, résilier, cancelar
CONTACT = "contact"  # contact, call, write, send, mail (verb), bother, solicit
MAIL = "mail"  # mail, newsletter, offers, promotions, marketing, the policy's mail types
LIST = "list"  # list, mailing list, database, Verteiler, fichier, lista
PERSON = "person"  # me, us, an address, him / her, my mother, the customer (in notes)
REFUSE = "refuse"  # refuse, ablehnen, weigeren: an objection only with "further" ("weitere")
OBJECT = "object"  # object, objection, withdraw, revoke, bezwaar, Widerspruch, oposición
CONSENT = "consent"  # consent, permission, data (the object of an objection)
LEGAL = "legal"  # GDPR art. 21, do-not-contact registers: opt-out on their own
ALONE = "alone"  # leave me alone, laat me met rust, lassen Sie mich in Ruhe
EXASP = "exasp"  # enough, fed up, genoeg, es reicht, marre, harto
NAG = "nag"  # how many times, every day, again, still: the complaint repeats
FLOOD = "flood"  # too many, bombarded, veel te veel, zu viele, trop de: mail by the volume
COMMAND = "command"  # a word that is a whole request on its own ("STOP", "Baja")
CLOSING = "closing"  # regards, saludos, MfG, cordialement: a sign-off; the signature follows
FILLER = "filler"  # please, thanks, hi, now, regards: carries no request
FEATURE = "feature"  # product vocabulary: alerts, reports, scans, users, beta, plans, licence
OWNER = "owner"  # my, our (before an audience word)
AUDIENCE = "audience"  # customers, clients, contacts: the customer's own, after OWNER
READERS = "readers"  # subscribers, readers, recipients: always someone else's audience
MALFUNCTION = "malfunction"  # error, bug, broken, does not work
RECEIVE = "receive"  # receive, get, arrive: complaints about missing mail use these
NOT_MAIL = "notmail"  # "email address", "E-Mail-Adresse": an address, not mail (drops MAIL)
GET = "get"  # the infinitive "recevoir", "recibir": requests use it ("ne plus recevoir")
ABLE = "able"  # can, could, manage to: "I cannot contact" is not a request
RESUB = "resub"  # resubscribe, réabonner, wieder anmelden
MISTAKE = "mistake"  # by mistake, by accident, per ongeluk, aus Versehen, par erreur
UNDO = "undo"  # undo, reverse, ongedaan maken, rückgängig, annuler, deshacer
AGAIN = "again"  # again, back, opnieuw, wieder, à nouveau, volver a
SUBSCRIBE = "subscribe"  # subscribe, sign up, add, aanmelden, anmelden, s'inscrire
KEEP = "keep"  # keep / continue receiving: blijven, weiterhin, continuer, seguir
SUBORD = "subord"  # that, dass, dat, que: a comma before it does not end the thought
EXCEPT = "except"  # except, only, behalve, außer, sauf, salvo: what follows is kept, not refused
ASK = "ask"  # ask, tell, say: "how many times do I have to ask", "wie oft muss ich das sagen"
SIGH = "sigh"  # seriously, pff, echt jetzt, en serio: exasperation only beside a repeat ("Again?!")
NOBODY = "nobody"  # nobody, no one, nadie, niemand: "make sure nobody contacts me again"
ELSE = "else"  # nothing else, nada más, sonst nichts: after "only invoices", the rest is refused
SUBNOUN = "subnoun"  # subscription, suscripción, abonnement, Abo: "Eliminar suscripción"
REPLY = "reply"  # "Re:" / "AW:": the message answers a mailing, so a bare "stop" is about it
INSTEAD = "instead"  # instead, rather, sondern, mejor, plutôt: another channel, not no contact
MEANS = "means"  # by, via, per, por, par: "by any channel" names a channel, not the object
PURPOSE = "purpose"  # so that, para que, zodat, damit, pour que: what follows is the reason
TIME = "time"  # before 10am, until Monday, hasta el jueves, avant jeudi: when, not whether
WHY = "why"  # why, waarom, pourquoi, warum, por qué: "why do you keep emailing me?"
AUX = "aux"  # has, hat, heeft, ha, a (avoir): "nobody has called me" tells, it does not ask
POSITIVE = "positive"  # thanks, great, perfect: "Thanks again, seriously!" is no complaint
MEDIUM = "medium"  # mail, correo, Nachrichten: a channel noun, whose kind its qualifier gives
ANY_NEG = "anyneg"  # a negation in any language's words: context for vetoes, never a request
STOPWORD = "sw"  # function words used only to guess the message's language

CONTEXT_TAGS = frozenset({FEATURE, OWNER, AUDIENCE, READERS, MALFUNCTION, RECEIVE, ABLE, EXCEPT,
                          INSTEAD, MEANS, TIME})
"""Tags that only make a match ordinary: shared across languages, since an English message
read by the Dutch lexicon must still see that "readers" are the customer's own."""

TYPO_TAGS = frozenset({UNSUB, STOP, REMOVE, CANCEL, CONTACT, MAIL, LIST, COMMAND, OBJECT, FILLER})
"""Only words of these tags are recognised with a typo (see ``lexicon``)."""

ADDRESS_TAGS = frozenset({PERSON, "address"})
"""The tags of an e-mail address or URL token: it names the person a request is about."""
