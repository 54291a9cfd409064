"""Corrections: `billing run --reprice-from DAY` after a price of closed days was wrong.

A copy of the project and five daily runs, Asia/Shanghai days. List prices of the pricing
page: GPT-4o input 2.50 USD per 1M tokens, Qwen-Max output 9.60 CNY per 1M tokens. Every
amount worked out by hand:

run 1, 2026-04-01
  acme   GPT-4o input    1,000,000 tokens x 2.50            = 2.50 USD
  acme   Qwen-Max output 1,234,567 tokens x 9.60 = 11.8518432 -> 11.85 CNY
  globex GPT-4o input    1,000,000 tokens x 2.50            = 2.50 USD
run 2, 2026-04-02
  acme   GPT-4o input    2,000,000 tokens x 2.50            = 5.00
  acme   GPT-4o input      100,000 tokens of 04-01, late    = 0.25
then the operator learns that GPT-4o input costs 2.40 from 04-01 and that acme has 15 % off
Qwen-Max output from 04-01, and fixes the seeds. A run without --reprice-from is refused.
run 3, 2026-04-03 --reprice-from 2026-04-01: adjustment lines on the 04-03 bills
  acme   GPT-4o input  of 04-01 (bill 04-01)  2.40 - 2.50  = -0.10
  acme   GPT-4o input  of 04-01 (bill 04-02)  0.24 - 0.25  = -0.01
  acme   GPT-4o input  of 04-02 (bill 04-02)  4.80 - 5.00  = -0.20
  acme   Qwen-Max output of 04-01: 9.60 x 0.85 = 8.16, 10.07406672 - 11.8518432
         = -1.77777648, due 10.07 - 11.85 = -1.78
  globex GPT-4o input  of 04-01               2.40 - 2.50  = -0.10
  globex GPT-4o input  of 04-03, usage        1,000,000 x 2.40 = 2.40
  bills of 04-03: acme USD -0.31 and CNY -1.78 (credits), globex USD 2.30
  a rerun of 04-03 with --reprice-from issues nothing
run 4, 2026-04-04, no correction: accepted (the adjusted days agree with the seeds)
  acme   GPT-4o input    1,000,000 x 2.40                   = 2.40
then 2.40 turns out to hold for 04-01 only: 2.45 from 04-02.
run 5, 2026-04-05 --reprice-from 2026-04-02: against what was billed, adjustments included
  acme   GPT-4o input  of 04-02: 4.90 - (5.00 - 0.20)      = +0.10 (from 2.40)
  acme   GPT-4o input  of 04-04: 2.45 - 2.40                = +0.05
  globex GPT-4o input  of 04-03: 2.45 - 2.40                = +0.05
  bills of 04-05: acme USD 0.15, globex USD 0.05
acme's April in USD: 2.50 + 0.25 + 5.00 + 2.40 - 0.16 = 9.99, which is its usage at the final
prices: 1M x 2.40 + 0.1M x 2.40 + 2M x 2.45 + 1M x 2.45 = 2.40 + 0.24 + 4.90 + 2.45.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import llm_event, project_copy, query, run_billing, write_jsonl

D = Decimal

GPT_4O_INPUT = "gpt-4o,GPT-4o,ChatGPT,input,GPT-4o input,USD,"
CONTRACT_HEADER = (
    "tenant_id,billing_item,currency,unit_price,discount_percent,effective_from,effective_to\n"
)


def _set_gpt_4o_input(project: Path, rows: list[str]) -> None:
    """Replace the GPT-4o input rows of the price list with rows 'price,from,to'."""
    seed = project / "seeds" / "pricing" / "llm_token_prices.csv"
    kept = [line for line in seed.read_text().splitlines() if not line.startswith(GPT_4O_INPUT)]
    seed.write_text("\n".join(kept + [GPT_4O_INPUT + row for row in rows]) + "\n")


def _issued(db: Path, table: str, where: str = "true") -> list:
    return query(db, f"select * from ledger.{table} where {where} order by all")


def _adjustments(db: Path, bill_date: str) -> dict:
    published = db.with_name("billing_published.duckdb")
    return {
        (tenant, item, str(usage_date), str(adjusted)): (previous, unit, amount, due)
        for tenant, item, usage_date, adjusted, previous, unit, amount, due in query(
            published,
            "select tenant_id, billing_item, usage_date, adjusted_bill_date, "
            "previous_unit_price, unit_price, amount, amount_due from marts.bill_line_items "
            f"where line_type = 'adjustment' and bill_date = '{bill_date}'",
        )
    }


def _bills(db: Path, bill_date: str) -> dict:
    published = db.with_name("billing_published.duckdb")
    return {
        (tenant, currency): (due, lines, adjustments)
        for tenant, currency, due, lines, adjustments in query(
            published,
            "select tenant_id, currency, amount_due, line_count, adjustment_line_count "
            f"from marts.daily_bills where bill_date = '{bill_date}'",
        )
    }


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    base = tmp_path_factory.mktemp("corrections")
    project = project_copy(base)
    usage = base / "usage"
    db = base / "warehouse" / "billing.duckdb"

    def billing(date: str, *extra: str, database: Path = db):
        return run_billing(
            "run", "--date", date, "--usage-root", str(usage), *extra, db=database, project=project
        )

    results = {}
    write_jsonl(
        usage / "llm" / "day-1.jsonl",
        [
            llm_event("a1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1_000_000, 0),
            llm_event("a2", "acme", "2026-04-01T03:00:00Z", "qwen-max", 0, 1_234_567),
            llm_event("g1", "globex", "2026-04-01T04:00:00Z", "gpt-4o", 1_000_000, 0),
        ],
    )
    results["run_1"] = billing("2026-04-01")
    write_jsonl(
        usage / "llm" / "day-2.jsonl",
        [
            llm_event("a3", "acme", "2026-04-02T02:00:00Z", "gpt-4o", 2_000_000, 0),
            # of 2026-04-01 (23:00 in Shanghai), closed by run 1: late
            llm_event("a4", "acme", "2026-04-01T15:00:00Z", "gpt-4o", 100_000, 0),
        ],
    )
    results["run_2"] = billing("2026-04-02")
    results["issued_through_04_02"] = (
        _issued(db, "issued_bills"),
        _issued(db, "issued_bill_lines"),
        _issued(db, "issued_focus_charges"),
    )

    # the fix: GPT-4o input is 2.40 from 04-01; acme has 15 % off Qwen-Max output from 04-01
    _set_gpt_4o_input(project, ["2.50,2020-01-01,2026-04-01", "2.40,2026-04-01,"])
    (project / "seeds" / "contracts" / "tenant_prices.csv").write_text(
        CONTRACT_HEADER + "acme,Qwen-Max output,CNY,,15,2026-04-01,\n"
    )
    write_jsonl(
        usage / "llm" / "day-3.jsonl",
        [llm_event("g3", "globex", "2026-04-03T02:00:00Z", "gpt-4o", 1_000_000, 0)],
    )
    results["without_reprice"] = billing("2026-04-03")
    results["run_3"] = billing("2026-04-03", "--reprice-from", "2026-04-01")
    results["adjustments_3"] = _adjustments(db, "2026-04-03")
    results["bills_3"] = _bills(db, "2026-04-03")
    lines_before_rerun = _issued(db, "issued_bill_lines")
    results["rerun_3"] = billing("2026-04-03", "--reprice-from", "2026-04-01")
    results["rerun_changed_nothing"] = _issued(db, "issued_bill_lines") == lines_before_rerun

    write_jsonl(
        usage / "llm" / "day-4.jsonl",
        [llm_event("a5", "acme", "2026-04-04T02:00:00Z", "gpt-4o", 1_000_000, 0)],
    )
    results["run_4"] = billing("2026-04-04")

    # the second fix: 2.40 held for 04-01 only, 2.45 from 04-02
    _set_gpt_4o_input(
        project, ["2.50,2020-01-01,2026-04-01", "2.40,2026-04-01,2026-04-02", "2.45,2026-04-02,"]
    )
    results["run_5"] = billing("2026-04-05", "--reprice-from", "2026-04-02")
    results["lines_after_run_5"] = _issued(db, "issued_bill_lines")
    results["adjustments_5"] = _adjustments(db, "2026-04-05")
    results["bills_5"] = _bills(db, "2026-04-05")
    results["issued_after"] = (
        _issued(db, "issued_bills", "bill_date <= '2026-04-02'"),
        _issued(db, "issued_bill_lines", "bill_date <= '2026-04-02'"),
        _issued(db, "issued_focus_charges", "\"x_BillDate\" <= '2026-04-02'"),
    )
    results["focus"] = query(
        db.with_name("billing_published.duckdb"),
        'select "ChargeCategory", "ChargeClass", "BillingCurrency", count(*), '
        'sum("BilledCost"), count("ConsumedQuantity") from marts.focus_charges '
        "group by all order by all",
    )
    results["due_by_currency"] = query(
        db.with_name("billing_published.duckdb"),
        "select currency, sum(amount_due) from marts.daily_bills group by 1 order by 1",
    )
    results["statement"] = run_billing(
        "show", "--tenant", "acme", "--month", "2026-04", "--format", "json", db=db
    )
    results["statement_text"] = run_billing("show", "--tenant", "acme", "--month", "2026-04", db=db)

    # settings that cannot be a correction: refused, nothing written
    results["after_last_closed"] = billing("2026-04-06", "--reprice-from", "2026-04-06")
    results["not_a_day"] = billing("2026-04-06", "--reprice-from", "2026-4-1")
    results["new_warehouse"] = billing(
        "2026-04-01", "--reprice-from", "2026-04-01", database=base / "new" / "billing.duckdb"
    )
    results["lines_at_the_end"] = _issued(db, "issued_bill_lines")
    return results


def _ok(result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_price_fix_under_closed_days_needs_a_correction(corrected):
    for run in ("run_1", "run_2"):
        _ok(corrected[run])
    refused = corrected["without_reprice"]
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output
    assert (
        "Invalid price seed: seeds/pricing/llm_token_prices.csv: row (GPT-4o input, USD, 2.40,"
        " from 2026-04-01, to open) prices GPT-4o input on 2 closed days 2026-04-01 to"
        " 2026-04-02 differently from its issued lines (2.500000 USD)"
    ) in output
    assert "billing run --reprice-from DAY" in output


def test_a_correction_issues_credits_on_the_runs_bills(corrected):
    _ok(corrected["run_3"])
    summary = corrected["run_3"].stdout
    assert "  CNY: 1 bills issued over 1 days, amount due -1.78, 0 late lines" in summary
    assert "  USD: 2 bills issued over 1 days, amount due 1.99, 0 late lines" in summary
    assert (
        "    of which 4 adjustment lines correcting earlier bills (--reprice-from),"
        " amount due -0.41"
    ) in summary
    # (previous unit price, corrected unit price, amount, amount due)
    assert corrected["adjustments_3"] == {
        ("acme", "GPT-4o input", "2026-04-01", "2026-04-01"): (
            D("2.50"), D("2.40"), D("-0.10"), D("-0.10"),
        ),
        ("acme", "GPT-4o input", "2026-04-01", "2026-04-02"): (
            D("2.50"), D("2.40"), D("-0.01"), D("-0.01"),
        ),
        ("acme", "GPT-4o input", "2026-04-02", "2026-04-02"): (
            D("2.50"), D("2.40"), D("-0.20"), D("-0.20"),
        ),
        ("acme", "Qwen-Max output", "2026-04-01", "2026-04-01"): (
            D("9.60"), D("8.16"), D("-1.77777648"), D("-1.78"),
        ),
        ("globex", "GPT-4o input", "2026-04-01", "2026-04-01"): (
            D("2.50"), D("2.40"), D("-0.10"), D("-0.10"),
        ),
    }  # fmt: skip
    # (amount due, lines, adjustment lines): a bill of credits only is negative
    assert corrected["bills_3"] == {
        ("acme", "USD"): (D("-0.31"), 3, 3),
        ("acme", "CNY"): (D("-1.78"), 1, 1),
        ("globex", "USD"): (D("2.30"), 2, 1),
    }


def test_issued_bills_stay_as_they_were(corrected):
    assert corrected["issued_after"] == corrected["issued_through_04_02"]


def test_a_rerun_issues_no_second_adjustment(corrected):
    rerun = corrected["rerun_3"]
    _ok(rerun)
    assert "Nothing new to issue" in rerun.stdout
    assert corrected["rerun_changed_nothing"]
    # the next day needs no correction: its guards see the adjusted prices
    _ok(corrected["run_4"])


def test_a_later_correction_adjusts_against_the_earlier_one(corrected):
    _ok(corrected["run_5"])
    assert corrected["adjustments_5"] == {
        ("acme", "GPT-4o input", "2026-04-02", "2026-04-02"): (
            D("2.40"), D("2.45"), D("0.10"), D("0.10"),
        ),
        ("acme", "GPT-4o input", "2026-04-04", "2026-04-04"): (
            D("2.40"), D("2.45"), D("0.05"), D("0.05"),
        ),
        ("globex", "GPT-4o input", "2026-04-03", "2026-04-03"): (
            D("2.40"), D("2.45"), D("0.05"), D("0.05"),
        ),
    }  # fmt: skip
    assert corrected["bills_5"] == {
        ("acme", "USD"): (D("0.15"), 2, 2),
        ("globex", "USD"): (D("0.05"), 1, 1),
    }


def test_focus_shows_adjustments_as_corrections(corrected):
    # (ChargeCategory, ChargeClass, currency, charges, BilledCost, ConsumedQuantity given)
    # USD usage 2.50 + 2.50 + 5.00 + 0.25 + 2.40 + 2.40 = 15.05; adjustments
    # -0.10 - 0.01 - 0.20 - 0.10 + 0.10 + 0.05 + 0.05 = -0.21
    assert corrected["focus"] == [
        ("Adjustment", "Correction", "CNY", 1, D("-1.78"), 0),
        ("Adjustment", "Correction", "USD", 7, D("-0.21"), 0),
        ("Usage", None, "CNY", 1, D("11.85"), 1),
        ("Usage", None, "USD", 6, D("15.05"), 6),
    ]
    # and the bills add up to the same: 11.85 - 1.78; 15.05 - 0.21
    assert corrected["due_by_currency"] == [("CNY", D("10.07")), ("USD", D("14.84"))]


def test_the_statement_shows_adjustments_apart(corrected):
    result = corrected["statement"]
    _ok(result)
    [usd] = [s for s in json.loads(result.stdout)["sections"] if s["currency"] == "USD"]
    assert usd["amount_due"] == "9.99"
    assert usd["adjustment_amount_due"] == "-0.16"
    assert usd["late_amount_due"] == "0.25"
    assert [
        (a["adjusted_bill_date"], a["usage_date"], a["previous_unit_price"], a["amount_due"])
        for a in usd["adjustment_lines"]
    ] == [
        ("2026-04-01", "2026-04-01", "2.500000", "-0.10"),
        ("2026-04-02", "2026-04-01", "2.500000", "-0.01"),
        ("2026-04-02", "2026-04-02", "2.500000", "-0.20"),
        ("2026-04-02", "2026-04-02", "2.400000", "0.10"),
        ("2026-04-04", "2026-04-04", "2.400000", "0.05"),
    ]
    text = corrected["statement_text"].stdout
    assert "Correction of GPT-4o input of 2026-04-02 (bill of 2026-04-02)" in text
    assert "2.40 -> 2.45 USD / 1M tokens" in text
    assert "Adjustments of earlier bills: -0.16" in text
    assert "Total due (USD): 9.99" in text


def test_a_correction_of_days_not_closed_is_refused(corrected):
    for name, message in (
        (
            "after_last_closed",
            "Invalid dbt var 'reprice_from': '2026-04-06' is after the last closed day"
            " (2026-04-05)",
        ),
        ("not_a_day", "Invalid dbt var 'reprice_from': '2026-4-1' is not a date in YYYY-MM-DD"),
        ("new_warehouse", "no day of this warehouse is closed yet, so there is nothing to reprice"),
    ):
        result = corrected[name]
        output = result.stdout + result.stderr
        assert result.returncode == 2, (name, output)
        assert message in output, (name, output)
    assert corrected["lines_at_the_end"] == corrected["lines_after_run_5"]
