"""The stacked-training benchmark runs and reports its timings."""

from __future__ import annotations

from localcodes.bench import locality as bench


def test_benchmark_runs_and_reports_a_speedup(capsys):
    out = bench.bench_main(["--members", "2", "--steps", "1", "--batch-size", "8", "--device", "cpu"])
    assert out["members"] == 2 and out["speedup"] > 0
    assert "stacked_ms_per_step" in capsys.readouterr().out
