"""What a tenant or an accountant receives: the monthly statement (text, JSON, HTML, PDF),
a day's bill as JSON, the list of tenants.

On the published file of the analytics fixture (conftest: two daily runs, 2026-03-31 and
2026-04-01, Asia/Shanghai). Every expected amount is worked out by hand below from the
fixture's events and the pricing page; the documents are read back (HTML parsed, PDF text
extracted) and compared with those amounts and with marts.monthly_statements.

acme, April 2026 (bill 2026-04-01, CNY):
  Deepseek-Chat input  98,765 tokens x 2.00 / 1M = 0.19753   -> 0.20
  Deepseek-Chat output  4,321 tokens x 8.00 / 1M = 0.034568  -> 0.03
  late: Qwen-Max input 500,000 tokens of 2026-03-31 (05:00Z = 13:00 in Shanghai)
        x 2.40 / 1M = 1.2 -> 1.20
  amount due 1.43 (late 1.20); the month is not final (closed through 2026-04-01).
globex, March 2026 (bill 2026-03-31):
  USD: Claude 3.7 Sonnet input 10,000 x 3.00 / 1M = 0.03; output 3,333 x 15.00 / 1M
       = 0.049995 -> 0.05; Google ASR 5,400.5 s x 1.44 / hour = 2.16020 -> 2.16; due 2.24
  CNY: Volcano Ark TTS 125 characters x 0.30 / 1K = 0.0375 -> 0.04
  the month is final (its last day, 2026-03-31, is closed).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO

import duckdb
import pytest
from conftest import run_billing
from pypdf import PdfReader

from agent_billing.statement_pdf import render_pdf
from agent_billing.statements import CurrencySection, Statement, to_html

D = Decimal


def billing(analytics_bills, *args):
    return run_billing(*args, db=analytics_bills["db"])


def mart_statement(analytics_bills, tenant: str, month: str) -> dict[str, tuple]:
    with duckdb.connect(str(analytics_bills["published"]), read_only=True) as connection:
        rows = connection.execute(
            "select currency, amount_due, late_amount_due, is_final "
            "from marts.monthly_statements where tenant_id = ? and strftime(statement_month, "
            "'%Y-%m') = ?",
            [tenant, month],
        ).fetchall()
    return {currency: (due, late, final) for currency, due, late, final in rows}


def test_show_month_as_json_has_the_items_late_usage_and_totals(analytics_bills):
    shown = billing(
        analytics_bills, "show", "--tenant", "acme", "--month", "2026-04", "--format", "json"
    )
    assert shown.returncode == 0, shown.stderr
    statement = json.loads(shown.stdout)
    assert (statement["tenant_id"], statement["month"]) == ("acme", "2026-04")
    assert (statement["period_start"], statement["period_end"]) == ("2026-04-01", "2026-04-30")
    assert statement["issuer"] == "Agent Platform"  # dbt var invoice_issuer_name's default
    assert statement["is_final"] is False
    [cny] = statement["sections"]
    assert (cny["currency"], cny["amount_due"], cny["late_amount_due"]) == ("CNY", "1.43", "1.20")
    assert cny["is_final"] is False
    assert [(i["billing_item"], D(i["quantity"]), i["amount_due"]) for i in cny["items"]] == [
        ("Deepseek-Chat input", D(98765), "0.20"),
        ("Deepseek-Chat output", D(4321), "0.03"),
    ]
    assert [
        (line["billing_item"], line["usage_date"], line["bill_date"], line["amount_due"])
        for line in cny["late_lines"]
    ] == [("Qwen-Max input", "2026-03-31", "2026-04-01", "1.20")]
    assert [(b["bill_date"], b["amount_due"]) for b in cny["daily_bills"]] == [
        ("2026-04-01", "1.43")
    ]
    assert mart_statement(analytics_bills, "acme", "2026-04") == {
        "CNY": (D("1.43"), D("1.20"), False)
    }


def test_show_month_as_text_for_a_person(analytics_bills):
    shown = billing(analytics_bills, "show", "--tenant", "globex", "--month", "2026-03")
    assert shown.returncode == 0, shown.stderr
    assert "Statement of 2026-03 for tenant globex, issued by Agent Platform" in shown.stdout
    assert "In CNY (final: every day of the month is closed)" in shown.stdout
    assert "Total due (CNY): 0.04" in shown.stdout
    assert "Total due (USD): 2.24" in shown.stdout


def test_show_a_day_as_json(analytics_bills):
    shown = billing(
        analytics_bills, "show", "--tenant", "acme", "--date", "2026-04-01", "--format", "json"
    )
    assert shown.returncode == 0, shown.stderr
    day = json.loads(shown.stdout)
    [bill] = day["bills"]
    assert (day["bill_date"], bill["currency"], bill["amount_due"]) == ("2026-04-01", "CNY", "1.43")
    assert bill["issued_at"].endswith("Z")
    assert sorted((line["billing_item"], line["is_late"]) for line in bill["lines"]) == [
        ("Deepseek-Chat input", False),
        ("Deepseek-Chat output", False),
        ("Qwen-Max input", True),
    ]
    assert sum(D(line["amount_due"]) for line in bill["lines"]) == D("1.43")


def test_tenants_lists_each_tenant_with_its_last_bill(analytics_bills):
    listed = billing(analytics_bills, "tenants", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    # acme: 03-31 CNY and USD, 04-01 CNY; globex: 03-31 USD and CNY, 04-01 USD
    assert json.loads(listed.stdout) == [
        {
            "tenant_id": "acme",
            "last_bill_date": "2026-04-01",
            "bill_count": 3,
            "last_bill_amount_due": {"CNY": "1.43"},
        },
        {
            "tenant_id": "globex",
            "last_bill_date": "2026-04-01",
            "bill_count": 3,
            # GPT-4o-mini input 1,000,000 x 0.15 / 1M = 0.15; output 500 x 0.60 / 1M -> 0.00
            "last_bill_amount_due": {"USD": "0.15"},
        },
    ]
    text = billing(analytics_bills, "tenants")
    assert "acme: last bill 2026-04-01 (CNY 1.43), 3 bills" in text.stdout


class StatementHtml(HTMLParser):
    """The figures a reader sees: per currency section, the totals, finality and item amounts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: dict | None = None
        self.capture: tuple[str, ...] | None = None
        self.item: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self.current = {"items": {}, "totals": {}}
            self.sections[attributes["data-currency"]] = self.current
        elif "data-final" in attributes and self.current is not None:
            self.current["final"] = attributes["data-final"]
        elif tag == "tr" and "data-item" in attributes:
            self.item = attributes["data-item"]
        elif tag == "td" and "amount" in (attributes.get("class") or "") and self.item:
            self.capture = ("items", self.item)
        elif tag == "td" and "data-total" in attributes:
            self.capture = ("totals", attributes["data-total"])
        elif tag == "span" and attributes.get("id") in ("issuer", "tenant"):
            self.capture = ("fields", attributes["id"])

    def handle_endtag(self, tag):
        if tag == "tr":
            self.item = None
        if tag in ("td", "span"):
            self.capture = None

    def handle_data(self, data):
        if self.capture is None:
            return
        kind, key = self.capture
        if kind == "fields":
            self.fields[key] = data
        else:
            self.current[kind][key] = data


