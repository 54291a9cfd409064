"""Settings that would make issued bills wrong for good are refused before anything is written.

A day still running, another billing zone than the warehouse's, and a price list that
disagrees with the prices of closed days: each is refused by `billing run` (exit 2) and by a
plain `dbt build` alike, with the bills, the lines, the ledger, the warehouse file and the
published file left byte for byte as they were; then the right command bills as expected. (A
price changed the right way, from a day still open, is accepted and bills late usage at its
own day's price: test_across_runs.py; a price given to an item that had none bills its waiting
usage: test_daily_run.py.)

Every test works on its own copy of one warehouse billed through 2026-04-02.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import llm_event, project_copy, query, run_billing, run_dbt, write_jsonl

D = Decimal


# Billing days in Asia/Shanghai (UTC+8).
DAY_1 = {
    "llm": [
        llm_event("e1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1000, 100),
        # no price on the pricing page: unpriced until a price is added
        llm_event("m1", "acme", "2026-04-01T06:00:00Z", "mistral-large", 100000, 10000),
    ],
    "asr": [
        {
            "event_id": "s1",
            "tenant_id": "acme",
            "occurred_at": "2026-04-01T03:00:00Z",
            "vendor": "aispeech",
            "audio_seconds": "36",
        }
    ],
    "tts": [
        {
            "event_id": "t1",
            "tenant_id": "globex",
            "occurred_at": "2026-04-01T04:00:00Z",
            "vendor": "azure",
            "characters": 2000,
        }
    ],
}
DAY_2 = {
    "llm": [llm_event("e2", "globex", "2026-04-02T02:00:00Z", "gpt-4o", 4000, 0)],
    "tts": [
        {
            "event_id": "t2",
            "tenant_id": "globex",
            "occurred_at": "2026-04-02T03:00:00Z",
            "vendor": "azure",
            "characters": 1000,
        }
    ],
}
# 2026-04-03 10:00 in Shanghai: pending after the first run, billed by a run for the 3rd
D3 = llm_event("d3", "acme", "2026-04-03T02:00:00Z", "gpt-4o", 1_000_000, 0)
STATE_SQLS = (
    "select * from marts.daily_bills order by all",
    "select * from marts.bill_line_items order by all",
    "select status, reason, count(*) from ledger.usage_records group by all order by all",
    "select * from ledger.billing_runs order by all",
    "select * from marts.usage_reconciliation order by all",
)


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> Path:
    """A warehouse and its published file, billed through 2026-04-02 in Asia/Shanghai."""
    root = tmp_path_factory.mktemp("guarded")
    usage = root / "usage"
    for day, streams in (("2026-04-01", DAY_1), ("2026-04-02", DAY_2)):
        for stream, events in streams.items():
            write_jsonl(usage / stream / f"date={day}" / "part-0.jsonl", events)
    write_jsonl(usage / "llm" / "date=2026-04-03" / "part-0.jsonl", [D3])
    db = root / "warehouse" / "billing.duckdb"
    result = run_billing("run", "--date", "2026-04-02", "--usage-root", str(usage), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def books(billed, tmp_path) -> dict[str, Path]:
    """This test's own copy of the billed warehouse, its published file and the usage."""
    shutil.copytree(billed / "warehouse", tmp_path / "warehouse")
    shutil.copytree(billed / "usage", tmp_path / "usage")
    db = tmp_path / "warehouse" / "billing.duckdb"
    return {
        "db": db,
        "published": db.with_name("billing_published.duckdb"),
        "usage": tmp_path / "usage",
    }


def _state(books) -> tuple:
    """Everything a refused run must leave as it was, the files byte for byte."""
    digests = tuple(
        hashlib.sha256(books[name].read_bytes()).hexdigest() for name in ("db", "published")
    )
    return tuple(query(books["db"], sql) for sql in STATE_SQLS) + digests


