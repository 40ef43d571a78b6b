"""Dev round 6 of the opt-out corpus: fresh phrasings, measured blind, then developed on.

Written after the third held-out measurement (recall 395/417 = 94.7 %; per language es 91.7 %,
nl 94.0 %, en 95.2 %, fr and de 96.4 %) without reading which held-out messages miss or are
flagged, and before any rule was changed for it. Weighted towards Spanish, Dutch and English,
and towards the kinds issue 8 lists: long tickets with the request buried, agents' notes of
calls, one-word replies to a promotion, mixed languages, typos (a letter missing, doubled or
swapped), missing accents, informal register, writing on behalf of a relative or colleague,
legal objections (GDPR art. 21 and its names, Robinson lists, TPS, Bel-me-niet, Bloctel), the
policy's own mail types (product update e-mails, new-product announcements, support notices,
special offers), "remove this address from your lists", exasperation with no noun, and requests
not to be called, contacted or written to that never mention mail. The ordinary part holds the
hard negatives in every language (admins removing a user from alerts, leaving a beta,
downgrading, disk-space alerts, spam filters, the customer's own subscribers and plug-in,
billing, "send it to accounts, not to me") and re-subscribe requests in all five languages.

Synthetic and hand-written; no real customer text or personal data. Figures: see the commit
that added this file and the section comment in ``dev``.
"""

