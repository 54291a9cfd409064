"""Budgets: marts.budget_status and `billing alerts`, across two daily runs.

A copy of the project with budgets for April 2026 in seeds/contracts/tenant_budgets.csv.
Every amount is worked out by hand from the pricing page (GPT-4o input 2.50 USD per 1M
tokens, Deepseek-Chat input 2.00 CNY per 1M tokens), Asia/Shanghai days:

run 1, 2026-04-01 (1 of April's 30 days closed):
  steady USD, budget 10.00: 3,160,000 GPT-4o tokens = 7.90 -> 79.00 %, ok, projected 237.00
  edge   USD, budget  5.00: 1,600,000 GPT-4o tokens = 4.00 -> 80.00 %, warning, 120.00
  over   CNY, budget  1.00:   250,000 Deepseek tokens = 0.50 -> 50.00 %, ok, 15.00
  `billing alerts`: edge only, exit 0.
run 2, 2026-04-02 (2 days closed):
  over: 255,000 more tokens = 0.51 -> 1.01 of 1.00, 101.00 %, exceeded, projected 15.15
  steady: 40,000 tokens of 2026-04-01 arrive late, billed on the 04-02 bill: 0.10, so 8.00
  -> 80.00 %, warning, projected 8.00 / 2 x 30 = 120.00
  edge: nothing new, 4.00 -> 80.00 %, warning, projected 60.00
  `billing alerts`: over first, then edge and steady, exit 1.
steady also has a May budget (100.00): nothing spent, no day closed, ok.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    llm_event,
    project_copy,
    query,
    run_billing,
    shows_broken_rule,
    table_exists,
    write_jsonl,
)

D = Decimal

BUDGETS = """tenant_id,currency,month,budget_amount
steady,USD,2026-04,10.00
edge,USD,2026-04,5
over,CNY,2026-04,1.00
steady,USD,2026-05,100.00
"""


def _status(db: Path) -> dict[tuple[str, str, str], tuple]:
    rows = query(
        db.with_name("billing_published.duckdb"),
        "select tenant_id, currency, strftime(budget_month, '%Y-%m'), spent_amount, "
        "share_used_percent, projected_amount, status, closed_days, is_final "
        "from marts.budget_status",
    )
    return {(tenant, currency, month): tuple(rest) for tenant, currency, month, *rest in rows}


@pytest.fixture(scope="module")
def budgets(tmp_path_factory):
    base = tmp_path_factory.mktemp("budgets")
    project = project_copy(base)
    (project / "seeds" / "contracts" / "tenant_budgets.csv").write_text(BUDGETS)
    usage = base / "usage"
    db = base / "warehouse" / "billing.duckdb"

    def billing(*args: str):
        return run_billing(*args, db=db, project=project)

    write_jsonl(
        usage / "llm" / "day-1.jsonl",
        [
            llm_event("s1", "steady", "2026-04-01T02:00:00Z", "gpt-4o", 3_160_000, 0),
            llm_event("e1", "edge", "2026-04-01T03:00:00Z", "gpt-4o", 1_600_000, 0),
            llm_event("o1", "over", "2026-04-01T04:00:00Z", "deepseek-chat", 250_000, 0),
        ],
    )
    first = billing("run", "--date", "2026-04-01", "--usage-root", str(usage))
    assert first.returncode == 0, first.stdout + first.stderr
    after_first = _status(db)
    first_alerts = billing("alerts")
    first_json = billing("alerts", "--format", "json")

    write_jsonl(
        usage / "llm" / "day-2.jsonl",
        [
            llm_event("o2", "over", "2026-04-02T04:00:00Z", "deepseek-chat", 255_000, 0),
            # of 2026-04-01 (23:30 in Shanghai), closed by the first run: late
            llm_event("s2", "steady", "2026-04-01T15:30:00Z", "gpt-4o", 40_000, 0),
        ],
    )
    second = billing("run", "--date", "2026-04-02", "--usage-root", str(usage))
    assert second.returncode == 0, second.stdout + second.stderr
    return {
        "db": db,
        "first": after_first,
        "first_alerts": first_alerts,
        "first_json": first_json,
        "second": _status(db),
        "second_alerts": billing("alerts"),
        "may_alerts": billing("alerts", "--month", "2026-05"),
        "bad_month": billing("alerts", "--month", "2026-4"),
    }


def test_first_day_79_80_and_50_percent(budgets):
    assert budgets["first"] == {
        ("steady", "USD", "2026-04"): (D("7.90"), D("79.00"), D("237.00"), "ok", 1, False),
        ("edge", "USD", "2026-04"): (D("4.00"), D("80.00"), D("120.00"), "warning", 1, False),
        ("over", "CNY", "2026-04"): (D("0.50"), D("50.00"), D("15.00"), "ok", 1, False),
        ("steady", "USD", "2026-05"): (D("0.00"), D("0.00"), None, "ok", 0, False),
    }


def test_second_day_101_percent_and_late_usage_counts_in_its_bill_month(budgets):
    assert budgets["second"] == {
        ("steady", "USD", "2026-04"): (D("8.00"), D("80.00"), D("120.00"), "warning", 2, False),
        ("edge", "USD", "2026-04"): (D("4.00"), D("80.00"), D("60.00"), "warning", 2, False),
        ("over", "CNY", "2026-04"): (D("1.01"), D("101.00"), D("15.15"), "exceeded", 2, False),
        ("steady", "USD", "2026-05"): (D("0.00"), D("0.00"), None, "ok", 0, False),
    }
    # the spend is the bills' amount due, nothing else
    billed = query(
        budgets["db"].with_name("billing_published.duckdb"),
        "select tenant_id, sum(amount_due) from marts.daily_bills group by 1",
    )
    assert dict(billed) == {"steady": D("8.00"), "edge": D("4.00"), "over": D("1.01")}


def test_alerts_warn_with_exit_0_until_a_budget_is_exceeded(budgets):
    first = budgets["first_alerts"]
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "Budgets of 2026-04, bills through 2026-04-01:",
        "  WARNING   edge  USD  spent 4.00 of 5.00 (80.00%), projected 120.00",
        "1 of 3 budgets at 80% or more, 0 exceeded.",
    ]
    assert budgets["first_json"].returncode == 0
    assert json.loads(budgets["first_json"].stdout)["alerts"] == [
        {
            "tenant_id": "edge",
            "currency": "USD",
            "status": "warning",
            "budget_amount": "5.00",
            "spent_amount": "4.00",
            "share_used_percent": "80.00",
            "projected_amount": "120.00",
        }
    ]
    second = budgets["second_alerts"]
    assert second.returncode == 1, second.stderr
    assert second.stdout.splitlines() == [
        "Budgets of 2026-04, bills through 2026-04-02:",
        "  EXCEEDED  over  CNY  spent 1.01 of 1.00 (101.00%), projected 15.15",
        "  WARNING   edge  USD  spent 4.00 of 5.00 (80.00%), projected 60.00",
        "  WARNING   steady  USD  spent 8.00 of 10.00 (80.00%), projected 120.00",
        "3 of 3 budgets at 80% or more, 1 exceeded.",
    ]


def test_alerts_of_another_month_and_a_bad_month(budgets):
    may = budgets["may_alerts"]
    assert may.returncode == 0, may.stderr
    assert may.stdout.splitlines()[-1] == "0 of 1 budgets at 80% or more, 0 exceeded."
    bad = budgets["bad_month"]
    assert bad.returncode == 2
    assert "--month '2026-4' is not a month: write it as YYYY-MM" in bad.stderr


def test_a_budget_that_is_not_a_month_or_an_amount_stops_the_run(tmp_path):
    project = project_copy(tmp_path)
    (project / "seeds" / "contracts" / "tenant_budgets.csv").write_text(
        "tenant_id,currency,month,budget_amount\n"
        "acme,USD,2026-13,5.00\n"
        "acme,CNY,2026-04,12.345\n"
        "acme,USD,2026-04,5.00\n"
    )
    usage = tmp_path / "usage"
    write_jsonl(
        usage / "llm" / "day.jsonl",
        [llm_event("a1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1_000_000, 0)],
    )
    db = tmp_path / "billing.duckdb"
    result = run_billing(
        "run", "--date", "2026-04-01", "--usage-root", str(usage), db=db, project=project
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "stg_contracts__tenant_budgets_row_rules" in output, output
    assert shows_broken_rule(output, "month_is_yyyy_mm", "month_text=2026-13"), output
    assert shows_broken_rule(
        output, "amount_is_a_number_with_at_most_two_decimals", "budget_amount_text=12.345"
    ), output
    # nothing billed: the run committed nothing to the ledger
    assert not table_exists(db, "ledger", "issued_bills") or not query(
        db, "select * from ledger.issued_bills"
    )
