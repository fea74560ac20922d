"""Paper 001's Table 2 claims judged from rated units: shares by exact tests, the units of one network as the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from localcodes import rating
from localcodes.experiments.paper001 import table2 as t2

NAMES = [f"fractal {c}" for c in range(100)]


def _ratings(yes_by_layer: dict[str, int], n_units: int = 32, raters: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``yes_by_layer[layer]`` units of each layer get every rater's "yes" naming the unit's top class (unit id);
    the others get "no"."""
    rows, units = [], []
    for layer, n_yes in yes_by_layer.items():
        for u in range(n_units):
            units.append({"layer": layer, "unit": u, "top_class": u, "ccmas_class": u,
                          "top_class_selectivity": 0.02 if layer != "fc8" else 0.5})
            for r in range(raters):
                yes = u < n_yes
                rows.append({"layer": layer, "unit": u, "rater": f"o{r}", "yes": yes,
                             "named": NAMES[u] if yes else None})
    return pd.DataFrame(rows), pd.DataFrame(units).set_index(["layer", "unit"])


def test_the_papers_pattern_is_reproduced_and_its_opposite_contradicted():
    ratings, units = _ratings({"conv5": 0, "fc6": 0, "fc8": 70}, n_units=100)
    summ = rating.unit_summary(ratings)
    out = {c["key"]: c["outcome"] for c in t2.table2_checks(summ, units, NAMES)}
    assert out["table2_fc8_most"] == "reproduced" and out["table2_fc8_above_fc6"] == "reproduced"
    assert out["table2_conv5_few"] == "reproduced"  # 0 of 100: exact binomial p = 0.95**100
    assert out["table2_fc8_top_class"] == "reproduced"
    assert out["table2_hidden_not_selective"] == "not run"  # no interpretable hidden unit to test
    flipped = rating.unit_summary(_ratings({"conv5": 30, "fc6": 30, "fc8": 2})[0])
    out2 = {c["key"]: c["outcome"] for c in t2.table2_checks(flipped, units, NAMES)}
    assert out2["table2_fc8_most"] == "contradicted" and out2["table2_conv5_few"] == "contradicted"
    assert out2["table2_fc8_above_conv5"] == "contradicted"
    assert out2["table2_hidden_not_selective"] == "reproduced"  # their selectivity is 2 %


def test_zero_of_32_is_not_enough_to_call_a_share_below_five_percent():
    ratings, units = _ratings({"conv5": 0, "fc8": 20})
    checks = {c["key"]: c for c in t2.table2_checks(rating.unit_summary(ratings), units, NAMES)}
    assert checks["table2_conv5_few"]["outcome"] == "inconclusive" and checks["table2_conv5_few"]["n_needed"] == 59
    s = t2.shares(rating.unit_summary(ratings), ["conv5", "fc6", "fc8"])
    assert list(s.index) == ["conv5", "fc8"] and s.loc["fc8", "consistently interpretable"] == 20
    assert s.loc["conv5", "95% interval (Wilson)"].startswith("0.0%") and np.isclose(s.loc["fc8", "share"], 20 / 32)