OPT_OUT: list[tuple[str, str]] = [
    # ------------------------------------------------------------------ Spanish
    (
        "es",
        "Buenas tardes,\nLes escribo porque al actualizar a la versión 8 me pide otra vez el "
        "código de activación y no lo encuentro. Lo compré en la tienda online en enero con el "
        "correo de siempre. De paso: ya no quiero que me lleguen más correos con ofertas, me "
        "sobran. ¿Me pueden reenviar el código?\nGracias,\nRocío Méndez",
    ),
    (
        "es",
        "Llamada entrante 16:20 - el Sr. Ortega (cliente desde 2019) indica que no quiere "
        "recibir publicidad ni por email ni por teléfono. Actualizar ficha.",
    ),
    (
        "es",
        "Nota interna: la clienta llamó bastante molesta, pide que la borremos de los envíos "
        "comerciales. Hablado por teléfono, falta registrarlo.",
    ),
    ("es", "Re: Oferta flash 48 h\n\nbaja"),
    ("es", "Re: Novedades de abril\n\nNo me interesa. Bórrenme."),
    ("es", "Hi, soy de Madrid y no hablo bien inglés: please no más emails de promociones, thank you"),
    ("es", "porfavor dejen de embiarme correos"),
    ("es", "no quiero recibir mas promociones por correo electronico, gracias"),
    ("es", "quitenme de la listta de correo"),
    ("es", "desuscirbirme del boletin"),
    ("es", "tío, dejad de mandarme mierdas al correo, que no compro nada"),
    (
        "es",
        "Les escribo por mi abuelo, que tiene 87 años y se agobia con tanto correo: no le "
        "envíen más ofertas, por favor.",
    ),
    (
        "es",
        "Mi compañero Andrés ya no lleva las compras. Eliminen andres.vidal@example.es de sus "
        "listas de distribución.",
    ),
    (
        "es",
        "Ejerzo mi derecho de oposición al tratamiento de mis datos para mercadotecnia, según el "
        "artículo 21 del RGPD.",
    ),
    (
        "es",
        "Mi teléfono está dado de alta en la Lista Robinson desde hace años; no entiendo por qué "
        "me siguen llamando. Dejen de hacerlo.",
    ),
    ("es", "Solicito la supresión de mis datos de sus ficheros de publicidad (RGPD)."),
    ("es", "No necesito los correos de actualizaciones del producto, quitadme de ahí."),
    ("es", "Por favor, no me envíen más anuncios de nuevos productos."),
    ("es", "Dejen de mandarme avisos de soporte, no tengo ningún caso abierto con ustedes."),
    ("es", "Las ofertas especiales sobran, no me las manden."),
    ("es", "Eliminen por favor la dirección compras@talleres-ejemplo.es de todas sus listas."),
    ("es", "¡Qué pesados sois, de verdad! Cada semana igual."),
    ("es", "Estoy hasta las narices de ustedes."),
    ("es", "No me llamen nunca más."),
    ("es", "No quiero que me contacten, ni ahora ni nunca."),
    ("es", "Por favor no vuelvan a escribirme."),
    ("es", "Que no me escriban más, por favor."),
    ("es", "Favor de no contactarme más, gracias."),
    ("es", "Ya no deseo recibir información de ustedes."),
    ("es", "Dénme de baja de su newsletter"),
    ("es", "¿Me pueden quitar de la lista de correos? Gracias."),
    ("es", "Quiero que eliminen mi correo de su base de datos de marketing."),
    ("es", "Please unsubscribe me, ya no uso este correo."),
    ("es", "No más SMS ni correos, por favor."),
    ("es", "Retiro mi consentimiento para que me envíen publicidad. Art. 21 RGPD."),
    ("es", "Hola. Baja inmediata de todas las comunicaciones comerciales, gracias."),
    ("es", "anular suscripción al boletín"),
    ("es", "no kiero mas correos"),
    ("es", "No me interesa nada de lo que venden, así que no me escriban."),
    ("es", "Vaya tela con ustedes. Todos los días lo mismo."),
    ("es", "¿Hasta cuándo van a seguir escribiéndome?"),
    ("es", "Mi número aparece en la Lista Robinson; bórrenlo de su base de datos."),
    ("es", "oye no me spameen mas"),
    # ------------------------------------------------------------------ English
    (
        "en",
        "Hi support,\n\nThe installer hangs at 80% on Windows 11 - I've attached the log. I "
        "tried running it as admin too. Unrelated, but while I have you: please take me off the "
        "promotional emails, I'm getting about four a week.\n\nThanks,\nOwen",
    ),
    (
        "en",
        "Call log 09:12 - Mr Haddad rang in, annoyed about sales calls. Wants no further contact "
        "from us except invoices. Flag account.",
    ),
    ("en", "Spoke to customer on the phone; she asked to be removed from all marketing. Please action."),
    ("en", "Re: Black Friday starts now!\n\nunsubscribe"),
    ("en", "Re: Introducing VaultPro 3\n\nNot interested, remove me."),
    ("en", "Bitte remove me from the newsletter, danke"),
    ("en", "plese stop sendng me promos"),
    ("en", "unsbuscribe me from evrything"),
    ("en", "take me of your mailing list"),
    ("en", "yo quit spamming my inbox lol"),
    (
        "en",
        "My wife passed away in March. Please stop sending her the catalogue and the emails.",
    ),
    (
        "en",
        "I manage IT for Dr Collins' practice - she has asked that you stop emailing her "
        "offers.",
    ),
    (
        "en",
        "Under Article 21(2) GDPR I object to my data being used for marketing. Confirm in "
        "writing.",
    ),
    (
        "en",
        "This number is on the Telephone Preference Service. Any further sales calls will be "
        "reported.",
    ),
    ("en", "I don't need the product update emails, please switch them off."),
    ("en", "Stop the new product announcements, thanks."),
    ("en", "No more support notices by email please - I'll check the status page."),
    ("en", "Special offers: not interested. Please don't send them again."),
    ("en", "Please purge info@harbourcafe.example from your mailing lists, the mailbox is closed."),
    ("en", "This is beyond a joke now."),
    ("en", "You people never give up, do you? Third one this week."),
    ("en", "Don't phone me again."),
    ("en", "Please don't contact me any further."),
    ("en", "I'd appreciate it if you didn't write to me any more."),
    ("en", "Lose my number."),
    ("en", "Can you make the emails stop?"),
    ("en", "I no longer wish to hear from you."),
    ("en", "Please delete me from your database and stop sending mail."),
    ("en", "Remove my details from your marketing list."),
    ("en", "opt me out pls"),
    ("en", "Please unsubscribe this address: t.nguyen@example.net"),
    ("en", "Kindly cease sending me your brochures."),
    # ------------------------------------------------------------------ Dutch
    (
        "nl",
        "Goedemorgen,\nSinds de laatste update start de scanner niet meer op mijn laptop, zie "
        "bijlage. Ik heb al opnieuw geïnstalleerd. Verder wil ik geen reclamemails meer "
        "ontvangen, dat mag ook meteen geregeld worden.\nGroet,\nMarieke",
    ),
    (
        "nl",
        "Telefoonnotitie 11:15: mevrouw De Boer belt, wil niet meer gebeld of gemaild worden "
        "voor aanbiedingen. Graag verwerken.",
    ),
    ("nl", "Klant aan de lijn gehad, hij wil van alle mailings af. Svp afmelden."),
    ("nl", "Re: Nieuw: SafeHome 5\n\nAfmelden graag."),
    ("nl", "Re: Voorjaarsactie\n\nnee dank je, haal me van de lijst"),
    ("nl", "Hoi, please stop the emails, ik lees ze toch niet."),
    ("nl", "graag afmelen voor de nieuwsbrief"),
    ("nl", "verwijdert me uit jullie bestand aub"),
    ("nl", "ik wil geen nieuwsbrieff meer"),
    ("nl", "Niet geinteresseerd, stuur niks meer."),
    ("nl", "jongens stop nou eens met dat gespam"),
    (
        "nl",
        "Ik schrijf namens mijn vader (83). Hij raakt in de war van al die aanbiedingen. Wilt u "
        "hem niet meer mailen?",
    ),
    (
        "nl",
        "Onze collega Sanne werkt hier niet meer; haal sanne@voorbeeldbedrijf.nl uit uw "
        "mailinglijst.",
    ),
    ("nl", "Op grond van artikel 21 AVG maak ik bezwaar tegen direct marketing."),
    ("nl", "Ik sta ingeschreven in het Bel-me-niet Register. Waarom bellen jullie mij dan nog?"),
    ("nl", "Ik trek mijn toestemming in voor het gebruik van mijn gegevens voor marketing."),
    ("nl", "Die productupdates per mail hoef ik niet meer."),
    ("nl", "Geen aankondigingen van nieuwe producten meer aub."),
    ("nl", "Stop met de supportberichten, ik heb niks lopen bij jullie."),
    ("nl", "Speciale aanbiedingen? Nee bedankt, stop ermee."),
    ("nl", "Graag het adres administratie@kapsalon-voorbeeld.nl van al uw lijsten verwijderen."),
    ("nl", "Hou toch eens op man."),
    ("nl", "Ik word er gek van, elke dag weer."),
    ("nl", "Bel mij nooit meer."),
    ("nl", "Neem geen contact meer met mij op."),
    ("nl", "U hoeft mij niet meer te schrijven."),
    ("nl", "Wil je me alsjeblieft niet meer benaderen?"),
    ("nl", "Schrijf me uit voor alles."),
    ("nl", "Uitschrijven nieuwsbrief"),
    ("nl", "Ik wil niks meer van jullie ontvangen."),
    ("nl", "Gelieve mij uit te schrijven van uw mailinglijst, dank u."),
    ("nl", "Ik ontvang veel te veel mails van jullie. Graag helemaal niet meer."),
    ("nl", "Geen post meer naar dit adres, de vorige bewoner is verhuisd."),
    ("nl", "Afmelden voor alle marketing."),
    ("nl", "Graag geen telefonische verkoop meer."),
    # ------------------------------------------------------------------ French
    (
        "fr",
        "Bonjour,\nDepuis la mise à jour, l'antivirus bloque mon imprimante réseau ; j'ai joint "
        "la capture d'écran. Autre chose : je ne veux plus recevoir vos mails publicitaires, "
        "merci d'en prendre note.\nCordialement,\nClaire Moreau",
    ),
    (
        "fr",
        "Appel du 12/03 : M. Lefèvre ne veut plus être démarché par téléphone ni par mail. À "
        "noter dans la fiche.",
    ),
    ("fr", "RE: Nouveautés de printemps\n\nDésabonnez-moi."),
    ("fr", "Bonjour, unsubscribe please, je lis mal l'anglais."),
    ("fr", "arretez de menvoyer des mails"),
    ("fr", "desinscriver moi de la newsleter"),
    ("fr", "franchement vos pubs ça me saoule, stop"),
    (
        "fr",
        "Je vous écris pour ma grand-mère, elle reçoit vos catalogues tous les mois : merci de "
        "ne plus rien lui envoyer.",
    ),
    (
        "fr",
        "Notre collègue Julie a quitté l'entreprise, supprimez julie.roux@exemple.fr de votre "
        "liste de diffusion.",
    ),
    ("fr", "Conformément à l'article 21 du RGPD, je m'oppose à toute prospection commerciale."),
    ("fr", "Mon numéro est inscrit sur Bloctel depuis 2021, je ne veux plus de vos appels."),
    ("fr", "Je ne souhaite plus recevoir les e-mails de mises à jour produit."),
    ("fr", "Plus d'annonces de nouveaux produits, merci."),
    ("fr", "Les offres spéciales, j'en veux pas."),
    ("fr", "Merci de retirer l'adresse compta@garage-exemple.fr de tous vos envois."),
    ("fr", "C'est la cinquième relance cette semaine, c'est insupportable."),
    ("fr", "Ne m'appelez plus jamais."),
    ("fr", "Veuillez ne plus me contacter."),
    ("fr", "Ne m'écrivez plus, merci."),
    ("fr", "Je veux plus rien recevoir de vous."),
    ("fr", "Effacez mes coordonnées de votre fichier client."),
    ("fr", "Arrêtez de m'envoyer vos courriels svp, ça m'tente pas."),
    ("fr", "désinscription newsletter svp merci"),
    ("fr", "Je souhaite que vous supprimiez mon adresse de vos listes marketing."),
    ("fr", "stop pub Merci, Gaëlle"),
    ("fr", "Merci de ne plus m'importuner avec vos offres."),
    # ------------------------------------------------------------------ German
    (
        "de",
        "Hallo zusammen,\nseit dem letzten Update startet der Scanner auf meinem Rechner nicht "
        "mehr, Logdatei anbei. Neuinstallation hat nichts gebracht. Und bitte schicken Sie mir "
        "keine Werbung mehr, das nervt langsam.\nViele Grüße\nStefan",
    ),
    (
        "de",
        "Telefonat 10:30: Frau Wagner wünscht keine weiteren Werbeanrufe und keine Werbemails. "
        "Bitte vermerken.",
    ),
    ("de", "AW: Frühlingsangebote\n\nAbmelden bitte."),
    ("de", "Hi, bitte unsubscribe, ich lese das eh nicht."),
    ("de", "bite keine newslleter mehr"),
    ("de", "Bitte loeschen Sie meine Adresse aus Ihrem Verteiler."),
    ("de", "abmeldne vom newsletter"),
    ("de", "Leute, hört endlich auf mich vollzuspammen."),
    (
        "de",
        "Ich schreibe im Auftrag meines Vaters: bitte senden Sie ihm keine Prospekte mehr.",
    ),
    (
        "de",
        "Frau Kühn ist nicht mehr bei uns. Nehmen Sie bitte kuehn@beispiel-gmbh.de aus dem "
        "Verteiler.",
    ),
    ("de", "Ich widerspreche gemäß Art. 21 Abs. 2 DSGVO der Nutzung meiner Daten für Werbung."),
    ("de", "Meine Nummer steht in der Robinsonliste, rufen Sie nicht mehr an."),
    ("de", "Die Mails mit Produktupdates brauche ich nicht mehr."),
    ("de", "Bitte keine Ankündigungen neuer Produkte mehr schicken."),
    ("de", "Sonderangebote interessieren mich nicht, bitte abbestellen."),
    ("de", "Bitte entfernen Sie buchhaltung@schreinerei-beispiel.de aus allen Listen."),
    ("de", "Jede Woche der gleiche Mist. Mir reicht's."),
    ("de", "Rufen Sie mich nie wieder an."),
    ("de", "Bitte kontaktieren Sie mich nicht mehr."),
    ("de", "Schreiben Sie mir bitte nicht mehr."),
    ("de", "Ich will nix mehr von euch hören."),
    ("de", "Bitte keine Werbung mehr zusenden, merci vielmal."),
    ("de", "Newsletter abbestellen, danke."),
    ("de", "Bitte streichen Sie mich aus Ihrer Kundenkartei für Werbung."),
    ("de", "Bitte schickt's ma nix mehr."),
]

