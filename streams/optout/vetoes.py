"""Vetoes: context in the clause of a match that makes the message ordinary after all.

Each rule names the vetoes it accepts (``rules.rule(..., vetoes="own feature")``):

* ``own``: the customer's own audience ("my subscribers", "mes clients", "meine Kunden",
  "unsubscribed contacts") or their own mail ("our own marketing emails"): the question is
  about their marketing, not ours;
* ``feature``: the object of the request is a product feature ("stop the scan", "send the
  invoice", "unsubscribe a user from the scan reports", "sich von der Schulung abmelden"), or a
  feature word qualifies the mail word ("licence emails", "disk space alert emails"), or the mail
  word qualifies a feature ("email notifications", "E-Mail-Benachrichtigungen", "correos de
  facturación") - unless a request word wins ("supportmeldingen", "afmelding") or
  "except"/"only" closes the object; a feature named as the channel ("by any channel", "via
  the portal") is not the object, nor is mail named as the channel ("alerts by email");
* ``malfunction``: the sentence reports a fault ("the newsletter link is broken"); a purpose
  clause after the match gives the reason, not a fault or a feature ("take it off your lists
  so we stop getting bounces", "... zodat we geen foutmeldingen meer krijgen");
* ``receive``: "I no longer receive the newsletter" is a complaint, unless the clause also says
  *want* ("I no longer want to receive ..."); a relative clause after the match ("no me envíen
  más promociones, que me llegan tres por semana") describes the mail and does not count;
* ``missing``: the match is a question in a message complaining that mail stopped coming ("I no
  longer get the newsletter - did you unsubscribe me?"): a fault report, not a request;
* ``negated``: a removal refused ("please don't delete my data", "löschen Sie meine Daten
  nicht");
* ``past``: an auxiliary of the past before the contact verb ("nobody has called me back", "il
  ne m'a pas rappelé"): a complaint about what happened, not a request;
* ``instead``: another channel is offered ("don't call me on the landline, use my mobile
  instead", "nicht auf dem Festnetz, sondern auf dem Handy"): a preference, not no contact;
* ``able``: "I can't contact your sales team" is not "do not contact me";
* ``time``: a time after the contact verb ("please don't call before 10am", "no envíen al
  técnico hasta el jueves", "ne m'appelez pas avant 9 h"): when to call, not whether - unless
  the clause says "any more" / "until further notice" or names mail ("don't send me
  newsletters until I ask" still refuses them).
"""

from collections.abc import Callable

from streams.optout.rules import Rule, View
from streams.optout.tags import (
    ABLE,
    ANY_NEG,
    ASK,
    AUDIENCE,
    AUX,
    CANCEL,
    CONTACT,
    EXCEPT,
    FEATURE,
    FILLER,
    INSTEAD,
    LIST,
    MAIL,
    MALFUNCTION,
    MEANS,
    MEDIUM,
    MORE,
    NEG,
    OBJECT,
    OWNER,
    PERSON,
    PURPOSE,
    READERS,
    RECEIVE,
    REMOVE,
    STOP,
    STOPWORD,
    SUBORD,
    TIME,
    UNSUB,
    WANT,
)


def _own(v: View, r: range, m: tuple[int, ...]) -> bool:
    for i in r:
        t = v.tags[i]
        if READERS in t:
            return True
        if OWNER in t and any(AUDIENCE in v.tags[j] for j in range(i + 1, min(i + 4, r.stop))):
            return True
        if OWNER in t and i + 1 < r.stop and OWNER in v.tags[i + 1] and any(  # "our own emails"
                v.tags[j] & {MAIL, AUDIENCE} for j in range(i + 2, min(i + 4, r.stop))):
            return True
        if AUDIENCE in t and any(UNSUB in v.tags[j] for j in (i - 1, i + 1) if j in r):
            return True  # "unsubscribed contacts", "contactos dados de baja"
    return False


def _feature(v: View, r: range, m: tuple[int, ...]) -> bool:
    lo, hi = min(m), max(m)
    end = min(r.stop, hi + 8)
    end = next((j for j in range(hi + 1, end) if v.tags[j] & {EXCEPT, PURPOSE}), end)
    after = range(lo, end)

    def feature(j: int) -> bool:  # request words win: "supportmeldingen", "afmelding"
        return FEATURE in v.tags[j] and not v.tags[j] & _REQUEST_WORDS

    for i in m:  # the object of the request is a feature: "stop the scan", "send the invoice"
        if v.tags[i] & _VERBS:
            for j in range(i + 1, min(r.stop, i + 4)):
                if MEANS in v.tags[j]:  # "write to me via the portal": a channel
                    break
                if not v.tags[j] & _SKIP:
                    if feature(j):
                        return True
                    break

    nouns = [i for i in after if v.tags[i] & {MAIL, LIST}]
    for i in nouns:  # "licence emails", "disk space alert emails", "the billing contacts"
        j = i
        while j > max(r.start, i - 3) and not v.soft[j]:  # not across a comma
            j -= 1
            if feature(j):
                return True
        # "email notifications": the feature is the head noun; "correos de facturación": a
        # channel noun takes its kind from what qualifies it (an "oferta de renovación" is
        # still an offer)
        for j in range(i + 1, min(end, i + 4)):
            if v.soft[j]:
                break
            if feature(j):
                return True
            if MEDIUM not in v.tags[i] or not v.tags[j] & {FILLER, STOPWORD} \
                    or v.tags[j] & _REQUEST_WORDS:
                break
    if any(MAIL in v.tags[i] and not _channel(v, r, i) for i in r):
        return False
    # the object of the request is a feature: "unsubscribe a user from the scan reports",
    # "sich von der Schulung abmelden" (verb last); not a channel ("by any channel")
    return any(feature(j) and not any(MEANS in v.tags[k] for k in range(max(r.start, j - 3), j))
               for j in range(max(r.start, lo - 6), end))


