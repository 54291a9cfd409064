"""Contract prices (seeds/contracts/tenant_prices.csv) across three daily runs.

A copy of the project whose contract seed gives acme a GPT-4o input price of 2.00 USD from
2026-04-01 to 2026-04-03 (exclusive), 15 % off Qwen-Max output from 04-01, 33.33 % off
Google ASR from 04-02; globex has none until a 20 % GPT-4o input discount is added, the
right way, from 04-04. List prices (pricing page): GPT-4o input 2.50 USD per 1M tokens,
Qwen-Max output 9.60 CNY per 1M tokens, Google ASR 1.44 USD per hour. Worked out by hand,
Asia/Shanghai days:

run 1, 2026-04-01
  acme   GPT-4o input    1,000,000 tokens x 2.00 contract      = 2.00    (list 2.50)
  acme   Qwen-Max output 1,234,567 tokens x 9.60 x 0.85 = 8.16 = 10.07406672 -> 10.07
                                                      (list 11.8518432)
  acme   Google ASR      3,600 s, no discount before 04-02     = 1.44    (list 1.44)
  globex GPT-4o input    1,000,000 tokens, list                = 2.50
run 2, 2026-04-03 (closes 04-02 and 04-03)
  04-02 acme Google ASR  3,600 s x 1.44 x 0.6667 = 0.960048 per hour = 0.960048 -> 0.96
  04-03 acme GPT-4o input 1,000,000 tokens, contract ended     = 2.50
        acme GPT-4o input   500,000 tokens of 04-01, late, at 04-01's contract 2.00 = 1.00
        acme Google ASR     1,800 s x 0.960048 per hour        = 0.480024 -> 0.48
run 3, 2026-04-04, after globex's discount is added from 04-04
  globex GPT-4o input    3,000,000 tokens x 2.50 x 0.80 = 2.00 = 6.00    (list 7.50)
  acme   Google ASR      3,600 s of 04-01, late, at 04-01's list price 1.44 = 1.44
Between runs 2 and 3, contract rows that would bill closed days differently are refused
(exit 2, nothing written), by `billing run` and a plain `dbt build` alike.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (
    llm_event,
    project_copy,
    query,
    run_billing,
    run_dbt,
    shows_broken_rule,
    table_exists,
    write_jsonl,
)

D = Decimal

CONTRACTS = """\
tenant_id,billing_item,currency,unit_price,discount_percent,effective_from,effective_to
acme,GPT-4o input,USD,2.00,,2026-04-01,2026-04-03
acme,Qwen-Max output,CNY,,15,2026-04-01,
acme,Google ASR,USD,,33.33,2026-04-02,
"""
GLOBEX_FROM_04_04 = "globex,GPT-4o input,USD,,20,2026-04-04,\n"


def _asr(event_id: str, tenant: str, at: str, seconds: int) -> dict:
    return {
        "event_id": event_id,
        "tenant_id": tenant,
        "occurred_at": at,
        "vendor": "google",
        "audio_seconds": seconds,
    }


def _lines(db: Path, bill_date: str) -> dict:
    published = db.with_name("billing_published.duckdb")
    return {
        (tenant, item, str(usage_date)): (unit, list_unit, amount, list_amount, due, late)
        for tenant, item, usage_date, unit, list_unit, amount, list_amount, due, late in query(
            published,
            "select tenant_id, billing_item, usage_date, unit_price, list_unit_price, amount, "
            "list_amount, amount_due, is_late from marts.bill_line_items "
            f"where bill_date = '{bill_date}'",
        )
    }


def _bills(db: Path) -> dict:
    published = db.with_name("billing_published.duckdb")
    return {
        (str(day), tenant, currency): due
        for day, tenant, currency, due in query(
            published, "select bill_date, tenant_id, currency, amount_due from marts.daily_bills"
        )
    }


def _state(db: Path) -> tuple:
    """What a refused run must leave as it was: the ledger's bills and lines, both files."""
    published = db.with_name("billing_published.duckdb")
    return (
        query(db, "select * from ledger.issued_bills order by all"),
        query(db, "select * from ledger.issued_bill_lines order by all"),
        hashlib.sha256(db.read_bytes()).hexdigest(),
        hashlib.sha256(published.read_bytes()).hexdigest(),
    )


