"""Runs `dbt build` for the billing project and reads what it reported."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from agent_billing.project import db_path, dbt_executable, project_dir


@dataclass
class BuildResult:
    """What one `dbt build` did: its exit code and its failing or warning nodes."""

    returncode: int
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_dbt_build(dbt_vars: dict[str, object], quiet: bool = True) -> BuildResult:
    """`dbt build` with the given vars into BILLING_DB_PATH; returns what happened."""
    root = project_dir()
    database = db_path()
    database.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, BILLING_DB_PATH=str(database))
    command = [dbt_executable()]
    if quiet:
        command.append("--quiet")
    command += [
        "build",
        "--project-dir",
        str(root),
        "--profiles-dir",
        str(root),
        "--vars",
        json.dumps(dbt_vars),
    ]
    completed = subprocess.run(command, cwd=root, env=env, check=False)
    failures, warnings = _read_run_results(root / "target" / "run_results.json")
    return BuildResult(completed.returncode, failures, warnings)


def _read_run_results(path: Path) -> tuple[list[str], list[str]]:
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
                line += "".join(f"\n    {row}" for row in _failing_rows(result))
            failures.append(line)
        elif status == "warn":
            warnings.append(line)
    return failures, warnings


def _failing_rows(result: dict, limit: int = 5) -> list[str]:
    """The rows a failed data test returned: for a price seed test, the seed rows at fault."""
    sql = result.get("compiled_code")
    if not sql:
        return []
    import duckdb

    try:
        with duckdb.connect(str(db_path()), read_only=True) as connection:
            cursor = connection.execute(f"select * from ({sql}) limit {limit}")
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
    except duckdb.Error:
        return []
    return [", ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True)) for row in rows]
