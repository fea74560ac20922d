"""A sweep's network trained again is the same network; the units chosen for jitterplots."""

from __future__ import annotations

import numpy as np
import pytest
from localcodes import engine
from localcodes.experiments import paper000 as P000


def test_jitter_units_lists_local_code_units_first():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    acts = rng.normal(0, 1, (120, 6))
    acts[:, 4] += 10 * (labels == 2)  # an on-code for class 2, wide gap
    acts[:, 1] -= 5 * (labels == 0)  # an off-code for class 0
    units, names = P000.jitter_units(acts, labels, n_contrast=2)
    assert units[:2] == [4, 1]
    assert "on code, class 2" in names[0] and "off code, class 0" in names[1]
    assert len(units) == 4 and all("no local code" in n for n in names[2:])


def test_jitter_units_lists_local_code_units_first_by_number_of_codes():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    acts = rng.uniform(0, 1, (60, 6))
    acts[labels == 2, 4] += 5  # unit 4: an on-code for class 2
    units, names = P000.jitter_units(acts, labels, max_units=40, n_contrast=2, order="codes")
    names = dict(zip(units, names, strict=True))
    assert units[0] == 4 and "on-code: class 2" in names[4]
    assert len(units) == 3 and all("no local code" in names[u] for u in units[1:])
    # the names reach charts.jitterplot's dropdown in the order of `units`, each with its own unit
    from localcodes import charts

    _, shown, _ = charts.jitter_data(acts, labels, units=units, unit_names=names)
    assert shown == [names[u] for u in units]


def test_retrain_gives_the_sweeps_network(tmp_path):
    base = {**P000.training("book", epochs=4), "hidden": [8], "n_per_class": 4, "seed": 3}
    hist = engine.sweep({"dropout": [0.0, 0.5]}, repeats=2, store=tmp_path / "s", base=base, progress=False)
    final = P000.final_rows(hist).sort_values(["dropout", "repeat"]).reset_index(drop=True)
    res, data = P000.retrain(
        [{**base, "dropout": float(d)} for d in final["dropout"]], [int(s) for s in final["data_seed"]]
    )
    for col in ("train_loss", "train_acc", "lc_pairs"):
        np.testing.assert_allclose(res.final[col].to_numpy(), final[col].to_numpy(), rtol=1e-5)
    acts, labels, which = P000.plot_activations(res, data, 0)
    assert acts.shape[0] == len(labels) and acts.shape[1] == 8 and which
    # the cached views: computed once, then read back identical
    params = [{**base, "dropout": float(d)} for d in final["dropout"]]
    seeds = [int(s) for s in final["data_seed"]]
    first = P000.network_views(tmp_path / "views.npz", params, seeds)
    assert (tmp_path / "views.npz").exists()
    again = P000.network_views(tmp_path / "views.npz", params, seeds)
    for a, b, lc in zip(first, again, final["lc_pairs"], strict=True):
        np.testing.assert_array_equal(a["acts"], b["acts"])
        np.testing.assert_array_equal(a["labels"], b["labels"])
        assert a["lc_pairs"] == b["lc_pairs"] == lc
    np.testing.assert_array_equal(first[0]["acts"], acts)


def test_example_networks_are_cached_per_training_settings(tmp_path, monkeypatch):
    # a run with other settings (`-p epochs 400`) must not leave its network for the default run's page
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    from localcodes.experiments.paper000 import networks

    calls = []
    real = networks.retrain

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(networks, "retrain", counting)
    short, long_ = P000.training("book", epochs=1), P000.training("book", epochs=3)
    first = P000.example_networks("smoke", "ch", [8], short, max_units=4)
    other = P000.example_networks("smoke", "ch", [8], long_, max_units=4)
    assert len(calls) == 2  # the second call trained its own network
    assert other[3]["train accuracy"].iloc[0] != first[3]["train accuracy"].iloc[0] or not np.array_equal(
        other[0], first[0])
    again = P000.example_networks("smoke", "ch", [8], short, max_units=4)  # the first settings: read back
    assert len(calls) == 2
    np.testing.assert_array_equal(again[0], first[0])
    assert again[2] == first[2]


def test_cached_npz_recomputes_for_other_parameters(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.full(3, float(len(calls)))}

    path = tmp_path / "c.npz"
    P000.cached_npz(path, compute)  # a file written without parameters (an older cache)
    first = P000.cached_npz(path, compute, {"epochs": 5})
    assert len(calls) == 2 and set(first) == {"a"}
    np.testing.assert_array_equal(P000.cached_npz(path, compute, {"epochs": 5})["a"], first["a"])
    assert len(calls) == 2
    assert P000.cached_npz(path, compute, {"epochs": 400})["a"][0] == 3.0


def test_an_unreadable_npz_cache_is_said_and_computed_again(tmp_path):
    from localcodes.experiments.paper000.networks import cached_npz

    path = tmp_path / "c.npz"
    cached_npz(path, lambda: {"a": np.arange(3)}, params={"p": 1})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.warns(UserWarning, match="is unreadable"):
        again = cached_npz(path, lambda: {"a": np.arange(4)}, params={"p": 1})
    assert again["a"].tolist() == [0, 1, 2, 3]
