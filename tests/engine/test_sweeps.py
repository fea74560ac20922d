"""Sweeps: rows and grouping into ensembles, resume after a kill without recomputing, the same numbers in
process, on dask and with concurrent ensembles, and bad settings refused before anything runs."""

import os

import pandas as pd
import pytest
from localcodes import engine
from localcodes.engine import sweeps
from localcodes.store import ResultsStore

SMALL = dict(
    n_classes=4, length=40, n_per_class=10, output_length=10, hidden=[8], lr=1.0, epochs=3, checkpoints=[0, 3]
)


def test_sweep_rows_and_grouping(tmp_path):
    df = engine.sweep(
        {"dropout": [0.0, 0.5], "hidden": [[8], [6]]},
        repeats=2,
        base=SMALL,
        store=tmp_path / "s",
        progress=False,
    )
    final = df[df.final]
    assert len(final) == 8 and len(df) == 16  # checkpoints 0 and 3
    assert set(final.width) == {6, 8} and set(final.repeat) == {0, 1}
    # dropout is per network: one ensemble per hidden size (2 dropouts x 2 repeats = 4 networks each)
    assert sorted(final.groupby("width").ensemble_size.first()) == [4, 4]
    assert {"condition", "git_commit", "device", "wall_s", "lc_pairs", "train_acc", "data_seed"} <= set(
        df.columns
    )
    # repeat r of two conditions shares the data seed (paired design)
    assert final.groupby("repeat").data_seed.nunique().eq(1).all()


def test_sweep_resumes_after_kill_without_recomputing(tmp_path):
    store = ResultsStore(tmp_path / "s")
    grid = {"hidden": [[8], [6], [5]]}
    calls = []  # one entry per ensemble that starts: it builds its repeat 0's data first (seed 0)
    kill = [True]

    def data_fn(**kw):
        if kw["seed"] == 0:
            calls.append(1)
            if kill[0] and len(calls) == 3:
                raise KeyboardInterrupt("simulated kill")
        return engine.code_data(**kw)

    # max_networks given: the automatic size would build data too (once per group, before anything trains)
    run = dict(repeats=2, base=SMALL, store=store, progress=False, data_fn=data_fn, max_networks=2)
    with pytest.raises(KeyboardInterrupt):
        engine.sweep(grid, **run)
    assert len(store.parts()) == 2
    before = store.read()
    calls.clear()
    kill[0] = False
    df = engine.sweep(grid, **run)
    assert len(calls) == 1  # only the missing ensemble ran
    assert len(df[df.final]) == 6
    kept = df[df.condition.isin(before.condition)].sort_values(["condition", "repeat", "epoch"])
    pd.testing.assert_series_equal(
        kept.created.reset_index(drop=True),
        before.sort_values(["condition", "repeat", "epoch"]).created.reset_index(drop=True),
    )
    # a third run computes nothing
    calls.clear()
    engine.sweep(grid, **run)
    assert calls == []


