"""What makes a match ordinary, and when a short reply is a request (``streams.optout``).

Cases of the kinds dev round 5 taught (see ``optout_corpus/dev_round5.py``), written afresh
here so they test the rule, not a corpus sentence.
"""

import pytest

from streams.optout import Outcome, detect


def _outcome(text: str) -> Outcome | None:
    found = detect(text)
    return None if found is None else found.outcome


def _suppresses(text: str) -> bool:
    return _outcome(text) in (Outcome.OPT_OUT, Outcome.POSSIBLE_OPT_OUT)


# --------------------------------------------------------------------------- ordinary after all


@pytest.mark.parametrize(
    "text",
    [
        # another channel is offered: a preference, not "no contact"
        "Please don't phone me at the office, ring my mobile instead.",
        "No me llamen al trabajo, mejor al móvil, gracias.",
        "Bel me niet op kantoor maar op mijn mobiel.",
        "Rufen Sie mich nicht im Büro an, sondern zu Hause.",
        "Ne m'appelez pas au bureau mais sur mon portable.",
        # a question about mail that stopped coming
        "The newsletter hasn't arrived for weeks - did you unsubscribe me by accident?",
        "Ya no me llegan las novedades, ¿me dieron de baja?",
        "Ich bekomme keine Newsletter mehr. Wurde ich ausgetragen?",
        # what happened, not what is asked
        "Nobody has called me back about my refund.",
        "Personne ne m'a rappelé depuis lundi.",
        "Sie haben mich trotz Termin nicht angerufen.",
        "Nadie me ha llamado para la instalación.",
        # the customer's own mail and audience
        "Our own promotional emails keep reaching unsubscribed contacts, how do we filter them?",
        # the mail word qualifies a feature
        "How do I switch off the email alerts for failed backups?",
        "¿Cómo desactivo los correos de facturación en el portal?",
        # short, but not exasperated
        "Thanks again, seriously!",
        "How many times do I need to tell you my address has changed?",
        "I only received the invoice and nothing else, where is my licence key?",
        "Cancel my subscription, the software is too expensive.",
        # a refused removal; a purpose clause is no wish; "kommen ... an" is "arrive"
        "Bitte löschen Sie meine Daten nicht, ich nutze die Lizenz noch.",
        "I changed the settings so that I don't get emails at night.",
        "Ihre Mails kommen seit Montag nicht mehr an, ist der Server down?",
        "Why does the scan keep stopping?",
    ],
)
def test_context_makes_a_match_ordinary(text: str) -> None:
    assert not _suppresses(text)  # "... by accident?" may be read as a re-subscribe request


# --------------------------------------------------------------------------- still a request


@pytest.mark.parametrize(
    "text",
    [
        "Please make sure no one from your team calls me again.",
        "Asegúrense de que nadie me vuelva a llamar.",
        "Zorg ervoor dat niemand mij nog mailt.",
        "Sorgen Sie dafür, dass mich niemand mehr anschreibt.",
        "I have asked you twice not to contact me.",
        "Ich habe Sie gebeten, mich nicht mehr anzurufen.",
        "Please stop writing to me through the customer portal.",
        "No me manden más ofertas, que me llegan cinco por semana.",
        "Les promos, j'en veux plus.",
        "Eure Werbung mog i nimmer.",
        "Hierbij trek ik mijn toestemming voor alle commerciële e-mails in.",
        "STOP!!!\nRegards, Jan Jansen, +31 6 0000 0000, jan@example.org, customer 1234",
        "Ejerzo mi derecho de oposición, gracias.",  # the right to object, named
        "Ik beroep me op mijn recht van bezwaar.",
        "Ich mache von meinem Widerspruchsrecht Gebrauch.",
        "No me interesan sus actualizaciones, no me las manden más.",
    ],
)
def test_requests_are_still_opt_outs(text: str) -> None:
    assert _outcome(text) is Outcome.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "How many times must I say it?",  # asked again, no noun
        "¿Cuántas veces os lo tengo que repetir?",
        "Seriously? Again?",  # a sigh beside a repeat, in a very short reply
        "Schon wieder?! Boah.",
        "Re: Spring deals\n\nNo thanks, stop.",  # a bare stop in a reply to a mailing
        "I only want to receive invoices from now on, nothing else.",
        "Eliminar suscripción, por favor",  # a whole message naming a subscription
        "Why do you keep phoning me???",  # why ... keep ... contact
        "Waarom blijven jullie me bellen?",
        "dar de bja",  # a slip inside a phrase
        "darme de vaja",  # Spanish b written as v
    ],
)
def test_weaker_signs_are_possible_opt_outs(text: str) -> None:
    assert _outcome(text) is Outcome.POSSIBLE_OPT_OUT


