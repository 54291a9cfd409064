"""What tenants and people read: one tenant's export files, and a bill printed for a person.

Both read the published file (BILLING_PUBLISH_PATH), the copy of the marts a
green run leaves for analysts, never the warehouse dbt builds into. The
tenant id is always passed as a bound parameter, never spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from agent_billing import workbook
from agent_billing.daily_run import sql_text

# The marts a tenant receives, the column that names the tenant, and the row order.
TENANT_TABLES: dict[str, tuple[str, str]] = {
    "daily_bills": ("tenant_id", "bill_date, currency"),
    "bill_line_items": ("tenant_id", "bill_date, currency, fee_type, billing_item, usage_date"),
    "monthly_statements": ("tenant_id", "statement_month, currency"),
    "focus_charges": (
        '"SubAccountId"',
        '"x_BillDate", "BillingCurrency", "x_BillingItem", "x_UsageDate"',
    ),
    "agent_daily_costs": (
        "tenant_id",
        "bill_date, currency, billing_item, usage_date, agent_id nulls first",
    ),
}


class ExportError(Exception):
    """A request that cannot be served: no published file, or no bill for the tenant."""


@dataclass
class ExportResult:
    directory: Path
    row_counts: dict[str, int]
    amount_due: dict[str, str]


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    if not published.is_file():
        raise ExportError(
            f"no published bills at {published}: run 'billing run' (or 'billing publish') first"
        )
    connection = duckdb.connect()
    connection.execute(f"attach '{sql_text(published)}' as published (read_only)")
    return connection


def export_tenant(published: Path, tenant_id: str, out_dir: Path) -> ExportResult:
    """Write the tenant's rows of each mart as Parquet and CSV, one workbook, and a manifest.

    Parquet keeps the DECIMAL types and UTC instants. CSV has no types: every
    DECIMAL column is written as quoted text, so that no tool reading them turns
    an amount into a float by itself, and instants as ISO 8601 UTC text
    (2026-04-01T16:00:00Z). The workbook (bills.xlsx, one sheet per table) holds
    amounts due as numbers formatted to the cent and exact amounts as text.
    Each file is written beside its final name and renamed into place.
    """
    connection = open_published(published)
    try:
        bills = connection.execute(
            "select count(*) from published.marts.daily_bills where tenant_id = ?", [tenant_id]
        ).fetchone()[0]
        if bills == 0:
            raise ExportError(f"no bill for tenant '{tenant_id}' in {published}")
        out_dir.mkdir(parents=True, exist_ok=True)
        row_counts: dict[str, int] = {}
        sheets: dict[str, tuple[list[tuple[str, str]], list[tuple]]] = {}
        for table, (tenant_column, order) in TENANT_TABLES.items():
            connection.execute(
                f"create or replace temp table export_rows as "
                f"select * from published.marts.{table} "
                f"where {tenant_column} = ? order by {order}",
                [tenant_id],
            )
            row_counts[table] = connection.execute("select count(*) from export_rows").fetchone()[0]
            _copy(connection, "export_rows", out_dir / f"{table}.parquet", "(format parquet)")
            text_columns = _csv_select_list(connection, "export_rows")
            _copy(
                connection,
                f"(select {text_columns[0]} from export_rows)",
                out_dir / f"{table}.csv",
                "(format csv, header"
                + (f", force_quote ({text_columns[1]})" if text_columns[1] else "")
                + ")",
            )
            sheets[table] = (
                _columns(connection, "export_rows"),
                connection.execute("select * from export_rows").fetchall(),
            )
        totals = connection.execute(
            """
            select currency, cast(sum(amount_due) as varchar), min(bill_date), max(bill_date)
            from published.marts.daily_bills
            where tenant_id = ?
            group by currency
            order by currency
            """,
            [tenant_id],
        ).fetchall()
    finally:
        connection.close()
    workbook.write_workbook(out_dir / "bills.xlsx", sheets)
    amount_due = {currency: total for currency, total, _, _ in totals}
    manifest = {
        "tenant_id": tenant_id,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(published),
        "first_bill_date": min(first for _, _, first, _ in totals).isoformat(),
        "last_bill_date": max(last for _, _, _, last in totals).isoformat(),
        "amount_due_by_currency": amount_due,
        "row_counts": row_counts,
        "files": sorted(
            [f"{table}.{kind}" for table in TENANT_TABLES for kind in ("parquet", "csv")]
            + ["bills.xlsx"]
        ),
    }
    write_atomically(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return ExportResult(out_dir, row_counts, amount_due)


def _columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a temp table's columns, in order."""
    return connection.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = 'temp' and table_name = ? order by column_index",
        [table],
    ).fetchall()