def test_statement_html_shows_the_amounts_of_the_marts(analytics_bills, tmp_path):
    out = tmp_path / "globex-2026-03.html"
    written = billing(
        analytics_bills, "statement", "--tenant", "globex", "--month", "2026-03", "--out", str(out)
    )
    assert written.returncode == 0, written.stderr
    assert "(final): CNY 0.04, USD 2.24" in written.stdout
    page = StatementHtml()
    page.feed(out.read_text())
    assert page.fields == {"issuer": "Agent Platform", "tenant": "globex"}
    assert page.sections["USD"]["items"] == {
        "Claude 3.7 Sonnet input": "0.03",
        "Claude 3.7 Sonnet output": "0.05",
        "Google ASR": "2.16",
    }
    assert page.sections["CNY"]["items"] == {"Volcano Ark TTS": "0.04"}
    marts = mart_statement(analytics_bills, "globex", "2026-03")
    for currency, expected in (("USD", "2.24"), ("CNY", "0.04")):
        section = page.sections[currency]
        assert section["totals"]["amount_due"] == expected == str(marts[currency][0])
        assert section["totals"]["late_amount_due"] == "0.00"
        assert section["final"] == "true"


def test_statement_documents_keep_any_tenant_id_as_text():
    """A tenant id is data: escaped in HTML, never dropped in the PDF's Latin-1 fonts."""
    section = CurrencySection(
        "CNY", D("1.00"), D("1.0"), D("1.0"), D(0), D("0.00"), D("0.00"), 1, 1, True
    )
    statement = Statement(
        issuer="Agent Platform",
        tenant_id="<b>租户&co</b>",
        month="2026-04",
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2026, 4, 30),
        source="test",
        sections=[section],
    )
    html = to_html(statement)
    assert '<span id="tenant">&lt;b&gt;租户&amp;co&lt;/b&gt;</span>' in html
    assert "<b>租" not in html
    pdf = render_pdf(statement)
    assert pdf.startswith(b"%PDF-")
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "Tenant: <b>\\u79df\\u6237&co</b>" in text


