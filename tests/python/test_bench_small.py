"""`make bench` at a small scale, once, so that it keeps working (no time is asserted)."""

from __future__ import annotations

import os
import sys

import pytest

from agent_billing import bench, bench_nodes


def test_bench_runs_and_the_pipeline_matches_the_hand_written_query(tmp_path):
    # bench.run raises if the pipeline's bills differ from the baseline's
    summary = bench.run("small", tmp_path, repeats=1, report=tmp_path / "report.md")
    assert set(summary) == {
        "baseline", "catch-up", "daily", "publish", "catch-up-30", "daily-30", "publish-30",
    }  # fmt: skip
    assert summary["catch-up"]["events"] == 3 * 2800
    assert summary["catch-up-30"]["events"] == 5 * 2800
    assert all(row["seconds"] > 0 and row["peak_bytes"] > 0 for row in summary.values())
    report = (tmp_path / "report.md").read_text()
    assert "| catch-up | 8,400 |" in report
    assert "| catch-up-30 | 14,000 |" in report
    # the disk a run takes beyond what it had is measured, beside the warehouse's size
    assert summary["daily"]["warehouse_bytes"] > 0
    assert "peak extra disk" in report


def test_the_scale_curve_runs_and_checks_the_bills(tmp_path, monkeypatch):
    # one small point; curve raises if the pipeline's bills differ from the baseline's
    monkeypatch.setattr(bench, "CURVE", [("small", 2)])
    (point,) = bench.curve(tmp_path, report=tmp_path / "report.md")
    assert point["events"] == 2 * 2800
    assert point["seconds"] > 0 and point["baseline"] > 0
    assert "| 5,600 | 2 |" in (tmp_path / "report.md").read_text()


def test_a_step_is_timed_after_the_bench_has_flushed_its_own_writes(tmp_path, monkeypatch):
    # a step's clock starts once the bench's own writes (a restored 7 GB warehouse) are on
    # disk: flushing them is not the measured command's cost
    events = []
    monkeypatch.setattr(bench.os, "sync", lambda: events.append("sync"))
    clock = bench.time.perf_counter

    def perf_counter():
        events.append("clock")
        return clock()

    monkeypatch.setattr(bench.time, "perf_counter", perf_counter)
    seconds, peak, _ = bench._measure(
        [sys.executable, "-c", "pass"], dict(os.environ), watch=tmp_path
    )
    assert events[:2] == ["sync", "clock"]
    assert seconds > 0 and peak > 0


def test_the_node_cost_bench_builds_the_nodes_it_counts(tmp_path):
    # a project of N tests builds the base table and the N tests, every one passing
    rows = bench_nodes.measure(["test"], [0, 2], repeats=1, workdir=tmp_path)
    assert [(row["count"], row["nodes"]) for row in rows] == [(0, 1), (2, 3)]
    assert all(row["wall"] > row["dbt_elapsed"] > 0 for row in rows)
    # the per-node figure is the difference of the two builds over the two nodes
    (seconds,) = bench_nodes.per_node(rows).values()
    assert seconds == (rows[1]["wall"] - rows[0]["wall"]) / 2


def test_the_node_cost_bench_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of table, view, seed, test"):
        bench_nodes.write_project(tmp_path / "p", "snapshot", 1)
