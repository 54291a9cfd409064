"""Typed Parquet columns are checked as numbers and instants, by the rules of a JSON line's text.

Whole numbers, decimals and instants in Parquet are taken as they are (never printed and
parsed back). Each value below is written twice: in a typed Parquet column (event ids p-*) and
as the same token in a JSON line (j-*), which goes through the text rules. Both must end with
the same status, reason, instant and quantities, and that outcome is also written down here by
hand from the contract's rules, so that the two paths cannot agree on a wrong answer.
"""

from __future__ import annotations

import json

import pytest
from conftest import query, run_billing, write_jsonl, write_parquet

BILLING_DATE = "2026-03-10"
AT = "2026-03-10 03:00:00+00"

# (id, Parquet SQL values, JSON Lines text values, expected (status, reason))
LLM = [  # occurred_at TIMESTAMPTZ, input_tokens DECIMAL(22, 3), output_tokens UBIGINT
    ("t1", (f"'{AT}'", "12.000", "5"), ('"2026-03-10T03:00:00Z"', "12.000", "5"),
     ("billed", None)),
    ("t2", (f"'{AT}'", "12.500", "5"), ('"2026-03-10T03:00:00Z"', "12.500", "5"),
     ("rejected", "invalid_quantity")),
    ("t3", (f"'{AT}'", "999999999999999999.000", "0"),
     ('"2026-03-10T03:00:00Z"', "999999999999999999.000", "0"), ("billed", None)),
    ("t4", (f"'{AT}'", "1000000000000000000.000", "0"),
     ('"2026-03-10T03:00:00Z"', "1000000000000000000.000", "0"),
     ("rejected", "invalid_quantity")),
    ("t5", (f"'{AT}'", "1", "18446744073709551615"),
     ('"2026-03-10T03:00:00Z"', "1", "18446744073709551615"), ("rejected", "invalid_quantity")),
    ("t6", ("'infinity'", "1", "1"), ('"infinity"', "1", "1"), ("rejected", "invalid_timestamp")),
    ("t7", ("null", "1", "1"), ("null", "1", "1"), ("rejected", "invalid_timestamp")),
    ("t8", (f"'{AT}'", "null", "1"), ('"2026-03-10T03:00:00Z"', "null", "1"),
     ("rejected", "invalid_quantity")),
]  # fmt: skip
NAIVE = [  # occurred_at TIMESTAMP (no zone: UTC), input_tokens INTEGER, output_tokens SMALLINT
    ("n1", ("'2026-03-09 23:30:00'", "7", "3"), ('"2026-03-09 23:30:00"', "7", "3"),
     ("billed", None)),
    ("n2", ("'2026-03-09 23:30:00'", "-7", "3"), ('"2026-03-09 23:30:00"', "-7", "3"),
     ("rejected", "invalid_quantity")),
]  # fmt: skip
ASR = [  # audio_seconds DECIMAL(17, 7)
    ("s1", ("1.2345670",), ("1.2345670",), ("billed", None)),
    ("s2", ("1.2345678",), ("1.2345678",), ("rejected", "invalid_quantity")),
    ("s3", ("999999999.0000000",), ("999999999.0000000",), ("billed", None)),
    ("s4", ("1000000000.0000000",), ("1000000000.0000000",), ("rejected", "invalid_quantity")),
]
TTS = [  # characters BIGINT (DuckDB writes HUGEINT to Parquet as a DOUBLE)
    ("c1", ("4000",), ("4000",), ("billed", None)),
    ("c2", ("-1",), ("-1",), ("rejected", "invalid_quantity")),
]


def _parquet(columns: str, rows: list, values_of) -> str:
    values = ",\n".join(
        "(" + ", ".join([f"'p-{event_id}'", *values_of(sql)]) + ")" for event_id, sql, _, _ in rows
    )
    return f"select * from (values {values}) as t ({columns})"


