"""The calibration experiment on tiny schedules: resumable stores, paired equivalence, the identity check."""

import pandas as pd
import pytest
from localcodes.experiments import calibration as C


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    monkeypatch.setattr(C, "SCHEDULES", {"paper": (0.5, 40), "fast": (2.0, 10), "bad": (0.05, 4)})
    monkeypatch.setattr(C, "POINTS", {"20 units": {"hidden": [20], "n_per_class": 10}})
    return tmp_path


def test_schedules_are_compared_on_the_same_networks_and_judged_by_equivalence(tiny):
    rows = C.run_point("smoke", "20 units", ["paper", "fast", "bad"], repeats=3)
    assert set(rows["schedule"]) == {"paper", "fast", "bad"} and rows["repeat"].nunique() == 3
    assert (rows["time"] == rows["epoch"] * rows["schedule"].map({k: v[0] for k, v in C.SCHEDULES.items()})).all()
    table = C.agreement(C.load("smoke"))
    assert set(table["schedule"]) == {"fast", "bad"} and (table["n"] == 3).all()
    assert set(table["outcome"]) <= {"reproduced", "not reproduced", "contradicted", "inconclusive"}
    chosen = C.choose_schedule(table)
    assert chosen is None or chosen in ("fast", "bad")


def test_a_rerun_reads_the_store_and_is_identical(tiny):
    first = C.run_point("smoke", "20 units", ["fast"], repeats=2)
    again = C.run_point("smoke", "20 units", ["fast"], repeats=2)
    pd.testing.assert_frame_equal(first.drop(columns=["created"], errors="ignore"),
                                  again.drop(columns=["created"], errors="ignore"))
    assert C.identity_text(again, C.load("smoke")).startswith("**Identical**")
    changed = again.assign(lc_pairs=again["lc_pairs"] + 1)
    assert C.identity_text(changed, C.load("smoke")).startswith("**Different**")
    nudged = again.assign(train_loss=again["train_loss"] * (1 + 1e-7))
    assert C.identity_text(nudged, C.load("smoke")).startswith("**Identical local codes and accuracy**")


def test_choose_schedule_takes_the_cheapest_that_passes_everywhere(monkeypatch):
    monkeypatch.setattr(C, "SCHEDULES", {"paper": (0.01, 1000), "slow": (0.1, 100), "fast": (1.0, 10)})
    table = pd.DataFrame({"schedule": ["slow", "slow", "fast", "fast"], "point": ["a", "b", "a", "b"],
                          "outcome": ["reproduced", "reproduced", "reproduced", "reproduced"]})
    assert C.choose_schedule(table) == "fast"
    table.loc[3, "outcome"] = "inconclusive"
    assert C.choose_schedule(table) == "slow"
    table.loc[1, "outcome"] = "not reproduced"
    assert C.choose_schedule(table) is None


def test_bad_points_schedules_and_repeats_are_refused_before_training(tiny):
    with pytest.raises(ValueError, match="point must be"):
        C.run_point("smoke", "7 units", ["fast"], repeats=2)
    with pytest.raises(ValueError, match="schedules must be"):
        C.run_point("smoke", "20 units", ["adam"], repeats=2)
    with pytest.raises(ValueError, match="repeats must be >= 2"):
        C.run_point("smoke", "20 units", ["fast"], repeats=1)


def test_empty_stores_give_not_run_texts(tiny):
    empty = C.load("smoke")
    assert empty.empty and C.agreement(empty).empty
    assert "Not run" in C.agreement_text(C.agreement(empty))
    assert (C.paper_count_table(empty)["outcome"] == "not run").all()
