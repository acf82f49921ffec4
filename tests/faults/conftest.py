"""Fault runs against real processes: the figures of each run in pytest's summary."""

from __future__ import annotations

import pytest

from tests.faults.figures import REPORTED


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: runs a real stack under faults (sized by FAULT_* variables)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Written here, the figures show with or without -s, passed or failed.
    if REPORTED:
        terminalreporter.section("fault runs")
        for line in REPORTED:
            terminalreporter.write_line(line)
