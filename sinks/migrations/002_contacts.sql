-- What we hold on a contact (personal data), from the compacted `contacts` topic. Erasure
-- deletes the row; nothing else in this database identifies a person.
CREATE TABLE contacts (
    contact_key text        PRIMARY KEY,
    email       text        NOT NULL,
    name        text,
    company     text,
    phone       text,
    address     text,
    country     text,
    sources     text[]      NOT NULL DEFAULT '{}',
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);

-- Erasures performed, without personal data: the DPO's proof that a request was honoured.
CREATE TABLE erasures (
    contact_key text        NOT NULL,
    event_id    uuid        NOT NULL PRIMARY KEY,
    request_ref text        NOT NULL,
    requested_at timestamptz NOT NULL,
    erased_at   timestamptz NOT NULL DEFAULT now()
);
