"""The pytest plugin ``visionspec run`` adds to its own session: results that cannot be written stop the run
cleanly, and a prediction cache that could not be written is told.

Imported only when a run starts (it imports pytest). An ``OSError`` raised by a hook of the test protocol
(Allure writing a result file onto a full or read-only disk) would end the session with an INTERNALERROR
traceback; here it stops the session with one line (``pytest.exit``, exit status 2) and is kept for the CLI,
which turns it into a ``ResultsError`` naming the folder and the fix.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


class RunGuard:
    """One run's guard. ``write_error`` is the first results write that failed, if any."""

    def __init__(self) -> None:
        self.write_error: OSError | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        try:
            return (yield)
        except OSError as err:  # an error inside a test is the test's; this one came from a hook
            self.write_error = err
            pytest.exit(f"cannot write the results of {item.nodeid}: {err.strerror or err}", returncode=2)

    def pytest_internalerror(self, excinfo: Any) -> None:
        if isinstance(excinfo.value, OSError) and self.write_error is None:
            self.write_error = excinfo.value