RESUBSCRIBE: list[tuple[str, str]] = [
    ("es", "Ayer me di de baja sin querer; quiero seguir recibiendo el boletín."),
    ("es", "Me he borrado de la newsletter por equivocación, ¿me dan de alta otra vez?"),
    ("es", "Por error marqué 'no recibir ofertas'. Vuelvan a incluirme, por favor."),
    ("en", "I clicked unsubscribe on the wrong email - please put me back on the product news list."),
    ("en", "Oops, I opted out by accident. Can you sign me up again?"),
    ("nl", "Per ongeluk uitgeschreven, zet me aub weer op de mailinglijst."),
    ("nl", "Ik heb me vergist en me afgemeld voor de aanbiedingen; graag weer inschrijven."),
    (
        "nl",
        "Kunnen jullie mijn afmelding ongedaan maken? Ik wil de nieuwsbrief toch blijven "
        "ontvangen.",
    ),
    ("fr", "Je me suis désabonné sans faire exprès, pouvez-vous me remettre sur la liste ?"),
    ("fr", "Erreur de ma part : je voudrais recevoir à nouveau vos offres."),
    ("de", "Ich habe mich aus Versehen abgemeldet, bitte tragen Sie mich wieder ein."),
    ("de", "Hab den Newsletter versehentlich abbestellt - kann ich ihn wieder bekommen?"),
]

