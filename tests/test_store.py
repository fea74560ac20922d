"""The Parquet results store and sweeps: atomic parts, resume without recomputation, dask fan-out."""

import pandas as pd
import pytest
import torch
from localcodes import train
from localcodes.store import ResultsStore

SMALL = dict(
    n_classes=4, length=40, n_per_class=10, output_length=10, hidden=[8], lr=1.0, epochs=3, checkpoints=[0, 3]
)


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_store_parts_roundtrip_and_atomic(tmp_path):
    store = ResultsStore(tmp_path / "s")
    assert store.read().empty and store.done_keys() == set()
    store.write_part("a", pd.DataFrame({"condition": ["x", "x"], "repeat": [0, 1], "v": [1.0, 2.0]}))
    store.write_part("b", pd.DataFrame({"condition": ["y"], "repeat": [0], "v": [3.0]}))
    assert store.done_keys() == {("x", 0), ("x", 1), ("y", 0)}
    assert sorted(store.read().v) == [1.0, 2.0, 3.0]

    class Boom(Exception):
        pass

    bad = pd.DataFrame({"condition": ["z"], "repeat": [0], "v": [object()]})  # not serialisable → fails
    with pytest.raises(Exception):  # noqa: B017 - pyarrow raises its own error type
        store.write_part("c", bad)
    assert not store.has("c") and not list(store.path.glob(".*tmp"))
    with pytest.raises(ValueError, match="key"):
        store.part_path("../evil")


