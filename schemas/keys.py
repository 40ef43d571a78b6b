"""Which contact an event is about, as the key its topic must carry."""

from schemas.contact import contact_key
from schemas.events import Envelope


def event_contact_key(event: Envelope, secret: str) -> str:
    explicit = getattr(event.data, "contact_key", None)
    email = getattr(event.data, "email", None)
    if email:
        return contact_key(email, secret)
    if explicit:
        return str(explicit)
    raise ValueError("event names no contact")  # prevented by the models' validators
