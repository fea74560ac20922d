"""The sparseness chapter's charts build valid Vega-Lite specifications."""

from __future__ import annotations

import pandas as pd
import torch
from localcodes import sparseness as sp
from localcodes.charts import sparseness as sp_charts


def synthetic_network(seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(4).repeat_interleave(15)
    conv = torch.relu(torch.randn(60, 6, 3, 3, generator=gen))
    fc = torch.relu(torch.randn(60, 30, generator=gen) + 2 * torch.nn.functional.one_hot(labels, 30))
    out = torch.randn(60, 4, generator=gen)
    return {"conv": conv, "fc": fc, "out": out}, labels


def two_states():
    acts, labels = synthetic_network()
    parts = []
    for trained in (True, False):
        frames = sp.analyse_layers(acts, labels, draws=2, lc_draws=2, max_units=16, bins=8)
        name = f"toy, {'trained' if trained else 'untrained'}"
        parts.append({k: f.assign(network="toy", trained=trained, variant=name) for k, f in frames.items()})
    return {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in sp.ANALYSIS_FRAMES}

def test_chapter_charts_build_valid_specs():
    frames = two_states()
    summary = sp.basis_summary(frames["basis"], by=["variant", "layer", "depth"]).reset_index()
    charts = [sp_charts.depth_chart(frames["layers"]), sp_charts.blog_chart(frames["layers"]),
              sp_charts.histogram_chart(frames["histograms"], frames["layers"]), sp_charts.basis_chart(summary)]
    for chart in charts:
        spec = chart.to_dict()  # validates against the vega-lite schema
        assert len(str(spec)) < 1_000_000
