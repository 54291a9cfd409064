"""Operations cannot hurt the books: a missing warehouse, a concurrent publish, a deleted lock
file, a lone SIGTERM, a full disk, a corrupt warehouse, a published path that is a folder.

Each case leaves what the warehouse holds (its ledger and marts) and the published file as
they were (or, for a publish that failed after its commit, the warehouse committed and the
published file as it was), says so in one line naming the file, and the next run bills
correctly. Every test works on its own
copy of one warehouse billed through 2026-04-01.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import BILLING, REPO, books_state, file_digest, query, run_billing, write_jsonl

from agent_billing import cli, daily_run
from agent_billing.dbt_build import BuildResult

D = Decimal

DAY_1 = [
    {
        "event_id": "e1",
        "tenant_id": "acme",
        "occurred_at": "2026-04-01T02:00:00Z",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 100,
    },
    {
        "event_id": "e2",
        "tenant_id": "globex",
        "occurred_at": "2026-04-01T03:00:00Z",
        "model": "qwen-max",
        "input_tokens": 5000,
        "output_tokens": 500,
    },
]
# 2026-04-02 11:00 in Shanghai: 1,000,000 GPT-4o-mini input tokens x 0.15 USD / 1M = 0.15
# and 100,000 output tokens x 0.60 / 1M = 0.06: one bill of 0.21 USD, two lines.
DAY_2 = [
    {
        "event_id": "n2",
        "tenant_id": "acme",
        "occurred_at": "2026-04-02T03:00:00Z",
        "model": "gpt-4o-mini",
        "input_tokens": 1_000_000,
        "output_tokens": 100_000,
    }
]
DAY_2_BILLS = [("acme", "USD", D("0.21"), D("0.21"), 2)]
DAY_2_BILLS_SQL = (
    "select tenant_id, currency, total_amount, amount_due, line_count "
    "from marts.daily_bills where bill_date = '2026-04-02'"
)


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> Path:
    """A warehouse billed through 2026-04-01 and its published file; 04-02's usage waits."""
    root = tmp_path_factory.mktemp("operated")
    write_jsonl(root / "usage" / "llm" / "date=2026-04-01" / "a.jsonl", DAY_1)
    write_jsonl(root / "usage" / "llm" / "date=2026-04-02" / "a.jsonl", DAY_2)
    db = root / "warehouse" / "billing.duckdb"
    result = run_billing("run", "--date", "2026-04-01", "--usage-root", str(root / "usage"), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def books(billed, tmp_path) -> dict[str, Path]:
    shutil.copytree(billed / "warehouse", tmp_path / "warehouse")
    db = tmp_path / "warehouse" / "billing.duckdb"
    return {
        "db": db,
        "published": db.with_name("billing_published.duckdb"),
        "usage": billed / "usage",
        "backup": billed / "warehouse",
    }


def _digests(books) -> tuple:
    """What the warehouse holds for its users, and the published file byte for byte."""
    return books_state(books["db"]), file_digest(books["published"])


def _run_next_day(books, *extra: str, env=None) -> subprocess.CompletedProcess:
    return run_billing(
        "run", "--date", "2026-04-02", "--usage-root", str(books["usage"]), *extra,
        db=books["db"], env=env,
    )  # fmt: skip


def _next_day_is_billed(books) -> None:
    result = _run_next_day(books)
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(books["db"], DAY_2_BILLS_SQL) == DAY_2_BILLS
    assert query(books["published"], DAY_2_BILLS_SQL) == DAY_2_BILLS


def _last_outcome(books) -> dict:
    outcome = daily_run.last_outcome(books["db"])
    assert outcome is not None
    return outcome


def test_a_missing_or_empty_warehouse_is_refused_while_bills_were_issued(books):
    db, published = books["db"], books["published"]
    published_digest = file_digest(published)

    db.unlink()
    result = _run_next_day(books)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"the warehouse {db} is missing" in result.stderr
    assert f"{published} holds 2 bills through 2026-04-01" in result.stderr
    assert "--new-warehouse" in result.stderr and "nothing was written" in result.stderr
    assert not db.exists() and file_digest(published) == published_digest

    db.write_bytes(b"")  # an empty file in its place
    result = _run_next_day(books)
    assert result.returncode == 2 and f"the warehouse {db} is empty" in result.stderr
    assert db.read_bytes() == b"" and file_digest(published) == published_digest

    # without the published file, the outcome recorded beside the warehouse is the evidence
    published.unlink()
    result = _run_next_day(books)
    assert result.returncode == 2
    assert f"{db}.last_run.json records a run that succeeded" in result.stderr

    # restored from the backup: the next day is billed, nothing of the 1st again
    shutil.copy(books["backup"] / db.name, db)
    shutil.copy(books["backup"] / published.name, published)
    result = _run_next_day(books, "--new-warehouse")
    assert result.returncode == 2
    assert f"--new-warehouse: {db} already holds 2 bills (through 2026-04-01)" in result.stderr
    _next_day_is_billed(books)
    assert query(db, "select count(*) from marts.daily_bills") == [(3,)]


def test_publish_and_a_second_run_wait_for_the_lock_even_if_its_files_are_deleted(books):
    before = _digests(books)
    with daily_run.run_lock(books["db"], wait_seconds=0):
        # a cleanup job removes what looks like lock or temporary files
        for path in books["db"].parent.iterdir():
            if path.suffix in (".lock", ".tmp", ".new"):
                path.unlink()
        publish = run_billing("publish", "--wait", "1", db=books["db"])
        run = _run_next_day(books, "--wait", "1")
    assert publish.returncode == 3, publish.stdout + publish.stderr
    assert "a run holds the lock" in publish.stderr
    assert run.returncode == 3 and "another run holds the lock" in run.stderr
    assert _digests(books) == before


def _processes_working_in(folder: Path) -> list[int]:
    """Processes whose working directory is folder (dbt runs in the warehouse's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_sigterm_to_billing_alone_stops_dbt_and_an_immediate_retry_bills(books):
    before = _digests(books)
    db = books["db"]
    env = dict(
        os.environ,
        BILLING_DB_PATH=str(db),
        BILLING_PUBLISH_PATH=str(books["published"]),
        BILLING_PROJECT_DIR=str(REPO),
    )
    process = subprocess.Popen(
        [BILLING, "run", "--date", "2026-04-02", "--usage-root", str(books["usage"])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _processes_working_in(db.parent) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # dbt is building
    dbt = _processes_working_in(db.parent)
    assert dbt and process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(signal.SIGTERM)  # the billing process alone, not its group
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM" in stderr
    # billing waited for dbt: no process of it is left, not even a zombie
    assert [pid for pid in dbt if (Path("/proc") / str(pid)).exists()] == []
    assert _digests(books) == before
    assert _last_outcome(books)["outcome"] == "stopped"
    result = _run_next_day(books, "--wait", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db, DAY_2_BILLS_SQL) == DAY_2_BILLS


def _no_space(path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def test_a_full_disk_at_each_step_fails_cleanly_and_the_next_run_recovers(
    books, monkeypatch, capsys
):
    db, published = books["db"], books["published"]
    monkeypatch.setenv("BILLING_DB_PATH", str(db))
    monkeypatch.setenv("BILLING_PUBLISH_PATH", str(published))
    args = ["run", "--date", "2026-04-02", "--usage-root", str(books["usage"])]
    before = _digests(books)
    real_replace = os.replace

    def fails(step: str, expected: str) -> None:
        assert cli.main(args) == 1, step
        stderr = capsys.readouterr().err
        assert expected in stderr, (step, stderr)
        outcome = _last_outcome(books)
        assert outcome["outcome"] == "failed" and expected in outcome["failures"][0], step

    # dbt building (as DuckDB reports it): the build commits nothing
    with monkeypatch.context() as patch:
        patch.setattr(
            daily_run,
            "run_dbt_build",
            lambda *a, **k: BuildResult(
                1,
                failures=["usage_records: Runtime Error in model usage_records"],
                output='  IO Error: Could not write file "x.duckdb": No space left on device\n',
            ),
        )
        fails("build", f"no space left on device while building into the warehouse {db}")
    assert _digests(books) == before

    # the rename that publishes: the bills are committed, the published file as it was
    with monkeypatch.context() as patch:

        def publish_fails(source, target):
            if Path(target) == published:
                raise _no_space(target)
            return real_replace(source, target)

        patch.setattr(daily_run.os, "replace", publish_fails)
        fails("publish", f"publishing the marts to {published} failed")
    assert _digests(books)[1] == before[1]
    assert query(db, DAY_2_BILLS_SQL) == DAY_2_BILLS
    assert query(published, DAY_2_BILLS_SQL) == []
    assert not list(published.parent.glob(f".{published.name}.*"))

    # the next run issues nothing new and publishes what was committed
    assert cli.main(args) == 0
    assert "Nothing new to issue" in capsys.readouterr().out
    assert query(published, DAY_2_BILLS_SQL) == DAY_2_BILLS
    assert query(db, "select count(*) from marts.daily_bills") == [(3,)]


def test_a_corrupt_warehouse_is_named_as_the_file_to_restore(books):
    db = books["db"]
    good = db.read_bytes()
    for damaged in (os.urandom(len(good)), good[: len(good) // 2]):
        db.write_bytes(damaged)
        result = _run_next_day(books)
        assert result.returncode == 1, result.stdout + result.stderr
        message = [line for line in result.stderr.splitlines() if "corrupt" in line]
        assert message, result.stderr
        assert f"the warehouse {db} is corrupt or unreadable" in message[0]
        assert "restore it from a backup" in message[0] and ".work" not in message[0]
        assert db.read_bytes() == damaged
        assert _last_outcome(books)["outcome"] == "failed"


def test_a_published_path_that_is_a_folder_is_refused_before_anything(books, tmp_path):
    folder = tmp_path / "published-folder"
    folder.mkdir()
    before = _digests(books)
    result = _run_next_day(books, env={"BILLING_PUBLISH_PATH": str(folder)})
    assert result.returncode == 2
    assert f"BILLING_PUBLISH_PATH {folder} is a folder" in result.stderr
    assert _digests(books) == before and list(folder.iterdir()) == []
