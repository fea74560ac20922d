"""Counterbalanced lists and each rater's order."""

from __future__ import annotations

import pandas as pd
import pytest
from localcodes import rating


def test_counterbalanced_lists_balance_layers_and_rotate_positions():
    panels = pd.DataFrame(
        {
            "layer": ["conv5"] * 8 + ["fc6"] * 32 + ["fc8"] * 16,
            "unit": list(range(8)) + list(range(32)) + list(range(16)),
        }
    )
    plan = rating.counterbalanced_lists(panels, n_lists=4, seed=1)
    assert len(plan) == len(panels) and not plan.duplicated(["layer", "unit"]).any()
    counts = plan.groupby(["list", "layer"]).size().unstack()
    assert (counts["conv5"] == 2).all() and (counts["fc6"] == 8).all() and (counts["fc8"] == 4).all()
    # positions 0..n-1 within each list; layers interleave (the first 14 of a list are not all one layer)
    for _, g in plan.groupby("list"):
        assert sorted(g["position"]) == list(range(len(g)))
        assert g.sort_values("position")["layer"].iloc[:14].nunique() > 1
    # raters 0 and 4 share list 0 but see it in different orders; both see every panel of it once
    a, b = rating.rater_order(plan, 0), rating.rater_order(plan, 4)
    assert set(zip(a.layer, a.unit, strict=True)) == set(zip(b.layer, b.unit, strict=True))
    assert list(a.unit) != list(b.unit)
    assert a.iloc[0].tolist() != b.iloc[0].tolist()
    with pytest.raises(ValueError, match="n_lists"):
        rating.counterbalanced_lists(panels, 0)
