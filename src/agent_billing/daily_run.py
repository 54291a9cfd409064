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
from dataclasses import dataclass
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


# The marts with one row per raw record (per usage file), the large ones: a publish that
# starts from the last published file copies a file's rows again only when the ledger
# counted the file again since (ledger.usage_status_counts.billing_run_id), so that its
# time follows the run's files, not the history. Every other mart is small and written whole.
RECORD_MARTS = ("rejected_usage", "unpriced_usage")
# In the published file: which count of each usage file its record marts show.
PUBLISH_STATE = "publish_state"
# The reasons' descriptions the record marts show (dbt's staging model of the seed).
REASONS_RELATION = "stg_reference__usage_reasons"


@dataclass(frozen=True)
class Publication:
    """Where the marts were published, and how: whole, or from the last published file."""

    path: Path
    # None: written whole; else how many usage files' records were copied again
    files_updated: int | None = None
    # record marts copied whole although the rest started from the last published file
    # (their warehouse view, columns or reasons' descriptions changed)
    record_marts_whole: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.files_updated is None:
            return f"{self.path} (written whole)"
        files = "file" if self.files_updated == 1 else "files"
        how = f"the records of {self.files_updated} usage {files} copied again"
        if self.record_marts_whole:
            how += f"; {', '.join(self.record_marts_whole)} copied whole"
        return f"{self.path} (from the last published file; {how})"


def publish(db: Path) -> Publication:
    """Write the marts of the warehouse into a new file and rename it over the published one.

    The new file starts as a copy of the published one when that one says which file
    counts it shows (its schema publish_state); else, or if it cannot be read, it is
    written whole. Called under run_lock only (billing run, billing publish).
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
        publication = None
        if _has_publish_state(target):
            shutil.copyfile(target, staging)
            try:
                publication = _write_marts(staging, db, target, incremental=True)
            except duckdb.Error:
                # the last published file is no base to build on: written whole below
                staging.unlink(missing_ok=True)
                Path(f"{staging}.wal").unlink(missing_ok=True)
        if publication is None:
            publication = _write_marts(staging, db, target, incremental=False)
        _sync(staging)
        os.replace(staging, target)
        _sync(target.parent)
    except (OSError, duckdb.Error) as error:
        raise _file_error("publishing the marts to", target, error) from None
    finally:
        staging.unlink(missing_ok=True)
        Path(f"{staging}.wal").unlink(missing_ok=True)
    return publication


def _has_publish_state(published: Path) -> bool:
    """The published file says which file counts its record marts show."""
    if not published.is_file():
        return False
    try:
        with duckdb.connect(str(published), read_only=True) as connection:
            return (
                connection.execute(
                    "select count(*) from duckdb_tables() "
                    f"where schema_name = '{PUBLISH_STATE}' and table_name in ('files', 'marts')"
                ).fetchone()[0]
                == 2
            )
    except duckdb.Error:
        return False


def _write_marts(staging: Path, db: Path, target: Path, incremental: bool) -> Publication:
    """The marts of db into staging: a new file, or (incremental) a copy of the published
    one, whose record marts then get the rows of the usage files counted again since."""
    with duckdb.connect() as connection:
        if incremental:
            connection.execute(f"attach '{sql_text(staging)}' as published")
        else:
            # a storage version every DuckDB client since 1.4 opens (BI drivers pin duckdb<2)
            connection.execute(
                f"attach '{sql_text(staging)}' as published "
                f"(storage_version '{PUBLISHED_STORAGE_VERSION}')"
            )
        connection.execute("use published")
        connection.execute(f"attach '{sql_text(db)}' as warehouse (read_only)")
        # the marts are views of the ledger; the published file holds their rows
        tables = [
            table
            for (table,) in connection.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'warehouse' and schema_name = 'marts' "
                "union all select view_name from duckdb_views() "
                "where database_name = 'warehouse' and schema_name = 'marts' "
                "order by 1"
            ).fetchall()
        ]
        connection.execute("create schema if not exists marts")
        connection.execute(f"create schema if not exists {PUBLISH_STATE}")
        for (table,) in connection.execute(
            "select table_name from duckdb_tables() "
            "where database_name = 'published' and schema_name = 'marts'"
        ).fetchall():
            if table not in tables:  # a mart the project no longer has
                connection.execute(f'drop table marts."{table}"')
        changed = _changed_files(connection) if incremental else None
        whole = []
        for table in tables:
            if (
                changed is not None
                and table in RECORD_MARTS
                and _same_definition(connection, table)
                and _same_columns(connection, table)
                and _same_reasons(connection, table)
            ):
                _update_record_mart(connection, table, changed)
            else:
                if changed is not None and table in RECORD_MARTS:
                    whole.append(table)
                connection.execute(
                    f'create or replace table marts."{table}" as '
                    f'select * from warehouse.marts."{table}"'
                )
        connection.execute(
            f"create or replace table {PUBLISH_STATE}.files as "
            "select stream, source_file, billing_run_id "
            "from warehouse.ledger.usage_status_counts"
        )
        connection.execute(
            f"comment on table {PUBLISH_STATE}.files is 'How this file was published, "
            "for the next publish (not for analysis): the count of each usage file "
            "(ledger.usage_status_counts.billing_run_id) that its marts unpriced_usage and "
            "rejected_usage show.'"
        )
        connection.execute(
            f"create or replace table {PUBLISH_STATE}.marts as "
            "select view_name as mart, sql as definition from duckdb_views() "
            "where database_name = 'warehouse' and schema_name = 'marts' "
            f"and view_name in {RECORD_MARTS}"
        )
        connection.execute(
            f"comment on table {PUBLISH_STATE}.marts is 'How this file was published, "
            "for the next publish (not for analysis): the warehouse view each record mart "
            "was copied from; a changed view is copied whole.'"
        )
        _copy_comments(connection)
        connection.execute("detach warehouse")
        connection.execute("checkpoint published")
        connection.execute("use memory")
        connection.execute("detach published")
    if changed is None:
        return Publication(target)
    return Publication(target, len(changed), tuple(whole))


def _changed_files(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The usage files counted again since the last publish, new, or gone since."""
    rows = connection.execute(
        f"""
        select source_file from warehouse.ledger.usage_status_counts as now
        where not exists (
            select 1 from {PUBLISH_STATE}.files as shown
            where shown.stream = now.stream and shown.source_file = now.source_file
            and shown.billing_run_id is not distinct from now.billing_run_id
        )
        union
        select source_file from {PUBLISH_STATE}.files as shown
        where not exists (
            select 1 from warehouse.ledger.usage_status_counts as now
            where now.stream = shown.stream and now.source_file = shown.source_file
        )
        order by 1
        """
    ).fetchall()
    return [file for (file,) in rows]


