"""The daily run over several days: issued bills never change, late usage lands on the
next bill, missed days are caught up, reruns change nothing, one writer at a time, and
readers of the published file never see a half-built state.

Expected bills come from reference_billing.py (Python decimals), never from the output.
"""

from __future__ import annotations

import hashlib
import re
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import (
    bill_lines,
    llm_event,
    project_copy,
    query,
    run_billing,
    run_dbt,
    write_jsonl,
)
from reference_billing import expected_lines_by_bill

from agent_billing import daily_run

E1 = llm_event("e1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1000, 100)
E2 = llm_event("e2", "acme", "2026-04-01T03:00:00Z", "qwen-max", 5000, 500)
S1 = {
    "event_id": "s1",
    "tenant_id": "acme",
    "occurred_at": "2026-04-01T04:00:00Z",
    "vendor": "aispeech",
    "audio_seconds": "10.5",
}
P1 = llm_event("p1", "acme", "2026-04-02T02:00:00+08:00", "gpt-4o", 2000, 0)  # after the 1st
L1 = llm_event("l1", "acme", "2026-04-01T05:00:00Z", "gpt-4o", 3000, 300)  # late for the 1st
N2 = llm_event("n2", "acme", "2026-04-02T05:00:00Z", "gpt-4o-mini", 1000, 1000)
D3 = llm_event("d3", "acme", "2026-04-03T05:00:00Z", "claude-3-5-haiku", 100, 10)
D4 = llm_event("d4", "globex", "2026-04-04T05:00:00Z", "deepseek-chat", 100, 10)
M1 = llm_event("m1", "acme", "2026-04-01T06:00:00Z", "mistral-large", 10, 10)  # no price

# (stream, bill date, event): every valid event once, on the bill it belongs to
EXPECTED = [
    ("llm", "2026-04-01", E1),
    ("llm", "2026-04-01", E2),
    ("asr", "2026-04-01", S1),
    ("llm", "2026-04-02", P1),
    ("llm", "2026-04-02", N2),
    ("llm", "2026-04-02", L1),
    ("llm", "2026-04-03", D3),
    ("llm", "2026-04-04", D4),
]
BILLS_SQL = "select * from marts.daily_bills order by all"
RECONCILIATION_SQL = "select * from marts.usage_reconciliation order by stream"
LINES_SQL = "select * from marts.bill_line_items order by all"
# issued with the lines, append-only like them
DERIVED_SQLS = (
    "select * from marts.focus_charges order by all",
    "select * from marts.agent_daily_costs order by all",
)


def _derived(db):
    return tuple(query(db, sql) for sql in DERIVED_SQLS)


def _expected_for(bill_dates: set[str]):
    return expected_lines_by_bill([e for e in EXPECTED if e[1] in bill_dates])


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Runs day after day over deliveries that arrive late, and records what each saw."""
    root = tmp_path_factory.mktemp("usage")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    seen = {}

    def run(date, *extra):
        return _ok(run_billing("run", "--date", date, "--usage-root", str(root), *extra, db=db))

    write_jsonl(root / "llm" / "date=2026-04-01" / "a.jsonl", [E1, E2, P1, M1])
    write_jsonl(root / "asr" / "date=2026-04-01" / "a.jsonl", [S1])
    seen["day1"] = run("2026-04-01")
    seen["day1_bills"] = (query(db, BILLS_SQL), query(db, LINES_SQL))
    seen["day1_reconciliation"] = query(db, RECONCILIATION_SQL)
    seen["day1_derived"] = _derived(db)

    seen["rerun"] = run("2026-04-01")
    seen["rerun_bills"] = (query(db, BILLS_SQL), query(db, LINES_SQL))
    seen["rerun_reconciliation"] = query(db, RECONCILIATION_SQL)
    seen["rerun_derived"] = _derived(db)

    conflicting_e2 = dict(E2, input_tokens=5001)
    write_jsonl(root / "llm" / "date=2026-04-02" / "b.jsonl", [E1, conflicting_e2, L1, N2, M1])
    seen["day2"] = run("2026-04-02")

    # no run for the 3rd: the run for the 4th catches up
    write_jsonl(root / "llm" / "date=2026-04-03" / "c.jsonl", [D3])
    write_jsonl(root / "llm" / "date=2026-04-04" / "d.jsonl", [D4])
    seen["day4"] = run("2026-04-04")
    seen["day4_bills"] = (query(db, BILLS_SQL), query(db, LINES_SQL))

    # three weeks later, a provider redelivers old events
    write_jsonl(root / "llm" / "redelivered" / "e.jsonl", [E1, L1])
    seen["day24"] = run("2026-04-24")
    return root, db, seen


def test_each_day_is_billed_by_the_hand_computation(days):
    _, db, _ = days
    assert bill_lines(db) == _expected_for({"2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04"})


def test_a_run_reports_progress_on_stderr_and_its_summary_on_stdout(days):
    run = days[2]["day1"]
    steps = re.findall(r"billing: dbt build (\d+)/(\d+) steps done", run.stderr)
    assert steps and steps[-1][0] == steps[-1][1] and int(steps[-1][1]) > 100
    assert "steps done" not in run.stdout
    assert run.stdout.startswith("Closed every day up to 2026-04-01")


def test_late_usage_is_a_late_line_on_the_next_bill(days):
    _, db, _ = days
    late = query(
        db,
        "select bill_date, usage_date, billing_item, quantity from marts.bill_line_items "
        "where is_late order by billing_item",
    )
    assert [(str(b), str(u), i, q) for b, u, i, q in late] == [
        ("2026-04-02", "2026-04-01", "GPT-4o input", Decimal("3000")),
        ("2026-04-02", "2026-04-01", "GPT-4o output", Decimal("300")),
    ]
    assert query(
        db, "select late_line_count from marts.daily_bills where bill_date = '2026-04-02'"
    ) == [(2,)]


def test_issued_bills_never_change(days):
    _, db, seen = days
    day1_bills, day1_lines = seen["day1_bills"]
    bills, lines = query(db, BILLS_SQL), query(db, LINES_SQL)
    assert all(row in bills for row in day1_bills)
    assert all(row in lines for row in day1_lines)
    assert [row for row in bills if str(row[0]) == "2026-04-01"] == day1_bills
    for issued, now in zip(seen["day1_derived"], _derived(db), strict=True):
        assert issued and all(row in now for row in issued)


def test_a_rerun_changes_no_bill_line_or_count(days):
    _, _, seen = days
    assert seen["rerun_bills"] == seen["day1_bills"]
    assert seen["rerun_reconciliation"] == seen["day1_reconciliation"]
    assert seen["rerun_derived"] == seen["day1_derived"]
    assert "Nothing new to issue" in seen["rerun"].stdout


def test_a_missed_day_is_caught_up_in_order(days):
    _, db, seen = days
    assert "Closed 2026-04-03 to 2026-04-04" in seen["day4"].stdout
    runs = query(
        db,
        "select closed_from, closed_through, bills_issued from ledger.billing_runs "
        "order by closed_through",
    )
    assert [(str(a) if a else None, str(b), n) for a, b, n in runs] == [
        (None, "2026-04-01", 2),
        ("2026-04-02", "2026-04-02", 1),
        ("2026-04-03", "2026-04-04", 2),
        ("2026-04-05", "2026-04-24", 0),
    ]


def test_every_event_is_charged_exactly_once_across_all_bills(days):
    _, db, seen = days
    expected = _expected_for({"2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04"})
    totals: dict[str, Decimal] = {}
    for currency, _q, amount, _due, _e in expected.values():
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    actual = dict(query(db, "select currency, sum(total_amount) from marts.daily_bills group by 1"))
    assert actual == totals
    assert seen["day4_bills"] == (query(db, BILLS_SQL), query(db, LINES_SQL))
    counts = query(
        db,
        "select billed_events, duplicate_events, unpriced_events, rejected_events, "
        "pending_events from marts.usage_reconciliation where stream = 'llm'",
    )
    # billed e1 e2 p1 l1 n2 d3 d4; duplicates: e1 and m1 on the 2nd, e1 and l1 weeks
    # later; unpriced: m1 (metered once); rejected: the conflicting copy of e2
    assert counts == [(7, 4, 1, 1, 0)]


def _small_usage(root: Path) -> None:
    write_jsonl(root / "llm" / "a.jsonl", [E1, E2])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_run_waits_then_fails_clearly(tmp_path):
    root, db = tmp_path / "usage", tmp_path / "billing.duckdb"
    _small_usage(root)
    _ok(run_billing("run", "--date", "2026-04-01", "--usage-root", str(root), db=db))
    before = _digest(db)
    with daily_run.run_lock(db, wait_seconds=0):
        started = time.monotonic()
        result = run_billing(
            "run", "--date", "2026-04-02", "--usage-root", str(root), "--wait", "2", db=db
        )
        waited = time.monotonic() - started
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "another run holds the lock" in result.stderr
    assert waited >= 2
    assert _digest(db) == before


def test_readers_of_the_published_file_keep_their_view_during_a_run(tmp_path):
    root, db = tmp_path / "usage", tmp_path / "billing.duckdb"
    _small_usage(root)
    _ok(run_billing("run", "--date", "2026-04-01", "--usage-root", str(root), db=db))
    published = daily_run.publish_path(db)
    reader = duckdb.connect(str(published), read_only=True)
    try:
        before = reader.execute("select count(*) from marts.daily_bills").fetchone()[0]
        write_jsonl(root / "llm" / "b.jsonl", [N2])
        _ok(run_billing("run", "--date", "2026-04-02", "--usage-root", str(root), db=db))
        assert reader.execute("select count(*) from marts.daily_bills").fetchone()[0] == before
    finally:
        reader.close()
    with duckdb.connect(str(published), read_only=True) as fresh:
        assert fresh.execute("select count(*) from marts.daily_bills").fetchone()[0] == before + 1
        with pytest.raises(duckdb.Error):
            fresh.execute("create table marts.x (a int)")


def test_a_price_added_later_bills_the_unpriced_usage_as_late_usage(tmp_path):
    project = project_copy(tmp_path)
    root, db = tmp_path / "usage", tmp_path / "billing.duckdb"
    write_jsonl(root / "llm" / "a.jsonl", [E1, M1])
    args = ("--usage-root", str(root))
    _ok(run_billing("run", "--date", "2026-04-01", *args, db=db, project=project))
    assert query(db, "select reason from marts.unpriced_usage") == [("no_price_in_force",)]

    seed = project / "seeds" / "pricing" / "llm_token_prices.csv"
    seed.write_text(
        seed.read_text()
        .replace(
            "mistral-large,Mistral Large,Mistral,input,Mistral Large input,,,",
            "mistral-large,Mistral Large,Mistral,input,Mistral Large input,USD,2.00,",
        )
        .replace(
            "mistral-large,Mistral Large,Mistral,output,Mistral Large output,,,",
            "mistral-large,Mistral Large,Mistral,output,Mistral Large output,USD,6.00,",
        )
    )
    _ok(run_billing("run", "--date", "2026-04-02", *args, db=db, project=project))
    assert query(db, "select count(*) from marts.unpriced_usage") == [(0,)]
    lines = query(
        db,
        "select bill_date, usage_date, billing_item, amount, is_late from marts.bill_line_items "
        "where catalog_item = 'mistral-large' order by billing_item",
    )
    # 10 tokens x 2.00 / 1e6 and 10 tokens x 6.00 / 1e6, on the first new bill, late
    assert [(str(b), str(u), i, a, late) for b, u, i, a, late in lines] == [
        ("2026-04-02", "2026-04-01", "Mistral Large input", Decimal("0.000020000000"), True),
        ("2026-04-02", "2026-04-01", "Mistral Large output", Decimal("0.000060000000"), True),
    ]


def test_the_ledger_grain_test_finds_a_record_written_twice(days, tmp_path):
    """The grain test of usage_records checks a run's rows (audit.usage_records) among
    themselves and against the records the ledger keeps: a row with the key of a billed
    record fails it; a row replacing an open (unpriced or pending) record does not."""
    _, built, _ = days
    db = tmp_path / "billing.duckdb"
    db.write_bytes(built.read_bytes())
    compiled = run_dbt(
        "compile",
        "--select",
        "usage_records,test_name:unique_combination_of_columns",
        "--target-path",
        str(tmp_path / "target"),
        db=db,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (sql_file,) = (tmp_path / "target" / "compiled").rglob("unique_combination_of_*.sql")
    sql = sql_file.read_text()
    key = "source_file like '%date=2026-04-02%' and source_line = 1"

    def run_rows(status: str) -> list[tuple]:
        """The run rewrote that record, once, and the ledger holds it with this status."""
        with duckdb.connect(str(db)) as connection:
            connection.execute(f"update ledger.usage_records set status = '{status}' where {key}")
            connection.execute("delete from audit.usage_records")
            connection.execute(
                "insert into audit.usage_records by name "
                f"select * from ledger.usage_records where {key}"
            )
        return query(db, sql)

    assert run_rows("billed") == [("llm", "llm/date=2026-04-02/b.jsonl", 1, 1, 2)]
    assert run_rows("duplicate") == [("llm", "llm/date=2026-04-02/b.jsonl", 1, 1, 2)]
    assert run_rows("unpriced") == []
    assert run_rows("pending") == []


def test_unpriced_usage_follows_the_files_under_the_usage_root(tmp_path):
    """unpriced_usage and the reconciliation describe the files under usage_root now: a file
    moved away leaves them (its bills stay issued), and is listed again when it is back."""
    root, db = tmp_path / "usage", tmp_path / "billing.duckdb"
    day1 = root / "llm" / "date=2026-04-01" / "a.jsonl"
    write_jsonl(day1, [E1, M1])
    write_jsonl(root / "llm" / "date=2026-04-02" / "b.jsonl", [N2])

    def run(date):
        _ok(run_billing("run", "--date", date, "--usage-root", str(root), db=db))
        unpriced = query(db, "select event_id, source_file from marts.unpriced_usage")
        counts = query(
            db,
            "select raw_events, billed_events, unpriced_events from marts.usage_reconciliation "
            "where stream = 'llm'",
        )
        return unpriced, counts[0]

    # N2 is pending on the 1st (it happened on the 2nd)
    assert run("2026-04-01") == ([("m1", "llm/date=2026-04-01/a.jsonl")], (3, 1, 1))
    bills = query(db, BILLS_SQL)
    away = tmp_path / "away.jsonl"
    day1.rename(away)  # same size and modification time when it comes back
    assert run("2026-04-02") == ([], (1, 1, 0))
    away.rename(day1)
    assert run("2026-04-03") == ([("m1", "llm/date=2026-04-01/a.jsonl")], (3, 2, 1))
    assert all(row in query(db, BILLS_SQL) for row in bills)
