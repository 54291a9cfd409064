"""From hand-made usage files to bills: every priced item, both currencies, both formats.

The expected bills come from reference_billing.py (Python decimals, prices
typed from the pricing page), never from the pipeline's own output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, column_types, query, run_billing, write_jsonl, write_parquet
from reference_billing import expected_bills

from agent_billing.project import target_dir

BILLING_DATE = "2026-01-06"

# tenant "acme" uses CNY and USD items; "globex" only USD; "initech" only CNY.
LLM_JSONL = [
    # every priced model, input and output, with odd casing, spaces and snapshot ids
    {
        "event_id": "l01",
        "tenant_id": "acme",
        "agent_id": "a1",
        "occurred_at": "2026-01-05T01:00:00Z",
        "model": "qwen-max",
        "input_tokens": 1234567,
        "output_tokens": 76543,
    },
    {
        "event_id": "l02",
        "tenant_id": "acme",
        "agent_id": "a1",
        "occurred_at": "2026-01-05T09:30:00+08:00",
        "model": " Qwen-Max-Latest ",
        "input_tokens": "1000",
        "output_tokens": "2001",
    },
    {
        "event_id": "l03",
        "tenant_id": "acme",
        "agent_id": "a2",
        "occurred_at": "2026-01-05T12:00:00+08:00",
        "model": "DOUBAO-PRO-32K",
        "input_tokens": 333333,
        "output_tokens": 4444,
    },
    {
        "event_id": "l04",
        "tenant_id": "initech",
        "occurred_at": "2026-01-05T03:00:00Z",
        "model": "deepseek-chat",
        "input_tokens": 98765,
        "output_tokens": 4321,
    },
    {
        "event_id": "l05",
        "tenant_id": "acme",
        "agent_id": "a3",
        "occurred_at": "2026-01-05T04:00:00Z",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 50001,
        "output_tokens": 12345,
    },
    {
        "event_id": "l06",
        "tenant_id": "globex",
        "occurred_at": "2026-01-05T05:00:00Z",
        "model": "GPT-4o-mini-2024-07-18",
        "input_tokens": 777777,
        "output_tokens": 88888,
    },
    # the day boundary: 15:59:59Z is still the 5th in Shanghai, 16:00:00Z is the 6th
    {
        "event_id": "l07",
        "tenant_id": "globex",
        "occurred_at": "2026-01-05T15:59:59Z",
        "model": "gemini-1.5-pro-002",
        "input_tokens": 10000,
        "output_tokens": 1000,
    },
    {
        "event_id": "l08",
        "tenant_id": "globex",
        "occurred_at": "2026-01-05T16:00:00Z",
        "model": "gemini-1.5-pro",
        "input_tokens": 20000,
        "output_tokens": 2000,
    },
]
# the same schema as a Parquet file, with a typed timestamp and integer columns
LLM_PARQUET_SQL = """
select event_id, tenant_id, agent_id, occurred_at::timestamptz as occurred_at, model,
    input_tokens, output_tokens
from (values
    ('l09', 'globex', 'b1', '2026-01-05 06:00:00+00', 'Gemini-2.0-Flash-001', 400000, 90000),
    ('l10', 'globex', 'b1', '2026-01-05 07:00:00+00', 'claude-3-5-haiku-latest', 123456, 7890),
    ('l11', 'acme', 'a1', '2026-01-05 08:00:00+00', 'claude-3-7-sonnet-20250219', 65432, 1234),
    ('l12', 'acme', 'a1', '2026-01-06 01:00:00+00', 'claude-3-7-sonnet', 1000, 0)
) as t (event_id, tenant_id, agent_id, occurred_at, model, input_tokens, output_tokens)
"""
ASR_JSONL = [
    {
        "event_id": "s01",
        "tenant_id": "acme",
        "occurred_at": "2026-01-05T10:00:00+08:00",
        "vendor": "AISpeech",
        "audio_seconds": 12.345,
    },
    {
        "event_id": "s02",
        "tenant_id": "acme",
        "occurred_at": "2026-01-05T11:00:00+08:00",
        "vendor": "aispeech",
        "audio_seconds": "3600.001",
    },
    {
        "event_id": "s03",
        "tenant_id": "globex",
        "occurred_at": "2026-01-05T02:00:00Z",
        "vendor": "Google",
        "audio_seconds": 61.5,
    },
]
ASR_PARQUET_SQL = """
select 's04' as event_id, 'initech' as tenant_id, null::varchar as agent_id,
    '2026-01-05T02:00:00Z' as occurred_at, 'aispeech' as vendor,
    0.001::decimal(18, 3) as audio_seconds
