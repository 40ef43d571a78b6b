#!/bin/sh
# Entry point of the pipeline's image: secrets from files, then the command.
#
# For every variable CONSENT_<NAME>_FILE, the file's content becomes CONSENT_<NAME> (trailing
# newlines dropped) and CONSENT_<NAME>_FILE is removed: docker compose and Kubernetes hand
# secrets over as files, and the settings classes read CONSENT_* variables. Setting both
# CONSENT_<NAME> and CONSENT_<NAME>_FILE is an error, as is an unreadable file; neither the
# value nor the file's content is ever printed.
set -eu

die() {
  echo "consent-entrypoint: $*" >&2
  exit 64
}

for name in $(env | sed -n 's/^\(CONSENT_[A-Z0-9_]*\)_FILE=.*/\1/p'); do
  eval "file=\${${name}_FILE}"
  eval "given=\${${name}+set}"
  [ "${given:-}" != set ] || die "both $name and ${name}_FILE are set; use one"
  # shellcheck disable=SC2154  # set by eval above
  [ -r "$file" ] || die "${name}_FILE names a file that cannot be read: $file"
  value="$(cat "$file")" || die "cannot read ${name}_FILE"
  export "$name=$value"
  unset "${name}_FILE"
done

[ "$#" -gt 0 ] || die "no command given (e.g. consent worker)"
exec "$@"