def _jsonl(rows: list, template: str) -> list[str]:
    return [template.format(f"j-{event_id}", *text) for event_id, _, text, _ in rows]


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    root = tmp_path_factory.mktemp("typed")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    llm_columns = "event_id, tenant_id, occurred_at, model, input_tokens, output_tokens"
    write_parquet(
        root / "llm" / "zoned.parquet",
        _parquet(
            llm_columns,
            LLM,
            lambda v: [
                "'acme'", f"cast({v[0]} as timestamptz)", "'gpt-4o'",
                f"cast({v[1]} as decimal(22, 3))", f"cast({v[2]} as ubigint)",
            ],
        ),
    )  # fmt: skip
    write_parquet(
        root / "llm" / "naive.parquet",
        _parquet(
            llm_columns,
            NAIVE,
            lambda v: [
                "'acme'", f"cast({v[0]} as timestamp)", "'gpt-4o'",
                f"cast({v[1]} as integer)", f"cast({v[2]} as smallint)",
            ],
        ),
    )  # fmt: skip
    write_parquet(
        root / "asr" / "typed.parquet",
        _parquet(
            "event_id, tenant_id, occurred_at, vendor, audio_seconds",
            ASR,
            lambda v: ["'acme'", f"timestamptz '{AT}'", "'aispeech'", f"{v[0]}::decimal(17, 7)"],
        ),
    )
    write_parquet(
        root / "tts" / "typed.parquet",
        _parquet(
            "event_id, tenant_id, occurred_at, vendor, characters",
            TTS,
            lambda v: ["'acme'", f"timestamptz '{AT}'", "'aispeech'", f"{v[0]}::bigint"],
        ),
    )
    llm_line = (
        '{{"event_id": "{}", "tenant_id": "acme", "occurred_at": {}, "model": "gpt-4o", '
        '"input_tokens": {}, "output_tokens": {}}}'
    )
    write_jsonl(root / "llm" / "text.jsonl", _jsonl(LLM + NAIVE, llm_line))
    write_jsonl(
        root / "asr" / "text.jsonl",
        _jsonl(
            ASR,
            '{{"event_id": "{}", "tenant_id": "acme", "occurred_at": "2026-03-10T03:00:00Z", '
            '"vendor": "aispeech", "audio_seconds": {}}}',
        ),
    )
    write_jsonl(
        root / "tts" / "text.jsonl",
        _jsonl(
            TTS,
            '{{"event_id": "{}", "tenant_id": "acme", "occurred_at": "2026-03-10T03:00:00Z", '
            '"vendor": "aispeech", "characters": {}}}',
        ),
    )
    result = run_billing("run", "--date", BILLING_DATE, "--usage-root", str(root), db=db)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = query(
        db,
        "select event_id, status, reason, occurred_at, input_tokens, output_tokens, "
        "audio_seconds, characters, raw_record from ledger.usage_records",
    )
    return {row[0]: row[1:] for row in rows}


def test_typed_values_get_the_status_their_text_gets(typed):
    for event_id, _, _, expected in LLM + NAIVE + ASR + TTS:
        parquet, jsonl = typed[f"p-{event_id}"], typed[f"j-{event_id}"]
        assert parquet[:2] == expected, event_id
        assert jsonl[:2] == expected, event_id
        # the same instant and quantities (null where rejected)
        assert parquet[2:7] == jsonl[2:7], event_id


def test_typed_values_are_read_exactly(typed):
    # read as they are: 999999999999999999 tokens, 7 decimals of a second, no zone as UTC
    assert typed["p-t3"][3] == 999_999_999_999_999_999
    assert str(typed["p-s1"][5]) == "1.234567"
    assert str(typed["p-s3"][5]) == "999999999.000000"
    assert typed["p-n1"][2].isoformat() == "2026-03-09T23:30:00+00:00"
    assert (typed["p-n1"][3], typed["p-n1"][4]) == (7, 3)
    assert typed["p-c1"][6] == 4000


def test_a_rejected_typed_value_is_kept_as_received(typed):
    # the field that failed its check is shown as the column held it
    assert json.loads(typed["p-t2"][7])["input_tokens"] == "12.500"
    assert json.loads(typed["p-t5"][7])["output_tokens"] == "18446744073709551615"
    assert json.loads(typed["p-s2"][7])["audio_seconds"] == "1.2345678"
    assert json.loads(typed["p-c2"][7])["characters"] == "-1"
    # and the fields that passed theirs as the column printed them
    assert json.loads(typed["p-t2"][7])["occurred_at"] == "2026-03-10 03:00:00+00"
    assert json.loads(typed["p-t2"][7])["output_tokens"] == "5"
    assert json.loads(typed["p-t5"][7])["input_tokens"] == "1.000"
    assert json.loads(typed["p-n2"][7])["occurred_at"] == "2026-03-09 23:30:00"
    assert json.loads(typed["p-n2"][7])["output_tokens"] == "3"
