"""Per-class maps on the grid, their 2-D variance and the paired tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import locality as L
from scipy import stats


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
    members = L.members_table(["control", "linear"], [0])
    v = np.stack([np.linspace(8, 9, 30), np.linspace(8, 9, 30) - 0.1 + 0.01 * np.sin(np.arange(30))], 1)
    out = L.image_level_test(v, members)
    ref = stats.ttest_rel(v[:, 1], v[:, 0])
    assert out.loc[0, "t"] == pytest.approx(ref.statistic) and out.loc[0, "df"] == 29
