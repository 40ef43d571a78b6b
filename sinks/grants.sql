-- Least-privilege rights of the component roles in the schema being migrated (search_path).
--
-- Applied by sinks.db.migrate after every migration run, as the migration owner, in one
-- transaction. Idempotent, and it converges: each role's table rights in the schema are
-- revoked and granted again, and our row policies dropped and made again, so a right taken
-- out of this file is taken out of the database too. The roles are made by
-- deploy/local/postgres.sh with LOCAL_PG_ROLES=1; where none of them exists (the default local
-- stack, or a deployment with its own roles) this does nothing.
--
--   consent_owner   (not here) owns the schema, tables, the ledger's trigger: only it can
--                   ALTER, DROP, TRUNCATE or disable triggers. No running component uses it.
--   consent_sink    writes what the PostgreSQL sink stores; the ledger by INSERT only (and
--                   reads only its key columns, which ON CONFLICT needs).
--   consent_mailer  its mail_sends, and its own rows of kafka_positions and sink_failures;
--                   nothing about contacts, consent or the ledger.
--   consent_reader  `consent lookup`: SELECT on what lookup shows.
--   consent_unsubscribe  the unsubscribe endpoint's preference centre: no table right at all,
--                   EXECUTE on preference_choices(key) only (one contact's status per purpose,
--                   migration 005), so an internet-facing process cannot list or read the rest.
--   consent_dpo     SELECT on every table, and nothing else: a disclosure is recorded through
--                   the pipeline (topic `disclosures` -> ledger -> the sink writes `disclosures`),
--                   so the DPO can neither forge nor alter an audit record.
--
-- kafka_positions and sink_failures are shared by the sink and the mailer (column `consumer`,
-- the names in sinks/postgres_sink.py and sinks/mailer.py): row-level security keeps each to
-- its own rows, so neither can move the other's Kafka position (skipping or replaying records).
DO $grants$
DECLARE
    s text := current_schema();
    components text[] := ARRAY['consent_sink', 'consent_mailer', 'consent_reader', 'consent_dpo',
                               'consent_unsubscribe'];
    present integer;
    g record;
    seq regclass;
    pol record;
BEGIN
    SELECT count(*) INTO present FROM pg_roles WHERE rolname = ANY (components);
    IF present = 0 THEN
        RETURN;
    ELSIF present < cardinality(components) THEN
        RAISE EXCEPTION 'only % of the roles % exist; run deploy/local/postgres.sh start',
            present, components;
    END IF;

    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %s', s,
                   array_to_string(components, ', '));
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %s', s,
                   array_to_string(components, ', '));
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %s', s, array_to_string(components, ', '));

    FOR g IN SELECT * FROM (VALUES
        -- ON CONFLICT (cols) needs SELECT on the conflict columns: those, and no more
        ('consent_sink',   'consent_ledger',  'INSERT, SELECT (contact_key, event_id, scope)'),
        ('consent_sink',   'consent_current', 'SELECT, INSERT, UPDATE'),
        ('consent_sink',   'mail_decisions',  'INSERT, SELECT (request_id)'),
        ('consent_sink',   'contacts',        'SELECT, INSERT, UPDATE, DELETE'),
        ('consent_sink',   'erasures',        'INSERT, SELECT (contact_key, event_id)'),
        ('consent_sink',   'dead_letters',    'INSERT'),
        ('consent_sink',   'disclosures',     'INSERT, SELECT (contact_key, event_id)'),
        ('consent_sink',   'kafka_positions', 'SELECT, INSERT, UPDATE'),
        ('consent_sink',   'sink_failures',   'INSERT'),
        -- review items: stored, and closed by the ledger line of the agent's decision
        ('consent_sink',   'review_items',    'INSERT, SELECT (review_id, suggested, resolved_at), '
                                              'UPDATE (resolved_at, resolution, resolved_by_event)'),
        ('consent_mailer', 'mail_sends',      'SELECT, INSERT, UPDATE'),
        ('consent_mailer', 'kafka_positions', 'SELECT, INSERT, UPDATE'),
        ('consent_mailer', 'sink_failures',   'INSERT'),
        ('consent_reader', 'consent_current', 'SELECT'),
        ('consent_reader', 'consent_ledger',  'SELECT'),
        ('consent_reader', 'mail_decisions',  'SELECT'),
        ('consent_reader', 'contacts',        'SELECT'),
        ('consent_reader', 'erasures',        'SELECT'),
        ('consent_reader', 'review_items',    'SELECT'),
        ('consent_reader', 'disclosures',     'SELECT')
    ) AS t (role, tbl, privileges)
    LOOP
        CONTINUE WHEN to_regclass(format('%I.%I', s, g.tbl)) IS NULL;  -- not (yet) made
        EXECUTE format('GRANT %s ON TABLE %I.%I TO %I', g.privileges, s, g.tbl, g.role);
        IF g.privileges LIKE '%INSERT%' THEN  -- a serial or identity column's sequence
            FOR seq IN SELECT d.objid::regclass FROM pg_depend d
                       JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
                       WHERE d.refobjid = to_regclass(format('%I.%I', s, g.tbl))
                         AND d.deptype IN ('a', 'i')
            LOOP
                EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', seq, g.role);
            END LOOP;
        END IF;
    END LOOP;
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO consent_dpo', s);

    -- the preference centre reads one contact's choices through this function, nothing else
    IF to_regprocedure(format('%I.preference_choices(text)', s)) IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON FUNCTION %I.preference_choices(text) FROM PUBLIC, %s', s,
                       array_to_string(components, ', '));
        EXECUTE format('GRANT EXECUTE ON FUNCTION %I.preference_choices(text) '
                       'TO consent_unsubscribe', s);
    END IF;

    FOR pol IN SELECT policyname, tablename FROM pg_policies
               WHERE schemaname = s AND tablename IN ('kafka_positions', 'sink_failures')
                 AND policyname IN ('own_rows_sink', 'own_rows_mailer', 'dpo_reads')
    LOOP
        EXECUTE format('DROP POLICY %I ON %I.%I', pol.policyname, s, pol.tablename);
    END LOOP;
    FOR g IN SELECT unnest(ARRAY['kafka_positions', 'sink_failures']) AS tbl LOOP
        EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', s, g.tbl);
        EXECUTE format('CREATE POLICY own_rows_sink ON %I.%I TO consent_sink '
                       'USING (consumer = %L) WITH CHECK (consumer = %L)',
                       s, g.tbl, 'postgres-sink', 'postgres-sink');
        EXECUTE format('CREATE POLICY own_rows_mailer ON %I.%I TO consent_mailer '
                       'USING (consumer = %L) WITH CHECK (consumer = %L)',
                       s, g.tbl, 'mailer', 'mailer');
        EXECUTE format('CREATE POLICY dpo_reads ON %I.%I FOR SELECT TO consent_dpo USING (true)',
                       s, g.tbl);
    END LOOP;
END
$grants$;
