"""Intake: files as real producers write them cost their own records, never the run.

One warehouse, two runs (`billing run` for 2026-05-01, then for 2026-05-02), and a usage
folder holding, beside good files, every kind of file the intake must survive: names with
glob characters and a backslash, a symlinked folder (and a link looping back), a bad byte, a
BOM, a UTF-16 file, gzip (whole and torn), an unsupported extension, a torn Parquet upload,
values that a double or a lax parser would misread, and a torn last line. Between the runs the
torn line is completed and another line appended, one billed file is rewritten in place and
another truncated by a retention job.

Every event is GPT-4o with 1,000,000 input tokens and no output: 2.50 USD each at list price,
so a bill's amount is 2.50 times its event count (worked out by hand below, not read back).

While the first run goes, right after its listing is taken, a file lands and another grows:
each landed event is billed exactly once, by the second run.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import BILLING, REPO, llm_event, query, run_billing, write_jsonl

D = Decimal
DAY_1 = "2026-05-01"
DAY_2 = "2026-05-02"
AT_1 = "2026-05-01T02:00:00Z"  # 10:00 in Shanghai, the 1st
AT_2 = "2026-05-02T02:00:00Z"
# provider-prefixed ids and what 1,000,000 input tokens of each cost (list prices, USD)
ROUTED = {
    "openai/gpt-4o": D("2.50"),
    "azure/gpt-4o": D("2.50"),
    "anthropic/claude-3-7-sonnet": D("3.00"),
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0": D("3.00"),
    "bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0": D("3.00"),
    "gemini/gemini-2.0-flash": D("0.10"),
    "vertex_ai/gemini-2.0-flash-001": D("0.10"),
}


def ev(event_id, at=AT_1, tenant="acme", model="gpt-4o"):
    return llm_event(event_id, tenant, at, model, 1_000_000, 0)


def line(event) -> str:
    return json.dumps(event)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def statuses(db: Path) -> dict:
    return {
        (file, version, number): (status, reason)
        for file, version, number, status, reason in query(
            db,
            "select source_file, source_version, source_line, status, reason "
            "from ledger.usage_records where stream = 'llm'",
        )
    }


def reconciliation(db: Path) -> tuple:
    return query(
        db,
        "select raw_events, billed_events, duplicate_events, unpriced_events, "
        "rejected_events, pending_events from marts.usage_reconciliation where stream = 'llm'",
    )[0]


def bills(db: Path) -> dict:
    return {
        (str(bill_date), tenant): (amount_due, events)
        for bill_date, tenant, amount_due, events in query(
            db,
            "select bills.bill_date, bills.tenant_id, bills.amount_due, sum(lines.event_count) "
            "from marts.daily_bills as bills join marts.bill_line_items as lines "
            "using (bill_date, tenant_id, currency) where lines.billing_item = 'GPT-4o input' "
            "group by all",
        )
    }


def run_landing_files_after_the_listing(root: Path, db: Path, landings: dict):
    """`billing run` for DAY_1; as soon as dbt logs the listing as built, append `landings`."""
    logs = db.parent / "logs"
    env = {
        **os.environ,
        "BILLING_DB_PATH": str(db),
        "BILLING_PUBLISH_PATH": str(db.with_name("published.duckdb")),
        "BILLING_PROJECT_DIR": str(REPO),
        "DBT_LOG_PATH": str(logs),
    }
    run = subprocess.Popen(
        [BILLING, "run", "--date", DAY_1, "--usage-root", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    landed = False
    deadline = time.monotonic() + 300
    while not landed and time.monotonic() < deadline and run.poll() is None:
        log = logs / "dbt.log"
        if log.exists() and "created sql table model staging.stg_usage__files" in log.read_text(
            errors="replace"
        ):
            for path, text in landings.items():
                with path.open("a") as landing:
                    landing.write(text)
            landed = True
        time.sleep(0.05)
    stdout, stderr = run.communicate(timeout=600)
    assert landed, "the run ended before its listing was logged: " + stdout + stderr
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def timeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("usage")
    outside = tmp_path_factory.mktemp("elsewhere")
    db = tmp_path_factory.mktemp("warehouse") / "billing.duckdb"
    llm = root / "llm"
    # names that a glob would take as patterns, or skip
    write_jsonl(llm / "x1.jsonl", [ev("g-x1")])
    write_jsonl(llm / "x[1].jsonl", [ev("g-bracket")])
    write_jsonl(llm / "s*.jsonl", [ev("g-star")])
    write_jsonl(llm / "sa.jsonl", [ev("g-sa")])
    write_jsonl(llm / "back\\slash.jsonl", [ev("g-backslash")])
    write_jsonl(llm / "UPPER.JSONL", [ev("g-upper")])
    # a symlinked folder is read once; a link back up the tree is not followed again
    write_jsonl(outside / "day" / "linked.jsonl", [ev("g-linked")])
    os.symlink(outside / "day", llm / "linked")
    os.symlink(llm, llm / "linked-loop")
    # skipped on purpose: hidden files and markers
    write_jsonl(llm / ".in-progress.jsonl", [ev("hidden")])
    write_bytes(llm / "_SUCCESS", b"")
    # bytes
    write_bytes(
        llm / "bytes.jsonl",
        (line(ev("g-b1")) + "\n").encode()
        + b'{"event_id": "bad-byte", "tenant_id": "ac\xffme"}\n'
        + (line(ev("g-b3")) + "\n").encode(),
    )
    write_bytes(llm / "bom.jsonl", b"\xef\xbb\xbf" + (line(ev("g-bom")) + "\n").encode())
    write_bytes(llm / "utf16.jsonl", (line(ev("utf16")) + "\r\n").encode("utf-16"))
    # gzip: a whole stream (with a blank line) is read; a torn one and a fake one are not
    gz = gzip.compress((line(ev("g-gz1")) + "\n\n" + line(ev("g-gz3")) + "\n").encode())
    write_bytes(llm / "whole.jsonl.gz", gz)
    write_bytes(llm / "torn.jsonl.gz", gz[: len(gz) // 2])
    write_bytes(llm / "fake.jsonl.gz", b"not gzip at all\n")
    write_bytes(llm / "notes.csv", b"event_id,tenant_id\nx,y\n")
    write_bytes(llm / "torn.parquet", b"PAR1 half an upload")
    # values judged by their text
    write_jsonl(
        llm / "values.jsonl",
        [
            '{"event_id": "v-frac", "tenant_id": "acme", "occurred_at": "' + AT_1 + '", '
            '"model": "gpt-4o", "input_tokens": 4.9999999999999999, "output_tokens": 0}',
            line({**ev("v-offset"), "occurred_at": "2026-05-01T10:00:00+25:00"}),
            '{"event_id": "v-twice", "tenant_id": "acme", "tenant_id": "globex", '
            '"occurred_at": "' + AT_1 + '", "model": "gpt-4o", "input_tokens": 1000000, '
            '"output_tokens": 0}',
            line({**ev("v-array"), "tenant_id": ["t-arr"]}),
            line({**ev("ignored"), "event_id": 12.5}),
            line({**ev("ignored"), "event_id": 123456}),
            line({**ev("v-whole"), "input_tokens": 1000000.0}),
        ],
    )
    # model ids as routers and clouds send them
    write_jsonl(
        llm / "router.jsonl", [ev(f"r-{n}", tenant="router", model=m) for n, m in enumerate(ROUTED)]
    )
    # a torn last line: its producer is still writing it
    torn_tail = '{"event_id": "g-grow2", "tenant_id": "ac'
    write_bytes(llm / "growing.jsonl", (line(ev("g-grow1")) + "\n" + torn_tail).encode())

    # run 1; files land in usage_root while it runs, right after its listing is taken
    first = run_landing_files_after_the_listing(
        root,
        db,
        landings={
            llm / "landed.jsonl": line(ev("g-landed")) + "\n",
            llm / "UPPER.JSONL": line(ev("g-appended")) + "\n",
        },
    )
    assert first.returncode == 0, first.stdout + first.stderr
    state_1 = {
        "statuses": statuses(db),
        "reconciliation": reconciliation(db),
        "bills": bills(db),
        "rejected": query(
            db,
            "select source_file, source_line, reason, raw_record from marts.rejected_usage",
        ),
    }

    # between the runs
    (llm / "growing.jsonl").write_text(
        line(ev("g-grow1")) + "\n" + line(ev("g-grow2")) + "\n" + line(ev("g-grow3", AT_2)) + "\n"
    )
    # rewritten in place: a new event first, the billed one after it
    write_jsonl(llm / "x1.jsonl", [ev("g-rewrite", AT_2), ev("g-x1")])
    # truncated by a retention job
    (llm / "sa.jsonl").write_text("")

    second = run_billing("run", "--date", DAY_2, "--usage-root", str(root), db=db)
    return {"db": db, "first": first, "second": second, "run_1": state_1}


def test_no_file_stops_the_run(timeline):
    for run in ("first", "second"):
        result = timeline[run]
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_file_costs_only_its_own_records(timeline):
    seen = timeline["run_1"]["statuses"]
    billed = {
        "llm/x1.jsonl": 1,
        "llm/x[1].jsonl": 1,
        "llm/s*.jsonl": 1,
        "llm/sa.jsonl": 1,
        "llm/back\\slash.jsonl": 1,
        "llm/UPPER.JSONL": 1,
        "llm/linked/linked.jsonl": 1,
        "llm/bom.jsonl": 1,
    }
    for file, number in billed.items():
        assert seen[(file, 1, number)] == ("billed", None), file
    assert seen[("llm/bytes.jsonl", 1, 1)] == ("billed", None)
    assert seen[("llm/bytes.jsonl", 1, 2)] == ("rejected", "invalid_encoding")
    assert seen[("llm/bytes.jsonl", 1, 3)] == ("billed", None)
    # a UTF-16 file: its line is rejected, not the run
    assert {v for k, v in seen.items() if k[0] == "llm/utf16.jsonl"} == {
        ("rejected", "invalid_encoding")
    }
    assert seen[("llm/whole.jsonl.gz", 1, 1)] == ("billed", None)
    assert seen[("llm/whole.jsonl.gz", 1, 3)] == ("billed", None)
    assert ("llm/whole.jsonl.gz", 1, 2) not in seen  # blank line
    for file, reason in {
        "llm/torn.jsonl.gz": "unreadable_file",
        "llm/fake.jsonl.gz": "unreadable_file",
        "llm/notes.csv": "unsupported_format",
        "llm/torn.parquet": "unreadable_file",
    }.items():
        assert seen[(file, 1, 0)] == ("rejected", reason), file
    assert seen[("llm/values.jsonl", 1, 1)] == ("rejected", "invalid_quantity")
    assert seen[("llm/values.jsonl", 1, 2)] == ("rejected", "invalid_timestamp")
    assert seen[("llm/values.jsonl", 1, 3)] == ("rejected", "ambiguous_record")
    assert seen[("llm/values.jsonl", 1, 4)] == ("rejected", "invalid_tenant_id")
    assert seen[("llm/values.jsonl", 1, 5)] == ("rejected", "invalid_event_id")
    assert seen[("llm/values.jsonl", 1, 6)] == ("billed", None)  # an integer id
    assert seen[("llm/values.jsonl", 1, 7)] == ("billed", None)  # 1000000.0 is whole
    assert seen[("llm/growing.jsonl", 1, 1)] == ("billed", None)
    assert seen[("llm/growing.jsonl", 1, 2)] == ("pending", "incomplete_line")
    # files that landed during the run wait for the next one (UPPER.JSONL: read to its
    # listed size)
    assert not [k for k in seen if k[0] == "llm/landed.jsonl"]
    assert ("llm/UPPER.JSONL", 1, 2) not in seen
    # hidden files, markers and the loop are not records; nothing else was read
    # provider-prefixed model ids price like the bare ids
    for number in range(1, len(ROUTED) + 1):
        assert seen[("llm/router.jsonl", 1, number)] == ("billed", None)
    assert not [k for k in seen if "hidden" in k[0] or "_SUCCESS" in k[0] or "loop" in k[0]]
    assert len(seen) == 8 + 3 + 1 + 2 + 4 + 7 + len(ROUTED) + 2


def test_the_bad_records_keep_their_text(timeline):
    rejected = {(f, n): (r, raw) for f, n, r, raw in timeline["run_1"]["rejected"]}
    assert rejected[("llm/bytes.jsonl", 2)] == (
        "invalid_encoding",
        "{\\x22event_id\\x22: \\x22bad-byte\\x22, \\x22tenant_id\\x22: \\x22ac\\xFFme\\x22}",
    )
    assert rejected[("llm/notes.csv", 0)] == ("unsupported_format", None)


def test_the_books_balance_after_each_run(timeline):
    # run 1, counted by hand: x1, x[1], s*, sa, back\slash, UPPER, linked, bom = 8;
    # bytes.jsonl 2; whole.jsonl.gz 2; values.jsonl 2; growing.jsonl 1: 15 billed, and the
    # 7 of router.jsonl
    raw, billed, duplicate, unpriced, rejected, pending = timeline["run_1"]["reconciliation"]
    assert billed == 15 + 7
    assert rejected == 1 + 1 + 4 + 5  # bad byte, UTF-16 line, 4 files, 5 values
    assert pending == 1  # the torn line
    assert (duplicate, unpriced) == (0, 0)
    assert raw == billed + duplicate + unpriced + rejected + pending
    raw, billed, duplicate, unpriced, rejected, pending = reconciliation(timeline["db"])
    assert raw == billed + duplicate + unpriced + rejected + pending
    # run 2 adds: g-grow2 (the torn line, whole now), g-grow3, g-rewrite billed, and the two
    # events that landed during run 1; the rewritten x1.jsonl's copy of g-x1 a duplicate;
    # the truncated sa.jsonl has no records
    assert billed == 15 + 7 + 3 + 2
    assert duplicate == 1
    assert pending == 0


def test_changed_files_are_read_and_reported(timeline):
    seen = statuses(timeline["db"])
    # the torn line, completed, and the line appended after it
    assert seen[("llm/growing.jsonl", 1, 2)] == ("billed", None)
    assert seen[("llm/growing.jsonl", 1, 3)] == ("billed", None)
    # x1.jsonl rewritten: version 1 keeps its billed record, version 2 is classified anew
    assert seen[("llm/x1.jsonl", 1, 1)] == ("billed", None)
    assert seen[("llm/x1.jsonl", 2, 1)] == ("billed", None)
    assert seen[("llm/x1.jsonl", 2, 2)] == ("duplicate", None)
    # sa.jsonl truncated: its billed record stays billed
    assert seen[("llm/sa.jsonl", 1, 1)] == ("billed", None)
    # what landed during run 1, billed once by run 2 (late usage of the 1st)
    assert seen[("llm/landed.jsonl", 1, 1)] == ("billed", None)
    assert seen[("llm/UPPER.JSONL", 1, 2)] == ("billed", None)
    late = query(
        timeline["db"],
        "select event_id from ledger.usage_records "
        f"where is_late and bill_date = date '{DAY_2}' order by event_id",
    )
    assert late == [("g-appended",), ("g-grow2",), ("g-landed",)]
    output = timeline["second"].stdout
    assert "llm/x1.jsonl: rewritten since it was read (now version 2)" in output
    assert "llm/sa.jsonl: rewritten since it was read (now version 2)" in output
    first = timeline["first"].stdout
    assert "llm/notes.csv: not read (unsupported_format)" in first
    assert "llm/growing.jsonl: last line incomplete" in first


def test_bills_are_exact_for_everyone_else(timeline):
    per_event = D("2.50")
    issued = bills(timeline["db"])
    # the 1st: the 15 billed records of run 1, all acme
    assert issued[(DAY_1, "acme")] == (15 * per_event, 15)
    # the 2nd: g-grow3 and g-rewrite (the 2nd); g-grow2, g-landed, g-appended (late, the 1st)
    assert issued[(DAY_2, "acme")] == (5 * per_event, 5)
    # router: 2.50 + 2.50 + 3.00 * 3 + 0.10 * 2 = 14.20
    assert issued[(DAY_1, "router")][0] == D("14.20") == sum(ROUTED.values())
    assert set(issued) == {(DAY_1, "acme"), (DAY_2, "acme"), (DAY_1, "router")}
