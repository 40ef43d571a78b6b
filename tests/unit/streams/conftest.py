"""Print the opt-out detection figures at the end of every test run that measured them."""

import pytest

from tests.unit.streams.optout_report import REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("opt-out detection (streams.optout), issue 8")
        for line in REPORT:
            terminalreporter.write_line(line)
