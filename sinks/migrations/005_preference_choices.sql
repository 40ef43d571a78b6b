-- What the preference centre (the unsubscribe endpoint, role consent_unsubscribe) may know
-- about a person: the current status per purpose of ONE contact key, the key it was given.
-- SECURITY DEFINER, so the caller needs EXECUTE on this function and no right on any table:
-- it cannot list contacts, nor read the ledger, profiles or mail decisions. The search_path is
-- pinned (this schema, then pg_temp last), as a SECURITY DEFINER function must, so nothing a
-- caller creates can stand in for the table. Rights: sinks/grants.sql (EXECUTE is revoked
-- from PUBLIC there and here).
DO $migration$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format($create$
        CREATE FUNCTION %1$I.preference_choices(for_key text)
        RETURNS TABLE (purpose text, status text)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = %1$I, pg_temp
        AS $body$
            SELECT c.purpose, c.status FROM %1$I.consent_current c WHERE c.contact_key = for_key
        $body$
    $create$, s);
    EXECUTE format('REVOKE ALL ON FUNCTION %I.preference_choices(text) FROM PUBLIC', s);
END
$migration$;
