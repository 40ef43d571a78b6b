#!/usr/bin/env python3
"""Wait until a Kafka broker answers real Kafka protocol requests.

Usage: wait_kafka.py HOST:PORT [--timeout SECONDS] [--pid PID] [--api-versions-only]

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

Only the standard library is used: this runs before the project's virtualenv
has its packages installed.

Exit status: 0 ready, 1 not ready in time (or the --pid process died), 2 usage.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time

API_VERSIONS_KEY = 18
METADATA_KEY = 3
METADATA_VERSION = 4  # the oldest version Kafka 4.x still accepts (KIP-896); non-flexible
CLIENT_ID = b"consent-wait-kafka"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
RETRY_INTERVAL_S = 0.25
ATTEMPT_TIMEOUT_S = 2.0


class NotReadyError(Exception):
    """The broker answered, but not (yet) with what a ready broker answers."""


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
        raise NotReadyError(f"implausible response size {size}: is this really Kafka?")
    response = _recv_exact(sock, size)
    (got_correlation_id,) = struct.unpack_from(">i", response, 0)
    if got_correlation_id != correlation_id:
        raise NotReadyError(f"correlation id {got_correlation_id} != {correlation_id}")
    return response[4:]


def probe(host: str, port: int, timeout: float, check_metadata: bool) -> str:
    """Run the readiness requests once; return a summary or raise."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)

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
        if not check_metadata:
            return summary
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


def wait(host: str, port: int, timeout: float, pid: int | None, check_metadata: bool) -> int:
    """Retry the probe every 0.25 s until it passes or ``timeout`` seconds elapse."""
    start = time.monotonic()
    deadline = start + timeout
    last_error = "no attempt made"
    while True:
        remaining = deadline - time.monotonic()
        try:
            summary = probe(host, port, max(0.1, min(ATTEMPT_TIMEOUT_S, remaining)), check_metadata)
        except (OSError, NotReadyError, struct.error) as exc:
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
    args = parser.parse_args(argv)
    host, port = args.address
    return wait(host, port, args.timeout, args.pid, not args.api_versions_only)


if __name__ == "__main__":
    sys.exit(main())
