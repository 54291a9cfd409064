"""`billing alerts`: the budgets at 80 % or more of their month, from marts.budget_status.

Reads the published file, like the other reading commands. The month is the one of the
last closed day unless --month names another. Exit codes (cli): 0 when no budget of the
month is exceeded (warnings are printed), 1 when one is, 2 when nothing can be read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from agent_billing.exports import ExportError, open_published

MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Budget:
    tenant_id: str
    currency: str
    budget_amount: Decimal
    spent_amount: Decimal
    share_used_percent: Decimal | None
    projected_amount: Decimal | None
    status: str


@dataclass(frozen=True)
class BudgetReport:
    month: str | None  # YYYY-MM; None when there is no budget at all
    closed_through: dt.date | None
    budget_count: int  # budgets of the month
    alerts: list[Budget]  # at warning or beyond, exceeded first

    @property
    def exceeded(self) -> list[Budget]:
        return [budget for budget in self.alerts if budget.status == "exceeded"]


def budget_report(published: Path, month: str | None = None) -> BudgetReport:
    """The budgets of the month at warning or beyond."""
    if month is not None and not MONTH.fullmatch(month):
        raise ExportError(f"--month {month!r} is not a month: write it as YYYY-MM")
    connection = open_published(published)
    try:
        try:
            closed_through = connection.execute(
                "select max(closed_through) from published.marts.budget_status"
            ).fetchone()[0]
        except duckdb.CatalogException:
            raise ExportError(
                f"{published} has no marts.budget_status yet (published by an older version):"
                " run 'billing run' (or 'billing publish') first"
            ) from None
        if month is None:
            if closed_through is None:
                return BudgetReport(None, None, 0, [])
            month = closed_through.strftime("%Y-%m")
        first_day = dt.date.fromisoformat(f"{month}-01")
        count = connection.execute(
            "select count(*) from published.marts.budget_status where budget_month = ?",
            [first_day],
        ).fetchone()[0]
        rows = connection.execute(
            """
            select tenant_id, currency, budget_amount, spent_amount, share_used_percent,
                projected_amount, status
            from published.marts.budget_status
            where budget_month = ? and status in ('warning', 'exceeded')
            order by status = 'exceeded' desc, tenant_id, currency
            """,
            [first_day],
        ).fetchall()
    finally:
        connection.close()
    return BudgetReport(month, closed_through, count, [Budget(*row) for row in rows])


def to_text(report: BudgetReport) -> str:
    if report.month is None:
        return "No budgets (seeds/contracts/tenant_budgets.csv has none)."
    lines = [f"Budgets of {report.month}, bills through {report.closed_through}:"]
    for budget in report.alerts:
        share = (
            "no share of a budget of 0"
            if budget.share_used_percent is None
            else (f"{budget.share_used_percent}%")
        )
        projected = (
            "" if budget.projected_amount is None else f", projected {budget.projected_amount}"
        )
        lines.append(
            f"  {budget.status.upper():9} {budget.tenant_id}  {budget.currency}  spent "
            f"{budget.spent_amount} of {budget.budget_amount} ({share}){projected}"
        )
    lines.append(
        f"{len(report.alerts)} of {report.budget_count} budgets at 80% or more, "
        f"{len(report.exceeded)} exceeded."
    )
    return "\n".join(lines)


def to_json(report: BudgetReport) -> dict[str, object]:
    return {
        "month": report.month,
        "closed_through": None if report.closed_through is None else str(report.closed_through),
        "budget_count": report.budget_count,
        "alerts": [
            {
                "tenant_id": budget.tenant_id,
                "currency": budget.currency,
                "status": budget.status,
                "budget_amount": str(budget.budget_amount),
                "spent_amount": str(budget.spent_amount),
                "share_used_percent": None
                if budget.share_used_percent is None
                else str(budget.share_used_percent),
                "projected_amount": None
                if budget.projected_amount is None
                else str(budget.projected_amount),
            }
            for budget in report.alerts
        ],
    }
