#!/usr/bin/env bash
# One-off setup of the compose stack, as the Kafka admin and the PostgreSQL owner: topics,
# principals with their ACLs, each component's client file, migrations. Idempotent (each
# command is), so it runs on every `docker compose up`. The services start after it succeeds.
set -euo pipefail

ALL=/run/secrets/all                 # the whole secrets volume: setup hands out client files
OWN=/run/secrets/consent             # setup's own folder
export CONSENT_KAFKA_CLIENT_CONFIG="$OWN/admin.properties"

consent topics create
consent access setup --clients-dir "$OWN/clients"

# each component gets its own principal's client file, nothing else (ops/deployment.py)
for pair in worker:worker filter:worker postgres-sink:postgres-sink mailer:mailer \
  unsubscribe:unsubscribe ingest:ingest; do
  component="${pair%%:*}"
  principal="${pair#*:}"
  install -m 600 "$OWN/clients/$principal.properties" "$ALL/$component/kafka.properties"
done

CONSENT_DATABASE_URL_FILE="$OWN/database.url" consent-entrypoint consent db migrate