@pytest.fixture(scope="module")
def contracts(tmp_path_factory):
    base = tmp_path_factory.mktemp("contracts")
    project = project_copy(base)
    seed = project / "seeds" / "contracts" / "tenant_prices.csv"
    seed.write_text(CONTRACTS)
    usage = base / "usage"
    db = base / "warehouse" / "billing.duckdb"

    def billing(date: str, project: Path = project):
        return run_billing(
            "run", "--date", date, "--usage-root", str(usage), db=db, project=project
        )

    write_jsonl(
        usage / "llm" / "day-1.jsonl",
        [
            llm_event("a1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1_000_000, 0),
            llm_event("a2", "acme", "2026-04-01T03:00:00Z", "qwen-max", 0, 1_234_567),
            llm_event("g1", "globex", "2026-04-01T04:00:00Z", "gpt-4o", 1_000_000, 0),
        ],
    )
    write_jsonl(usage / "asr" / "day-1.jsonl", [_asr("s1", "acme", "2026-04-01T05:00:00Z", 3600)])
    results = {"run_1": billing("2026-04-01")}
    results["lines_1"] = _lines(db, "2026-04-01")

    write_jsonl(
        usage / "llm" / "day-3.jsonl",
        [
            llm_event("a3", "acme", "2026-04-03T02:00:00Z", "gpt-4o", 1_000_000, 0),
            # of 2026-04-01 (23:00 in Shanghai), closed by run 1: late
            llm_event("a4", "acme", "2026-04-01T15:00:00Z", "gpt-4o", 500_000, 0),
        ],
    )
    write_jsonl(
        usage / "asr" / "day-2-3.jsonl",
        [
            _asr("s2", "acme", "2026-04-02T05:00:00Z", 3600),
            _asr("s3", "acme", "2026-04-03T05:00:00Z", 1800),
        ],
    )
    results["run_2"] = billing("2026-04-03")
    results["lines_2"] = _lines(db, "2026-04-02")
    results["lines_3"] = _lines(db, "2026-04-03")
    results["focus"] = query(
        db.with_name("billing_published.duckdb"),
        'select "x_BillDate", "SubAccountId", "x_BillingItem", "ListUnitPrice", '
        '"ContractedUnitPrice", "ListCost", "ContractedCost", "BilledCost", "EffectiveCost" '
        "from marts.focus_charges",
    )

    # three edits that would each bill closed days differently, in one copy of the project:
    # the guard names every culprit row in one refusal, so one run checks all three
    before = _state(db)
    edited_text = (
        # acme's contract price of 04-01 and 04-02 changed in place
        CONTRACTS.replace("USD,2.00,,2026-04-01", "USD,1.90,,2026-04-01")
        # acme's ASR discount removed: 04-02 and 04-03 were billed at it
        .replace("acme,Google ASR,USD,,33.33,2026-04-02,\n", "")
        # globex's discount backdated onto 04-01
        + GLOBEX_FROM_04_04.replace("2026-04-04", "2026-04-01")
    )
    assert "USD,1.90," in edited_text and "33.33" not in edited_text
    (base / "edited").mkdir()
    edited = project_copy(base / "edited")
    (edited / "seeds" / "contracts" / "tenant_prices.csv").write_text(edited_text)
    refused = {"billing_run": billing("2026-04-04", project=edited)}
    refused["billing_run_state"] = _state(db)
    refused["dbt_build"] = run_dbt(
        "build",
        "--vars",
        f'{{usage_root: "{usage}", billing_date: "2026-04-04"}}',
        db=db,
        project=edited,
    )
    refused["dbt_build_state"] = _state(db)
    results["before_refusals"] = before
    results["refused"] = refused

    # the right way: globex's discount from a day not closed yet
    seed.write_text(CONTRACTS + GLOBEX_FROM_04_04)
    write_jsonl(
        usage / "llm" / "day-4.jsonl",
        [llm_event("g4", "globex", "2026-04-04T02:00:00Z", "gpt-4o", 3_000_000, 0)],
    )
    # of 2026-04-01, closed by run 1, before acme's ASR discount: late, at the list price
    write_jsonl(usage / "asr" / "day-4.jsonl", [_asr("s4", "acme", "2026-04-01T06:00:00Z", 3600)])
    results["run_3"] = billing("2026-04-04")
    results["lines_4"] = _lines(db, "2026-04-04")
    results["bills"] = _bills(db)
    return results


def test_contract_prices_and_discounts_while_in_force(contracts):
    run = contracts["run_1"]
    assert run.returncode == 0, run.stdout + run.stderr
    # (unit price billed, list unit price, amount, list amount, amount due, late)
    assert contracts["lines_1"] == {
        ("acme", "GPT-4o input", "2026-04-01"): (
            D("2.00"), D("2.50"), D("2.00"), D("2.50"), D("2.00"), False,
        ),
        ("acme", "Qwen-Max output", "2026-04-01"): (
            D("8.16"), D("9.60"), D("10.07406672"), D("11.8518432"), D("10.07"), False,
        ),
        ("acme", "Google ASR", "2026-04-01"): (
            D("1.44"), D("1.44"), D("1.44"), D("1.44"), D("1.44"), False,
        ),
        ("globex", "GPT-4o input", "2026-04-01"): (
            D("2.50"), D("2.50"), D("2.50"), D("2.50"), D("2.50"), False,
        ),
    }  # fmt: skip


def test_the_list_price_outside_the_contract_and_late_usage_at_its_own_day(contracts):
    run = contracts["run_2"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert contracts["lines_2"] == {
        ("acme", "Google ASR", "2026-04-02"): (
            D("0.960048"), D("1.44"), D("0.960048"), D("1.44"), D("0.96"), False,
        ),
    }  # fmt: skip
    assert contracts["lines_3"] == {
        ("acme", "GPT-4o input", "2026-04-03"): (
            D("2.50"), D("2.50"), D("2.50"), D("2.50"), D("2.50"), False,
        ),
        ("acme", "GPT-4o input", "2026-04-01"): (
            D("2.00"), D("2.50"), D("1.00"), D("1.25"), D("1.00"), True,
        ),
        ("acme", "Google ASR", "2026-04-03"): (
            D("0.960048"), D("1.44"), D("0.480024"), D("0.72"), D("0.48"), False,
        ),
    }  # fmt: skip


def test_focus_list_cost_is_the_list_and_contracted_cost_what_was_billed(contracts):
    charges = {(str(day), tenant, item): rest for day, tenant, item, *rest in contracts["focus"]}
    # ListUnitPrice, ContractedUnitPrice, ListCost, ContractedCost, BilledCost, EffectiveCost
    assert charges[("2026-04-01", "acme", "GPT-4o input")] == [
        D("2.50"), D("2.00"), D("2.50"), D("2.00"), D("2.00"), D("2.00"),
    ]  # fmt: skip
    assert charges[("2026-04-01", "acme", "Qwen-Max output")] == [
        D("9.60"), D("8.16"), D("11.8518432"), D("10.07406672"), D("10.07"), D("10.07"),
    ]  # fmt: skip
    assert charges[("2026-04-01", "globex", "GPT-4o input")] == [
        D("2.50"), D("2.50"), D("2.50"), D("2.50"), D("2.50"), D("2.50"),
    ]  # fmt: skip


def test_contract_rows_that_would_rebill_closed_days_are_refused(contracts):
    refused = contracts["refused"]
    before = contracts["before_refusals"]
    seed = "seeds/contracts/tenant_prices.csv"
    expected = {
        "changed": (
            f"{seed}: row (acme, GPT-4o input, USD, 1.90, -, from 2026-04-01, to 2026-04-03)"
            " prices GPT-4o input for acme on 1 closed day 2026-04-01 differently from its"
            " issued lines (billed at 2.000000 USD, list 2.500000)"
        ),
        "backdated": (
            f"{seed}: row (globex, GPT-4o input, USD, -, 20 %, from 2026-04-01, to open)"
            " prices GPT-4o input for globex on 1 closed day 2026-04-01 differently from its"
            " issued lines (billed at 2.500000 USD, list 2.500000)"
        ),
        "removed": (
            f"{seed}: no row prices Google ASR for acme on 2 closed days 2026-04-02 to"
            " 2026-04-03 (billed at 0.960048 USD, list 1.440000)"
        ),
    }
    result = refused["billing_run"]
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Invalid contract price seed" in output and "nothing was written" in output, output
    for name, message in expected.items():
        assert message in output, (name, output)
    assert refused["billing_run_state"] == before
    # the late line of 04-01 at the contract price is a line of a closed day too
    assert "(billed at 2.000000 USD" in output
    build = refused["dbt_build"]
    assert build.returncode != 0
    build_output = build.stdout + build.stderr
    assert "Invalid contract price seed" in build_output
    for name, message in expected.items():
        assert message in build_output, (name, build_output)
    assert refused["dbt_build_state"] == before


def test_a_contract_from_an_open_day_bills_from_that_day(contracts):
    run = contracts["run_3"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert contracts["lines_4"] == {
        ("globex", "GPT-4o input", "2026-04-04"): (
            D("2.00"), D("2.50"), D("6.00"), D("7.50"), D("6.00"), False,
        ),
        ("acme", "Google ASR", "2026-04-01"): (
            D("1.44"), D("1.44"), D("1.44"), D("1.44"), D("1.44"), True,
        ),
    }  # fmt: skip
    # every bill, by hand: amount due per bill date, tenant and currency
    assert contracts["bills"] == {
        ("2026-04-01", "acme", "USD"): D("3.44"),  # 2.00 + 1.44
        ("2026-04-01", "acme", "CNY"): D("10.07"),
        ("2026-04-01", "globex", "USD"): D("2.50"),
        ("2026-04-02", "acme", "USD"): D("0.96"),
        ("2026-04-03", "acme", "USD"): D("3.98"),  # 2.50 + 1.00 late + 0.48
        ("2026-04-04", "globex", "USD"): D("6.00"),
        ("2026-04-04", "acme", "USD"): D("1.44"),  # late
    }


def test_contract_rows_that_are_not_prices_stop_the_run(tmp_path):
    project = project_copy(tmp_path)
    (project / "seeds" / "contracts" / "tenant_prices.csv").write_text(
        "tenant_id,billing_item,currency,unit_price,discount_percent,effective_from,effective_to\n"
        "acme,GPT-4o input,USD,2.1234567,,2026-04-01,\n"  # seven decimals
        "acme,GPT-4o output,USD,,120,2026-04-01,\n"  # more than 100 %
        "acme,Azure TTS,USD,0.01,10,2026-04-01,\n"  # both set
        "acme,AISpeech TTS,CNY,0.10,,2026-04-31,\n"  # no such day
        "acme,Qwen-Max input,USD,2.00,,2026-04-01,\n"  # the list prices it in CNY
        "acme,GPT-5 input,USD,1.00,,2026-04-01,\n"  # not on the price list
        "globex,Google ASR,USD,1.00,,2026-04-01,\n"
        "globex,Google ASR,USD,,10,2026-04-15,2026-05-01\n"  # overlaps the row above
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
    for test, shown in (
        ("assert_tenant_prices_name_listed_items", "Qwen-Max input"),
        ("assert_tenant_prices_name_listed_items", "GPT-5 input"),
        ("no_overlapping_validity_stg_contracts__tenant_prices", "globex"),
    ):
        assert test in output, (test, output)
        assert shown in output, (shown, output)
    # the rows breaking the seed's rules, each named with the first rule it breaks
    assert "stg_contracts__tenant_prices_row_rules" in output, output
    for rule, shown in (
        ("unit_price_is_a_number_with_at_most_six_decimals", "unit_price_text=2.1234567"),
        ("discount_is_a_percent_from_0_to_100_with_at_most_two_decimals", "=120"),
        ("set_a_unit_price_or_a_discount_percent", "billing_item=Azure TTS"),
        ("days_are_yyyy_mm_dd", "=2026-04-31"),
    ):
        assert shows_broken_rule(output, rule, shown), (rule, output)
    assert not table_exists(db, "ledger", "issued_bills") or not query(
        db, "select * from ledger.issued_bills"
    )
