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