def _csv_select_list(connection: duckdb.DuckDBPyConnection, table: str) -> tuple[str, str]:
    """The columns for the CSV file and the list of those to quote.

    DECIMALs become their exact text, quoted; instants ISO 8601 in UTC with a Z
    (whole seconds unless the instant has a fraction), as FOCUS asks.
    """
    select, quoted = [], []
    for name, data_type in _columns(connection, table):
        identifier = '"' + name.replace('"', '""') + '"'
        if data_type.startswith("DECIMAL"):
            select.append(f"cast({identifier} as varchar) as {identifier}")
            quoted.append(identifier)
        elif data_type == "TIMESTAMP WITH TIME ZONE":
            utc = f"timezone('UTC', {identifier})"
            select.append(
                f"case when microsecond({utc}) % 1000000 = 0 "
                f"then strftime({utc}, '%Y-%m-%dT%H:%M:%SZ') "
                f"else strftime({utc}, '%Y-%m-%dT%H:%M:%S.%fZ') end as {identifier}"
            )
        else:
            select.append(identifier)
    return ", ".join(select), ", ".join(quoted)


def _copy(connection: duckdb.DuckDBPyConnection, source: str, target: Path, options: str) -> None:
    staging = target.with_name(f".{target.name}.tmp")
    staging.unlink(missing_ok=True)
    connection.execute(f"copy {source} to '{sql_text(staging)}' {options}")
    os.replace(staging, target)


def write_atomically(target: Path, text: str) -> None:
    staging = target.with_name(f".{target.name}.tmp")
    staging.write_text(text)
    os.replace(staging, target)


# --- a bill for a person ---------------------------------------------------------------


def format_bills(published: Path, tenant_id: str, bill_date: str | None) -> str:
    """The tenant's bills of one day (default: its latest), one per currency, as text."""
    day, bills, lines = _day_bills(published, tenant_id, bill_date)
    return "\n\n".join(
        _format_bill(tenant_id, day, bill, [line for line in lines if line[0] == bill[0]])
        for bill in bills
    )


