"""What one run does to the next: a `--full-refresh` between runs, a file that grows after it
was billed, and a late line whose day had another price than its bill's day.

One timeline, in a copy of the project:

1. `billing run --date 2026-04-01` bills a1 (a.jsonl) at GPT-4o's list price.
2. The price changes the right way, on a day not closed yet: the GPT-4o input row ends on
   2026-04-02 and a new one starts that day (2.50 USD per 1M tokens before, 5.00 from then);
   the guards accept it.
3. `dbt build --full-refresh` for the 1st.
4. a.jsonl grows by a2 (the 2nd); b.jsonl brings l1 (late, the 1st) and n1 (the 2nd).
5. `billing run --date 2026-04-02`.

Expected lines come from reference_billing.py with the same dated price, and the bill of
the 2nd is also worked out by hand below.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

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

D = Decimal
PRICE_CHANGES = {"GPT-4o input": [(dt.date(2026, 4, 2), D("5.00"))]}


def ev(event_id, tenant, at, input_tokens):
    return llm_event(event_id, tenant, at, "gpt-4o", input_tokens, 0)


A1 = ev("a1", "acme", "2026-04-01T02:00:00Z", 1_000_000)
A2 = ev("a2", "acme", "2026-04-02T02:00:00Z", 1_000_000)  # appended to a.jsonl
L1 = ev("l1", "acme", "2026-04-01T05:00:00Z", 3_000)  # late for the 1st
N1 = ev("n1", "globex", "2026-04-02T03:00:00Z", 2_000)
BILLED = [
    ("llm", "2026-04-01", A1),
    ("llm", "2026-04-02", A2),
    ("llm", "2026-04-02", L1),
    ("llm", "2026-04-02", N1),
]
STATE_SQLS = {
    "bills": "select * from marts.daily_bills order by all",
    "lines": "select * from marts.bill_line_items order by all",
    "ledger": "select stream, source_file, source_line, event_id, status, reason, bill_date, "
    "billing_run_id from ledger.usage_records order by all",
    "runs": "select * from ledger.billing_runs order by all",
    # issued with the lines, append-only like them
    "focus": "select * from marts.focus_charges order by all",
    "agents": "select * from marts.agent_daily_costs order by all",
}


def _state(db: Path) -> dict[str, list]:
    return {name: query(db, sql) for name, sql in STATE_SQLS.items()}


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("across_runs")
    project = project_copy(root)
    usage, db = root / "usage", root / "warehouse" / "billing.duckdb"
    seen = {}

    write_jsonl(usage / "llm" / "a.jsonl", [A1])
    _ok(
        run_billing(
            "run", "--date", "2026-04-01", "--usage-root", str(usage), db=db, project=project
        )
    )
    seen["first"] = _state(db)

    seed = project / "seeds" / "pricing" / "llm_token_prices.csv"
    seed.write_text(
        seed.read_text().replace(
            "GPT-4o input,USD,2.50,2020-01-01,\n",
            "GPT-4o input,USD,2.50,2020-01-01,2026-04-02\n"
            "gpt-4o,GPT-4o,ChatGPT,input,GPT-4o input,USD,5.00,2026-04-02,\n",
        )
    )

    dbt_vars = json.dumps({"usage_root": str(usage), "billing_date": "2026-04-01"})
    _ok(
        run_dbt(
            "build", "--full-refresh", "--exclude-resource-type", "unit_test",
            "--vars", dbt_vars, db=db, project=project,
        )
    )  # fmt: skip
    seen["refreshed"] = _state(db)

    with (usage / "llm" / "a.jsonl").open("a") as grown:
        grown.write(json.dumps(A2) + "\n")
    write_jsonl(usage / "llm" / "b.jsonl", [L1, N1])
    seen["second"] = _ok(
        run_billing(
            "run", "--date", "2026-04-02", "--usage-root", str(usage), db=db, project=project
        )
    )
    return {"db": db, "seen": seen}


def test_a_full_refresh_changes_no_bill_line_ledger_row_or_closed_day(timeline):
    seen = timeline["seen"]
    assert seen["refreshed"] == seen["first"]
    assert [row[3] for row in seen["first"]["ledger"]] == ["a1"]
    assert seen["first"]["focus"] and seen["first"]["agents"]
    # and the next run leaves what was issued as it was
    later = _state(timeline["db"])
    for name in ("bills", "lines", "focus", "agents", "runs"):
        assert all(row in later[name] for row in seen["first"][name]), name


def test_each_line_is_priced_on_its_own_usage_day_and_every_event_is_billed_once(timeline):
    db = timeline["db"]
    assert bill_lines(db) == expected_lines_by_bill(BILLED, price_changes=PRICE_CHANGES)
    # By hand, the bill of the 2nd for acme: a2, 1,000,000 tokens at the 2nd's 5.00 = 5.00;
    # l1, late, 3,000 tokens at the 1st's 2.50 = 0.0075, due 0.01 (at 5.00 it would be 0.015,
    # due 0.02). globex: n1, 2,000 x 5.00 / 1M = 0.01.
    bills = query(
        db,
        "select tenant_id, total_amount, amount_due, late_line_count from marts.daily_bills "
        "where bill_date = '2026-04-02' order by tenant_id",
    )
    assert bills == [("acme", D("5.0075"), D("5.01"), 1), ("globex", D("0.01"), D("0.01"), 0)]
    # a1, billed on the 1st, is not charged again after the refresh and the grown file
    billed = query(
        db,
        "select event_id, count(*), min(bill_date) from ledger.usage_records "
        "where status = 'billed' group by event_id order by event_id",
    )
    assert billed == [
        ("a1", 1, dt.date(2026, 4, 1)),
        ("a2", 1, dt.date(2026, 4, 2)),
        ("l1", 1, dt.date(2026, 4, 2)),
        ("n1", 1, dt.date(2026, 4, 2)),
    ]


def test_the_grown_file_is_read_again_and_the_books_balance(timeline):
    db = timeline["db"]
    records = query(
        db,
        "select source_file, source_line, event_id, status from ledger.usage_records order by all",
    )
    assert records == [
        ("llm/a.jsonl", 1, "a1", "billed"),
        ("llm/a.jsonl", 2, "a2", "billed"),
        ("llm/b.jsonl", 1, "l1", "billed"),
        ("llm/b.jsonl", 2, "n1", "billed"),
    ]
    assert query(
        db,
        "select raw_events, billed_events, duplicate_events, unpriced_events, rejected_events, "
        "pending_events from marts.usage_reconciliation where stream = 'llm'",
    ) == [(4, 4, 0, 0, 0, 0)]
    assert "Closed 2026-04-02 in" in timeline["seen"]["second"].stdout
