"""Experiments 8–11 and 13 of paper 000: statistics helpers (localcodes.analysis), smoke runs of chapters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes import analysis as A
from scipy import stats

# ------------------------------------------------------------------------------------------------------------
# turning points and first crossings


def _logistic(x, centre=50.0, width=5.0):
    return 1.0 / (1.0 + np.exp(-(x - centre) / width))


def test_turning_point_of_a_logistic_is_where_its_slope_halves():
    x = np.arange(0.0, 200.0, 0.25)
    # the logistic's slope s(1-s)/w falls to half its peak (1/4w) where s(1-s) = 1/8
    s_half = (1 + np.sqrt(0.5)) / 2
    expected = 50.0 + 5.0 * np.log(s_half / (1 - s_half))
    got = A.turning_point(x, _logistic(x), frac=0.5)
    assert abs(got - expected) <= 0.5
    # a stricter fall (a quarter of the peak) is reached later
    assert A.turning_point(x, _logistic(x), frac=0.25) > got


def test_turning_point_is_nan_for_a_curve_still_rising_or_flat():
    x = np.arange(10.0)
    assert np.isnan(A.turning_point(x, 3 * x + 1))
    assert np.isnan(A.turning_point(x, np.zeros(10)))


def test_turning_point_rows_match_single_curves_and_smoothing_is_centred():
    x = np.linspace(0, 300, 61)
    curves = np.stack([_logistic(x, 60), _logistic(x, 120, 10), _logistic(x, 200, 3)]) * 40
    rows = A.turning_point(x, curves)
    assert rows.shape == (3,)
    for r, c in zip(rows, curves, strict=True):
        assert r == A.turning_point(x, c)
    assert rows[0] < rows[1] < rows[2]
    # a centred moving average moves the turning point by at most one checkpoint on a clean curve
    smooth = A.turning_point(x, curves, window=3)
    assert np.all(np.abs(smooth - rows) <= (x[1] - x[0]) + 1e-9)


def test_turning_point_rejects_bad_input():
    with pytest.raises(ValueError, match="frac"):
        A.turning_point(np.arange(5), np.arange(5), frac=1.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        A.turning_point(np.array([0, 2, 1, 3]), np.arange(4))
    with pytest.raises(ValueError, match="one entry per column"):
        A.turning_point(np.arange(4), np.zeros((2, 5)))


def test_first_reach_finds_the_first_crossing_per_row():
    x = np.array([10, 20, 30, 40])
    y = np.array([[0.1, 0.99, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.2, 0.3, 0.4]])
    np.testing.assert_array_equal(A.first_reach(x, y, 0.99), [20, np.nan, np.nan])
    np.testing.assert_array_equal(A.first_reach(x, y, 0.0, strict=True), [10, np.nan, 20])


# ------------------------------------------------------------------------------------------------------------
# summaries, KS tests, densities, fits


def _two_groups(seed=0, n=120):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"dropout": np.repeat([0, 90], n), "lcs": np.r_[rng.poisson(18, n), rng.poisson(70, n)]}
    )


def test_summary_stats_match_numpy():
    f = _two_groups()
    s = A.summary_stats(f, "dropout", "lcs")
    v = f.loc[f.dropout == 90, "lcs"].to_numpy()
    assert s.loc[90, "min"] == v.min() and s.loc[90, "max"] == v.max()
    assert s.loc[90, "sd"] == pytest.approx(v.std(ddof=1))
    assert s.loc[90, "sem"] == pytest.approx(stats.sem(v))
    assert s.loc[90, "n"] == len(v)


def test_ks_table_is_pairwise_symmetric_and_decides_at_alpha():
    f = _two_groups()
    f = pd.concat([f, f[f.dropout == 0].assign(dropout=10)], ignore_index=True)  # 10 is a copy of 0
    t = A.ks_table(f, "dropout", "lcs").set_index(["a", "b"])
    assert len(t) == 9
    assert t.loc[(0, 10), "p"] == pytest.approx(1.0) and t.loc[(0, 10), "result"] == "Do not reject"
    assert t.loc[(0, 90), "result"] == "Reject"
    assert t.loc[(0, 90), "p"] == pytest.approx(t.loc[(90, 0), "p"])
    direct = stats.ks_2samp(f.lcs[f.dropout == 0], f.lcs[f.dropout == 90])
    assert t.loc[(0, 90), "statistic"] == pytest.approx(direct.statistic)
    only0 = A.ks_table(f, "dropout", "lcs", refs=[0])
    assert set(only0["a"]) == {0} and len(only0) == 3
    with pytest.raises(ValueError, match="refs"):
        A.ks_table(f, "dropout", "lcs", refs=[55])


def test_density_curves_integrate_to_one_even_for_a_constant_group():
    f = pd.concat([_two_groups(), pd.DataFrame({"dropout": [50] * 10, "lcs": [7] * 10})])
    grid = np.linspace(-20, 200, 4401)
    d = A.density_curves(f, "dropout", "lcs", grid=grid)
    for _, g in d.groupby("group"):
        assert np.trapezoid(g.density, g.x) == pytest.approx(1.0, abs=0.02)


def test_linear_fit_recovers_a_line_and_handles_degenerate_input():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 200)
    fit = A.linear_fit(x, 120 * x + 0.4 + rng.normal(0, 1, 200))
    assert fit["gradient"] == pytest.approx(120, rel=0.05)
    assert fit["r2"] > 0.9 and fit["p"] < 1e-10 and fit["n"] == 200
    assert np.isnan(A.linear_fit([1, 1, 1], [1, 2, 3])["gradient"])
    assert A.linear_fit([1, 2, 3], [5, 5, 5])["r2"] == 0.0
    by = A.fits_by(
        pd.DataFrame(
            {"g": [0] * 50 + [1] * 50, "x": np.r_[x[:50], x[:50]], "y": np.r_[2 * x[:50], -3 * x[:50]]}
        ),
        "g",
        "x",
        "y",
    )
    np.testing.assert_allclose(by["gradient"], [2, -3])


def test_compare_groups_reports_change_and_a_rank_test():
    c = A.compare_groups([10, 12, 11, 13, 9], [5, 6, 7, 5, 6])
    assert c["change"] == pytest.approx(5.8 / 11 - 1)
    assert c["p"] < 0.05
    assert np.isnan(A.compare_groups([1, 1], [1, 1])["p"])


# ------------------------------------------------------------------------------------------------------------
# the transcribed paper numbers are self-consistent


def test_paper_ks_tables_are_symmetric_where_they_overlap_and_decided_at_5_percent():
    p = A.KS_PAPER.set_index(["a", "b"])["p"]
    for (a, b), value in p.items():
        if (b, a) in p.index:
            assert value == pytest.approx(p[(b, a)]), (a, b)
        if a == b:
            assert value == 1.0


def test_paper_table2_means_lie_between_min_and_max():
    t = A.TABLE2
    assert ((t.loc["min"] <= t.loc["mean"]) & (t.loc["mean"] <= t.loc["max"])).all()


def test_table1_has_conditions_a_to_s():
    assert list(A.TABLE1.index) == [chr(c) for c in range(ord("A"), ord("S") + 1)]
    assert set(A.TABLE1["stopping"]) == {"steps", "val_loss", "train_acc"}


def test_table1_settings_follow_the_table():
    s = A.table1_settings("D", n_x_small=100, n_x_large=1000, lr_sigmoid=2.0, lr_relu=0.1)
    assert s == {
        "activation": "sigmoid",
        "softmax": True,
        "dropout": 0.2,
        "n_per_class": 10,
        "stop": "val_loss",
        "lr": 2.0,
    }
    m = A.table1_settings("M", n_x_small=100, n_x_large=1000, lr_sigmoid=2.0, lr_relu=0.1)
    assert (m["activation"], m["n_per_class"], m["stop"], m["lr"], m["dropout"]) == (
        "relu",
        100,
        "budget",
        0.1,
        0,
    )
    assert A.table1_settings("L")["stop"] == "train_acc"
    with pytest.raises(ValueError, match="condition must be one of"):
        A.table1_settings("Z")
    with pytest.raises(ValueError, match="n_x_small"):
        A.table1_settings("A", n_x_small=15)


def test_contrast_table_checks_the_papers_direction():
    f = pd.DataFrame(
        {"condition": ["A"] * 5 + ["C"] * 5 + ["M"] * 3, "lcs": [10, 11, 12, 13, 14, 1, 2, 3, 2, 1, 5, 5, 5]}
    )
    t = A.contrast_table(f, "lcs").set_index(["fewer", "more"])
    assert bool(t.loc[("C", "A"), "holds"])
    assert t.loc[("C", "A"), "p"] < 0.05
    assert t.loc[("M", "N"), "holds"] is None  # N was not run
    flipped = A.contrast_table(f.replace({"condition": {"A": "C", "C": "A"}}), "lcs").set_index(
        ["fewer", "more"]
    )
    assert not flipped.loc[("C", "A"), "holds"]


# ------------------------------------------------------------------------------------------------------------
# verdicts of the findings chapter


def test_verdicts_follow_their_rules():
    rng = np.random.default_rng(0)
    drop = pd.DataFrame(
        {"dropout %": np.repeat([0, 90], 30), "lc_pairs": np.r_[rng.poisson(2, 30), rng.poisson(40, 30)]}
    )
    assert A.verdict_dropout(drop)[0] == A.REPRODUCED
    assert A.verdict_dropout(drop.assign(lc_pairs=drop["lc_pairs"][::-1].to_numpy()))[0] == A.NOT
    assert A.verdict_dropout(None)[0] == A.NOT_RUN
    comp = pd.DataFrame(
        {"n_hidden": [250, 500], "control": [4.0, 10.0], "shuffled": [2.0, 1.0], "p": [0.2, 0.03]}
    )
    assert A.verdict_memorisation(comp)[0] == A.REPRODUCED
    assert A.verdict_memorisation(comp.assign(p=[0.2, 0.3]))[0] == A.PARTLY
    assert A.verdict_memorisation(comp.assign(shuffled=[5.0, 12.0]))[0] == A.NOT
    tests = pd.DataFrame({"n_hidden": [100, 100, 1000, 1000], "difference": [-1.0, -2.0, 1.0, 3.0]})
    assert A.verdict_noise(tests)[0] == A.REPRODUCED
    assert A.verdict_noise(tests.assign(difference=[-3.0, -2.0, -1.0, 0.0]))[0] == A.PARTLY
    assert A.verdict_noise(tests.assign(difference=[3.0, 2.0, -1.0, 0.0]))[0] == A.NOT
    turning = pd.DataFrame(
        {"turning_point": [100.0, 110.0, np.nan], "train_acc_99": [90.0, 100.0, 80.0], "epochs": [225.0] * 3}
    )
    assert A.verdict_stopping(turning)[0] == A.REPRODUCED
    assert A.verdict_stopping(turning, tolerance=0.01)[0] == A.PARTLY
    fits = pd.DataFrame(
        {
            "accuracy": ["classification"] * 2,
            "n_hidden": [250, 500],
            "gradient": [30.0, -5.0],
            "r2": [0.4, 0.1],
            "p": [0.001, 0.2],
        }
    )
    assert A.verdict_generalisation(fits)[0] == A.REPRODUCED
    assert A.verdict_generalisation(fits.assign(p=[0.5, 0.5]))[0] == A.NOT


def test_combined_verdicts():
    assert A.combine_verdicts([A.REPRODUCED, A.NOT_RUN]) == A.REPRODUCED
    assert A.combine_verdicts([A.REPRODUCED, A.NOT]) == A.PARTLY
    assert A.combine_verdicts([A.NOT, A.NOT]) == A.NOT
    assert A.combine_verdicts([A.NOT_RUN]) == A.NOT_RUN


def test_findings_table_reads_stored_results_and_says_not_run_when_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    from localcodes.store import results_dir, write_parquet

    ev, per = A.findings_table("smoke")
    assert (ev["verdict"] == A.NOT_RUN).all() and (per["verdict"] == A.NOT_RUN).all()
    comp = pd.DataFrame({"n_hidden": [250], "control": [4.0], "shuffled": [1.0], "p": [0.01]})
    write_parquet(results_dir("smoke", "21_memorisation") / "compare.parquet", comp)
    ev, per = A.findings_table("smoke")
    assert per.set_index("finding").loc[2, "verdict"] == A.REPRODUCED
    assert per.set_index("finding").loc[4, "verdict"] == A.NOT_RUN
    page = A.evidence_html(ev)
    assert page.count("<tr") == len(ev) + 1  # header + one row per piece of evidence
    assert '<a href="21_memorisation.html">21_memorisation</a>' in page
    assert "<code>holds</code>" in page or "verdict_memorisation" in page
    odd = ev.head(1).assign(detail="a < b & `x`")
    assert "a &lt; b &amp; <code>x</code>" in A.evidence_html(odd, link_suffix=None)
    with pytest.raises(ValueError):
        A.evidence_html(ev.drop(columns=["detail"]))


# ------------------------------------------------------------------------------------------------------------
# a sweep's network trained again is the same network


def test_retrain_gives_the_sweeps_network(tmp_path):
    from localcodes import train

    base = {**A.training("book", epochs=4), "hidden": [8], "n_per_class": 4, "seed": 3}
    hist = train.sweep({"dropout": [0.0, 0.5]}, repeats=2, store=tmp_path / "s", base=base, progress=False)
    final = A.final_rows(hist).sort_values(["dropout", "repeat"]).reset_index(drop=True)
    res, data = A.retrain(
        [{**base, "dropout": float(d)} for d in final["dropout"]], [int(s) for s in final["data_seed"]]
    )
    for col in ("train_loss", "train_acc", "lc_pairs"):
        np.testing.assert_allclose(res.final[col].to_numpy(), final[col].to_numpy(), rtol=1e-5)
    acts, labels, which = A.plot_activations(res, data, 0)
    assert acts.shape[0] == len(labels) and acts.shape[1] == 8 and which
    # the cached views: computed once, then read back identical
    params = [{**base, "dropout": float(d)} for d in final["dropout"]]
    seeds = [int(s) for s in final["data_seed"]]
    first = A.network_views(tmp_path / "views.npz", params, seeds)
    assert (tmp_path / "views.npz").exists()
    again = A.network_views(tmp_path / "views.npz", params, seeds)
    for a, b, lc in zip(first, again, final["lc_pairs"], strict=True):
        np.testing.assert_array_equal(a["acts"], b["acts"])
        np.testing.assert_array_equal(a["labels"], b["labels"])
        assert a["lc_pairs"] == b["lc_pairs"] == lc
    np.testing.assert_array_equal(first[0]["acts"], acts)


def test_jitter_units_lists_local_code_units_first():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    acts = rng.uniform(0, 1, (60, 6))
    acts[labels == 2, 4] += 5  # unit 4: an on-code for class 2
    units, names = A.jitter_units(acts, labels, n_other=2)
    assert units[0] == 4 and "on-code: class 2" in names[4]
    assert len(units) == 3 and all("no local code" in names[u] for u in units[1:])
    # the names reach charts.jitterplot's dropdown in the order of `units`, each with its own unit
    from localcodes import charts

    _, shown, _ = charts.jitter_data(acts, labels, units=units, unit_names=names)
    assert shown == [names[u] for u in units]
