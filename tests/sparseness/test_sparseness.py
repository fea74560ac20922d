"""Sparseness statistics and the basis test on hand-made activations with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import sparseness as sp
from localcodes.selectivity import local_codes
from scipy import stats


def one_hot_rows(n_rows: int, n_units: int) -> torch.Tensor:
    """Each row has a single 1, cycling through the units."""
    return torch.eye(n_units, dtype=torch.float64)[torch.arange(n_rows) % n_units]

def test_all_zero_activations_have_no_defined_sparseness():
    z = torch.zeros(6, 9)
    assert sp.nonzero_share(z) == 0.0
    for name in sp.STATISTICS:
        assert torch.isnan(sp.population(z, name)).all()
        assert torch.isnan(sp.lifetime(z, name)).all()
    summary = sp.sparseness_summary(z)
    assert summary["silent_samples"] == 6 and summary["dead_units"] == 9
    assert math.isnan(summary["population_hoyer"])
    d = sp.decorrelation(z)
    assert d["n_pairs"] == 0 and d["undefined"] == 3 and math.isnan(d["mean"])

@pytest.mark.parametrize("n", [2, 7, 100])
def test_one_hot_vector_has_known_values(n):
    x = one_hot_rows(3, n)
    assert sp.nonzero_share(x) == pytest.approx(1 / n)
    assert torch.allclose(sp.hoyer(x), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(sp.vinje_gallant(x), torch.ones(3, dtype=torch.float64))
    expected = (n * n - 6 * n + 6) / (n - 1)  # excess kurtosis of one 1 among n − 1 zeros
    assert sp.kurtosis(x)[0].item() == pytest.approx(expected)
    assert sp.kurtosis(x)[0].item() == pytest.approx(stats.kurtosis(x[0].numpy(), fisher=True, bias=True))

def test_constant_vector_is_not_sparse():
    x = torch.full((4, 50), 0.3, dtype=torch.float64)
    assert torch.allclose(sp.hoyer(x), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(sp.vinje_gallant(x), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.isnan(sp.kurtosis(x)).all()  # no spread, even with rounding noise in the mean

def test_gaussian_activations_have_the_gaussian_values():
    n = 2000
    g = torch.randn(400, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    # E|x| / sqrt(E x²) = sqrt(2/π) for a Gaussian
    assert sp.hoyer(g).mean().item() == pytest.approx((1 - math.sqrt(2 / math.pi)) / (1 - 1 / math.sqrt(n)),
                                                      abs=2e-3)
    assert sp.vinje_gallant(g).mean().item() == pytest.approx((1 - 2 / math.pi) / (1 - 1 / n), abs=3e-3)
    assert sp.kurtosis(g).mean().item() == pytest.approx(0.0, abs=0.02)
    assert sp.nonzero_share(g) == 1.0
    # the same numbers as scipy, row by row
    np.testing.assert_allclose(sp.kurtosis(g[:5]).numpy(), stats.kurtosis(g[:5].numpy(), axis=1), rtol=1e-10)

def test_population_and_lifetime_run_along_the_right_axis():
    # rows: one-hot samples; columns: unit 0 is always on, the others never
    x = torch.zeros(10, 4, dtype=torch.float64)
    x[:, 0] = torch.arange(1, 11, dtype=torch.float64)
    assert torch.allclose(sp.population(x, "hoyer"), torch.ones(10, dtype=torch.float64))
    life = sp.lifetime(x, "hoyer")
    assert torch.isnan(life[1:]).all() and life[0] < 0.5  # dense along samples, dead units are NaN
    s = sp.sparseness_summary(x)
    assert s["dead_units"] == 3 and s["population_hoyer"] == pytest.approx(1.0)

def test_conv_maps_become_position_samples_of_the_channel_space():
    maps = torch.arange(2 * 3 * 4 * 5, dtype=torch.float64).view(2, 3, 4, 5)
    x = sp.as_samples(maps)
    assert x.shape == (2 * 4 * 5, 3)
    assert torch.equal(x[7], maps[0, :, 1, 2])  # row = (image 0, position 7 = (1, 2))
    assert torch.equal(x[20 + 3], maps[1, :, 0, 3])

def test_bad_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="stats"):
        sp.sparseness_summary(torch.ones(3, 3), stats=["gini"])
    with pytest.raises(ValueError, match="n_pairs"):
        sp.decorrelation(torch.randn(10, 5), n_pairs=6)
    with pytest.raises(ValueError, match="draws"):
        sp.basis_values(torch.randn(10, 5), draws=0)
    with pytest.raises(ValueError, match="at least 2"):
        sp.hoyer(torch.ones(3, 1))
    with pytest.raises(ValueError, match="acts"):
        sp.as_samples(torch.ones(2, 3, 4))

def test_nonzero_histogram_counts_only_the_non_zeros():
    x = torch.relu(torch.randn(300, 20, generator=torch.Generator().manual_seed(0)))
    h = sp.nonzero_histogram(x, bins=25)
    assert len(h) == 25 and h["count"].sum() == int((x > 0).sum())
    assert h["start"].iloc[0] == pytest.approx(float(x[x > 0].min()))
    assert sp.nonzero_histogram(torch.zeros(5, 5)).empty

def test_decorrelation_known_answers():
    n = 8
    # distinct one-hot patterns: r = −1/(n − 1) for every pair, so 1 − r = n/(n − 1), with no spread
    d = sp.decorrelation(torch.eye(n), n_pairs=4)
    assert d["mean"] == pytest.approx(n / (n - 1)) and d["sd"] == pytest.approx(0, abs=1e-12)
    # identical patterns: no decorrelation
    same = torch.randn(1, 30, generator=torch.Generator().manual_seed(0)).repeat(20, 1)
    assert sp.decorrelation(same)["mean"] == pytest.approx(0.0, abs=1e-12)
    # independent Gaussian patterns: r ≈ 0, and the interval covers 1
    g = torch.randn(2000, 200, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    d = sp.decorrelation(g, seed=3)
    assert d["low"] < 1.0 < d["high"] and d["n_pairs"] == 1000
    assert d["high"] - d["low"] == pytest.approx(2 * 1.962 * d["sd"] / math.sqrt(1000), rel=1e-3)

def test_decorrelation_is_seeded_and_uses_disjoint_pairs():
    x = torch.randn(40, 12, generator=torch.Generator().manual_seed(5))
    assert sp.decorrelation(x, 10, seed=1) == sp.decorrelation(x, 10, seed=1)
    assert sp.decorrelation(x, 10, seed=1)["mean"] != sp.decorrelation(x, 10, seed=2)["mean"]
    # with every image in exactly one pair, reordering images changes nothing but which pairs are drawn;
    # averaging over all N/2 pairs of a set of identical-correlation patterns gives the same answer
    assert sp.decorrelation(torch.eye(12), seed=0)["mean"] == pytest.approx(sp.decorrelation(torch.eye(12),
                                                                                             seed=9)["mean"])

def test_random_bases_are_orthonormal_seeded_and_unbiased():
    q = sp.random_bases(16, 5, seed=0)
    eye = torch.eye(16, dtype=torch.float64).expand(5, 16, 16)
    assert torch.allclose(q.mT @ q, eye, atol=1e-12)
    assert torch.equal(q, sp.random_bases(16, 5, seed=0))
    assert not torch.allclose(q, sp.random_bases(16, 5, seed=1))
    # draw i is the same whichever chunk it is drawn in
    assert torch.equal(q[3:], sp.random_bases(16, 2, seed=0, start=3))
    frame = sp.random_bases(50, 3, n_directions=7, seed=0)
    assert frame.shape == (3, 50, 7)
    assert torch.allclose(frame.mT @ frame, torch.eye(7, dtype=torch.float64).expand(3, 7, 7), atol=1e-12)
    # Haar: every entry is symmetric about 0 (a QR without the sign fix biases the diagonal)
    many = sp.random_bases(6, 4000, seed=2)
    diag = torch.diagonal(many, dim1=-2, dim2=-1)
    se = diag.std() / math.sqrt(diag.numel())
    assert abs(diag.mean().item()) < 4 * se.item()

def test_rotating_a_one_hot_code_makes_it_measurably_less_sparse():
    x = one_hot_rows(200, 64)
    table = sp.basis_test(x, draws=12, seed=0)
    for stat in ("population_hoyer", "lifetime_hoyer", "population_kurtosis", "population_vinje_gallant"):
        row = table.loc[stat]
        assert row["neuron"] > row["random_max"], stat
        assert row["share_random_ge"] == 0 and row["p"] == pytest.approx(1 / 13)
    # a rotated one-hot vector is a random unit vector: its entries look Gaussian
    assert table.loc["population_hoyer", "random_mean"] == pytest.approx(1 - math.sqrt(2 / math.pi), abs=0.05)
    assert table.loc["population_kurtosis", "random_mean"] == pytest.approx(0.0, abs=0.3)
    assert table.loc["population_hoyer", "neuron"] == pytest.approx(1.0)

def test_rotation_invariant_data_shows_no_neuron_advantage():
    # i.i.d. Gaussian activations look the same in every orthonormal basis: the neuron basis is not special
    g = torch.randn(600, 40, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    table = sp.basis_test(g, draws=30, seed=1)
    assert (table["z"].abs() < 4).all(), table[["neuron", "random_mean", "random_sd", "z"]]
    assert (table["share_random_ge"] > 0.01).all()

def test_basis_values_are_reproducible_and_chunk_independent():
    x = torch.relu(torch.randn(80, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5)
    a = sp.basis_values(x, draws=6, seed=3)
    pd.testing.assert_frame_equal(a, sp.basis_values(x, draws=6, seed=3))
    pd.testing.assert_frame_equal(a, sp.basis_values(x, draws=6, seed=3, chunk=1))
    b = sp.basis_values(x, draws=6, seed=4)
    rnd = a["basis"] == "random"
    assert not np.allclose(a.loc[rnd, "value"], b.loc[rnd, "value"])
    assert np.allclose(a.loc[~rnd, "value"], b.loc[~rnd, "value"])  # the neuron basis does not depend on seed

def test_basis_values_match_an_explicit_rotation():
    x = torch.relu(torch.randn(50, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    vals = sp.basis_values(x, draws=3, seed=7, stats=["kurtosis"])
    q = sp.random_bases(12, 3, seed=7)
    for i in range(3):
        r = x @ q[i]
        got = vals[(vals["draw"] == i) & (vals["statistic"] == "lifetime_kurtosis")]["value"].item()
        want = np.nanmean(stats.kurtosis(r.numpy(), axis=0))
        assert got == pytest.approx(want)

def test_capped_units_compare_equal_numbers_of_coordinates():
    x = one_hot_rows(100, 40)
    vals = sp.basis_values(x, draws=4, seed=0, max_units=10, stats=["hoyer"])
    # the neuron subset of a one-hot code: rows whose unit is in the subset are one-hot, others all-zero (NaN)
    assert vals.query("basis == 'neuron' and statistic == 'population_hoyer'")["value"].item() == 1.0
    assert (vals.query("basis == 'random'")["value"] < 0.6).all()

def test_conv_basis_test_rotates_the_channel_space():
    # 8 channels, one-hot across channels at every position: sparse in the channel basis
    n, c, h, w = 20, 8, 3, 3
    idx = torch.randint(0, c, (n, h, w), generator=torch.Generator().manual_seed(0))
    maps = torch.nn.functional.one_hot(idx, c).permute(0, 3, 1, 2).to(torch.float64)
    table = sp.basis_test(maps, draws=8, seed=0)
    assert table.loc["population_hoyer", "neuron"] == pytest.approx(1.0)
    assert table.loc["population_hoyer", "random_max"] < 0.9

def test_local_codes_in_bases_match_explicit_rotations():
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(5).repeat_interleave(20)
    grandmother = torch.nn.functional.one_hot(labels, 5).to(torch.float64)
    acts = torch.cat([grandmother, torch.rand(100, 7, generator=gen, dtype=torch.float64)], 1)
    acts = acts + 0.05 * torch.rand(100, 12, generator=gen, dtype=torch.float64)
    res = sp.local_codes_in_bases(acts, labels, draws=4, seed=2)
    assert res.loc[0, "basis"] == "neuron" and res.loc[0, "codes"] == len(local_codes(acts, labels)) == 5
    q = sp.random_bases(12, 4, seed=2)
    for i in range(4):
        codes = local_codes(acts @ q[i], labels)
        assert res.loc[i + 1, "codes"] == len(codes)
        assert res.loc[i + 1, "local_units"] == codes["unit"].nunique()

def test_local_codes_of_conv_maps_take_the_spatial_max_after_rotating():
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(3).repeat_interleave(10)
    maps = torch.rand(30, 4, 2, 2, generator=gen, dtype=torch.float64)
    maps[torch.arange(30), labels, 0, 0] += 2.0  # channel c fires at one position for class c
    res = sp.local_codes_in_bases(maps, labels, draws=2, seed=0)
    assert res.loc[0, "codes"] == len(local_codes(maps.amax((2, 3)), labels))
    q = sp.random_bases(4, 2, seed=0)
    rotated = torch.einsum("nchw,ck->nkhw", maps, q[1]).amax((2, 3))
    assert res.loc[2, "codes"] == len(local_codes(rotated, labels))

def test_fused_statistics_equal_the_separate_functions():
    x = torch.relu(torch.randn(3, 70, 25, generator=torch.Generator().manual_seed(6), dtype=torch.float64))
    x[0, :, 3] = 0  # a dead unit: NaN lifetime values
    for dim in (-1, -2):
        fused = sp.stats_along(x, dim, sp.STATISTICS)
        for name, fn in sp.STATISTICS.items():
            torch.testing.assert_close(fused[name], fn(x, dim=dim), equal_nan=True)

def test_layer_maps_keep_conv_maps_and_survive_inplace_relu():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(inplace=True), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 4 * 4, 5))
    x = torch.randn(7, 1, 6, 6)
    maps, out = sp.layer_maps(model, {"conv": "0", "relu": "1", "fc": "3"}, x, batch_size=3, device="cpu")
    pre = model[0](x)
    assert maps["conv"].shape == (7, 3, 4, 4)
    torch.testing.assert_close(maps["conv"], pre)  # not overwritten by the in-place ReLU that follows
    torch.testing.assert_close(maps["relu"], torch.relu(pre))
    torch.testing.assert_close(out, model(x))
    torch.testing.assert_close(maps["fc"], out)
    with pytest.raises(ValueError, match="not modules"):
        sp.layer_maps(model, ["9"], x)

def synthetic_network(seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(15)
    conv = torch.relu(torch.randn(60, 6, 3, 3, generator=gen))
    fc = torch.relu(torch.randn(60, 30, generator=gen) + 2 * torch.nn.functional.one_hot(labels, 30))
    out = torch.randn(60, 4, generator=gen)
    return {"conv": conv, "fc": fc, "out": out}, labels

def test_analyse_layers_tables_are_complete_and_seeded():
    acts, labels = synthetic_network()
    a = sp.analyse_layers(acts, labels, draws=3, lc_draws=2, max_units=16, bins=10)
    b = sp.analyse_layers(acts, labels, draws=3, lc_draws=2, max_units=16, bins=10)
    for name in sp.ANALYSIS_FRAMES:
        pd.testing.assert_frame_equal(a[name], b[name])
    lay = a["layers"].set_index("layer")
    assert list(lay.index) == ["conv", "fc", "out"] and list(lay["depth"]) == [0, 1, 2]
    assert lay.loc["out", "nonzero"] == 1.0 and lay.loc["conv", "nonzero"] < 1.0
    assert lay.loc["conv", "samples"] == 60 * 9 and lay.loc["fc", "pairs"] == 30
    assert lay.loc["fc", "lc_units_on"] == len(local_codes(acts["fc"], labels).query("kind == 'on'"))
    assert set(a["basis"]["layer"]) == {"conv", "fc", "out"}
    assert a["histograms"].groupby("layer")["count"].sum()["fc"] == int((acts["fc"] > 0).sum())
    assert len(a["local_codes"]) == 3 * (1 + 2)
    summary = sp.basis_summary(a["basis"], by=["layer"])
    assert summary.loc[("fc", "population_hoyer"), "neuron"] > summary.loc[("fc", "population_hoyer"),
                                                                             "random_max"]


# --- learning or rectification: the basis test before and after the non-linearity, and the blog's claims ------


def test_rectified_gaussian_noise_passes_the_basis_test_after_relu_but_not_before():
    # rectification alone makes the neuron basis "special": no learning is involved in this noise
    z = torch.randn(2000, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    post = sp.basis_test(torch.relu(z), draws=19, seed=0).loc["population_hoyer"]
    pre = sp.basis_test(z, draws=19, seed=0).loc["population_hoyer"]
    assert post["share_random_ge"] == 0 and post["advantage"] > 0.1
    assert pre["p"] > 0.05 and abs(pre["advantage"]) < post["advantage"] / 10


def _network_frames(trained_sparse: bool, n_networks: int = 3, draws: int = 4):
    """Toy networks whose *trained* pre-activations are heavy-tailed along the neurons (Laplace) and whose
    untrained ones are isotropic Gaussian; with ``trained_sparse=False`` the two are swapped."""
    layers, basis, pre_basis = [], [], []
    for net in range(n_networks):
        for trained in (True, False):
            gen = torch.Generator().manual_seed(100 * net + trained)
            laplace = torch.distributions.Laplace(0.0, 1.0)
            aligned = trained == trained_sparse
            pre = {f"h{i}": (laplace.sample((400, 24)) if aligned else torch.randn(400, 24, generator=gen))
                   for i in (1, 2)}
            acts = {k: torch.relu(v) for k, v in pre.items()} | {"out": torch.randn(400, 5, generator=gen)}
            frames = sp.analyse_layers(acts, draws=draws, max_units=None, bins=4)
            pre_values = pd.concat([sp.basis_values(v, draws=draws).assign(layer=k, depth=i)
                                    for i, (k, v) in enumerate(pre.items())], ignore_index=True)
            tag = {"network": f"net{net}", "trained": trained,
                   "variant": f"net{net}, {'trained' if trained else 'untrained'}"}
            layers.append(frames["layers"].assign(**tag))
            basis.append(frames["basis"].assign(**tag))
            pre_basis.append(pre_values.assign(**tag))
    return tuple(pd.concat(f, ignore_index=True) for f in (layers, basis, pre_basis))


def test_alignment_verdict_follows_learning_before_the_relu_and_flips_with_the_data():
    torch.manual_seed(0)  # the Laplace draws use the global generator
    layers, basis, pre_basis = _network_frames(trained_sparse=True)
    table = sp.alignment_table(basis, pre_basis, layers)
    assert len(table) == 6 and (table["hidden_layers"] == 2).all()
    # after the ReLU every network, trained or not, prefers its neurons
    assert (table["post_advantage"] > 0).all() and (table["post_share_beating_all"] == 1).all()
    assert sp.judge_alignment(table, "pre").outcome == "reproduced"
    # a layer without zeros (a sigmoid) is not rectified: it is left out unless asked for
    unrectified = layers.assign(nonzero=layers["nonzero"].where(layers["layer"] != "h2", 1.0))
    assert (sp.alignment_table(basis, pre_basis, unrectified)["hidden_layers"] == 1).all()
    assert (sp.alignment_table(basis, pre_basis, unrectified, rectified_only=False)["hidden_layers"] == 2).all()
    layers, basis, pre_basis = _network_frames(trained_sparse=False)
    assert sp.judge_alignment(sp.alignment_table(basis, pre_basis, layers), "pre").outcome == "contradicted"
    assert sp.judge_alignment(pd.DataFrame(), "pre").outcome == "not run"


def _depth_layers(zeros_by_depth, decorrelation_by_depth, n_networks=4, noise=0.01):
    rng = np.random.default_rng(0)
    rows = []
    for net in range(n_networks):
        for trained in (True, False):
            for depth, (zeros, dec) in enumerate(zip(zeros_by_depth, decorrelation_by_depth, strict=True)):
                rows.append({"variant": f"net{net}, {trained}", "network": f"net{net}", "trained": trained,
                             "layer": f"l{depth}", "depth": depth, "nonzero": 1 - zeros + rng.normal(0, noise),
                             "decorrelation": dec + rng.normal(0, noise)})
            rows.append({**rows[-1], "layer": "out", "depth": len(zeros_by_depth), "nonzero": 1.0})
    return pd.DataFrame(rows)


def test_depth_claims_are_judged_and_flip_when_the_data_flips():
    # the blog's picture: sparser with depth, a less sparse top, decorrelation rising with the zeros
    blog = _depth_layers([0.3, 0.5, 0.7, 0.8, 0.6], [0.2, 0.4, 0.6, 0.7, 0.5])
    trends = sp.depth_trends(blog)
    assert len(trends) == 8 and (trends["layers"] == 5).all()
    verdicts = sp.judge_depth_claims(trends)
    assert {k: v.outcome for k, v in verdicts.items()} == dict.fromkeys(sp.DEPTH_CLAIMS, "reproduced")
    # the opposite pictures: denser with depth while decorrelation rises; the sparsest layer at the top
    flipped = sp.judge_depth_claims(sp.depth_trends(_depth_layers([0.8, 0.7, 0.5, 0.4, 0.3],
                                                                  [0.2, 0.3, 0.5, 0.6, 0.7])))
    assert flipped["rho_depth_zeros"].outcome == flipped["rho_zeros_decorrelation"].outcome == "contradicted"
    top = sp.judge_depth_claims(sp.depth_trends(_depth_layers([0.3, 0.4, 0.5, 0.6, 0.9], [0.1] * 5)))
    assert top["top_minus_peak"].outcome == "contradicted"
    # networks with too few rectified layers are left out, and nothing left is "not run"
    assert sp.judge_depth_claims(sp.depth_trends(blog, min_layers=9))["rho_depth_zeros"].outcome == "not run"
