"""The interpretability-vs-selectivity chart: one point per unit and measure, a dropdown picks the measure."""

from __future__ import annotations

import pandas as pd
from localcodes.charts import am as am_charts


def test_interpretability_chart_has_a_measure_dropdown():
    per_unit = pd.DataFrame({"unit name": ["fc6.1", "fc8.2"], "layer": ["fc6", "fc8"], "yes_share": [0.2, 1.0],
                             "object": ["–", "shoe"], "top class": ["bag", "shoe"],
                             "top_class_selectivity": [0.1, 0.9], "precision": [0.3, 1.0], "ccmas": [0.2, 0.8]})
    spec = am_charts.interpretability_chart(per_unit).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 2 * len(am_charts.SELECTIVITY_MEASURES)
    assert spec["params"][0]["bind"]["options"] == list(am_charts.SELECTIVITY_MEASURES)
    assert spec["transform"] == [{"filter": "datum.measure == measure"}]
