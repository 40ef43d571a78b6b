#!/usr/bin/env bash
# promtool, Prometheus's checker of configurations and alert rules, from Debian's `prometheus`.
#
#   deploy/local/promtool.sh          make sure promtool is there (install it if missing)
#   deploy/local/promtool.sh path     the same, then print its path
#
# Used by the deploy tests' fixture (tests/unit/deploy/conftest.py), so `make test` checks and
# unit-tests deploy/prometheus/ on a fresh machine; a failure here fails those tests loudly.
#
# A promtool already on PATH is used as it is. Otherwise the binary is taken out of Debian's
# `prometheus` package (apt-get download, only Debian's package registry) into
# $CONSENT_LOCAL_DIR/tools/prometheus/, rather than installing the package: the package also
# installs a Prometheus server, its system user and a service that starts wherever services
# may start, and the tests need only the checker. Idempotent and instant once there; refreshing
# the package lists needs root (CI and the development machines run as root).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
LOCAL_TAG="promtool"

TOOLS_DIR="$CONSENT_LOCAL_DIR/tools/prometheus"
BIN="$TOOLS_DIR/promtool"

works() { "$1" --version >/dev/null 2>&1; }

found() {
  local on_path
  if on_path="$(command -v promtool)" && works "$on_path"; then
    echo "$on_path"
  elif [[ -x "$BIN" ]] && works "$BIN"; then
    echo "$BIN"
  else
    return 1
  fi
}

install() {
  found >/dev/null && return 0
  command -v apt-get >/dev/null || local_die "no apt-get: install Debian's prometheus package (promtool) by hand"
  command -v dpkg-deb >/dev/null || local_die "no dpkg-deb: install Debian's prometheus package (promtool) by hand"
  ((EUID == 0)) || local_die "promtool is missing; run as root: $0 (or apt-get install prometheus)"
  mkdir -p "$TOOLS_DIR"
  exec 9>>"$TOOLS_DIR/.lock"
  flock -w 600 9 || local_die "another promtool.sh holds $TOOLS_DIR/.lock"
  found >/dev/null && return 0 # installed by whoever held the lock
  local work
  work="$(mktemp -d "$TOOLS_DIR/.get.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now: it is local
  trap "rm -rf '$work'" EXIT
  chmod 755 "$work" # apt's download sandbox user must be able to write here
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=600)
  local_say "taking promtool out of Debian's prometheus package into $TOOLS_DIR ..."
  # the package lists may be missing (fresh image) or name a superseded version: refresh first
  "${apt[@]}" update >"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    local_die "apt-get update failed"
  }
  (cd "$work" && "${apt[@]}" download prometheus) >>"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    local_die "apt-get download prometheus failed"
  }
  local deb
  deb="$(find "$work" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)"
  [[ -n "$deb" ]] || local_die "apt-get download left no prometheus_*.deb"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/bin/promtool \
    || local_die "no usr/bin/promtool in $(basename "$deb")"
  works "$work/usr/bin/promtool" || local_die "the promtool of $(basename "$deb") does not run"
  mv -f "$work/usr/bin/promtool" "$BIN"
  rm -rf "$work"
  trap - EXIT
  local_say "installed $("$BIN" --version 2>&1 | head -n 1)"
}

case "${1:-install}" in
  install) install ;;
  path)
    install
    found
    ;;
  *)
    echo "usage: $0 [install|path]" >&2
    exit 2
    ;;
esac
