"""`billing run` says what dbt is doing: one line rewritten on a terminal, plain lines in a log.

The end-to-end check (a real run\'s stderr and stdout) is in test_daily_run.py, on its runs.
"""

from __future__ import annotations

import io
import re

from agent_billing.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(progress: Progress) -> None:
    progress.event("FoundStats", {}, "Found 3 models")
    progress.event("LogStartLine", {"total": 3, "description": "sql view model a"}, "")
    progress.event("LogModelResult", {}, "")
    progress.event("LogStartLine", {"total": 3, "description": "test b"}, "")
    progress.event("LogTestResult", {}, "")
    progress.event("LogHookStartLine", {"statement": "agent_billing.on-run-end.0"}, "")
    progress.event("JinjaLogInfo", {}, "Committing the run to the ledger (8 tables)")
    progress.event("LogNodeNoOpResult", {}, "")
    progress.finish()


def test_a_log_gets_plain_lines_at_the_start_every_interval_and_at_the_end():
    log = io.StringIO()
    feed(Progress(log, interval_seconds=0))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0].startswith("billing: dbt build 0/? steps done") and "starting dbt" in lines[0]
    assert any("0/3 steps done" in line and "sql view model a" in line for line in lines)
    assert any("2/3 steps done" in line and "Committing the run" in line for line in lines)
    assert re.fullmatch(r"billing: dbt build 3/3 steps done, \d+ s; now: finished", lines[-1])


def test_a_log_is_not_flooded_between_intervals():
    log = io.StringIO()
    feed(Progress(log, interval_seconds=3600))
    lines = log.getvalue().splitlines()
    # the first line, then nothing until the interval, then the last
    assert len(lines) == 2 and lines[-1].startswith("billing: dbt build 3/3 steps done")


def test_a_terminal_gets_one_line_rewritten_and_cleared():
    terminal = Terminal()
    feed(Progress(terminal, interval_seconds=3600))
    text = terminal.getvalue()
    assert "\n" not in text
    updates = text.split("\r\x1b[K")
    assert "dbt build 1/3 steps" in text and "test b" in text
    assert updates[-1] == ""  # the line is cleared at the end for the summary
