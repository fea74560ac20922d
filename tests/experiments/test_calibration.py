"""The calibration experiment on tiny schedules: resumable stores, paired equivalence, the identity check."""

import json

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


def _synthetic_store() -> pd.DataFrame:
    """Final rows of two points and two schedules, ten networks each, counts chosen per test."""
    rows = []
    for point in ("250 units", "500 units, shared random"):
        for name in ("paper", C.BOOK_SCHEDULE):
            for r in range(10):
                rows.append({"point": point, "schedule": name, "repeat": r, "seed": r, "final": True, "epoch": 1,
                             "lc_pairs": 20 + r % 3, "train_acc": 1.0, "ensemble_wall_s": 1.0 + r // 5,
                             "device": "cpu", "git_commit": "abc", "created": "2026-12-02T00:00:00+00:00"})
    return pd.DataFrame(rows)


def test_the_abstract_follows_the_stored_verdicts(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    stored = _synthetic_store()
    text = C.abstract_text("book", stored, "reference")
    assert "equivalent at 2 of 2 points" in text and "shared random: 20.9, reproduced" in text
    book = (stored["schedule"] == C.BOOK_SCHEDULE) & (stored["point"] == "250 units")
    doubled = stored.assign(lc_pairs=stored["lc_pairs"].where(~book, stored["lc_pairs"] * 2))
    text = C.abstract_text("book", doubled, "reference")
    assert "equivalent at 1 of 2 points" in text and "contradicted at 250 units (20.9 vs 41.8)" in text
    fewer = stored.assign(lc_pairs=stored["lc_pairs"].where(stored["point"] == "250 units", 5))
    assert "shared random: 5.0, contradicted" in C.abstract_text("book", fewer, "reference")
    assert "*not run*" in C.abstract_text("book", stored.iloc[:0], "reference")
    C.save_results("book", stored, "reference", repeats=10)
    prov = json.loads((tmp_path / "book" / C.CHAPTER / "provenance.json").read_text())
    run = [r for r in prov["runs"] if r["point"] == "250 units" and r["schedule"] == "paper"][0]
    assert run["networks"] == 10 and run["ensemble_wall_s"] == 3.0 and prov["repeats"] == 10
    assert (tmp_path / "book" / C.CHAPTER / "abstract.md").read_text() == C.abstract_text("book", stored, "reference")
