"""Selectivity figures: jitterplots of units' activations by class, histograms and measure scatter plots.

Interactivity uses altair parameters bound to HTML inputs, which keeps working in the static pages (no kernel).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import torch

from ..selectivity import local_codes, unit_table

__all__ = ["jitterplot", "jitter_data", "histogram", "measure_lines", "measure_scatter"]


def _numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _names(values, names, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{v}" for v in values]
    if isinstance(names, dict):
        return [str(names.get(v, f"{prefix}{v}")) for v in values]
    names = list(names)
    return [str(names[v]) if 0 <= v < len(names) else f"{prefix}{v}" for v in values]


def measure_lines(row: pd.Series, codes: pd.DataFrame, class_name) -> list[str]:
    """The measures of one unit as short lines of text (for the panel beside a jitterplot)."""
    lines = [
        f"top-class selectivity: {row.top_class_selectivity:.1%} ({class_name(row.top_class)})",
        f"precision: {row.precision:.1%} ({class_name(row.precision_class)})",
        f"CCMAS: {row.ccmas:.3f} ({class_name(row.ccmas_class)})",
        f"CCMAS_2: {row.ccmas2:.3f} ({class_name(row.ccmas2_class)})",
    ]
    if len(codes):
        lines += [f"local code: {r.kind} for {class_name(r.cls)} (gap {r.gap:.3g})" for r in codes.itertuples()]
    else:
        lines.append("local code: none")
    return lines


def jitter_data(
    acts,
    labels,
    units=None,
    unit_names=None,
    class_names=None,
    max_points_per_class: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, list[str], list[int]]:
    """Long-format points (unit, cls, activation, jitter) for the chosen units.

    Subsampling keeps each class's minimum and maximum of every unit, so a local code stays visibly disjoint.
    """
    a = _numpy(acts)
    y = _numpy(labels).astype(np.int64)
    if a.ndim != 2 or y.shape != (a.shape[0],):
        raise ValueError(f"acts must be (N, U) and labels (N,); got {a.shape} and {y.shape}")
    if units is None:
        if a.shape[1] > 64:
            raise ValueError(f"acts has {a.shape[1]} units; pass units=[...] (at most 64 make a usable dropdown)")
        units = list(range(a.shape[1]))
    units = [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < a.shape[1]]
    if bad:
        raise ValueError(f"units {bad} out of range 0..{a.shape[1] - 1}")
    names = _names(units, unit_names, "unit ")
    rng = np.random.default_rng(seed)
    frames = []
    for u, name in zip(units, names, strict=True):
        col = a[:, u]
        keep = np.arange(len(y))
        if max_points_per_class is not None:
            chosen = []
            for c in np.unique(y):
                idx = np.flatnonzero(y == c)
                if len(idx) > max_points_per_class:
                    extremes = [idx[np.argmin(col[idx])], idx[np.argmax(col[idx])]]
                    idx = np.union1d(rng.choice(idx, max_points_per_class, replace=False), extremes)
                chosen.append(idx)
            keep = np.sort(np.concatenate(chosen))
        frames.append(
            pd.DataFrame(
                {
                    "unit": name,
                    "label": y[keep],
                    "activation": col[keep].astype(float),
                    "jitter": rng.uniform(0, 1, len(keep)),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    classes = sorted(np.unique(y).tolist())
    cls_names = dict(zip(classes, _names(classes, class_names, "class "), strict=True))
    data["cls"] = data["label"].map(cls_names)
    return data, names, units


def jitterplot(
    acts,
    labels,
    units=None,
    unit_names=None,
    class_names=None,
    table: pd.DataFrame | None = None,
    title: str | None = None,
    max_points_per_class: int | None = None,
    seed: int = 0,
    k: int = 100,
    width: int = 430,
    height: int = 230,
) -> alt.HConcatChart:
    """Interactive jitterplot: choose a unit, highlight a class, read the unit's measures beside the plot.

    ``acts`` (N, U) and ``labels`` (N,) as for :func:`localcodes.selectivity.unit_table`; ``units`` the columns to
    offer in the dropdown (all when U ≤ 64); ``table`` a precomputed unit table for those columns (indexed by
    column), else it is computed here with precision@``k``. Each point is one example; x is its activation, y is
    jitter. The measures panel lists top-class selectivity, precision, CCMAS, CCMAS_2 and any local code.
    """

    data, names, units = jitter_data(acts, labels, units, unit_names, class_names, max_points_per_class, seed)
    a = _numpy(acts)[:, units]
    y = _numpy(labels).astype(np.int64)
    if table is None:
        table = unit_table(a, y, k=min(k, len(y)), detectors=False)
        table.index = units
    codes = local_codes(a, y)
    codes["unit"] = [units[i] for i in codes["unit"]]
    label_to_name = dict(zip(data["label"], data["cls"], strict=False))

    def class_name(c):
        return label_to_name.get(int(c), f"class {c}")

    top = {name: class_name(table.loc[u, "top_class"]) for u, name in zip(units, names, strict=True)}
    data["is_top"] = [top[u] == c for u, c in zip(data["unit"], data["cls"], strict=True)]
    text_rows = []
    for u, name in zip(units, names, strict=True):
        lines = measure_lines(table.loc[u], codes[codes["unit"] == u], class_name)
        text_rows += [{"unit": name, "line": i, "text": t} for i, t in enumerate(lines)]
    text = pd.DataFrame(text_rows)

    unit_param = alt.param(name="unit", value=names[0], bind=alt.binding_select(options=names, name="unit "))
    class_options = ["top class", "all"] + (sorted(data["cls"].unique()) if data["cls"].nunique() <= 60 else [])
    hl = alt.param(name="highlight", value="top class",
                   bind=alt.binding_select(options=class_options, name="highlight "))
    shown = "(highlight == 'all') || (highlight == 'top class' && datum.is_top) || (datum.cls == highlight)"
    points = (
        alt.Chart(data, width=width, height=height, title=title or "")
        .mark_circle(size=18, opacity=0.75)
        .encode(
            x=alt.X("activation:Q", title="activation"),
            y=alt.Y("jitter:Q", axis=None, title=None),
            color=alt.condition(shown, alt.Color("cls:N", title="class", legend=None), alt.value("#cccccc")),
            order=alt.condition(shown, alt.value(1), alt.value(0)),
            tooltip=["unit:N", "cls:N", alt.Tooltip("activation:Q", format=".4g")],
        )
        .transform_filter("datum.unit == unit")
    )
    panel = (
        alt.Chart(text, width=260, height=height, title="measures of this unit")
        .mark_text(align="left", baseline="middle", fontSize=12)
        .encode(y=alt.Y("line:O", axis=None), text="text:N", x=alt.value(0))
        .transform_filter("datum.unit == unit")
    )
    return alt.hconcat(points, panel).add_params(unit_param, hl).configure_view(stroke=None)


def histogram(
    values,
    groups=None,
    bins: int | np.ndarray = 40,
    log: bool = False,
    title: str | None = None,
    x_title: str = "value",
    width: int = 420,
    height: int = 200,
) -> alt.Chart:
    """Histogram computed with numpy (only bin counts go into the chart); ``groups`` colours sub-histograms."""
    v = _numpy(values).astype(float).ravel()
    if v.size == 0:
        raise ValueError("histogram of an empty array")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite entries")
    edges = np.histogram_bin_edges(v, bins=bins)
    g = np.zeros(v.size, dtype=object) if groups is None else _numpy(groups).ravel()
    if g.shape != v.shape:
        raise ValueError(f"groups must have one entry per value: {g.shape} vs {v.shape}")
    rows = []
    for name in pd.unique(g):
        counts, _ = np.histogram(v[g == name], bins=edges)
        rows.append(pd.DataFrame({"group": str(name), "start": edges[:-1], "end": edges[1:], "count": counts}))
    data = pd.concat(rows, ignore_index=True)
    if log:
        data = data[data["count"] > 0]
    y = alt.Y("count:Q", title="count" + (" (log)" if log else ""), stack=None,
              scale=alt.Scale(type="log") if log else alt.Undefined)
    enc = {"x": alt.X("start:Q", title=x_title), "x2": "end:Q", "y": y,
           "tooltip": ["group:N", "start:Q", "end:Q", "count:Q"]}
    if groups is not None:
        enc["color"] = alt.Color("group:N", title=None)
    return alt.Chart(data, width=width, height=height, title=title or "").mark_bar(opacity=0.7).encode(**enc)


def measure_scatter(
    table: pd.DataFrame,
    x_options: list[str],
    y: str = "top_class_selectivity",
    color: str | None = None,
    tooltip: list[str] | None = None,
    title: str | None = None,
    width: int = 420,
    height: int = 300,
) -> alt.Chart:
    """One point per unit: ``y`` against a measure chosen from ``x_options`` in a dropdown (static-book safe)."""
    missing = [c for c in [*x_options, y, *([color] if color else []), *(tooltip or [])] if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}; it has {list(table.columns)}")
    keep = [y, *([color] if color else []), *(tooltip or [])]
    data = table.reset_index(names="unit_id")
    long = data.melt(id_vars=["unit_id", *dict.fromkeys(keep)], value_vars=x_options, var_name="measure",
                     value_name="score")
    choice = alt.param(name="measure", value=x_options[0],
                       bind=alt.binding_select(options=list(x_options), name="x axis "))
    tips = ["unit_id:Q", alt.Tooltip("score:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".3f")]
    tips += [alt.Tooltip(f"{t}:Q", format=".3g") for t in tooltip or []]
    enc = {
        "x": alt.X("score:Q", title="score of the chosen measure"),
        "y": alt.Y(f"{y}:Q", title=y.replace("_", " ")),
        "tooltip": tips,
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    return (
        alt.Chart(long, width=width, height=height, title=title or "")
        .mark_circle(size=30)
        .encode(**enc)
        .add_params(choice)
        .transform_filter("datum.measure == measure")
    )