def _same_definition(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """The warehouse view of the mart is the one the published rows were copied from."""
    return bool(
        connection.execute(
            f"select count(*) from duckdb_views() as now join {PUBLISH_STATE}.marts as shown "
            "on shown.mart = now.view_name and shown.definition = now.sql "
            "where now.database_name = 'warehouse' and now.schema_name = 'marts' "
            "and now.view_name = ?",
            [table],
        ).fetchone()[0]
    )


def _same_columns(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """The published table has the mart's columns, in its order, of its types."""

    def columns(database: str) -> list[tuple]:
        return connection.execute(
            "select column_name, data_type from duckdb_columns() "
            "where database_name = ? and schema_name = 'marts' and table_name = ? "
            "order by column_index",
            [database, table],
        ).fetchall()

    published = columns("published")
    return bool(published) and published == columns("warehouse")


def _same_reasons(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    """The reasons' descriptions the published rows show are those of the seed now."""
    found = connection.execute(
        "select schema_name from duckdb_tables() where database_name = 'warehouse' "
        "and table_name = ? union all select schema_name from duckdb_views() "
        "where database_name = 'warehouse' and view_name = ?",
        [REASONS_RELATION, REASONS_RELATION],
    ).fetchall()
    if len(found) != 1:
        return False
    (schema,) = found[0]
    return not connection.execute(
        f'select distinct reason, reason_description from marts."{table}" '
        f'except select reason, reason_description from warehouse."{schema}".'
        f'"{REASONS_RELATION}"'
    ).fetchall()


def _update_record_mart(
    connection: duckdb.DuckDBPyConnection, table: str, changed: list[str]
) -> None:
    """The rows of the changed files replaced by the mart's rows of them now."""
    if not changed:
        return
    # source_file names the file alone (it starts with the stream's folder). A list
    # parameter is applied while the ledger is scanned, so that only the rows of these
    # files are read whole; a literal IN list is only used to skip row groups, after
    # which every unpriced record of the late window would be read whole and dropped.
    connection.execute(f'delete from marts."{table}" where source_file = any(?)', [changed])
    connection.execute(
        f'insert into marts."{table}" '
        f'select * from warehouse.marts."{table}" where source_file = any(?)',
        [changed],
    )


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
