"""Requests read, and their contact keys hashed, in a helper process while the filter decides.

Why: one send filter is one Python thread, and in the bench's throughput runs that thread was
the bottleneck (busy 87 % of the time) while the machine's second core stood 70 % idle. Reading
a request (`schemas.mail_request.read_request`) and hashing its address are about 5 µs of the
filter's 16 µs a request in place, and need nothing but the record's bytes and the key secret.
So a helper process does them: the batch goes over in chunks as soon as it is consumed (while
the filter waits at the barrier), and the answers stream back in order while the filter decides
earlier ones. Decisions, the replica, outputs and the transaction stay in the filter.

Each request comes back as one of:
- `Read`: the request and its contact key, exactly what `read_request` and the key hash give;
- `Refused`: `read_request`'s `InvalidEvent` (reason and kind), for the filter to dead-letter;
- `Failed`: an unexpected exception's type name and traceback (no values), for the filter to
  dead-letter at stage `processing` as it would its own failure.

Error site of the helper itself: if it dies, or answers nothing for `STALL_S` while alive, the
filter raises `ReaderFailed`; the batch's transaction aborts (nothing half-read is committed)
and the process exits for its supervisor to restart it. A helper whose filter died sees its
pipe close and exits.
"""

import fcntl
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection

import msgspec

from schemas.contact import KeyHasher
from schemas.exceptions import ConsentError, InvalidEvent
from schemas.mail_request import Request, read_request

log = logging.getLogger("consent.streams.filter.reader")

CHUNK = 500
"""Requests per message to and from the helper: small enough that the first answers come
back while the filter still waits at the barrier, large enough that framing costs nothing."""
STALL_S = 60.0
"""How long a live helper may leave a chunk unanswered before the filter gives up on it."""


class ReaderFailed(ConsentError):
    """The helper process died or stopped answering: the filter must exit (supervisor)."""


class Read(msgspec.Struct, array_like=True, gc=False, tag=0):
    request: Request
    key: str


class Refused(msgspec.Struct, array_like=True, gc=False, tag=1):
    reason: str
    kind: str


class Failed(msgspec.Struct, array_like=True, gc=False, tag=2):
    error: str
    trace: str


Answer = Read | Refused | Failed

_encode = msgspec.msgpack.Encoder().encode
_decode_values = msgspec.msgpack.Decoder(list[bytes | None]).decode
_decode_answers = msgspec.msgpack.Decoder(list[Answer]).decode


def read_one(value: bytes | None, hasher: KeyHasher) -> Answer:
    """What the helper answers for one record (also the filter's own path without a helper)."""
    try:
        request = read_request(value)
        return Read(request, hasher.key_of_normalised(request.email))
    except InvalidEvent as exc:
        return Refused(exc.reason, exc.kind)
    except Exception as exc:  # noqa: BLE001 - one record must not stop the helper
        return Failed(type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))


def answer_chunks(inbox: Connection, outbox: Connection) -> None:
    """The helper's loop: the key secret first, then chunks of record values in and their
    answers out, in order."""
    try:
        hasher = KeyHasher(inbox.recv_bytes().decode("utf-8"))
        while True:
            chunk = inbox.recv_bytes()
            outbox.send_bytes(_encode([read_one(v, hasher) for v in _decode_values(chunk)]))
    except (EOFError, OSError):
        return  # the filter closed the pipe, or died


PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Let a pipe hold a few chunks (Linux's default is 64 KiB, a third of one): the helper
    then never waits for the writer thread to get the GIL back between partial writes, nor
    the filter for the helper's. Where the system refuses, the default works, more slowly."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:
        log.info("could not widen the reader's pipes; using the system's default size")


class Reader:
    """The filter's side: submit a batch's values, then take their answers in order.

    One batch is outstanding at a time. Answers are kept until the next `submit`, so a batch
    whose transaction was aborted and is processed again reads nothing twice.
    """

    def __init__(self, secret: str, *, chunk: int = CHUNK, stall_s: float = STALL_S) -> None:
        # a fresh interpreter, not a fork of a process running librdkafka's threads, and not
        # multiprocessing's spawn, which re-imports whatever script started the filter; the
        # secret goes over the pipe, never into the command line or the environment
        self._process = subprocess.Popen(
            [sys.executable, "-m", "streams.filter.reader"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert self._process.stdin is not None and self._process.stdout is not None
        for pipe in (self._process.stdin, self._process.stdout):
            _widen(pipe.fileno())
        self._out = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._in = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        # chunks are written by a thread of their own: a batch is larger than a pipe holds, and
        # the helper blocks writing answers until we read them, so a writer that waited in the
        # filter's thread would wait for ever
        self._outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="send-filter-reader-writer",
                                        daemon=True)
        self._writer.start()
        self._outgoing.put(secret.encode("utf-8"))
        self._chunk = chunk
        self._stall_s = stall_s
        self._owed = 0  # chunks sent and not yet answered
        self._answers: list[Answer] = []
        self._submitted = 0

    def submit(self, values: list[bytes | None]) -> None:
        """Send a batch's values; whatever the last batch still owes is dropped."""
        self._drop_owed()
        self._answers = []
        self._submitted = len(values)
        for start in range(0, len(values), self._chunk):
            self._outgoing.put(_encode(values[start:start + self._chunk]))
            self._owed += 1

    def answers(self) -> Iterator[Answer]:
        """The submitted batch's answers in order, waiting for those not yet back."""
        yield from self._answers[:]  # a batch processed again: what was read already
        while self._owed:
            got = self._receive()
            self._answers.extend(got)
            yield from got
        if len(self._answers) != self._submitted:
            raise ReaderFailed(f"the reader answered {len(self._answers)} of "
                               f"{self._submitted} requests")

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pipes (the helper exits on their end) and wait for it."""
        self._outgoing.put(None)
        self._writer.join(5)
        self._in.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)

    def _drop_owed(self) -> None:
        while self._owed:
            self._receive()

    def _write(self) -> None:
        """The writer thread: send what is queued until `close`; a helper that died is seen
        by `_receive`, which waits for its answers."""
        try:
            while (data := self._outgoing.get()) is not None:
                self._out.send_bytes(data)
        except OSError:
            log.warning("the reader process no longer takes requests")
        finally:
            self._out.close()

    def _receive(self) -> list[Answer]:
        waited_since = time.monotonic()
        while not self._in.poll(1.0):
            if self._process.poll() is not None:
                raise ReaderFailed(f"the reader process is gone ({self._exit()})")
            if time.monotonic() - waited_since > self._stall_s:
                raise ReaderFailed(f"the reader answered nothing for {self._stall_s:.0f} s")
        try:
            data = self._in.recv_bytes()
        except (EOFError, OSError) as exc:
            raise ReaderFailed(f"the reader process is gone ({self._exit()})") from exc
        self._owed -= 1
        return _decode_answers(data)

    def _exit(self) -> str:
        try:
            return f"exit code {self._process.wait(1)}"
        except subprocess.TimeoutExpired:
            return "its pipe closed"


if __name__ == "__main__":
    answer_chunks(Connection(os.dup(0), writable=False), Connection(os.dup(1), readable=False))
