"""Helpers shared by the end-to-end tests: write usage files, run `billing`, read the marts."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
BILLING = str(Path(sys.executable).parent / "billing")

# Under pytest-xdist each worker gives dbt (and `billing`, `mf`) its own target and log
# folders: two builds in the same project never share run_results.json or the parse cache.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    os.environ.setdefault("DBT_TARGET_PATH", f"target/{_WORKER}")
    os.environ.setdefault("DBT_LOG_PATH", str(REPO / "logs" / _WORKER))
# dbt.log at info level (what dbt prints, each node's result), not debug (every SQL statement
# and adapter call): the suite runs dbt about 150 times, and writing the debug events is about
# 0.3 s of each build's CPU. A failing test shows the command's own output.
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")

# Modules that share the session fixture analytics_bills run on one worker, so that it is
# built once; every other module is a group of its own (its module fixtures built once).
ANALYTICS_MODULES = {
    "test_analytics",
    "test_bi_connection",
    "test_docs",
    "test_semantic_layer",
    "test_statements",
}


# The longest group (one Spark session, about 4 minutes) starts first, on a worker of its
# own, while the other workers share the rest; started last, it would be the tail of the run.
LONGEST_GROUP = "test_spark_equivalence"


# tryfirst: xdist's own hook turns the marker into the group suffix of the node id, so the
# markers must be there before it runs (else every test is a group of its own and a module
# fixture is built on every worker). pytest-randomly shuffles the modules before this hook
# (in its wrapper); the stable sort keeps that order for all groups but the longest, and
# --no-loadscope-reorder (pyproject.toml) has xdist hand the groups out in this order.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    groups = {}
    for item in items:
        module = item.module.__name__ if item.module else item.nodeid
        group = "analytics" if module in ANALYTICS_MODULES else module
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    items.sort(key=lambda item: groups[item.nodeid] != LONGEST_GROUP)


def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Every test a worker collected must carry its group: stop if xdist dropped them."""
    if node.config.getvalue("dist") == "loadgroup":
        ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
        if ungrouped:
            pytest.exit(
                f"pytest-xdist did not group {len(ungrouped)} tests (first: {ungrouped[0]}),"
                " so module fixtures would be built on every worker: see requirements.in",
                returncode=3,
            )


def write_jsonl(path: Path, records: list) -> None:
    """One line per record: dicts become JSON, strings are written as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")


def write_parquet(path: Path, select_sql: str) -> None:
    """A Parquet file holding the rows of a DuckDB query."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(f"copy ({select_sql}) to '{path}' (format parquet)")


