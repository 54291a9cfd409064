"""A tenant's monthly statement: read from the published file, rendered as text, JSON, HTML or PDF.

Every figure comes from the marts as issued: the totals are the row of
marts.monthly_statements, the daily bills those of marts.daily_bills, and the
billing items are the month's bill lines (marts.bill_line_items) summed per
item and unit price, late usage and adjustments (corrections of lines of
earlier bills) apart. Nothing is priced again here; the
module checks that the items add up to the statement's amount due and refuses
to render a statement that does not.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from agent_billing.exports import ExportError, open_published, write_atomically


@dataclass
class DailyBill:
    bill_date: dt.date
    amount_due: Decimal
    total_amount: Decimal
    line_count: int
    late_line_count: int
    issued_at: dt.datetime


@dataclass
class ItemLine:
    """The month's on-time lines of one billing item at one unit price, summed."""

    fee_type: str
    billing_item: str
    quantity: Decimal
    quantity_unit: str
    unit_price: Decimal
    pricing_unit: str
    amount: Decimal
    amount_due: Decimal
    event_count: int


@dataclass
class LateLine:
    """A line of usage from an earlier day, billed this month at that day's price."""

    bill_date: dt.date
    usage_date: dt.date
    billing_item: str
    quantity: Decimal
    quantity_unit: str
    unit_price: Decimal
    pricing_unit: str
    amount_due: Decimal


@dataclass
class AdjustmentLine:
    """A correction of a line of an earlier bill after a price fix: a credit or a debit."""

    bill_date: dt.date
    adjusted_bill_date: dt.date
    usage_date: dt.date
    billing_item: str
    quantity: Decimal
    quantity_unit: str
    previous_unit_price: Decimal
    unit_price: Decimal
    pricing_unit: str
    amount_due: Decimal


@dataclass
class CurrencySection:
    currency: str
    amount_due: Decimal
    total_amount: Decimal
    model_fee: Decimal
    smart_voice_fee: Decimal
    late_amount_due: Decimal
    adjustment_amount_due: Decimal
    bill_count: int
    line_count: int
    is_final: bool
    daily_bills: list[DailyBill] = field(default_factory=list)
    items: list[ItemLine] = field(default_factory=list)
    late_lines: list[LateLine] = field(default_factory=list)
    adjustment_lines: list[AdjustmentLine] = field(default_factory=list)


@dataclass
class Statement:
    issuer: str
    tenant_id: str
    month: str
    period_start: dt.date
    period_end: dt.date
    source: str
    sections: list[CurrencySection]

    @property
    def is_final(self) -> bool:
        return all(section.is_final for section in self.sections)


def parse_month(month: str) -> dt.date:
    """The first day of a YYYY-MM month; ExportError naming the option otherwise."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ExportError(f"--month '{month}' is not a month in YYYY-MM form") from None
    return first


def load_statement(published: Path, tenant_id: str, month: str) -> Statement:
    """The tenant's statement of the month from the published file."""
    first = parse_month(month)
    connection = open_published(published)
    try:
        totals = connection.execute(
            """
            select
                currency, amount_due, total_amount, model_fee, smart_voice_fee,
                late_amount_due, adjustment_amount_due, bill_count, line_count, is_final,
                month_end
            from published.marts.monthly_statements
            where tenant_id = ? and statement_month = ?
            order by currency
            """,
            [tenant_id, first],
        ).fetchall()
        if not totals:
            raise ExportError(f"no bill for tenant '{tenant_id}' in {month} in {published}")
        issuer = connection.execute(
            'select min("InvoiceIssuerName") from published.marts.focus_charges '
            'where "SubAccountId" = ?',
            [tenant_id],
        ).fetchone()[0]
        bills = connection.execute(
            """
            select
                currency, bill_date, amount_due, total_amount, line_count,
                late_line_count, issued_at
            from published.marts.daily_bills
            where tenant_id = ? and date_trunc('month', bill_date) = ?
            order by currency, bill_date
            """,
            [tenant_id, first],
        ).fetchall()
        items = connection.execute(
            """
            select
                currency, fee_type, billing_item, sum(quantity), quantity_unit, unit_price,
                pricing_unit, sum(amount), sum(amount_due), sum(event_count)
            from published.marts.bill_line_items
            where tenant_id = ? and date_trunc('month', bill_date) = ? and not is_late
                and line_type = 'usage'
            group by currency, fee_type, billing_item, quantity_unit, unit_price, pricing_unit
            order by currency, fee_type <> 'model', fee_type, billing_item, unit_price
            """,
            [tenant_id, first],
        ).fetchall()
        late = connection.execute(
            """
            select
                currency, bill_date, usage_date, billing_item, quantity, quantity_unit,
                unit_price, pricing_unit, amount_due
            from published.marts.bill_line_items
            where tenant_id = ? and date_trunc('month', bill_date) = ? and is_late
                and line_type = 'usage'
            order by currency, bill_date, usage_date, billing_item
            """,
            [tenant_id, first],
        ).fetchall()
        adjustments = connection.execute(
            """
            select
                currency, bill_date, adjusted_bill_date, usage_date, billing_item, quantity,
                quantity_unit, previous_unit_price, unit_price, pricing_unit, amount_due
            from published.marts.bill_line_items
            where tenant_id = ? and date_trunc('month', bill_date) = ?
                and line_type = 'adjustment'
            order by currency, bill_date, adjusted_bill_date, usage_date, billing_item
            """,
            [tenant_id, first],
        ).fetchall()
    finally:
        connection.close()
    sections = []
    for row in totals:
        section = CurrencySection(*row[:10])
        currency = section.currency
        section.daily_bills = [DailyBill(*row[1:]) for row in bills if row[0] == currency]
        section.items = [ItemLine(*row[1:]) for row in items if row[0] == currency]
        section.late_lines = [LateLine(*row[1:]) for row in late if row[0] == currency]
        section.adjustment_lines = [
            AdjustmentLine(*row[1:]) for row in adjustments if row[0] == currency
        ]
        _check_adds_up(tenant_id, month, section)
        sections.append(section)
    return Statement(
        issuer=issuer or "",
        tenant_id=tenant_id,
        month=month,
        period_start=first,
        period_end=totals[0][10],
        source=str(published),
        sections=sections,
    )


