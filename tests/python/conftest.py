"""Helpers shared by the end-to-end tests: write usage files, run `billing`, read the marts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
BILLING = str(Path(sys.executable).parent / "billing")


def write_jsonl(path: Path, records: list) -> None:
    """One line per record: dicts become JSON, strings are written as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")


def write_parquet(path: Path, select_sql: str) -> None:
    """A Parquet file holding the rows of a DuckDB query."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(f"copy ({select_sql}) to '{path}' (format parquet)")


def run_billing(*args: str, db: Path, project: Path = REPO) -> subprocess.CompletedProcess:
    """`billing ARGS` with its own warehouse file (and, if given, a copy of the project)."""
    env = dict(os.environ, BILLING_DB_PATH=str(db), BILLING_PROJECT_DIR=str(project))
    return subprocess.run(
        [BILLING, *args], env=env, capture_output=True, text=True, check=False, timeout=600
    )


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def column_types(db: Path, table: str) -> dict[str, str]:
    rows = query(
        db,
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{table}'",
    )
    return dict(rows)


def table_exists(db: Path, schema: str, table: str) -> bool:
    if not db.exists():
        return False
    rows = query(
        db,
        "select count(*) from information_schema.tables "
        f"where table_schema = '{schema}' and table_name = '{table}'",
    )
    return rows[0][0] > 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "billing.duckdb"


def project_copy(tmp_path: Path) -> Path:
    """A copy of the dbt project (to change its seeds without touching the repository)."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, copy / name)
    for folder in ("models", "macros", "seeds", "tests/singular"):
        shutil.copytree(REPO / folder, copy / folder)
    return copy
