-- Consent pipeline schema. Personal data: none. Contacts are identified by their keyed hash
-- only; the mail address lives in Kafka's mail-outbox and nowhere in this database.

CREATE TABLE kafka_positions (
    consumer    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

-- Current consent per contact and purpose: "allowed" or the suppression reason.
CREATE TABLE consent_current (
    contact_key    text        NOT NULL,
    purpose        text        NOT NULL,
    status         text        NOT NULL,
    event_id       uuid        NOT NULL,
    policy_version text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (contact_key, purpose)
);

-- Append-only ledger: one line per (event, scope) with the rule that fired and its evidence.
CREATE TABLE consent_ledger (
    id             bigserial PRIMARY KEY,
    contact_key    text        NOT NULL,
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    source         text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    processed_at   timestamptz NOT NULL,
    policy_version text        NOT NULL,
    scope          text        NOT NULL,
    action         text        NOT NULL,
    applied        boolean     NOT NULL,
    rule           text        NOT NULL,
    evidence       jsonb       NOT NULL,
    detected       boolean     NOT NULL,
    UNIQUE (event_id, scope)
);
CREATE INDEX consent_ledger_contact ON consent_ledger (contact_key, occurred_at);

CREATE FUNCTION consent_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_ledger is append-only';
END $$;
CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE OR DELETE ON consent_ledger
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only();

-- Every mail request's fate, exactly once per request id.
CREATE TABLE mail_decisions (
    request_id     text        PRIMARY KEY,
    contact_key    text        NOT NULL,
    purpose        text        NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('forwarded', 'suppressed')),
    reason         text,
    rule           text,
    detected       boolean     NOT NULL DEFAULT false,
    campaign       text,
    event_id       uuid        NOT NULL,
    policy_version text        NOT NULL,
    requested_at   timestamptz NOT NULL,
    decided_at     timestamptz NOT NULL
);
CREATE INDEX mail_decisions_contact ON mail_decisions (contact_key);

CREATE TABLE dead_letters (
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    "offset"   bigint      NOT NULL,
    kind       text        NOT NULL,
    stage      text        NOT NULL,
    reason     text        NOT NULL,
    failed_at  timestamptz NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);

-- The mailer's own record: a request id is claimed before the SMTP transaction, so a crash
-- mid-send leaves 'sending' behind and the request is never sent a second time.
CREATE TABLE mail_sends (
    request_id    text        PRIMARY KEY,
    contact_key   text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('sending', 'sent', 'retry', 'failed')),
    attempts      integer     NOT NULL DEFAULT 1,
    claimed_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    smtp_response text
);
