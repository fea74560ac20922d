"""Charts of paper 000's chapters: local codes against hidden size, the a − b√P fits, digit images, and the
figures of experiments 8–11 and 13 (dropout, activation noise, training time, training conditions,
memorisation). Each takes tables the chapter's experiment computed (``localcodes.experiments.paper000``)."""

from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

#: The measures ``experiments.paper000.summarise`` summarises, as the dropdown of ``lc_curve`` names them.
MEASURE_NAMES = {"lc_pairs": "local codes ((unit, class) pairs)", "lc_units": "units with a local code",
                 "lc_share": "share of hidden units with a local code"}


def lc_curve(summary: pd.DataFrame, factor: str, title: str, factor_title: str | None = None,
             labels: dict | None = None, width: int = 430, height: int = 260) -> alt.Chart:
    """Mean ± standard error of a local-code measure against hidden size, one line per level of ``factor``;
    a dropdown chooses the measure (pairs, units, share of units), as paper 000's Figs. 2, 5, 9 (which show
    pairs). ``summary``: per ``factor``, ``width`` and ``measure`` the ``mean, sem, sd, count, train_acc`` of the
    networks (``experiments.paper000.summarise(final, [factor, "width"])``)."""
    s = summary.copy()
    s["sem"] = s["sem"].fillna(0.0)
    s["lo"], s["hi"] = s["mean"] - s["sem"], s["mean"] + s["sem"]
    s["level"] = s[factor].map(labels) if labels else s[factor].astype(str)
    s["measure_name"] = s["measure"].map(MEASURE_NAMES)
    s = s[["level", "width", "measure_name", "mean", "lo", "hi", "sd", "count", "train_acc"]]
    names = list(MEASURE_NAMES.values())
    choice = alt.param(name="measure", value=names[0], bind=alt.binding_select(options=names, name="measure "))
    base = alt.Chart(s, width=width, height=height, title=title).transform_filter("datum.measure_name == measure")
    color = alt.Color("level:N", title=factor_title or factor)
    x = alt.X("width:Q", scale=alt.Scale(type="log"), title="hidden units (n_HLN)")
    line = base.mark_line(point=True).encode(
        x=x, y=alt.Y("mean:Q", title="mean over repeats (± s.e.)"), color=color,
        tooltip=["level:N", "width:Q", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("sd:Q", format=".2f"),
                 "count:Q", alt.Tooltip("train_acc:Q", format=".3f", title="train accuracy")])
    bars = base.mark_errorbar().encode(x=x, y=alt.Y("lo:Q", title="mean over repeats (± s.e.)"), y2="hi:Q",
                                       color=color)
    return (bars + line).add_params(choice)


def sqrt_fit_chart(means: pd.DataFrame, fits: pd.DataFrame, title: str, paper_fits: pd.DataFrame,
                   p_max: float = 0.4) -> alt.LayerChart:
    """Fig. 7a: mean local codes (± s.e.) against perturbation for each hidden size, our a − b√P fits (solid)
    and the paper's (dashed). ``means``: rows ``perturb, width, mean, sem, count``; ``fits`` and ``paper_fits``:
    indexed by hidden size with columns ``a, b``."""
    grid = np.linspace(0, p_max, 41)
    lines = [pd.DataFrame({"P": grid, "LCs": f["a"] - f["b"] * np.sqrt(grid), "curve": f"ours, n_HLN={w}",
                           "source": "ours"}) for w, f in fits.iterrows() if np.isfinite(f["a"])]
    lines += [pd.DataFrame({"P": grid, "LCs": f["a"] - f["b"] * np.sqrt(grid), "curve": f"paper, n_HLN={w}",
                            "source": "paper"}) for w, f in paper_fits.iterrows()]
    lines = pd.concat(lines, ignore_index=True)
    sem = means["sem"].fillna(0.0)
    pts = pd.DataFrame({"P": means["perturb"], "mean": means["mean"], "lo": means["mean"] - sem,
                        "hi": means["mean"] + sem, "sem": sem, "count": means["count"], "width": means["width"],
                        "curve": [f"ours, n_HLN={w}" for w in means["width"]]})
    x = alt.X("P:Q", title="perturbation P (share of prototype ones turned off)")
    y_title = "local codes (pairs), mean over repeats"
    color = alt.Color("curve:N", title=None)
    fit_lines = alt.Chart(lines).mark_line().encode(
        x=x, y=alt.Y("LCs:Q", title=y_title), color=color,
        strokeDash=alt.StrokeDash("source:N", title=None,
                                  scale=alt.Scale(domain=["ours", "paper"], range=[[1, 0], [6, 4]])))
    points = alt.Chart(pts).mark_point(filled=True, size=50).encode(
        x=x, y=alt.Y("mean:Q", title=y_title), color=color,
        tooltip=["width:Q", "P:Q", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("sem:Q", format=".2f"),
                 "count:Q"])
    bars = alt.Chart(pts).mark_errorbar().encode(x=x, y=alt.Y("lo:Q", title=y_title), y2="hi:Q", color=color)
    return (fit_lines + bars + points).properties(width=480, height=280, title=title)


