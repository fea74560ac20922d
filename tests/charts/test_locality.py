"""The locality prior's charts build valid Vega-Lite specifications."""

from __future__ import annotations

import pandas as pd
import torch
from localcodes import locality as L
from localcodes.charts import locality as lp_charts


def test_prior_charts_build_valid_specs():
    for chart in (lp_charts.prior_chart(3), lp_charts.prior_matrix_chart(L.grid_prior(5, ndim=1))):
        spec = chart.to_dict()  # validates against the vega-lite schema
        assert spec["data"] or spec["datasets"]


def test_pruning_chart_builds_a_valid_spec():
    rows = [{"criterion": c, "bn": "recalibrated", "arm": a, "keep": k, "accuracy": 0.5, "length": 10.0,
             "strength_length_share": 0.5, "member": 0, "seed": 0}
            for c in ("magnitude", "magnitude x prior") for a in ("control", "linear") for k in (1.0, 0.1)]
    assert lp_charts.pruning_chart(pd.DataFrame(rows)).to_dict()


def test_class_map_chart_builds_a_valid_spec():
    class Result:  # the attributes the chart reads from an experiment's result
        config = {"arms": ["control", "linear"]}
        members = L.members_table(["control", "linear"], [0])
        maps = {layer: torch.rand(2, 3, 16) for layer in ("lp_in", "lp_out")}
        side = 4
        class_names = ["a", "b", "c"]

    assert lp_charts.class_map_chart(Result(), block=2).to_dict()
