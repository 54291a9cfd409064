"""Dirty input: every bad record is kept with its reason, the good ones are billed as if alone.

Billing date 2026-03-10 with the default late window of 35 days: usage before
2026-02-03 is beyond the window, usage after 2026-03-10 is pending.
"""

from __future__ import annotations

import json

import pytest
from conftest import query, run_billing, write_jsonl, write_parquet
from reference_billing import expected_bills

BILLING_DATE = "2026-03-10"


def ev(event_id, tenant="acme", at="2026-03-09T02:00:00Z", **fields):
    record = {"event_id": event_id, "tenant_id": tenant, "occurred_at": at}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


G1 = ev("g1", model="gpt-4o", input_tokens=1000, output_tokens=100)
G2 = ev("g2", tenant="globex", model="qwen-max", input_tokens=5000, output_tokens=50)
G3 = ev(
    "g3", at="2026-02-03T12:00:00+08:00", model="deepseek-chat", input_tokens=7, output_tokens=9
)
G4 = ev("g4", tenant="globex", model="gemini-2.0-flash", input_tokens=100, output_tokens=1)
S1 = ev("s1", vendor="aispeech", audio_seconds=10.5)
T1 = ev("t1", vendor="azure", characters=1000)

# (record or raw text, expected (status, reason)); None for blank lines
LLM_A = [
    (G1, ("billed", None)),
    ("", None),
    ('{"event_id": "x1", "tenant_id": "acme", "occ', ("rejected", "malformed_record")),
    ("[1, 2, 3]", ("rejected", "malformed_record")),
    ({k: v for k, v in G1.items() if k != "event_id"}, ("rejected", "missing_event_id")),
    (dict(G1, event_id="  "), ("rejected", "missing_event_id")),
    (
        {k: v for k, v in ev("x2").items() if k != "tenant_id"}
        | {"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1},
        ("rejected", "missing_tenant_id"),
    ),
    (ev("x3", model="gpt-4o", input_tokens=-1, output_tokens=1), ("rejected", "invalid_quantity")),
    (
        ev("x4", model="gpt-4o", input_tokens=10.5, output_tokens=1),
        ("rejected", "invalid_quantity"),
    ),
    (
        ev("x5", model="gpt-4o", input_tokens="ten", output_tokens=1),
        ("rejected", "invalid_quantity"),
    ),
    (ev("x6", model="gpt-4o", input_tokens=1), ("rejected", "invalid_quantity")),
    (
        ev("x7", at="2026-03-09 25:00:00", model="gpt-4o", input_tokens=1, output_tokens=1),
        ("rejected", "invalid_timestamp"),
    ),
    (
        ev("x8", at="yesterday", model="gpt-4o", input_tokens=1, output_tokens=1),
        ("rejected", "invalid_timestamp"),
    ),
    (ev("x9", input_tokens=1, output_tokens=1), ("rejected", "missing_model")),
    (ev("u1", model="llama-99", input_tokens=1, output_tokens=1), ("unpriced", "unknown_model")),
    (
        ev("u2", model="Mistral-Large", input_tokens=10, output_tokens=2),
        ("unpriced", "no_price_in_force"),
    ),
    (
        ev("u3", model="amazon.nova-pro-v1:0", input_tokens=10, output_tokens=2),
        ("unpriced", "no_price_in_force"),
    ),
    (G2, ("billed", None)),
    (G1, ("duplicate", None)),
    (
        ev("p1", at="2026-03-11T01:00:00+08:00", model="gpt-4o", input_tokens=5, output_tokens=5),
        ("pending", None),
    ),
    (
        ev("o1", at="2026-02-02T12:00:00+08:00", model="gpt-4o", input_tokens=5, output_tokens=5),
        ("rejected", "beyond_late_window"),
    ),
    (G3, ("billed", None)),
    ("   ", None),
]
# a later file: a redelivery written differently but with the same payload, a conflict
LLM_B = [
    (dict(G1, occurred_at="2026-03-09T10:00:00+08:00", model=" GPT-4O "), ("duplicate", None)),
    (dict(G2, input_tokens=5001), ("rejected", "conflicting_duplicate")),
    (G4, ("billed", None)),
]
ASR_A = [
    (S1, ("billed", None)),
    (ev("x10", vendor="aispeech", audio_seconds="1.1234567"), ("rejected", "invalid_quantity")),
    (ev("x11", vendor="aispeech", audio_seconds=-1), ("rejected", "invalid_quantity")),
    (ev("u4", vendor="whisper", audio_seconds=3), ("unpriced", "unknown_vendor")),
    (ev("x12", audio_seconds=3), ("rejected", "missing_vendor")),
]
TTS_A = [
    (T1, ("billed", None)),
    (ev("x13", vendor="azure", characters=12.5), ("rejected", "invalid_quantity")),
    (ev("u5", vendor="elevenlabs", characters=5), ("unpriced", "unknown_vendor")),
    ("not json at all", ("rejected", "malformed_record")),
]
# Parquet: a file missing a column, a file with a column of the wrong type, a good file
# with one bad row
PARQUET_MISSING_COLUMN = """
select * from (values ('m1', 'acme', '2026-03-09T02:00:00Z', 'gpt-4o', 5),
                      ('m2', 'acme', '2026-03-09T02:00:00Z', 'gpt-4o', 6))
    as t (event_id, tenant_id, occurred_at, model, input_tokens)
"""
PARQUET_WRONG_TYPE = """
select 'm3' as event_id, 'acme' as tenant_id, '2026-03-09T02:00:00Z' as occurred_at,
    'gpt-4o' as model, true as input_tokens, 1 as output_tokens
"""
PARQUET_GOOD = """
select * from (values
    ('g5', 'globex', 'b1', '2026-03-10 03:00:00+00'::timestamptz, 'claude-3-5-haiku', 300, 30),
    ('x14', 'globex', 'b1', '2026-03-10 03:00:00+00'::timestamptz, 'claude-3-5-haiku', -5, 30)
) as t (event_id, tenant_id, agent_id, occurred_at, model, input_tokens, output_tokens)
"""
G5 = ev(
    "g5",
    tenant="globex",
    at="2026-03-10T03:00:00Z",
    model="claude-3-5-haiku",
    input_tokens=300,
    output_tokens=30,
)
GOOD = {"llm": [G1, G2, G3, G4, G5], "asr": [S1], "tts": [T1]}


def _lines(rows):
    return [r if isinstance(r, str) else json.dumps(r) for r, _ in rows]


def _write_dirty(root):
    write_jsonl(root / "llm" / "a.jsonl", _lines(LLM_A))
    write_jsonl(root / "llm" / "b.jsonl", _lines(LLM_B))
    write_parquet(root / "llm" / "c.parquet", PARQUET_MISSING_COLUMN)
    write_parquet(root / "llm" / "d.parquet", PARQUET_WRONG_TYPE)
    write_parquet(root / "llm" / "e.parquet", PARQUET_GOOD)
    write_jsonl(root / "asr" / "a.jsonl", _lines(ASR_A))
    write_jsonl(root / "tts" / "a.jsonl", _lines(TTS_A))


def _expected_statuses():
    """(source_file relative to usage_root, line) -> (status, reason)."""
    expected = {}
    for stream, name, rows in [
        ("llm", "a.jsonl", LLM_A),
        ("llm", "b.jsonl", LLM_B),
        ("asr", "a.jsonl", ASR_A),
        ("tts", "a.jsonl", TTS_A),
    ]:
        for number, (_, outcome) in enumerate(rows, start=1):
            if outcome is not None:
                expected[(f"{stream}/{name}", number)] = outcome
    for row in (1, 2):
        expected[("llm/c.parquet", row)] = ("rejected", "schema_mismatch")
    expected[("llm/d.parquet", 1)] = ("rejected", "schema_mismatch")
    expected[("llm/e.parquet", 1)] = ("billed", None)
    expected[("llm/e.parquet", 2)] = ("rejected", "invalid_quantity")
    return expected


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirty")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    _write_dirty(root)
    result = run_billing("run", "--date", BILLING_DATE, "--usage-root", str(root), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, db, result


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    write_jsonl(root / "llm" / "a.jsonl", [json.dumps(e) for e in GOOD["llm"]])
    write_jsonl(root / "asr" / "a.jsonl", [json.dumps(e) for e in GOOD["asr"]])
    write_jsonl(root / "tts" / "a.jsonl", [json.dumps(e) for e in GOOD["tts"]])
    result = run_billing("run", "--date", BILLING_DATE, "--usage-root", str(root), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    return db


def _statuses(db):
    """(file, line) -> (status, reason) from the marts alone."""
    outcome = {}
    for file, line, reason in query(
        db, "select source_file, source_line, reason from marts.rejected_usage"
    ):
        outcome[(file, line)] = ("rejected", reason)
    for file, line, reason in query(
        db, "select source_file, source_line, reason from marts.unpriced_usage"
    ):
        outcome[(file, line)] = ("unpriced", reason)
    for file, line, status in query(
        db,
        "select source_file, source_line, status from ledger.usage_records "
        "where status in ('billed', 'duplicate', 'pending')",
    ):
        outcome[(file, line)] = (status, None)
    return outcome


def test_every_record_gets_its_exact_status_and_reason(dirty):
    root, db, _ = dirty
    assert _statuses(db) == _expected_statuses()


def test_reconciliation_counts_every_raw_record(dirty):
    _, db, _ = dirty
    rows = query(
        db,
        "select stream, raw_events, billed_events, duplicate_events, unpriced_events, "
        "rejected_events, pending_events from marts.usage_reconciliation order by stream",
    )
    # llm: a.jsonl 21 non-blank lines, b.jsonl 3, Parquet 2 + 1 + 2 rows
    assert rows == [
        ("asr", 5, 1, 0, 1, 3, 0),
        ("llm", 29, 5, 2, 3, 18, 1),
        ("tts", 4, 1, 0, 1, 2, 0),
    ]


def test_rejected_records_keep_their_text_file_and_line(dirty):
    root, db, _ = dirty
    rows = {
        (file, line): raw
        for file, line, raw in query(
            db, "select source_file, source_line, raw_record from marts.rejected_usage"
        )
    }
    torn = rows[("llm/a.jsonl", 3)]
    assert torn == '{"event_id": "x1", "tenant_id": "acme", "occ'
    assert rows[("tts/a.jsonl", 4)] == "not json at all"
    parquet_row = json.loads(rows[("llm/e.parquet", 2)])
    assert parquet_row["event_id"] == "x14" and parquet_row["input_tokens"] == "-5"
    mismatch = json.loads(rows[("llm/c.parquet", 2)])
    assert mismatch["event_id"] == "m2" and "output_tokens" not in mismatch


def test_good_events_are_billed_as_if_the_bad_ones_were_not_there(dirty, clean):
    _, db, _ = dirty
    bills_sql = "select * exclude (billing_run_id, issued_at) from marts.daily_bills order by all"
    lines_sql = (
        "select * exclude (billing_run_id, issued_at) from marts.bill_line_items order by all"
    )
    assert query(db, bills_sql) == query(clean, bills_sql)
    assert query(db, lines_sql) == query(clean, lines_sql)
    expected_lines, expected = expected_bills(GOOD)
    actual = {
        (day, tenant, currency): (total, due, count)
        for day, tenant, currency, total, due, count in query(
            db,
            "select bill_date, tenant_id, currency, total_amount, amount_due, line_count "
            "from marts.daily_bills",
        )
    }
    assert actual == expected
    assert len(expected_lines) == 12  # five LLM events x (input, output), one ASR, one TTS


def test_unpriced_usage_keeps_quantities_and_is_never_billed_at_zero(dirty):
    _, db, _ = dirty
    rows = query(
        db,
        "select event_id, reported_item, catalog_item, input_tokens, output_tokens, "
        "audio_seconds, characters, reason from marts.unpriced_usage order by event_id",
    )
    assert [(r[0], r[1], r[2], r[7]) for r in rows] == [
        ("u1", "llama-99", "llama-99", "unknown_model"),
        ("u2", "Mistral-Large", "mistral-large", "no_price_in_force"),
        ("u3", "amazon.nova-pro-v1:0", "nova-pro", "no_price_in_force"),
        ("u4", "whisper", "whisper", "unknown_vendor"),
        ("u5", "elevenlabs", "elevenlabs", "unknown_vendor"),
    ]
    assert rows[1][3:5] == (10, 2)
    lines = query(
        db,
        "select count(*) from marts.bill_line_items "
        "where catalog_item in ('mistral-large', 'nova-pro', 'llama-99')",
    )
    assert lines == [(0,)]


def test_the_run_exits_zero_and_reports_the_dirt(dirty):
    _, _, result = dirty
    # x3, x4, x5, x6, x14 (Parquet), x10, x11 (ASR), x13 (TTS)
    assert "rejected invalid_quantity: 8" in result.stdout
    assert "unpriced no_price_in_force: 2" in result.stdout
    assert "llm: 29 raw in 5 files = 5 billed + 2 duplicate + 3 unpriced + 18 rejected" in (
        result.stdout
    )
