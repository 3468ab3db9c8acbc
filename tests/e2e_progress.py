"""Name each end-to-end test on the terminal as it starts and when it ends.

The end-to-end and browser tests take most of the run, some of them a minute each; with only
dots the last minutes of a run show nothing at all. This plugin runs in the process that owns
the terminal, which under pytest-xdist is the controller: the workers send it every test's start
and reports, so the lines appear with ``-n auto`` too (interleaved, hence the name on each).
With ``-v`` pytest names every test itself, and the plugin stays quiet.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

SLOW_DIRECTORIES = ("tests/e2e/", "tests/browser/")


def is_end_to_end(nodeid: str, keywords=()) -> bool:
    return nodeid.startswith(SLOW_DIRECTORIES) or "e2e" in keywords


class EndToEndProgress:
    def __init__(self, terminal) -> None:
        self.terminal = terminal
        self.seconds: dict[str, float] = defaultdict(float)
        self.outcome: dict[str, str] = {}

    def _line(self, text: str) -> None:
        # write_line ends a line the reporter began with a file name; end a line of dots too
        if not self.terminal.currentfspath and self.terminal._tw.width_of_current_line:
            self.terminal._tw.line()
        self.terminal.write_line(text)

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str, location) -> None:
        if is_end_to_end(nodeid):
            self._line(f"e2e: {nodeid} …")

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_end_to_end(report.nodeid, report.keywords):
            return
        self.seconds[report.nodeid] += report.duration
        if report.failed:
            self.outcome[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped:
            self.outcome.setdefault(report.nodeid, "skipped")
        if report.when == "teardown":
            outcome = self.outcome.pop(report.nodeid, "passed")
            seconds = self.seconds.pop(report.nodeid)
            self._line(f"e2e: {report.nodeid} … {outcome} in {seconds:.1f} s")


def register(config: pytest.Config) -> None:
    """Add the plugin where the terminal is: not in xdist workers, and not with -v."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is None or hasattr(config, "workerinput") or config.option.verbose > 0:
        return
    config.pluginmanager.register(EndToEndProgress(terminal), "e2e-progress")
