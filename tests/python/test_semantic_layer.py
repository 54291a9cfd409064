"""The semantic layer: `mf query` (MetricFlow) gives the figures the marts give.

On the warehouse of the analytics fixture (conftest: analytics_bills). Expected
figures are worked out by hand from the fixture's events (see test_analytics.py and
test_statements.py for the amounts) and also computed in SQL from the marts.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, query

D = Decimal
MF = str(Path(sys.executable).parent / "mf")
DBT = str(Path(sys.executable).parent / "dbt")


def _in_project(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.fixture(scope="module")
def mf_env(analytics_bills) -> dict[str, str]:
    """The environment of a user's `mf query` on the fixture's warehouse.

    MetricFlow reads the semantic manifest from target/ of the project whatever
    DBT_TARGET_PATH says (conftest gives each pytest worker its own target folder), so
    the project is parsed into target/ first, as a user's own dbt build leaves it.
    """
    env = {name: value for name, value in os.environ.items() if name != "DBT_TARGET_PATH"}
    env["BILLING_DB_PATH"] = str(analytics_bills["db"])
    parsed = _in_project([DBT, "parse", "--quiet"], env)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert (REPO / "target" / "semantic_manifest.json").is_file()
    return env


def mf_query(mf_env, tmp_path, metrics: str, group_by: str) -> list[dict[str, str]]:
    out = tmp_path / "result.csv"
    result = _in_project(
        [MF, "query", "--metrics", metrics, "--group-by", group_by, "--csv", str(out)], mf_env
    )
    assert result.returncode == 0 and out.is_file(), result.stdout + result.stderr
    return list(csv.DictReader(out.read_text().splitlines()))


@pytest.fixture(scope="module")
def bills_by_day(mf_env, tmp_path_factory):
    return mf_query(
        mf_env,
        tmp_path_factory.mktemp("mf"),
        "amount_due,total_amount,bill_count",
        "metric_time__day,bill__currency",
    )


def test_amount_due_and_bill_count_per_day_and_currency(analytics_bills, bills_by_day):
    seen = {
        (row["metric_time__day"][:10], row["bill__currency"]): (
            D(row["amount_due"]),
            int(row["bill_count"]),
        )
        for row in bills_by_day
    }
    # by hand: 03-31 CNY acme 3.72 + globex 0.04, USD acme 0.32 + globex 2.24;
    # 04-01 CNY acme 1.43, USD globex 0.15
    assert seen == {
        ("2026-03-31", "CNY"): (D("3.76"), 2),
        ("2026-03-31", "USD"): (D("2.56"), 2),
        ("2026-04-01", "CNY"): (D("1.43"), 1),
        ("2026-04-01", "USD"): (D("0.15"), 1),
    }
    in_sql = query(
        analytics_bills["published"],
        "select cast(bill_date as varchar), currency, sum(amount_due), count(*), "
        "sum(total_amount) from marts.daily_bills group by all",
    )
    assert seen == {(day, currency): (due, count) for day, currency, due, count, _ in in_sql}
    exact = {
        (row["metric_time__day"][:10], row["bill__currency"]): D(row["total_amount"])
        for row in bills_by_day
    }
    assert exact == {(day, currency): total for day, currency, _, _, total in in_sql}


def test_usage_quantities_per_day(mf_env, tmp_path):
    rows = mf_query(
        mf_env,
        tmp_path,
        "billed_tokens,audio_hours,tts_characters",
        "metric_time__day",
    )
    seen = {
        row["metric_time__day"][:10]: (
            D(row["billed_tokens"]),
            D(row["audio_hours"]),
            D(row["tts_characters"]),
        )
        for row in rows
    }
    # tokens 03-31: 1,234,567 + 76,543 + 1,000 + 2,001 (Qwen-Max) + 50,000 (GPT-4o)
    # + 10,000 + 3,333 (Claude) = 1,377,444; 04-01: 98,765 + 4,321 + 1,000,000 + 500
    # + 500,000 = 1,603,586. Audio 03-31: 5 x 0.001 s + 5,400.5 s = 5,400.505 s
    # = 1.50014027... h. Characters 03-31: 12,345 + 125.
    assert seen["2026-03-31"][0] == 1_377_444
    assert seen["2026-04-01"][0] == 1_603_586
    assert abs(seen["2026-03-31"][1] - D("5400.505") / 3600) < D("1e-9")
    assert seen["2026-04-01"][1] == 0
    assert seen["2026-03-31"][2] == 12_470
