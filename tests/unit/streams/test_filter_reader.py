"""The send filter's reader process answers exactly what reading in the filter would, in order,
and a reader that dies or is orphaned never leaves the filter waiting or a process behind."""

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import orjson
import pytest

from schemas.contact import KeyHasher
from sources.producer import make_event
from streams.filter.reader import Answer, Failed, Read, Reader, ReaderFailed, Refused, read_one

SECRET = "s" * 32


def request(i: int, **data: object) -> bytes:
    fields = {"request_id": f"r{i}", "email": f"User{i}@Example.com", "purpose": "newsletter",
              "subject": "Hello", "body": "Dear customer", "campaign": "spring", **data}
    return orjson.dumps(make_event("mail.requested", fields, source="crm"))


def corpus() -> list[bytes | None]:
    """Plainly valid requests, ones only the model accepts, and refusals of every kind."""
    plain = [request(i) for i in range(7)]
    model_only = orjson.loads(request(100))
    model_only["event_id"] = model_only["event_id"].upper()  # not canonical: the model reads it
    return [*plain, orjson.dumps(model_only), None, b"{not json", b"[]",
            request(101, purpose="no-such-purpose"), request(102, email="not an address"),
            orjson.dumps({**orjson.loads(request(103)), "type": "consent.granted"}),
            *[request(i) for i in range(200, 230)]]


@pytest.fixture
def reader() -> Iterator[Reader]:
    r = Reader(SECRET, chunk=4)
    yield r
    r.close()


def collect(reader: Reader, values: list[bytes | None] | None = None,
            timeout_s: float = 30.0) -> list[Answer]:
    """Submit `values` (unless None) and take the answers, or fail the test (not hang it) if
    they never come."""
    got: list[Answer] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            if values is not None:
                reader.submit(values)
            got.extend(reader.answers())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    worker = threading.Thread(target=take, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        pytest.fail(f"no answers within {timeout_s} s")
    if errors:
        raise errors[0]
    return got


def test_answers_are_what_reading_in_the_filter_gives_in_order(reader: Reader) -> None:
    values = corpus()
    reader.submit(values)
    got = collect(reader)
    hasher = KeyHasher(SECRET)
    assert got == [read_one(v, hasher) for v in values]
    kinds = [type(a) for a in got]
    assert kinds.count(Read) == 38 and kinds.count(Refused) == 6
    first, model_read = got[0], got[7]
    assert isinstance(model_read, Read) and model_read.request.event_id.islower()
    assert isinstance(first, Read)
    assert first.request.email == "user0@example.com"
    assert first.key == hasher("User0@Example.com")


def test_a_batch_larger_than_the_pipes_is_answered(reader: Reader) -> None:
    """The helper blocks writing answers until the filter reads them: a filter that wrote the
    whole batch before reading would wait for ever."""
    values: list[bytes | None] = [request(i, body="x" * 2000) for i in range(3000)]
    got = collect(reader, values)
    assert len(got) == 3000 and all(isinstance(a, Read) for a in got)
    assert [a.request.request_id for a in got if isinstance(a, Read)] == [
        f"r{i}" for i in range(3000)]


def test_a_batch_processed_again_is_not_read_again(reader: Reader) -> None:
    values = corpus()
    reader.submit(values)
    first = collect(reader)
    reader._process.kill()  # a second reading would need the helper
    reader._process.wait(5)
    assert collect(reader) == first


def test_a_new_batch_drops_what_the_last_one_still_owed(reader: Reader) -> None:
    reader.submit([request(i) for i in range(40)])
    it = reader.answers()
    next(it)  # the rest of the batch is left unread (a rebalance during the barrier wait)
    reader.submit([request(i) for i in range(500, 510)])
    got = collect(reader)
    assert [a.request.request_id for a in got if isinstance(a, Read)] == [
        f"r{i}" for i in range(500, 510)]


def test_a_dead_reader_fails_the_batch_instead_of_leaving_it_waiting(reader: Reader) -> None:
    reader._process.kill()
    reader._process.wait(5)
    reader.submit(corpus())
    with pytest.raises(ReaderFailed, match="gone"):
        collect(reader)


def test_an_unexpected_failure_comes_back_without_the_value() -> None:
    class Broken(KeyHasher):
        def key_of_normalised(self, normalised: str) -> str:
            raise RuntimeError(normalised)  # a bug that would put the address in the message

    answer = read_one(request(1), Broken(SECRET))
    assert isinstance(answer, Failed)
    assert answer.error == "RuntimeError"
    assert "user1" not in answer.trace and "key_of_normalised" in answer.trace


def test_the_secret_is_not_on_the_command_line(reader: Reader) -> None:
    with open(f"/proc/{reader._process.pid}/cmdline", "rb") as f:
        assert SECRET.encode() not in f.read()
    with open(f"/proc/{reader._process.pid}/environ", "rb") as f:
        assert SECRET.encode() not in f.read()


def test_close_leaves_no_process(reader: Reader) -> None:
    reader.submit(corpus())
    reader.close()
    assert reader._process.poll() is not None


def test_the_reader_exits_when_its_filter_is_killed() -> None:
    """SIGKILL of the filter closes the helper's pipes, and the helper exits on its own."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from streams.filter.reader import Reader\n"
         f"r = Reader({SECRET!r})\n"
         "print(r._process.pid, flush=True)\n"
         "time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.stdout.close()
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child), "the reader outlived its filter"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_the_pipes_hold_several_chunks(reader: Reader) -> None:
    """At Linux's default 64 KiB a chunk took several partial writes, each waiting for the GIL
    (the speed itself is measured by `consent bench`, not here)."""
    for conn in (reader._out, reader._in):
        assert fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_GETPIPE_SZ", 1032)) >= 1 << 20
