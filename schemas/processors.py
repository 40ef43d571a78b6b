"""Declared processors: who may receive personal data, and the only hosts it may go to.

The privacy policy promises that the data is "seen only by the company and its e-commerce
provider, never shared with a third party". `processors.toml` (next to this module, or the file
named by `CONSENT_PROCESSORS_FILE`) is that promise as data: each recipient, its role, and per
kind of destination (Kafka bootstrap, PostgreSQL, SMTP relay, the unsubscribe endpoint) the
hosts it uses. A component checks every destination it is configured with against it before
it connects, and refuses to start towards any other host, naming the setting that points
there (`CONSENT_SMTP_HOST`, …): a typo or a copied configuration must not send addresses to a
third party, and adding a recipient is a reviewed change to a file, not an environment variable.

Why here and not in `streams/policy.toml`: every component reads it (sinks, sources, lookup),
and those must not depend on `streams`; and the consent policy's version is stamped on every
decision, which a new relay host must not change. Hosts are compared exactly (after lower-casing,
IDNA and IP normalisation): no wildcards, no ports, so the file says exactly where data goes.
A Unix-domain socket path is not a host (the data stays on the machine) and always passes.
"""

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from psycopg.conninfo import conninfo_to_dict
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.exceptions import ConfigError

DEFAULT_PROCESSORS = Path(__file__).with_name("processors.toml")


class DestinationKind(StrEnum):
    KAFKA = "kafka"
    """Kafka bootstrap servers (every topic, personal data included, lives there)."""
    DATABASE = "database"
    """PostgreSQL (profiles in `contacts`)."""
    SMTP = "smtp"
    """The SMTP relay (addresses, names in bodies)."""
    UNSUBSCRIBE = "unsubscribe"
    """The one-click unsubscribe endpoint: a recipient's mail client posts the token there."""


class UndeclaredDestination(ConfigError):
    """A setting points at a host no declared processor uses for that kind of destination."""


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def normalise_host(value: str) -> str:
    """One spelling per host: lower case, no trailing dot, IDNA, compressed IP addresses."""
    host = value.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError("not a host name or IP address") from exc
    if not host or len(host) > 253 or not all(_HOST_LABEL.fullmatch(p) for p in host.split(".")):
        raise ValueError("not a host name or IP address")
    return host


def _host(value: str) -> str:
    return normalise_host(value)


Host = Annotated[str, AfterValidator(_host)]
Hosts = Annotated[tuple[Host, ...], Field(max_length=100)]


class Processor(BaseModel):
    """One recipient of personal data and the hosts it receives it on, per kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Literal["controller", "processor"]
    kafka: Hosts = ()
    database: Hosts = ()
    smtp: Hosts = ()
    unsubscribe: Hosts = ()

    def hosts(self, kind: DestinationKind) -> tuple[str, ...]:
        hosts: tuple[str, ...] = getattr(self, kind.value)
        return hosts


@dataclass(frozen=True)
class Destination:
    """Where a component's setting sends data: the kind, the setting's name, one host."""

    kind: DestinationKind
    setting: str
    host: str
    """As configured; compared after `normalise_host`."""

    @property
    def local_socket(self) -> bool:
        """A PostgreSQL Unix-domain socket (no host, or a directory): the data stays here."""
        return self.kind is DestinationKind.DATABASE and (
            self.host == "" or self.host.startswith(("/", "@")))


class Processors(BaseModel):
    """The declaration: exactly one controller (the company), any number of processors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=64)
    processors: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")], Processor]

    @model_validator(mode="after")
    def _one_controller_and_one_owner_per_host(self) -> "Processors":
        controllers = [k for k, p in self.processors.items() if p.role == "controller"]
        if len(controllers) != 1:
            raise ValueError("declare exactly one controller (the company itself), "
                             f"found {len(controllers)}")
        for kind in DestinationKind:
            owner: dict[str, str] = {}
            for key, p in self.processors.items():
                for host in p.hosts(kind):
                    if owner.setdefault(host, key) != key:
                        raise ValueError(f"{kind.value} host {host} is declared by both "
                                         f"{owner[host]} and {key}: one recipient per host")
        return self

    def recipient(self, kind: DestinationKind, host: str) -> str | None:
        """The processor that receives data on `host`, or None if nobody declared it."""
        try:
            wanted = normalise_host(host)
        except ValueError:
            return None
        for key, p in self.processors.items():
            if wanted in p.hosts(kind):
                return key
        return None

    def declared(self, kind: DestinationKind) -> list[str]:
        return sorted({h for p in self.processors.values() for h in p.hosts(kind)})


@dataclass(frozen=True)
class Declaration:
    """A validated declaration and the file it came from (named in every refusal)."""

    processors: Processors
    source: str

    def check(self, destination: Destination) -> None:
        """Refuse a destination no declared processor uses; say which setting to fix."""
        if destination.local_socket:
            return
        if self.processors.recipient(destination.kind, destination.host) is not None:
            return
        declared = ", ".join(self.processors.declared(destination.kind)) or "none"
        raise UndeclaredDestination(
            f"{destination.setting} points at {destination.kind.value} host "
            f"{destination.host[:100]!r}, which no declared processor uses (declared: "
            f"{declared}); personal data goes only to the company and its declared "
            f"processors. Fix the setting, or declare the host in {self.source} if it "
            "belongs to one of them")

    def check_all(self, destinations: list[Destination]) -> None:
        for d in destinations:
            self.check(d)


def parse_processors(text: str, source: str) -> Declaration:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    try:
        return Declaration(Processors.model_validate(doc), source)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        shown = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        raise ConfigError(f"{source} is invalid: {shown}") from exc


@cache
def load_processors(path: Path | None = None) -> Declaration:
    """The declaration in `path` (default: the shipped `processors.toml`), read once."""
    path = path or DEFAULT_PROCESSORS
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the processors file {path} (CONSENT_PROCESSORS_FILE): "
                          f"{exc.strerror or type(exc).__name__}") from exc
    return parse_processors(text, str(path))


def bootstrap_hosts(servers: str) -> list[str]:
    """The hosts of a bootstrap list: `host:port`, `[v6]:port`, `PROTOCOL://host:port`, …"""
    hosts = []
    for entry in servers.split(","):
        entry = entry.strip()
        if not entry:
            continue
        entry = entry.split("://", 1)[-1]
        if entry.startswith("["):
            hosts.append(entry[1:entry.find("]")] if "]" in entry else entry)
        elif entry.count(":") == 1:
            hosts.append(entry.rsplit(":", 1)[0])
        else:
            hosts.append(entry)  # no port, or a bare IPv6 address
    return hosts


def database_destinations(dsn: str, setting: str = "CONSENT_DATABASE_URL") -> list[Destination]:
    """The hosts (and host addresses) of a PostgreSQL connection string; none: a local socket.

    Parsed as libpq does (URL or `key=value`, several hosts, `PGHOST` when none is given), for
    every component that connects (sinks, lookup, the preference centre). The string itself
    never appears in an error: it holds the password.
    """
    try:
        params = conninfo_to_dict(dsn)
    except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError; say nothing more
        raise ConfigError(f"{setting} is not a valid PostgreSQL connection string") from exc
    hosts = str(params.get("host") or os.environ.get("PGHOST", "")).split(",")
    addrs = str(params.get("hostaddr") or "").split(",")
    found = [h.strip() for h in [*hosts, *addrs] if h.strip()] or [""]
    return [Destination(DestinationKind.DATABASE, setting, h) for h in found]
