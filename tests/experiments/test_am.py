"""The activation-maximisation chapter's pieces: unit sample, AM effect table, Table 2 as printed, notes."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from localcodes import rating
from localcodes.experiments import am as chapter


def test_chapter_folder_is_in_the_results_store(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert chapter.results_folder("smoke") == tmp_path / "smoke" / chapter.CHAPTER
    assert chapter.results_folder("smoke").is_dir()


def test_units_are_a_seeded_sorted_sample_capped_at_the_layer():
    meta = {"units": {"conv5": 64, "fc8": 3}, "n_rows": 90, "n_images": 100}
    a = chapter.choose_units(meta, ["conv5", "fc8"], 5, seed=0)
    assert a == chapter.choose_units(meta, ["conv5", "fc8"], 5, seed=0)
    assert len(a["conv5"]) == 5 and a["conv5"] == sorted(a["conv5"]) and a["fc8"] == [0, 1, 2]
    # the draw order is the chapter's: one generator, layer after layer
    rng = np.random.default_rng(0)
    assert a["conv5"] == sorted(rng.choice(64, 5, replace=False).tolist())
    note = chapter.units_note(meta, ["conv5", "fc8"], a)
    assert note.startswith("90 of 100 test images") and "conv5 5, fc8 3." in note


def test_am_effect_compares_am_with_the_test_images(tmp_path):
    acts = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 4.0]], dtype=np.float32)  # 3 images, 2 units
    path = tmp_path / "acts.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("acts/fc6", data=acts)
    panels = pd.DataFrame({"layer": "fc6", "unit": [0, 1], "panel": ["a", "b"], "am_mean": [3.0, 3.0],
                           "am_min": [2.5, 1.0]})
    merged, effect = chapter.am_effect(panels, path, {"fc6": [0, 1]}, ["fc6"])
    assert merged["data_max"].tolist() == [2.0, 4.0]
    assert merged["z"].iloc[0] == pytest.approx((3 - 1) / acts[:, 0].std())
    row = effect.loc["fc6"]
    assert row["units"] == 2
    assert row["share of units whose mean AM activation beats every test image"] == 0.5
    assert row["share of units whose every AM image beats every test image"] == 0.5


def test_table2_as_printed_and_in_words():
    printed = chapter.format_table2(rating.PAPER_TABLE2)
    assert list(printed.columns) == ["answers", "units", *chapter.TABLE2_COLUMNS.values()]
    assert printed.loc["conv5", "yes answers"] == "21.7% ± 1.1"
    assert printed.loc["conv5", "overlap with CCMAS class"] == "0.0%"  # no standard error printed
    both = chapter.table2_comparison(rating.PAPER_TABLE2, 4, "Fashion-MNIST")
    assert both.index.get_level_values(0).unique().tolist()[1] == "here — 4 observers, AlexNet on Fashion-MNIST"
    ours = rating.PAPER_TABLE2.assign(n_consistent=[0, 2, 3])
    words = chapter.table2_words(ours)
    assert "* **conv5**: 22% of the answers" in words and "conv5" in words.split("\n")[2]
    assert "top class" not in words.split("\n")[2] and "95% of those" in words.split("\n")[4]


def test_interpretable_note_and_extreme_panels():
    sel = pd.DataFrame({"n_interpretable": [0, 2, 3], "median_interpretable": [np.nan, 0.05, 0.5],
                        "median_all": [0.1, 0.2, 0.5], "max_interpretable": [np.nan, 0.08, 0.9]},
                       index=pd.Index(["conv5", "fc6", "fc8"], name="layer"))
    note = chapter.interpretable_note(sel)
    assert note.startswith("Top-class selectivity") and "fc6: median 5.0%" in note and "fc8" not in note
    assert chapter.interpretable_note(sel.loc[["conv5", "fc8"]]) is None
    per_unit = pd.DataFrame({"layer": ["fc6", "fc6", "fc8"], "unit": [3, 7, 1], "yes_share": [0.2, 0.9, 1.0],
                             "agreement": [1.0, 0.5, 1.0], "object": ["–", "bag", "shoe"]})
    shown = chapter.extreme_panels(per_unit, ["conv5", "fc6", "fc8"])
    assert [(layer, unit) for layer, unit, _ in shown] == [("fc6", 7), ("fc6", 3), ("fc8", 1)]
    assert shown[0][2] == "; observers: 90% yes, object *bag*"


def test_reference_results_are_shown_when_stored_and_said_missing_when_not(tmp_path, monkeypatch):
    from localcodes.experiments.paper000.checks import save_chapter
    from localcodes.experiments.paper001 import table2 as t2

    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert chapter.network_scale("reference") == "book" and chapter.network_scale("smoke") == "smoke"
    assert "Not run" in chapter.reference_summary(["conv5", "fc8"])[0]
    rows = [{"layer": layer, "unit": u, "rater": f"o{r}", "yes": layer == "fc8", "named": "fractal 1"}
            for layer in ("conv5", "fc8") for u in range(4) for r in range(3)]
    summ = rating.unit_summary(pd.DataFrame(rows))
    units = pd.DataFrame({"layer": ["conv5"] * 4 + ["fc8"] * 4, "unit": list(range(4)) * 2, "top_class": 1,
                          "ccmas_class": 1, "top_class_selectivity": 0.5}).set_index(["layer", "unit"])
    checks = t2.table2_checks(summ, units, [f"fractal {c}" for c in range(3)])
    folder = chapter.results_folder("reference")
    save_chapter("reference", chapter.CHAPTER, t2.shares(summ, ["conv5", "fc8"]).reset_index(), checks,
                 units_per_layer=4, images_per_unit=100, steps=128)
    effect = pd.DataFrame({"units": [4, 4]}, index=pd.Index(["conv5", "fc8"], name="layer"))
    chapter.save_unit_results(folder, effect, summ.join(units, how="inner"))
    parts = chapter.reference_summary(["conv5", "fc6", "fc8"])
    assert "4 units per layer, 100 images each, 128 steps" in parts[0]
    shares = next(p for p in parts if isinstance(p, pd.DataFrame) and "share" in p.columns)
    assert list(shares.index) == ["conv5", "fc8"] and shares.loc["fc8", "consistently interpretable"] == 4
    assert any(isinstance(p, str) and "claims judged" in p for p in parts)