ORDINARY: list[tuple[str, str]] = [
    # ------------------------------------------------------------------ Spanish
    ("es", "¿Cómo quito a un empleado de las alertas de la consola? Ya no está en la empresa."),
    ("es", "Quiero dejar el programa beta, la versión de pruebas me da problemas."),
    ("es", "Necesito bajar de plan Profesional a Básico."),
    ("es", "Me sale el aviso de disco casi lleno en el portátil, ¿es por su programa?"),
    ("es", "Sus correos de confirmación me llegan al spam, ¿pueden revisarlo?"),
    ("es", "Mi lista de suscriptores no se sincroniza con el plugin, ¿qué hago?"),
    ("es", "¿Cómo pueden mis clientes darse de baja de mi boletín?"),
    ("es", "Me cobraron dos veces la factura de mayo, ¿pueden devolverme uno de los cargos?"),
    ("es", "Dejen de cobrarme la renovación automática, ya no uso el programa."),
    ("es", "No me llega el correo para restablecer la contraseña."),
    ("es", "¿Pueden eliminar mi cuenta antigua? Tengo dos y solo uso una."),
    ("es", "No recibo las notificaciones de amenazas en el móvil."),
    ("es", "Quiero cambiar el correo donde recibo las facturas."),
    ("es", "¿Pueden llamarme mañana por la mañana? Es sobre el presupuesto."),
    ("es", "El filtro antispam de su producto bloquea los correos de mi banco."),
    ("es", "Por favor, no envíen al técnico hasta el jueves."),
    ("es", "He cancelado la prueba gratuita, ¿me confirman que no me cobrarán?"),
    ("es", "Cómo desactivo los informes semanales que me llegan por correo"),
    ("es", "¿El boletín de seguridad se puede recibir en inglés?"),
    ("es", "Basta de excusas, el programa sigue sin funcionar."),
    # ------------------------------------------------------------------ English
    ("en", "As an admin, how do I take a user off the threat alert emails?"),
    ("en", "We'd like to leave the early-access programme, the beta keeps crashing."),
    ("en", "Downgrade my plan to Personal at the next renewal please."),
    ("en", "Getting a low disk space alert every morning since the update."),
    ("en", "Is there a way to stop our own newsletter going to the spam folder at Gmail?"),
    ("en", "How do my subscribers opt out of the SMS list in your plug-in?"),
    ("en", "I was charged twice for invoice 4471."),
    ("en", "The stop button in the scan window doesn't do anything."),
    ("en", "Please stop auto-renewal on my account, I'll renew manually."),
    ("en", "Remove the old card from my billing details."),
    ("en", "Please don't call before 10am, I work nights."),
    ("en", "Our marketing team wants to send a newsletter from your platform; is there an API?"),
    ("en", "I never got the password reset email."),
    ("en", "Can you email me the quote again?"),
    ("en", "Please remove Jake from our account admins, he left."),
    ("en", "I'm fed up with the app freezing on startup."),
    ("en", "Could you call me back this afternoon about the refund?"),
    ("en", "Send the invoices to accounts@example.com, not to me."),
    # ------------------------------------------------------------------ Dutch
    ("nl", "Hoe haal ik als beheerder een medewerker uit de waarschuwingsmails?"),
    ("nl", "Ik wil stoppen met de bètatest, te veel bugs."),
    ("nl", "Kunnen we per 1 juni terug naar het kleinere pakket?"),
    ("nl", "Mijn schijf zit vol volgens jullie melding, klopt dat?"),
    ("nl", "Jullie facturen komen in mijn spamfolder terecht."),
    ("nl", "Hoe kunnen mijn abonnees zich afmelden via jullie plug-in?"),
    ("nl", "Ik ben dubbel gefactureerd voor mei."),
    ("nl", "Mijn wachtwoord-resetmail komt niet aan."),
    ("nl", "Bel me morgen even over de offerte."),
    ("nl", "Stuur de factuur naar onze boekhouding, niet naar mij."),
    ("nl", "Verwijder aub de oude creditcard uit mijn account."),
    ("nl", "Ik wil me afmelden voor het webinar van dinsdag."),
    ("nl", "Kan ik de wekelijkse rapportmails uitzetten voor mijn collega's?"),
    ("nl", "Ik krijg geen meldingen meer op mijn telefoon sinds de update."),
    ("nl", "Onze nieuwsbrief gaat via jullie server, maar hij wordt als spam gemarkeerd."),
    ("nl", "Ik ben die trage app helemaal zat."),
    ("nl", "Kunnen jullie mij terugbellen over de terugbetaling?"),
    ("nl", "Stop de automatische verlenging, ik verleng zelf."),
    ("nl", "Mijn collega Peter moet uit de beheerdersgroep."),
    ("nl", "Kan ik de nieuwsbrief ook in het Engels krijgen?"),
    # ------------------------------------------------------------------ French
    ("fr", "Comment retirer un utilisateur des alertes de sécurité en tant qu'administrateur ?"),
    ("fr", "Je souhaite quitter la bêta, trop instable."),
    ("fr", "Passez-moi à la formule Essentiel au prochain renouvellement."),
    ("fr", "Alerte d'espace disque faible sur mon PC depuis hier."),
    ("fr", "Vos factures arrivent dans mes indésirables."),
    ("fr", "Comment mes abonnés peuvent-ils se désabonner de ma lettre via votre plugin ?"),
    ("fr", "J'ai été prélevé deux fois ce mois-ci."),
    ("fr", "Je ne reçois pas le mail de réinitialisation du mot de passe."),
    ("fr", "Pouvez-vous m'appeler demain matin pour le devis ?"),
    ("fr", "N'envoyez pas le technicien avant jeudi."),
    ("fr", "Supprimez l'ancienne carte de mon compte."),
    ("fr", "Comment désactiver les rapports hebdomadaires par mail pour mon équipe ?"),
    ("fr", "J'en ai assez de ces plantages au démarrage."),
    ("fr", "Est-ce que la newsletter existe en anglais ?"),
    ("fr", "Arrêtez le renouvellement automatique, je renouvellerai moi-même."),
    ("fr", "Je veux me désinscrire de l'atelier de mardi."),
    # ------------------------------------------------------------------ German
    ("de", "Wie nehme ich als Admin einen Mitarbeiter aus den Warnmeldungen raus?"),
    ("de", "Ich möchte die Beta verlassen, zu viele Abstürze."),
    ("de", "Bitte auf den Basistarif downgraden ab Juli."),
    ("de", "Die Meldung 'Speicherplatz knapp' erscheint ständig."),
    ("de", "Ihre Rechnungen landen bei mir im Spamordner."),
    ("de", "Wie können sich meine Abonnenten über Ihr Plugin abmelden?"),
    ("de", "Mir wurde der Mai doppelt abgebucht."),
    ("de", "Die Mail zum Zurücksetzen des Passworts kommt nicht an."),
    ("de", "Rufen Sie mich morgen wegen des Angebots an?"),
    ("de", "Bitte schicken Sie den Techniker erst am Donnerstag."),
    ("de", "Löschen Sie bitte die alte Kreditkarte aus meinem Konto."),
    ("de", "Wie stelle ich die wöchentlichen Berichtsmails für mein Team ab?"),
    ("de", "Ich habe die Nase voll von den ständigen Abstürzen."),
    ("de", "Gibt es den Newsletter auch auf Englisch?"),
    ("de", "Bitte die automatische Verlängerung abstellen, ich verlängere selbst."),
    ("de", "Ich möchte mich vom Webinar am Dienstag abmelden."),
    *RESUBSCRIBE,
]

