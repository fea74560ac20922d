"""Charts of the sparseness chapter: measures across depth, histograms of the non-zero activations and the
basis test, with dropdowns (parameters bound to inputs) that keep working in the static book.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from ..sparseness import MEASURES

__all__ = ["depth_chart", "blog_chart", "histogram_chart", "basis_chart"]


def _state(trained) -> str:
    return "trained" if bool(trained) else "untrained"


def _dropdown(name: str, options: list, label: str):
    return alt.param(name=name, value=options[0], bind=alt.binding_select(options=options, name=label))


def depth_chart(layers: pd.DataFrame, measures: Mapping[str, str] | None = None, title: str = "",
                width: int = 460, height: int = 260):
    """Each measure across the layers of a network, trained vs untrained; dropdowns: network and measure.

    ``layers``: the ``layers`` frames of ``sparseness.analyse_layers`` of several networks, with ``network``,
    ``trained`` and ``variant`` columns. Decorrelation is drawn with its confidence interval.
    """
    measures = dict(measures or MEASURES)
    rows = []
    for r in layers.itertuples(index=False):
        for key, label in measures.items():
            value = getattr(r, key)
            low = r.decorrelation_low if key == "decorrelation" else value
            high = r.decorrelation_high if key == "decorrelation" else value
            rows.append({"network": r.network, "state": _state(r.trained), "layer": r.layer, "depth": r.depth,
                         "measure": label, "value": value, "low": low, "high": high})
    data = pd.DataFrame(rows)
    net = _dropdown("net", list(pd.unique(data["network"])), "network ")
    meas = _dropdown("measure", list(measures.values()), "measure ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter(
        "datum.network == net && datum.measure == measure")
    color = alt.Color("state:N", title=None, scale=alt.Scale(domain=["trained", "untrained"]))
    tips = ["network:N", "state:N", "layer:N", alt.Tooltip("value:Q", format=".3f")]
    lines = base.mark_line(point=True).encode(x=x, y=alt.Y("value:Q", title="value"), color=color,
                                              tooltip=tips)
    bars = base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=color)
    return alt.layer(lines, bars).add_params(net, meas)


def blog_chart(layers: pd.DataFrame, title: str = "", width: int = 460, height: int = 260):
    """The blog's second figure: sparsening (share of zeros) and decorrelation (1 − r, with its interval)
    across depth, for the network chosen in a dropdown; solid = trained, dashed = untrained."""
    rows = []
    for r in layers.itertuples(index=False):
        common = {"network": r.network, "state": _state(r.trained), "layer": r.layer, "depth": r.depth}
        rows.append({**common, "series": "share of zero activations", "value": 1 - r.nonzero,
                     "low": 1 - r.nonzero, "high": 1 - r.nonzero})
        rows.append({**common, "series": "decorrelation (1 - r)", "value": r.decorrelation,
                     "low": r.decorrelation_low, "high": r.decorrelation_high})
    data = pd.DataFrame(rows)
    net = _dropdown("net", list(pd.unique(data["network"])), "network ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    color = alt.Color("series:N", title=None,
                      scale=alt.Scale(domain=["share of zero activations", "decorrelation (1 - r)"],
                                      range=["#1f77b4", "#d62728"]))
    dash = alt.StrokeDash("state:N", title=None, scale=alt.Scale(domain=["trained", "untrained"]))
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter("datum.network == net")
    lines = base.mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title="share of zeros / decorrelation"), color=color, strokeDash=dash,
        tooltip=["layer:N", "state:N", "series:N", alt.Tooltip("value:Q", format=".3f")])
    bars = base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=color)
    return alt.layer(lines, bars).add_params(net)


def histogram_chart(hists: pd.DataFrame, layers: pd.DataFrame, columns: int = 4, width: int = 150,
                    height: int = 100):
    """Histograms of the non-zero activations, one panel per layer, counts on a log axis, with the share of
    non-zero activations written in each panel (as in the blog); a dropdown chooses the network.

    ``hists`` and ``layers``: ``sparseness.analyse_layers``'s frames of the same name, of several networks
    (with a ``variant`` column).
    """
    share = layers.set_index(["variant", "layer"])["nonzero"]
    data = hists[hists["count"] > 0][["variant", "layer", "depth", "start", "end", "count"]]
    labels = share.reset_index().merge(layers[["variant", "layer", "depth"]], on=["variant", "layer"])
    labels = labels.assign(text=labels["nonzero"].map(lambda v: f"{v:.1%} non-zero"))
    both = pd.concat([data.assign(kind="bar"), labels.assign(kind="text")], ignore_index=True)
    which = _dropdown("which", list(pd.unique(layers["variant"])), "network ")
    base = alt.Chart(width=width, height=height)
    bars = base.transform_filter("datum.kind == 'bar'").mark_bar().encode(
        x=alt.X("start:Q", title="activation"), x2="end:Q",
        y=alt.Y("count:Q", scale=alt.Scale(type="log"), title="count (log)"),
        y2=alt.datum(0.5),  # a log axis has no zero: bars start just below a count of 1
        tooltip=[alt.Tooltip("start:Q", format=".3g"), alt.Tooltip("end:Q", format=".3g"), "count:Q"])
    text = base.transform_filter("datum.kind == 'text'").mark_text(
        align="right", baseline="top", fontSize=11).encode(
        text="text:N", x=alt.value(width - 4), y=alt.value(4))
    return alt.layer(bars, text, data=both).facet(
        facet=alt.Facet("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title=None),
        columns=columns,
    ).transform_filter("datum.variant == which").resolve_scale(x="independent", y="independent").add_params(
        which)


def basis_chart(summary: pd.DataFrame, title: str = "", width: int = 460, height: int = 260):
    """The basis test per layer: the neuron basis (red dot) against the random bases (grey bar from the
    smallest to the largest value over the draws, tick at their mean); dropdowns choose network and statistic.

    ``summary``: ``basis_summary(values, by=["variant", "layer", "depth"])`` reset to columns.
    """
    data = summary.assign(measure=summary["statistic"].map(lambda s: MEASURES.get(s, s)))
    data = data[["variant", "layer", "depth", "measure", "neuron", "random_mean", "random_min", "random_max",
                 "z"]]
    which = _dropdown("which", list(pd.unique(data["variant"])), "network ")
    meas = _dropdown("stat", list(pd.unique(data["measure"])), "statistic ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter(
        "datum.variant == which && datum.measure == stat")
    tips = ["layer:N", alt.Tooltip("neuron:Q", format=".3f"), alt.Tooltip("random_mean:Q", format=".3f"),
            alt.Tooltip("random_min:Q", format=".3f"), alt.Tooltip("random_max:Q", format=".3f"),
            alt.Tooltip("z:Q", format=".1f")]
    spread = base.mark_rule(strokeWidth=6, opacity=0.5, color="grey").encode(
        x=x, y=alt.Y("random_min:Q", title="value"), y2="random_max:Q", tooltip=tips)
    mean = base.mark_tick(color="black", thickness=2, size=14).encode(x=x, y="random_mean:Q", tooltip=tips)
    neuron = base.mark_point(filled=True, color="#d62728", size=70).encode(x=x, y="neuron:Q", tooltip=tips)
    return alt.layer(spread, mean, neuron).add_params(which, meas)
