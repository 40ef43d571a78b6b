"""The import command's output and exit codes, with a fake producer (no broker).

Pins what the operator sees: the report on stdout, progress and errors on stderr, no line's
content anywhere, a hostile file name shown escaped, and a refused file that never even
creates a producer.
"""

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ops import importing
from schemas.settings import ClientSettings
from sources.producer import ProduceError

SETTINGS = ClientSettings(key_secret=SecretStr("importing-test-secret"), environment="test")
MARK = "zq7secret"


class FakeProducer:
    made: list["FakeProducer"] = []
    fail_flush = False

    def __init__(self, settings: ClientSettings) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False
        FakeProducer.made.append(self)

    def send(self, event: dict[str, Any]) -> str:
        self.sent.append(event)
        return ""

    def flush(self) -> None:
        if FakeProducer.fail_flush:
            raise ProduceError("2 events failed: Broker: Not enough in-sync replicas")

    def close(self) -> None:
        self.closed = True
        self.flush()


@pytest.fixture(autouse=True)
def fake_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeProducer.made = []
    FakeProducer.fail_flush = False
    monkeypatch.setattr(importing, "EventProducer", FakeProducer)
    monkeypatch.setenv("COLUMNS", "200")


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = importing.run_import(str(path), SETTINGS)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_good_file_is_sent_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "list.csv"
    path.write_text(f"email,scope\na@example.com,all\n{MARK},all\na@example.com,all\n"
                    f"b@example.com,{MARK}\n", encoding="utf-8")
    code, out, err = run(path, capsys)
    assert code == 0
    (producer,) = FakeProducer.made
    assert len(producer.sent) == 1 and producer.closed
    assert "imported=1 duplicates_in_file=1 rejected=2" in out
    assert "rejected line numbers: 3, 5" in out and "encoding: UTF-8" in out
    assert MARK not in out + err


def test_a_refused_file_creates_no_producer(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "list.csv"
    path.write_text(f"email\na@example.com\n{MARK}@example.com,extra\n", encoding="utf-8")
    code, out, err = run(path, capsys)
    assert code == 2 and FakeProducer.made == []
    assert "imported=0" in out and "line has more fields than the header" in out
    assert "nothing was sent" in err and MARK not in out + err


def test_an_unreadable_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, out, err = run(tmp_path / "missing.csv", capsys)
    assert (code, out) == (2, "") and "Traceback" not in err
    assert err.splitlines()[-1] == "error: cannot read missing.csv: No such file or directory"


def test_a_hostile_file_name_is_shown_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "list[red]\x1b]0;pwned\x07.csv"
    path.write_text("email\na@example.com\n", encoding="utf-8")
    code, out, err = run(path, capsys)
    assert code == 0
    assert "list[red]\\x1b]0;pwned\\x07.csv" in out and "\x1b" not in out + err


def test_a_broker_failure_says_that_importing_again_is_safe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    FakeProducer.fail_flush = True
    path = tmp_path / "list.csv"
    path.write_text("email\na@example.com\n", encoding="utf-8")
    code, out, err = run(path, capsys)
    assert code == 2 and FakeProducer.made[0].closed
    assert "Not enough in-sync replicas" in err and "importing the same file again is safe" in err