def _check_adds_up(tenant_id: str, month: str, section: CurrencySection) -> None:
    """Items, late lines and adjustments must add up to the statement's amount due, to the cent."""
    items_due = sum((item.amount_due for item in section.items), Decimal(0))
    late_due = sum((line.amount_due for line in section.late_lines), Decimal(0))
    adjusted_due = sum((line.amount_due for line in section.adjustment_lines), Decimal(0))
    bills_due = sum((bill.amount_due for bill in section.daily_bills), Decimal(0))
    if not (items_due + late_due + adjusted_due == bills_due == section.amount_due) or (
        late_due != section.late_amount_due or adjusted_due != section.adjustment_amount_due
    ):
        raise ExportError(
            f"the statement of tenant '{tenant_id}' for {month} in {section.currency} does not "
            f"add up (items {items_due} + late {late_due} + adjustments {adjusted_due}, daily "
            f"bills {bills_due}, statement {section.amount_due}): the published file is "
            "inconsistent; publish again"
        )


# --- renderings --------------------------------------------------------------------------


def money(value: Decimal) -> str:
    """An amount due as issued (its scale is the currency's minor unit), with separators."""
    return f"{value:,f}"


def quantity(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def price(value: Decimal) -> str:
    """The price without trailing zeros, but with at least two decimals (2.40, 0.015)."""
    text = f"{value.normalize():f}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def daily_bills_phrase(count: int) -> str:
    return f"{count} daily bill{'' if count == 1 else 's'}"


def finality(section: CurrencySection) -> str:
    if section.is_final:
        return "final: every day of the month is closed"
    return "not final: days of the month are still to be billed"


def to_json(statement: Statement) -> str:
    """The statement for scripts: amounts as exact decimal strings, dates in ISO 8601."""

    def plain(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    document = plain(asdict(statement))
    document["is_final"] = statement.is_final
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_text(statement: Statement) -> str:
    """The statement as a person reads it on a terminal."""
    out = [
        f"Statement of {statement.month} for tenant {statement.tenant_id}"
        + (f", issued by {statement.issuer}" if statement.issuer else ""),
        f"Period {statement.period_start} to {statement.period_end}",
    ]
    for section in statement.sections:
        out += ["", f"In {section.currency} ({finality(section)})"]
        rows = [
            (
                item.billing_item,
                f"{quantity(item.quantity)} {item.quantity_unit}",
                f"{price(item.unit_price)} {section.currency} / {item.pricing_unit}",
                money(item.amount_due),
            )
            for item in section.items
        ]
        rows += [
            (
                f"{line.billing_item} (usage of {line.usage_date}, late)",
                f"{quantity(line.quantity)} {line.quantity_unit}",
                f"{price(line.unit_price)} {section.currency} / {line.pricing_unit}",
                money(line.amount_due),
            )
            for line in section.late_lines
        ]
        rows += [
            (
                f"Correction of {line.billing_item} of {line.usage_date}"
                f" (bill of {line.adjusted_bill_date})",
                f"{quantity(line.quantity)} {line.quantity_unit}",
                f"{price(line.previous_unit_price)} -> {price(line.unit_price)} "
                f"{section.currency} / {line.pricing_unit}",
                money(line.amount_due),
            )
            for line in section.adjustment_lines
        ]
        header = ("Billing item", "Quantity", "Unit price", "Amount due")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            cells = "  ".join(
                cell.ljust(width) for cell, width in zip(row[:3], widths[:3], strict=True)
            )
            out.append(f"  {cells}  {row[3].rjust(widths[3])}")
        out += [
            f"  {daily_bills_phrase(section.bill_count)} "
            f"({section.daily_bills[0].bill_date} to {section.daily_bills[-1].bill_date}), "
            f"{section.line_count} lines",
            f"  Late usage billed this month: {money(section.late_amount_due)}",
            *(
                [f"  Adjustments of earlier bills: {money(section.adjustment_amount_due)}"]
                if section.adjustment_lines
                else []
            ),
            f"  Total due ({section.currency}): {money(section.amount_due)}"
            f"  (exact {section.total_amount})",
        ]
    return "\n".join(out)


def to_html(statement: Statement) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("agent_billing", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(money=money, quantity=quantity, price=price)
    template = environment.get_template("statement.html.j2")
    return template.render(
        statement=statement,
        finality=finality,
        daily_bills_phrase=daily_bills_phrase,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_statement(statement: Statement, out: Path) -> Path:
    """HTML or PDF by the file's extension, written beside its name and renamed into place."""
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(out, to_html(statement))
        return out
    if suffix == ".pdf":
        from agent_billing.statement_pdf import render_pdf

        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(f".{out.name}.tmp")
        staging.write_bytes(render_pdf(statement))
        staging.replace(out)
        return out
    raise ExportError(f"--out '{out}': the statement is written as .html or .pdf")
