"""The checks of experiments 8–11 and 13 from synthetic stored frames: one frame reproduces each claim, a changed
frame gives another outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
from localcodes.experiments import paper000 as P000

RNG = np.random.default_rng(0)


def _by_key(checks):
    return {c["key"]: c for c in checks}


def _dropout(means: dict, repeats: int = 12) -> pd.DataFrame:
    base = RNG.normal(0, 0.05, repeats)  # a per-repeat effect: paired designs gain from it
    rows = [{"dropout %": r, "repeat": i, "lc_pairs": max(0.0, m * (1 + base[i] + RNG.normal(0, 0.03)))}
            for r, m in means.items() for i in range(repeats)]
    return pd.DataFrame(rows)


def test_dropout_checks_follow_table2_and_say_not_run_for_missing_rates():
    final = _dropout({0: 18.4, 10: 18.0, 20: 14.0, 50: 30.0, 90: 74.0})
    c = _by_key(P000.dropout_checks(final))
    assert c["more_at_90"]["outcome"] == "reproduced" and c["more_at_90"]["finding"] == 4
    assert c["more_at_50"]["outcome"] == "reproduced"
    assert c["dip_at_20"]["outcome"] == "reproduced"
    assert c["overlap_at_10"]["outcome"] == "reproduced"
    assert c["more_at_60"]["outcome"] == "not run" and "paper" in c["more_at_60"]["test"]
    flipped = _by_key(P000.dropout_checks(_dropout({0: 18.4, 10: 40.0, 20: 25.0, 50: 18.0, 90: 5.0})))
    assert flipped["more_at_90"]["outcome"] == "contradicted"
    assert flipped["dip_at_20"]["outcome"] == "contradicted"
    assert flipped["overlap_at_10"]["outcome"] == "contradicted"


def _noise(effect: dict, repeats: int = 8) -> pd.DataFrame:
    rows = []
    for h, e in effect.items():
        base = 10 + RNG.normal(0, 1, repeats)
        for s in (0.0, 0.5, 1.0):
            for i in range(repeats):
                rows.append({"n_hidden": h, "sigma": s, "repeat": i,
                             "lc_pairs": base[i] * (1 + (e if s else 0)) + RNG.normal(0, 0.2)})
    return pd.DataFrame(rows)


def test_noise_checks_judge_each_size():
    c = _by_key(P000.noise_checks(_noise({100: -0.5, 500: -0.4, 1000: 0.8})))
    assert [c[k]["outcome"] for k in ("noise_100", "noise_500", "noise_1000")] == ["reproduced"] * 3
    changed = _by_key(P000.noise_checks(_noise({100: -0.5, 500: 0.6})))
    assert changed["noise_500"]["outcome"] == "contradicted"  # noise raised an under-resourced network's LCs
    assert changed["noise_1000"]["outcome"] == "not run"


def _curves(rise: bool, n_nets: int = 6, k: int = 20) -> pd.DataFrame:
    rows = []
    for r in range(n_nets):
        t99 = 4 + r % 3
        for e in range(k):
            acc = min(1.0, 0.5 + 0.5 * e / t99)
            lc = (20 / (1 + np.exp(-(e - t99 + 2) * 2)) if rise else 20 * 0.9**e) + RNG.normal(0, 0.1)
            rows.append({"n_hidden": 100, "repeat": r, "epoch": e, "lc_pairs": lc, "train_acc": acc,
                         "test_acc": acc * 0.95 + RNG.normal(0, 0.005), "train_pm": 0.0, "test_pm": 0.0})
    return pd.DataFrame(rows)


def test_training_time_checks_use_networks_as_the_unit():
    c = _by_key(P000.training_time_checks(_curves(True)))
    assert c["rise_with_training"]["outcome"] == "reproduced" and c["rise_with_training"]["n"] == 6
    assert c["lc_vs_test_accuracy"]["outcome"] == "reproduced" and c["lc_vs_test_accuracy"]["n"] == 6
    assert c["turning_point_at_99"]["outcome"] == "reproduced", c["turning_point_at_99"]
    falling = _by_key(P000.training_time_checks(_curves(False)))
    assert falling["rise_with_training"]["outcome"] == "contradicted"
    assert falling["lc_vs_test_accuracy"]["outcome"] == "contradicted"
    assert falling["turning_point_at_99"]["outcome"] == "not run"  # a falling curve has no turning point


def _conditions(means: dict, repeats: int = 6) -> pd.DataFrame:
    rows = []
    for cond, m in means.items():
        act = P000.TABLE1.loc[cond, "activation"]
        for i in range(repeats):
            rows.append({"condition": cond, "n_hidden": 100, "repeat": i, "activation": act,
                         "lc_pairs": 0.0 if act == "relu" else m * (1 + 0.1 * i / repeats) + RNG.normal(0, 0.1)})
    return pd.DataFrame(rows)


def test_condition_checks_judge_each_contrast():
    good = {"A": 20, "B": 20, "C": 10, "D": 10, "E": 20, "F": 10, "H": 0, "I": 0, "L": 0, "M": 0, "N": 0}
    c = _by_key(P000.condition_checks(_conditions(good)))
    assert c["C_lt_A"]["outcome"] == "reproduced" and c["C_lt_A"]["finding"] == 6
    assert c["F_lt_E"]["outcome"] == "reproduced"
    assert c["A_eq_B"]["outcome"] == "reproduced" and c["C_eq_D"]["outcome"] == "reproduced"
    assert c["relu_none"]["outcome"] == "reproduced"
    assert c["M_lt_N"]["outcome"] == "not reproduced"  # both zero: the interval excludes the effect of interest
    assert c["D_lt_B"]["outcome"] == "reproduced"
    bad = _by_key(P000.condition_checks(_conditions({**good, "C": 30, "B": 8})))
    assert bad["C_lt_A"]["outcome"] == "contradicted"  # softmax went the wrong way
    assert bad["A_eq_B"]["outcome"] == "contradicted"
    missing = _by_key(P000.condition_checks(_conditions({"A": 20, "B": 20})))
    assert missing["C_lt_A"]["outcome"] == "not run"


def _memorisation(keep: float, repeats: int = 8) -> pd.DataFrame:
    rows = []
    for h in (250, 500):
        base = 12 + RNG.normal(0, 1, repeats)
        for i in range(repeats):
            rows.append({"n_hidden": h, "targets": "control", "repeat": i, "lc_pairs": base[i]})
            rows.append({"n_hidden": h, "targets": "shuffled", "repeat": i,
                         "lc_pairs": base[i] * keep + RNG.normal(0, 0.2)})
    return pd.DataFrame(rows)


def test_memorisation_checks_test_the_47_percent():
    c = _by_key(P000.memorisation_checks(_memorisation(0.7)))
    assert c["fewer_250"]["outcome"] == "reproduced" and c["at_most_500"]["outcome"] == "reproduced"
    gone = _by_key(P000.memorisation_checks(_memorisation(0.2)))  # reduced by 80 %: more than the paper's 47 %
    assert gone["fewer_250"]["outcome"] == "reproduced" and gone["at_most_250"]["outcome"] == "contradicted"
    same = _by_key(P000.memorisation_checks(_memorisation(1.3)))
    assert same["fewer_500"]["outcome"] == "contradicted"
