"""Runs `dbt build` for the billing project and reads what it reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent_billing.progress import Progress
from agent_billing.project import db_path, dbt_executable, project_dir, target_dir


@dataclass
class BuildResult:
    """What one `dbt build` did: its exit code and its failing or warning nodes."""

    returncode: int
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    invocation_id: str | None = None
    # A bad setting dbt refused before any model ran (a var, a guard, a price seed
    # row under closed days): the first line of its message.
    refusal: str | None = None
    # What dbt printed, and the cause of a failure that is about files, not data
    # (a full disk, a corrupt warehouse), in one line naming the file.
    output: str = ""
    explanation: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# How the project's checks of settings begin their messages (macros/config/).
REFUSAL_MARKERS = ("Invalid dbt var '", "Invalid price seed", "Invalid contract price seed")


def run_dbt_build(
    dbt_vars: dict[str, object], quiet: bool = True, database: Path | None = None
) -> BuildResult:
    """`dbt build` with the given vars into database (default BILLING_DB_PATH).

    billing_date and usage_root go to dbt as the environment variables
    BILLING_DATE and BILLING_USAGE_ROOT rather than as vars: a changed var makes
    dbt parse the whole project again (2 to 4 s), while a changed environment
    variable does not.
    For the same reason dbt runs in the database's folder and is given the file
    by its name: the profile's path is part of what dbt compares to decide on a
    partial parse, so a warehouse anywhere keeps it partial. Every path dbt
    reads (usage_root, seeds, target) is absolute or relative to the project.
    """
    root = project_dir()
    database = (database or db_path()).resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    dbt_vars = dict(dbt_vars)
    billing_date = dbt_vars.pop("billing_date", None)
    usage_root = dbt_vars.pop("usage_root", None)
    env = dict(
        os.environ,
        BILLING_DB_PATH=database.name,
        BILLING_DATE="" if billing_date is None else str(billing_date),
        BILLING_USAGE_ROOT="" if usage_root is None else str(usage_root),
    )
    # JSON log events: the run reads progress from them and keeps the errors (what
    # --quiet would print); --verbose echoes every event's message
    command = [dbt_executable(), "--log-format", "json", "--no-use-colors"]
    command += [
        "build",
        # unit tests check the SQL, not the data: they run in CI (make test), as dbt
        # recommends, not in every production run
        "--exclude-resource-type",
        "unit_test",
        "--project-dir",
        str(root),
        "--profiles-dir",
        str(root),
        "--vars",
        json.dumps(dbt_vars),
    ]
    started = time.time()
    progress = Progress(sys.stderr) if quiet else None
    returncode, output = _run_echoed(command, database.parent, env, not quiet, progress)
    refusal = _refusal(output) if returncode != 0 else None
    if quiet and refusal is None:
        sys.stdout.write(output)  # with --quiet, dbt prints only errors
        sys.stdout.flush()
    run_results = target_dir(root) / "run_results.json"
    if not run_results.is_file() or run_results.stat().st_mtime < started:
        # dbt stopped before writing this build's results: the file is an earlier build's
        return BuildResult(returncode, refusal=refusal, output=output)
    failures, warnings = _read_run_results(run_results, database)
    return BuildResult(
        returncode,
        failures,
        warnings,
        _invocation_id(run_results),
        refusal=refusal,
        output=output,
    )


def _run_echoed(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    echo_live: bool,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Runs dbt (JSON log lines), returning its errors' messages and any line that is
    not an event (a traceback); echoes every message as it comes when echo_live, and
    feeds progress.

    dbt never outlives this process: if it is stopped (a signal raised as an exception
    here), dbt is stopped and waited for before the exception goes on; and on Linux the
    kernel kills dbt if this process dies without a chance to do so (SIGKILL).
    """
    lines = []
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
    ) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                name, level, message, data = _event(line)
                if name is None or level == "error":
                    lines.append(message + "\n")
                if echo_live:
                    sys.stdout.write(message + "\n")
                    sys.stdout.flush()
                if progress is not None and name is not None:
                    progress.event(name, data, message)
        except BaseException:
            _stop(process)
            raise
        finally:
            if progress is not None:
                progress.finish()
    return process.returncode, "".join(lines)


def _event(line: str) -> tuple[str | None, str, str, dict]:
    """(name, level, message, data) of a dbt JSON log line; (None, '', line, {}) otherwise."""
    try:
        event = json.loads(line)
        info = event["info"]
        return info["name"], info.get("level", ""), info.get("msg", ""), event.get("data", {})
    except (ValueError, KeyError, TypeError):
        return None, "", line.rstrip("\n"), {}


def _stop(process: subprocess.Popen, grace_seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL if dbt has not ended within the grace period; waits for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """In the child, before dbt starts: the kernel sends it SIGKILL when its parent dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _refusal(output: str) -> str | None:
    """The message of a setting dbt refused, if that is why it stopped."""
    for line in output.splitlines():
        text = line.strip()
        if text.startswith(REFUSAL_MARKERS):
            return text
    return None


def _invocation_id(path: Path) -> str | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("metadata", {}).get("invocation_id")


def last_build_status(root: Path) -> tuple[bool, str]:
    """Whether the last `dbt build` in the project was fully green, and why not."""
    path = target_dir(root) / "run_results.json"
    if not path.is_file():
        return False, f"no dbt run results ({path}): run dbt build first"
    content = json.loads(path.read_text())
    if content.get("args", {}).get("which") != "build":
        return False, "the last dbt command was not a build"
    results = content.get("results", [])
    bad = [r for r in results if not _is_green(r)]
    if bad:
        names = ", ".join(r.get("unique_id", "?").split(".")[2] for r in bad[:5])
        return False, f"the last dbt build was not green ({len(bad)} steps: {names})"
    if not any(r.get("unique_id") == "model.agent_billing.daily_bills" for r in results):
        return False, "the last dbt build did not build marts.daily_bills"
    return True, "green"


def _is_green(result: dict) -> bool:
    # exposures (BI dashboards, exports) are listed by `dbt build` with nothing to run
    if result.get("unique_id", "").startswith("exposure."):
        return result.get("status") == "no-op"
    return result.get("status") in ("success", "pass", "warn")


def _read_run_results(path: Path, database: Path) -> tuple[list[str], list[str]]:
    if not path.is_file():
        return [], []
    results = json.loads(path.read_text()).get("results", [])
    failures, warnings = [], []
    for result in results:
        status = result.get("status")
        # unique_id: <type>.<project>.<name>[.<hash>]
        parts = result.get("unique_id", "?").split(".")
        name = parts[2] if len(parts) > 2 else parts[-1]
        message = (result.get("message") or "").strip().splitlines()
        line = f"{name}: {message[0] if message else status}"
        if status in ("error", "fail", "runtime error"):
            if status == "fail" and result.get("unique_id", "").startswith("test."):
                line += "".join(f"\n    {row}" for row in _failing_rows(result, database))
            failures.append(line)
        elif status == "warn":
            warnings.append(line)
    return failures, warnings


def _failing_rows(result: dict, database: Path, limit: int = 5) -> list[str]:
    """The rows a failed data test returned: for a price seed test, the seed rows at fault."""
    sql = result.get("compiled_code")
    if not sql:
        return []
    import duckdb

    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            cursor = connection.execute(f"select * from ({sql}) limit {limit}")
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
    except duckdb.Error:
        return []
    return [", ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)) for row in rows]