def _channel(v: View, r: range, i: int) -> bool:
    """A channel noun after "by" / "per" / "par" / "por" names how, not what: in "trop de
    notifications de sauvegarde par mail" the object is the notifications."""
    if MEDIUM not in v.tags[i]:
        return False
    before = [j for j in range(max(r.start, i - 2), i) if FILLER not in v.tags[j] or MEANS in v.tags[j]]
    return bool(before) and MEANS in v.tags[before[-1]]


_REQUEST_WORDS = frozenset({MAIL, UNSUB, LIST})
_VERBS = frozenset({STOP, REMOVE, UNSUB, CANCEL, CONTACT})
_SKIP = frozenset({FILLER, PERSON, STOPWORD})


def _malfunction(v: View, r: range, m: tuple[int, ...]) -> bool:
    cut = next((j for j in range(max(m) + 1, r.stop) if PURPOSE in v.tags[j]), r.stop)
    return any(MALFUNCTION in v.tags[i] for i in range(r.start, cut))


def _receive(v: View, r: range, m: tuple[int, ...]) -> bool:
    cut = next((j for j in range(max(m) + 1, r.stop) if SUBORD in v.tags[j]), r.stop)
    return any(RECEIVE in v.tags[i] for i in range(r.start, cut)) \
        and not any(WANT in v.tags[i] for i in r)


def _missing(v: View, r: range, m: tuple[int, ...]) -> bool:
    if v.clauses[m[0]] not in v.questions:
        return False
    for i in v.index.get(RECEIVE, ()):
        c = v.clause_range(i)
        if any(ANY_NEG in v.tags[j] for j in c) and not any(v.tags[j] & {WANT, STOP} for j in c):
            return True
    return False


def _past(v: View, r: range, m: tuple[int, ...]) -> bool:
    """"Nobody has called me", "il ne m'a pas rappelé", "Sie haben mich nicht angerufen": an
    auxiliary of the past before the contact verb reports what happened; unless a request
    stands between them ("I have asked you not to call me", "ich habe gebeten, ...")."""
    contact = max(i for i in m if CONTACT in v.tags[i])
    aux = [i for i in range(r.start, contact) if AUX in v.tags[i]]
    return bool(aux) and not any(v.tags[j] & {WANT, ASK} for j in range(aux[-1], contact))


def _negated(v: View, r: range, m: tuple[int, ...]) -> bool:
    """"Please don't delete my data", "löschen Sie meine Daten nicht": the removal is refused.
    A negation just before the verb, or ending the clause (German), unless it is "no thanks"
    or "no more" ("nicht mehr")."""
    verbs = [i for i in m if v.tags[i] & {REMOVE, OBJECT, CANCEL, STOP}]
    if not verbs or any(MORE in v.tags[i] for i in r):
        return False
    last = r.stop - 1
    near = {j for i in verbs for j in (i - 2, i - 1)} | {last}
    return any(j in r and NEG in v.tags[j] and FILLER not in v.tags[j] and j not in verbs
               for j in near)


def _instead(v: View, r: range, m: tuple[int, ...]) -> bool:
    return any(INSTEAD in v.tags[i] for i in range(min(m), r.stop))


def _able(v: View, r: range, m: tuple[int, ...]) -> bool:
    """"can't" / "no consigo" / "niet bereiken": an inability right next to the negation."""
    negs = [i for i in m if NEG in v.tags[i]] or list(m)
    return any(ABLE in v.tags[j] for i in negs for j in range(max(r.start, i - 1), min(r.stop, i + 2)))


def _time(v: View, r: range, m: tuple[int, ...]) -> bool:
    contact = [i for i in m if CONTACT in v.tags[i]]
    if not contact or any(v.tags[i] & {MORE, MAIL} for i in r):
        return False
    return any(TIME in v.tags[j] for j in range(min(contact) + 1, r.stop))


VETOES: dict[str, Callable[[View, range, tuple[int, ...]], bool]] = {
    "own": _own,
    "feature": _feature,
    "malfunction": _malfunction,
    "receive": _receive,
    "missing": _missing,
    "instead": _instead,
    "past": _past,
    "negated": _negated,
    "able": _able,
    "time": _time,
}


def vetoed(rule: Rule, v: View, m: tuple[int, ...]) -> bool:
    r = v.clause_range(m[0])
    return any(VETOES[name](v, r, m) for name in rule.vetoes)
