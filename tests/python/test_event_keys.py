"""Copies of billed events are looked up by event_key (a hash of stream and event_id kept
with each ledger record), also in a warehouse whose ledger was written before the column
existed: the next run computes it for every kept record before it looks anything up.

Two runs (GPT-4o input is 2.50 USD per 1M tokens in the catalog):
1. 2026-04-01: a.jsonl brings e1 (acme, 1,000,000 input tokens): 2.50 USD.
   Then the ledger loses its event_key column, as a ledger from before it had none.
2. 2026-04-02: b.jsonl brings e1 again with the same payload (a duplicate), e1 again with
   other tokens (conflicting_duplicate: the billed record wins) and e2 (acme, 2,000,000
   tokens on the 2nd): the bill of the 2nd is 5.00 USD, not 7.50 or 9.99.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest
from conftest import llm_event, query, run_billing, write_jsonl

D = Decimal
E1 = llm_event("e1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1_000_000, 0)
E1_OTHER = llm_event("e1", "acme", "2026-04-01T02:00:00Z", "gpt-4o", 1_996_000, 0)
E2 = llm_event("e2", "acme", "2026-04-02T02:00:00Z", "gpt-4o", 2_000_000, 0)


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("event_keys")
    usage, db = root / "usage", root / "warehouse" / "billing.duckdb"
    write_jsonl(usage / "llm" / "a.jsonl", [E1])
    _ok(run_billing("run", "--date", "2026-04-01", "--usage-root", str(usage), db=db))
    keys_as_issued = query(db, "select event_id, event_key from ledger.usage_records")
    with duckdb.connect(str(db)) as connection:
        connection.execute("alter table ledger.usage_records drop column event_key")
    write_jsonl(usage / "llm" / "b.jsonl", [E1, E1_OTHER, E2])
    _ok(run_billing("run", "--date", "2026-04-02", "--usage-root", str(usage), db=db))
    return {"db": db, "keys_as_issued": keys_as_issued}


def _expected_key(event_id: str) -> int:
    """The key as DuckDB's hash of (stream, event_id) gives it, computed apart."""
    with duckdb.connect() as connection:
        return connection.execute("select hash('llm', ?)", [event_id]).fetchone()[0]


def test_each_record_keeps_the_hash_of_its_stream_and_id(upgraded):
    assert upgraded["keys_as_issued"] == [("e1", _expected_key("e1"))]


def test_the_next_run_fills_the_key_of_every_kept_record(upgraded):
    keys = query(
        upgraded["db"],
        "select source_file, source_line, event_id, event_key from ledger.usage_records "
        "order by all",
    )
    assert keys == [
        ("llm/a.jsonl", 1, "e1", _expected_key("e1")),
        ("llm/b.jsonl", 1, "e1", _expected_key("e1")),
        ("llm/b.jsonl", 2, "e1", _expected_key("e1")),
        ("llm/b.jsonl", 3, "e2", _expected_key("e2")),
    ]


def test_copies_of_a_billed_event_are_found_through_the_filled_keys(upgraded):
    db = upgraded["db"]
    statuses = query(
        db,
        "select source_file, source_line, status, reason from ledger.usage_records "
        "order by source_file, source_line",
    )
    assert statuses == [
        ("llm/a.jsonl", 1, "billed", None),
        ("llm/b.jsonl", 1, "duplicate", None),
        ("llm/b.jsonl", 2, "rejected", "conflicting_duplicate"),
        ("llm/b.jsonl", 3, "billed", None),
    ]
    # 1,000,000 x 2.50 / 1M on the 1st; 2,000,000 x 2.50 / 1M on the 2nd, e1 not again
    bills = query(db, "select bill_date, tenant_id, currency, amount_due from marts.daily_bills")
    assert sorted(bills) == [
        (dt.date(2026, 4, 1), "acme", "USD", D("2.50")),
        (dt.date(2026, 4, 2), "acme", "USD", D("5.00")),
    ]
