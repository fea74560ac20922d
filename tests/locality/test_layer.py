"""The grid, the locality prior and the LP layer: prior values by hand, the masked layer, its gradients and
its wiring cost."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from localcodes import locality as L

SQ2 = math.sqrt(2.0)

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
