#!/usr/bin/env bash
# Local PostgreSQL cluster for the consent pipeline, no Docker.
#
#   deploy/local/postgres.sh start    initdb (first time), start, wait ready, ensure role + database
#   deploy/local/postgres.sh stop     fast shutdown
#   deploy/local/postgres.sh status   exit 0 if running, 3 if stopped
#   deploy/local/postgres.sh psql [ARGS...]   psql on the database as the project user
#
# Settings (ports, instance, directories): see env.sh. PG_BIN overrides the binaries
# directory (default: the newest /usr/lib/postgresql/*/bin).
#
# Authentication: unix socket = trust, but the socket lives in the instance's
# postgres/ directory (mode 700, owned by the server's OS user), so only that user
# (and root) can reach it; TCP on 127.0.0.1 = scram-sha-256. The superuser
# `postgres` has no password, so it cannot log in over TCP. The project connects
# as $LOCAL_PG_DSN.
#
# PostgreSQL refuses to run as root: when run as root, the server and admin
# commands run as the OS user $PG_OS_USER (default postgres) via runuser.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="postgres"

: "${PG_OS_USER:=postgres}"
PG_DATA="$LOCAL_PG_DIR/data"
PG_LOG="$LOCAL_PG_DIR/postgres.log"
PG_CONF_INCLUDE="postgresql.local.conf" # inside $PG_DATA, rewritten on every start

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
      local_die "the OS user '$PG_OS_USER' cannot enter $blocked ($(stat -c '%A %U:%G' "$blocked")), so PostgreSQL cannot use $LOCAL_PG_DIR. Fix: chmod o+x '$blocked', or set CONSENT_LOCAL_DIR to a directory it can reach (e.g. /var/tmp/consent-local)"
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
shared_buffers = 128MB
fsync = on
password_encryption = 'scram-sha-256'
EOF
  mv -f "$f.tmp" "$f"
  if ((EUID == 0)); then
    chown "$PG_OS_USER:" "$f"
  fi
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

start() {
  local_check_settings
  find_pg_bin
  prepare_dir
  take_lock
  local started=$SECONDS

  if is_running; then
    local port
    port="$(running_port)"
    if [[ "$port" != "$LOCAL_PG_PORT" ]]; then
      local_say "WARNING: already running on port $port, not LOCAL_PG_PORT=$LOCAL_PG_PORT; run '$0 stop' then start again to change it"
    fi
    wait_ready "$port" || local_die "server is running but not accepting connections on port $port; see $PG_LOG"
    ensure_role_and_db "$port"
    local_say "already running on 127.0.0.1:$port ($PG_DATA)"
    return 0
  fi

  if local_port_in_use "$LOCAL_PG_PORT"; then
    local_die "port $LOCAL_PG_PORT (LOCAL_PG_PORT) is already in use by another process; stop it or choose another port"
  fi

  init_cluster
  write_config
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
  ensure_role_and_db "$LOCAL_PG_PORT"
  local_say "running on 127.0.0.1:$LOCAL_PG_PORT ($LOCAL_PG_DSN); started in $((SECONDS - started))s"
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
  PGPASSWORD="$LOCAL_PG_PASSWORD" exec "$PG_BIN/psql" -h 127.0.0.1 -p "$(running_port)" \
    -U "$LOCAL_PG_USER" -d "$LOCAL_PG_DB" "$@"
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
