"""The statistics of paper 000's chapters: the a − b√P fit, paired tests, turning points, KS tables, fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes.experiments import paper000 as P000
from scipy import stats


def test_sqrt_fit_recovers_known_parameters_and_ignores_points_beyond_p_max():
    p = np.repeat([0.0, 0.1, 0.2, 0.3, 0.4], 4)
    rng = np.random.default_rng(0)
    y = 20.62 - 30.65 * np.sqrt(p) + rng.normal(0, 0.3, p.size)
    p_all = np.concatenate([p, [0.5, 0.6]])
    y_all = np.concatenate([y, [100.0, 100.0]])  # wild points beyond P = 0.4 must not be fitted
    fit = P000.sqrt_fit(p_all, y_all, p_max=0.4)
    assert fit["n"] == p.size
    assert fit["a"] == pytest.approx(20.62, abs=0.5) and fit["b"] == pytest.approx(30.65, abs=1.5)
    assert 0.95 < fit["r2"] <= 1.0 and fit["a_se"] > 0


def test_sqrt_fit_r2_matches_scipy_linregress_on_sqrt_p():
    p = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4])
    y = np.array([18.0, 12.0, 10.5, 5.0, 3.2, 0.4])
    fit = P000.sqrt_fit(p, y)
    lr = stats.linregress(np.sqrt(p), y)
    assert fit["a"] == pytest.approx(lr.intercept, rel=1e-6)
    assert fit["b"] == pytest.approx(-lr.slope, rel=1e-6)
    assert fit["r2"] == pytest.approx(lr.rvalue**2, rel=1e-6)


def test_sqrt_fit_refuses_bad_input():
    with pytest.raises(ValueError, match="two distinct p"):
        P000.sqrt_fit([0.0, 0.0, 0.5], [1, 2, 3])
    with pytest.raises(ValueError, match="must be >= 0"):
        P000.sqrt_fit([-0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="equal length"):
        P000.sqrt_fit([0.1, 0.2], [1])


def _frame(diff: float, noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for w in (100, 300):
        for r in range(6):
            base = rng.normal(10, 3)
            rows.append({"n_x": 500, "width": w, "repeat": r, "lc_pairs": base, "lc_units": base / 2})
            rows.append({"n_x": 250, "width": w, "repeat": r, "lc_pairs": base + diff + rng.normal(0, noise),
                         "lc_units": base / 2})
    return pd.DataFrame(rows)


def test_paired_test_pairs_networks_by_width_and_repeat():
    f = _frame(diff=3.0)
    res = P000.paired(f, "n_x", 500, 250, scale="raw")
    assert res["n"] == 12
    assert res["diff"] == pytest.approx(3.0, abs=1.0) and res["p"] < 0.01
    a = f[f.n_x == 500].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    b = f[f.n_x == 250].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    assert res["p"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    # an unpaired test would drown the effect in the between-network spread: pairing matters
    assert stats.ttest_ind(b, a).pvalue > res["p"]


def test_paired_log_scale_sees_a_ratio_that_raw_differences_drown():
    # condition b doubles the count at every hidden size; counts and their spread grow with the hidden size
    rng = np.random.default_rng(3)
    rows = []
    for w, level in ((100, 2), (300, 8), (1000, 40)):
        for r in range(3):
            base = level * rng.uniform(0.5, 1.5)
            rows += [{"c": "a", "width": w, "repeat": r, "lc_pairs": round(base)},
                     {"c": "b", "width": w, "repeat": r, "lc_pairs": round(2 * base * rng.uniform(0.8, 1.2))}]
    f = pd.DataFrame(rows)
    log = P000.paired(f, "c", "a", "b")
    raw = P000.paired(f, "c", "a", "b", scale="raw")
    assert log["scale"] == "log" and log["diff"] == raw["diff"] > 0
    a = f[f.c == "a"].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    b = f[f.c == "b"].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    assert log["p"] == pytest.approx(stats.ttest_rel(np.log1p(b), np.log1p(a)).pvalue)
    assert log["p"] < raw["p"]
    with pytest.raises(ValueError, match="scale must be"):
        P000.paired(f, "c", "a", "b", scale="sqrt")


def test_paired_test_of_identical_conditions_is_p_one():
    f = _frame(diff=0.0, noise=0.0)
    res = P000.paired(f, "n_x", 500, 250)
    assert res["diff"] == 0 and res["p"] == 1.0


def _logistic(x, centre=50.0, width=5.0):
    return 1.0 / (1.0 + np.exp(-(x - centre) / width))


def test_turning_point_of_a_logistic_is_where_its_slope_halves():
    x = np.arange(0.0, 200.0, 0.25)
    # the logistic's slope s(1-s)/w falls to half its peak (1/4w) where s(1-s) = 1/8
    s_half = (1 + np.sqrt(0.5)) / 2
    expected = 50.0 + 5.0 * np.log(s_half / (1 - s_half))
    got = P000.turning_point(x, _logistic(x), frac=0.5)
    assert abs(got - expected) <= 0.5
    # a stricter fall (a quarter of the peak) is reached later
    assert P000.turning_point(x, _logistic(x), frac=0.25) > got


def test_turning_point_is_nan_for_a_curve_still_rising_or_flat():
    x = np.arange(10.0)
    assert np.isnan(P000.turning_point(x, 3 * x + 1))
    assert np.isnan(P000.turning_point(x, np.zeros(10)))


def test_turning_point_rows_match_single_curves_and_smoothing_is_centred():
    x = np.linspace(0, 300, 61)
    curves = np.stack([_logistic(x, 60), _logistic(x, 120, 10), _logistic(x, 200, 3)]) * 40
    rows = P000.turning_point(x, curves)
    assert rows.shape == (3,)
    for r, c in zip(rows, curves, strict=True):
        assert r == P000.turning_point(x, c)
    assert rows[0] < rows[1] < rows[2]
    # a centred moving average moves the turning point by at most one checkpoint on a clean curve
    smooth = P000.turning_point(x, curves, window=3)
    assert np.all(np.abs(smooth - rows) <= (x[1] - x[0]) + 1e-9)


def test_turning_point_rejects_bad_input():
    with pytest.raises(ValueError, match="frac"):
        P000.turning_point(np.arange(5), np.arange(5), frac=1.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        P000.turning_point(np.array([0, 2, 1, 3]), np.arange(4))
    with pytest.raises(ValueError, match="one entry per column"):
        P000.turning_point(np.arange(4), np.zeros((2, 5)))


def test_first_reach_finds_the_first_crossing_per_row():
    x = np.array([10, 20, 30, 40])
    y = np.array([[0.1, 0.99, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.2, 0.3, 0.4]])
    np.testing.assert_array_equal(P000.first_reach(x, y, 0.99), [20, np.nan, np.nan])
    np.testing.assert_array_equal(P000.first_reach(x, y, 0.0, strict=True), [10, np.nan, 20])


def _two_groups(seed=0, n=120):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"dropout": np.repeat([0, 90], n), "lcs": np.r_[rng.poisson(18, n), rng.poisson(70, n)]}
    )


def test_summary_stats_match_numpy():
    f = _two_groups()
    s = P000.summary_stats(f, "dropout", "lcs")
    v = f.loc[f.dropout == 90, "lcs"].to_numpy()
    assert s.loc[90, "min"] == v.min() and s.loc[90, "max"] == v.max()
    assert s.loc[90, "sd"] == pytest.approx(v.std(ddof=1))
    assert s.loc[90, "sem"] == pytest.approx(stats.sem(v))
    assert s.loc[90, "n"] == len(v)


def test_ks_table_is_pairwise_symmetric_and_decides_at_alpha():
    f = _two_groups()
    f = pd.concat([f, f[f.dropout == 0].assign(dropout=10)], ignore_index=True)  # 10 is a copy of 0
    t = P000.ks_table(f, "dropout", "lcs").set_index(["a", "b"])
    assert len(t) == 9
    assert t.loc[(0, 10), "p"] == pytest.approx(1.0) and t.loc[(0, 10), "result"] == "Do not reject"
    assert t.loc[(0, 90), "result"] == "Reject"
    assert t.loc[(0, 90), "p"] == pytest.approx(t.loc[(90, 0), "p"])
    direct = stats.ks_2samp(f.lcs[f.dropout == 0], f.lcs[f.dropout == 90])
    assert t.loc[(0, 90), "statistic"] == pytest.approx(direct.statistic)
    only0 = P000.ks_table(f, "dropout", "lcs", refs=[0])
    assert set(only0["a"]) == {0} and len(only0) == 3
    with pytest.raises(ValueError, match="refs"):
        P000.ks_table(f, "dropout", "lcs", refs=[55])


def test_density_curves_integrate_to_one_even_for_a_constant_group():
    f = pd.concat([_two_groups(), pd.DataFrame({"dropout": [50] * 10, "lcs": [7] * 10})])
    grid = np.linspace(-20, 200, 4401)
    d = P000.density_curves(f, "dropout", "lcs", grid=grid)
    for _, g in d.groupby("group"):
        assert np.trapezoid(g.density, g.x) == pytest.approx(1.0, abs=0.02)


def test_linear_fit_recovers_a_line_and_handles_degenerate_input():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 200)
    fit = P000.linear_fit(x, 120 * x + 0.4 + rng.normal(0, 1, 200))
    assert fit["gradient"] == pytest.approx(120, rel=0.05)
    assert fit["r2"] > 0.9 and fit["p"] < 1e-10 and fit["n"] == 200
    assert np.isnan(P000.linear_fit([1, 1, 1], [1, 2, 3])["gradient"])
    assert P000.linear_fit([1, 2, 3], [5, 5, 5])["r2"] == 0.0
    by = P000.fits_by(
        pd.DataFrame(
            {"g": [0] * 50 + [1] * 50, "x": np.r_[x[:50], x[:50]], "y": np.r_[2 * x[:50], -3 * x[:50]]}
        ),
        "g",
        "x",
        "y",
    )
    np.testing.assert_allclose(by["gradient"], [2, -3])


def test_compare_groups_reports_change_and_a_rank_test():
    c = P000.compare_groups([10, 12, 11, 13, 9], [5, 6, 7, 5, 6])
    assert c["change"] == pytest.approx(5.8 / 11 - 1)
    assert c["p"] < 0.05
    assert np.isnan(P000.compare_groups([1, 1], [1, 1])["p"])


def test_contrast_table_checks_the_papers_direction():
    f = pd.DataFrame(
        {"condition": ["A"] * 5 + ["C"] * 5 + ["M"] * 3, "lcs": [10, 11, 12, 13, 14, 1, 2, 3, 2, 1, 5, 5, 5]}
    )
    t = P000.contrast_table(f, "lcs").set_index(["fewer", "more"])
    assert bool(t.loc[("C", "A"), "holds"])
    assert t.loc[("C", "A"), "p"] < 0.05
    assert t.loc[("M", "N"), "holds"] is None  # N was not run
    flipped = P000.contrast_table(f.replace({"condition": {"A": "C", "C": "A"}}), "lcs").set_index(
        ["fewer", "more"]
    )
    assert not flipped.loc[("C", "A"), "holds"]
