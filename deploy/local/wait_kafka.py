#!/usr/bin/env python3
"""Wait until a Kafka broker answers real Kafka protocol requests.

Usage: wait_kafka.py HOST:PORT [--timeout SECONDS] [--pid PID] [--api-versions-only]
                      [--client-config FILE]

Why the protocol and not ``sleep`` or a bare TCP connect: a fixed sleep is
either too long (slow start-ups for everyone) or too short (flaky tests on a
busy machine), and an open port only proves that the socket server is bound,
not that the broker handles requests. Here we send an ``ApiVersions`` request
(api_key 18, version 0, the one request every Kafka version must answer) and
require ``error_code == 0`` in the response. Unless ``--api-versions-only`` is
given, we then send a ``Metadata`` request (version 4) and require at least one
live broker in the answer: a KRaft broker lists itself only once it has
registered with the controller and been unfenced, i.e. once clients can create
topics and produce.

With ``--client-config FILE`` (a librdkafka properties file, as written for the
admin by kafka.sh) the probe speaks the way a secured client must: TLS verified
against ``ssl.ca.location`` (host name checked against the certificate), then
ApiVersions (which Kafka answers before authentication), then SASL SCRAM-SHA-512
(RFC 5802, with the server's signature checked too), and only then Metadata. So
"ready" means a client with those credentials can really work, not merely that
the port accepts TLS.

Only the standard library is used: this runs before the project's virtualenv
has its packages installed.

Exit status: 0 ready, 1 not ready in time (or the --pid process died), 2 usage.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import socket
import ssl
import struct
import sys
import time
from dataclasses import dataclass

API_VERSIONS_KEY = 18
METADATA_KEY = 3
SASL_HANDSHAKE_KEY = 17
SASL_HANDSHAKE_VERSION = 1  # v1: the SASL bytes then travel in SaslAuthenticate requests
SASL_AUTHENTICATE_KEY = 36
SASL_AUTHENTICATE_VERSION = 1  # the newest non-flexible version (v2 needs compact encodings)
SASL_AUTHENTICATION_FAILED = 58
SCRAM_MECHANISM = "SCRAM-SHA-512"
METADATA_VERSION = 4  # the oldest version Kafka 4.x still accepts (KIP-896); non-flexible
CLIENT_ID = b"consent-wait-kafka"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RETRY_INTERVAL_S = 0.25
ATTEMPT_TIMEOUT_S = 2.0


class NotReadyError(Exception):
    """The broker answered, but not (yet) with what a ready broker answers."""


@dataclass(frozen=True)
class Security:
    """How to connect: TLS (with this CA file) and SCRAM credentials, or neither."""

    ca_file: str | None = None
    check_hostname: bool = True
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"Security(ca_file={self.ca_file!r}, username={self.username!r})"


def read_client_config(path: str) -> Security:
    """The connection settings of a librdkafka properties file (`key=value` lines).

    The same rules as schemas/client_properties.py (which needs the virtualenv): the value is
    everything after the first `=`, whitespace trimmed, `#` and `!` lines are comments.
    """
    conf: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and line[0] not in "#!":
                key, _, value = line.partition("=")
                conf[key.strip()] = value.strip()
    protocol = conf.get("security.protocol", "plaintext").lower()
    if protocol not in ("plaintext", "ssl", "sasl_ssl"):
        raise ValueError(f"{path}: security.protocol {protocol!r} is not supported here")
    sasl = protocol == "sasl_ssl"
    if sasl and conf.get("sasl.mechanisms", SCRAM_MECHANISM).upper() != SCRAM_MECHANISM:
        raise ValueError(f"{path}: only {SCRAM_MECHANISM} is supported here")
    if sasl and not (conf.get("sasl.username") and conf.get("sasl.password")):
        raise ValueError(f"{path}: sasl.username and sasl.password are required")
    return Security(
        ca_file=conf.get("ssl.ca.location") if protocol != "plaintext" else None,
        check_hostname=conf.get("ssl.endpoint.identification.algorithm", "https") == "https",
        username=conf.get("sasl.username") if sasl else None,
        password=conf.get("sasl.password") if sasl else None,
    )


def _tls(sock: socket.socket, host: str, security: Security) -> ssl.SSLSocket:
    """Wrap in TLS that trusts only the given CA (never the system store: a local CA)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=security.ca_file)
    context.check_hostname = security.check_hostname
    return context.wrap_socket(sock, server_hostname=host)


