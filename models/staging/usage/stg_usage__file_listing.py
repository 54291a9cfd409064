"""The run's listing of usage files on DuckDB: every file under usage_root/{llm,asr,tts}/.

stg_usage__files serves it to the models (on Spark, it lists the files with
Spark's own file source). Python, not DuckDB's glob(): glob() takes names as
patterns ([, *, ?, {), skips names with a backslash and does not follow
symlinked folders.

What is listed (one row per file):
- files at any depth under a stream folder; symlinked files and folders are
  followed, each folder once (a link back up the tree is not followed again);
- names starting with "." or "_" are skipped on purpose (hidden files,
  producers' temporary files, _SUCCESS markers), as Spark does;
- file_format: jsonl, jsonl.gz or parquet by extension (any case); any other
  file has file_problem 'unsupported_format';
- file_problem 'unreadable_file': a file that cannot be opened (or a broken
  link), a .parquet file without Parquet's magic bytes at both ends or whose
  footer cannot be read, a .jsonl.gz file that is not a whole gzip stream;
  'invalid_encoding': a .jsonl.gz file whose text is not UTF-8.
Only files that are new or changed since the ledger last saw them are opened
for these checks.
"""

import codecs
import gzip
import os
import stat
import zlib
from datetime import datetime, timedelta

STREAMS = ("llm", "asr", "tts")
EPOCH = datetime(1970, 1, 1)
GLOB_CHARACTERS = "[*?{"


def file_format(name):
    lower = name.lower()
    for extension in ("jsonl.gz", "jsonl", "parquet"):
        if lower.endswith("." + extension):
            return extension
    return None


def glob_literal(path):
    """A path DuckDB's file readers match as itself only (no pattern)."""
    return "".join("[" + c + "]" if c in GLOB_CHARACTERS else c for c in path)


def listed_files(root, stream):
    """(path, stat or None) of every file under root/stream, links followed once."""
    seen_folders = set()
    folders = [os.path.join(root, stream)]
    while folders:
        folder = folders.pop()
        try:
            info = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in seen_folders:
            continue
        seen_folders.add((info.st_dev, info.st_ino))
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            try:
                info = os.stat(entry.path)
            except OSError:
                yield entry.path, None
                continue
            if stat.S_ISDIR(info.st_mode):
                folders.append(entry.path)
            elif stat.S_ISREG(info.st_mode):
                yield entry.path, info


def gzip_problem(path):
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except (OSError, EOFError, zlib.error):
        return "unreadable_file"
    except UnicodeDecodeError:
        return "invalid_encoding"
    return None


def file_problem(session, path, extension, size):
    if extension is None:
        return "unsupported_format"
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            if extension == "parquet":
                handle.seek(max(size - 4, 0))
                tail = handle.read(4)
    except OSError:
        return "unreadable_file"
    if extension == "parquet":
        if size < 12 or head != b"PAR1" or tail != b"PAR1":
            return "unreadable_file"
        try:
            session.execute(
                "select count(*) from parquet_metadata(?)", [glob_literal(path)]
            ).fetchall()
        except Exception:  # noqa: BLE001 - any failure to read the footer
            return "unreadable_file"
    if extension == "jsonl.gz":
        if head[:2] != b"\x1f\x8b":
            return "unreadable_file"
        return gzip_problem(path)
    return None


def files_already_read(session, database):
    """{(stream, source_file): (size, modified)} of ledger.usage_files, if any."""
    found = session.execute(
        "select count(*) from information_schema.tables where table_catalog = ?"
        " and table_schema = 'ledger' and table_name = 'usage_files'",
        [database],
    ).fetchall()[0][0]
    if not found:
        return {}
    rows = session.execute(
        f'select stream, source_file, file_size, last_modified from "{database}".ledger.usage_files'
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def model(dbt, session):
    dbt.config(materialized="table")
    root = dbt.config.get("usage_root").rstrip("/") or "/"
    known = files_already_read(session, dbt.this.database)
    columns = {
        name: []
        for name in (
            "stream",
            "source_file",
            "file_path",
            "file_format",
            "file_size",
            "last_modified",
            "file_problem",
        )
    }
    for stream in STREAMS:
        for path, info in listed_files(root, stream):
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            extension = file_format(path)
            size = info.st_size if info else 0
            # UTC, to the microsecond, without a float on the way
            modified = EPOCH + timedelta(microseconds=(info.st_mtime_ns if info else 0) // 1000)
            if info is None:
                problem = "unreadable_file"
            elif known.get((stream, relative)) == (size, modified):
                problem = None  # unchanged since it was read: not opened again
            else:
                problem = file_problem(session, path, extension, size)
            for name, value in (
                ("stream", stream),
                ("source_file", relative),
                ("file_path", path),
                ("file_format", extension),
                ("file_size", size),
                ("last_modified", modified),
                ("file_problem", problem),
            ):
                columns[name].append(value)
    return session.sql(
        """
        select
            cast(unnest($stream) as varchar) as stream,
            cast(unnest($source_file) as varchar) as source_file,
            cast(unnest($file_path) as varchar) as file_path,
            cast(unnest($file_format) as varchar) as file_format,
            cast(unnest($file_size) as bigint) as file_size,
            cast(unnest($last_modified) as timestamp) as last_modified,
            cast(unnest($file_problem) as varchar) as file_problem
        """,
        params=columns,
    )
