"""Readable summaries of the bill tables, read from the DuckDB file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _exact(value: Decimal) -> str:
    return f"{value:,.6f}"


def print_run_summary(database: Path, billing_date: str) -> None:
    """What the build produced: bills per day and currency, and where every record went."""
    with duckdb.connect(str(database), read_only=True) as connection:
        days = connection.execute(
            """
            select
                currency,
                count(distinct bill_date),
                min(bill_date),
                max(bill_date),
                count(*),
                sum(amount_due)
            from marts.daily_bills
            group by currency
            order by currency
            """
        ).fetchall()
        reconciliation = connection.execute(
            """
            select
                stream, source_files, raw_events, billed_events, duplicate_events,
                unpriced_events, rejected_events, pending_events
            from marts.usage_reconciliation
            order by stream
            """
        ).fetchall()
        reasons = connection.execute(
            """
            select 'rejected' as kind, reason, count(*) from marts.rejected_usage group by reason
            union all
            select 'unpriced', reason, count(*) from marts.unpriced_usage group by reason
            order by 1, 3 desc, 2
            """
        ).fetchall()

    print(f"Bills up to {billing_date} in {database}")
    if not days:
        print("  no bills: no priced usage on or before that day")
    for currency, day_count, first_day, last_day, bill_count, amount_due in days:
        print(
            f"  {currency}: {bill_count} bills over {day_count} days "
            f"({first_day} to {last_day}), amount due {_money(amount_due)}"
        )
    print("Usage records (raw = billed + duplicate + unpriced + rejected + pending)")
    for stream, files, raw, billed, duplicate, unpriced, rejected, pending in reconciliation:
        print(
            f"  {stream}: {raw:,} raw in {files} files = {billed:,} billed + "
            f"{duplicate:,} duplicate + {unpriced:,} unpriced + {rejected:,} rejected + "
            f"{pending:,} pending"
        )
    for kind, reason, count in reasons:
        print(f"  {kind} {reason}: {count:,} (see marts.{kind}_usage)")


def print_latest_bills(database: Path) -> None:
    """The bills of the latest bill date, one line per tenant and currency."""
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(
            """
            select
                bill_date, tenant_id, currency, model_fee, smart_voice_fee,
                total_amount, amount_due, line_count
            from marts.daily_bills
            where bill_date = (select max(bill_date) from marts.daily_bills)
            order by tenant_id, currency
            """
        ).fetchall()
    if not rows:
        print("No bills yet.")
        return
    print(f"\nBills for {rows[0][0]} (one per tenant and currency)")
    header = (
        f"  {'tenant':<12} {'cur':<4} {'model fee':>14} {'smart voice fee':>16} "
        f"{'total':>16} {'amount due':>12} {'lines':>6}"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    totals: dict[str, Decimal] = {}
    for _, tenant, currency, model_fee, voice_fee, total, due, lines in rows:
        totals[currency] = totals.get(currency, Decimal(0)) + due
        print(
            f"  {tenant:<12} {currency:<4} {_exact(model_fee):>14} {_exact(voice_fee):>16} "
            f"{_exact(total):>16} {_money(due):>12} {lines:>6}"
        )
    print("  " + "  ".join(f"{c} due {_money(v)}" for c, v in sorted(totals.items())))
