"""``localcodes bench selectivity``: streaming and in-memory measurement of a synthetic table."""

from __future__ import annotations

from localcodes.bench import selectivity
from localcodes.selectivity.tables import synthetic_table


def test_bench_runs_small(tmp_path, capsys):
    out = selectivity.bench_main(["--rows", "3000", "--units", "16", "--classes", "5", "--dir", str(tmp_path),
                                  "-k", "10"])
    assert out["stream"]["wall_s"] > 0 and out["memory"]["wall_s"] > 0 and out["speed_ratio"] > 0
    assert "peak memory" in capsys.readouterr().out


def test_measure_once_in_memory_and_streaming(tmp_path):
    table = synthetic_table(tmp_path / "t.h5", rows=2048, units=8, classes=4, progress=False)
    for mode in ("stream", "memory"):
        res = selectivity.measure_once(mode, str(table), 10, "cpu")
        assert res["mode"] == mode and res["wall_s"] > 0 and res["peak_rss_bytes"] > 0
