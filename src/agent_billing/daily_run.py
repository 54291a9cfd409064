"""The daily job around `dbt build`: one writer, an all-or-nothing warehouse, a safe publish.

A run works on a copy of the warehouse file: dbt builds into the copy, and only
a fully green build (models and tests) replaces BILLING_DB_PATH with it, by an
atomic rename. A failed or killed run leaves BILLING_DB_PATH as it was; its
leftovers are removed by the next run. Analysts and BI tools read
BILLING_PUBLISH_PATH, a separate file holding the marts, replaced the same way
after each green build: their open connections keep reading the file they
opened.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from agent_billing.dbt_build import BuildResult, run_dbt_build


class LockTimeout(Exception):
    """Another run held the lock for longer than we were willing to wait."""


def publish_path(db: Path) -> Path:
    """The read-only copy for analysts (BILLING_PUBLISH_PATH)."""
    configured = os.environ.get("BILLING_PUBLISH_PATH")
    if configured:
        return Path(configured).expanduser().resolve()
    return db.with_name(f"{db.stem}_published{db.suffix}")


def _work_dir(db: Path) -> Path:
    return db.parent / f".{db.name}.work"


def _last_run_file(db: Path) -> Path:
    return db.parent / f"{db.name}.last_run.json"


@contextmanager
def run_lock(db: Path, wait_seconds: float) -> Iterator[None]:
    """An exclusive lock beside the warehouse file; the kernel drops it if the holder dies."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.parent / f"{db.name}.lock", "w") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_atomically(db: Path, dbt_vars: dict[str, object], quiet: bool) -> BuildResult:
    """dbt build into a copy of the warehouse; the copy replaces it only if all is green."""
    work = _work_dir(db)
    shutil.rmtree(work, ignore_errors=True)  # what a failed or killed run left
    work.mkdir(parents=True)
    work_db = work / db.name  # same file name: DuckDB names the catalog after it
    for suffix in ("", ".wal"):
        source = Path(f"{db}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{work_db}{suffix}")
    try:
        result = run_dbt_build(dbt_vars, quiet=quiet, database=work_db)
        if result.ok:
            _checkpoint(work_db)
            os.replace(work_db, db)
            Path(f"{db}.wal").unlink(missing_ok=True)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so that one file is the whole warehouse."""
    with duckdb.connect(str(database)) as connection:
        connection.execute("checkpoint")


def publish(db: Path) -> Path:
    """Copy the marts of the warehouse into a new file and rename it over the published one."""
    target = publish_path(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.new"
    staging.unlink(missing_ok=True)
    with duckdb.connect(str(staging)) as connection:
        connection.execute(f"attach '{sql_text(db)}' as warehouse (read_only)")
        tables = connection.execute(
            "select table_name from duckdb_tables() "
            "where database_name = 'warehouse' and schema_name = 'marts' order by table_name"
        ).fetchall()
        connection.execute("create schema marts")
        for (table,) in tables:
            connection.execute(
                f'create table marts."{table}" as select * from warehouse.marts."{table}"'
            )
        _copy_comments(connection)
        connection.execute("detach warehouse")
        connection.execute("checkpoint")
    os.replace(staging, target)
    return target


def _copy_comments(connection: duckdb.DuckDBPyConnection) -> None:
    """The tables' and columns' descriptions (dbt docs), for BI tools to show."""
    tables = connection.execute(
        "select table_name, comment from duckdb_tables() "
        "where database_name = 'warehouse' and schema_name = 'marts' and comment is not null"
    ).fetchall()
    for table, comment in tables:
        connection.execute(f'comment on table marts."{table}" is {_sql_string(comment)}')
    columns = connection.execute(
        "select table_name, column_name, comment from duckdb_columns() "
        "where database_name = 'warehouse' and schema_name = 'marts' and comment is not null"
    ).fetchall()
    for table, column, comment in columns:
        connection.execute(
            f'comment on column marts."{table}"."{column}" is {_sql_string(comment)}'
        )


def _sql_string(text: str) -> str:
    return f"'{sql_text(text.strip())}'"


def sql_text(value: str | Path) -> str:
    """A path or text made safe inside a single-quoted SQL literal."""
    return str(value).replace("'", "''")


def record_outcome(db: Path, outcome: dict) -> None:
    outcome = {"finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **outcome}
    target = _last_run_file(db)
    staging = target.with_suffix(".tmp")
    staging.write_text(json.dumps(outcome, indent=2) + "\n")
    os.replace(staging, target)


def last_outcome(db: Path) -> dict | None:
    path = _last_run_file(db)
    return json.loads(path.read_text()) if path.exists() else None
