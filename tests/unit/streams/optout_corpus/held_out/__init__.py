"""Held-out corpus for free-text opt-out detection: never used to write or tune rules.

Written for issue 8 *before* the detection was rebuilt, in the style of real support tickets:
long messages with the request buried, agents' notes of phone calls and chats, one-word replies
to a promotion, replies quoting a promotion (whose footer says "unsubscribe"), several
languages in one message, typos (a letter missing, doubled or swapped), missing accents,
informal and dialect register, requests not to be contacted, called or written to that never
mention mail, the policy's own mail types (product update e-mails, new-product announcements,
support notices, special offers), removing a named address, exasperated complaints with no
noun, writing on behalf of a relative or colleague, legal objections (GDPR art. 21 and its
national names) and national do-not-contact registers.

``ORDINARY`` holds support and sales messages that are not opt-outs, including the hard
negatives the issue names: the customer's own marketing plug-in and subscribers, an admin
removing a user from product alerts, leaving a beta programme, downgrading or cancelling a plan
or licence, disk-space alerts, spam-filter questions, "log out" senses of afmelden / abmelden /
déconnecter, deregistering from a course. ``RESUBSCRIBE`` holds requests to be added back after
unsubscribing by mistake: they must never suppress, and they count as ordinary messages in the
false-positive rate.

Synthetic: every message was written by hand for this corpus; names and addresses are invented
(``example.*`` domains). Each entry of the exported lists is ``(language, text)``.

The rule (issue 8): rules are developed on ``dev`` only. When a held-out message is missed, it
stays missed until a rule written from *other* phrasings catches it; the figures are reported
as they are. The tests print per-language figures but never the held-out texts they miss.
One limit, stated plainly: the same engineer wrote this corpus and then the rules, so it is
held out from tuning but not blind the way the team's own corpus is; expect that corpus to
score lower.

Measured before any rule change, with the rules of ``streams/optout_text.py`` as they were
(one ``detect_opt_out`` call per message):

========  =================  =================  ==========================
language  recall             false positives    re-subscribe suppressed
========  =================  =================  ==========================
all       272/417 = 65.2 %   73/401 = 18.2 %    33/40
en        55/83 = 66.3 %     19/80 = 23.8 %     8/8
nl        53/83 = 63.9 %     16/80 = 20.0 %     7/8
fr        61/83 = 73.5 %     16/80 = 20.0 %     7/8
de        55/84 = 65.5 %     14/81 = 17.3 %     7/8
es        48/84 = 57.1 %     8/80 = 10.0 %      4/8
========  =================  =================  ==========================

(False positives are counted over ``ORDINARY``, re-subscribe requests included.) The old rules
do worse here than on the team's blind corpus (80.7 % / 4.7 %): this corpus leans on the kinds
the issue lists as missed and on its hard negatives.

Measured with ``streams.optout`` (developed on dev rounds 1-3), then again after dev round 4,
with the same result both times; only these counts were read, never the missed texts:

========  ==================  ================  ==========================
language  recall              false positives   re-subscribe suppressed
========  ==================  ================  ==========================
all       394/417 = 94.5 %    3/401 = 0.7 %     0/40
en        79/83 = 95.2 %      1/80 = 1.2 %      0/8
nl        78/83 = 94.0 %      1/80 = 1.2 %      0/8
fr        80/83 = 96.4 %      0/80 = 0.0 %      0/8
de        81/84 = 96.4 %      0/81 = 0.0 %      0/8
es        76/84 = 90.5 %      1/80 = 1.2 %      0/8
========  ==================  ================  ==========================

Issue 8's bar: every language >= 90 % and false positives <= 3 % are met; overall recall
>= 95 % is not (two messages short).

Measured once more after dev round 5 (written blind, then developed on; see ``dev_round5``),
again reading only these counts:

========  ==================  ================  ==========================
language  recall              false positives   re-subscribe suppressed
========  ==================  ================  ==========================
all       395/417 = 94.7 %    3/401 = 0.7 %     0/40
en        79/83 = 95.2 %      1/80 = 1.2 %      0/8
nl        78/83 = 94.0 %      1/80 = 1.2 %      0/8
fr        80/83 = 96.4 %      0/80 = 0.0 %      0/8
de        81/84 = 96.4 %      0/81 = 0.0 %      0/8
es        77/84 = 91.7 %      1/80 = 1.2 %      0/8
========  ==================  ================  ==========================

One more Spanish message found; overall recall is still under 95 % (397 needed), so the bar
is not met and the overall assertion stays an expected failure.
"""

from tests.unit.streams.optout_corpus.held_out import de, en, es, fr, nl

_MODULES = {"en": en, "nl": nl, "fr": fr, "de": de, "es": es}

OPT_OUT: list[tuple[str, str]] = [(lg, t) for lg, m in _MODULES.items() for t in m.OPT_OUT]
RESUBSCRIBE: list[tuple[str, str]] = [
    (lg, t) for lg, m in _MODULES.items() for t in m.RESUBSCRIBE
]
ORDINARY: list[tuple[str, str]] = [
    (lg, t) for lg, m in _MODULES.items() for t in m.ORDINARY
] + RESUBSCRIBE