"""
TTS_JSONL = [
    {
        "event_id": "t01",
        "tenant_id": "acme",
        "occurred_at": "2026-01-05T10:00:00Z",
        "vendor": "aispeech",
        "characters": 12345,
    },
    {
        "event_id": "t02",
        "tenant_id": "acme",
        "occurred_at": "2026-01-05T10:00:00Z",
        "vendor": "Volcano-Ark",
        "characters": "777",
    },
    {
        "event_id": "t03",
        "tenant_id": "acme",
        "occurred_at": "2026-01-05T10:00:00Z",
        "vendor": "AZURE",
        "characters": 4321,
    },
    {
        "event_id": "t04",
        "tenant_id": "globex",
        "occurred_at": "2026-01-05T23:00:00+08:00",
        "vendor": "azure",
        "characters": 1,
    },
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("usage")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    write_jsonl(root / "llm" / "date=2026-01-05" / "part-0.jsonl", LLM_JSONL)
    write_parquet(root / "llm" / "date=2026-01-05" / "part-1.parquet", LLM_PARQUET_SQL)
    write_jsonl(root / "asr" / "part-0.jsonl", ASR_JSONL)
    write_parquet(root / "asr" / "deep" / "er" / "part-1.parquet", ASR_PARQUET_SQL)
    write_jsonl(root / "tts" / "2026" / "01" / "05.jsonl", TTS_JSONL)
    result = run_billing("run", "--date", BILLING_DATE, "--usage-root", str(root), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    return db, result


def _parquet_llm_events() -> list[dict]:
    return [
        {
            "tenant_id": "globex",
            "occurred_at": "2026-01-05T06:00:00Z",
            "model": "gemini-2.0-flash-001",
            "input_tokens": 400000,
            "output_tokens": 90000,
        },
        {
            "tenant_id": "globex",
            "occurred_at": "2026-01-05T07:00:00Z",
            "model": "claude-3-5-haiku-latest",
            "input_tokens": 123456,
            "output_tokens": 7890,
        },
        {
            "tenant_id": "acme",
            "occurred_at": "2026-01-05T08:00:00Z",
            "model": "claude-3-7-sonnet-20250219",
            "input_tokens": 65432,
            "output_tokens": 1234,
        },
        {
            "tenant_id": "acme",
            "occurred_at": "2026-01-06T01:00:00Z",
            "model": "claude-3-7-sonnet",
            "input_tokens": 1000,
            "output_tokens": 0,
        },
    ]


def _expected():
    asr_parquet = [
        {
            "tenant_id": "initech",
            "occurred_at": "2026-01-05T02:00:00Z",
            "vendor": "aispeech",
            "audio_seconds": "0.001",
        }
    ]
    return expected_bills(
        {
            "llm": LLM_JSONL + _parquet_llm_events(),
            "asr": ASR_JSONL + asr_parquet,
            "tts": TTS_JSONL,
        }
    )


def test_every_line_matches_the_hand_computation(built):
    db, _ = built
    expected_lines, _ = _expected()
    actual = {
        (bill_date, tenant, item): (currency, quantity, amount, amount_due, events)
        for bill_date, tenant, item, currency, quantity, amount, amount_due, events in query(
            db,
            "select bill_date, tenant_id, billing_item, currency, quantity, amount, amount_due, "
            "event_count from marts.bill_line_items",
        )
    }
    assert actual == expected_lines
    # every priced billing item of the pricing page appears at least once
    assert len({item for _, _, item in actual}) == 23


def test_every_bill_matches_the_hand_computation(built):
    db, _ = built
    _, expected = _expected()
    actual = {
        (bill_date, tenant, currency): (total, due, lines)
        for bill_date, tenant, currency, total, due, lines in query(
            db,
            "select bill_date, tenant_id, currency, total_amount, amount_due, line_count "
            "from marts.daily_bills",
        )
    }
    assert actual == expected
    # acme pays in both currencies on the 5th: two bills, no conversion
    assert {c for (d, t, c) in actual if t == "acme" and str(d) == "2026-01-05"} == {"CNY", "USD"}


def test_hand_checked_amounts(built):
    """A few amounts worked out on paper, as a check on the reference itself."""
    db, _ = built
    rows = dict(
        ((tenant, str(day), item), (amount, due))
        for tenant, day, item, amount, due in query(
            db,
            "select tenant_id, usage_date, billing_item, amount, amount_due "
            "from marts.bill_line_items",
        )
    )
    # (1,234,567 + 1,000) x 2.40 / 1e6 = 2.9653608
    assert rows[("acme", "2026-01-05", "Qwen-Max input")] == (
        Decimal("2.965360800000"),
        Decimal("2.97"),
    )
    # (12.345 + 3600.001) s x 5.00 / 3600 = 18061.73 / 3600 = 5.017147222222...
    assert rows[("acme", "2026-01-05", "AISpeech ASR")] == (
        Decimal("5.017147222222"),
        Decimal("5.02"),
    )
    # 1 character x 0.015 / 1000
    assert rows[("globex", "2026-01-05", "Azure TTS")] == (
        Decimal("0.000015000000"),
        Decimal("0.00"),
    )
    # 15:59:59Z and 16:00:00Z fall on two Shanghai days
    assert ("globex", "2026-01-06", "Gemini-1.5-pro input") in rows


def test_money_columns_are_exact_decimals(built):
    db, _ = built
    lines = column_types(db, "bill_line_items")
    bills = column_types(db, "daily_bills")
    assert lines["amount"] == "DECIMAL(38,12)"
    assert lines["amount_due"] == "DECIMAL(38,2)"
    assert lines["unit_price"] == "DECIMAL(18,6)"
    for column in ("model_fee", "asr_fee", "tts_fee", "smart_voice_fee", "total_amount"):
        assert bills[column] == "DECIMAL(38,12)"
    assert bills["amount_due"] == "DECIMAL(38,2)"
    assert bills["bill_date"] == "DATE"


def test_all_records_are_billed_and_the_run_says_so(built):
    db, result = built
    assert query(
        db,
        "select stream, raw_events, billed_events, duplicate_events + unpriced_events "
        "+ rejected_events + pending_events from marts.usage_reconciliation order by stream",
    ) == [("asr", 4, 4, 0), ("llm", 12, 12, 0), ("tts", 4, 4, 0)]
    assert "Closed every day up to 2026-01-06" in result.stdout
    assert "llm: 12 raw in 2 files = 12 billed" in result.stdout


def test_plain_dbt_build_runs_every_unit_test_and_passes(tmp_path):
    """What an orchestrator runs; `billing run` leaves the unit tests to CI, this is CI."""
    root = tmp_path / "usage"
    write_jsonl(root / "llm" / "part-0.jsonl", LLM_JSONL)
    env = dict(os.environ, BILLING_DB_PATH=str(tmp_path / "billing.duckdb"))
    dbt = str(Path(sys.executable).parent / "dbt")
    dbt_vars = json.dumps({"usage_root": str(root), "billing_date": BILLING_DATE})
    result = subprocess.run(
        [dbt, "build", "--vars", dbt_vars], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((target_dir(REPO) / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) == 21
    assert {r["status"] for r in unit_tests} == {"pass"}
