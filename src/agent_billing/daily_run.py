"""The daily job around `dbt build`: one writer, a safe publish, clear failures.

dbt builds on BILLING_DB_PATH itself: the run's rows go to the schema audit and
are committed into the ledger in one transaction by the build's on-run-end hook,
only when every model and test passed (macros/ledger), so a plain `dbt build` is
as safe as this command. A failed or killed run leaves the ledger as it was.
Analysts and BI tools read BILLING_PUBLISH_PATH, a separate file holding the
marts, written anew after each green build and renamed over the last one: their
open connections keep reading the file they opened. Every rename that publishes
is made durable (the file, then its folder, are synced), and every failure of the
run's own work on a file is one RunError naming the file and the cause.
"""

from __future__ import annotations

import datetime as dt
import errno
import glob
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from agent_billing.dbt_build import BuildResult, run_dbt_build

# The published file's storage format: DuckDB 1.4 and later (2.x included) open it.
PUBLISHED_STORAGE_VERSION = "v1.4.0"


class LockTimeout(Exception):
    """Another run held the lock for longer than we were willing to wait."""


class RunError(Exception):
    """The run cannot go on: one line naming the file and the cause."""


class Refused(RunError):
    """A setting or the state of the files says not to start: nothing is written."""


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


def _file_error(action: str, path: Path | str, error: OSError | duckdb.Error) -> RunError:
    if isinstance(error, OSError):
        cause = "no space left on device" if error.errno == errno.ENOSPC else error.strerror
        cause = cause or str(error)
    else:
        cause = str(error).strip().splitlines()[0]
    return RunError(f"{action} {path} failed: {cause}")


@contextmanager
def run_lock(db: Path, wait_seconds: float) -> Iterator[None]:
    """An exclusive lock on the warehouse's folder, taken by every command that writes.

    The folder itself is locked, not a file in it, so that a cleanup job deleting files
    cannot take the lock from under its holder. The kernel drops it if the holder dies.
    """
    import fcntl  # POSIX only; only the commands that write need it

    db.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(db.parent, os.O_RDONLY)
    try:
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
    finally:
        os.close(handle)


def check_paths(db: Path) -> None:
    """Refuses a warehouse or published path that is a folder, before any work."""
    for name, path in (("BILLING_DB_PATH", db), ("BILLING_PUBLISH_PATH", publish_path(db))):
        if path.is_dir():
            raise Refused(f"{name} {path} is a folder, not a DuckDB file: point it at a file")


def check_readable(db: Path) -> None:
    """The warehouse opens and its ledger reads; else a RunError naming the file to restore."""
    if not db.is_file() or db.stat().st_size == 0:
        return  # missing or empty: check_state_is_present says whether that is expected
    try:
        with duckdb.connect(str(db), read_only=True) as connection:
            tables = connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'ledger'"
            ).fetchall()
            for (table,) in tables:
                connection.execute(f'select count(*) from ledger."{table}"').fetchone()
    except duckdb.Error as error:
        cause = str(error).strip().splitlines()[0]
        if "conflicting lock" in cause.lower():
            raise RunError(f"the warehouse {db} is open in another process: {cause}") from None
        raise RunError(
            f"the warehouse {db} is corrupt or unreadable ({cause}): restore it from a backup "
            "(docs/operations.md); nothing was written"
        ) from None


