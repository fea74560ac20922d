"""Charts of the AlexNet selectivity chapter: the measures per layer beside paper 001's means, CCMAS against
CCMAS_2, and the exponential and normal fits over a unit's activations."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["layer_measures", "ccmas_vs_ccmas2", "fit_densities", "class_counts"]


def layer_measures(long: pd.DataFrame, paper_means: pd.DataFrame, layers, measures: list[str]) -> alt.LayerChart:
    """Each layer's distribution of a measure chosen in a dropdown (``measures``): a box spanning the whole range,
    the mean as a black diamond, paper 001's layer mean as a red tick. ``long`` holds one row per unit and
    measure (layer, measure, value); ``paper_means`` the paper's means (layer, measure, value)."""
    pick = alt.param(name="measure", value=measures[0],
                     bind=alt.binding_select(options=list(measures), name="measure "))
    x = alt.X("layer:N", sort=list(layers), title=None)
    points = long[["layer", "measure", "value"]]
    boxes = alt.Chart(points).mark_boxplot(extent="min-max", size=28, opacity=0.6).encode(
        x=x, y=alt.Y("value:Q", title="score"), color=alt.Color("layer:N", legend=None, sort=list(layers)))
    means = alt.Chart(points).mark_point(shape="diamond", size=90, filled=True, color="black").encode(
        x=x, y="mean(value):Q", tooltip=["layer:N", alt.Tooltip("mean(value):Q", title="mean (ours)", format=".4f")])
    paper_tick = alt.Chart(paper_means).mark_tick(color="red", thickness=3, size=34).encode(
        x=x, y="value:Q", tooltip=["layer:N", alt.Tooltip("value:Q", title="mean (paper 001)", format=".4f")])
    return (alt.layer(boxes, means, paper_tick).transform_filter("datum.measure == measure").add_params(pick)
            .properties(width=420, height=260, title="Selectivity per layer (ours: boxes and diamonds; paper: red)"))


def ccmas_vs_ccmas2(cc: pd.DataFrame, layers) -> alt.LayerChart:
    """One point per unit (``cc``: layer, unit, ccmas, ccmas2), CCMAS against CCMAS_2, a layer chosen in a
    dropdown; the dashed diagonal marks units as "selective" for a second class as for the first."""
    choose_layer = alt.param(name="layer", value=layers[0], bind=alt.binding_select(options=list(layers),
                                                                                    name="layer "))
    lim = [float(min(cc[["ccmas", "ccmas2"]].min().min(), 0)), float(max(cc[["ccmas", "ccmas2"]].max().max(), 1))]
    diag = alt.Chart(pd.DataFrame({"v": lim})).mark_line(color="grey", strokeDash=[4, 4]).encode(x="v:Q", y="v:Q")
    pts = alt.Chart(cc).mark_circle(size=22, opacity=0.6).encode(
        x=alt.X("ccmas:Q", title="CCMAS (class with the highest mean)"),
        y=alt.Y("ccmas2:Q", title="CCMAS_2 (class with the second highest mean)"),
        tooltip=["layer:N", "unit:Q", alt.Tooltip("ccmas:Q", format=".3f"), alt.Tooltip("ccmas2:Q", format=".3f")],
    ).transform_filter("datum.layer == layer")
    return alt.layer(diag, pts).add_params(choose_layer).properties(width=380, height=320, title="CCMAS vs CCMAS_2")


def _density(v: np.ndarray, fit: pd.DataFrame, title: str) -> alt.LayerChart:
    edges = np.histogram_bin_edges(v, bins=40)
    dens, _ = np.histogram(v, bins=edges, density=True)
    bars = alt.Chart(pd.DataFrame({"start": edges[:-1], "end": edges[1:], "density": dens})).mark_bar(
        opacity=0.45, color="grey").encode(x=alt.X("start:Q", title="activation (non-zero)"), x2="end:Q",
                                           y=alt.Y("density:Q", title="density"))
    grid = np.linspace(edges[0], edges[-1], 200)
    curves = pd.concat([
        pd.DataFrame({"x": grid, "fit": "exponential",
                      "pdf": stats.expon.pdf(grid, fit.loc["exponential", "loc"], fit.loc["exponential", "scale"])}),
        pd.DataFrame({"x": grid, "fit": "normal",
                      "pdf": stats.norm.pdf(grid, fit.loc["normal", "loc"], fit.loc["normal", "scale"])}),
    ])
    lines = alt.Chart(curves).mark_line(strokeWidth=2).encode(x="x:Q", y="pdf:Q",
                                                             color=alt.Color("fit:N", title="fit"))
    return alt.layer(bars, lines).properties(width=300, height=200, title=title)


def fit_densities(panels: list[tuple[np.ndarray, pd.DataFrame, str]]) -> alt.HConcatChart:
    """Side by side, for each (values, fits, title): the values' density histogram with the exponential and normal
    fits (``selectivity.fit_exponential_vs_normal``) drawn over it."""
    return alt.hconcat(*(_density(v, fit, title) for v, fit, title in panels))


def class_counts(means: pd.DataFrame, paper: pd.DataFrame, measures: dict[str, str]) -> alt.LayerChart:
    """Layer means of a measure (chosen in a dropdown) against the number of classes, log scale: one line per
    series (``means``: series, n_classes, measure, mean — our layers and synthetic populations), paper 001's layer
    means as red points (``paper``: series, n_classes, measure, mean). ``measures`` maps a column to its label."""
    labels = list(measures.values())
    pick = alt.param(name="measure", value=labels[0], bind=alt.binding_select(options=labels, name="measure "))
    ours = means.assign(measure=means["measure"].map(measures))
    theirs = paper.assign(measure=paper["measure"].map(measures))
    x = alt.X("n_classes:Q", scale=alt.Scale(type="log"), title="number of classes")
    y = alt.Y("mean:Q", title="layer mean")
    lines = alt.Chart(ours).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("series:N", title=None),
        strokeDash=alt.condition("indexof(datum.series, 'synthetic') >= 0", alt.value([4, 3]), alt.value([1, 0])),
        tooltip=["series:N", "n_classes:Q", alt.Tooltip("mean:Q", format=".4f")])
    dots = alt.Chart(theirs).mark_point(color="red", size=90, filled=True, shape="diamond").encode(
        x=x, y=y, tooltip=["series:N", "n_classes:Q", alt.Tooltip("mean:Q", title="paper 001", format=".4f")])
    return (alt.layer(lines, dots).transform_filter("datum.measure == measure").add_params(pick)
            .properties(width=440, height=280, title="Selectivity against the number of classes (paper 001: red)"))
