"""The AlexNet chapter's charts build valid Vega-Lite specifications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from localcodes.charts import alexnet as ax_charts
from localcodes.selectivity import fit_exponential_vs_normal


def test_alexnet_charts_build_valid_specs():
    long = pd.DataFrame({"layer": ["fc6", "fc6", "fc7"], "measure": ["precision", "CCMAS", "precision"],
                         "value": [0.1, 0.5, 0.2]})
    paper = pd.DataFrame({"layer": ["fc6"], "measure": ["precision"], "value": [0.121]})
    cc = pd.DataFrame({"layer": ["fc6", "fc7"], "unit": [0, 1], "ccmas": [0.5, 1.2], "ccmas2": [0.4, 0.3]})
    v = np.random.default_rng(0).exponential(1.0, 300)
    charts = [ax_charts.layer_measures(long, paper, ["fc6", "fc7"], ["precision", "CCMAS"]),
              ax_charts.ccmas_vs_ccmas2(cc, ["fc6", "fc7"]),
              ax_charts.fit_densities([(v, fit_exponential_vs_normal(v), "all"),
                                       (v[:50], fit_exponential_vs_normal(v[:50]), "some")])]
    for chart in charts:
        spec = chart.to_dict()  # validates against the vega-lite schema
        assert spec.get("params") or spec.get("hconcat")
    assert [p["name"] for p in charts[0].to_dict()["params"]] == ["measure"]


def test_class_count_chart_builds_a_valid_spec():
    means = pd.DataFrame({"series": ["fc6", "fc6", "random units (synthetic)"], "n_classes": [10, 100, 10],
                          "measure": ["precision", "precision", "ccmas"], "mean": [0.5, 0.2, 0.7]})
    paper = pd.DataFrame({"series": ["fc6"], "n_classes": [1000], "measure": ["precision"], "mean": [0.121]})
    chart = ax_charts.class_counts(means, paper, {"precision": "precision@100", "ccmas": "CCMAS"})
    spec = chart.to_dict()  # validates against the vega-lite schema
    assert [p["name"] for p in spec["params"]] == ["measure"]
    assert spec["params"][0]["bind"]["options"] == ["precision@100", "CCMAS"]