def run_billing(
    *args: str, db: Path, project: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`billing ARGS` with its own warehouse file (and, if given, a copy of the project)."""
    env = {
        **os.environ,
        "BILLING_DB_PATH": str(db),
        "BILLING_PUBLISH_PATH": str(db.with_name(f"{db.stem}_published{db.suffix}")),
        "BILLING_PROJECT_DIR": str(project),
        **(env or {}),
    }
    return subprocess.run(
        [BILLING, *args], env=env, capture_output=True, text=True, check=False, timeout=600
    )


def run_dbt(
    *args: str, db: Path, project: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Plain `dbt ARGS` in the project, into its own warehouse file."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=project,
        env=dict(os.environ, BILLING_DB_PATH=str(db), **(env or {})),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def llm_event(event_id, tenant, at, model, input_tokens, output_tokens) -> dict:
    """One LLM usage event as a producer writes it."""
    return {
        "event_id": event_id,
        "tenant_id": tenant,
        "occurred_at": at,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }


def bill_lines(db: Path) -> dict:
    """The issued lines, keyed and shaped like reference_billing.expected_lines_by_bill."""
    return {
        (bill_date, tenant, item, usage_date): (currency, quantity, amount, due, events)
        for bill_date, tenant, item, usage_date, currency, quantity, amount, due, events in query(
            db,
            "select bill_date, tenant_id, billing_item, usage_date, currency, quantity, amount, "
            "amount_due, event_count from marts.bill_line_items",
        )
    }


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def column_types(db: Path, table: str) -> dict[str, str]:
    rows = query(
        db,
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{table}'",
    )
    return dict(rows)


def books_state(db: Path) -> str | None:
    """A digest of what a warehouse holds for its users: every row of the ledger (the
    state kept across runs) and of the marts (views of it). None if there is no file.

    The run's work tables (schemas staging, intermediate, audit) are left out: a build
    rewrites them whether or not it commits.
    """
    if not db.exists():
        return None
    digest = hashlib.sha256()
    with duckdb.connect(str(db), read_only=True) as connection:
        relations = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('ledger', 'marts') order by all"
        ).fetchall()
        for schema, table in relations:
            rows = connection.execute(f'select * from {schema}."{table}" order by all').fetchall()
            digest.update(repr((schema, table, rows)).encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def table_exists(db: Path, schema: str, table: str) -> bool:
    if not db.exists():
        return False
    rows = query(
        db,
        "select count(*) from information_schema.tables "
        f"where table_schema = '{schema}' and table_name = '{table}'",
    )
    return rows[0][0] > 0


def shows_broken_rule(output: str, rule: str, shown: str) -> bool:
    """A failing row of a row_rules test is printed with the rule it breaks and shown."""
    return any(f"broken_rule={rule}," in line and shown in line for line in output.splitlines())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "billing.duckdb"


def project_copy(tmp_path: Path) -> Path:
    """A copy of the dbt project (to change its seeds without touching the repository)."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, copy / name)
    for folder in ("models", "macros", "seeds", "tests/singular"):
        shutil.copytree(REPO / folder, copy / folder)
    return copy


# --- bills for the analyst-facing tests (exports, FOCUS, statements, BI) -------------------

# Two billing days across a month end. Tenant "acme" uses CNY and USD items
# through several agents (and once without an agent); "globex" uses USD and CNY
# items through one agent. e7 is late: it happened on 03-31 but arrives with
# the 04-01 files, after 03-31 was closed.
ANALYTICS_DAY_1 = "2026-03-31"
ANALYTICS_DAY_2 = "2026-04-01"
ANALYTICS_EVENTS_DAY_1 = {
    "llm": [
        {
            "event_id": "e1",
            "tenant_id": "acme",
            "agent_id": "a1",
            "occurred_at": "2026-03-31T01:00:00Z",
            "model": "qwen-max",
            "input_tokens": 1234567,
            "output_tokens": 76543,
        },
        {
            "event_id": "e2",
            "tenant_id": "acme",
            "agent_id": "a2",
            "occurred_at": "2026-03-31T10:00:00+08:00",
            "model": "qwen-max",
            "input_tokens": 1000,
            "output_tokens": 2001,
        },
        {
            "event_id": "e3",
            "tenant_id": "acme",
            "occurred_at": "2026-03-31T02:00:00Z",
            "model": "gpt-4o",
            "input_tokens": 50000,
            "output_tokens": 0,
        },
        {
            "event_id": "e4",
            "tenant_id": "globex",
            "agent_id": "g1",
            "occurred_at": "2026-03-31T03:00:00Z",
            "model": "claude-3-7-sonnet",
            "input_tokens": 10000,
            "output_tokens": 3333,
        },
    ],
    "asr": [
        # five agents of 0.001 s: the line is 0.000006944444, five rounded
        # agent amounts would make 0.000006944445
        *(
            {
                "event_id": f"s{n}",
                "tenant_id": "acme",
                "agent_id": f"a{n}",
                "occurred_at": "2026-03-31T04:00:00Z",
                "vendor": "aispeech",
                "audio_seconds": "0.001",
            }
            for n in range(1, 6)
        ),
        {
            "event_id": "s6",
            "tenant_id": "globex",
            "agent_id": "g1",
            "occurred_at": "2026-03-31T05:00:00Z",
            "vendor": "google",
            "audio_seconds": 5400.5,
        },
    ],
    "tts": [
        {
            "event_id": "t1",
            "tenant_id": "acme",
            "agent_id": "a1",
            "occurred_at": "2026-03-31T06:00:00Z",
            "vendor": "azure",
            "characters": 12345,
        },
        {
            "event_id": "t2",
            "tenant_id": "globex",
            "agent_id": "g1",
            "occurred_at": "2026-03-31T07:00:00Z",
            "vendor": "volcano-ark",
            "characters": 125,
        },
    ],
}
ANALYTICS_EVENTS_DAY_2 = {
    "llm": [
        {
            "event_id": "e5",
            "tenant_id": "acme",
            "agent_id": "a1",
            "occurred_at": "2026-04-01T01:00:00Z",
            "model": "deepseek-chat",
            "input_tokens": 98765,
            "output_tokens": 4321,
        },
        {
            "event_id": "e6",
            "tenant_id": "globex",
            "agent_id": "g1",
            "occurred_at": "2026-04-01T02:00:00Z",
            "model": "gpt-4o-mini",
            "input_tokens": 1000000,
            "output_tokens": 500,
        },
        {
            "event_id": "e7",
            "tenant_id": "acme",
            "agent_id": "a2",
            "occurred_at": "2026-03-31T05:00:00Z",
            "model": "qwen-max",
            "input_tokens": 500000,
            "output_tokens": 0,
        },
    ],
}


def analytics_billed_events() -> list[tuple[str, str, dict]]:
    """(stream, bill_date, event) for every event of the analytics fixture."""
    billed = [
        (stream, ANALYTICS_DAY_1, event)
        for stream, events in ANALYTICS_EVENTS_DAY_1.items()
        for event in events
    ]
    billed += [
        (stream, ANALYTICS_DAY_2, event)
        for stream, events in ANALYTICS_EVENTS_DAY_2.items()
        for event in events
    ]
    return billed


@pytest.fixture(scope="session")
def analytics_bills(tmp_path_factory) -> dict[str, Path]:
    """Two daily runs over the analytics fixture; the warehouse and its published copy."""
    root = tmp_path_factory.mktemp("analytics")
    usage = root / "usage"
    db = root / "warehouse" / "billing.duckdb"
    for stream, events in ANALYTICS_EVENTS_DAY_1.items():
        write_jsonl(usage / stream / "date=2026-03-31" / "part-0.jsonl", events)
    first = run_billing("run", "--date", ANALYTICS_DAY_1, "--usage-root", str(usage), db=db)
    assert first.returncode == 0, first.stderr + first.stdout
    for stream, events in ANALYTICS_EVENTS_DAY_2.items():
        write_jsonl(usage / stream / "date=2026-04-01" / "part-0.jsonl", events)
    second = run_billing("run", "--date", ANALYTICS_DAY_2, "--usage-root", str(usage), db=db)
    assert second.returncode == 0, second.stderr + second.stdout
    published = db.with_name("billing_published.duckdb")
    assert published.is_file()
    return {"db": db, "published": published, "usage": usage}