def _kafka_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _kafka_bytes(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def _scram_name(name: str) -> str:
    """RFC 5802 saslname: ',' and '=' escaped."""
    return name.replace("=", "=3D").replace(",", "=2C")


class AuthenticationError(Exception):
    """The broker refused the credentials (or proved it does not know them)."""


def _sasl_authenticate(sock: socket.socket, auth_bytes: bytes, correlation_id: int) -> bytes:
    """One SaslAuthenticate v1 round trip; return the server's SASL bytes."""
    body = _call(sock, SASL_AUTHENTICATE_KEY, SASL_AUTHENTICATE_VERSION, correlation_id,
                 _kafka_bytes(auth_bytes))
    error_code, message_len = struct.unpack_from(">hh", body, 0)
    offset = 4 + max(message_len, 0)
    message = body[4:offset].decode(errors="replace") if message_len > 0 else ""
    if error_code == SASL_AUTHENTICATION_FAILED:
        raise AuthenticationError(f"SASL authentication failed: {message or 'no reason given'}")
    if error_code != 0:
        raise NotReadyError(f"SaslAuthenticate returned error_code={error_code} {message}")
    (size,) = struct.unpack_from(">i", body, offset)
    return body[offset + 4:offset + 4 + size]


def scram_sha512_login(sock: socket.socket, username: str, password: str) -> None:
    """SaslHandshake, then the SCRAM-SHA-512 exchange of RFC 5802 (no channel binding)."""
    body = _call(sock, SASL_HANDSHAKE_KEY, SASL_HANDSHAKE_VERSION, 10,
                 _kafka_string(SCRAM_MECHANISM))
    (error_code,) = struct.unpack_from(">h", body, 0)
    if error_code != 0:
        raise AuthenticationError(f"the broker does not offer {SCRAM_MECHANISM} "
                                  f"(SaslHandshake error_code={error_code})")
    client_nonce = base64.b64encode(secrets.token_bytes(24)).decode()
    client_first_bare = f"n={_scram_name(username)},r={client_nonce}"
    server_first = _sasl_authenticate(sock, f"n,,{client_first_bare}".encode(), 11).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
    if not nonce.startswith(client_nonce):
        raise AuthenticationError("the broker's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    stored_key = hashlib.sha512(client_key).digest()
    client_final_bare = f"c=biws,r={nonce}"
    auth_message = f"{client_first_bare},{server_first},{client_final_bare}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha512).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True)))
    server_final = _sasl_authenticate(
        sock, f"{client_final_bare},p={proof.decode()}".encode(), 12).decode()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha512).digest())
    if not hmac.compare_digest(server_final.encode(), b"v=" + expected):
        raise AuthenticationError("the broker's SCRAM signature is wrong: not the real broker?")


