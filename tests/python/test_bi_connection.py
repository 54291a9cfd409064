"""BI tools reach the published bills through SQLAlchemy and duckdb-engine, read-only, hardened.

The same URL and connect_args as in docs/analysts-and-bi.md ("BI tools"), on the published
file of two daily runs (conftest: analytics_bills). Expected totals are worked
out by hand in test_analytics.py's comments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

D = Decimal
HARDENED = {
    "read_only": True,
    "config": {"enable_external_access": False, "lock_configuration": True},
}


@pytest.fixture(scope="module")
def engine(analytics_bills) -> Engine:
    engine = create_engine(f"duckdb:///{analytics_bills['published']}", connect_args=HARDENED)
    yield engine
    engine.dispose()


def test_the_marts_are_listed_with_exact_types(engine):
    with engine.connect() as connection:
        inspector = inspect(connection)
        assert set(inspector.get_table_names(schema="marts")) == {
            "daily_bills",
            "bill_line_items",
            "monthly_statements",
            "focus_charges",
            "agent_daily_costs",
            "unpriced_usage",
            "rejected_usage",
            "usage_reconciliation",
            "budget_status",
            "spend_anomalies",
        }
        columns = {c["name"]: c for c in inspector.get_columns("daily_bills", schema="marts")}
        assert (columns["amount_due"]["type"].precision, columns["amount_due"]["type"].scale) == (
            38,
            2,
        )
        assert columns["amount_due"]["comment"].startswith("What the tenant pays")
        amounts = connection.execute(text("select amount_due from marts.daily_bills")).scalars()
        assert all(isinstance(amount, Decimal) for amount in amounts)


def test_the_queries_an_analyst_runs(engine):
    with engine.connect() as connection:
        # a tenant's month
        april = connection.execute(
            text(
                "select currency, sum(amount_due) from marts.daily_bills "
                "where tenant_id = :tenant and bill_date between :first and :last "
                "group by currency"
            ),
            {"tenant": "acme", "first": dt.date(2026, 4, 1), "last": dt.date(2026, 4, 30)},
        ).all()
        assert april == [("CNY", D("1.43"))]
        # spend by model: GPT-4o input 50,000 x 2.50 / 1e6 = 0.125 (acme); Qwen-Max input
        # 1,735,567 x 2.40 / 1e6 = 4.1653608 and output 78,544 x 9.60 / 1e6 = 0.7540224
        by_model = dict(
            connection.execute(
                text(
                    "select catalog_item || ' ' || currency, sum(amount) "
                    "from marts.bill_line_items where fee_type = 'model' group by all"
                )
            ).all()
        )
        assert by_model["gpt-4o USD"] == D("0.125")
        assert by_model["qwen-max CNY"] == D("4.9193832")
        # by currency
        by_currency = dict(
            connection.execute(
                text("select currency, sum(amount_due) from marts.daily_bills group by 1")
            ).all()
        )
        assert by_currency == {"CNY": D("5.19"), "USD": D("2.71")}
        # which agent spends what
        top_agent = connection.execute(
            text(
                "select agent_id, sum(amount) from marts.agent_daily_costs "
                "where tenant_id = 'acme' and currency = 'CNY' group by 1 order by 2 desc limit 1"
            )
        ).one()
        # a1: Qwen-Max 1,234,567 in + 76,543 out = 2.9629608 + 0.7348128, DeepSeek 98,765 in
        # + 4,321 out = 0.19753 + 0.034568, AISpeech 0.000001388888
        assert top_agent == ("a1", D("3.929872988888"))


@pytest.mark.parametrize(
    "statement",
    [
        "create table marts.notes as select 1 as x",
        "insert into marts.daily_bills select * from marts.daily_bills",
        "delete from marts.daily_bills",
        "drop table marts.daily_bills",
        "update marts.bill_line_items set amount_due = 0",
    ],
)
def test_the_connection_cannot_write(engine, analytics_bills, statement):
    before = hashlib.sha256(analytics_bills["published"].read_bytes()).hexdigest()
    with engine.connect() as connection, pytest.raises(Exception, match="read-only"):
        connection.execute(text(statement))
    assert hashlib.sha256(analytics_bills["published"].read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "statement",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        "select * from '{usage}/llm/date=2026-03-31/part-0.jsonl'",
        "copy marts.daily_bills to '{tmp}/leak.csv'",
        "attach '{db}' as warehouse",
    ],
)
def test_the_connection_cannot_touch_other_files(engine, analytics_bills, tmp_path, statement):
    sql = statement.format(usage=analytics_bills["usage"], tmp=tmp_path, db=analytics_bills["db"])
    with (
        engine.connect() as connection,
        pytest.raises(Exception, match="disabled by configuration"),
    ):
        connection.execute(text(sql)).all()
    assert not (tmp_path / "leak.csv").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "set enable_external_access = true",
        "set lock_configuration = false",
        "reset enable_external_access",
    ],
)
def test_the_connection_cannot_lift_its_limits(engine, statement):
    with engine.connect() as connection, pytest.raises(Exception, match="locked"):
        connection.execute(text(statement))
    with engine.connect() as connection:
        settings = connection.execute(
            text(
                "select current_setting('enable_external_access'), "
                "current_setting('lock_configuration'), current_setting('access_mode')"
            )
        ).one()
    assert settings == (False, True, "read_only")


DUCKDB1_PYTHON = Path(__file__).resolve().parents[2] / ".venv-duckdb1" / "bin" / "python"

READ_WITH_DUCKDB1 = """
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
rows = connection.execute(
    "select currency, sum(amount_due)::varchar, any_value(typeof(amount_due)) "
    "from marts.daily_bills group by 1 order by 1"
).fetchall()
comment = connection.execute(
    "select comment from duckdb_tables() where table_name = 'daily_bills'"
).fetchone()[0]
print(json.dumps({"version": duckdb.__version__, "rows": rows, "comment": comment}))
"""


def test_a_duckdb_1_client_reads_the_published_bills_exactly(analytics_bills):
    """BI drivers pinned to duckdb<2 (Superset, Evidence) open the published file."""
    assert DUCKDB1_PYTHON.is_file(), "make setup-duckdb1 creates the DuckDB 1.x client"
    read = subprocess.run(
        [str(DUCKDB1_PYTHON), "-c", READ_WITH_DUCKDB1, str(analytics_bills["published"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert read.returncode == 0, read.stderr
    seen = json.loads(read.stdout)
    assert seen["version"].startswith("1.4.")
    # the same totals as test_the_queries_an_analyst_runs, as exact DECIMAL(38,2)
    assert seen["rows"] == [["CNY", "5.19", "DECIMAL(38,2)"], ["USD", "2.71", "DECIMAL(38,2)"]]
    assert seen["comment"]
