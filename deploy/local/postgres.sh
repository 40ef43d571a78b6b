#!/usr/bin/env bash
# Local PostgreSQL cluster for the consent pipeline, no Docker.
#
#   deploy/local/postgres.sh start    initdb (first time), start, wait ready, ensure role + database
#   deploy/local/postgres.sh stop     fast shutdown
#   deploy/local/postgres.sh status   exit 0 if running, 3 if stopped
#   deploy/local/postgres.sh psql [ARGS...]   psql on the database as the project user
#                                             (LOCAL_PG_ROLES=1: as the migration owner)
#
# Settings (ports, instance, directories, LOCAL_PG_ROLES): see env.sh. PG_BIN overrides the
# binaries directory (default: the newest /usr/lib/postgresql/*/bin).
#
# Authentication (pg_hba.conf, rewritten on every start): the superuser `postgres` over the
# unix socket only, with trust; the socket lives in the instance's postgres/ directory (mode
# 700, owned by the server's OS user), so only that user (and root) can reach it. Every other
# login, and everything over TCP (127.0.0.1), needs a scram-sha-256 password; `postgres` has
# none, so it cannot log in over TCP.
#
# Roles: by default one role $LOCAL_PG_USER with the password $LOCAL_PG_PASSWORD owns the
# database (connect as $LOCAL_PG_DSN). With LOCAL_PG_ROLES=1 instead, each with a generated
# password (roles/<role>.password, mode 600) and its DSN in roles/<role>.url (mode 600):
#   consent_owner   owns the database, its schemas and tables: migrations only
#   consent_sink    the PostgreSQL sink          consent_mailer   the mailer
#   consent_reader  consent lookup               consent_dpo      the DPO (lookup, disclosure)
#   consent_unsubscribe  the unsubscribe endpoint's preference centre (one function, no table)
# Nobody but the owner may create anything in the database; their table rights in each schema
# are granted by `consent db migrate` (sinks/grants.sql).
#
# PostgreSQL refuses to run as root: when run as root, the server and admin
# commands run as the OS user $PG_OS_USER (default postgres) via runuser.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="postgres"

: "${PG_OS_USER:=postgres}"
PG_CONF_INCLUDE="postgresql.local.conf" # inside $PG_DATA, rewritten on every start
# Where the postgres OS user can reach when the instance folder cannot be reached (root's home
# is mode 700, and so are mktemp -d folders): the cluster lives there instead, and the
# instance's postgres/ is a symlink to it, so every path the project uses stays the same.
: "${PG_RELOCATE_BASE:=/var/tmp/consent-pg}"

# pg_paths : derive every path from LOCAL_PG_DIR (again, after a relocation).
pg_paths() {
  PG_DATA="$LOCAL_PG_DIR/data"
  PG_LOG="$LOCAL_PG_DIR/postgres.log"
  MODE_FILE="$LOCAL_PG_DIR/roles.mode" # 1 if the cluster was set up with LOCAL_PG_ROLES=1
  LOCAL_PG_ROLES_DIR="$LOCAL_PG_DIR/roles"
}
# A relocated cluster: the server gets the real path (it cannot pass through the folders the
# symlink sits in).
if [[ -L "$LOCAL_PG_DIR" ]]; then
  LOCAL_PG_DIR="$(readlink -f "$LOCAL_PG_DIR")"
fi
pg_paths
PG_OWNER=consent_owner
PG_COMPONENT_ROLES=(consent_sink consent_mailer consent_reader consent_dpo consent_unsubscribe)

usage() {
  echo "usage: $0 {start|stop|status|psql [ARGS...]}" >&2
  exit 2
}