def issued_bills(path: Path) -> tuple[int, str | None]:
    """How many bills a warehouse or published file holds, and the last bill date."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0, None
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            count, last = connection.execute(
                "select count(*), cast(max(bill_date) as varchar) from marts.daily_bills"
            ).fetchone()
    except duckdb.Error:
        return 0, None
    return count, last


def check_state_is_present(db: Path, new_warehouse: bool) -> None:
    """Refuses to bill into a missing or empty warehouse when bills were issued before.

    The evidence: the published file holds bills, or the outcome recorded beside the
    warehouse is a run that succeeded. A new warehouse is started only on purpose
    (new_warehouse), and never over one that holds bills.
    """
    bills, last = issued_bills(db)
    if new_warehouse:
        if bills:
            raise Refused(
                f"--new-warehouse: {db} already holds {bills} bills (through {last}); "
                "nothing was written"
            )
        return
    if bills or _has_billing_runs(db):
        return
    evidence = []
    published = publish_path(db)
    published_bills, published_last = issued_bills(published)
    if published_bills:
        evidence.append(f"{published} holds {published_bills} bills through {published_last}")
    outcome = last_outcome(db)
    if outcome and outcome.get("outcome") == "succeeded":
        evidence.append(
            f"{_last_run_file(db)} records a run that succeeded at {outcome.get('finished_at')}"
        )
    if evidence:
        state = "missing" if not db.exists() else "empty"
        raise Refused(
            f"the warehouse {db} is {state}, but bills were issued before ("
            + "; ".join(evidence)
            + "). Restore the warehouse from a backup (docs/operations.md), or start a new "
            "one on purpose with --new-warehouse; nothing was written"
        )


def _has_billing_runs(db: Path) -> bool:
    if not db.is_file() or db.stat().st_size == 0:
        return False
    try:
        with duckdb.connect(str(db), read_only=True) as connection:
            found = connection.execute(
                "select count(*) from duckdb_tables() "
                "where schema_name = 'ledger' and table_name = 'billing_runs'"
            ).fetchone()[0]
    except duckdb.Error:
        return False
    return found > 0


def build_atomically(db: Path, dbt_vars: dict[str, object], quiet: bool) -> BuildResult:
    """dbt build on the warehouse itself: its ledger commits only if every node is green.

    The build writes the run's rows into the schema audit; the on-run-end hook
    commits them into the ledger in one transaction when every model and test
    passed (macros/ledger). A failed or killed build leaves the ledger, and so the
    marts (views of it), as they were; the next build rebuilds the audit tables.
    """
    # a copy of the warehouse left by a run of an earlier version of this command
    shutil.rmtree(_work_dir(db), ignore_errors=True)
    result = run_dbt_build(dbt_vars, quiet=quiet, database=db)
    if not result.ok:
        result.explanation = _explain_failure(result.output, db)
    else:
        _checkpoint(db)
    return result


def _explain_failure(output: str, db: Path) -> str | None:
    """A failed build's cause when it is about files: a full disk, or a corrupt warehouse."""
    for line in output.splitlines():
        text = line.strip()
        lowered = text.lower()
        if "no space left on device" in lowered:
            return (
                f"no space left on device while building into the warehouse {db}: free "
                "space there and run again; nothing was committed"
            )
        # dbt opens the warehouse by its name, from its folder (see run_dbt_build)
        names_the_warehouse = str(db) in text or f'"{db.name}"' in text
        if names_the_warehouse and (
            "could not read" in lowered or "not a valid duckdb database" in lowered
        ):
            cause = text.replace(f'"{db.name}"', f'"{db}"')
            return (
                f"the warehouse {db} is corrupt or unreadable ({cause}): restore it from a "
                "backup (docs/operations.md); nothing was committed"
            )
    return None


def _checkpoint(database: Path) -> None:
    """Fold the write-ahead log into the file, so that one file is the whole warehouse."""
    try:
        with duckdb.connect(str(database)) as connection:
            connection.execute("checkpoint")
    except duckdb.Error as error:
        raise _file_error("writing the built warehouse", database, error) from None


def _sync(path: Path) -> None:
    """Makes a file's content, or a folder's entries (a rename), durable."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def publish(db: Path) -> Path:
    """Copy the marts of the warehouse into a new file and rename it over the published one.

    Called under run_lock only (billing run, billing publish).
    """
    target = publish_path(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    # under the lock no other publish is under way: staging files left are a killed one's
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.new*"):
        stale.unlink(missing_ok=True)
    # a name of its own, never another process's staging file
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
    os.close(handle)
    staging = Path(name)
    staging.unlink()  # DuckDB creates the file itself
    try:
        with duckdb.connect() as connection:
            # a storage version every DuckDB client since 1.4 opens (BI drivers pin duckdb<2)
            connection.execute(
                f"attach '{sql_text(staging)}' as published "
                f"(storage_version '{PUBLISHED_STORAGE_VERSION}')"
            )
            connection.execute("use published")
            connection.execute(f"attach '{sql_text(db)}' as warehouse (read_only)")
            # the marts are views of the ledger; the published file holds their rows
            tables = connection.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'warehouse' and schema_name = 'marts' "
                "union all select view_name from duckdb_views() "
                "where database_name = 'warehouse' and schema_name = 'marts' "
                "order by 1"
            ).fetchall()
            connection.execute("create schema marts")
            for (table,) in tables:
                connection.execute(
                    f'create table marts."{table}" as select * from warehouse.marts."{table}"'
                )
            _copy_comments(connection)
            connection.execute("detach warehouse")
            connection.execute("checkpoint published")
            connection.execute("use memory")
            connection.execute("detach published")
        _sync(staging)
        os.replace(staging, target)
        _sync(target.parent)
    except (OSError, duckdb.Error) as error:
        raise _file_error("publishing the marts to", target, error) from None
    finally:
        staging.unlink(missing_ok=True)
        Path(f"{staging}.wal").unlink(missing_ok=True)
    return target


def _copy_comments(connection: duckdb.DuckDBPyConnection) -> None:
    """The tables' and columns' descriptions (dbt docs), for BI tools to show."""
    tables = connection.execute(
        "select table_name, comment from duckdb_tables() "
        "where database_name = 'warehouse' and schema_name = 'marts' and comment is not null "
        "union all select view_name, comment from duckdb_views() "
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


def record_outcome(db: Path, outcome: dict) -> str | None:
    """Writes the run's outcome for `billing status`; why not, if it could not be written."""
    outcome = {"finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **outcome}
    target = _last_run_file(db)
    staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(staging, "w") as handle:
            handle.write(json.dumps(outcome, indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, target)
        _sync(target.parent)
    except OSError as error:
        staging.unlink(missing_ok=True)
        return str(_file_error("recording the outcome in", target, error))
    return None


def last_outcome(db: Path) -> dict | None:
    path = _last_run_file(db)
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
