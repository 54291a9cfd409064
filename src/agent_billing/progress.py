"""Progress of a dbt build, from dbt's JSON log events, for the person or the log watching.

On a terminal one line is rewritten in place (steps done of total, the current step);
anywhere else (cron, a CI log, a pipe) a plain line is printed at the start, every
BILLING_PROGRESS_SECONDS seconds (default 15) and at the end. Written to stderr: stdout
keeps the run's summary.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TextIO

# dbt events that end one step of the build (a model, seed, test, or exposure)
RESULT_EVENTS = frozenset(
    {
        "LogModelResult",
        "LogTestResult",
        "LogSeedResult",
        "LogSnapshotResult",
        "LogNodeNoOpResult",
        "LogFreshnessResult",
        "SkippingDetails",
    }
)


class Progress:
    def __init__(self, stream: TextIO, interval_seconds: float | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty()
        if interval_seconds is None:
            interval_seconds = float(os.environ.get("BILLING_PROGRESS_SECONDS", "15"))
        self.interval = interval_seconds
        self.total = 0
        self.done = 0
        self.current = "starting dbt"
        self.started = time.monotonic()
        self.last_printed: float | None = None
        self.line_shown = False
        self.show()

    def event(self, name: str, data: dict, message: str) -> None:
        """One dbt log event: updates the counts and shows them if it is time to."""
        if name == "LogStartLine":
            self.total = max(self.total, int(data.get("total") or 0))
            self.current = str(data.get("description") or self.current)
        elif name in RESULT_EVENTS:
            self.done += 1
        elif name == "FoundStats":
            self.current = "project read, checking the settings and guards"
        elif name == "LogHookStartLine" and "on-run-end" in str(data.get("statement", "")):
            self.current = "committing the run to the ledger"
        elif name == "JinjaLogInfo" and message.startswith(("Committing", "Nothing committed")):
            self.current = message
        else:
            return
        self.show()

    def show(self, force: bool = False) -> None:
        now = time.monotonic()
        steps = f"{min(self.done, self.total)}/{self.total}" if self.total else "0/?"
        elapsed = now - self.started
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns
            text = f"dbt build {steps} steps, {elapsed:.0f} s: {self.current}"
            self.stream.write("\r\x1b[K" + text[: max(width - 1, 10)])
            self.stream.flush()
            self.line_shown = True
            return
        due = self.last_printed is None or now - self.last_printed >= self.interval
        if force or due:
            self.stream.write(
                f"billing: dbt build {steps} steps done, {elapsed:.0f} s; now: {self.current}\n"
            )
            self.stream.flush()
            self.last_printed = now

    def finish(self) -> None:
        """Clears the live line, or prints the last count in a log."""
        if self.live:
            if self.line_shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            return
        self.current = "finished"
        self.show(force=True)
