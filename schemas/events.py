"""Input events: one frozen model per `type`, all sharing the envelope of DESIGN.md.

Every model forbids unknown envelope keys but tolerates extra `data` fields, because
producers add fields faster than we ship releases and a new optional field must not become a
dead letter.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.contact import normalise_email
from schemas.exceptions import InvalidEmail
from schemas.purposes import Purpose

SCHEMA_MAJOR = 1


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidEmail as exc:  # pydantic only turns ValueError into a field error
        raise ValueError(str(exc)) from exc


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    """Dates before 2000 or from 2100 on are a producer's bug, not an event time we can rank."""
    if not EARLIEST <= value < LATEST:
        raise ValueError("occurred_at must be between 2000 and 2100")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
EventTime = Annotated[AwareDatetime, AfterValidator(_plausible)]
Text = Annotated[str, Field(max_length=20_000)]
# identifiers and mail header values: no line breaks or other control characters, which
# would let a value forge a header or a log line
_NO_CONTROL = r"^[^\x00-\x1f\x7f\u0085\u2028\u2029]*$"
Ident = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_CONTROL)]
HeaderText = Annotated[str, Field(max_length=998, pattern=_NO_CONTROL)]
Choice = Literal["granted", "withdrawn"]


class Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class PurchaseData(Data):
    order_id: Ident
    email: Email
    name: Annotated[str, Field(max_length=500)]
    company: str | None = None
    phone: str | None = None
    address: str | None = None
    country: Annotated[str, Field(max_length=64)] | None = None
    marketing_opt_out: bool = False


class SupportData(Data):
    ticket_id: Ident
    email: Email
    channel: Literal["email", "phone", "chat", "sales"]
    text: Text = ""
    intent: Literal["opt_out", "opt_in"] | None = None


class NewsletterSignupData(Data):
    email: Email
    confirmation_token: Ident | None = None


class NewsletterConfirmedData(Data):
    email: Email
    confirmation_token: Ident | None = None


class NewsletterUnsubscribedData(Data):
    email: Email
    scope: Literal["newsletter", "all"] = "newsletter"


ContactKey = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class PreferenceData(Data):
    """`email`, or `contact_key` when the sender only knows the key (one-click unsubscribe)."""

    email: Email | None = None
    contact_key: ContactKey | None = None
    changes: dict[Purpose, Choice] = Field(default_factory=dict)
    all: Choice | None = None
    review_id: Ident | None = None  # set by `consent review` when an agent decides an item

    @model_validator(mode="after")
    def _meaningful(self) -> "PreferenceData":
        if (self.email is None) == (self.contact_key is None):
            raise ValueError("preference.changed needs exactly one of `email` or `contact_key`")
        if not self.changes and self.all is None:
            raise ValueError("preference.changed needs `changes` or `all`")
        if Purpose.TRANSACTIONAL in self.changes:
            raise ValueError("transactional mail cannot be granted or withdrawn")
        return self


class ErasureData(Data):
    email: Email
    request_ref: Ident


DisclosedCategory = Literal["profile", "consent", "history", "mail_decisions", "erasures",
                            "review_items", "disclosures"]
"""What `consent disclose` and `consent lookup --json` export about a person, by section."""
LegalText = Annotated[str, Field(min_length=1, max_length=500, pattern=_NO_CONTROL)]


class DisclosureData(Data):
    """A legal disclosure the DPO made (`consent disclose`), as the ledger records it.

    No personal data: the contact key names the person, `export_sha256` the exact file handed
    over, and the command refuses texts that contain the person's data. Unknown fields are
    refused (unlike other events): nothing may ride into the audit record unseen.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_key: ContactKey
    legal_basis: LegalText
    case_ref: Ident
    authority: LegalText
    categories: tuple[DisclosedCategory, ...] = Field(max_length=20)
    principal: Literal["dpo"]
    """The Kafka principal that sent it; only `dpo` may write the `disclosures` topic."""
    operator: Ident
    """The operating-system user who ran the command."""
    export_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class MailData(Data):
    request_id: Ident
    email: Email
    purpose: Purpose
    subject: HeaderText
    body: Annotated[str, Field(max_length=1_000_000)]
    campaign: Ident | None = None


class Envelope(BaseModel):
    """Fields every event carries; `event_id` is the idempotency key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    type: str
    # [0-9], not \d: the pattern engine's \d matches every Unicode digit ("１", "١")
    schema_version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$")]
    occurred_at: EventTime
    source: Ident
    data: Data


class PurchaseCompleted(Envelope):
    type: Literal["purchase.completed"]
    data: PurchaseData


class SupportMessageReceived(Envelope):
    type: Literal["support.message_received"]
    data: SupportData


class NewsletterSignup(Envelope):
    type: Literal["newsletter.signup"]
    data: NewsletterSignupData


class NewsletterConfirmed(Envelope):
    type: Literal["newsletter.confirmed"]
    data: NewsletterConfirmedData


class NewsletterUnsubscribed(Envelope):
    type: Literal["newsletter.unsubscribed"]
    data: NewsletterUnsubscribedData


class PreferenceChanged(Envelope):
    type: Literal["preference.changed"]
    data: PreferenceData


class ErasureRequested(Envelope):
    type: Literal["contact.erasure_requested"]
    data: ErasureData


class MailRequested(Envelope):
    type: Literal["mail.requested"]
    data: MailData


class DisclosureRecorded(Envelope):
    type: Literal["contact.disclosure_recorded"]
    data: DisclosureData


ConsentEvent = (
    PurchaseCompleted
    | SupportMessageReceived
    | NewsletterSignup
    | NewsletterConfirmed
    | NewsletterUnsubscribed
    | PreferenceChanged
    | ErasureRequested
    | DisclosureRecorded
)
AnyEvent = ConsentEvent | MailRequested

EVENT_TYPES: dict[str, type[Envelope]] = {
    "purchase.completed": PurchaseCompleted,
    "support.message_received": SupportMessageReceived,
    "newsletter.signup": NewsletterSignup,
    "newsletter.confirmed": NewsletterConfirmed,
    "newsletter.unsubscribed": NewsletterUnsubscribed,
    "preference.changed": PreferenceChanged,
    "contact.erasure_requested": ErasureRequested,
    "mail.requested": MailRequested,
    "contact.disclosure_recorded": DisclosureRecorded,
}
