#!/usr/bin/env bash
# Local infrastructure of the consent pipeline (Kafka + PostgreSQL), no Docker.
#
#   deploy/local/stack.sh up-infra     start PostgreSQL, then Kafka (each waits until ready)
#   deploy/local/stack.sh down-infra   stop PostgreSQL and Kafka (tries both even if one fails)
#   deploy/local/stack.sh status       exit 0 if both run, 3 otherwise
#   deploy/local/stack.sh env          print export lines for the connection settings
#
# LOCAL_KAFKA_SECURITY=sasl_ssl and LOCAL_PG_ROLES=1 secure the broker and the database (env.sh).
#
# Run several instances side by side with CONSENT_INSTANCE and other ports, e.g.
#   CONSENT_INSTANCE=scratch LOCAL_KAFKA_PORT=29092 LOCAL_KAFKA_CONTROLLER_PORT=29093 \
#     LOCAL_PG_PORT=54339 deploy/local/stack.sh up-infra
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="stack"

usage() {
  echo "usage: $0 {up-infra|down-infra|status|env}" >&2
  exit 2
}

up_infra() {
  local started=$SECONDS
  # PostgreSQL first: its ports (5432x-5433x) lie in Linux's ephemeral range (32768-60999),
  # and a broker started before it opens connections whose local port the kernel may pick
  # there. A clean-clone `make demo` failed so ("could not bind 127.0.0.1:54330: Address
  # already in use", 6 s after the broker started, nothing listening there a minute later).
  # A port already listening is never handed out as an ephemeral one.
  "$LOCAL_SCRIPTS_DIR/postgres.sh" start
  "$LOCAL_SCRIPTS_DIR/kafka.sh" start
  local_say "infrastructure up in $((SECONDS - started))s:"
  print_env >&2
}

down_infra() {
  local failed=()
  "$LOCAL_SCRIPTS_DIR/postgres.sh" stop || failed+=(postgres)
  "$LOCAL_SCRIPTS_DIR/kafka.sh" stop || failed+=(kafka)
  if ((${#failed[@]})); then
    local_die "could not stop: ${failed[*]}"
  fi
}

status() {
  local rc=0
  "$LOCAL_SCRIPTS_DIR/kafka.sh" status || rc=3
  "$LOCAL_SCRIPTS_DIR/postgres.sh" status || rc=3
  return "$rc"
}

# Connection settings; secrets stay in their files (mode 600): only paths are printed.
print_env() {
  printf 'export %s=%q\n' \
    CONSENT_INSTANCE "$CONSENT_INSTANCE" \
    LOCAL_KAFKA_BOOTSTRAP "$LOCAL_KAFKA_BOOTSTRAP" \
    LOCAL_KAFKA_SECURITY "$LOCAL_KAFKA_SECURITY" \
    LOCAL_PG_ROLES "$LOCAL_PG_ROLES"
  if [[ "$LOCAL_KAFKA_SECURITY" == sasl_ssl ]]; then
    printf 'export %s=%q\n' LOCAL_CLIENTS_DIR "$LOCAL_CLIENTS_DIR" \
      LOCAL_KAFKA_ADMIN_CONFIG "$LOCAL_KAFKA_ADMIN_CONFIG"
  fi
  if [[ "$LOCAL_PG_ROLES" == 1 ]]; then
    printf 'export %s=%q\n' LOCAL_PG_ROLES_DIR "$LOCAL_PG_ROLES_DIR"
  else
    printf 'export %s=%q\n' LOCAL_PG_DSN "$LOCAL_PG_DSN"
  fi
}

[[ $# -eq 1 ]] || usage
case "$1" in
  up-infra) up_infra ;;
  down-infra) down_infra ;;
  status) status ;;
  env) print_env ;;
  *) usage ;;
esac