def test_sweep_same_numbers_in_process_and_on_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"dropout": [0.0, 0.3]}
    local = engine.sweep(grid, repeats=2, base=SMALL, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert client.scheduler.address.startswith("tcp://127.0.0.1")
        remote = engine.sweep(grid, repeats=2, base=SMALL, client=client, store=tmp_path / "d", progress=False)
    cols = ["condition", "repeat", "epoch", "train_loss", "train_acc", "lc_pairs"]
    key = ["condition", "repeat", "epoch"]
    a = local[cols].sort_values(key).reset_index(drop=True)
    b = remote[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)


def test_sweep_refuses_bad_settings_before_running(tmp_path):
    with pytest.raises(ValueError, match="activation"):
        engine.sweep({"activation": ["sigmoid", "tanh"]}, base=SMALL, store=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="repeats"):
        engine.sweep({"hidden": [[4]]}, repeats=0, base=SMALL, progress=False)
    assert not (tmp_path / "s").exists() or not ResultsStore(tmp_path / "s").parts()


def test_concurrent_sweep_gives_the_sequential_numbers(tmp_path):
    grid = {"hidden": [[8], [12]], "dropout": [0.0, 0.3]}
    seq = engine.sweep(grid, repeats=2, base=SMALL, progress=False, max_networks=2)
    conc = engine.sweep(grid, repeats=2, base=SMALL, store=tmp_path / "c", progress=False, max_networks=2, concurrent=3)
    assert len(ResultsStore(tmp_path / "c").parts()) == 4  # each ensemble written as its own part
    cols = ["condition", "repeat", "epoch", "train_loss", "train_acc", "lc_pairs"]
    key = ["condition", "repeat", "epoch"]
    a = seq[cols].sort_values(key).reset_index(drop=True)
    b = conc[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="concurrent"):
            engine.sweep(grid, base=SMALL, progress=False, concurrent=bad)
    with pytest.raises(ValueError, match="client"):
        engine.sweep(grid, base=SMALL, progress=False, concurrent=2, client="tcp://127.0.0.1:1")


OTHER_DATA_CALLS: list = []


def other_data(**kw):
    """Another data function: the same settings, other codewords (a different prototype weight)."""
    OTHER_DATA_CALLS.append(kw["seed"])
    return engine.code_data(**{**kw, "random_weight": 0.5})


def test_sweep_with_other_data_does_not_return_the_stored_rows(tmp_path):
    store = ResultsStore(tmp_path / "s")
    run = dict(repeats=2, base=SMALL, store=store, progress=False, max_networks=2)
    first = engine.sweep({"hidden": [[8]]}, **run)
    OTHER_DATA_CALLS.clear()
    other = engine.sweep({"hidden": [[8]]}, data_fn=other_data, **run)
    assert OTHER_DATA_CALLS  # trained on its own data, not read back from the first sweep
    assert len(other) == len(first) == 4  # its own rows, once each (2 repeats x 2 checkpoints)
    assert set(other.data_fn) == {engine.data_identity(other_data)} != set(first.data_fn)
    # each sweep reads back its own rows without training again
    OTHER_DATA_CALLS.clear()
    again = engine.sweep({"hidden": [[8]]}, data_fn=other_data, **run)
    assert OTHER_DATA_CALLS == []
    cols = ["condition", "repeat", "epoch", "train_loss"]
    pd.testing.assert_frame_equal(again[cols], other[cols])
    pd.testing.assert_frame_equal(engine.sweep({"hidden": [[8]]}, **run)[cols], first[cols])


def test_rows_stored_before_the_data_was_recorded_are_code_datas(tmp_path):
    # stores written before rows named their data function (the committed reference runs) were all trained on
    # code_data: they are read as such, and a sweep on other data trains its own
    store = ResultsStore(tmp_path / "s")
    rows = engine.sweep({"hidden": [[8]]}, repeats=1, base=SMALL, store=store, progress=False)
    for part in store.parts():
        pd.read_parquet(part).drop(columns="data_fn").to_parquet(part)
    calls = []

    def counting(**kw):
        calls.append(1)
        return engine.code_data(**kw)

    again = engine.sweep({"hidden": [[8]]}, repeats=1, base=SMALL, store=store, progress=False)
    assert len(store.parts()) == 1 and len(again) == len(rows)
    engine.sweep({"hidden": [[8]]}, repeats=1, base=SMALL, store=store, progress=False, data_fn=counting)
    assert calls and len(store.parts()) == 2


RACER = """
import sys, time
from pathlib import Path
from localcodes import engine

def slow_data(**kw):
    time.sleep(0.3)  # long enough that the two sweeps overlap
    return engine.code_data(**kw)

store, me, other, dropouts = sys.argv[1], sys.argv[2], sys.argv[3], [float(d) for d in sys.argv[4].split(",")]
Path(me).touch()
while not Path(other).exists():  # start together
    time.sleep(0.01)
base = dict(n_classes=4, length=40, n_per_class=10, output_length=10, hidden=[8], lr=1.0, epochs=3,
            checkpoints=[0, 3])
# three networks an ensemble: the two sweeps cut their shared conditions into different ensembles (parts)
rows = engine.sweep({"dropout": dropouts}, repeats=2, store=store, base=base, data_fn=slow_data, max_networks=3,
                    progress=False)
assert len(rows) == len(dropouts) * 2 * 2, len(rows)
assert not rows.duplicated(["condition", "repeat", "epoch"]).any()
print("ok")
"""


def test_two_sweeps_at_once_on_one_store_train_each_network_once(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    store = tmp_path / "s"
    a, b = tmp_path / "a", tmp_path / "b"
    grids = ["0.0,0.1,0.2", "0.1,0.2,0.3"]  # 0.1 and 0.2 in both
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(store), str(me), str(other), grid], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me, other, grid in ((a, b, grids[0]), (b, a, grids[1]))]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "ok" in out, err[-3000:]
    parts = [pd.read_parquet(p, columns=["condition", "repeat"]).drop_duplicates() for p in ResultsStore(store).parts()]
    stored = pd.concat(parts, ignore_index=True)
    assert len(stored) == 4 * 2 and not stored.duplicated().any()  # each (condition, repeat) in one part only
    rows = ResultsStore(store).read()
    assert len(rows) == 4 * 2 * 2 and not rows.duplicated(["condition", "repeat", "epoch"]).any()


def test_a_scheduler_named_in_the_environment_takes_the_sweeps(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    grid = {"dropout": [0.0, 0.3]}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        monkeypatch.setenv(engine.DASK_ENV, "")
        assert engine.use_dask(cluster.scheduler_address) == cluster.scheduler_address
        assert os.environ[engine.DASK_ENV] == cluster.scheduler_address
        rows = engine.sweep(grid, repeats=1, base=SMALL, store=tmp_path / "d", progress=False)
        ran = set(cluster.scheduler.task_prefixes)  # what the scheduler was given to run
        sweeps._client_for(cluster.scheduler_address).close()  # before its scheduler goes
        sweeps._client_for.cache_clear()
    assert len(rows) == 4 and "run_chunk" in ran


def test_an_unreachable_scheduler_is_refused_before_anything_runs():
    with pytest.raises(ValueError, match="no dask scheduler answers at 'tcp://127.0.0.1:9'"):
        engine.use_dask("tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(ValueError, match="scheduler address like"):
        engine.use_dask("  ")
