"""Sweeps of the standard code shared between chapters, summaries, Table 1 settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes.experiments import paper000 as P000


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


def test_summarise_and_peak_width():
    f = _frame(diff=0.0)
    f.loc[f.width == 300, "lc_pairs"] += 50
    f["lc_share"] = f["lc_units"] / f["width"]
    f["train_acc"] = 1.0
    s = P000.summarise(f, ["n_x", "width"])
    assert set(s["measure"]) == {"lc_pairs", "lc_units", "lc_share"}
    row = s[(s.measure == "lc_pairs") & (s.n_x == 500) & (s.width == 100)].iloc[0]
    vals = f[(f.n_x == 500) & (f.width == 100)]["lc_pairs"]
    assert row["mean"] == pytest.approx(vals.mean()) and row["count"] == 6
    assert row["sem"] == pytest.approx(vals.std(ddof=1) / np.sqrt(6))
    assert P000.peak_width(s, "lc_pairs", by="n_x").to_dict() == {250: 300, 500: 300}


def test_code_sweep_refuses_unknown_changes_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match=r"changes may only set .*got \['dropout'\]"):
        P000.code_sweep("smoke", [{"dropout": 0.5}], [10], 1, {"epochs": 1})
    with pytest.raises(ValueError, match="widths must list"):
        P000.code_sweep("smoke", [{}], [], 1, {"epochs": 1})


def test_code_sweep_shares_standard_networks_between_chapters(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    training = {"optimizer": "sgd", "lr": 2.0, "batch_size": 32, "epochs": 2, "seed": 0}
    first = P000.code_sweep("smoke", [{}], [8], 2, training)
    parts = P000.shared_store("smoke").parts()
    # another chapter asks for the standard code spelled differently plus a new condition: only the new one trains
    second = P000.code_sweep("smoke", [{"random_weight": 1 / 3}, {"random_weight": 1 / 9}], [8], 2, training)
    new_parts = [p for p in P000.shared_store("smoke").parts() if p not in parts]
    assert len(new_parts) == 1
    std = second[np.isclose(second["random_weight"], 1 / 3)].sort_values("repeat")
    np.testing.assert_array_equal(std["lc_pairs"].to_numpy(), first.sort_values("repeat")["lc_pairs"].to_numpy())
    assert (second["lc_share"] == second["lc_units"] / 8).all()
    stored = P000.stored_final("smoke", [{"random_weight": 1 / 9}])
    assert len(stored) == 2 and np.allclose(stored["random_weight"], 1 / 9)


def test_table1_settings_follow_the_table():
    s = P000.table1_settings("D", n_x_small=100, n_x_large=1000, lr_sigmoid=2.0, lr_relu=0.1)
    assert s == {
        "activation": "sigmoid",
        "softmax": True,
        "dropout": 0.2,
        "n_per_class": 10,
        "stop": "val_loss",
        "lr": 2.0,
    }
    m = P000.table1_settings("M", n_x_small=100, n_x_large=1000, lr_sigmoid=2.0, lr_relu=0.1)
    assert (m["activation"], m["n_per_class"], m["stop"], m["lr"], m["dropout"]) == (
        "relu",
        100,
        "budget",
        0.1,
        0,
    )
    assert P000.table1_settings("L")["stop"] == "train_acc"
    with pytest.raises(ValueError, match="condition must be one of"):
        P000.table1_settings("Z")
    with pytest.raises(ValueError, match="n_x_small"):
        P000.table1_settings("A", n_x_small=15)
