#!/usr/bin/env bash
# Debian's Chromium and its WebDriver, for the browser tests of the person's pages.
#
#   deploy/local/browser.sh          install chromium + chromium-driver if either is missing
#   deploy/local/browser.sh paths    print the browser's and the driver's paths (one per line)
#
# Idempotent and quick when both are there (no apt call at all). Only Debian's packages, via
# apt-get: no browser or driver build is downloaded from anywhere else, so it works where the
# network reaches the package registries only. The two come from one source package, so the
# driver always matches the browser. Needs root to install (CI and the development machines
# run as root); without root it says what to run instead.
#
# Called by `make browser` and by the browser test's fixture, so `make test` installs what it
# needs on a fresh machine; a failure here fails the test loudly, never skips it.
set -euo pipefail

BROWSER=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

say() { echo "browser.sh: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

present() { [[ -x "$BROWSER" && -x "$DRIVER" ]]; }

install() {
  present && return 0
  ((EUID == 0)) || die "chromium or chromedriver is missing; run as root: apt-get install ${PACKAGES[*]}"
  command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} (Debian's) by hand"
  export DEBIAN_FRONTEND=noninteractive
  # wait for another apt/dpkg (a parallel install) instead of failing on its lock
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends)
  say "installing ${PACKAGES[*]} from Debian ..."
  # the package lists may be missing (fresh image) or stale (a superseded version): refresh
  # once, then install
  "${apt[@]}" update >/dev/null || die "apt-get update failed"
  "${apt[@]}" install "${PACKAGES[@]}" >/dev/null || die "apt-get install ${PACKAGES[*]} failed"
  present || die "installed ${PACKAGES[*]}, but $BROWSER or $DRIVER is not there"
  say "installed: $("$BROWSER" --version 2>/dev/null || echo chromium), $("$DRIVER" --version 2>/dev/null | cut -d' ' -f1-2)"
}

case "${1:-install}" in
  install) install ;;
  paths)
    present || die "not installed; run $0"
    printf '%s\n' "$BROWSER" "$DRIVER"
    ;;
  *)
    echo "usage: $0 [install|paths]" >&2
    exit 2
    ;;
esac
