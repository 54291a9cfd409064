"""Readable summaries of the bill tables, read from the DuckDB file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _exact(value: Decimal) -> str:
    return f"{value:,.6f}"


def print_run_summary(database: Path, billing_date: str, run_id: str | None) -> None:
    """What this run issued, and where every raw record under usage_root went."""
    with duckdb.connect(str(database), read_only=True) as connection:
        closed = connection.execute(
            "select closed_from, closed_through from ledger.billing_runs where billing_run_id = ?",
            [run_id],
        ).fetchall()
        issued = connection.execute(
            """
            select currency, count(*), count(distinct bill_date), sum(amount_due),
                sum(late_line_count)
            from marts.daily_bills
            where billing_run_id = ?
            group by currency
            order by currency
            """,
            [run_id],
        ).fetchall()
        adjusted = dict(
            (currency, (lines, due))
            for currency, lines, due in connection.execute(
                """
                select currency, count(*), sum(amount_due)
                from marts.bill_line_items
                where billing_run_id = ? and line_type = 'adjustment'
                group by currency
                """,
                [run_id],
            ).fetchall()
        )
        last_closed = connection.execute(
            "select max(closed_through) from ledger.billing_runs"
        ).fetchone()[0]
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
        # files this run could not read, found rewritten, or left with a torn last line
        file_notes = connection.execute(
            """
            select 'not read (' || reason || ')', source_file
            from ledger.usage_records
            where billing_run_id = ? and source_line = 0 and status = 'rejected'
            union all
            select 'rewritten since it was read (now version ' || source_version || ')',
                source_file
            from ledger.usage_files
            where billing_run_id = ? and read_mode = 'rewritten'
            union all
            select 'last line incomplete, kept pending until the file changes',
                source_file
            from ledger.usage_records
            where billing_run_id = ? and reason = 'incomplete_line'
            order by 1, 2
            """,
            [run_id, run_id, run_id],
        ).fetchall()

    if not closed:
        print(
            f"Nothing new to issue: every day up to {billing_date} was closed by an earlier run "
            f"(last closed day {last_closed})."
        )
    else:
        first, through = closed[0]
        if first is None:
            span = f"every day up to {through}"
        elif first == through:
            span = str(through)
        else:
            span = f"{first} to {through}"
        print(f"Closed {span} in {database}")
        if not issued:
            print("  no bills: no priced usage on those days")
        for currency, bills, days, amount_due, late_lines in issued:
            print(
                f"  {currency}: {bills} bills issued over {days} days, "
                f"amount due {_money(amount_due)}, {late_lines} late lines"
            )
            if currency in adjusted:
                lines, due = adjusted[currency]
                print(
                    f"    of which {lines} adjustment lines correcting earlier bills"
                    f" (--reprice-from), amount due {_money(due)}"
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
    if file_notes:
        print("Usage files that need a look (under usage_root):")
    for note, path in file_notes[:20]:
        print(f"  {path}: {note}")
    if len(file_notes) > 20:
        print(f"  ... and {len(file_notes) - 20} more (ledger.usage_files, ledger.usage_records)")


def print_status(database: Path, outcome: dict | None, published: Path) -> None:
    """The last closed day, the pending usage and the last run's outcome."""
    if outcome:
        print(
            f"Last run: {outcome['outcome']} at {outcome['finished_at']} "
            f"(billing date {outcome.get('billing_date')})"
        )
        for failure in outcome.get("failures", []):
            print(f"  {failure.splitlines()[0]}")
        if outcome.get("refusal"):
            print(f"  {outcome['refusal']}")
    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            last_closed = connection.execute(
                "select max(closed_through) from ledger.billing_runs"
            ).fetchone()[0]
            # the zone of the warehouse is its first run's; the catalog, the last run's
            zone, catalog_version = connection.execute(
                """
                select
                    min_by(billing_timezone, run_started_at)
                        filter (where billing_timezone is not null),
                    max_by(catalog_version, run_started_at)
                from ledger.billing_runs
                """
            ).fetchone()
            pending = connection.execute(
                "select stream, pending_events, unpriced_events, rejected_events "
                "from marts.usage_reconciliation order by stream"
            ).fetchall()
    except duckdb.Error as error:
        print(f"Warehouse {database} cannot be read now ({str(error).splitlines()[0]})")
        return
    print(f"Last closed day: {last_closed}")
    print(f"Billing zone: {zone or 'not recorded yet'} (every run of this warehouse bills in it)")
    print(f"Price catalog last billed with: {catalog_version or 'not recorded yet'}")
    for stream, pending_events, unpriced, rejected in pending:
        print(
            f"  {stream}: {pending_events:,} pending, {unpriced:,} unpriced, {rejected:,} rejected"
        )
    print(f"Published file: {published}{'' if published.exists() else ' (not yet written)'}")


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
