-- Detected text an agent should confirm or reverse (`consent review`). No text is stored: the
-- ticket id and the character span point at it in the support desk. An item is closed by the
-- ledger line of the preference change an agent sent for it (evidence.review_id).
CREATE TABLE review_items (
    review_id         uuid        PRIMARY KEY,
    contact_key       text        NOT NULL,
    event_id          uuid        NOT NULL,
    ticket_id         text        NOT NULL,
    outcome           text        NOT NULL CHECK (outcome IN ('possible_opt_out', 'resubscribe')),
    suggested         text        NOT NULL,
    rule              text        NOT NULL,
    language          text        NOT NULL,
    span              text        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    created_at        timestamptz NOT NULL,
    resolved_at       timestamptz,
    resolution        text CHECK (resolution IN ('confirmed', 'reversed')),
    resolved_by_event uuid
);
CREATE INDEX review_items_open ON review_items (created_at) WHERE resolved_at IS NULL;
CREATE INDEX review_items_contact ON review_items (contact_key);
