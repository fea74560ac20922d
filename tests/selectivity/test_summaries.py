"""Summaries of unit tables across layers (paper 001's Tables 1, A1, A2, class agreement, distribution fits)."""

from __future__ import annotations

import numpy as np
import pytest
from localcodes import selectivity as S
from localcodes.selectivity import fit_exponential_vs_normal, unit_table


def test_layer_summaries_by_hand():
    y = np.repeat([0, 1], 4)
    a = np.array([[3, 0], [3, 0], [3, 1], [3, 1], [0, 1], [1, 1], [0, 1], [0, 1]], dtype=float)
    t = unit_table(a, y, k=4)
    tables = {"L": t}
    means = S.layer_means(tables, y)
    # unit 0: class 0 all above class 1 → TCS 1, cluster 4; unit 1: top class 0 (first max), none above max_other
    assert means.loc["L", "top_class_selectivity"] == pytest.approx(50.0)
    assert means.loc["L", "top_cluster_size"] == pytest.approx(2.0)
    assert means.loc["L", "precision"] == pytest.approx(100 * (1.0 + t.loc[1, "precision"]) / 2)
    shares = S.threshold_shares(tables)
    assert shares.loc["L", "TCS > 5%"] == 50.0 and shares.loc["L", "precision > 50%"] == 100.0
    ext = S.extreme_units(tables, y)
    assert ext.set_index("criterion").loc["top class selectivity", "name"] == "L.0"
    agree = S.class_agreement(tables, n_classes=2)
    assert agree.loc["L", "chance"] == 50.0
    assert agree.loc["L", "TCS class = CCMAS class"] == 100 * np.mean(t["top_class"] == t["ccmas_class"])


def test_detector_means_over_live_units_and_high_precision_units():
    y = np.repeat([0, 1], 4)
    # unit 0: class 0 at 3, class 1 at 0 -> every detector measure 1, precision@4 1
    # unit 1: dead (constant 2) -> NaN, counted apart
    # unit 2: class 1 at 1 except one class-0 example at 1 too; k=4 takes the five tied examples' expected shares
    #   (4 x 4/5 = 3.2 of class 1): precision .8, class 1. Thresholds (TP, FP): 1 (4, 1), 0 (4, 4):
    #   informedness 1 - 1/4 = .75, F1 8/9, precision 4/5 -> recall at precision 1 and .95 both 0
    a = np.zeros((8, 3))
    a[:4, 0] = 3
    a[:, 1] = 2
    a[4:, 2] = 1
    a[0, 2] = 1
    t = unit_table(a, y, k=4)
    got = S.detector_means({"L": t}).loc["L"]
    assert got["units"] == 3 and got["dead units"] == 1
    assert got["max_informedness"] == pytest.approx((1 + 0.75) / 2)
    assert got["max_f1"] == pytest.approx((1 + 8 / 9) / 2)
    assert got["recall_at_precision_95"] == pytest.approx(0.5)
    assert got["precision"] == pytest.approx((1 + 0.8) / 2)
    assert got["units with precision > 0.75"] == 2
    got9 = S.detector_means({"L": t}, precision_above=0.9).loc["L"]
    assert got9["units with precision > 0.9"] == 1 and got9["max_f1 (precision > 0.9)"] == 1.0


def test_exponential_and_normal_fits_tell_them_apart():
    rng = np.random.default_rng(0)
    expo = fit_exponential_vs_normal(rng.exponential(2.0, 4000))
    assert expo.loc["exponential", "aic"] < expo.loc["normal", "aic"]
    assert expo.loc["exponential", "scale"] == pytest.approx(2.0, rel=0.1)
    norm = fit_exponential_vs_normal(rng.normal(10.0, 1.0, 4000))
    assert norm.loc["normal", "aic"] < norm.loc["exponential", "aic"]
    assert norm.loc["normal", "ks_statistic"] < norm.loc["exponential", "ks_statistic"]
    with pytest.raises(ValueError, match="at least 3"):
        fit_exponential_vs_normal([1.0])
