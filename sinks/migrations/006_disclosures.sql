-- Legal disclosures (`consent disclose`): who disclosed which categories of a contact's data,
-- when, to which authority, on which legal basis, under which case reference. No personal
-- data: the contact key names the person, export_sha256 the exact file that was handed over.
--
-- Written by the PostgreSQL sink from the ledger line the consent agent makes of the DPO's
-- `contact.disclosure_recorded` event (topic `disclosures`, which only the DPO may write), so
-- the ledger and this table hold the same disclosures, each once. The DPO's role writes no
-- table; nobody may change or remove a row (only the migration owner could drop the trigger).
CREATE TABLE disclosures (
    contact_key   text        NOT NULL,
    event_id      uuid        NOT NULL,
    disclosed_at  timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    principal     text        NOT NULL,
    operator      text        NOT NULL,
    legal_basis   text        NOT NULL,
    case_ref      text        NOT NULL,
    authority     text        NOT NULL,
    categories    text[]      NOT NULL,
    export_sha256 text        NOT NULL,
    PRIMARY KEY (contact_key, event_id)
);
CREATE INDEX disclosures_case ON disclosures (case_ref);

CREATE FUNCTION disclosures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'disclosures is append-only';
END $$;
CREATE TRIGGER disclosures_no_update BEFORE UPDATE OR DELETE ON disclosures
    FOR EACH ROW EXECUTE FUNCTION disclosures_append_only();
