"""The AlexNet chapter's tables, from a small recorded table of a tiny AlexNet-architecture network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import nets, store
from localcodes.experiments import alexnet as X
from localcodes.selectivity import PAPER001_TABLE_A2
from localcodes.selectivity.tables import measure_table, read_table, read_units, record
from localcodes.synthetic import A4_EXPECTED

LAYERS = ["conv5", "fc6", "fc7", "fc8", "prob"]


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    """What ``alexnet_tables`` returns, for 200 random images of 4 classes (all kept) and k = 10 and 5."""
    torch.manual_seed(0)
    model = nets.AlexNet(num_classes=4, in_channels=1, width=0.125, pool_size=1).eval()
    n = 200
    images = nets.ImageData(torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8), torch.arange(n) % 4,
                            torch.arange(n), 64, 0.5, 0.25, "random", "test", "train", ["a", "b", "c", "d"])
    path = record(model, LAYERS, images, tmp_path_factory.mktemp("alexnet") / "t.h5", batch_size=50,
                  correct_only=False, progress=False)
    tables = {k: {name: t for name, (t, _) in measure_table(path, k=k, progress=False).items()} for k in (10, 5)}
    codes = {name: c for name, (_, c) in measure_table(path, k=10, progress=False).items()}
    info = {"dataset": "random", "source": "test", "input_size": 64, "train_time_s": 1.0, "test_accuracy": 0.25,
            "n_test": 100}
    return {"path": path, "meta": read_table(path), "info": info, "class_names": images.class_names,
            "tables": tables, "codes": codes, "labels": images.labels.numpy()}


def test_network_summary_and_layer_tables(chapter):
    table, note = X.network_summary(chapter, "train", real=False)
    assert table.loc["classes", ""] == 4 and "200 (train)" in table.loc["recorded images", ""]
    assert "**200** images of **4** classes (about 50 per class)" in note
    T = chapter["tables"][10]
    long = X.measures_long(T, LAYERS)
    assert set(long["measure"]) == set(X.MEASURES) and long["value"].notna().all()
    paper = X.paper_means_long(["fc8"]).set_index("col")["value"]
    assert paper["precision"] == pytest.approx(PAPER001_TABLE_A2.loc["fc8", "precision"] / 100)
    a2, caption = X.table_a2(T, chapter["labels"], LAYERS)
    assert list(a2.index) == LAYERS and ("ccmas", "paper 001") in a2.columns and "dead units" in caption
    t1 = X.table_1(T, LAYERS)
    assert ("TCS > 5%", "ours") in t1.columns
    by_k = X.precision_by_k(chapter["tables"], LAYERS, (10, 5))
    assert list(by_k.columns) == ["precision@10 (%)", "precision@5 (%)"]
    lc = X.local_code_counts(chapter["codes"], chapter["meta"]["units"], LAYERS)
    assert (lc["on codes"] + lc["off codes"]).sum() == sum(len(chapter["codes"][n]) for n in LAYERS)
    assert X.ccmas_summary(T, LAYERS).shape == (5, 4) and X.agreement(T, 4)["chance"].eq(25.0).all()
    cc = X.ccmas_pairs(T, LAYERS)
    assert {"unit", "ccmas", "ccmas2", "layer"} <= set(cc.columns) and cc[["ccmas", "ccmas2"]].notna().all().all()


def test_extreme_units_come_with_names_and_activations(chapter):
    T = chapter["tables"][10]
    ext = X.named_extreme_units(T, chapter["labels"], chapter["class_names"])
    assert set(ext["top_class"]) <= set(chapter["class_names"]) and set(X.EXTREME_COLUMNS) <= set(ext.columns)
    acts, names, rows = X.extreme_unit_activations(chapter["path"], T, ext, LAYERS)
    assert acts.shape == (200, len(names)) == (200, len(rows))
    first = ext[ext["layer"] == "conv5"]["unit"].iloc[0]
    np.testing.assert_array_equal(acts[:, 0], read_units(chapter["path"], "conv5", [first])[0][:, 0])


def test_high_precision_unit_fits_and_discussion(chapter):
    T = chapter["tables"][10]
    u = X.high_precision_unit(chapter, T, LAYERS)
    assert u["layer"] == "fc6" and u["row"]["precision"] == T["fc6"]["precision"].max()
    assert u["acts"].shape == (200,) and u["in_class"].sum() == 50
    assert f"**fc6.{u['unit']}**: precision@10" in X.high_precision_text(u, chapter["class_names"], 10)
    fits, fitted = X.nonzero_fits(u, chapter["class_names"])
    assert list(fitted) == list(fits.index.get_level_values(0).unique())
    bullets = X.discussion(chapter, T, LAYERS, u, fits)
    assert len(bullets) == 7 and bullets[1].startswith("**Local codes.**")


def test_synthetic_a4_beside_the_paper():
    a4 = X.synthetic_a4(0)
    ours = a4["comparison"]["ours"]
    assert np.allclose(ours.to_numpy(), A4_EXPECTED.to_numpy(), atol=0.02)
    assert a4["acts"].shape[0] == len(a4["labels"]) == 1000 and len(a4["names"]) == a4["acts"].shape[1]


def test_paper_scale_means_only_when_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert X.paper_scale_means() is None
    t = pd.DataFrame({"ccmas": [0.5, 0.7], "ccmas_minmax": [0.5, 0.6], "precision": [0.2, 0.4],
                      "top_class_selectivity": [0.0, 0.1]}, index=pd.Index([0, 1], name="unit"))
    store.write_parquet(store.results_dir("paper", X.CHAPTER) / "units_abc_k100.parquet",
                        pd.concat({"fc6": t}, names=["layer", "unit"]))
    name, means = X.paper_scale_means()
    assert name == "units_abc_k100.parquet" and means.loc["fc6", "ccmas"] == pytest.approx(0.6)


# --- paper 001's regime: reported numbers, the dead-unit rule, class counts, checks ----------------------------

def test_reported_tables_have_the_papers_shape():
    from localcodes.experiments.paper001 import reported as R

    assert R.TABLE_A1.shape == (17, 8) and set(R.TABLE_A1["criterion"]) == {
        "top CCMAS", "top precision", "top class selectivity", "example"}
    assert R.table_a1().loc[3, "name"] == "fc6.582"
    rep = R.reported()
    sizes = rep.groupby("source").size()
    assert sizes["Table 1"] == 30 and sizes["Table A2"] == 25 and sizes["Table A1"] == 17 * 5
    assert list(R.UNITS.index) == ["conv5", "fc6", "fc7", "fc8", "prob"] and R.UNITS["analysed"].sum() == 7075
    a2 = rep[(rep["source"] == "Table A2") & (rep["quantity"] == "mean top_class_selectivity")]
    assert a2.set_index("layer").loc["fc6", "value"] == pytest.approx(0.19)
    assert rep["value"].notna().all() and {"source", "quantity", "layer", "value", "unit"} == set(rep.columns)


def test_dead_rule_and_layer_summary():
    t = pd.DataFrame({"top_class": [0, 1, 0], "top_class_selectivity": [0.5, 0.0, 0.1], "precision_class": [0, 1, 0],
                      "precision": [0.8, 0.5, 0.4], "ccmas_class": [0, 1, 1], "ccmas": [0.9, np.nan, 0.3],
                      "ccmas2_class": [1, 0, 0], "ccmas2": [0.2, np.nan, 0.1], "ccmas_minmax": [0.9, np.nan, 0.3]},
                     index=pd.Index([0, 1, 2], name="unit"))
    d = X._dead_rule(t, np.array([False, True, False]))
    assert d.loc[1, ["top_class_selectivity", "precision", "ccmas"]].isna().all() and d.loc[1, "top_class"] == 1
    labels = np.array([0, 0, 0, 1])  # the largest class holds 3 of 4 images: a dead unit's tied precision is 75%
    s = X.layer_summary({"fc6": d}, labels, ["fc6"]).loc["fc6"]
    assert (s["units"], s["dead units"], s["live units"]) == (3, 1, 2)
    assert s["TCS % (live)"] == pytest.approx(30.0) and s["TCS % (all)"] == pytest.approx(20.0)
    assert s["precision % (live)"] == pytest.approx(60.0) and s["precision % (all)"] == pytest.approx(65.0)
    assert s["CCMAS (live)"] == pytest.approx(0.6) and s["CCMAS (all)"] == pytest.approx(0.4)
    assert s["paper 001: units analysed"] == "2,738 of 4,096"
    assert X.table_1({"fc6": d}, ["fc6"]).loc["fc6", ("precision > 50%", "ours")] == pytest.approx(50.0)


def test_class_subsampling_on_synthetic_units():
    from localcodes.experiments.paper001 import classes as K

    frame = K.synthetic_by_class_count([10, 30, 100], n_units=60, n_per_class=100, seed=1)
    means = K.class_count_means(frame).set_index(["layer", "n_classes", "measure"])["mean"]
    for n in (10, 30, 100):  # a grandmother unit keeps top-class selectivity 1 at every number of classes
        assert means[("grandmother unit (synthetic)", n, "top_class_selectivity")] == 1.0
        assert means[("grandmother unit (synthetic)", n, "precision")] == 1.0
    tcs = [means[("random units (synthetic)", n, "top_class_selectivity")] for n in (10, 30, 100)]
    prec = [means[("random units (synthetic)", n, "precision")] for n in (10, 30, 100)]
    assert tcs[0] > tcs[1] > tcs[2] and prec[0] > prec[2]  # more classes: lower TCS and precision
    # draws: several subsets below the full set, one at it; a unit constant on a subset is dead there (NaN)
    acts = np.column_stack([np.repeat([1.0, 0, 0, 0, 0], 20), np.arange(100.0)])
    y = np.repeat(np.arange(5), 20)
    f = K.by_class_count(acts, y, [3, 5], draws=4, k=10, seed=0)
    assert f.groupby("n_classes")["draw"].nunique().to_dict() == {3: 4, 5: 1}
    unit0 = f[f["unit"] == 0]
    assert unit0[unit0["n_classes"] == 5]["top_class_selectivity"].eq(1.0).all()
    # unit 0 is on for class 0 only: dead (every measure NaN) in a subset without class 0, local with it
    live = unit0["ccmas"].notna()
    assert unit0.loc[live, "top_class_selectivity"].eq(1.0).all()
    assert unit0.loc[~live, ["top_class_selectivity", "precision"]].isna().all().all()
    with pytest.raises(ValueError, match="more classes"):
        K.by_class_count(acts, y, [6])
    with pytest.raises(ValueError, match=">= 3"):
        K.by_class_count(acts, y, [2])


def test_chapter_tables_checks_and_class_counts(chapter, tmp_path, monkeypatch):
    from localcodes import verdicts
    from localcodes.experiments.paper001 import checks as C

    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    T = {n: X._dead_rule(t, np.zeros(len(t), bool)) for n, t in chapter["tables"][10].items()}
    data = {**chapter, "tables": {10: T}}
    fits = X.high_precision_fits(data, T, "fc6", 5)
    assert len(fits) == 5 and {"zero_share", "aic_exponential", "aic_normal_class"} <= set(fits.columns)
    assert fits["zero_share"].between(0, 1).all()
    checks = C.layer_checks(T, LAYERS) + C.unit_checks(T, chapter["codes"], LAYERS, fits)
    keys = [c["key"] for c in checks]
    assert len(keys) == len(set(keys)) >= 30
    assert all(c["outcome"] in verdicts.OUTCOMES for c in checks)
    table = C.verdict_table(checks)
    assert list(table.columns)[:3] == ["claim (paper 001)", "paper", "ours"] and len(table) == len(checks)
    assert "claims judged" in C.verdict_lines(checks)
    folder = C.save_checks("smoke", X.CHAPTER, checks, X.layer_summary(T, chapter["labels"], LAYERS), dataset="x")
    stored = pd.read_parquet(folder / "checks.parquet")
    assert stored["outcome"].isin(verdicts.OUTCOMES).all() and len(stored) == len(checks)
    assert "layer" in pd.read_parquet(folder / "summary.parquet").columns
    counts = X.class_count_table(data, ["fc6", "fc8"], [3, 4, 10], draws=2, units_per_layer=8, k=10)
    assert sorted(counts["n_classes"].unique()) == [3, 4]  # 10 is more than the table's 4 classes
    assert set(counts["layer"]) == {"fc6", "fc8"} and counts.groupby("layer")["unit"].nunique().max() <= 8
    again = X.class_count_table(data, ["fc6", "fc8"], [3, 4], draws=2, units_per_layer=8, k=10)
    pd.testing.assert_frame_equal(counts, again)  # the cache
    means, paper = X.class_count_summary(counts, counts.assign(layer="synthetic"), LAYERS)
    assert set(paper["n_classes"]) == {1000} and set(means["series"]) == {"fc6", "fc8", "synthetic"}


def test_detector_checks_follow_the_units_detector_measures():
    from localcodes.experiments.paper001 import checks as C

    rng = np.random.default_rng(0)

    def layer(recall: float) -> pd.DataFrame:
        n = 40
        return pd.DataFrame({"precision": np.full(n, 0.9), "top_class_selectivity": np.full(n, 0.05),
                             "ccmas": np.full(n, 0.5), "dead": False,
                             "max_informedness": np.clip(recall + rng.normal(0, 0.02, n), 0, 1),
                             "recall_at_precision_95": np.clip(recall + rng.normal(0, 0.02, n), 0, 1)})

    poor = C.detector_checks({n: layer(0.1) for n in C.HIDDEN}, list(C.HIDDEN))
    assert [c["outcome"] for c in poor] == ["reproduced", "reproduced"]
    good = C.detector_checks({n: layer(0.9) for n in C.HIDDEN}, list(C.HIDDEN))
    assert [c["outcome"] for c in good] == ["contradicted", "contradicted"]
    assert C.detector_checks({n: layer(0.1).drop(columns="max_informedness") for n in C.HIDDEN}, C.HIDDEN) == []


def test_no_local_codes_needs_enough_units_to_say_so():
    from localcodes.experiments.paper001 import checks as C

    def tables(n):
        t = pd.DataFrame({"precision": 0.3, "top_class_selectivity": 0.01, "ccmas": 0.5, "ccmas2": 0.2,
                          "dead": False}, index=pd.RangeIndex(n, name="unit"))
        return {"fc6": t}, {"fc6": pd.DataFrame({"unit": pd.Series([], dtype=int)})}

    few = {c["key"]: c for c in C.unit_checks(*tables(50), ["fc6"])}
    many = {c["key"]: c for c in C.unit_checks(*tables(1000), ["fc6"])}
    assert few["no_local_codes_hidden"]["outcome"] == "inconclusive"  # 0 of 50 does not show a share below 1 %
    assert many["no_local_codes_hidden"]["outcome"] == "reproduced"
    assert "binomial" in many["no_local_codes_hidden"]["test"]


def test_ccmas_pooling_shows_the_other_classes_mean_sets_fc8s_ccmas(chapter, tmp_path):
    t = X.ccmas_pooling(chapter["path"], "fc8")
    assert list(t.index) == ["pooled over classes", "pooled over images", "paper 001 (Table A2)"]
    assert t.loc["paper 001 (Table A2)", "median μ_rest / μ_c"] == pytest.approx(0.004 / 1.996)
    # the ratio is read off CCMAS itself: (1 - r) / (1 + r) is monotone, so it maps the medians onto each other
    # (exactly for an odd number of units; an even one averages the middle two)
    for row in ("pooled over classes", "pooled over images"):
        r = t.loc[row, "median μ_rest / μ_c"]
        assert (1 - r) / (1 + r) == pytest.approx(t.loc[row, "median CCMAS"], rel=0.05)
    # balanced classes: the two poolings give the same μ_rest, so the same CCMAS
    acts, labels = read_units(chapter["path"], "fc8")
    if np.all(np.bincount(labels) == np.bincount(labels)[0]):
        assert t.loc["pooled over classes", "median CCMAS"] == pytest.approx(t.loc["pooled over images",
                                                                                    "median CCMAS"])


def test_ccmas_pooling_note_follows_the_numbers():
    def table(cls, img):
        return pd.DataFrame({"median μ_rest / μ_c": [cls, img, 0.002]},
                            index=["pooled over classes", "pooled over images", "paper 001 (Table A2)"])

    far = X.ccmas_pooling_note(table(-2.4, -2.43))
    assert "nearly agree" in far and "negative and 2.4 times" in far
    near = X.ccmas_pooling_note(table(0.0021, 0.0022))
    assert "near the paper's" in near
    assert "differ here" in X.ccmas_pooling_note(table(-0.4, -0.7))
