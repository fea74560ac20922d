"""The sparseness chapter's networks, caches and tables."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from localcodes import locality, store
from localcodes import sparseness as sp
from localcodes.experiments import locality as lpx
from localcodes.experiments import sparseness as spx


def test_lenet_layers_follow_the_locality_lenet():
    net = spx.new_lenet("linear", 10, seed=3).eval()
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        acts = spx.lenet_layers(net, x)
        torch.testing.assert_close(acts["out"], net(x))
    assert [tuple(a.shape[1:]) for a in acts.values()] == [(10, 12, 12), (20, 4, 4), (49,), (49,), (10,)]
    assert (acts["conv1"] >= 0).all() and (acts["fc2"] >= 0).all()
    # seeded like the locality experiment's members: same seed, same weights
    again = spx.new_lenet("linear", 10, seed=3)
    assert torch.equal(again.conv1.weight, net.conv1.weight)
    assert isinstance(net.head.lp, locality.LocalityPrior)

def test_cached_reuses_only_matching_parameters(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"a": pd.DataFrame({"x": [len(calls)]})}

    first = store.cached(tmp_path, {"k": 1}, compute)
    again = store.cached(tmp_path, {"k": 1}, compute)
    assert len(calls) == 1 and again["a"]["x"].item() == first["a"]["x"].item() == 1
    other = store.cached(tmp_path, {"k": 2}, compute)
    assert len(calls) == 2 and other["a"]["x"].item() == 2

def test_variants_and_bad_networks():
    v = spx.variants(["lenet"])
    got = [(x["network"], x["trained"]) for x in v]
    assert got == [("LeNet (control)", True), ("LeNet (control)", False), ("LeNet (linear)", True),
                   ("LeNet (linear)", False)]
    with pytest.raises(ValueError, match="networks"):
        spx.variants(["resnet"])

def test_locality_lenets_are_the_locality_experiments_members(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    res = lpx.run_experiment("lenet", scale="smoke", arms=("control", "linear"), seeds=(1, 0),
                                  n_train=200, n_test=100, epochs=1, prune_fractions=(1.0, 0.5), n_calib=50,
                                  progress=False)
    found = spx.locality_lenets("smoke")
    assert found is not None and found["run"].startswith("lenet-")
    xtr, ytr, xte, yte, *_ = lpx.lenet_data(200, 100, 0, torch.device("cpu"))
    for arm in ("control", "linear"):
        trained, start = found["nets"][arm]
        with torch.no_grad():
            acc = float((trained(xte).argmax(1) == yte).float().mean())
        want = res.metrics.query("arm == @arm and seed == 0")["accuracy"].item()  # the lowest seed is taken
        assert acc == pytest.approx(want, abs=1e-6)
        assert not torch.equal(trained.conv1.weight, start.conv1.weight)

def synthetic_network(seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(15)
    conv = torch.relu(torch.randn(60, 6, 3, 3, generator=gen))
    fc = torch.relu(torch.randn(60, 30, generator=gen) + 2 * torch.nn.functional.one_hot(labels, 30))
    out = torch.randn(60, 4, generator=gen)
    return {"conv": conv, "fc": fc, "out": out}, labels


def two_states():
    acts, labels = synthetic_network()
    parts = []
    for trained in (True, False):
        frames = sp.analyse_layers(acts, labels, draws=2, lc_draws=2, max_units=16, bins=8)
        name = f"toy, {'trained' if trained else 'untrained'}"
        parts.append({k: f.assign(network="toy", trained=trained, variant=name) for k, f in frames.items()})
    return {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in sp.ANALYSIS_FRAMES}

def test_chapter_tables_from_two_states_of_a_network():
    frames = two_states()
    table = spx.local_code_table(frames["local_codes"])
    assert {"neuron_on_units", "random_on_units"} <= set(table.columns)
    adv = spx.advantage_table(frames["basis"], frames["layers"])
    assert adv.loc[("toy, trained", "fc"), "advantage"] > 0
    rho = spx.sparsening_vs_decorrelation(frames["layers"])
    assert list(rho.index) == ["toy, trained", "toy, untrained"]
    layers = frames["layers"]
    assert list(spx.sparsest_table(layers).index) == ["toy, trained", "toy, untrained"]
    assert "non-zero" in spx.zeros_note(layers)
    assert spx.nonzero_table(layers).to_html()
    assert set(spx.trends_table(layers, rho).index) == {"toy, trained", "toy, untrained"}
    assert spx.decorrelation_note(layers) is None  # no image network
    summary = sp.basis_summary(frames["basis"], by=["variant", "layer", "depth"]).reset_index()
    assert list(spx.z_table(summary).columns)[0] == "population_hoyer"
    kind = spx.add_layer_kinds(layers)
    assert kind.loc[("toy, trained", "out")] == "read-out" and kind.loc[("toy, trained", "conv")] == "ReLU hidden"
    assert set(spx.verdict_table(summary, kind).index.get_level_values("kind")) == {"ReLU hidden", "read-out"}
    found = spx.local_codes_found(frames["local_codes"], frames["basis"], layers)
    assert found is not None and "neuron_on_units" in found.columns
    if len(found):
        assert "ReLU hidden" in spx.on_code_bullets(found, kind)
    pre = frames["basis"].copy()
    pre["value"] = pre.groupby(["layer", "statistic"])["value"].transform("mean")  # no basis preferred before
    comparison = spx.blog_comparison(layers, frames["basis"], pre)
    assert list(comparison.columns) == ["tested", "this run (trained)", "verdict (trained)", "untrained alone"]
    # two rectified layers are too few for the depth claims; one network a state too few for the basis contrast
    assert comparison["verdict (trained)"].str.startswith("not run").all()
    assert "toy: +" in comparison.iloc[3]["this run (trained)"]
    assert "not run" in spx.alignment_verdicts(layers, frames["basis"], pre)


def test_lenet_pre_activations_are_the_relus_inputs():
    net = spx.new_lenet("control", 10, seed=1).eval()
    x = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        post, pre = spx.lenet_layers(net, x), spx.lenet_layers(net, x, pre=True)
    assert list(pre) == ["conv1", "conv2", "fc1", "fc2"]
    for name, z in pre.items():
        torch.testing.assert_close(torch.relu(z), post[name])
        assert (z < 0).any()  # not yet rectified


def test_paper_note_says_how_to_compute_paper_results(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert "localcodes run 60_sparseness --scale paper" in spx.paper_note("smoke")


def test_lenet_cache_is_kept_per_digit_set(tmp_path, monkeypatch):
    # a LeNet trained on the fallback digits must not be taken for MNIST once MNIST is there
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    trained = []
    real_train = spx.locality.train_stack

    def counting(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(spx.locality, "train_stack", counting)
    run = dict(n_train=100, n_images=50, epochs=1, reuse=False, device="cpu")
    first = spx.lenet_acts("smoke", **run)
    assert spx.lenet_acts("smoke", **run).info["dataset"] == first.info["dataset"] and len(trained) == 1
    real_images = spx._lenet_images

    def other_digits(*args):
        *rest, name, source = real_images(*args)
        return (*rest, f"other {name}", source)

    monkeypatch.setattr(spx, "_lenet_images", other_digits)
    other = spx.lenet_acts("smoke", **run)
    assert len(trained) == 2 and other.info["dataset"] == f"other {first.info['dataset']}"


def test_alexnet_pre_layers_are_the_inputs_of_the_layers_relus():
    # the in-place ReLUs overwrite the conv/linear outputs: the recorder must keep them before that
    from localcodes import nets
    from localcodes.sparseness import layer_maps

    model = nets.AlexNet(num_classes=5, in_channels=1, width=0.125, pool_size=2).eval()
    x = torch.randn(4, 1, 96, 96, generator=torch.Generator().manual_seed(0))
    layers = {name: nets.ALEXNET_LAYERS[name] for name in spx.ALEXNET_PRE_LAYERS}
    layers |= {f"{name}:pre": module for name, module in spx.ALEXNET_PRE_LAYERS.items()}
    maps, _ = layer_maps(model, layers, x, device="cpu")
    for name in spx.ALEXNET_PRE_LAYERS:
        assert (maps[f"{name}:pre"] < 0).any()
        torch.testing.assert_close(torch.relu(maps[f"{name}:pre"]), maps[name])
