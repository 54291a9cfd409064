"""The export's spreadsheet: one .xlsx workbook, a sheet per table, money a spreadsheet can trust.

A spreadsheet cell holds a binary floating-point number, exact to about 15
significant digits. So:
- a DECIMAL column whose scale is at most 2 (amount_due, late_amount_due: the
  currency's minor unit, cents for every currency of the catalog) is written as
  a number with that many decimals shown (#,##0.00), which sums exactly as
  long as it stays under 10^13; a larger value is written as text;
- every other DECIMAL (the 12-decimal amounts, unit prices, quantities) is
  written as its exact text, so that no spreadsheet rounds it to 15 digits;
- dates are dates, instants ISO 8601 text in UTC (a cell has no time zone),
  integers numbers, booleans TRUE/FALSE.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

LARGEST_EXACT_NUMBER = Decimal(10) ** 13


def decimal_scale(data_type: str) -> int | None:
    """The scale of a DuckDB DECIMAL(p,s) type, None for any other type."""
    if not data_type.startswith("DECIMAL("):
        return None
    return int(data_type[len("DECIMAL(") : -1].split(",")[1])


def _cell(sheet, value: object, data_type: str) -> WriteOnlyCell:
    scale = decimal_scale(data_type)
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if scale is not None:
        if scale <= 2 and abs(value) < LARGEST_EXACT_NUMBER:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "#,##0" + ("." + "0" * scale if scale else "")
            return cell
        cell = WriteOnlyCell(sheet, value=str(value))
        cell.number_format = "@"
        return cell
    if isinstance(value, dt.datetime):
        instant = value.astimezone(dt.UTC) if value.tzinfo else value
        text = instant.isoformat().replace("+00:00", "Z")
        return WriteOnlyCell(sheet, value=text)
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, bool | int | float):
        return WriteOnlyCell(sheet, value=value)
    return WriteOnlyCell(sheet, value=str(value))


def write_workbook(
    target: Path, sheets: dict[str, tuple[list[tuple[str, str]], list[tuple]]]
) -> None:
    """One sheet per table: a bold header of column names, then the rows as above."""
    book = Workbook(write_only=True)
    for title, (columns, rows) in sheets.items():
        sheet = book.create_sheet(title=title[:31])  # the longest sheet name a spreadsheet takes
        header = []
        for name, _ in columns:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append(
                [
                    _cell(sheet, value, data_type)
                    for value, (_, data_type) in zip(row, columns, strict=True)
                ]
            )
    staging = target.with_name(f".{target.name}.tmp")
    book.save(staging)
    os.replace(staging, target)