# ---------------------------------------------------------------------------- second batch
# Written after the first batch above had been developed on, and measured blind against those
# rules before any change for it (figures in the commit that added it); same kinds, weighted
# to Spanish, Dutch and English again.

_OPT_OUT_B: list[tuple[str, str]] = [
    (
        "es",
        "Buenos días, les escribo en nombre de Construcciones Lara. Hemos cambiado de proveedor "
        "de antivirus y ya no necesitamos sus comunicaciones; por favor, eliminen todas nuestras "
        "direcciones de sus envíos.",
    ),
    ("es", "Nota de soporte: el cliente pidió por teléfono que no se le envíe más publicidad ni boletines."),
    ("es", "RE: Descuento exclusivo para ti\n\nno gracias, quitadme"),
    ("es", "dejen de mandarme correos xfavor"),
    ("es", "no me enbien mas nada"),
    ("es", "desuscribanme porfabor"),
    ("es", "Ya no trabajo en esa empresa, borren mi correo de su lista de clientes."),
    ("es", "Hola!! porfa dejen d escribirme"),
    ("es", "En nombre de mi hija, menor de edad: no quiero que le manden publicidad."),
    (
        "es",
        "Conforme al artículo 21 del Reglamento General de Protección de Datos, me opongo al "
        "envío de publicidad.",
    ),
    ("es", "Estoy inscrita en la lista Robinson de Adigital."),
    ("es", "No deseo seguir recibiendo el boletín de novedades."),
    ("es", "Ni una oferta más, por favor."),
    ("es", "Quiero que dejen de llamarme a todas horas."),
    ("es", "Me podrían sacar de su base de datos? gracias"),
    ("es", "Ya está bien de tanto correo."),
    ("es", "No vuelvan a llamarme, gracias."),
    ("es", "cancelar boletin"),
    ("es", "¿Cómo hago para que dejen de llegarme sus promociones?"),
    ("es", "Que dejen de molestarme con sus ofertas, hombre."),
    ("es", "Eliminar mi dirección de correo de la lista de distribución, por favor."),
    ("es", "Me llegan sus correos a diario y no los quiero."),
    (
        "nl",
        "Beste, namens mijn moeder die slecht ziet: wilt u haar van uw adressenlijst halen? Ze "
        "krijgt elke week post van u.",
    ),
    ("nl", "Notitie telefoongesprek: klant verzoekt geen commerciële benadering meer."),
    ("nl", "RE: Exclusieve korting\n\nHoeft niet meer, bedankt. Graag van de lijst af."),
    ("nl", "afmelden aub!!!"),
    ("nl", "wil me uitschijven"),
    ("nl", "ik wil geen mails meer ontvagen"),
    ("nl", "stuur me nix meer"),
    ("nl", "Gelieve mijn e-mailadres uit jullie systeem te verwijderen."),
    ("nl", "Mijn vrouw wil ook geen reclame meer van jullie, haar adres is els@example.be."),
    ("nl", "Ik maak gebruik van mijn recht van verzet tegen direct marketing."),
    ("nl", "Niet meer bellen a.u.b., ik sta in het Bel-me-niet-register."),
    ("nl", "Hou op met mailen."),
    ("nl", "Bespaar me die nieuwsbrief."),
    ("nl", "Ik wens geen verdere correspondentie."),
    ("nl", "Schrap mij uit jullie bestand."),
    ("nl", "Ik heb niks aan jullie aanbiedingen, stop ermee aub."),
    ("nl", "Kunnen jullie ophouden met bellen?"),
    ("nl", "Dit is al de vijfde mail deze week. Echt, genoeg nu."),
    (
        "en",
        "Hello, we closed our Leeds office last month so leeds@brightdental.example no longer "
        "exists. Please take it off your mailing lists so we stop getting bounces. Thanks, Priya",
    ),
    ("en", "Ticket note: caller requested no more marketing calls or emails. DNC applied?"),
    ("en", "RE: Last chance: 50% off ends tonight\n\nPlease stop."),
    ("en", "unsubscirbe pls"),
    ("en", "remoev me from the list"),
    ("en", "stop emailng me"),
    ("en", "I'm writing on behalf of my late father. Please remove him from all your mailings."),
    ("en", "Please honour my objection to direct marketing."),
    ("en", "I have registered with the Mailing Preference Service, please remove my details."),
    ("en", "Don't send me any of your offers."),
    ("en", "Not interested in your product news, thanks."),
    ("en", "Who do I talk to to stop these emails?"),
    ("en", "Please no more calls."),
    ("en", "Kindly desist from contacting me."),
    ("en", "I never asked for these emails. Stop."),
    ("en", "Enough with the emails already."),
    ("en", "Get me off this list."),
    ("en", "I'd like you to stop marketing to me."),
    (
        "fr",
        "Bonjour, je suis l'aidant de mon père (92 ans) : pouvez-vous cesser de lui envoyer de la "
        "publicité ?",
    ),
    ("fr", "Compte rendu d'appel : le client refuse toute sollicitation commerciale à l'avenir."),
    ("fr", "RE : Offre exclusive\n\nnon merci, désinscrivez moi"),
    ("fr", "désabonez-moi de tt svp"),
    ("fr", "je veux plus de vos mails"),
    ("fr", "Retirez-moi de votre fichier."),
    ("fr", "Stop aux appels commerciaux."),
    ("fr", "Cessez de m'importuner."),
    ("fr", "Je m'oppose à recevoir vos offres."),
    ("fr", "Ça fait trois fois que je demande à ne plus recevoir vos mails !"),
    (
        "de",
        "Guten Tag, ich betreue die Post meiner Mutter (89). Bitte senden Sie ihr keine Werbung "
        "mehr, sie kann damit nichts anfangen.",
    ),
    ("de", "Gesprächsnotiz: Kunde lehnt weitere Werbung ab."),
    ("de", "AW: Exklusiver Rabatt\n\nNein danke, bitte austragen."),
    ("de", "bite abmelden vom nwesletter"),
    ("de", "Ich möchte keine Post mehr von Ihnen."),
    ("de", "Hören Sie auf, mich anzurufen."),
    ("de", "Bitte nehmen Sie mich aus allen Verteilern."),
    ("de", "Ich verbitte mir jede weitere Werbung. Danke, Uwe"),
    ("de", "Lassen Sie mich mit Ihren Angeboten in Ruhe."),
    ("de", "Keine Anrufe mehr bitte."),
]