def _today_in_shanghai() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _refused(result, *words: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    for word in words:
        assert word in output, (word, output)
    assert "nothing was written" in output
    return output


def _bills_of(db: Path, bill_date: str) -> dict:
    return {
        (tenant, currency): (total, due, lines, late)
        for tenant, currency, total, due, lines, late in query(
            db,
            "select tenant_id, currency, total_amount, amount_due, line_count, late_line_count "
            f"from marts.daily_bills where bill_date = '{bill_date}'",
        )
    }


def test_billing_run_refuses_a_day_still_running_and_another_zone(books):
    before = _state(books)
    today = _today_in_shanghai().isoformat()
    usage = ("--usage-root", str(books["usage"]))

    result = run_billing("run", "--date", today, *usage, db=books["db"])
    _refused(result, "Invalid dbt var 'billing_date'", f"'{today}' is not before today")
    assert _state(books) == before

    result = run_billing("run", "--date", "2026-04-03", "--timezone", "UTC", *usage, db=books["db"])
    _refused(result, "Invalid dbt var 'billing_timezone'", "'UTC'", "Asia/Shanghai")
    assert _state(books) == before

    status = run_billing("status", db=books["db"])
    assert "Last run: refused" in status.stdout and "'UTC'" in status.stdout
    assert "Billing zone: Asia/Shanghai" in status.stdout
    assert "Last closed day: 2026-04-02" in status.stdout
    [(catalog_version,)] = query(books["db"], "select catalog_version from ledger.billing_runs")
    assert len(catalog_version) == 32
    assert f"Price catalog last billed with: {catalog_version}" in status.stdout

    # the corrected command: the 3rd, in the warehouse's zone
    result = run_billing("run", "--date", "2026-04-03", *usage, db=books["db"])
    assert result.returncode == 0, result.stdout + result.stderr
    # d3: 1,000,000 GPT-4o input tokens x 2.50 USD / 1M = 2.50 USD
    assert _bills_of(books["db"], "2026-04-03") == {("acme", "USD"): (D("2.5"), D("2.5"), 1, 0)}


def test_a_plain_dbt_build_is_refused_the_same_way(books):
    before = _state(books)
    usage_root = books["usage"]
    for extra, words in (
        # a typo for 2026: it would close every day up to 2062
        ('billing_date: "2062-11-20"', ("Invalid dbt var 'billing_date'", "not before today")),
        (
            'billing_date: "2026-04-03", billing_timezone: UTC',
            ("Invalid dbt var 'billing_timezone'", "Asia/Shanghai"),
        ),
    ):
        result = run_dbt(
            "build", "--vars", f'{{usage_root: "{usage_root}", {extra}}}', db=books["db"]
        )
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert all(word in output for word in words), output
        assert _state(books) == before


def test_prices_edited_under_closed_days_are_refused(books, tmp_path):
    project = project_copy(tmp_path)
    pricing = project / "seeds" / "pricing"
    llm = pricing / "llm_token_prices.csv"
    # edited in place: GPT-4o input billed at 2.50 on the 1st and the 2nd
    llm.write_text(
        llm.read_text().replace(
            "GPT-4o input,USD,2.50,2020-01-01,", "GPT-4o input,USD,5.00,2020-01-01,"
        )
    )
    asr = pricing / "asr_prices.csv"
    # removed: AISpeech ASR billed on the 1st
    asr.write_text(
        "".join(line for line in asr.read_text().splitlines(True) if "AISpeech ASR" not in line)
    )
    tts = pricing / "tts_prices.csv"
    # a new row overlapping the one Azure TTS was billed at on the 2nd
    tts.write_text(tts.read_text() + "azure,Azure,Azure TTS,USD,0.020,2026-04-02,\n")
    before = _state(books)

    result = run_billing(
        "run",
        "--date",
        "2026-04-03",
        "--usage-root",
        str(books["usage"]),
        db=books["db"],
        project=project,
    )
    output = _refused(
        result,
        "Invalid price seed",
        "seeds/pricing/llm_token_prices.csv: row (GPT-4o input, USD, 5.00, from 2020-01-01,"
        " to open) prices GPT-4o input on 2 closed days 2026-04-01 to 2026-04-02",
        "(2.500000 USD)",
        "seeds/pricing/asr_prices.csv: no row prices AISpeech ASR on 1 closed day 2026-04-01",
        "seeds/pricing/tts_prices.csv: 2 rows price Azure TTS on 1 closed day 2026-04-02",
        "end the old row (effective_to) on a day not closed yet",
    )
    # Azure TTS on the 1st still has exactly one row in force at its price
    assert "Azure TTS on 2 closed days" not in output
    assert _state(books) == before

    usage_root = books["usage"]
    result = run_dbt(
        "build",
        "--vars",
        f'{{usage_root: "{usage_root}", billing_date: "2026-04-03"}}',
        db=books["db"],
        project=project,
    )
    assert result.returncode != 0
    assert "Invalid price seed" in result.stdout + result.stderr
    assert _state(books) == before
