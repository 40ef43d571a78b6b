#!/usr/bin/env bash
# PostgreSQL roles of the compose stack, run once by the postgres image when it initialises
# its data folder (/docker-entrypoint-initdb.d/). The same roles as deploy/local/postgres.sh
# with LOCAL_PG_ROLES=1, each with the password init-secrets.sh generated:
#   consent_owner   owns the database, schemas and tables: `consent db migrate` only
#   consent_sink    the PostgreSQL sink          consent_mailer   the mailer
#   consent_reader  consent lookup               consent_dpo      the DPO
#   consent_unsubscribe  the preference centre of the unsubscribe endpoint (one function)
# Their table rights are granted by `consent db migrate` (sinks/grants.sql). Passwords reach
# psql on stdin, never on a command line.
set -euo pipefail

S=/run/secrets/postgres
ROLES=(consent_owner consent_sink consent_mailer consent_reader consent_dpo consent_unsubscribe)

{
  for role in "${ROLES[@]}"; do
    printf '%s\n' "\\set role $role" "\\set pw $(<"$S/$role.password")"
    cat <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'role', :'pw') \gexec
SQL
  done
  cat <<'SQL'
CREATE DATABASE consent OWNER consent_owner;
REVOKE ALL ON DATABASE consent FROM PUBLIC;
GRANT CONNECT ON DATABASE consent TO consent_sink, consent_mailer, consent_reader, consent_dpo,
  consent_unsubscribe;
GRANT TEMPORARY ON DATABASE consent TO consent_sink;
\connect consent
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
} | psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres
