# shellcheck shell=bash disable=SC2034  # variables are used by the scripts sourcing this file
# Settings for the local, Docker-free infrastructure (Kafka broker + PostgreSQL).
#
# Sourced by kafka.sh, postgres.sh and stack.sh; operators may source it too
# (`source deploy/local/env.sh`) to get the connection variables in their shell.
# Every variable below can be overridden from the environment. This file does
# not change shell options, so sourcing it interactively is harmless.
#
#   CONSENT_LOCAL_DIR            state root          (default: <repo root>/.local)
#   CONSENT_INSTANCE             instance name       (default: dev)
#   LOCAL_KAFKA_PORT             broker port         (default: 9092)
#   LOCAL_KAFKA_CONTROLLER_PORT  KRaft controller    (default: 9093)
#   LOCAL_PG_PORT                PostgreSQL port     (default: 54329)
#   LOCAL_PG_DB / LOCAL_PG_USER / LOCAL_PG_PASSWORD  (default: consent/consent/consent;
#                                the user and password are not used with LOCAL_PG_ROLES=1)
#   LOCAL_KAFKA_SECURITY         plaintext | sasl_ssl (default: plaintext), see below
#   LOCAL_PG_ROLES               0 | 1 (default: 0), see below
#   KAFKA_LIBS                   broker jars, shared by all instances
#                                (default: $CONSENT_LOCAL_DIR/kafka-4.1.1/libs)
#   CONSENT_PYTHON               interpreter for wait_kafka.py (default: python3)
#   PG_BIN                       PostgreSQL binaries (default: newest /usr/lib/postgresql/*/bin)
#   JAVA_HOME                    if set, $JAVA_HOME/bin/java is used instead of `java`
#
# Security switches (opt-in while components and tests are being moved over to them):
#
#   LOCAL_KAFKA_SECURITY=plaintext  anyone who reaches the port may do anything (the default).
#   LOCAL_KAFKA_SECURITY=sasl_ssl   clients must use SASL SCRAM-SHA-512 over TLS and are held
#       to ACLs (StandardAuthorizer, nothing allowed without one); the controller listener takes
#       only the broker's own certificate (mutual TLS). On first start kafka.sh makes, in
#       .local/<instance>/kafka/tls/, a CA (its key destroyed once it signed) and the broker's
#       certificate (SAN 127.0.0.1, localhost), and generates the passwords of the super users
#       `admin` and `broker` (kafka/secrets/, mode 600). It writes the admin's client settings to
#       .local/<instance>/clients/admin.properties; `ops.access` creates the other principals,
#       their ACLs and clients/<principal>.properties. Point a process at its file with
#       CONSENT_KAFKA_CLIENT_CONFIG.
#   LOCAL_PG_ROLES=1  instead of one role `consent` with a published password, postgres.sh
#       makes the migration owner `consent_owner` (owns the database, schemas and tables; only
#       `consent db migrate` uses it) and the least-privilege roles consent_sink, consent_mailer,
#       consent_reader, consent_dpo and consent_unsubscribe, each with a generated password;
#       each role's DSN is in .local/<instance>/postgres/roles/<role>.url (mode 600).
#       `sinks.db.migrate` grants them their rights in each schema it migrates.
#
# An instance keeps the mode it was created in: switching an existing instance is refused
# with a message (use another CONSENT_INSTANCE, or delete its folder).

LOCAL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
CONSENT_REPO_ROOT="$(cd "$LOCAL_SCRIPTS_DIR/../.." && pwd -P)"

: "${CONSENT_LOCAL_DIR:=$CONSENT_REPO_ROOT/.local}"
case "$CONSENT_LOCAL_DIR" in
  /*) ;;
  *) CONSENT_LOCAL_DIR="$PWD/$CONSENT_LOCAL_DIR" ;;  # the servers need absolute paths
esac
: "${CONSENT_INSTANCE:=dev}"
: "${LOCAL_KAFKA_PORT:=9092}"
: "${LOCAL_KAFKA_CONTROLLER_PORT:=9093}"
: "${LOCAL_PG_PORT:=54329}"
: "${LOCAL_PG_DB:=consent}"
: "${LOCAL_PG_USER:=consent}"
: "${LOCAL_PG_PASSWORD:=consent}"
: "${LOCAL_KAFKA_SECURITY:=plaintext}"
: "${LOCAL_PG_ROLES:=0}"

KAFKA_VERSION="4.1.1"
: "${KAFKA_LIBS:=$CONSENT_LOCAL_DIR/kafka-$KAFKA_VERSION/libs}"

LOCAL_INSTANCE_DIR="$CONSENT_LOCAL_DIR/$CONSENT_INSTANCE"
LOCAL_KAFKA_DIR="$LOCAL_INSTANCE_DIR/kafka"
LOCAL_PG_DIR="$LOCAL_INSTANCE_DIR/postgres"
LOCAL_KAFKA_TLS_DIR="$LOCAL_KAFKA_DIR/tls"
LOCAL_CLIENTS_DIR="$LOCAL_INSTANCE_DIR/clients"   # <principal>.properties (sasl_ssl mode)
LOCAL_KAFKA_ADMIN_CONFIG="$LOCAL_CLIENTS_DIR/admin.properties"
LOCAL_PG_ROLES_DIR="$LOCAL_PG_DIR/roles"          # <role>.url and <role>.password (roles mode)

# What the project's code and tests connect to.
LOCAL_KAFKA_BOOTSTRAP="127.0.0.1:$LOCAL_KAFKA_PORT"
LOCAL_PG_DSN="postgresql://$LOCAL_PG_USER:$LOCAL_PG_PASSWORD@127.0.0.1:$LOCAL_PG_PORT/$LOCAL_PG_DB"

export CONSENT_LOCAL_DIR CONSENT_INSTANCE LOCAL_KAFKA_PORT LOCAL_KAFKA_CONTROLLER_PORT \
  LOCAL_PG_PORT LOCAL_PG_DB LOCAL_PG_USER LOCAL_PG_PASSWORD KAFKA_LIBS \
  LOCAL_KAFKA_BOOTSTRAP LOCAL_PG_DSN LOCAL_KAFKA_SECURITY LOCAL_PG_ROLES \
  LOCAL_CLIENTS_DIR LOCAL_KAFKA_ADMIN_CONFIG LOCAL_PG_ROLES_DIR

# ---------------------------------------------------------------------------
# Small helpers shared by the scripts (prefixed to stay out of the way when
# this file is sourced into an interactive shell).

# local_say MESSAGE... : progress message on stderr, tagged with the calling script.
local_say() { printf '[%s %s] %s\n' "${LOCAL_TAG:-local}" "$CONSENT_INSTANCE" "$*" >&2; }

# local_die MESSAGE... : error message on stderr, then exit 1.
local_die() { printf '[%s %s] ERROR: %s\n' "${LOCAL_TAG:-local}" "$CONSENT_INSTANCE" "$*" >&2; exit 1; }

# local_port_in_use PORT : true if something accepts TCP connections on 127.0.0.1:PORT.
local_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# local_check_settings : validate the settings before anything is created.
local_check_settings() {
  [[ "$CONSENT_INSTANCE" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] \
    || local_die "CONSENT_INSTANCE='$CONSENT_INSTANCE' is not a valid name (letters, digits, _ . -)"
  local var
  for var in LOCAL_KAFKA_PORT LOCAL_KAFKA_CONTROLLER_PORT LOCAL_PG_PORT; do
    if ! [[ "${!var}" =~ ^[0-9]{1,5}$ ]] || ((10#${!var} < 1 || 10#${!var} > 65535)); then
      local_die "$var='${!var}' is not a TCP port number"
    fi
  done
  [[ "$LOCAL_KAFKA_PORT" != "$LOCAL_KAFKA_CONTROLLER_PORT" ]] \
    || local_die "LOCAL_KAFKA_PORT and LOCAL_KAFKA_CONTROLLER_PORT must differ"
  [[ "$CONSENT_LOCAL_DIR" != *[\'\"\ ]* ]] \
    || local_die "CONSENT_LOCAL_DIR='$CONSENT_LOCAL_DIR' must not contain spaces or quotes"
  [[ "$LOCAL_KAFKA_SECURITY" == plaintext || "$LOCAL_KAFKA_SECURITY" == sasl_ssl ]] \
    || local_die "LOCAL_KAFKA_SECURITY='$LOCAL_KAFKA_SECURITY' must be plaintext or sasl_ssl"
  [[ "$LOCAL_PG_ROLES" == 0 || "$LOCAL_PG_ROLES" == 1 ]] \
    || local_die "LOCAL_PG_ROLES='$LOCAL_PG_ROLES' must be 0 or 1"
}

# local_private_dir DIR : create DIR (and parents) readable by its owner only.
local_private_dir() { mkdir -p "$1" && chmod 700 "$1"; }

# local_private_file FILE : an empty FILE of mode 600 (replacing any old one), to fill next.
local_private_file() { rm -f "$1" && (umask 077 && : >"$1"); }

# local_password FILE : make FILE hold a new random password (mode 600) unless it has one.
# Hex, so it needs no quoting in properties files, JAAS lines, URLs or SQL; 192 bits.
local_password() {
  [[ -s "$1" ]] && return 0
  local_private_file "$1.tmp"
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >>"$1.tmp"
  [[ -s "$1.tmp" ]] || local_die "could not generate a password into $1"
  mv -f "$1.tmp" "$1"
}
