"""What dbt-duckdb charges per node, apart from the work the node does.

`make bench-nodes` builds throwaway dbt projects that do no work: one base table, then N
nodes of one kind (a table or a view selecting from it, a three-row seed, a singular test
returning no row). Each project is built once (full parse), then `dbt build` is timed
`repeats` times with a partial parse, as a daily run builds. The median's wall time minus the
one of N = 0 is what N nodes of that kind cost for being nodes; the wall time at N = 0 is
dbt's floor (Python, dbt's start, a partial parse and one node). A daily run's fixed cost is
weighed against these figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agent_billing.project import dbt_executable

KINDS = ("table", "view", "seed", "test")

_PROJECT = "name: node_costs\nversion: '1.0.0'\nprofile: node_costs\nconfig-version: 2\n"
_PROFILE = """node_costs:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: node_costs.duckdb
      threads: 2
"""
_BASE = "{{ config(materialized='table') }}\nselect 1 as x"
_MODEL = "{{{{ config(materialized='{}') }}}}\nselect x from {{{{ ref('base') }}}}"
_SEED = "id,name,price\n1,a,2.50\n2,b,3.50\n3,c,4.50\n"
_TEST = "select x from {{ ref('base') }} where x <> 1"


def write_project(folder: Path, kind: str, count: int) -> Path:
    """A project of one base table and COUNT nodes of KIND, in a new FOLDER."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    for sub in ("models", "seeds", "tests"):
        (folder / sub).mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(_PROJECT)
    (folder / "profiles.yml").write_text(_PROFILE)
    (folder / "models" / "base.sql").write_text(_BASE)
    for index in range(count):
        if kind in ("table", "view"):
            (folder / "models" / f"node_{index}.sql").write_text(_MODEL.format(kind))
        elif kind == "seed":
            (folder / "seeds" / f"node_{index}.csv").write_text(_SEED)
        else:
            (folder / "tests" / f"node_{index}.sql").write_text(_TEST)
    return folder


def build(folder: Path) -> tuple[float, float, int]:
    """`dbt build` of the project: wall seconds, dbt's elapsed seconds, nodes built."""
    env = dict(os.environ, DBT_PROFILES_DIR=str(folder), DBT_TARGET_PATH="target")
    env.pop("BILLING_DB_PATH", None)
    started = time.perf_counter()
    completed = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(folder), "--quiet"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"dbt build failed in {folder}:\n{completed.stdout}{completed.stderr}")
    results = json.loads((folder / "target" / "run_results.json").read_text())
    return wall, results["elapsed_time"], len(results["results"])


def measure(kinds: list[str], counts: list[int], repeats: int, workdir: Path) -> list[dict]:
    """One row per kind and count: the median wall time of `repeats` partial-parse builds."""
    rows = []
    for kind in kinds:
        for count in counts:
            folder = write_project(workdir / f"{kind}_{count}", kind, count)
            build(folder)  # the full parse and the first creation of every relation
            timings = [build(folder) for _ in range(repeats)]
            wall = statistics.median(t[0] for t in timings)
            elapsed = statistics.median(t[1] for t in timings)
            rows.append(
                {"kind": kind, "count": count, "nodes": timings[0][2], "wall": wall,
                 "dbt_elapsed": elapsed}
            )  # fmt: skip
            shutil.rmtree(folder)
    return rows


def per_node(rows: list[dict]) -> dict[str, float]:
    """Seconds per node of each kind: (wall at the largest count - wall at 0) / count."""
    costs = {}
    for kind in {row["kind"] for row in rows}:
        own = sorted((row for row in rows if row["kind"] == kind), key=lambda row: row["count"])
        low, high = own[0], own[-1]
        if high["count"] > low["count"]:
            costs[kind] = (high["wall"] - low["wall"]) / (high["count"] - low["count"])
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--counts", default="0,40", help="node counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    counts = [int(count) for count in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="node-costs-") as workdir:
        rows = measure(kinds, counts, args.repeats, Path(workdir))
    print("| kind | nodes | wall time | dbt's elapsed time |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['kind']} | {row['nodes']} | {row['wall']:.2f} s | {row['dbt_elapsed']:.2f} s |"
        )
    for kind, seconds in sorted(per_node(rows).items()):
        print(f"- one {kind} node: {seconds * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