def test_statement_pdf_text_has_the_amounts_of_the_marts(analytics_bills, tmp_path):
    out = tmp_path / "acme-2026-04.pdf"
    written = billing(
        analytics_bills, "statement", "--tenant", "acme", "--month", "2026-04", "--out", str(out)
    )
    assert written.returncode == 0, written.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    lines = text.splitlines()
    assert "Tenant: acme" in lines
    assert "This statement is not final: days of the month are still to be billed." in lines
    assert "Deepseek-Chat input 98,765 tokens 2.00 CNY / 1M tokens 0.20" in lines
    assert "Deepseek-Chat output 4,321 tokens 8.00 CNY / 1M tokens 0.03" in lines
    assert "2026-04-01 2026-03-31 Qwen-Max input 500,000 tokens 1.20" in lines
    marts = mart_statement(analytics_bills, "acme", "2026-04")
    assert f"Of which late usage (amount due) {marts['CNY'][1]}" in lines
    assert f"Total due (CNY), 1 daily bill {marts['CNY'][0]}" in lines
    assert marts["CNY"][0] == D("1.43")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "--tenant", "acme", "--month", "2026-13"), "--month '2026-13' is not a month"),
        (
            ("show", "--tenant", "acme", "--month", "2026-05"),
            "no bill for tenant 'acme' in 2026-05",
        ),
        (
            ("statement", "--tenant", "acme", "--month", "2026-04", "--out", "s.txt"),
            "written as .html or .pdf",
        ),
        (("show", "--tenant", "nobody", "--format", "json"), "no bill for tenant 'nobody'"),
    ],
)
def test_what_cannot_be_shown_is_named(analytics_bills, args, message):
    refused = billing(analytics_bills, *args)
    assert refused.returncode == 2
    assert message in refused.stderr


# what people run on their own machines must not need POSIX-only modules (Windows has no
# fcntl): only `billing run` and `billing publish` take the lock
WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # any import of fcntl now fails, as on Windows
try:
    import fcntl
    sys.exit(99)  # the module is not blocked: the test would prove nothing
except ImportError:
    pass
from agent_billing.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_reading_commands_run_where_fcntl_does_not_exist(analytics_bills, tmp_path):
    env = {**os.environ, "BILLING_DB_PATH": str(analytics_bills["db"])}
    for args in (
        ["show", "--tenant", "acme", "--month", "2026-04", "--format", "json"],
        ["statement", "--tenant", "acme", "--month", "2026-04", "--out", str(tmp_path / "s.pdf")],
        ["export", "--tenant", "acme", "--out", str(tmp_path / "export")],
        ["tenants"],
        ["status"],
        ["alerts"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", WITHOUT_FCNTL, *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (args, done.stderr)
    assert (tmp_path / "export" / "bills.xlsx").is_file()
