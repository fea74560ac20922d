"""Chapters of paper 000's experiments 1–7 and 12: their statistics and helpers (fast), and each chapter executed
at the smoke scale (slow)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from localcodes import data, paper000

CHAPTERS = [
    "10_hidden_size_and_data",
    "11_random_sparseness",
    "12_input_length",
    "13_relu_vs_sigmoid",
    "14_output_code",
    "15_perturbed_prototypes",
    "20_mnist_invariants",
]


# --- the a − b√P fit ---------------------------------------------------------------------------------------------

def test_sqrt_fit_recovers_known_parameters_and_ignores_points_beyond_p_max():
    p = np.repeat([0.0, 0.1, 0.2, 0.3, 0.4], 4)
    rng = np.random.default_rng(0)
    y = 20.62 - 30.65 * np.sqrt(p) + rng.normal(0, 0.3, p.size)
    p_all = np.concatenate([p, [0.5, 0.6]])
    y_all = np.concatenate([y, [100.0, 100.0]])  # wild points beyond P = 0.4 must not be fitted
    fit = paper000.sqrt_fit(p_all, y_all, p_max=0.4)
    assert fit["n"] == p.size
    assert fit["a"] == pytest.approx(20.62, abs=0.5) and fit["b"] == pytest.approx(30.65, abs=1.5)
    assert 0.95 < fit["r2"] <= 1.0 and fit["a_se"] > 0


def test_sqrt_fit_r2_matches_scipy_linregress_on_sqrt_p():
    from scipy import stats

    p = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4])
    y = np.array([18.0, 12.0, 10.5, 5.0, 3.2, 0.4])
    fit = paper000.sqrt_fit(p, y)
    lr = stats.linregress(np.sqrt(p), y)
    assert fit["a"] == pytest.approx(lr.intercept, rel=1e-6)
    assert fit["b"] == pytest.approx(-lr.slope, rel=1e-6)
    assert fit["r2"] == pytest.approx(lr.rvalue**2, rel=1e-6)


def test_sqrt_fit_refuses_bad_input():
    with pytest.raises(ValueError, match="two distinct p"):
        paper000.sqrt_fit([0.0, 0.0, 0.5], [1, 2, 3])
    with pytest.raises(ValueError, match="must be >= 0"):
        paper000.sqrt_fit([-0.1, 0.2], [1, 2])
    with pytest.raises(ValueError, match="equal length"):
        paper000.sqrt_fit([0.1, 0.2], [1])


# --- paired comparisons, summaries -------------------------------------------------------------------------------

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
    from scipy import stats

    f = _frame(diff=3.0)
    res = paper000.paired(f, "n_x", 500, 250, scale="raw")
    assert res["n"] == 12
    assert res["diff"] == pytest.approx(3.0, abs=1.0) and res["p"] < 0.01
    a = f[f.n_x == 500].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    b = f[f.n_x == 250].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    assert res["p"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    # an unpaired test would drown the effect in the between-network spread: pairing matters
    assert stats.ttest_ind(b, a).pvalue > res["p"]


def test_paired_log_scale_sees_a_ratio_that_raw_differences_drown():
    from scipy import stats

    # condition b doubles the count at every hidden size; counts and their spread grow with the hidden size
    rng = np.random.default_rng(3)
    rows = []
    for w, level in ((100, 2), (300, 8), (1000, 40)):
        for r in range(3):
            base = level * rng.uniform(0.5, 1.5)
            rows += [{"c": "a", "width": w, "repeat": r, "lc_pairs": round(base)},
                     {"c": "b", "width": w, "repeat": r, "lc_pairs": round(2 * base * rng.uniform(0.8, 1.2))}]
    f = pd.DataFrame(rows)
    log = paper000.paired(f, "c", "a", "b")
    raw = paper000.paired(f, "c", "a", "b", scale="raw")
    assert log["scale"] == "log" and log["diff"] == raw["diff"] > 0
    a = f[f.c == "a"].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    b = f[f.c == "b"].sort_values(["width", "repeat"])["lc_pairs"].to_numpy()
    assert log["p"] == pytest.approx(stats.ttest_rel(np.log1p(b), np.log1p(a)).pvalue)
    assert log["p"] < raw["p"]
    with pytest.raises(ValueError, match="scale must be"):
        paper000.paired(f, "c", "a", "b", scale="sqrt")


def test_paired_test_of_identical_conditions_is_p_one():
    f = _frame(diff=0.0, noise=0.0)
    res = paper000.paired(f, "n_x", 500, 250)
    assert res["diff"] == 0 and res["p"] == 1.0


def test_summarise_and_peak_width():
    f = _frame(diff=0.0)
    f.loc[f.width == 300, "lc_pairs"] += 50
    f["lc_share"] = f["lc_units"] / f["width"]
    f["train_acc"] = 1.0
    s = paper000.summarise(f, ["n_x", "width"])
    assert set(s["measure"]) == {"lc_pairs", "lc_units", "lc_share"}
    row = s[(s.measure == "lc_pairs") & (s.n_x == 500) & (s.width == 100)].iloc[0]
    vals = f[(f.n_x == 500) & (f.width == 100)]["lc_pairs"]
    assert row["mean"] == pytest.approx(vals.mean()) and row["count"] == 6
    assert row["sem"] == pytest.approx(vals.std(ddof=1) / np.sqrt(6))
    assert paper000.peak_width(s, "lc_pairs", by="n_x").to_dict() == {250: 300, 500: 300}


def test_table9_parses_the_papers_values():
    t = paper000.table9_long()
    assert len(t) == 36
    row = t[(t.condition == "all images") & (t["mode"] == "fixed") & (t.n_hidden == 100)].iloc[0]
    assert (row["mean"], row["sem"]) == (1.5, 0.32)
    assert (t[t["mode"] == "gaussian"]["mean"] == 0).all()
    assert list(paper000.TABLE10.index) == list(data.HOT_PIXEL_CONDITIONS)


# --- sweeps, stored results ------------------------------------------------------------------------------------

def test_code_sweep_refuses_unknown_changes_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match=r"changes may only set .*got \['dropout'\]"):
        paper000.code_sweep("smoke", [{"dropout": 0.5}], [10], 1, {"epochs": 1})
    with pytest.raises(ValueError, match="widths must list"):
        paper000.code_sweep("smoke", [{}], [], 1, {"epochs": 1})


def test_code_sweep_shares_standard_networks_between_chapters(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    training = {"optimizer": "sgd", "lr": 2.0, "batch_size": 32, "epochs": 2, "seed": 0}
    first = paper000.code_sweep("smoke", [{}], [8], 2, training)
    parts = paper000.store("smoke").parts()
    # another chapter asks for the standard code spelled differently plus a new condition: only the new one trains
    second = paper000.code_sweep("smoke", [{"random_weight": 1 / 3}, {"random_weight": 1 / 9}], [8], 2, training)
    new_parts = [p for p in paper000.store("smoke").parts() if p not in parts]
    assert len(new_parts) == 1
    std = second[np.isclose(second["random_weight"], 1 / 3)].sort_values("repeat")
    np.testing.assert_array_equal(std["lc_pairs"].to_numpy(), first.sort_values("repeat")["lc_pairs"].to_numpy())
    assert (second["lc_share"] == second["lc_units"] / 8).all()
    stored = paper000.stored_final("smoke", [{"random_weight": 1 / 9}])
    assert len(stored) == 2 and np.allclose(stored["random_weight"], 1 / 9)


def test_save_and_load_chapter_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    summary = pd.DataFrame({"width": [10, 20], "mean": [1.0, 2.0]})
    checks = [{"finding": 6, "key": "k", "claim": "c", "paper": "p", "ours": "o", "holds": np.bool_(True),
               "direction": True, "diff": np.float64(1.5), "p": 0.01},
              {"finding": None, "key": "q", "claim": "c2", "paper": "p2", "ours": "o2", "holds": None},
              {"finding": 1, "key": "r", "claim": "c3", "paper": "p3", "ours": "o3", "holds": False,
               "direction": True},
              {"finding": 1, "key": "s", "claim": "c4", "paper": "p4", "ours": "o4", "holds": False,
               "direction": True, "p": 0.2},
              {"finding": 1, "key": "t", "claim": "c5", "paper": "p5", "ours": "o5", "holds": False,
               "direction": False, "p": 0.01}]
    folder = paper000.save_chapter("smoke", "99_test", summary, checks, extra=1)
    s, c = paper000.load_chapter("smoke", "99_test")
    pd.testing.assert_frame_equal(s, summary)
    assert c[0]["holds"] is True and c[1]["holds"] is None
    table = pd.read_parquet(folder / "checks.parquet")
    assert table["finding"].tolist()[0] == 6 and pd.isna(table["finding"].tolist()[1])
    assert table["direction"].tolist()[2] is True and pd.isna(table["direction"].tolist()[1])
    assert json.loads((folder / "checks.json").read_text())["extra"] == 1
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["chapter"] == "99_test" and prov["scale"] == "smoke" and prov["extra"] == 1
    assert {"git_commit", "device", "date", "torch"} <= set(prov)
    assert paper000.verdict_table(c)["verdict at this scale"].tolist() == [
        "reproduced", "cannot be judged", "partly (same direction)", "same direction, not significant",
        "not reproduced"]
    assert paper000.verdict_lines(c).count("\n* ") == 4


def test_jitter_units_lists_local_code_units_first():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    acts = rng.normal(0, 1, (120, 6))
    acts[:, 4] += 10 * (labels == 2)  # an on-code for class 2, wide gap
    acts[:, 1] -= 5 * (labels == 0)  # an off-code for class 0
    units, names = paper000.jitter_units(acts, labels, n_contrast=2)
    assert units[:2] == [4, 1]
    assert "on code, class 2" in names[0] and "off code, class 0" in names[1]
    assert len(units) == 4 and all("no local code" in n for n in names[2:])


# --- experiment 12 data ----------------------------------------------------------------------------------------

def test_digit_conditions_run_standard_once():
    conds = paper000.digit_conditions(["standard", "all images"], ["fixed", "gaussian"])
    assert conds == [{"invariant": "standard", "mode": "fixed"}, {"invariant": "all images", "mode": "fixed"},
                     {"invariant": "all images", "mode": "gaussian"}]
    with pytest.raises(ValueError, match="conditions must be among"):
        paper000.digit_conditions(["3 categories"], ["fixed"])
    with pytest.raises(ValueError, match="modes must be"):
        paper000.digit_conditions(["standard"], [])


def test_digits_data_adds_the_invariant_and_centres_on_the_mean_image(monkeypatch):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 12)
    images = np.zeros((120, 28, 28), np.uint8)
    images[:, 5:-5, 5:-5] = rng.integers(0, 255, (120, 18, 18))
    fake = data.Digits(images, labels, "fixture digits", "test fixture")
    monkeypatch.setattr(paper000, "_digits", lambda split, source: fake)
    d = paper000.digits_data("2 categories", "fixed", n_per_class=5, seed=1)
    assert d.X.shape == (50, 784) and d.targets.shape == (10, 10)
    assert d.info["data"] == "fixture digits" and d.info["coded_share"] == pytest.approx(0.2)
    np.testing.assert_allclose(d.X.mean(0), 0, atol=1e-6)
    pos = data.hot_pixel_positions((28, 28))
    # class 0 is coded: its block is on (above the mean) in every image; class 5 is not coded
    assert (d.X[d.y == 0][:, pos[0]] > 0).all()
    assert np.allclose(d.X[:, pos[5]], 0)
    # more images than the smallest class holds: the subset shrinks instead of failing
    assert paper000.digits_data("standard", n_per_class=50).info["n_per_class"] == 12
