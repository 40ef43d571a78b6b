"""A Kafka client's connection settings from a properties file: librdkafka names, `key=value`.

`ops.access` writes one such file per principal (`.local/<instance>/clients/<principal>.properties`)
and a process is pointed at its own with `CONSENT_KAFKA_CLIENT_CONFIG`. The format is the one
librdkafka's tools read: one `key=value` a line, the value is everything after the first `=`
(so a password may contain `=`), surrounding whitespace trimmed, blank lines and lines starting
with `#` or `!` ignored.

Only connection settings are accepted (`bootstrap.servers`, `security.protocol`, `sasl.*`,
`ssl.*`): a file that could also switch off idempotence or auto-commit offsets would change a
component's guarantees without anyone seeing it in the code. Secret values (passwords, private
keys) are kept as `SecretStr`; errors name the file and the line number, never a value.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import SecretStr

from schemas.exceptions import ConfigError

_KEY = re.compile(r"[a-z][a-z0-9_.]*")
_ALLOWED_KEYS = ("bootstrap.servers", "security.protocol")
_ALLOWED_PREFIXES = ("sasl.", "ssl.")


def is_secret(key: str) -> bool:
    """Passwords, client secrets, PEM blobs and OAUTHBEARER settings never print."""
    return ("password" in key or "secret" in key or key.endswith(".pem")
            or key.startswith("sasl.oauthbearer.config"))


@dataclass(frozen=True, repr=False)
class ClientProperties:
    """A parsed file: plain values, and secret values that print as `**********`."""

    path: Path
    plain: Mapping[str, str]
    secret: Mapping[str, SecretStr]

    def librdkafka(self) -> dict[str, str]:
        """Every setting with secrets revealed: only for handing to the client library."""
        return {**self.plain, **{k: v.get_secret_value() for k, v in self.secret.items()}}

    def __repr__(self) -> str:
        keys = sorted([*self.plain, *self.secret])
        return f"ClientProperties(path={str(self.path)!r}, keys={keys})"

    __str__ = __repr__


def parse_client_properties(text: str, source: str) -> tuple[dict[str, str], dict[str, SecretStr]]:
    """Split `text` into plain and secret settings; raise `ConfigError` on anything unclear."""
    plain: dict[str, str] = {}
    secret: dict[str, SecretStr] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        where = f"{source}, line {number}"
        if not sep:
            raise ConfigError(f"{where}: expected key=value")
        if not _KEY.fullmatch(key):
            raise ConfigError(f"{where}: {key[:60]!r} is not a librdkafka property name")
        if key not in _ALLOWED_KEYS and not key.startswith(_ALLOWED_PREFIXES):
            raise ConfigError(f"{where}: {key} is not a connection setting (only "
                              "bootstrap.servers, security.protocol, sasl.*, ssl.*)")
        if key in plain or key in secret:
            raise ConfigError(f"{where}: {key} is set twice")
        if not value:
            raise ConfigError(f"{where}: {key} has no value")
        if is_secret(key):
            secret[key] = SecretStr(value)
        else:
            plain[key] = value
    return plain, secret


def load_client_properties(path: Path) -> ClientProperties:
    """Read a client configuration file; a missing or unreadable file is a `ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"Kafka client configuration {path} does not exist "
                          "(CONSENT_KAFKA_CLIENT_CONFIG); run the access setup first") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read Kafka client configuration {path}: "
                          f"{type(exc).__name__}") from exc
    plain, secret = parse_client_properties(text, str(path))
    return ClientProperties(path, MappingProxyType(plain), MappingProxyType(secret))
