"""The demo's sample usage: deterministic, every priced item, and billed cleanly."""

from __future__ import annotations

import datetime as dt

from conftest import query, run_billing

from agent_billing import sample_data


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_same_day_gives_the_same_files(tmp_path):
    day = dt.date(2026, 1, 10)
    sample_data.generate(tmp_path / "a", day, days=2, tenants=3)
    sample_data.generate(tmp_path / "b", day, days=2, tenants=3)
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


def test_a_week_of_sample_usage_bills_every_item_in_both_currencies(tmp_path):
    root, db = tmp_path / "usage", tmp_path / "billing.duckdb"
    sample_data.generate(root, dt.date(2026, 1, 10))
    assert sample_data.has_usage_files(root)
    result = run_billing("run", "--usage-root", str(root), "--date", "2026-01-10", db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(
        db, "select count(distinct bill_date), count(distinct tenant_id) from marts.daily_bills"
    ) == [(7, 20)]
    assert query(db, "select count(distinct billing_item) from marts.bill_line_items") == [(23,)]
    assert query(db, "select list(distinct currency order by currency) from marts.daily_bills") == [
        (["CNY", "USD"],)
    ]
    unpriced = query(
        db, "select list(distinct catalog_item order by catalog_item) from marts.unpriced_usage"
    )
    assert unpriced == [(["mistral-large", "nova-pro"],)]
    duplicates, rejected = query(
        db, "select sum(duplicate_events), sum(rejected_events) from marts.usage_reconciliation"
    )[0]
    assert duplicates > 0 and rejected == 2
