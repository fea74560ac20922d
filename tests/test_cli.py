"""The command line dispatches every benchmark it lists."""

from __future__ import annotations

import json
import os
import sys

import pytest
from localcodes import cli


@pytest.mark.parametrize("what", list(cli.BENCHMARKS))
def test_every_listed_benchmark_has_a_bench_main(what, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", what, "--help"])
    assert exit_info.value.code == 0
    assert f"localcodes bench {what}" in capsys.readouterr().out


def test_bench_locality_runs_from_the_cli(capsys):
    assert cli.main(["bench", "locality", "--members", "2", "--steps", "1", "--batch-size", "8"]) == 0
    assert '"speedup"' in capsys.readouterr().out


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "nothing"])
    assert "invalid choice" in capsys.readouterr().err


def test_the_prepared_gpu_check_script_runs_its_steps_on_a_cpu(tmp_path):
    """scripts/gpu_check.sh is run on a lent GPU in one go; here its steps run small on the CPU so that it
    still works when that session comes."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(
        os.environ,
        OUT=str(tmp_path),
        DEVICE="cpu",
        NETWORKS="2",
        EPOCHS="1",
        EXP1_EPOCHS="1",
        EXP1_WIDTHS="8 16",
        PROJECT="",
        PYTHON=sys.executable,
    )
    done = subprocess.run(
        ["bash", str(root / "scripts" / "gpu_check.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    eager = json.loads((tmp_path / "bench_train_cpu_eager.json").read_text())
    assert eager["networks"] == 2 and eager["ratio"] > 0
    exp1 = json.loads((tmp_path / "bench_train_cpu_graphs_off.json").read_text())["exp1"]
    assert [row["concurrent"] for row in exp1] == [1, 6]
    assert all(row["wall_s"] > 0 and row["wall_2x_s"] > 0 and "projected_45000_min" in row for row in exp1)


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"localcodes {cli.version()}" and cli.version()[0].isdigit()


def test_run_help_says_how_values_are_read(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Python literal" in out and "YAML" not in out


@pytest.mark.parametrize("command, options", [
    ("record", ["OUT", "-o OUT, --out OUT", "--model SPEC", "--images DIR", "--trained SCALE", "--weights FILE",
                "--random-init", "--layers LAYER", "--pooling {max,mean}", "--all-images", "--batch-size N",
                "--device DEVICE", "--input-size PX", "--workers N", "--seed SEED", "package.module:factory",
                "FILE.pt2", "examples:", "localcodes record acts.h5 --images"]),
    ("selectivity", ["TABLE", "-o DIR, --out DIR", "--layers LAYER", "-k K, --k K", "--pooling {classes,images}",
                     "--device DEVICE", "--batch-rows N", "examples:", "localcodes selectivity acts.h5"]),
])
def test_record_and_selectivity_help_lists_their_options(command, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    missing = [option for option in options if option not in out]
    assert not missing, out
    assert "--help`" not in out and "rest" not in out  # no pass-through argument left


def test_run_with_dask_checks_the_scheduler_then_hands_it_to_the_chapters(monkeypatch, capsys):
    from localcodes import book, engine

    seen = {}
    monkeypatch.setattr(book, "run_chapter", lambda *a, **k: seen.setdefault("dask", os.environ.get(engine.DASK_ENV)))
    monkeypatch.setattr(engine, "use_dask", lambda address: os.environ.__setitem__(engine.DASK_ENV, address) or address)
    monkeypatch.setenv(engine.DASK_ENV, "")
    assert cli.main(["run", "01_introduction", "--scale", "smoke", "--dask", "tcp://10.0.0.1:8786"]) == 0
    assert seen["dask"] == "tcp://10.0.0.1:8786" and "dask scheduler at tcp://10.0.0.1:8786" in capsys.readouterr().out


def test_an_unreachable_dask_scheduler_stops_the_run_before_any_chapter(monkeypatch, capsys):
    from localcodes import book

    monkeypatch.setattr(book, "run_chapter", lambda *a, **k: pytest.fail("a chapter ran"))
    from localcodes.engine import sweeps

    monkeypatch.setattr(sweeps.use_dask, "__defaults__", (0.5,))  # refused in half a second
    assert cli.main(["run", "01_introduction", "--scale", "smoke", "--dask", "tcp://127.0.0.1:9"]) == 2
    assert "no dask scheduler answers" in capsys.readouterr().err