find_pg_bin() {
  if [[ -z "${PG_BIN:-}" ]]; then
    PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$PG_BIN" ]] \
      || local_die "no PostgreSQL found in /usr/lib/postgresql/*/bin; install it (apt-get install postgresql) or set PG_BIN"
  fi
  local tool
  for tool in initdb pg_ctl pg_isready psql; do
    [[ -x "$PG_BIN/$tool" ]] || local_die "$PG_BIN/$tool not found or not executable (PG_BIN=$PG_BIN)"
  done
}

# as_pg CMD... : run CMD as the server's OS user (runuser when root), from a
# directory that user can enter (avoids "could not change directory" noise).
as_pg() {
  if ((EUID == 0)); then
    (cd "$LOCAL_PG_DIR" && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd "$LOCAL_PG_DIR" && "$@")
  fi
}

# Serialise start/stop of one instance so that parallel callers (e.g. test
# workers) do not race; the fd is closed for the server (see start) so that the
# lock is not held for the server's lifetime.
take_lock() {
  mkdir -p "$LOCAL_INSTANCE_DIR"
  local lock="$LOCAL_INSTANCE_DIR/.postgres.lock"
  exec 9>"$lock"
  if ! flock -n 9; then
    local_say "waiting for another postgres.sh working on this instance ($lock) ..."
    flock -w 600 9 || local_die "could not get lock $lock within 600 s"
  fi
}

# Create the instance's postgres/ directory, owned by the server's OS user, and
# make sure that user can actually reach it (e.g. not under a mode-700 /root).
# relocate BLOCKED_DIR : the postgres OS user cannot enter BLOCKED_DIR, an ancestor of the
# instance's postgres/ folder. Rather than asking the user to open up their home directory,
# keep the cluster under $PG_RELOCATE_BASE/<hash of the intended path> and leave a symlink.
relocate() {
  local intended="$LOCAL_INSTANCE_DIR/postgres" hash target
  if [[ -e "$intended" && ! -L "$intended" && -n "$(ls -A "$intended" 2>/dev/null)" ]]; then
    local_die "the OS user '$PG_OS_USER' cannot enter $1 ($(stat -c '%A %U:%G' "$1")), and a cluster already lives in $intended; move it away, or chmod o+x '$1'"
  fi
  hash="$(printf '%s' "$intended" | sha1sum | cut -c1-12)"
  target="$PG_RELOCATE_BASE/$hash"
  mkdir -p "$PG_RELOCATE_BASE"
  chmod 711 "$PG_RELOCATE_BASE" # enterable, not listable
  mkdir -p "$target"
  rmdir "$intended" 2>/dev/null || true
  ln -sfn "$target" "$intended"
  local_say "the OS user '$PG_OS_USER' cannot enter $1, so the cluster lives in $target ($intended links to it)"
  LOCAL_PG_DIR="$target"
  pg_paths
}

prepare_dir() {
  # A unix socket path is limited to 107 bytes.
  local socket="$LOCAL_PG_DIR/.s.PGSQL.$LOCAL_PG_PORT"
  ((${#socket} <= 107)) \
    || local_die "socket path $socket is longer than 107 bytes; set CONSENT_LOCAL_DIR to a shorter path"
  mkdir -p "$LOCAL_PG_DIR"
  if ((EUID == 0)); then
    id -u "$PG_OS_USER" >/dev/null 2>&1 \
      || local_die "running as root, but the OS user '$PG_OS_USER' (PG_OS_USER) does not exist"
    local ancestors=() dir="$LOCAL_PG_DIR"
    while [[ "$dir" != / ]]; do
      dir="$(dirname "$dir")"
      ancestors=("$dir" "${ancestors[@]}")
    done
    local blocked
    # shellcheck disable=SC2016  # "$@" and $d are for the inner sh
    if ! blocked="$(runuser -u "$PG_OS_USER" -- sh -c \
      'for d in "$@"; do [ -x "$d" ] || { echo "$d"; exit 1; }; done' sh "${ancestors[@]}")"; then
      relocate "$blocked"
    fi
    chown "$PG_OS_USER:" "$LOCAL_PG_DIR"
  fi
  chmod 700 "$LOCAL_PG_DIR"
}

pick_locale() {
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    echo "C.UTF-8"
  else
    echo "C"
  fi
}

init_cluster() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  [[ -e "$PG_DATA" ]] \
    && local_die "$PG_DATA exists but is not a PostgreSQL cluster; move it away (or delete it) and retry"
  local tmp="$LOCAL_PG_DIR/data.initdb" locale
  locale="$(pick_locale)"
  rm -rf "$tmp" # left over by an interrupted initdb
  local_say "creating cluster in $PG_DATA (initdb, UTF8, locale $locale) ..."
  # Into a temporary directory first: an interrupted initdb never leaves a
  # half-made $PG_DATA behind.
  if ! as_pg "$PG_BIN/initdb" -D "$tmp" -U postgres -E UTF8 --locale="$locale" \
    --auth-local=trust --auth-host=scram-sha-256 >"$LOCAL_PG_DIR/initdb.log" 2>&1; then
    tail -n 40 "$LOCAL_PG_DIR/initdb.log" >&2
    local_die "initdb failed (full output in $LOCAL_PG_DIR/initdb.log)"
  fi
  echo "include_if_exists = '$PG_CONF_INCLUDE'  # written by deploy/local/postgres.sh" >>"$tmp/postgresql.conf"
  mv -T "$tmp" "$PG_DATA"
}

write_config() {
  local f="$PG_DATA/$PG_CONF_INCLUDE"
  cat >"$f.tmp" <<EOF
# Written by deploy/local/postgres.sh on every start; change env.sh settings, not this file.
listen_addresses = '127.0.0.1'
port = $LOCAL_PG_PORT
unix_socket_directories = '$LOCAL_PG_DIR'
unix_socket_permissions = 0700
# Sized for the bench's million contacts: at 128MB and the default 1GB of WAL, a sink catch-up
# was checkpointing every few seconds (20 requested checkpoints, 2M buffers written by the
# backends themselves), and each checkpoint makes the next write of every page a full-page image
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 15min
fsync = on
password_encryption = 'scram-sha-256'
EOF
  mv -f "$f.tmp" "$f"
  if ((EUID == 0)); then
    chown "$PG_OS_USER:" "$f"
  fi
}

# Who may log in how; see the header. No replication lines: nothing here replicates.
write_hba() {
  local f="$PG_DATA/pg_hba.conf"
  cat >"$f.tmp" <<'EOF'
# Written by deploy/local/postgres.sh on every start.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
EOF
  if ((EUID == 0)); then
    chown "$PG_OS_USER:" "$f.tmp"
  fi
  chmod 600 "$f.tmp"
  mv -f "$f.tmp" "$f"
}

# A cluster keeps the roles mode it was set up in: its tables belong to that mode's owner.
check_mode() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 0
  local made=0
  [[ -f "$MODE_FILE" ]] && made="$(<"$MODE_FILE")"
  [[ "$made" == "$LOCAL_PG_ROLES" ]] \
    || local_die "instance '$CONSENT_INSTANCE' was set up with LOCAL_PG_ROLES=$made, not $LOCAL_PG_ROLES; use another CONSENT_INSTANCE (or stop it and delete $LOCAL_PG_DIR)"
}

# Port of the running server, from postmaster.pid (line 4).
running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

is_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

wait_ready() { # wait_ready PORT
  local i
  for ((i = 0; i < 60; i++)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -t 2; then
      return 0
    fi
    sleep 0.25
  done
  return 1
}

# Role and database for the project; idempotent (and re-asserts the password).
ensure_role_and_db() { # ensure_role_and_db PORT
  as_pg "$PG_BIN/psql" -X -q -h "$LOCAL_PG_DIR" -p "$1" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -v user="$LOCAL_PG_USER" -v pw="$LOCAL_PG_PASSWORD" -v db="$LOCAL_PG_DB" \
    >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pw')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'user', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

# LOCAL_PG_ROLES=1: the owner and the component roles, each with its generated password, the
# database owned by the owner and closed to everyone else but for CONNECT (and TEMP for the
# sink's COPY staging tables). Idempotent; re-asserts passwords and attributes. Passwords go to
# psql on stdin, never on a command line.
ensure_roles() { # ensure_roles PORT
  local_private_dir "$LOCAL_PG_ROLES_DIR"
  local role roles=("$PG_OWNER" "${PG_COMPONENT_ROLES[@]}")
  for role in "${roles[@]}"; do
    local_password "$LOCAL_PG_ROLES_DIR/$role.password"
  done
  {
    printf '%s\n' "\\set db $LOCAL_PG_DB" "\\set owner $PG_OWNER"
    for role in "${roles[@]}"; do
      printf '%s\n' "\\set role $role" "\\set pw $(<"$LOCAL_PG_ROLES_DIR/$role.password")"
      cat <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS PASSWORD %L', :'role', :'pw') \gexec
SQL
    done
    cat <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO consent_sink, consent_mailer, consent_reader, consent_dpo, consent_unsubscribe', :'db') \gexec
SELECT format('GRANT TEMPORARY ON DATABASE %I TO consent_sink', :'db') \gexec
\connect :db
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
  } | as_pg "$PG_BIN/psql" -X -q -h "$LOCAL_PG_DIR" -p "$1" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 >/dev/null \
    || local_die "could not set up the roles (see above and $PG_LOG)"
  for role in "${roles[@]}"; do
    local url="$LOCAL_PG_ROLES_DIR/$role.url"
    local_private_file "$url.tmp"
    printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$role" \
      "$(<"$LOCAL_PG_ROLES_DIR/$role.password")" "$1" "$LOCAL_PG_DB" >>"$url.tmp"
    mv -f "$url.tmp" "$url"
  done
}

ensure_access() { # ensure_access PORT
  if [[ "$LOCAL_PG_ROLES" == 1 ]]; then
    ensure_roles "$1"
  else
    ensure_role_and_db "$1"
  fi
  echo "$LOCAL_PG_ROLES" >"$MODE_FILE"
}

start() {
  local_check_settings
  find_pg_bin
  prepare_dir
  take_lock
  check_mode
  local started=$SECONDS

  if is_running; then
    local port
    port="$(running_port)"
    if [[ "$port" != "$LOCAL_PG_PORT" ]]; then
      local_say "WARNING: already running on port $port, not LOCAL_PG_PORT=$LOCAL_PG_PORT; run '$0 stop' then start again to change it"
    fi
    wait_ready "$port" || local_die "server is running but not accepting connections on port $port; see $PG_LOG"
    ensure_access "$port"
    local_say "already running on 127.0.0.1:$port ($PG_DATA)"
    return 0
  fi

  if local_port_in_use "$LOCAL_PG_PORT"; then
    local_die "port $LOCAL_PG_PORT (LOCAL_PG_PORT) is already in use by another process; stop it or choose another port"
  fi

  init_cluster
  write_config
  write_hba
  local_say "starting PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$LOCAL_PG_PORT, log $PG_LOG"
  if ((EUID == 0)); then
    touch "$PG_LOG"
    chown "$PG_OS_USER:" "$PG_LOG"
  fi
  # -w waits for the server to accept connections; the server gets its own
  # session so Ctrl-C in the caller's terminal does not stop it.
  local out
  if ! out="$(as_pg setsid -w "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 2>&1 9>&-)"; then
    printf '%s\n' "$out" >&2
    echo "----- last 40 lines of $PG_LOG -----" >&2
    tail -n 40 "$PG_LOG" >&2 || true
    echo "----- end of log -----" >&2
    local_die "PostgreSQL did not start (full log in $PG_LOG)"
  fi
  wait_ready "$LOCAL_PG_PORT" || local_die "PostgreSQL started but does not accept TCP connections on 127.0.0.1:$LOCAL_PG_PORT; see $PG_LOG"
  ensure_access "$LOCAL_PG_PORT"
  if [[ "$LOCAL_PG_ROLES" == 1 ]]; then
    local_say "running on 127.0.0.1:$LOCAL_PG_PORT (roles mode: DSNs in $LOCAL_PG_ROLES_DIR/<role>.url); started in $((SECONDS - started))s"
  else
    local_say "running on 127.0.0.1:$LOCAL_PG_PORT ($LOCAL_PG_DSN); started in $((SECONDS - started))s"
  fi
}

stop() {
  find_pg_bin
  if ! is_running; then
    local_say "not running"
    return 0
  fi
  take_lock
  local_say "stopping (fast shutdown) ..."
  if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null; then
    local_die "pg_ctl stop failed; see $PG_LOG"
  fi
  local_say "stopped"
}

status() {
  find_pg_bin
  if is_running; then
    echo "postgres ($CONSENT_INSTANCE): running on 127.0.0.1:$(running_port) ($PG_DATA)"
    return 0
  fi
  echo "postgres ($CONSENT_INSTANCE): stopped"
  return 3
}

run_psql() {
  find_pg_bin
  is_running || local_die "PostgreSQL is not running; start it with: $LOCAL_SCRIPTS_DIR/postgres.sh start"
  local user="$LOCAL_PG_USER" password="$LOCAL_PG_PASSWORD"
  if [[ "$LOCAL_PG_ROLES" == 1 ]]; then
    user="$PG_OWNER"
    password="$(<"$LOCAL_PG_ROLES_DIR/$PG_OWNER.password")"
  fi
  PGPASSWORD="$password" exec "$PG_BIN/psql" -h 127.0.0.1 -p "$(running_port)" \
    -U "$user" -d "$LOCAL_PG_DB" "$@"
}

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  psql) run_psql "$@" ;;
  *) usage ;;
esac
