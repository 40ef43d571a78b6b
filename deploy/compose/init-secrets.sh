#!/usr/bin/env bash
# Secrets of the compose stack, generated on its first start into the `secrets` volume, so no
# password, key or certificate is ever in a file of the repository. Runs as root in the
# pipeline's image (service `init-secrets`), once per `docker compose up`; idempotent: what
# exists is kept, so a restart changes nothing a running service relies on.
#
# One folder per consumer, owned by the user its container runs as, and each service mounts
# only its own folder (compose `volume.subpath`):
#   kafka/       (uid 1000, apache/kafka's appuser) CA certificate, the broker's key and
#                certificate (SAN kafka, localhost), passwords of the super users admin and
#                broker, the KRaft cluster id
#   postgres/    (uid 999, the postgres image's user) the superuser's and every role's password
#   grafana/     (uid 472) Grafana's admin password
#   setup/       (uid 10001) the Kafka admin's client file, the migration owner's DSN; the
#                setup service writes every principal's client file into setup/clients/
#   <component>/ (uid 10001) CA certificate, the contact-key secret, the component's own
#                PostgreSQL DSN if it has a role; setup/ adds kafka.properties, the client
#                file of its principal only
# The Kafka layout follows deploy/local/kafka.sh: SCRAM-SHA-512 over TLS for clients, mutual
# TLS with the broker's own certificate on the controller listener, the CA's key destroyed once
# it has signed that certificate.
set -euo pipefail

S="${CONSENT_SECRETS_DIR:-/run/secrets/all}" # the whole volume; tests use a temporary folder
KAFKA_UID=1000
POSTGRES_UID=999
GRAFANA_UID=472
CONSENT_UID=10001
COMPONENTS=(worker filter postgres-sink mailer unsubscribe ingest)
PG_ROLES=(consent_owner consent_sink consent_mailer consent_reader consent_dpo consent_unsubscribe)
CERT_DAYS=825

say() { echo "init-secrets: $*" >&2; }

own() { # own UID PATH...: only root can give files away (the tests run it unprivileged too)
  if ((EUID == 0)); then chown "$1:$1" "${@:2}"; fi
}

folder() { # folder NAME UID
  mkdir -p "$S/$1"
  own "$2" "$S/$1"
  chmod 700 "$S/$1"
}

secret() { # secret FILE UID [COMMAND...]: FILE holds a new random value unless it has one
  local file="$1" uid="$2"
  shift 2
  if [[ ! -s "$file" ]]; then
    (umask 077 && if (($#)); then "$@"; else od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; fi \
      >"$file.tmp")
    mv -f "$file.tmp" "$file"
  fi
  own "$uid" "$file"
  chmod 600 "$file"
}

private() { # private FILE UID: write stdin to FILE (mode 600)
  (umask 077 && cat >"$1.tmp")
  own "$2" "$1.tmp"
  mv -f "$1.tmp" "$1"
}

dsn() { # dsn COMPONENT ROLE: the component's DSN, as its role
  printf 'postgresql://%s:%s@postgres:5432/consent\n' "$2" "$(<"$S/postgres/$2.password")" \
    | private "$S/$1/database.url" "$CONSENT_UID"
}

tls() {
  local dir="$S/kafka"
  if [[ -s "$dir/ca.crt" && -s "$dir/broker.pem" ]]; then
    return 0
  fi
  local work
  work="$(mktemp -d)"
  say "making a CA and the broker's certificate"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc)
  openssl req -x509 "${ec[@]}" -keyout "$work/ca.key" -out "$work/ca.crt" -days "$CERT_DAYS" \
    -subj "/O=consent-compose/CN=consent compose CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new "${ec[@]}" -keyout "$work/broker.key" -out "$work/broker.csr" \
    -subj "/CN=broker" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:kafka,DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" >"$work/broker.ext"
  openssl x509 -req -in "$work/broker.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" -days "$CERT_DAYS" \
    -extfile "$work/broker.ext" -out "$work/broker.crt" 2>/dev/null
  # Kafka's PEM keystore: the private key, then the chain
  cat "$work/broker.key" "$work/broker.crt" "$work/ca.crt" | private "$dir/broker.pem" "$KAFKA_UID"
  install -m 644 "$work/ca.crt" "$dir/ca.crt"
  own "$KAFKA_UID" "$dir/ca.crt"
  rm -rf "$work" # the CA's key with it: no other certificate can ever be signed
}

folder kafka "$KAFKA_UID"
folder postgres "$POSTGRES_UID"
folder grafana "$GRAFANA_UID"
folder setup "$CONSENT_UID"
for c in "${COMPONENTS[@]}"; do
  folder "$c" "$CONSENT_UID"
done

tls
secret "$S/kafka/admin.password" "$KAFKA_UID"
secret "$S/kafka/broker.password" "$KAFKA_UID"
secret "$S/kafka/cluster.id" "$KAFKA_UID" python -c \
  'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))'
secret "$S/postgres/postgres.password" "$POSTGRES_UID"
for role in "${PG_ROLES[@]}"; do
  secret "$S/postgres/$role.password" "$POSTGRES_UID"
done
secret "$S/grafana/admin.password" "$GRAFANA_UID"
secret "$S/setup/key_secret" "$CONSENT_UID"

for dir in setup "${COMPONENTS[@]}"; do
  install -m 644 "$S/kafka/ca.crt" "$S/$dir/ca.crt"
  [[ "$dir" == setup ]] || install -m 600 "$S/setup/key_secret" "$S/$dir/key_secret"
  own "$CONSENT_UID" "$S/$dir"/*
done

# the Kafka super user, for setup only (topics, users, ACLs); ops.access copies the
# connection lines (bootstrap, TLS) into every principal's client file
private "$S/setup/admin.properties" "$CONSENT_UID" <<PROPS
bootstrap.servers=kafka:9093
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=admin
sasl.password=$(<"$S/kafka/admin.password")
ssl.ca.location=/run/secrets/consent/ca.crt
ssl.endpoint.identification.algorithm=https
PROPS
folder setup/clients "$CONSENT_UID"

# PostgreSQL: the owner migrates; each component connects as its own role (ops/deployment.py)
dsn setup consent_owner
dsn postgres-sink consent_sink
dsn mailer consent_mailer
dsn unsubscribe consent_unsubscribe

# webhook signing secrets, one per source (the ingest endpoint's CONSENT_INGEST_SECRETS)
secret "$S/ingest/ingest_secrets.json" "$CONSENT_UID" python -c \
  'import json, secrets; print(json.dumps({s: secrets.token_urlsafe(32) for s in ("shop", "helpdesk")}))'

say "secrets ready"
