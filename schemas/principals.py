"""Who may do what on Kafka: one principal per role, and its rights as data.

The catalogue is keyed to the topic catalogue (`schemas.topics`), so a topic renamed there is
renamed here, and a test checks that every topic a principal touches exists. `ops.access`
turns it into SCRAM users and ACLs; nothing else decides who may read or write what.

How rights become ACLs (`grants`), and why these patterns:

- Topics are LITERAL `<topic prefix><name>`. A PREFIXED pattern `t1-purchases` would also
  cover a later `t1-purchases-archive`, and with the empty production prefix a PREFIXED
  pattern cannot express "this topic" at all. Each grant names one topic, so a topic added
  later is closed to everyone until the catalogue names it.
- Consumer groups of the sinks, the mailer and the DPO are LITERAL `<topic prefix><name>`,
  exactly what `ClientSettings.group_id(name)` builds.
- The worker (consent agent and send filter, two processes, one principal) is the only one
  with PREFIXED grants: its groups and transactional ids all start with `<app id>-` (groups
  `-agent`, `-filter`, `-restore`, `-replica`; transactional ids `-agent-<random>`,
  `-filter-<random>`, one per process start), and the random part cannot be named in
  advance. The trailing `-` keeps app id `consent` from covering `consent2-…`.
- READ implies DESCRIBE, and WRITE implies DESCRIBE (Kafka's implied operations), so the
  catalogue grants READ and WRITE, and DESCRIBE alone only where a principal must see a topic
  it may not read (the mailer: the consent inputs' end offsets): nobody may create, delete or alter a topic,
  describe or alter its configuration, delete a group, or touch ACLs and users. That is
  the admin principal's job, and the admin is used only by setup. An idempotent producer
  needs no cluster grant: since Kafka 3.0, WRITE on a topic lets it obtain a producer id.
"""

from dataclasses import dataclass
from enum import StrEnum

from schemas.exceptions import ConsentError
from schemas.topics import (
    CONSENT_CHANGES,
    CONSENT_REVIEW,
    CONSENT_STATE,
    CONTACTS,
    DEAD_LETTERS,
    DISCLOSURES,
    INPUT_TOPICS,
    MAIL_OUTBOX,
    MAIL_REQUESTS,
    MAIL_SUPPRESSED,
)

ADMIN = "admin"
"""The super user that creates topics, users and ACLs; no running component uses it."""
BROKER = "broker"
"""The broker's own principal (inter-broker and controller traffic); a super user too."""


class Resource(StrEnum):
    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"


class Pattern(StrEnum):
    LITERAL = "literal"
    PREFIXED = "prefixed"


class Operation(StrEnum):
    READ = "read"
    WRITE = "write"
    DESCRIBE = "describe"


@dataclass(frozen=True, order=True)
class Grant:
    """One ACL: `User:<principal>` may do `operation` on a resource (allow, from any host)."""

    principal: str
    resource: Resource
    pattern: Pattern
    name: str
    operation: Operation


@dataclass(frozen=True)
class Principal:
    """A role's identity on Kafka and what it may do. Topic names are unprefixed."""

    name: str
    role: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    describes: tuple[str, ...] = ()
    """Topics it may only see (metadata, end offsets), never read: the mailer's barrier asks
    how far the consent inputs go without being able to read one event of them."""
    groups: tuple[str, ...] = ()
    """Consumer groups it uses, named `<topic prefix><group>` (LITERAL)."""
    app_id_scoped: bool = False
    """Uses consumer groups and transactional ids `<app id>-*` (PREFIXED)."""

    def grants(self, prefix: str, app_id: str) -> list[Grant]:
        """This principal's ACLs for a deployment's topic prefix and app id."""
        out = [Grant(self.name, Resource.TOPIC, Pattern.LITERAL, f"{prefix}{t}", Operation.READ)
               for t in self.reads]
        out += [Grant(self.name, Resource.TOPIC, Pattern.LITERAL, f"{prefix}{t}", Operation.WRITE)
                for t in self.writes]
        out += [Grant(self.name, Resource.TOPIC, Pattern.LITERAL, f"{prefix}{t}",
                      Operation.DESCRIBE) for t in self.describes]
        out += [Grant(self.name, Resource.GROUP, Pattern.LITERAL, f"{prefix}{g}", Operation.READ)
                for g in self.groups]
        if self.app_id_scoped:
            if not app_id:
                raise ConsentError(f"principal {self.name} needs an app id (CONSENT_APP_ID)")
            scope = f"{app_id}-"
            out += [Grant(self.name, Resource.GROUP, Pattern.PREFIXED, scope, Operation.READ),
                    Grant(self.name, Resource.TRANSACTIONAL_ID, Pattern.PREFIXED, scope,
                          Operation.WRITE)]
        return out