def test_sweep_rows_and_grouping(tmp_path):
    df = train.sweep(
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


def test_sweep_resumes_after_kill_without_recomputing(tmp_path, monkeypatch):
    store = ResultsStore(tmp_path / "s")
    grid = {"hidden": [[8], [6], [5]]}
    calls = []
    real = train._run_chunk

    def dies_on_third(tasks, *args, **kw):
        calls.append(tasks[0].params["hidden"])
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated kill")
        return real(tasks, *args, **kw)

    monkeypatch.setattr(train, "_run_chunk", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        train.sweep(grid, repeats=2, base=SMALL, store=store, progress=False)
    assert len(store.parts()) == 2
    before = store.read()
    calls.clear()
    monkeypatch.setattr(train, "_run_chunk", lambda tasks, *a, **k: calls.append(1) or real(tasks, *a, **k))
    df = train.sweep(grid, repeats=2, base=SMALL, store=store, progress=False)
    assert len(calls) == 1  # only the missing ensemble ran
    assert len(df[df.final]) == 6
    kept = df[df.condition.isin(before.condition)].sort_values(["condition", "repeat", "epoch"])
    pd.testing.assert_series_equal(
        kept.created.reset_index(drop=True),
        before.sort_values(["condition", "repeat", "epoch"]).created.reset_index(drop=True),
    )
    # a third run computes nothing
    calls.clear()
    train.sweep(grid, repeats=2, base=SMALL, store=store, progress=False)
    assert calls == []


def test_sweep_same_numbers_in_process_and_on_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"dropout": [0.0, 0.3]}
    local = train.sweep(grid, repeats=2, base=SMALL, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert client.scheduler.address.startswith("tcp://127.0.0.1")
        remote = train.sweep(grid, repeats=2, base=SMALL, client=client, store=tmp_path / "d", progress=False)
    cols = ["condition", "repeat", "epoch", "train_loss", "train_acc", "lc_pairs"]
    key = ["condition", "repeat", "epoch"]
    a = local[cols].sort_values(key).reset_index(drop=True)
    b = remote[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)


def test_sweep_refuses_bad_settings_before_running(tmp_path):
    with pytest.raises(ValueError, match="activation"):
        train.sweep({"activation": ["sigmoid", "tanh"]}, base=SMALL, store=tmp_path / "s", progress=False)
    with pytest.raises(ValueError, match="repeats"):
        train.sweep({"hidden": [[4]]}, repeats=0, base=SMALL, progress=False)
    assert not (tmp_path / "s").exists() or not ResultsStore(tmp_path / "s").parts()


def test_runtime_estimate_and_projection():
    est = train.estimate_runtime(
        {"hidden": [[8], [16]]}, repeats=3, base={**SMALL, "epochs": 100}, probe_epochs=1
    )
    assert len(est) == 2 and (est.est_s > 0).all() and (est.networks == 3).all()
    small = train.project_runtime([250], epochs=100)
    big = train.project_runtime([250], epochs=1000)
    assert big["seconds"] == pytest.approx(10 * small["seconds"])
    # arithmetic-bound (slow device): wider networks cost more; launch-bound (tiny nets): the op count decides
    slow = dict(networks=10, flops_per_s=1e9)
    assert train.project_runtime([5000], **slow)["seconds"] > train.project_runtime([100], **slow)["seconds"]
    fast = dict(networks=1, flops_per_s=1e15)
    assert train.project_runtime([20], **fast)["seconds"] == train.project_runtime([40], **fast)["seconds"]
    assert train.project_runtime([20, 20], **fast)["seconds"] > train.project_runtime([40], **fast)["seconds"]


def test_bench_runs(capsys):
    train.bench_main(
        [
            "--networks",
            "2",
            "--input",
            "20",
            "--hidden",
            "8",
            "--output",
            "10",
            "--examples",
            "40",
            "--epochs",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "ratio" in out and "network-epochs/s" in out
    with pytest.raises(ValueError, match="epochs"):
        train.bench_main(["--epochs", "0"])
    with pytest.raises(ValueError, match="exp1"):
        train.bench_main(["--exp1", "-1"])  # refused before anything is measured


def test_concurrent_sweep_gives_the_sequential_numbers(tmp_path):
    grid = {"hidden": [[8], [12]], "dropout": [0.0, 0.3]}
    seq = train.sweep(grid, repeats=2, base=SMALL, progress=False, max_networks=2)
    conc = train.sweep(grid, repeats=2, base=SMALL, store=tmp_path / "c", progress=False, max_networks=2, concurrent=3)
    assert len(ResultsStore(tmp_path / "c").parts()) == 4  # each ensemble written as its own part
    cols = ["condition", "repeat", "epoch", "train_loss", "train_acc", "lc_pairs"]
    key = ["condition", "repeat", "epoch"]
    a = seq[cols].sort_values(key).reset_index(drop=True)
    b = conc[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="concurrent"):
            train.sweep(grid, base=SMALL, progress=False, concurrent=bad)
    with pytest.raises(ValueError, match="client"):
        train.sweep(grid, base=SMALL, progress=False, concurrent=2, client="tcp://127.0.0.1:1")


def test_projection_with_cuda_graphs():
    eager = train.project_runtime([100])
    graphs = train.project_runtime([100], cuda_graphs=True)
    assert graphs["seconds"] < eager["seconds"]  # small networks: launch-bound without graphs
    # with graphs the arithmetic adds to the kernels' floor, so a bigger layer always costs more
    assert train.project_runtime([5000], cuda_graphs=True)["seconds"] > graphs["seconds"]
    assert eager["steps"] == 16 * 45_000 and graphs["minutes"] == pytest.approx(graphs["seconds"] / 60)


def test_concurrent_projection_is_bounded_by_arithmetic_and_the_longest():
    sizes = [[100], [5000]]
    both = train.project_concurrent(sizes)
    alone = [train.project_runtime(h, cuda_graphs=True) for h in sizes]
    assert both["seconds"] >= max(a["seconds"] for a in alone)
    assert both["seconds"] < sum(a["seconds"] for a in alone)
    slow = train.project_concurrent(sizes, flops_per_s=1e11)  # arithmetic-bound
    assert slow["seconds"] == pytest.approx(sum(a["flops"] for a in alone) / 1e11)
