"""The analyst-facing marts and commands: FOCUS charges, statements, agent costs, exports, show.

Two daily runs over a hand-made fixture (conftest: analytics_bills): 03-31 and
04-01, with late usage of 03-31 billed on 04-01. Expected values come from
reference_billing.py (Python decimals, prices from the pricing page) or are
worked out by hand in the comments; none is copied from the pipeline's output.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from conftest import analytics_billed_events, query, run_billing
from openpyxl import load_workbook
from reference_billing import catalog_items, expected_lines_by_bill

D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def published(analytics_bills) -> Path:
    return analytics_bills["published"]


@pytest.fixture(scope="module")
def expected_lines():
    return expected_lines_by_bill(analytics_billed_events())


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


# --- FOCUS -------------------------------------------------------------------------------


def test_focus_charges_are_the_bill_lines_in_focus_terms(published, expected_lines):
    rows = query(
        published,
        """
        select
            "x_BillDate", "SubAccountId", "x_BillingItem", "x_UsageDate", "BillingAccountId",
            "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
            "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit",
            "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd",
            "ChargeCategory", "ServiceCategory", "InvoiceId", "x_IsLate", "PublisherName",
            "ProviderName", "InvoiceIssuerName", "ListUnitPrice", "ContractedUnitPrice",
            "SkuId", "SkuPriceId", "SkuMeter"
        from marts.focus_charges
        """,
    )
    assert len(rows) == len(expected_lines)
    catalog = catalog_items()
    meters = {
        "input": "Input Tokens",
        "output": "Output Tokens",
        "audio": "Audio Seconds",
        "characters": "Output Characters",
    }
    publishers = {
        "llm": {
            "qwen-max": "Alibaba Cloud",
            "gpt-4o": "OpenAI",
            "gpt-4o-mini": "OpenAI",
            "claude-3-7-sonnet": "Anthropic",
        }
    }
    divisor = {"Tokens": D(1_000_000), "Seconds": D(3600), "Characters": D(1000)}
    unit = {"Tokens": "1000000 Tokens", "Seconds": "Hours", "Characters": "1000 Characters"}
    for row in rows:
        (bill_date, tenant, item, usage_date, account, currency, billed, effective, listed,
         contracted, consumed, consumed_unit, pricing_quantity, pricing_unit, charge_start,
         charge_end, period_start, period_end, category, service_category, invoice, is_late,
         publisher, provider, issuer, list_unit_price, contracted_unit_price, sku, sku_price,
         meter) = row  # fmt: skip
        line_currency, quantity, amount, amount_due, _ = expected_lines[
            (bill_date, tenant, item, usage_date)
        ]
        assert (account, currency) == (tenant, line_currency)
        assert billed == effective == amount_due
        assert listed == contracted == amount
        assert consumed == quantity
        assert pricing_unit == unit[consumed_unit]
        assert pricing_quantity == (quantity / divisor[consumed_unit]).quantize(
            D("0.000000000001"), rounding=ROUND_HALF_UP
        )
        assert charge_start == _day_start(usage_date)
        assert charge_end == _day_start(usage_date + dt.timedelta(days=1))
        assert period_start == _day_start(bill_date)
        assert period_end == _day_start(bill_date + dt.timedelta(days=1))
        assert (category, service_category) == ("Usage", "AI and Machine Learning")
        assert invoice == f"{bill_date}/{tenant}/{currency}"
        assert is_late == (usage_date < bill_date)
        assert (provider, issuer) == ("Agent Platform", "Agent Platform")
        assert publisher
        # the price per pricing unit (1M tokens, hour, 1K characters) of the pricing page,
        # and the SKU of the billing item and of its price (which starts on 2020-01-01)
        stream, catalog_item, component, _currency, list_price = catalog[item]
        assert list_unit_price == contracted_unit_price == list_price
        assert sku == f"{stream}/{catalog_item}/{component}"
        assert sku_price == f"{stream}/{catalog_item}/{component}/2020-01-01"
        assert meter == meters[component]
        if catalog_item in publishers.get(stream, {}):
            assert publisher == publishers[stream][catalog_item]
    # 03-31 in Shanghai starts at 03-30T16:00Z (worked out by hand)
    assert _day_start(dt.date(2026, 3, 31)) == dt.datetime(2026, 3, 30, 16, tzinfo=dt.UTC)


def test_focus_billed_cost_ties_out_to_the_bills_per_currency(published, expected_lines):
    focus = dict(
        query(
            published,
            'select "BillingCurrency", sum("BilledCost") from marts.focus_charges group by 1',
        )
    )
    bills = dict(
        query(published, "select currency, sum(amount_due) from marts.daily_bills group by 1")
    )
    reference: dict[str, Decimal] = defaultdict(Decimal)
    for currency, _q, _a, amount_due, _e in expected_lines.values():
        reference[currency] += amount_due
    # by hand: CNY 3.72 + 1.43 (acme) + 0.04 (globex); USD 0.32 (acme) + 2.24 + 0.15 (globex)
    assert focus == bills == reference == {"CNY": D("5.19"), "USD": D("2.71")}


def test_a_late_charge_keeps_its_usage_day_as_charge_period(published):
    rows = query(
        published,
        """
        select "ChargeDescription", "ChargePeriodStart", "BillingPeriodStart", "BilledCost"
        from marts.focus_charges where "x_IsLate"
        """,
    )
    # e7: 500,000 Qwen-Max input tokens of 03-31 on the 04-01 bill: 500,000 x 2.40 / 1e6 = 1.20
    assert rows == [
        (
            "Qwen-Max input on 2026-03-31 (late usage, billed on 2026-04-01)",
            dt.datetime(2026, 3, 30, 16, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 31, 16, tzinfo=dt.UTC),
            D("1.20"),
        )
    ]


def test_sku_price_details_are_one_json_object_per_sku_price(published):
    rows = query(
        published,
        'select "SkuPriceId", "SkuPriceDetails", "ListUnitPrice", "PricingUnit", '
        '"x_BillingItem" from marts.focus_charges',
    )
    details: dict[str, set[str]] = defaultdict(set)
    for sku_price_id, text, unit_price, _unit, billing_item in rows:
        details[sku_price_id].add(text)
        parsed = json.loads(text, parse_float=Decimal)
        assert parsed["BillingItem"] == billing_item
        assert parsed["ListUnitPrice"] == unit_price
        assert sku_price_id.endswith("/" + parsed["PriceEffectiveFrom"])
        assert all(key[0].isupper() and not key.startswith("F_") for key in parsed)
    assert all(len(texts) == 1 for texts in details.values())  # shared by the SkuPriceId
    # one unit of PricingUnit in consumed units, by the pricing page
    per_unit = {
        sku: json.loads(next(iter(texts)))["ConsumedUnitsPerPricingUnit"]
        for sku, texts in details.items()
    }
    assert per_unit["llm/qwen-max/input/2020-01-01"] == 1_000_000  # per million tokens
    assert per_unit["asr/google/audio/2020-01-01"] == 3600  # per hour of audio seconds
    assert per_unit["tts/azure/characters/2020-01-01"] == 1000  # per thousand characters


# --- statements ----------------------------------------------------------------------------


def test_monthly_statements_roll_up_the_bills_and_show_late_usage(published):
    rows = query(
        published,
        """
        select tenant_id, currency, statement_month, bill_count, amount_due, late_line_count,
            late_amount_due, earliest_late_usage_date, is_final
        from marts.monthly_statements order by all
        """,
    )
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    late_day = dt.date(2026, 3, 31)
    # amounts due worked out by hand (see the module's docstring for the events):
    # acme CNY 03-31: Qwen-Max in 1,235,567 x 2.40 = 2.9653608 -> 2.97, out 78,544 x 9.60
    #   = 0.7540224 -> 0.75, AISpeech 0.005 s -> 0.00: 3.72
    # acme CNY 04-01: DeepSeek in 0.19753 -> 0.20, out 0.034568 -> 0.03, late Qwen-Max 1.20: 1.43
    # acme USD 03-31: GPT-4o in 0.125 -> 0.13, Azure TTS 0.185175 -> 0.19: 0.32
    # globex CNY 03-31: Volcano Ark 0.0375 -> 0.04
    # globex USD 03-31: Claude in 0.03, out 0.049995 -> 0.05, Google ASR 2.1602 -> 2.16: 2.24
    # globex USD 04-01: GPT-4o-mini in 0.15, out 0.0003 -> 0.00: 0.15
    assert rows == [
        ("acme", "CNY", march, 1, D("3.72"), 0, D("0.00"), None, True),
        ("acme", "CNY", april, 1, D("1.43"), 1, D("1.20"), late_day, False),
        ("acme", "USD", march, 1, D("0.32"), 0, D("0.00"), None, True),
        ("globex", "CNY", march, 1, D("0.04"), 0, D("0.00"), None, True),
        ("globex", "USD", march, 1, D("2.24"), 0, D("0.00"), None, True),
        ("globex", "USD", april, 1, D("0.15"), 0, D("0.00"), None, False),
    ]


# --- cost per agent -----------------------------------------------------------------------


def test_agent_costs_match_each_agents_own_computation(published):
    rows = query(
        published,
        "select bill_date, tenant_id, agent_id, billing_item, usage_date, quantity, amount, "
        "event_count from marts.agent_daily_costs",
    )
    by_agent: dict[str | None, list] = defaultdict(list)
    for stream, bill_date, event in analytics_billed_events():
        by_agent[event.get("agent_id")].append((stream, bill_date, event))
    expected = {}
    for agent, events in by_agent.items():
        for key, (_c, quantity, amount, _due, count) in expected_lines_by_bill(events).items():
            expected[(*key[:2], agent, *key[2:])] = (quantity, amount, count)
    assert len(rows) == len(expected)
    for bill_date, tenant, agent, item, usage_date, quantity, amount, count in rows:
        want_quantity, want_amount, want_count = expected[
            (bill_date, tenant, agent, item, usage_date)
        ]
        assert (quantity, count) == (want_quantity, want_count)
        if item.endswith("ASR"):
            # rounded at 1e-12 per agent, then made to add up to the line: within 1e-12
            assert abs(amount - want_amount) <= D("0.000000000001")
        else:
            assert amount == want_amount  # tokens and characters: exact


def test_agent_costs_add_up_to_the_bill_lines_to_the_last_digit(published):
    mismatches = query(
        published,
        """
        select lines.billing_item, lines.amount, sum(agents.amount)
        from marts.bill_line_items as lines
        inner join marts.agent_daily_costs as agents
            using (bill_date, tenant_id, billing_item, usage_date)
        group by all
        having lines.amount <> sum(agents.amount) or lines.quantity <> sum(agents.quantity)
        """,
    )
    assert mismatches == []
    # five agents of 0.001 s of AISpeech ASR: 0.000001388888... each rounds up to
    # 0.000001388889, the line (0.005 s) is 0.000006944444: a1 (first by id) gives 1e-12 back
    asr = query(
        published,
        "select agent_id, amount from marts.agent_daily_costs "
        "where billing_item = 'AISpeech ASR' order by agent_id",
    )
    assert asr == [
        ("a1", D("0.000001388888")),
        ("a2", D("0.000001388889")),
        ("a3", D("0.000001388889")),
        ("a4", D("0.000001388889")),
        ("a5", D("0.000001388889")),
    ]
    assert sum(amount for _, amount in asr) == D("0.000006944444")


# --- billing export ------------------------------------------------------------------------


def _export(analytics_bills, tenant: str, out: Path):
    return run_billing("export", "--tenant", tenant, "--out", str(out), db=analytics_bills["db"])


def test_export_holds_the_tenant_alone_in_parquet_and_csv(analytics_bills, published, tmp_path):
    out = tmp_path / "acme"
    result = _export(analytics_bills, "acme", out)
    assert result.returncode == 0, result.stderr
    tables = {
        "daily_bills": "tenant_id",
        "bill_line_items": "tenant_id",
        "monthly_statements": "tenant_id",
        "focus_charges": '"SubAccountId"',
        "agent_daily_costs": "tenant_id",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tenant_id"] == "acme"
    assert manifest["amount_due_by_currency"] == {"CNY": "5.15", "USD": "0.32"}  # 3.72 + 1.43
    for table, tenant_column in tables.items():
        in_published = query(
            published, f"select * from marts.{table} where {tenant_column} = 'acme' order by all"
        )
        with duckdb.connect() as connection:
            exported = connection.execute(
                f"select * from '{out / table}.parquet' order by all"
            ).fetchall()
            tenants = connection.execute(
                f"select distinct {tenant_column} from '{out / table}.parquet'"
            ).fetchall()
        assert exported == in_published, table  # same rows, same exact types
        assert tenants == [("acme",)], table
        assert manifest["row_counts"][table] == len(in_published)
        for name in (f"{table}.parquet", f"{table}.csv"):
            assert b"globex" not in (out / name).read_bytes(), name


def test_export_csv_writes_amounts_as_quoted_text(analytics_bills, tmp_path):
    out = tmp_path / "globex"
    assert _export(analytics_bills, "globex", out).returncode == 0
    text = (out / "daily_bills.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    amounts = {(row["bill_date"], row["currency"]): row["amount_due"] for row in rows}
    assert amounts == {
        ("2026-03-31", "CNY"): "0.04",
        ("2026-03-31", "USD"): "2.24",
        ("2026-04-01", "USD"): "0.15",
    }
    # 5400.5 s of Google ASR: 5400.5 x 1.44 / 3600 = 2.1602, all 12 decimals kept, quoted
    assert '"2.160200000000"' in (out / "bill_line_items.csv").read_text()


def test_export_csv_writes_instants_in_iso_8601_utc(analytics_bills, tmp_path):
    out = tmp_path / "globex"
    assert _export(analytics_bills, "globex", out).returncode == 0
    rows = list(csv.DictReader((out / "focus_charges.csv").read_text().splitlines()))
    # the bill day 2026-03-31 in Asia/Shanghai runs from 2026-03-30T16:00:00Z
    periods = {
        (row["ChargePeriodStart"], row["ChargePeriodEnd"])
        for row in rows
        if row["x_BillDate"] == "2026-03-31"
    }
    assert periods == {("2026-03-30T16:00:00Z", "2026-03-31T16:00:00Z")}
    issued = [
        row["issued_at"]
        for row in csv.DictReader((out / "daily_bills.csv").read_text().splitlines())
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", i) for i in issued)


def test_export_workbook_has_numbers_to_the_cent_and_exact_text(analytics_bills, tmp_path):
    out = tmp_path / "globex"
    assert _export(analytics_bills, "globex", out).returncode == 0
    book = load_workbook(out / "bills.xlsx")
    assert book.sheetnames == [
        "daily_bills",
        "bill_line_items",
        "monthly_statements",
        "focus_charges",
        "agent_daily_costs",
    ]
    bills = book["daily_bills"]
    header = [cell.value for cell in bills[1]]
    due = header.index("amount_due")
    total = header.index("total_amount")
    day = header.index("bill_date")
    cells = {
        (row[day].value.date().isoformat(), row[header.index("currency")].value): row
        for row in bills.iter_rows(min_row=2)
    }
    # the same amounts as the CSV above, as numbers shown to the cent
    assert {key: row[due].value for key, row in cells.items()} == {
        ("2026-03-31", "CNY"): 0.04,
        ("2026-03-31", "USD"): 2.24,
        ("2026-04-01", "USD"): 0.15,
    }
    for row in cells.values():
        assert row[due].data_type == "n"
        assert row[due].number_format == "#,##0.00"
        assert row[day].number_format == "yyyy-mm-dd"
        assert row[total].data_type == "s"  # 12 decimals: exact text
    # Google ASR 5400.5 s x 1.44 / 3600 = 2.1602, every decimal kept
    lines = book["bill_line_items"]
    header = [cell.value for cell in lines[1]]
    amounts = [row[header.index("amount")].value for row in lines.iter_rows(min_row=2)]
    assert "2.160200000000" in amounts
    # the other tenant nowhere
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            assert "acme" not in row, sheet.title


def test_export_refuses_an_unknown_tenant_and_writes_nothing(analytics_bills, tmp_path):
    # a wildcard, a pattern, a case or spacing variant of a real tenant: none of them is one
    for tenant in ("nobody", "acme' or '1'='1", "", "%", "acm_", "a%", "ACME", " acme", "Globex"):
        out = tmp_path / "out"
        result = _export(analytics_bills, tenant, out)
        assert result.returncode == 2, tenant
        assert "no bill for tenant" in result.stderr
        assert not out.exists()
        shown = run_billing("show", "--tenant", tenant, db=analytics_bills["db"])
        assert shown.returncode == 2, tenant
        assert "acme" not in shown.stdout and "globex" not in shown.stdout


# --- billing show --------------------------------------------------------------------------


def test_show_prints_the_bill_a_person_reads(analytics_bills):
    result = run_billing("show", "--tenant", "acme", db=analytics_bills["db"])
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # the latest bill (04-01), CNY: the late line is marked and priced at 03-31's price
    assert "Bill of 2026-04-01 for tenant acme, in CNY" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["Qwen-Max", "input", "2026-03-31*", "500,000", "tokens", "2.40", "CNY", "/", "1M",
            "tokens", "1.20"] in lines  # fmt: skip
    assert ["Deepseek-Chat", "input", "2026-04-01", "98,765", "tokens", "2.00", "CNY", "/",
            "1M", "tokens", "0.20"] in lines  # fmt: skip
    assert ["Model", "fees", "1.43"] in lines
    assert ["Smart", "voice", "fees", "(ASR", "+", "TTS)", "0.00"] in lines
    assert ["Total", "due", "(CNY)", "1.43"] in lines
    assert "* late usage of an earlier day" in text


def test_show_a_given_day_prints_one_bill_per_currency(analytics_bills):
    result = run_billing(
        "show", "--tenant", "globex", "--date", "2026-03-31", db=analytics_bills["db"]
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["Google", "ASR", "2026-03-31", "5,400.5", "seconds", "1.44", "USD", "/", "hour",
            "2.16"] in lines  # fmt: skip
    assert ["Volcano", "Ark", "TTS", "2026-03-31", "125", "characters", "0.30", "CNY", "/",
            "1K", "characters", "0.04"] in lines  # fmt: skip
    assert ["Total", "due", "(CNY)", "0.04"] in lines
    assert ["Total", "due", "(USD)", "2.24"] in lines
    missing = run_billing(
        "show", "--tenant", "globex", "--date", "2026-03-01", db=analytics_bills["db"]
    )
    assert missing.returncode == 2
    assert "no bill for tenant 'globex' on 2026-03-01" in missing.stderr