_RESUBSCRIBE_B: list[tuple[str, str]] = [
    ("es", "Me equivoqué al darme de baja, quiero volver a recibir las ofertas."),
    ("nl", "Ik wil toch weer de nieuwsbrief ontvangen, had me per abuis afgemeld."),
    ("en", "Changed my mind - please resubscribe me to the newsletter."),
]

_ORDINARY_B: list[tuple[str, str]] = [
    ("es", "¿Puedo quitar a un usuario de la lista de alertas del antivirus?"),
    ("es", "Se me llenó el disco, ¿cómo borro las copias antiguas?"),
    ("es", "Quiero darme de baja del plan anual y pasar al mensual."),
    ("es", "No me llegan los correos de verificación, ¿los pueden reenviar?"),
    ("es", "Quiten el cargo duplicado de mi tarjeta, por favor."),
    ("es", "¿Cómo dejo de recibir avisos de actualización del programa en el ordenador?"),
    ("es", "Mis suscriptores dicen que el enlace de baja de mi boletín no funciona."),
    ("es", "Llamadme cuando podáis, tengo dudas con la factura."),
    ("nl", "Hoe verwijder ik een gebruiker uit de alertlijst?"),
    ("nl", "Mijn schijf is vol, hoe wis ik oude back-ups?"),
    ("nl", "Ik wil overstappen van het jaarabonnement naar maandelijks."),
    ("nl", "De verificatiemail komt niet binnen, kunnen jullie hem opnieuw sturen?"),
    ("nl", "Haal de dubbele afschrijving van mijn creditcard af aub."),
    ("nl", "Hoe stop ik de updatemeldingen op mijn computer?"),
    ("nl", "Mijn abonnees zeggen dat de afmeldlink in mijn nieuwsbrief niet werkt."),
    ("nl", "Bel me wanneer het uitkomt, ik heb een vraag over de factuur."),
    ("en", "How do I remove a user from the alert list?"),
    ("en", "My disk is full, how do I delete old backups?"),
    ("en", "I'd like to switch from the annual plan to monthly."),
    ("en", "The verification email never arrives, can you resend it?"),
    ("en", "Please remove the duplicate charge from my card."),
    ("en", "How do I stop the update pop-ups on my computer?"),
    ("en", "My subscribers say the unsubscribe link in my newsletter doesn't work."),
    ("en", "Call me whenever suits, I have a question about the invoice."),
    ("fr", "Comment supprimer un utilisateur de la liste d'alertes ?"),
    ("fr", "Mes abonnés disent que le lien de désinscription de ma newsletter ne marche pas."),
    ("fr", "Appelez-moi quand vous voulez, j'ai une question sur la facture."),
    ("de", "Wie entferne ich einen Benutzer aus der Alarmliste?"),
    ("de", "Meine Abonnenten sagen, der Abmeldelink in meinem Newsletter funktioniert nicht."),
    ("de", "Rufen Sie mich an, wann es passt, ich habe eine Frage zur Rechnung."),
    *_RESUBSCRIBE_B,
]

OPT_OUT += _OPT_OUT_B
RESUBSCRIBE += _RESUBSCRIBE_B
ORDINARY += _ORDINARY_B
