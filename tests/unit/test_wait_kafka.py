"""deploy/local/wait_kafka.py's secured probe, against a fake broker: SCRAM-SHA-512 and its file.

The real broker proves it on every secured start (kafka.sh) and in test_access.py; here the
cases a live broker will not easily show: a wrong password, a server that does not know the
password (a forged server signature), a server without SCRAM.
"""

import base64
import hashlib
import hmac
import importlib.util
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.access import render_client_file
from schemas.principals import principal

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "wait_kafka.py"
_spec = importlib.util.spec_from_file_location("consent_wait_kafka", SCRIPT)
assert _spec is not None and _spec.loader is not None
wait_kafka = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = wait_kafka  # its dataclasses look their module up there
_spec.loader.exec_module(wait_kafka)

PASSWORD = "c0rrect=horse"
SALT = b"0123456789abcdef"
ITERATIONS = 4096


def _read_request(conn: socket.socket) -> tuple[int, int, bytes]:
    (size,) = struct.unpack(">i", wait_kafka._recv_exact(conn, 4))
    data = wait_kafka._recv_exact(conn, size)
    api_key, _version, correlation_id, client_len = struct.unpack_from(">hhih", data, 0)
    return api_key, correlation_id, data[10 + client_len:]


def _reply(conn: socket.socket, correlation_id: int, body: bytes) -> None:
    payload = struct.pack(">i", correlation_id) + body
    conn.sendall(struct.pack(">i", len(payload)) + payload)


def _auth_reply(conn: socket.socket, correlation_id: int, data: bytes, error: int = 0) -> None:
    message = struct.pack(">h", -1)
    _reply(conn, correlation_id, struct.pack(">h", error) + message
           + struct.pack(">i", len(data)) + data + struct.pack(">q", 0))


def fake_broker(conn: socket.socket, *, mechanisms: tuple[str, ...] = ("SCRAM-SHA-512",),
                forge_signature: bool = False) -> None:
    """The server side of RFC 5802, knowing PASSWORD only as Kafka stores it (salted keys)."""
    salted = hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), SALT, ITERATIONS)
    stored_key = hashlib.sha512(hmac.new(salted, b"Client Key", hashlib.sha512).digest()).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    with conn:
        _, cid, _ = _read_request(conn)  # SaslHandshake
        error = 0 if "SCRAM-SHA-512" in mechanisms else 33
        body = struct.pack(">hi", error, len(mechanisms))
        body += b"".join(struct.pack(">h", len(m)) + m.encode() for m in mechanisms)
        _reply(conn, cid, body)
        if error:
            return
        _, cid, data = _read_request(conn)
        client_first_bare = data[4:].decode().removeprefix("n,,")
        client_nonce = dict(f.split("=", 1) for f in client_first_bare.split(","))["r"]
        server_first = (f"r={client_nonce}server,s={base64.b64encode(SALT).decode()},"
                        f"i={ITERATIONS}")
        _auth_reply(conn, cid, server_first.encode())
        _, cid, data = _read_request(conn)
        client_final = data[4:].decode()
        without_proof, _, proof = client_final.rpartition(",p=")
        auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha512).digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature,
                                                 strict=True))
        if hashlib.sha512(client_key).digest() != stored_key:
            _auth_reply(conn, cid, b"", error=58)
            return
        key = b"forged" if forge_signature else server_key
        verifier = base64.b64encode(hmac.new(key, auth_message, hashlib.sha512).digest())
        _auth_reply(conn, cid, b"v=" + verifier)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    client.settimeout(10)
    yield client, server
    client.close()


def login(pair: tuple[socket.socket, socket.socket], password: str, **broker: object) -> None:
    client, server = pair
    thread = threading.Thread(target=fake_broker, args=(server,), kwargs=broker)
    thread.start()
    try:
        wait_kafka.scram_sha512_login(client, "worker", password)
    finally:
        thread.join(10)


def test_the_right_password_logs_in_and_the_server_is_checked(pair) -> None:
    login(pair, PASSWORD)


def test_a_wrong_password_is_an_authentication_error(pair) -> None:
    with pytest.raises(wait_kafka.AuthenticationError, match="SASL authentication failed"):
        login(pair, "wrong")


def test_a_server_that_does_not_know_the_password_is_caught(pair) -> None:
    with pytest.raises(wait_kafka.AuthenticationError, match="not the real broker"):
        login(pair, PASSWORD, forge_signature=True)


def test_a_server_without_scram_is_an_authentication_error(pair) -> None:
    with pytest.raises(wait_kafka.AuthenticationError, match="does not offer SCRAM-SHA-512"):
        login(pair, PASSWORD, mechanisms=("PLAIN",))


def test_it_reads_the_client_files_that_ops_access_writes(tmp_path: Path) -> None:
    path = tmp_path / "worker.properties"
    path.write_text(render_client_file(
        principal("worker"), PASSWORD,
        {"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
         "ssl.ca.location": "/x/ca.crt", "ssl.endpoint.identification.algorithm": "https"},
        "127.0.0.1:9892"))
    security = wait_kafka.read_client_config(str(path))
    assert (security.ca_file, security.check_hostname, security.username, security.password
            ) == ("/x/ca.crt", True, "worker", PASSWORD)
    assert PASSWORD not in repr(security)


def test_a_file_it_cannot_honour_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.properties"
    path.write_text("security.protocol=SASL_SSL\nsasl.mechanisms=PLAIN\n")
    with pytest.raises(ValueError, match="only SCRAM-SHA-512"):
        wait_kafka.read_client_config(str(path))