def test_a_slip_never_turns_a_word_into_context() -> None:
    # "es reich" is one letter from the exasperation "es reicht": context, never a typo target
    assert _outcome("Der Bericht ist es reich an Details.") is None


# --------------------------------------------------------------------------- dev round 6
# Cases of the kinds dev round 6 taught (see ``optout_corpus/dev_round6.py``), written afresh.


@pytest.mark.parametrize(
    "text",
    [
        # a time after the contact verb: when to call, not whether
        "Don't ring me after 6pm please, I'm driving home then.",
        "No me llamen antes de las nueve, trabajo de noche.",
        "Bel me niet voor 10 uur, dan slaap ik nog.",
        "Rufen Sie mich bitte nicht vor 9 Uhr an.",
        "Ne m'appelez pas avant midi, je suis en réunion.",
    ],
)
def test_round6_context_makes_a_match_ordinary(text: str) -> None:
    assert not _suppresses(text)


@pytest.mark.parametrize(
    "text",
    [
        # "any more" or a mail noun: still a refusal, whatever the time
        "Don't call me again, before or after lunch.",
        "Please don't send me newsletters until I ask for them.",
        "No me llamen hasta nuevo aviso.",
    ],
)
def test_round6_requests_are_still_suppressing(text: str) -> None:
    assert _suppresses(text)


@pytest.mark.parametrize(
    "text",
    [
        # filler between the words of a request does not widen it past its window
        "Please remove, if you would be so kind, the address ops@example.org from all of your lists.",
        "Quiten por favor a mi madre de todas y cada una de sus listas.",
        # "baja <qualifier> de": a request, like "baja de"
        "Baja definitiva de todos los envíos.",
    ],
)
def test_round6_filler_does_not_count(text: str) -> None:
    assert _suppresses(text)


@pytest.mark.parametrize(
    "text",
    [
        "Way too many promo emails from you lately.",  # mail by the volume
        "Ich werde mit Eurer Werbung regelrecht bombardiert.",
        "Recibo demasiadas ofertas suyas.",
        "How long are you going to keep emailing me?",  # how long ... keep ... contact
        "Jusqu'à quand allez-vous continuer à m'écrire ?",
        "Honestly, this is beyond a joke.",  # exasperation with no noun
        "Jullie maken me stapelgek.",
    ],
)
def test_round6_weaker_signs_are_possible_opt_outs(text: str) -> None:
    assert _outcome(text) is Outcome.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "Take us of your list please.",  # "of" for "off"
        "Lose my details, thanks.",
        "The agent noted that he asked to be removed from the promotions.",  # asked, not wants
    ],
)
def test_round6_requests_are_opt_outs(text: str) -> None:
    assert _outcome(text) is Outcome.OPT_OUT


@pytest.mark.parametrize(
    "text",
    [
        "On reçoit trop de notifications de sauvegarde par mail.",  # mail only names the channel
        "I get too many alert emails from the console, can I reduce them?",
        "This is driving me crazy, the scan never finishes.",
        "¿Hasta cuándo dura la oferta especial?",
        "How long will the discount last?",
    ],
)
def test_round6_volume_and_exasperation_about_features_are_ordinary(text: str) -> None:
    assert not _suppresses(text)


@pytest.mark.parametrize(
    "text",
    [
        "porfa q dejen d mandarme correos",  # chat spellings are read as the words they stand for
        "k wil n keer voorgoed van die lijst af",
        "arretez de menvoyer des pubs pr tt le monde merci",
        "Bitte schickt's ma koa Werbung mehr.",
        "pls stop sending u r emails",
        "No me emvien mas ofertas.",  # Spanish "m" before "b"/"v", "b" for "v"
        "Spare us the newsletter, please.",  # "spare me" is a stop
        "Bespaar me die reclame.",
        "Get it off your mailing list so that we stop getting bounces.",  # purpose, not a fault
        "Haal dit adres van jullie lijst zodat we geen foutmeldingen meer krijgen.",
        "Kunde lehnt weitere Werbeanrufe ab.",  # a refusal with "further"
    ],
)
def test_round6b_requests_suppress(text: str) -> None:
    assert _suppresses(text)


@pytest.mark.parametrize(
    "text",
    [
        "Leider müssen wir Ihr Angebot ablehnen.",  # declining a quote
        "We refuse your offer, it is too expensive.",
        "De app weigert de mail te versturen.",  # a program refusing, not a person
        "k heb n vraag over mn factuur",  # chat spelling, ordinary question
        "Spare me the details, just fix the bug.",
        "Stuur de factuur opnieuw zodat ik kan betalen.",
    ],
)
def test_round6b_ordinary(text: str) -> None:
    assert not _suppresses(text)
