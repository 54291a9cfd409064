"""The publish starts from the last published file and copies again only the records of
the usage files the ledger counted again since: after every run, across five runs, the
published marts hold exactly the rows of the warehouse's marts (compared both ways with
EXCEPT ALL, every mart), whichever way the publish took.

Usage (worked out by hand with the catalog's GPT-4o-mini input price, 0.15 USD per 1M
tokens; "acme-llm-x" is no catalog model until run 3 adds it as an alias of gpt-4o-mini):
- 2026-04-01 file: e1 1,000,000 input tokens (0.15 USD), u1 acme-llm-x 1,000,000
  (unpriced), one line that is not JSON (rejected);
- 2026-04-02 file: e2 2,000,000 input tokens (0.30 USD), u2 acme-llm-x 2,000,000
  (unpriced), one torn line (rejected);
- run 3 (2026-04-03) bills u1 and u2 late: 0.15 + 0.30 = 0.45 USD on acme's bill.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import llm_event, project_copy, query, run_billing

D = Decimal
PUBLISHED_LINE = "Published for analysts and BI tools: "
DAY_1_FILE = "llm/date=2026-04-01/a.jsonl"
DAY_2_FILE = "llm/date=2026-04-02/a.jsonl"


def _write(path: Path, lines: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")


def _how_published(result) -> str:
    """What the run or publish said of how it published (the text in brackets)."""
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith(PUBLISHED_LINE)]
    return line.split(" (", 1)[1].rstrip(")")


def _differences(db: Path, published: Path) -> dict[str, tuple[int, int]]:
    """Per mart, rows of the warehouse's mart missing from the published one and rows the
    published one has beyond them (EXCEPT ALL: duplicates count); a mart on one side only
    shows as (-1, -1). Empty when the published file holds exactly the marts."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{db}' as warehouse (read_only)")
        connection.execute(f"attach '{published}' as published (read_only)")

        def marts(database: str) -> set[str]:
            return {
                name
                for (name,) in connection.execute(
                    "select table_name from duckdb_tables() where database_name = ? "
                    "and schema_name = 'marts' union all select view_name from duckdb_views() "
                    "where database_name = ? and schema_name = 'marts'",
                    [database, database],
                ).fetchall()
            }

        ours, theirs = marts("warehouse"), marts("published")
        found = {name: (-1, -1) for name in ours ^ theirs}
        for name in sorted(ours & theirs):
            counts = tuple(
                connection.execute(
                    f'select count(*) from (select * from {a}.marts."{name}" '
                    f'except all select * from {b}.marts."{name}")'
                ).fetchone()[0]
                for a, b in (("warehouse", "published"), ("published", "warehouse"))
            )
            if counts != (0, 0):
                found[name] = counts
        assert len(ours) >= 10, ours  # every mart of the project is compared
    return found


@pytest.fixture(scope="module")
def five_runs(tmp_path_factory) -> dict:
    """Five daily runs; after each, how it published and what differs from the warehouse."""
    base = tmp_path_factory.mktemp("incremental_publish")
    project = project_copy(base)
    usage = base / "usage"
    db = base / "warehouse" / "billing.duckdb"
    published = db.with_name(f"{db.stem}_published{db.suffix}")
    steps = {}

    def run(day: str) -> None:
        result = run_billing(
            "run", "--date", day, "--usage-root", str(usage), db=db, project=project
        )
        steps[day] = {
            "how": _how_published(result),
            "differences": _differences(db, published),
            "unpriced": query(published, "select event_id from marts.unpriced_usage order by 1"),
            "rejected": query(
                published,
                "select source_file, reason, reason_description from marts.rejected_usage "
                "order by 1",
            ),
        }

    _write(
        usage / DAY_1_FILE,
        [
            llm_event("e1", "acme", "2026-04-01T03:00:00Z", "gpt-4o-mini", 1_000_000, 0),
            llm_event("u1", "acme", "2026-04-01T04:00:00Z", "acme-llm-x", 1_000_000, 0),
            "not json",
        ],
    )
    run("2026-04-01")
    _write(
        usage / DAY_2_FILE,
        [
            llm_event("e2", "acme", "2026-04-02T03:00:00Z", "gpt-4o-mini", 2_000_000, 0),
            llm_event("u2", "acme", "2026-04-02T04:00:00Z", "acme-llm-x", 2_000_000, 0),
            '{"event_id": "torn", "tenant_id": "ac',
        ],
    )
    run("2026-04-02")
    # the unknown model gets a price: its records of both files are billed on 04-03
    aliases = project / "seeds" / "pricing" / "model_aliases.csv"
    aliases.write_text(aliases.read_text() + "acme-llm-x,gpt-4o-mini,exact\n")
    run("2026-04-03")
    steps["2026-04-03"]["bill"] = query(
        published,
        "select tenant_id, currency, amount_due, line_count from marts.daily_bills "
        "where bill_date = '2026-04-03'",
    )
    # the 04-01 file leaves usage_root for a run, then comes back
    shutil.move(usage / DAY_1_FILE, base / "a.jsonl")
    run("2026-04-04")
    shutil.move(base / "a.jsonl", usage / DAY_1_FILE)
    # and the description of a reason changes in its seed
    reasons = project / "seeds" / "reference" / "usage_reasons.csv"
    text = reasons.read_text()
    old = '"A line that is not a JSON object (a torn line that stayed torn, an array, plain text)"'
    assert old in text
    reasons.write_text(text.replace(old, '"A line that is not a JSON object"'))
    run("2026-04-05")
    return {"steps": steps, "db": db, "published": published, "project": project, "base": base}