def parse_address(text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` also accepted) into its parts."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Read exactly ``size`` bytes or raise ``ConnectionError``."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise ConnectionError("broker closed the connection mid-response")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _call(
    sock: socket.socket, api_key: int, api_version: int, correlation_id: int, body: bytes = b""
) -> bytes:
    """Send one request (header v1) and return the response body (after header v0)."""
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    if not 4 <= size <= MAX_RESPONSE_BYTES:
        if size >> 16 in (0x1503, 0x1603):  # a TLS alert or handshake record header
            raise NotReadyError("the listener speaks TLS: give --client-config")
        raise NotReadyError(f"implausible response size {size}: is this really Kafka?")
    response = _recv_exact(sock, size)
    (got_correlation_id,) = struct.unpack_from(">i", response, 0)
    if got_correlation_id != correlation_id:
        raise NotReadyError(f"correlation id {got_correlation_id} != {correlation_id}")
    return response[4:]


def probe(host: str, port: int, timeout: float, check_metadata: bool,
          security: Security | None = None) -> str:
    """Run the readiness requests once; return a summary or raise."""
    security = security or Security()
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.settimeout(timeout)
        sock = _tls(raw, host, security) if security.ca_file else raw

        # ApiVersions v0: empty body. Response: error_code int16,
        # api_keys [api_key int16, min_version int16, max_version int16].
        body = _call(sock, API_VERSIONS_KEY, 0, correlation_id=1)
        (error_code,) = struct.unpack_from(">h", body, 0)
        if error_code != 0:
            raise NotReadyError(f"ApiVersions returned error_code={error_code}")
        (count,) = struct.unpack_from(">i", body, 2)
        versions = {
            key: (low, high)
            for key, low, high in (
                struct.unpack_from(">hhh", body, 6 + 6 * i) for i in range(count)
            )
        }
        summary = f"ApiVersions ok ({count} APIs)"
        if isinstance(sock, ssl.SSLSocket):
            summary = f"{sock.version()}, " + summary
        if not check_metadata:
            return summary
        if security.username is not None and security.password is not None:
            for key, version in ((SASL_HANDSHAKE_KEY, SASL_HANDSHAKE_VERSION),
                                 (SASL_AUTHENTICATE_KEY, SASL_AUTHENTICATE_VERSION)):
                low, high = versions.get(key, (1, 0))
                if not low <= version <= high:
                    raise AuthenticationError(f"the broker does not accept API {key} v{version}")
            scram_sha512_login(sock, security.username, security.password)
            summary += f", {SCRAM_MECHANISM} as {security.username}"
        low, high = versions.get(METADATA_KEY, (1, 0))
        if not low <= METADATA_VERSION <= high:
            return summary + f", Metadata v{METADATA_VERSION} unsupported so not checked"

        # Metadata v4: topics = null (all), allow_auto_topic_creation = false.
        # Response starts with throttle_time_ms int32, then the brokers array.
        body = _call(sock, METADATA_KEY, METADATA_VERSION, 2, struct.pack(">ib", -1, 0))
        (brokers,) = struct.unpack_from(">i", body, 4)
        if brokers < 1:
            raise NotReadyError("no live broker in metadata yet (broker not registered/unfenced)")
        return summary + f", {brokers} live broker(s) in metadata"


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer exists or is a zombie (it exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait(host: str, port: int, timeout: float, pid: int | None, check_metadata: bool,
         security: Security | None = None) -> int:
    """Retry the probe every 0.25 s until it passes or ``timeout`` seconds elapse.

    A refused login is retried too (a starting broker may not have loaded its credentials
    yet), and reported as the last error if it never succeeds.
    """
    start = time.monotonic()
    deadline = start + timeout
    last_error = "no attempt made"
    while True:
        remaining = deadline - time.monotonic()
        try:
            summary = probe(host, port, max(0.1, min(ATTEMPT_TIMEOUT_S, remaining)),
                            check_metadata, security)
        except (OSError, NotReadyError, AuthenticationError, struct.error, KeyError,
                ValueError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            elapsed = time.monotonic() - start
            print(f"Kafka at {host}:{port} is ready after {elapsed:.1f}s: {summary}")
            return 0
        if pid is not None and process_gone(pid):
            print(
                f"Kafka at {host}:{port} is not ready and process {pid} has exited "
                f"(last error: {last_error})",
                file=sys.stderr,
            )
            return 1
        if time.monotonic() + RETRY_INTERVAL_S > deadline:
            print(
                f"Kafka at {host}:{port} did not become ready within {timeout:g}s "
                f"(last error: {last_error})",
                file=sys.stderr,
            )
            return 1
        time.sleep(RETRY_INTERVAL_S)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and wait."""
    parser = argparse.ArgumentParser(
        description="Wait until a Kafka broker answers ApiVersions (and Metadata) requests."
    )
    parser.add_argument("address", type=parse_address, help="HOST:PORT of the broker listener")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to keep trying (default 60; 0 = once)"
    )
    parser.add_argument("--pid", type=int, help="give up early if this process exits")
    parser.add_argument(
        "--api-versions-only",
        action="store_true",
        help="only require a successful ApiVersions response (skip the Metadata check)",
    )
    parser.add_argument(
        "--client-config",
        metavar="FILE",
        help="librdkafka properties file: TLS (ssl.ca.location) and SCRAM-SHA-512 credentials",
    )
    args = parser.parse_args(argv)
    host, port = args.address
    security = None
    if args.client_config:
        try:
            security = read_client_config(args.client_config)
        except (OSError, ValueError) as exc:
            parser.error(f"--client-config: {exc}")
    return wait(host, port, args.timeout, args.pid, not args.api_versions_only, security)


if __name__ == "__main__":
    sys.exit(main())
