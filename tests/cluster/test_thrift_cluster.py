"""The same bills from a standalone Spark cluster, through its Thrift server (`make test-cluster`).

A master, a worker and the Thrift server run on 127.0.0.1 (src/agent_billing/spark_cluster.py),
and dbt reaches them as any client of a cluster does: `dbt build --target spark_thrift`, in its
own process, with nothing in-process. The three runs of the equivalence scenario
(tests/python/test_spark_equivalence.py) are built on the cluster and on DuckDB, and every mart
row and column type must be the same.

Two of the runs are stopped during the ledger commit, which on plain Parquet tables writes each
table's next state to a new table and then swaps names (macros/ledger/commit_billing_run.sql):
  - run 2: the Thrift server (the Spark driver) is killed while the next states are being
    written; the server is started again and run 2 built again: the half-written commit is
    discarded and the run commits;
  - run 3: the dbt process is killed while the tables are being swapped, leaving the ledger
    with a table missing or half swapped; the next build finishes that commit first, and builds
    nothing twice.
After both, the bills must still equal DuckDB's, where no run was stopped. When the module
ends, every process of the cluster must be gone (SparkCluster.stop checks it).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from conftest import query  # noqa: E402
from test_spark_equivalence import (  # noqa: E402
    MARTS,
    RUNS,
    SPARK_TYPES,
    assert_same_mart,
    prepare_run,
    scenario_project,
)

from agent_billing.spark_cluster import SparkCluster, marked_processes  # noqa: E402

DBT = str(Path(sys.executable).parent / "dbt")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    with SparkCluster(folder) as running:
        yield running
    # stop() has ended every process and raised if one outlived it; and none is left now
    assert marked_processes(running.folder) == []


def _thrift_rows(cluster: SparkCluster, sql: str) -> list[tuple]:
    from pyhive import hive

    connection = hive.connect(
        host="127.0.0.1",
        port=cluster.thrift_port,
        configuration={"set:hiveconf:spark.sql.session.timeZone": "UTC"},
    )
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def _typed(value, duckdb_type: str):
    """A value as PyHive returns it (dates, instants and decimals as text) in the Python type
    DuckDB's client gives for the column's type; instants are UTC (the session's zone)."""
    if value is None or not isinstance(value, str):
        return value
    if duckdb_type == "DATE":
        return dt.date.fromisoformat(value)
    if duckdb_type.startswith("TIMESTAMP"):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    if duckdb_type.startswith("DECIMAL"):
        return Decimal(value)
    return value


def _ledger_tables(cluster: SparkCluster) -> set[str]:
    return {row[1] for row in _thrift_rows(cluster, "show tables in ledger")}


def _spark_build(cluster, base, project, billing_date, run_vars, name) -> subprocess.Popen:
    env = dict(
        os.environ,
        SPARK_THRIFT_PORT=str(cluster.thrift_port),
        BILLING_DATE=billing_date,
        TZ="UTC",
        # every SQL statement in dbt.log: _stop_when_logged waits for one (the suite's
        # conftest, imported above, sets info level for the builds that need none)
        DBT_LOG_LEVEL_FILE="debug",
    )
    return subprocess.Popen(
        [
            DBT,
            "build",
            "--target",
            "spark_thrift",
            "--target-path",
            str(base / "spark_target"),
            "--log-path",
            str(base / "logs" / name),
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            json.dumps(run_vars),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop_when_logged(build, log: Path, pattern: str, kill, times: int = 1) -> None:
    """Calls kill() once the dbt debug log shows PATTERN (a statement about to run) TIMES times."""
    deadline = time.monotonic() + 900
    seen, offset, tail = 0, 0, ""
    while time.monotonic() < deadline:
        if log.exists():
            with open(log, errors="replace") as text:
                text.seek(offset)
                chunk = text.read()
                offset = text.tell()
            # a statement cut at the end of the chunk is matched with the next one
            lines = (tail + chunk).split("\n")
            tail = lines.pop()
            seen += sum(len(re.findall(pattern, line)) for line in lines)
            if seen >= times:
                kill()
                return
        assert build.poll() is None, "the build ended before the point it was to be stopped at"
        time.sleep(0.02)
    raise AssertionError(f"{pattern!r} never appeared {times} times in {log}")


@pytest.fixture(scope="module")
def engines(cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("engines")
    project = scenario_project(base)
    usage = base / "usage"
    db = base / "duckdb" / "billing.duckdb"
    db.parent.mkdir()
    stops = {}
    for run_number, (billing_date, _) in enumerate(RUNS, start=1):
        run_vars = prepare_run(project, usage, run_number)
        on_duckdb = subprocess.Popen(
            [DBT, "build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(run_vars)],
            cwd=project,
            env=dict(os.environ, BILLING_DB_PATH=str(db), BILLING_DATE=billing_date),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if run_number in (2, 3):
            name = f"run-{run_number}-stopped"
            stopped = _spark_build(cluster, base, project, billing_date, run_vars, name)
            if run_number == 2:
                # the second next table being written: the first one is complete
                _stop_when_logged(
                    stopped,
                    base / "logs" / name / "dbt.log",
                    r"create table ledger\.\w+__dbt_next_\w+ using parquet",
                    cluster.kill_thrift_server,
                    times=2,
                )
                stopped.wait(300)
                cluster.start_thrift_server()
            else:
                # the swap: the mark written, the record ledger being renamed aside
                _stop_when_logged(
                    stopped,
                    base / "logs" / name / "dbt.log",
                    r"alter table ledger\.usage_records rename to",
                    functools.partial(stopped.send_signal, signal.SIGKILL),
                )
                stopped.wait(60)
            stopped.stdout.close()
            stops[run_number] = _ledger_tables(cluster)
        on_spark = _spark_build(cluster, base, project, billing_date, run_vars, f"run-{run_number}")
        spark_output, _ = on_spark.communicate(timeout=1200)
        duckdb_output, _ = on_duckdb.communicate(timeout=1200)
        assert on_duckdb.returncode == 0, duckdb_output[-4000:]
        assert on_spark.returncode == 0, spark_output[-6000:]
        stops[f"output-{run_number}"] = spark_output
    stops["project"], stops["usage"] = project, usage
    return db, cluster, stops


def _spark_columns(cluster, table: str) -> dict[str, str]:
    columns = {}
    for name, data_type, _ in _thrift_rows(cluster, f"describe table marts.{table}"):
        if name.startswith("#") or not name:
            break
        columns[name] = SPARK_TYPES.get(data_type, data_type.upper())
    return columns


@pytest.mark.parametrize("table", sorted(MARTS))
def test_every_mart_row_is_the_same_through_the_thrift_server(engines, table):
    db, cluster, _ = engines
    assert_same_mart(
        db,
        table,
        _spark_columns(cluster, table),
        functools.partial(_thrift_rows, cluster),
        typed=_typed,
    )


def test_every_ledger_record_has_the_same_status_through_the_thrift_server(engines):
    db, cluster, _ = engines
    columns = "stream, source_file, source_version, source_line, event_id, status, reason"
    on_spark = Counter(_thrift_rows(cluster, f"select {columns} from ledger.usage_records"))
    on_duckdb = Counter(query(db, f"select {columns} from ledger.usage_records"))
    assert sum(on_duckdb.values()) > 100
    assert on_spark == on_duckdb


def test_a_commit_whose_server_died_while_writing_is_discarded(engines):
    """Run 2: next tables were left (no mark); the rebuild dropped them and committed once."""
    _, cluster, stops = engines
    left = stops[2]
    assert any("__dbt_next_" in name for name in left), left
    assert not any(name.startswith("dbt_commit_") for name in left), left
    assert "Discarded the ledger commit of an interrupted run" in stops["output-2"]
    assert _ledger_tables(cluster) == {
        "billing_runs",
        "issued_agent_costs",
        "issued_bill_lines",
        "issued_bills",
        "issued_focus_charges",
        "usage_files",
        "usage_records",
        "usage_status_counts",
    }


def test_a_commit_stopped_while_swapping_is_finished_by_the_next_run(engines):
    """Run 3: the mark and unswapped tables were left; the next build finished the swap."""
    db, cluster, stops = engines
    left = stops[3]
    assert any(name.startswith("dbt_commit_") for name in left), left
    assert any("__dbt_next_" in name for name in left), left
    assert "Finished the ledger commit of an interrupted run" in stops["output-3"]
    # run 3 was committed once: its bills are not issued twice, and the ledger keeps no
    # leftover table
    assert not [n for n in _ledger_tables(cluster) if "__dbt_" in n or n.startswith("dbt_")]
    on_spark = _thrift_rows(
        cluster, "select bill_date, count(*) from marts.daily_bills group by 1 order by 1"
    )
    on_duckdb = query(db, "select bill_date, count(*) from marts.daily_bills group by 1 order by 1")
    assert [(_typed(day, "DATE"), count) for day, count in on_spark] == on_duckdb


def test_a_list_price_changed_under_closed_days_is_refused_through_the_thrift_server(engines):
    """The price guard on a cluster: the seed rows travel in the SQL (the server cannot read
    the project's files); the refused seed is not loaded and nothing is committed."""
    _, cluster, stops = engines
    project, usage = stops["project"], stops["usage"]
    prices = project / "seeds" / "pricing" / "llm_token_prices.csv"
    original = prices.read_text()
    listed = "gpt-4o,GPT-4o,ChatGPT,input,GPT-4o input,USD,"
    assert original.count(listed + "2.50,2020-01-01,") == 1
    prices.write_text(original.replace(listed + "2.50,2020-01-01,", listed + "2.40,2020-01-01,"))
    runs = _thrift_rows(cluster, "select count(*) from ledger.billing_runs")
    try:
        build = _spark_build(
            cluster, project.parent, project, RUNS[-1][0], {"usage_root": str(usage)}, "refused"
        )
        output, _ = build.communicate(timeout=1200)
    finally:
        prices.write_text(original)
    assert build.returncode != 0
    assert (
        "Invalid price seed: seeds/pricing/llm_token_prices.csv: row (GPT-4o input, USD, 2.40,"
        " from 2020-01-01, to open) prices GPT-4o input on"
    ) in output, output[-4000:]
    assert "Nothing committed to the ledger" in output
    assert _thrift_rows(cluster, "select count(*) from ledger.billing_runs") == runs
    loaded = _thrift_rows(
        cluster,
        "select cast(price_per_million_tokens as string) from pricing.llm_token_prices "
        "where billing_item = 'GPT-4o input' and currency = 'USD'",
    )
    assert loaded == [("2.500000",)]


def test_the_profile_session_settings_reach_the_thrift_server(cluster):
    """The server starts without them: each must arrive with the connection (set:hiveconf:)."""
    import yaml
    from pyhive import hive

    profiles = yaml.safe_load((Path(__file__).resolve().parents[2] / "profiles.yml").read_text())
    parameters = profiles["agent_billing"]["outputs"]["spark_thrift"]["server_side_parameters"]
    connection = hive.connect(
        host="127.0.0.1",
        port=cluster.thrift_port,
        configuration={key: str(value) for key, value in parameters.items()},
    )
    try:
        cursor = connection.cursor()
        found = {}
        for key in (
            "spark.sql.session.timeZone",
            "spark.sql.decimalOperations.allowPrecisionLoss",
            "spark.sql.ansi.enabled",
        ):
            cursor.execute(f"set {key}")
            found.update(dict(cursor.fetchall()))
    finally:
        connection.close()
    assert found == {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.ansi.enabled": "false",
    }