WORKER_OUTPUTS = (CONSENT_STATE, CONSENT_CHANGES, CONTACTS, DEAD_LETTERS, CONSENT_REVIEW,
                  MAIL_OUTBOX, MAIL_SUPPRESSED)
"""What the worker writes: decisions, state and everything derived from the inputs. Only the
worker writes them, except `dead-letters`, which webhook ingestion writes too (its refused
payloads never reach an input topic, so the worker cannot dead-letter them)."""

PRINCIPALS: tuple[Principal, ...] = (
    Principal("ecommerce", "the e-commerce provider's checkout", writes=("purchases",)),
    Principal("support-desk", "the support and sales desk", writes=("support",)),
    Principal("newsletter", "the newsletter service", writes=("newsletter",)),
    Principal("preference-centre", "the preference centre", writes=("preferences",)),
    Principal("unsubscribe", "the one-click unsubscribe endpoint", writes=("preferences",)),
    Principal("marketing", "marketing and support mailing systems", writes=(MAIL_REQUESTS,)),
    # webhook ingestion (`consent ingest-server`): providers that send webhooks instead of
    # Kafka records. Its own principal rather than `ecommerce` + `support-desk`: one process
    # serves both routes, and those two stay the providers' own identities, which must not
    # gain dead-letters. It writes dead letters because a refused payload from an
    # authenticated source must be kept (original bytes, reason) and no topic is read.
    Principal("ingest", "webhook ingestion (`consent ingest-server`)",
              writes=("purchases", "support", DEAD_LETTERS)),
    Principal(
        "worker", "consent agent and send filter (`consent worker`, `consent filter`)",
        reads=(*INPUT_TOPICS, DISCLOSURES, MAIL_REQUESTS, CONSENT_STATE),
        # the inputs and mail-requests too: a mis-keyed event or request is re-routed to the
        # partition of its real contact key
        writes=(*WORKER_OUTPUTS, *INPUT_TOPICS, DISCLOSURES, MAIL_REQUESTS),
        app_id_scoped=True),
    Principal("postgres-sink", "the PostgreSQL sink (`consent sink postgres`)",
              reads=(CONSENT_CHANGES, MAIL_OUTBOX, MAIL_SUPPRESSED, DEAD_LETTERS, CONTACTS,
                     CONSENT_REVIEW),
              groups=("postgres-sink",)),
    # consent-state and the inputs' end offsets: the mailer re-checks consent at send time
    # (sinks/send_check.py) with the send filter's barrier
    Principal("mailer", "the SMTP mailer (`consent sink mailer`)",
              reads=(MAIL_OUTBOX, CONSENT_STATE), describes=INPUT_TOPICS, groups=("mailer",)),
    # disclosures: the record of a legal disclosure, which the consent agent turns into a
    # ledger line; it cannot change anyone's consent (the agent accepts only
    # `contact.disclosure_recorded` there) and the DPO writes no other topic
    Principal("dpo", "the data-protection officer (lookup, disclosure)",
              reads=(CONTACTS, CONSENT_CHANGES, CONSENT_STATE), writes=(DISCLOSURES,),
              groups=("dpo",)),
)
"""Every principal a component or person uses; `ADMIN` and `BROKER` are not in it."""


def principal(name: str) -> Principal:
    for p in PRINCIPALS:
        if p.name == name:
            return p
    raise ConsentError(f"no principal {name!r}; known: {', '.join(p.name for p in PRINCIPALS)}")


def grants(prefix: str, app_id: str) -> list[Grant]:
    """Every ACL of the catalogue for one deployment (topic prefix + app id), sorted."""
    return sorted(g for p in PRINCIPALS for g in p.grants(prefix, app_id))
