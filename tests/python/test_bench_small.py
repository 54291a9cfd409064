"""`make bench` at a small scale, once, so that it keeps working (no time is asserted)."""

from __future__ import annotations

from agent_billing import bench


def test_bench_runs_and_the_pipeline_matches_the_hand_written_query(tmp_path):
    # bench.run raises if the pipeline's bills differ from the baseline's
    summary = bench.run("small", tmp_path, repeats=1, report=tmp_path / "report.md")
    assert set(summary) == {"baseline", "catch-up", "daily", "daily-30"}
    assert summary["catch-up"]["events"] == 3 * 2800
    assert all(row["seconds"] > 0 and row["peak_bytes"] > 0 for row in summary.values())
    assert "| catch-up | 8,400 |" in (tmp_path / "report.md").read_text()
