"""The daemons' log lines: one JSON object each, exceptions by type and place only."""

import json
import logging

from ops.logs import JsonFormatter


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    return logging.LogRecord("consent.test", logging.WARNING, __file__, 1, msg, args,
                             (type(exc), exc, exc.__traceback__) if exc else None)


def test_a_line_is_one_json_object_with_the_fields_operators_filter_on() -> None:
    line = JsonFormatter("worker").format(_record("dead letter: topic=%s offset=%s", "x", 3))
    doc = json.loads(line)
    assert doc["msg"] == "dead letter: topic=x offset=3"
    assert (doc["level"], doc["logger"], doc["process"]) == ("warning", "consent.test", "worker")
    assert "\n" not in line


def test_an_exception_is_logged_by_type_and_place_never_by_its_message() -> None:
    address = "@".join(["victim", "example.com"])  # a runtime value, as in production
    try:
        raise ValueError(f"{address} is not valid")  # as a third party's message might
    except ValueError as exc:
        line = JsonFormatter("mailer").format(_record("failed", exc=exc))
    doc = json.loads(line)
    assert doc["exc_type"] == "ValueError" and "test_logs.py" in doc["exc_trace"]
    assert "victim" not in line
