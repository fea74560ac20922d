"""Table 2 and the selectivity of interpretable units, on hand-made ratings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes import rating

CLASSES = ["dog", "cat", "shoe"]


def _ratings(rows):
    """rows: (layer, unit, [named or None for 'no'])."""
    out = []
    for layer, unit, answers in rows:
        for i, named in enumerate(answers):
            out.append(
                {
                    "rater": f"r{i}",
                    "layer": layer,
                    "unit": unit,
                    "panel": f"{layer}.{unit}",
                    "yes": named is not None,
                    "named": named,
                }
            )
    return pd.DataFrame(out)


HAND = _ratings(
    [
        ("conv5", 0, ["dog", "dog", "Dog ", "cat", "dog"]),  # 5/5 yes, 4/5 name dog
        ("conv5", 1, ["shoe", "shoe", "shoe", "shoe", None]),  # 4/5 yes = 80%: consistent, all name shoe
        ("conv5", 2, ["dog", None, "cat", "shoe", None]),  # 3/5 yes: not consistent
        ("conv5", 3, [None] * 5),
        ("fc8", 0, ["shoe"] * 5),
        ("fc8", 1, ["cat", "cat", "dog", "dog", "shoe"]),  # tie cat/dog → cat (alphabetical); agreement 2/5
    ]
)


UNITS = pd.DataFrame(
    {
        "layer": ["conv5"] * 4 + ["fc8"] * 2,
        "unit": [0, 1, 2, 3, 0, 1],
        "top_class": [0, 1, 2, 0, 2, 1],
        "ccmas_class": [1, 2, 2, 0, 2, 0],
        "top_class_selectivity": [0.01, 0.02, 0.5, 0.6, 0.9, 0.8],
    }
)


def test_table2_on_hand_made_ratings_gives_hand_checked_numbers():
    t = rating.table2(HAND, UNITS, class_names=CLASSES)
    c, f = t.loc["conv5"], t.loc["fc8"]
    # conv5: 20 answers, 12 yes; units 0 and 1 consistent (100%, 80%); agreement 4/5 and 4/4
    assert (c.n_judgments, c.n_units, c.n_consistent) == (20, 4, 2)
    assert c.yes_share == pytest.approx(60.0) and c.yes_share_se == pytest.approx(
        100 * np.sqrt(0.6 * 0.4 / 20)
    )
    assert c.consistent_share == pytest.approx(50.0) and c.consistent_share_se == pytest.approx(25.0)
    assert c.agreement == pytest.approx(90.0) and c.agreement_se == pytest.approx(10.0)
    # unit 0 names dog = its top class (not its CCMAS class cat); unit 1 names shoe = its CCMAS class
    assert c.top_class_overlap == pytest.approx(50.0) and c.ccmas_overlap == pytest.approx(50.0)
    assert c.top_class_overlap_se == pytest.approx(100 * np.sqrt(0.25 / 2))
    # fc8: every answer yes; agreement (5/5 + 2/5) / 2; both modal objects are the top class, one the CCMAS
    # class
    assert f.yes_share == 100.0 and f.yes_share_se == 0.0 and f.consistent_share == 100.0
    assert f.agreement == pytest.approx(70.0) and f.agreement_se == pytest.approx(30.0)
    assert f.top_class_overlap == pytest.approx(100.0) and f.ccmas_overlap == pytest.approx(50.0)


def test_table2_groups_names_with_synonyms_and_takes_class_names():
    units = UNITS.assign(
        top_class=[CLASSES[i] for i in UNITS.top_class], ccmas_class=[CLASSES[i] for i in UNITS.ccmas_class]
    )
    plain = rating.table2(HAND, units)
    assert plain.loc["conv5", "agreement"] == pytest.approx(90.0)  # same numbers from names as from ids
    animal = rating.table2(HAND, units, synonyms={"dog": "animal", "cat": "animal"})
    assert animal.loc["conv5", "agreement"] == pytest.approx(100.0)
    assert animal.loc["fc8", "agreement"] == pytest.approx((1 + 0.8) / 2 * 100)
    with pytest.raises(ValueError, match="units lacks rated units"):
        rating.table2(HAND, UNITS.iloc[:3], class_names=CLASSES)


def test_unit_summary_and_interpretable_selectivity():
    summ = rating.unit_summary(HAND)
    assert summ.loc[("conv5", 0), "object"] == "dog" and summ.loc[("fc8", 1), "object"] == "cat"
    assert summ["consistent"].tolist() == [True, True, False, False, True, True]
    sel = rating.interpretable_selectivity(summ, UNITS)
    assert sel.loc["conv5", "n_interpretable"] == 2
    assert sel.loc["conv5", "mean_interpretable"] == pytest.approx(0.015)
    assert sel.loc["conv5", "mean_all"] == pytest.approx((0.01 + 0.02 + 0.5 + 0.6) / 4)
    assert sel.loc["conv5", "max_interpretable"] == pytest.approx(0.02)


def test_paper_table2_errors_are_binomial_standard_errors():
    """The reading of the paper's ± that table2 reproduces: sqrt(p(1-p)/n) over answers, and over units."""
    p = rating.PAPER_TABLE2
    se = 100 * np.sqrt(p.yes_share / 100 * (1 - p.yes_share / 100) / p.n_judgments)
    assert np.allclose(se, p.yes_share_se, atol=0.06)
    se_units = 100 * np.sqrt(p.consistent_share / 100 * (1 - p.consistent_share / 100) / p.n_units)
    assert np.allclose(se_units, p.consistent_share_se, atol=0.06)
