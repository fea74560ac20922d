"""The offline renderer, jitterplot data and histograms."""

import json
import re

import numpy as np
import pytest
from localcodes import charts


def test_renderer_embeds_spec_without_network():
    bundle = charts.render({"mark": "point", "description": "a </script> inside a string"})
    html = bundle["text/html"]
    assert "vegaEmbed" in html
    assert not re.search(r"https?://", html)
    assert "</script>" not in html.split("<script", 1)[1][:-len("</script>")]  # escaped inside the script
    # the same spec renders to the same element id (stable notebooks)
    assert charts.render({"mark": "point"})["text/html"] == charts.render({"mark": "point"})["text/html"]


def test_jitter_data_keeps_each_class_extremes_when_subsampling():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 200)
    acts = rng.normal(size=(800, 3))
    data, names, units = charts.jitter_data(acts, labels, units=[0, 2], max_points_per_class=10)
    assert units == [0, 2] and names == ["unit 0", "unit 2"]
    for u, name in zip(units, names, strict=True):
        sub = data[data["unit"] == name]
        for c in range(4):
            vals = acts[labels == c, u]
            got = sub[sub["label"] == c]["activation"]
            assert got.max() == pytest.approx(vals.max()) and got.min() == pytest.approx(vals.min())
            assert len(got) <= 12


def test_jitterplot_has_unit_dropdown_and_measures_panel():
    labels = np.repeat(np.arange(3), 20)
    acts = np.random.default_rng(1).random((60, 5))
    acts[labels == 1, 3] += 2
    spec = charts.jitterplot(acts, labels, class_names=["a", "b", "c"]).to_dict()
    text = json.dumps(spec)
    params = {p["name"]: p for p in spec["params"]}
    assert params["unit"]["bind"]["options"] == [f"unit {i}" for i in range(5)]
    assert "local code: on for b" in text


def test_jitterplot_asks_for_units_on_wide_layers():
    with pytest.raises(ValueError, match="pass units"):
        charts.jitter_data(np.zeros((10, 100)), np.arange(10) % 2)


def test_histogram_counts_everything_once():
    v = np.random.default_rng(0).exponential(size=500)
    groups = np.where(np.arange(500) < 100, "a", "b")
    chart = charts.histogram(v, groups=groups, bins=20)
    data = chart.to_dict()
    rows = next(iter(data["datasets"].values()))
    assert sum(r["count"] for r in rows) == 500
    with pytest.raises(ValueError, match="NaN"):
        charts.histogram(np.array([1.0, np.nan]))


def test_measure_scatter_offers_the_measures_and_refuses_missing_columns():
    import pandas as pd

    table = pd.DataFrame({"precision": [0.1, 0.9], "ccmas": [0.5, 1.0], "top_class_selectivity": [0.0, 1.0]})
    spec = charts.measure_scatter(table, ["precision", "ccmas"]).to_dict()
    assert spec["params"][0]["bind"]["options"] == ["precision", "ccmas"]
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 4  # two units x two measures
    with pytest.raises(ValueError, match="lacks the columns"):
        charts.measure_scatter(table, ["tcs"])


def test_random_units_span_distributed_to_local():
    from localcodes.selectivity import unit_table
    from localcodes.synthetic import random_units

    acts, labels, params = random_units(200, seed=3)
    t = unit_table(acts, labels)
    assert acts.shape == (1000, 200) and len(params) == 200
    assert t["top_class_selectivity"].max() > 0.5 and t["top_class_selectivity"].median() < 0.2
