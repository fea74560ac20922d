"""The locality prior (README 004): prior values, the layer, the batched stacks, clustering and pruning
measures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from localcodes import locality as L
from scipy import stats

SQ2 = math.sqrt(2.0)

# ------------------------------------------------------------------------------------------------------------
# the prior


def test_prior_on_a_2x2_grid_by_hand():
    # units (0,0) (0,1) (1,0) (1,1): distances from unit 0 are 0, 1, 1, √2
    expected = {
        "linear": [1, 1 / 2, 1 / 2, 1 / (1 + SQ2)],
        "sqrt": [1, 1 / SQ2, 1 / SQ2, 1 / math.sqrt(1 + SQ2)],
        "square": [1, 1 / 4, 1 / 4, 1 / (1 + SQ2) ** 2],
    }
    for decay, row in expected.items():
        p = L.grid_prior(2, decay, dtype=torch.float64)
        assert p.shape == (4, 4)
        assert torch.allclose(p[0], torch.tensor(row, dtype=torch.float64))
        # on a 2x2 grid every unit sees the same multiset of distances, so all row sums agree
        assert torch.allclose(p.sum(1), torch.full((4,), sum(row), dtype=torch.float64))
    # linear: 1 + 1/2 + 1/2 + (√2 − 1) = 1 + √2
    assert L.grid_prior(2, dtype=torch.float64).sum(1)[0].item() == pytest.approx(1 + SQ2)


def test_prior_row_sums_on_a_3x3_grid_by_hand():
    p = L.grid_prior(3, "linear", dtype=torch.float64)
    # centre unit 4: four neighbours at 1, four corners at √2
    assert p[4].sum().item() == pytest.approx(1 + 4 / 2 + 4 / (1 + SQ2))
    # corner unit 0: d = 0, 1 (x2), √2, 2 (x2), √5 (x2), √8
    corner = 1 + 2 / 2 + 1 / (1 + SQ2) + 2 / 3 + 2 / (1 + math.sqrt(5)) + 1 / (1 + math.sqrt(8))
    assert p[0].sum().item() == pytest.approx(corner)
    assert p[0, 8].item() == pytest.approx(1 / (1 + 2 * SQ2))  # opposite corners


@pytest.mark.parametrize("decay", list(L.DECAYS))
def test_prior_is_symmetric_with_a_unit_diagonal_and_falls_with_distance(decay):
    side = 5
    p = L.grid_prior(side, decay, dtype=torch.float64)
    d = L.grid_distance(side)
    assert torch.equal(p, p.T)
    assert torch.equal(torch.diagonal(p), torch.ones(side * side, dtype=torch.float64))
    assert (p > 0).all() and (p <= 1).all()
    # the same distance gives the same value, a larger distance a smaller one
    order = torch.argsort(d[0])
    assert (torch.diff(p[0, order]) <= 1e-15).all()


def test_decays_are_ordered_sqrt_above_linear_above_square():
    s, lin, sq = (L.grid_prior(4, k, dtype=torch.float64) for k in ("sqrt", "linear", "square"))
    off = ~torch.eye(16, dtype=torch.bool)
    assert (s[off] > lin[off]).all() and (lin[off] > sq[off]).all()


def test_one_dimensional_prior_is_the_readme_line_of_seven_units():
    p = L.grid_prior(7, "linear", ndim=1, dtype=torch.float64)
    i = torch.arange(7, dtype=torch.float64)
    assert p.shape == (7, 7)
    assert torch.allclose(p, 1 / (1 + (i[:, None] - i[None, :]).abs()))
    layer = L.LocalityPrior(7, ndim=1)
    assert torch.allclose(layer.prior.double(), p)


def test_bad_sizes_and_options_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match=r"square number.*got 50.*49 = 7².*64 = 8²"):
        L.LocalityPrior(50)
    with pytest.raises(ValueError, match="square number"):
        L.Head(320, 48, 10)
    with pytest.raises(ValueError, match="decay must be one of"):
        L.grid_prior(3, "cubic")
    with pytest.raises(ValueError, match="decay must be one of"):
        L.LocalityPrior(9, decay="exp")
    with pytest.raises(ValueError, match="ndim must be 1"):
        L.grid_prior(3, ndim=3)
    with pytest.raises(ValueError, match="side must be a positive integer"):
        L.grid_prior(0)
    with pytest.raises(ValueError, match="features must be a positive integer"):
        L.grid_side(2.5)
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        L.LocalityPrior(9, l1=-1.0)
    assert L.grid_side(50, ndim=1) == 50  # a line takes any size


# ------------------------------------------------------------------------------------------------------------
# the layer


@pytest.mark.parametrize("decay,ndim,features", [("linear", 2, 49), ("sqrt", 2, 16), ("square", 1, 5)])
def test_layer_output_is_linear_with_masked_weights_and_unmasked_bias(decay, ndim, features):
    torch.manual_seed(0)
    layer = L.LocalityPrior(features, decay, ndim=ndim)
    side = L.grid_side(features, ndim)
    x = torch.randn(8, features)
    expected = F.linear(x, layer.weight * L.grid_prior(side, decay, ndim), layer.bias)
    assert torch.allclose(layer(x), expected, atol=1e-6)
    # the bias is added unmasked: with W = 0 the output is exactly b
    with torch.no_grad():
        layer.weight.zero_()
    assert torch.equal(layer(x), layer.bias.expand(8, -1))


def test_gradients_reach_only_w_and_b_and_are_masked_by_the_prior():
    torch.manual_seed(1)
    layer = L.LocalityPrior(9)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert not layer.prior.requires_grad
    x = torch.randn(5, 9)
    g = torch.randn(5, 9)
    (layer(x) * g).sum().backward()
    # d/dW of sum(g * (x (W⊙P)^T)) = (g^T x) ⊙ P
    assert torch.allclose(layer.weight.grad, (g.T @ x) * layer.prior, atol=1e-6)
    assert torch.allclose(layer.bias.grad, g.sum(0))
    prior_before = layer.prior.clone()
    torch.optim.SGD(layer.parameters(), lr=0.1).step()
    assert torch.equal(layer.prior, prior_before)


def test_l1_wiring_cost_is_on_the_masked_weights():
    torch.manual_seed(2)
    layer = L.LocalityPrior(16, l1=0.01)
    assert layer.wiring_cost().item() == pytest.approx(
        (layer.weight * layer.prior).abs().sum().item(), rel=1e-6
    )
    assert layer.wiring_length().item() == pytest.approx(
        ((layer.weight * layer.prior).abs() * L.grid_distance(4)).sum().item(), rel=1e-5
    )
    net = torch.nn.Sequential(layer, torch.nn.ReLU(), L.LocalityPrior(16, l1=0.0))
    L.wiring_penalty(net).backward()
    assert torch.allclose(layer.weight.grad, 0.01 * layer.prior * torch.sign(layer.weight))
    assert net[2].weight.grad is None or not net[2].weight.grad.any()


def test_control_and_lp_of_one_seed_start_from_the_same_weights():
    a = L._seeded(3, lambda: L.LeNet(None))
    b = L._seeded(3, lambda: L.LeNet("linear"))
    c = L._seeded(4, lambda: L.LeNet("linear"))
    assert torch.equal(a.head.lp.weight, b.head.lp.weight) and torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(b.conv1.weight, c.conv1.weight)


# ------------------------------------------------------------------------------------------------------------
# stacks: one batched computation that equals the members one by one


def _nets(dropout=0.5):
    decays = [None, "linear", "sqrt"]
    return [L._seeded(s, lambda d=d: L.LeNet(d, dropout=dropout)) for s, d in enumerate(decays)]


def test_lenet_stack_matches_its_members_in_eval_mode():
    nets = _nets()
    stack = L.LeNetStack(nets).eval()
    x = torch.randn(6, 3, 1, 28, 28)
    logits, acts = stack(x, return_activations=True)
    for i, net in enumerate(nets):
        ref, ref_acts = net.eval()(x[:, i], return_activations=True)
        assert torch.allclose(logits[:, i], ref, atol=1e-5)
        assert torch.allclose(acts["lp_out"][:, i], ref_acts["lp_out"], atol=1e-5)
        back = stack.member(i).eval()
        assert torch.allclose(back(x[:, i]), ref, atol=1e-5)


def test_one_training_step_of_the_stack_equals_each_member_trained_alone():
    nets = _nets(dropout=0.0)  # no dropout: the comparison is exact up to float summation order
    stack = L.LeNetStack(nets).train()
    x = torch.randn(16, 3, 1, 28, 28)
    y = torch.randint(0, 10, (16, 3))
    opt = torch.optim.SGD(stack.parameters(), lr=0.1, momentum=0.5, weight_decay=0.01)
    out = stack(x)
    F.cross_entropy(out.reshape(-1, 10), y.reshape(-1), reduction="none").reshape(16, 3).mean(
        0
    ).sum().backward()
    opt.step()
    for i, net in enumerate(nets):
        net.train()
        o = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5, weight_decay=0.01)
        F.cross_entropy(net(x[:, i]), y[:, i]).backward()
        o.step()
        got = stack.member(i)
        for (name, p), q in zip(net.state_dict().items(), got.state_dict().values(), strict=True):
            assert torch.allclose(p.float(), q.float(), atol=1e-5), name


def test_train_stack_is_reproducible_resumable_and_learns(tmp_path):
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 12, generator=g) * 3
    y = torch.arange(4).repeat(50)
    x = centres[y] + torch.randn(200, 12, generator=g)
    members = L._members(["control", "linear"], [0, 1])

    def fresh():
        return L.HeadStack(
            [
                L._seeded(int(r.seed), lambda r=r: L.Head(12, 16, 4, L._decay(r.decay), 0.2))
                for r in members.itertuples()
            ]
        )

    kw = dict(batch_size=32, lr=0.05, momentum=0.5, weight_decay=0.01, progress=False)
    a, b, c = fresh(), fresh(), fresh()
    L.train_stack(a, x, y, list(members["seed"]), epochs=2, **kw)
    L.train_stack(b, x, y, list(members["seed"]), epochs=2, **kw)
    ckpt = tmp_path / "ckpt.pt"
    L.train_stack(c, x, y, list(members["seed"]), epochs=1, checkpoint=ckpt, **kw)
    c2 = fresh()
    hist = L.train_stack(c2, x, y, list(members["seed"]), epochs=2, checkpoint=ckpt, **kw)
    assert len(hist) == 2
    for p, q, r in zip(
        a.state_dict().values(), b.state_dict().values(), c2.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q)
        assert torch.allclose(p, r, atol=1e-6)
    ev = L.evaluate_stack(a, x, y)
    assert (ev["accuracy"] > 0.6).all()  # four well-separated clusters: far above chance (0.25)
    assert ev["lp_out"].shape == (200, 4, 16) and (ev["lp_out"] >= 0).all()


def test_stack_options_are_checked():
    with pytest.raises(ValueError, match="arms must be among"):
        L._members(["control", "cubic"], [0])
    stack = L.HeadStack([L.Head(4, 4, 2, None)])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        L.train_stack(stack, torch.randn(8, 4), torch.zeros(8, dtype=torch.long), [0], optimizer="adam")
    with pytest.raises(ValueError, match="one seed per member"):
        L.train_stack(stack, torch.randn(8, 4), torch.zeros(8, dtype=torch.long), [0, 1])
    with pytest.raises(ValueError, match="network must be one of"):
        L.run_experiment("vgg")


# ------------------------------------------------------------------------------------------------------------
# clustering on the grid


def test_variance_of_simple_maps_by_hand():
    side = 7
    uniform = torch.ones(49)
    # coordinates 0..6 on each axis: variance 4 per axis, and the 1/(1 - Σa²) correction with a = 1/49
    assert L.variance_2d(uniform, side).item() == pytest.approx(8 * 49 / 48)
    two = torch.zeros(49)
    two[0] = two[2] = 1.0  # (0,0) and (0,2): each 1 from the centroid, Σa² = 1/2
    assert L.variance_2d(two, side).item() == pytest.approx(1.0 / 0.5)
    shifted = torch.zeros(49)
    shifted[30] = shifted[32] = 3.0  # the same pair elsewhere, unnormalised
    assert L.variance_2d(shifted, side).item() == pytest.approx(2.0)
    assert torch.isnan(L.variance_2d(torch.zeros(49), side))
    with pytest.raises(ValueError, match="side² = 49"):
        L.variance_2d(torch.ones(50), 7)


def test_class_maps_are_class_means_normalised_to_one():
    acts = torch.tensor([[1.0, 0, 0, 1], [3, 0, 0, 1], [0, 2, 2, 0], [0, 4, 0, 0]])
    maps = L.class_maps(acts, torch.tensor([0, 0, 1, 1]))
    assert torch.allclose(
        maps, torch.tensor([[2 / 3, 0, 0, 1 / 3], [0, 3 / 4, 1 / 4, 0]], dtype=torch.float64)
    )
    stacked = L.class_maps(torch.stack([acts, 2 * acts], 1), torch.tensor([0, 0, 1, 1]))
    assert stacked.shape == (2, 2, 4) and torch.allclose(stacked[0], stacked[1])
    with pytest.raises(ValueError, match="non-negative"):
        L.class_maps(-acts, torch.tensor([0, 0, 1, 1]))


def test_random_placement_baseline_is_near_uniform_for_a_blob():
    blob = torch.zeros(49)
    blob[[23, 24, 25, 17, 31]] = 1.0  # a compact cross in the middle
    v = L.variance_2d(blob, 7).item()
    perm = L.permuted_variance(blob, 7, n_perm=500).item()
    assert v == pytest.approx(1.0)  # four neighbours at distance 1: (4/5) / (1 - 1/5)
    assert perm > 3.0  # scattered at random, the same five units spread over the sheet


def _table(treat, ctrl):
    rows = []
    for arm, values in (("linear", treat), ("control", ctrl)):
        for s, per_class in enumerate(values):
            for c, v in enumerate(per_class):
                rows.append(
                    {"layer": "lp_out", "arm": arm, "seed": s, "cls": c, "variance": v, "variance_perm": 8.0}
                )
    return pd.DataFrame(rows)


def test_paired_tests_match_scipy_and_report_effect_sizes():
    rng = np.random.default_rng(0)
    ctrl = 8 + rng.normal(0, 0.3, (3, 10))
    treat = ctrl - 0.2 + rng.normal(0, 0.1, (3, 10))
    res = L.paired_clustering_tests(_table(treat, ctrl)).loc["lp_out"]
    ref = stats.ttest_rel(treat.mean(0), ctrl.mean(0))
    assert res["t"] == pytest.approx(ref.statistic) and res["p"] == pytest.approx(ref.pvalue)
    diff = treat.mean(0) - ctrl.mean(0)
    assert res["d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1))
    per_seed = (treat - ctrl).mean(1) / (treat - ctrl).std(1, ddof=1)
    assert res["d_z_seed_mean"] == pytest.approx(per_seed.mean())
    assert res["d_z_seed_sd"] == pytest.approx(per_seed.std(ddof=1))
    assert res["t"] < 0 and res["t_seed_neg"] == "3/3"
    assert res["p_seeds"] == pytest.approx(stats.ttest_rel(treat.mean(1), ctrl.mean(1)).pvalue)


def test_image_level_test_pairs_images_within_a_seed():
    members = L._members(["control", "linear"], [0])
    v = np.stack([np.linspace(8, 9, 30), np.linspace(8, 9, 30) - 0.1 + 0.01 * np.sin(np.arange(30))], 1)
    out = L.image_level_test(v, members)
    ref = stats.ttest_rel(v[:, 1], v[:, 0])
    assert out.loc[0, "t"] == pytest.approx(ref.statistic) and out.loc[0, "df"] == 29


@pytest.mark.parametrize("df", [9, 120, 999])
def test_implied_degrees_of_freedom_invert_the_t_distribution(df):
    p = 1e-6
    t = stats.t.isf(p / 2, df)
    assert L.implied_df(-t, p) == pytest.approx(df, rel=1e-4)


# ------------------------------------------------------------------------------------------------------------
# pruning and wiring


def test_pruning_keeps_exactly_the_largest_connections():
    scores = torch.tensor([[[0.1, 5.0], [3.0, 0.2]], [[1.0, 1.0], [1.0, 2.0]]])
    assert L.prune_by_magnitude(scores, 0.5).tolist() == [
        [[False, True], [True, False]],
        [[True, False], [False, True]],
    ]
    assert L.prune_by_magnitude(scores, 1.0).all() and not L.prune_by_magnitude(scores, 0.0).any()
    assert L.prune_by_magnitude(scores, 0.25).sum((-2, -1)).tolist() == [1, 1]
    with pytest.raises(ValueError, match="keep must be a fraction"):
        L.prune_by_magnitude(scores, 1.5)


def test_ranks_sort_once_and_agree_with_direct_pruning():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(3, 7, 7, generator=g)
    ranks = L.score_ranks(scores)
    assert sorted(ranks[1].reshape(-1).tolist()) == list(range(49))  # a permutation within each matrix
    assert (scores.reshape(3, -1).gather(1, ranks.reshape(3, -1).argsort(1)).diff(dim=1) <= 0).all()
    for keep in (0.02, 0.3, 0.9):
        assert torch.equal(L.prune_by_magnitude(scores, keep, ranks), L.prune_by_magnitude(scores, keep))


def test_wiring_lengths_on_a_2x2_grid_by_hand():
    d = L.grid_distance(2)
    w = torch.ones(4, 4, dtype=torch.float64) * 2
    full = L.wiring_lengths(w, torch.ones(4, 4, dtype=torch.bool), d)
    assert full["length"].item() == pytest.approx(4 * (2 + SQ2))  # each row: 0 + 1 + 1 + √2
    assert full["strength_length"].item() == pytest.approx(2 * 4 * (2 + SQ2))
    assert full["mean_length"].item() == pytest.approx(4 * (2 + SQ2) / 16)
    assert full["strength_length_share"].item() == pytest.approx(1.0)
    diag = L.wiring_lengths(w, torch.eye(4, dtype=torch.bool), d)
    assert diag["n_kept"].item() == 4 and diag["length"].item() == 0.0


def test_unpruned_curve_reproduces_the_evaluation_and_lp_wires_are_shorter():
    torch.manual_seed(0)
    members = L._members(["control", "linear"], [0])
    heads = [L._seeded(0, lambda d=d: L.Head(6, 25, 3, d)) for d in (None, "linear")]
    stack = L.HeadStack(heads)
    with torch.no_grad():  # BN running statistics that are not the identity, so "running" is exercised
        stack.bn.running_mean.uniform_(-0.1, 0.1)
        stack.bn.running_var.uniform_(0.5, 1.5)
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    ev = L.evaluate_stack(stack, x, y)
    calib = L.evaluate_stack(stack, torch.randn(30, 6), torch.randint(0, 3, (30,)))["lp_in"]
    curve = L.pruning_curve(stack, ev["lp_in"], y, calib, [1.0, 0.2], members, criteria=["magnitude"])
    full = curve[(curve["keep"] == 1.0) & (curve["bn"] == "running")].sort_values("member")
    assert np.allclose(full["accuracy"], ev["accuracy"].numpy())
    sparse = curve[(curve["keep"] == 0.2) & (curve["bn"] == "running")].set_index("arm")
    assert sparse.loc["linear", "length"] < sparse.loc["control", "length"]  # |W ⊙ P| favours short wires
    assert (sparse["n_kept"] == round(0.2 * 625)).all()
    best = L.equal_accuracy(curve, target=0.0)
    assert set(best["keep"]) == {0.2}


def test_experiment_is_cached_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    kw = dict(arms=["control", "linear"], seeds=[0], n_train=60, n_test=40, epochs=1, batch_size=20,
              prune_fractions=(1.0, 0.1), n_calib=30, device="cpu", progress=False)
    assert L.run_experiment("lenet", "smoke", cached_only=True, **kw) is None
    first = L.run_experiment("lenet", "smoke", **kw)
    again = L.run_experiment("lenet", "smoke", **kw)
    assert list(tmp_path.glob("smoke/50_locality_prior/lenet-*/result.pt"))
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    pd.testing.assert_frame_equal(first.pruning, again.pruning)
    assert torch.allclose(first.maps["lp_out"], again.maps["lp_out"])
    assert first.maps["lp_out"].shape == (2, first.labels.max() + 1, 49)
    assert np.isfinite(first.metrics["accuracy"]).all() and first.dataset == again.dataset