def bills_json(published: Path, tenant_id: str, bill_date: str | None) -> str:
    """The same bills for scripts: exact decimal strings, ISO 8601 dates and UTC instants."""
    day, bills, lines = _day_bills(published, tenant_id, bill_date)
    line_keys = (
        "fee_type", "billing_item", "usage_date", "is_late", "quantity", "quantity_unit",
        "unit_price", "pricing_unit", "amount_due",
    )  # fmt: skip
    document = {
        "tenant_id": tenant_id,
        "bill_date": day.isoformat(),
        "bills": [
            {
                "currency": currency,
                "amount_due": str(amount_due),
                "total_amount": str(total_amount),
                "line_count": line_count,
                "issued_at": _utc(issued_at),
                "billing_run_id": run_id,
                "lines": [
                    {key: _plain(value) for key, value in zip(line_keys, line[1:], strict=True)}
                    for line in lines
                    if line[0] == currency
                ],
            }
            for currency, amount_due, total_amount, line_count, issued_at, run_id in bills
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def tenants(published: Path) -> list[dict[str, object]]:
    """Every tenant with a bill: its last bill date and that bill's amount due per currency."""
    connection = open_published(published)
    try:
        rows = connection.execute(
            """
            with last_bill as (
                select tenant_id, max(bill_date) as last_bill_date, count(*) as bill_count
                from published.marts.daily_bills
                group by tenant_id
            )
            select
                last_bill.tenant_id, last_bill.last_bill_date, last_bill.bill_count,
                list(struct_pack(currency := bills.currency, amount_due := bills.amount_due)
                    order by bills.currency)
            from last_bill
            inner join published.marts.daily_bills as bills
                on bills.tenant_id = last_bill.tenant_id
                and bills.bill_date = last_bill.last_bill_date
            group by all
            order by last_bill.tenant_id
            """
        ).fetchall()
    finally:
        connection.close()
    return [
        {
            "tenant_id": tenant,
            "last_bill_date": last.isoformat(),
            "bill_count": count,
            "last_bill_amount_due": {due["currency"]: str(due["amount_due"]) for due in dues},
        }
        for tenant, last, count, dues in rows
    ]


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _day_bills(
    published: Path, tenant_id: str, bill_date: str | None
) -> tuple[dt.date, list[tuple], list[tuple]]:
    connection = open_published(published)
    try:
        if bill_date is None:
            day = connection.execute(
                "select max(bill_date) from published.marts.daily_bills where tenant_id = ?",
                [tenant_id],
            ).fetchone()[0]
            if day is None:
                raise ExportError(f"no bill for tenant '{tenant_id}' in {published}")
        else:
            try:
                day = dt.date.fromisoformat(bill_date)
            except ValueError:
                raise ExportError(
                    f"--date '{bill_date}' is not a date in YYYY-MM-DD form"
                ) from None
        bills = connection.execute(
            """
            select currency, amount_due, total_amount, line_count, issued_at, billing_run_id
            from published.marts.daily_bills
            where tenant_id = ? and bill_date = ?
            order by currency
            """,
            [tenant_id, day],
        ).fetchall()
        if not bills:
            raise ExportError(f"no bill for tenant '{tenant_id}' on {day} in {published}")
        lines = connection.execute(
            """
            select
                currency, fee_type, billing_item, usage_date, is_late, quantity,
                quantity_unit, unit_price, pricing_unit, amount_due
            from published.marts.bill_line_items
            where tenant_id = ? and bill_date = ?
            order by currency, fee_type = 'model' desc, fee_type, billing_item, usage_date
            """,
            [tenant_id, day],
        ).fetchall()
    finally:
        connection.close()
    return day, bills, lines


def _format_bill(tenant_id: str, day: dt.date, bill: tuple, lines: list[tuple]) -> str:
    currency, amount_due, total_amount, line_count, issued_at, run_id = bill
    rows = [
        (
            billing_item,
            f"{usage_date}{'*' if is_late else ''}",
            f"{_quantity(quantity)} {quantity_unit}",
            f"{_price(unit_price)} {currency} / {pricing_unit}",
            _money(line_amount_due),
        )
        for (
            _,
            _,
            billing_item,
            usage_date,
            is_late,
            quantity,
            quantity_unit,
            unit_price,
            pricing_unit,
            line_amount_due,
        ) in lines
    ]
    header = ("Billing item", "Usage day", "Quantity", "Unit price", "Amount due")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]

    def table_row(row: tuple[str, ...]) -> str:
        left = "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=False))
        return f"  {left}  {row[4].rjust(widths[4])}"

    model_due = sum((line[9] for line in lines if line[1] == "model"), Decimal(0))
    voice_due = sum((line[9] for line in lines if line[1] != "model"), Decimal(0))
    width = len(table_row(header))
    issued = issued_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"Bill of {day} for tenant {tenant_id}, in {currency}",
        f"Issued {issued} (run {run_id}), {line_count} lines",
        "",
        table_row(header),
        *(table_row(row) for row in rows),
    ]
    if any(line[4] for line in lines):
        out.append("  * late usage of an earlier day, priced at that day's price")
    out += [
        "",
        _total_row("Model fees", _money(model_due), width),
        _total_row("Smart voice fees (ASR + TTS)", _money(voice_due), width),
        _total_row(f"Total due ({currency})", _money(amount_due), width),
        f"  Exact total {total_amount} {currency}; each line is rounded to cents, then summed.",
    ]
    return "\n".join(out)


def _total_row(label: str, value: str, width: int) -> str:
    return f"  {label}{value.rjust(width - len(label) - 2)}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _price(value: Decimal) -> str:
    """The price without trailing zeros, but with at least two decimals (2.40, 0.015)."""
    text = f"{value.normalize():f}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"
