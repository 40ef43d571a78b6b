-- Two contacts' events that share an event_id (a producer bug, a replay with reused ids) must
-- each keep their own proof: the ledger and the erasure record are unique per contact too.
ALTER TABLE consent_ledger DROP CONSTRAINT consent_ledger_event_id_scope_key;
ALTER TABLE consent_ledger ADD CONSTRAINT consent_ledger_contact_event_scope_key
    UNIQUE (contact_key, event_id, scope);

ALTER TABLE erasures DROP CONSTRAINT erasures_pkey;
ALTER TABLE erasures ADD PRIMARY KEY (contact_key, event_id);

-- Records a sink could not store, with the reason (never the content): the sink goes on, and
-- operators see what was left out and why.
CREATE TABLE sink_failures (
    consumer   text        NOT NULL,
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    "offset"   bigint      NOT NULL,
    stage      text        NOT NULL CHECK (stage IN ('deserialization', 'processing', 'production')),
    kind       text        NOT NULL,
    reason     text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition, "offset")
);
