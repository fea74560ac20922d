"""Pruning W ⊙ P after training, and the wiring of what is kept."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from localcodes import locality as L
from localcodes.experiments import locality as lpx

SQ2 = math.sqrt(2.0)

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
    members = L.members_table(["control", "linear"], [0])
    heads = [L.seeded(0, lambda d=d: L.Head(6, 25, 3, d)) for d in (None, "linear")]
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
    best = lpx.equal_accuracy(curve, target=0.0)
    assert set(best["keep"]) == {0.2}


def test_the_weight_rule_ignores_the_prior_and_equals_magnitude_for_a_control():
    members = L.members_table(["control", "linear"], [0])
    heads = [L.seeded(0, lambda d=d: L.Head(6, 25, 3, d)) for d in (None, "linear")]
    stack = L.HeadStack(heads)
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    ev = L.evaluate_stack(stack, x, y)
    calib = L.evaluate_stack(stack, torch.randn(30, 6), torch.randint(0, 3, (30,)))["lp_in"]
    curve = L.pruning_curve(stack, ev["lp_in"], y, calib, [1.0, 0.2], members)
    assert set(curve["criterion"]) == set(L.pruning.CRITERIA)
    at = curve[(curve["keep"] == 0.2) & (curve["bn"] == "recalibrated")].set_index(["criterion", "arm"])
    cols = ["accuracy", "length", "n_kept"]
    assert np.allclose(at.loc[("weight", "control"), cols], at.loc[("magnitude", "control"), cols])
    # same initial W in both arms (one seed): ranked by raw |W| the prior layer keeps the control's long wires
    assert at.loc[("weight", "linear"), "length"] == pytest.approx(at.loc[("magnitude", "control"), "length"])
    assert at.loc[("magnitude", "linear"), "length"] < at.loc[("weight", "linear"), "length"]
    with pytest.raises(ValueError, match="criteria must be among"):
        L.pruning_curve(stack, ev["lp_in"], y, calib, [1.0], members, criteria=["random"])
