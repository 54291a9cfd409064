"""The monthly statement as a PDF (fpdf2, its built-in Helvetica: no system font needed).

The built-in fonts cover Latin-1 (the currency symbols of the catalog, accented
names); any other character, in a tenant id for instance, is written as its
code point (\\u4e2d) so that the document never drops or garbles it silently.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import Align

from agent_billing.statements import (
    CurrencySection,
    Statement,
    daily_bills_phrase,
    finality,
    money,
    price,
    quantity,
)


def latin1(text: object) -> str:
    """Text the built-in fonts can write: other characters as \\uXXXX."""
    return "".join(char if ord(char) < 256 else f"\\u{ord(char):04x}" for char in str(text))


def render_pdf(statement: Statement) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(latin1(f"Statement {statement.month} - {statement.tenant_id}"))
    pdf.set_author(latin1(statement.issuer))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(text=latin1(f"Statement of {statement.month}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in (
        f"Issuer: {statement.issuer}",
        f"Tenant: {statement.tenant_id}",
        f"Period: {statement.period_start} to {statement.period_end} (bill dates)",
    ):
        pdf.cell(text=latin1(line), new_x="LMARGIN", new_y="NEXT")
    for section in statement.sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _section(pdf: FPDF, section: CurrencySection) -> None:
    currency = section.currency
    pdf.ln(6)
    pdf.set_font("Helvetica", style="B", size=13)
    pdf.cell(text=latin1(f"In {currency}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(text=latin1(f"This statement is {finality(section)}."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _table(
        pdf,
        ("Billing item", "Quantity", "Unit price", "Amount due"),
        [
            (
                item.billing_item,
                f"{quantity(item.quantity)} {item.quantity_unit}",
                f"{price(item.unit_price)} {currency} / {item.pricing_unit}",
                money(item.amount_due),
            )
            for item in section.items
        ],
        (55, 45, 55, 35),
    )
    if section.late_lines:
        pdf.ln(3)
        pdf.cell(text="Late usage billed this month", new_x="LMARGIN", new_y="NEXT")
        _table(
            pdf,
            ("Bill date", "Usage day", "Billing item", "Quantity", "Amount due"),
            [
                (
                    str(line.bill_date),
                    str(line.usage_date),
                    line.billing_item,
                    f"{quantity(line.quantity)} {line.quantity_unit}",
                    money(line.amount_due),
                )
                for line in section.late_lines
            ],
            (25, 25, 55, 50, 35),
        )
    if section.adjustment_lines:
        pdf.ln(3)
        pdf.cell(text="Adjustments of earlier bills", new_x="LMARGIN", new_y="NEXT")
        _table(
            pdf,
            ("Bill date", "Corrects bill", "Billing item", "Unit price", "Amount due"),
            [
                (
                    str(line.bill_date),
                    f"{line.adjusted_bill_date} (usage {line.usage_date})",
                    line.billing_item,
                    f"{price(line.previous_unit_price)} -> {price(line.unit_price)}",
                    money(line.amount_due),
                )
                for line in section.adjustment_lines
            ],
            (25, 50, 45, 35, 35),
        )
    pdf.ln(3)
    _table(
        pdf,
        ("Bill date", "Lines", "Late lines", "Amount due"),
        [
            (
                str(bill.bill_date),
                str(bill.line_count),
                str(bill.late_line_count),
                money(bill.amount_due),
            )
            for bill in section.daily_bills
        ],
        (55, 45, 55, 35),
    )
    pdf.ln(3)
    _table(
        pdf,
        ("Totals", f"{currency}"),
        [
            ("Model fees (exact)", quantity(section.model_fee)),
            ("Smart voice fees, ASR and TTS (exact)", quantity(section.smart_voice_fee)),
            ("Of which late usage (amount due)", money(section.late_amount_due)),
            *(
                [("Of which adjustments of earlier bills", money(section.adjustment_amount_due))]
                if section.adjustment_lines
                else []
            ),
            (
                f"Total due ({currency}), {daily_bills_phrase(section.bill_count)}",
                money(section.amount_due),
            ),
        ],
        (155, 35),
    )


def _table(
    pdf: FPDF, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]
) -> None:
    """A table whose last column (the amount) is right-aligned."""
    aligns = tuple([Align.L] * (len(header) - 1) + [Align.R])
    with pdf.table(col_widths=widths, text_align=aligns, line_height=6) as table:
        for row in [header, *rows]:
            cells = table.row()
            for value in row:
                cells.cell(latin1(value))
