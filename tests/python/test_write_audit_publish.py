"""Write, audit, publish inside dbt: a plain `dbt build` commits the run's ledger rows only
when every node passed, in one transaction, and a process killed before, during or after
that commit leaves the books as before it or as fully after it, never between.

Usage (worked out by hand with the catalog's GPT-4o-mini prices, 0.15 USD per 1M input
tokens and 0.60 USD per 1M output tokens):
- 2026-04-01, acme: 1,000,000 input + 100,000 output = 0.15 + 0.06 = 0.21 USD, two lines;
- 2026-04-02, globex: 2,000,000 input = 0.30 USD, one line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    BILLING,
    REPO,
    books_state,
    file_digest,
    llm_event,
    project_copy,
    query,
    run_dbt,
    write_jsonl,
)

D = Decimal
DBT = str(Path(sys.executable).parent / "dbt")
DAY_1 = [llm_event("e1", "acme", "2026-04-01T03:00:00Z", "gpt-4o-mini", 1_000_000, 100_000)]
DAY_2 = [llm_event("n2", "globex", "2026-04-02T03:00:00Z", "gpt-4o-mini", 2_000_000, 0)]
BILLS_SQL = (
    "select cast(bill_date as varchar), tenant_id, currency, total_amount, amount_due, "
    "line_count from marts.daily_bills order by all"
)
BILL_1 = ("2026-04-01", "acme", "USD", D("0.21"), D("0.21"), 2)
BILL_2 = ("2026-04-02", "globex", "USD", D("0.30"), D("0.30"), 1)


def _build(day: str, root: Path, db: Path, project: Path = REPO, **kwargs):
    dbt_vars = json.dumps({"billing_date": day, "usage_root": str(root)})
    return run_dbt("build", "--vars", dbt_vars, db=db, project=project, **kwargs)


@pytest.fixture(scope="module")
def day_one(tmp_path_factory) -> dict[str, Path]:
    """A warehouse billed through 2026-04-01 by a plain dbt build, and published; 04-02's
    usage waits."""
    base = tmp_path_factory.mktemp("wap")
    write_jsonl(base / "usage" / "llm" / "date=2026-04-01" / "a.jsonl", DAY_1)
    write_jsonl(base / "usage" / "llm" / "date=2026-04-02" / "a.jsonl", DAY_2)
    db = base / "warehouse" / "billing.duckdb"
    db.parent.mkdir()
    built = _build("2026-04-01", base / "usage", db)
    assert built.returncode == 0, built.stdout + built.stderr
    env = dict(os.environ, BILLING_DB_PATH=str(db), BILLING_PROJECT_DIR=str(REPO))
    published = subprocess.run([BILLING, "publish"], env=env, capture_output=True, text=True)
    assert published.returncode == 0, published.stdout + published.stderr
    assert query(db, BILLS_SQL) == [BILL_1]
    return {"usage": base / "usage", "warehouse": db.parent}


def _copy(day_one, tmp_path) -> Path:
    shutil.copytree(day_one["warehouse"], tmp_path / "warehouse")
    return tmp_path / "warehouse" / "billing.duckdb"


def _ledger_counts(db: Path) -> list[tuple]:
    return query(
        db,
        "select 'records', status, count(*) from ledger.usage_records group by status "
        "union all select 'lines', null, count(*) from ledger.issued_bill_lines "
        "union all select 'runs', null, count(*) from ledger.billing_runs order by all",
    )


def test_a_failing_test_in_a_plain_dbt_build_commits_nothing(day_one, tmp_path):
    project = project_copy(tmp_path)
    db = _copy(day_one, tmp_path)
    env = dict(os.environ, BILLING_DB_PATH=str(db), BILLING_PROJECT_DIR=str(project))
    publish = [BILLING, "publish", "--wait", "0"]
    published = db.with_name("billing_published.duckdb")
    assert query(published, BILLS_SQL) == [BILL_1]
    before = (books_state(db), file_digest(published), _ledger_counts(db))

    injected = project / "tests" / "singular" / "assert_injected_failure.sql"
    injected.write_text("-- fails on purpose: the build must commit nothing\nselect 1 as row\n")
    failed = _build("2026-04-02", day_one["usage"], db, project)
    assert failed.returncode != 0
    assert "Nothing committed to the ledger" in failed.stdout
    # the run wrote its rows into the schema audit, and they were tested there
    assert query(db, "select count(*) from audit.issued_bills") == [(1,)]
    refused = subprocess.run(publish, env=env, capture_output=True, text=True)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert (books_state(db), file_digest(published), _ledger_counts(db)) == before
    assert query(db, BILLS_SQL) == [BILL_1]
    assert query(published, BILLS_SQL) == [BILL_1]

    injected.unlink()
    green = _build("2026-04-02", day_one["usage"], db, project)
    assert green.returncode == 0, green.stdout + green.stderr
    assert "Committing the run to the ledger" in green.stdout
    assert query(db, BILLS_SQL) == [BILL_1, BILL_2]
    assert query(
        db,
        "select raw_events, billed_events, pending_events from marts.usage_reconciliation "
        "where stream = 'llm'",
    ) == [(2, 2, 0)]
    assert subprocess.run(publish, env=env, capture_output=True).returncode == 0
    assert query(published, BILLS_SQL) == [BILL_1, BILL_2]


def _books(db: Path) -> dict[str, list[tuple]]:
    """The books without the ids and times of the runs: comparable across runs."""
    return {
        "bills": query(db, BILLS_SQL),
        "lines": query(
            db,
            "select bill_date, tenant_id, billing_item, usage_date, quantity, amount, "
            "amount_due from ledger.issued_bill_lines order by all",
        ),
        "records": query(
            db,
            "select source_file, source_line, status, reason, bill_date "
            "from ledger.usage_records order by all",
        ),
        "files": query(db, "select source_file, raw_records from ledger.usage_files order by all"),
        "counts": query(db, "select * exclude (billing_run_id) from ledger.usage_status_counts"),
        "runs": query(db, "select closed_through, bills_issued from ledger.billing_runs"),
        "focus": query(db, 'select "BilledCost" from marts.focus_charges order by all'),
        "agents": query(db, "select amount from marts.agent_daily_costs order by all"),
    }


def _killed_at(log_line: str, root: Path, db: Path, logs: Path) -> bool:
    """A plain dbt build for 2026-04-02, SIGKILLed when its log shows log_line; whether it
    was (False: it ended first)."""
    shutil.rmtree(logs, ignore_errors=True)
    dbt_vars = json.dumps({"billing_date": "2026-04-02", "usage_root": str(root)})
    process = subprocess.Popen(
        [DBT, "build", "--vars", dbt_vars],
        cwd=REPO,
        env=dict(os.environ, BILLING_DB_PATH=str(db), DBT_LOG_PATH=str(logs)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    log = logs / "dbt.log"
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if log.exists() and log_line in log.read_text(errors="replace"):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    process.kill()
    process.wait()
    return False


def test_a_build_killed_before_during_or_after_its_commit_leaves_before_or_after(day_one, tmp_path):
    db = _copy(day_one, tmp_path)
    logs = tmp_path / "logs"
    before = _books(db)
    assert before["bills"] == [BILL_1]

    # before: the last ledger model is built, its tests and the commit have not run
    assert _killed_at("OK created sql ledger model audit.billing_runs", day_one["usage"], db, logs)
    killed_before = _books(db)
    # during: the on-run-end hook is committing (the commit runs while the hook compiles)
    assert _killed_at("Committing the run to the ledger", day_one["usage"], db, logs)
    killed_during = _books(db)
    # after: the commit is done, dbt has not finished
    assert _killed_at("OK hook: agent_billing.on-run-end.0", day_one["usage"], db, logs)
    killed_after = _books(db)

    recovered = _build("2026-04-02", day_one["usage"], db)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    after = _books(db)
    assert after["bills"] == [BILL_1, BILL_2]
    assert after["runs"][-1] == (dt.date(2026, 4, 2), 1)
    assert after["records"][-1][2:] == ("billed", None, dt.date(2026, 4, 2))

    assert killed_before == before
    assert killed_during in (before, after)
    assert killed_after == after
