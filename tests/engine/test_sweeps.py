"""Sweeps: rows and grouping into ensembles, resume after a kill without recomputing, the same numbers in
process, on dask and with concurrent ensembles, and bad settings refused before anything runs."""

import pandas as pd
import pytest
from localcodes import engine
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