def test_first_run_writes_the_file_whole(five_runs):
    step = five_runs["steps"]["2026-04-01"]
    assert step["how"] == "written whole"
    assert step["differences"] == {}
    assert step["unpriced"] == [("u1",)]
    assert [row[:2] for row in step["rejected"]] == [(DAY_1_FILE, "malformed_record")]


def test_a_new_file_is_the_only_one_copied(five_runs):
    step = five_runs["steps"]["2026-04-02"]
    assert step["how"] == ("from the last published file; the records of 1 usage file copied again")
    assert step["differences"] == {}
    assert step["unpriced"] == [("u1",), ("u2",)]
    assert [row[:2] for row in step["rejected"]] == [
        (DAY_1_FILE, "malformed_record"),
        (DAY_2_FILE, "malformed_record"),
    ]


def test_records_billed_later_leave_the_published_unpriced_usage(five_runs):
    step = five_runs["steps"]["2026-04-03"]
    # both files' unpriced records were classified again: both files copied again
    assert step["how"] == (
        "from the last published file; the records of 2 usage files copied again"
    )
    assert step["differences"] == {}
    assert step["unpriced"] == []
    # u1 0.15 + u2 0.30, one input-token line per usage day
    assert step["bill"] == [("acme", "USD", D("0.45"), 2)]
    assert len(step["rejected"]) == 2


def test_a_file_gone_and_back_is_copied_each_time(five_runs):
    gone = five_runs["steps"]["2026-04-04"]
    assert gone["how"] == ("from the last published file; the records of 1 usage file copied again")
    assert gone["differences"] == {}
    assert [row[:2] for row in gone["rejected"]] == [(DAY_2_FILE, "malformed_record")]
    back = five_runs["steps"]["2026-04-05"]
    # back, and a reason's description changed: rejected_usage copied whole
    assert back["how"] == (
        "from the last published file; the records of 1 usage file copied again; "
        "rejected_usage copied whole"
    )
    assert back["differences"] == {}
    assert back["rejected"] == [
        (DAY_1_FILE, "malformed_record", "A line that is not a JSON object"),
        (DAY_2_FILE, "malformed_record", "A line that is not a JSON object"),
    ]


@pytest.fixture
def published_copy(five_runs, tmp_path) -> dict[str, Path]:
    """The warehouse after the five runs and its published file, copied."""
    shutil.copytree(five_runs["db"].parent, tmp_path / "warehouse")
    db = tmp_path / "warehouse" / "billing.duckdb"
    return {"db": db, "published": db.with_name(f"{db.stem}_published{db.suffix}")}


def _publish(copy: dict[str, Path], project: Path) -> str:
    return _how_published(run_billing("publish", db=copy["db"], project=project))


def test_publish_without_changes_copies_no_records(five_runs, published_copy):
    how = _publish(published_copy, five_runs["project"])
    assert how == "from the last published file; the records of 0 usage files copied again"
    assert _differences(published_copy["db"], published_copy["published"]) == {}
    # no record is copied again: rows changed in the published file by hand stay changed
    with duckdb.connect(str(published_copy["published"])) as connection:
        connection.execute("update marts.rejected_usage set raw_record = 'changed by hand'")
    _publish(published_copy, five_runs["project"])
    differences = _differences(published_copy["db"], published_copy["published"])
    assert differences == {"rejected_usage": (2, 2)}


def test_a_changed_mart_view_is_copied_whole(five_runs, published_copy):
    # as after an upgrade that changes the mart's SQL: its published rows are stale
    with duckdb.connect(str(published_copy["published"])) as connection:
        connection.execute(
            "update publish_state.marts set definition = definition || ' ' "
            "where mart = 'rejected_usage'"
        )
        connection.execute("update marts.rejected_usage set raw_record = 'stale'")
    how = _publish(published_copy, five_runs["project"])
    assert how == (
        "from the last published file; the records of 0 usage files copied again; "
        "rejected_usage copied whole"
    )
    assert _differences(published_copy["db"], published_copy["published"]) == {}


@pytest.mark.parametrize("damage", ["no publish_state", "not a DuckDB file", "torn"])
def test_a_published_file_that_is_no_base_is_written_whole(five_runs, published_copy, damage):
    published = published_copy["published"]
    if damage == "no publish_state":  # a file published before the publish kept state
        with duckdb.connect(str(published)) as connection:
            connection.execute("drop schema publish_state cascade")
    elif damage == "not a DuckDB file":
        published.write_bytes(b"\xff" * 4096)
    else:  # cut in the middle, as by a full disk or a copy cut short
        data = published.read_bytes()
        published.write_bytes(data[: len(data) // 2])
    assert _publish(published_copy, five_runs["project"]) == "written whole"
    assert _differences(published_copy["db"], published) == {}
    # and the next publish builds on the file written whole
    how = _publish(published_copy, five_runs["project"])
    assert how == "from the last published file; the records of 0 usage files copied again"