def image_grid(cells: pd.DataFrame, size: int = 112, title: str = "") -> alt.Chart:
    """Greyscale images in a grid: ``cells`` has columns ``row``, ``column`` (labels) and ``image`` (2-D uint8
    arrays). Each image is embedded as a small PNG (a few hundred bytes) rather than one mark per pixel."""
    urls = []
    for img in cells["image"]:
        buf = io.BytesIO()
        pil = Image.fromarray(np.asarray(img, dtype=np.uint8), mode="L")
        pil.resize((size, size), Image.NEAREST).save(buf, format="PNG", optimize=True)
        urls.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    data = pd.DataFrame({"row": cells["row"].astype(str), "column": cells["column"].astype(str), "url": urls})
    return alt.Chart(data, title=title).mark_image(width=size, height=size).encode(
        x=alt.X("column:N", title=None, sort=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("row:N", title=None, sort=None), url="url:N",
    ).properties(width=alt.Step(size + 12), height=alt.Step(size + 12))


def codeword_chart(X: np.ndarray, y: np.ndarray, n_per_class: int, classes=(0, 1, 2), per_class: int = 4
                   ) -> alt.Chart:
    """The ones of the first ``per_class`` codewords of each of ``classes`` (rows) over the code's bits (columns),
    coloured by class: a prototype block shows as a solid run of ones. Codewords are stored class by class,
    ``n_per_class`` each."""
    rows = [i for c in classes for i in range(c * n_per_class, c * n_per_class + per_class)]
    cells = pd.DataFrame([(r, b, int(X[i, b]), int(y[i])) for r, i in enumerate(rows)
                          for b in range(X.shape[1]) if X[i, b]],
                         columns=["codeword", "bit", "on", "class"])
    n = len(rows)
    return alt.Chart(cells, width=640, height=150,
                     title=f"{n} codewords of classes {classes[0]}–{classes[-1]} (ones only)").mark_tick(
        thickness=1, size=10).encode(x=alt.X("bit:Q", scale=alt.Scale(domain=[0, X.shape[1]])),
                                     y=alt.Y("codeword:O", axis=None), color=alt.Color("class:N"))


def dropout_density(dens: pd.DataFrame, final: pd.DataFrame) -> alt.VConcatChart:
    """Figs. 7b and 10: the density of the number of local codes per dropout rate (``dens``: ``group, x,
    density`` from ``density_curves``) over the histogram of counts (``final``: ``dropout %``, ``lc_pairs``);
    a dropdown picks out one rate."""
    dens = dens.copy()
    dens["dropout"] = dens["group"].astype(str) + " %"
    hist = (final.assign(dropout=final["dropout %"].astype(str) + " %")
            .groupby(["dropout", "lc_pairs"]).size().rename("networks").reset_index())
    options = ["all"] + [f"{d} %" for d in sorted(final["dropout %"].unique())]
    pick = alt.param(name="rate", value="all", bind=alt.binding_select(options=options, name="dropout "))
    shown = "rate == 'all' || datum.dropout == rate"
    color = alt.Color("dropout:N", title="dropout", sort=options[1:])
    curves = (alt.Chart(dens, width=520, height=220, title="PDF of the number of local codes")
              .mark_line().encode(x=alt.X("x:Q", title="number of local codes"), y=alt.Y("density:Q"),
                                  color=color, opacity=alt.condition(shown, alt.value(1), alt.value(0.12)),
                                  tooltip=["dropout:N", alt.Tooltip("x:Q", format=".1f"),
                                           alt.Tooltip("density:Q", format=".3f")]))
    bars = (alt.Chart(hist, width=520, height=140, title="networks per count")
            .mark_bar(opacity=0.75).encode(x=alt.X("lc_pairs:Q", title="number of local codes"),
                                           y=alt.Y("networks:Q", stack=None), color=color,
                                           tooltip=["dropout:N", "lc_pairs:Q", "networks:Q"])
            .transform_filter(shown))
    return alt.vconcat(curves, bars).add_params(pick)


def accuracy_scatter(top: pd.DataFrame, title: str) -> alt.Chart:
    """Fig. 4a: train against test accuracy of each network (``top``: ``repeat, lc_pairs, train_acc, test_acc,
    train_pm, test_pm``), coloured by its local codes; a dropdown chooses classification or pattern matching."""
    acc_long = pd.concat([
        top.assign(accuracy="classification", train=top["train_acc"], test=top["test_acc"]),
        top.assign(accuracy="pattern matching", train=top["train_pm"], test=top["test_pm"]),
    ])[["repeat", "lc_pairs", "accuracy", "train", "test"]]
    which_acc = alt.param(name="acc", value="classification",
                          bind=alt.binding_select(options=["classification", "pattern matching"], name="accuracy "))
    return alt.Chart(acc_long, width=380, height=300, title=title).mark_circle(size=60).encode(
        x=alt.X("train:Q", title="train accuracy", scale=alt.Scale(zero=False)),
        y=alt.Y("test:Q", title="test accuracy", scale=alt.Scale(zero=False)),
        color=alt.Color("lc_pairs:Q", title="local codes", scale=alt.Scale(scheme="viridis")),
        tooltip=["repeat:Q", "lc_pairs:Q", alt.Tooltip("train:Q", format=".3f"),
                 alt.Tooltip("test:Q", format=".3f")],
    ).add_params(which_acc).transform_filter("datum.accuracy == acc")


def noise_chart(summ: pd.DataFrame, hidden_sizes) -> alt.LayerChart:
    """Fig. 11: mean local codes (± s.e.) against σ of the activation noise, over the band of σ = 0 (``summ``:
    ``n_hidden, sigma, mean, sem, n, lo, hi``); a dropdown chooses the hidden size."""
    base_band = summ[summ["sigma"] == 0][["n_hidden", "lo", "hi"]]
    band = summ[["n_hidden", "sigma"]].merge(base_band, on="n_hidden")
    sizes = [str(h) for h in hidden_sizes]
    pick = alt.param(name="size", value=sizes[-1], bind=alt.binding_select(options=sizes, name="hidden units "))
    flt = "toString(datum.n_hidden) == size"
    x = alt.X("sigma:Q", title="σ of the activation noise")
    yt = "number of local codes (mean ± s.e.)"
    return alt.layer(
        alt.Chart(band).mark_area(opacity=0.2, color="gray").encode(x=x, y=alt.Y("lo:Q", title=yt), y2="hi:Q")
        .transform_filter(flt),
        alt.Chart(summ).mark_line(point=True).encode(
            x=x, y=alt.Y("mean:Q", title=yt),
            tooltip=["n_hidden:Q", "sigma:Q", alt.Tooltip("mean:Q", format=".2f"),
                     alt.Tooltip("sem:Q", format=".2f"), "n:Q"]).transform_filter(flt),
        alt.Chart(summ).mark_errorbar().encode(x=x, y=alt.Y("lo:Q", title=yt), y2="hi:Q").transform_filter(flt),
    ).properties(width=460, height=280, title="local codes vs activation noise").add_params(pick)


def noise_multiples(summ: pd.DataFrame) -> alt.FacetChart:
    """Mean local codes against σ, one small chart per hidden size."""
    x = alt.X("sigma:Q", title="σ of the activation noise")
    return alt.Chart(summ, width=220, height=160).mark_line(point=True).encode(
        x=x, y=alt.Y("mean:Q", title="local codes (mean)"),
        tooltip=["sigma:Q", alt.Tooltip("mean:Q", format=".2f")]
    ).facet(column=alt.Column("n_hidden:O", title="hidden units")).resolve_scale(y="independent")


def training_chart(mean: pd.DataFrame, acc: pd.DataFrame) -> alt.VConcatChart:
    """Fig. 3: (a) local codes, (b) their differences per epoch, (c) classification and (d) pattern-matching
    accuracy over training, one line per hidden size (``mean``, ``acc`` from ``training_means``)."""
    sel = alt.selection_point(fields=["n_hidden"], bind="legend")
    col = alt.Color("n_hidden:N", title="hidden units")
    op = alt.condition(sel, alt.value(1), alt.value(0.15))
    ex = alt.X("epoch:Q", title="epoch")
    tip = ["n_hidden:N", "epoch:Q", "paper_epoch:Q"]
    w, h = 250, 170
    fa = alt.layer(
        alt.Chart(mean).mark_line().encode(x=ex, y=alt.Y("lc_pairs:Q", title="local codes"), color=col, opacity=op),
        alt.Chart(mean).mark_point(size=30).encode(
            x=ex, y="lc_pairs:Q", color=col, opacity=op, fill=alt.condition("datum.read", col, alt.value("white")),
            tooltip=[*tip, alt.Tooltip("lc_pairs:Q", format=".1f"), alt.Tooltip("train_acc:Q", format=".2f")]),
    ).properties(width=w, height=h, title="(a) local codes (hollow: < 50 % of training set correct)").add_params(sel)
    fb = alt.Chart(mean.dropna(subset=["d_lc"]), width=w, height=h, title="(b) differences").mark_line(
        point=True).encode(x=ex, y=alt.Y("d_lc:Q", title="Δ local codes per epoch"), color=col, opacity=op,
                           tooltip=[*tip, alt.Tooltip("d_lc:Q", format=".3f")])
    dash = alt.StrokeDash("set:N", title="set", sort=["train", "test"])
    fc = alt.Chart(acc[acc["kind"] == "classification"], width=w, height=h,
                   title="(c) classification accuracy").mark_line().encode(
        x=ex, y=alt.Y("accuracy:Q"), color=col, strokeDash=dash, opacity=op,
        tooltip=[*tip, "set:N", alt.Tooltip("accuracy:Q", format=".3f")])
    fd = alt.Chart(acc[acc["kind"] == "pattern matching"], width=w, height=h,
                   title="(d) pattern-matching accuracy").mark_line().encode(
        x=ex, y=alt.Y("accuracy:Q"), color=col, strokeDash=dash, opacity=op,
        tooltip=[*tip, "set:N", alt.Tooltip("accuracy:Q", format=".3f")])
    return alt.vconcat(alt.hconcat(fa, fb), alt.hconcat(fc, fd))


def accuracy_fit_chart(long: pd.DataFrame, min_acc: float) -> alt.LayerChart:
    """Figs. 4b and 12: local codes against test accuracy at every read checkpoint (``long[long["read"]]``), with a
    regression line per hidden size; a dropdown chooses the accuracy."""
    pick_acc = alt.param(name="acc", value="classification",
                         bind=alt.binding_select(options=["classification", "pattern matching"], name="accuracy "))
    sel2 = alt.selection_point(fields=["n_hidden"], bind="legend")
    read = long[long["read"]]
    pts = alt.Chart(read).add_params(pick_acc, sel2).mark_circle(size=22, opacity=0.5).encode(
        x=alt.X("test accuracy:Q", title="test accuracy"), y=alt.Y("lc_pairs:Q", title="local codes"),
        color=alt.Color("n_hidden:N", title="hidden units"),
        opacity=alt.condition(sel2, alt.value(0.6), alt.value(0.05)),
        tooltip=["n_hidden:N", "repeat:Q", "epoch:Q", "lc_pairs:Q", alt.Tooltip("test accuracy:Q", format=".3f")],
    ).transform_filter("datum.accuracy == acc")
    lines = alt.Chart(read).transform_filter("datum.accuracy == acc").transform_regression(
        "test accuracy", "lc_pairs", groupby=["n_hidden"]).mark_line().encode(
        x="test accuracy:Q", y="lc_pairs:Q", color="n_hidden:N",
        opacity=alt.condition(sel2, alt.value(1), alt.value(0.1)))
    return alt.layer(pts, lines).properties(width=480, height=300,
                                            title=f"local codes vs test accuracy (train acc ≥ {min_acc:.0%})")


def conditions_chart(summ: pd.DataFrame, conditions, sizes) -> alt.LayerChart:
    """Fig. 6: mean local codes (± s.e.) per Table 1 condition (``summ``: ``layer, n_hidden, condition,
    activation, mean, sem, n, lo, hi``); dropdowns choose the layer and the first layer's size."""
    layer = alt.param(name="layer", value="both layers", bind=alt.binding_select(
        options=["both layers", "hidden layer 1", "hidden layer 2"], name="layer "))
    size = alt.param(name="nh", value=sizes[0], bind=alt.binding_select(options=sizes, name="first layer units "))
    flt = "datum.layer == layer && datum.n_hidden == nh"
    xcond = alt.X("condition:N", title="condition (Table 1)", sort=list(conditions))
    bars = alt.Chart(summ).mark_bar().encode(
        x=xcond, y=alt.Y("mean:Q", title="local codes (mean ± s.e.)"),
        color=alt.Color("activation:N", scale=alt.Scale(domain=["sigmoid", "relu"], range=["#4c78a8", "#e45756"])),
        tooltip=["condition:N", "layer:N", "n_hidden:Q", alt.Tooltip("mean:Q", format=".2f"),
                 alt.Tooltip("sem:Q", format=".2f"), "n:Q"]).transform_filter(flt)
    errs = alt.Chart(summ).mark_errorbar().encode(x=xcond, y=alt.Y("lo:Q", title="local codes (mean ± s.e.)"),
                                                  y2="hi:Q").transform_filter(flt)
    return alt.layer(bars, errs).properties(width=560, height=280,
                                            title="local codes per training condition").add_params(layer, size)


def table9_chart(t9: pd.DataFrame, conditions) -> alt.FacetChart:
    """Table 9 as bars: our mean local codes per condition and mode, one panel per hidden size."""
    bars = t9.assign(label=t9["condition"] + " · " + t9["mode"])
    return alt.Chart(bars).mark_bar().encode(
        x=alt.X("mean:Q", title="local codes (pairs), mean over repeats"),
        y=alt.Y("condition:N", sort=list(conditions), title=None),
        color=alt.Color("mode:N"), yOffset="mode:N",
        tooltip=["condition:N", "mode:N", "n_hidden:Q", "ours:N", "paper:N",
                 alt.Tooltip("layer 1:Q", format=".2f"), alt.Tooltip("layer 2:Q", format=".2f")],
    ).properties(width=360, height=200).facet(column=alt.Column("n_hidden:O", title="hidden units per layer"))


def memorisation_chart(final: pd.DataFrame, summ: pd.DataFrame, hidden_sizes) -> alt.HConcatChart:
    """Fig. 13: each network's local codes, control and shuffled targets, with the group means; one panel per
    hidden size."""
    points = alt.Chart(final).mark_circle(size=50, opacity=0.7).encode(
        x=alt.X("targets:N", title=None, axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("jit:Q"),
        y=alt.Y("lc_pairs:Q", title="local codes"),
        color=alt.Color("targets:N", scale=alt.Scale(domain=["control", "shuffled"], range=["#d62728", "#1f77b4"])),
        tooltip=["n_hidden:Q", "targets:N", "repeat:Q", "lc_pairs:Q", alt.Tooltip("train_acc:Q", format=".3f")],
    ).transform_calculate(jit="random()")
    means = alt.Chart(summ).mark_tick(color="black", thickness=2, size=30).encode(
        x=alt.X("targets:N", title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("mean:Q", title="local codes"))
    return alt.hconcat(*[
        alt.layer(points.transform_filter(f"datum.n_hidden == {h}"),
                  means.transform_filter(f"datum.n_hidden == {h}"))
        .properties(width=160, height=260, title=f"{h} hidden units") for h in hidden_sizes])
