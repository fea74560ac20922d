"""Charts of the locality prior: the prior itself, per-class maps on the grid, and pruning after training.

Interactive through parameters bound to inputs (sliders, dropdowns), so they keep working in the static book.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import torch

from ..locality import DECAYS, grid_prior

__all__ = ["prior_chart", "prior_matrix_chart", "class_map_chart", "pruning_chart", "sparsification_chart"]


def prior_chart(side: int = 7, decays: Sequence[str] = tuple(DECAYS), title: str | None = None):
    """Interactive heatmap of the prior: choose a neuron (slider) and a decay (dropdown), see its incoming
    prior ``P[neuron, :]`` on the grid. Keep side small (side⁴ · len(decays) rows of inline data)."""
    k = side * side
    rows = []
    for decay in decays:
        p = grid_prior(side, decay).numpy()
        nn_, kk = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        rows.append(pd.DataFrame({"d": decay, "n": nn_.ravel(), "k": kk.ravel(), "p": p.ravel().round(3)}))
    df = pd.concat(rows, ignore_index=True)
    centre = (side // 2) * side + side // 2
    neuron = alt.param(
        name="neuron", value=centre, bind=alt.binding_range(min=0, max=k - 1, step=1, name="neuron ")
    )
    decay = alt.param(
        name="decay", value=decays[0], bind=alt.binding_select(options=list(decays), name="decay ")
    )
    return (
        alt.Chart(df, title=title or f"incoming prior of one neuron on the {side}x{side} grid")
        .add_params(neuron, decay)
        .transform_filter((alt.datum.n == neuron) & (alt.datum.d == decay))
        .transform_calculate(
            row=f"floor(datum.k / {side})",
            col=f"datum.k % {side}",
            which="datum.k == datum.n ? 'the neuron' : ''",
        )
        .mark_rect()
        .encode(
            x=alt.X("col:O", title="grid column"),
            y=alt.Y("row:O", title="grid row"),
            color=alt.Color("p:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="P"),
            tooltip=[
                alt.Tooltip("row:O"),
                alt.Tooltip("col:O"),
                alt.Tooltip("p:Q", title="P", format=".3f"),
                alt.Tooltip("which:N", title=" "),
            ],
        )
        .properties(width=260, height=260)
    )


def prior_matrix_chart(prior: torch.Tensor, title: str = "prior matrix P (row: to, column: from)"):
    """Static heatmap of a whole prior matrix (e.g. the README's 1-D example with 7 units)."""
    p = torch.as_tensor(prior).double().numpy()
    i, j = np.meshgrid(np.arange(p.shape[0]), np.arange(p.shape[1]), indexing="ij")
    df = pd.DataFrame({"to": i.ravel(), "from": j.ravel(), "prior": p.ravel().round(4)})
    return (
        alt.Chart(df, title=title)
        .mark_rect()
        .encode(
            x="from:O",
            y="to:O",
            color=alt.Color("prior:Q", scale=alt.Scale(domain=[0, 1])),
            tooltip=["to", "from", alt.Tooltip("prior:Q", format=".3f")],
        )
        .properties(width=200, height=200)
    )


def class_map_chart(
    res,
    arms: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    block: int = 1,
    title: str | None = None,
):
    """Interactive per-class mean activation maps on the grid: pick a class and a seed; one panel per arm
    (rows) and per layer (columns: the LP layer's input and output). The colour is a unit's share of its
    class's map relative to a uniform map (1 = uniform). ``seeds`` and ``block`` (average block × block
    patches, for display only) keep the inline data small on large grids. ``res``: a result of the locality
    experiment (``config["arms"]``, ``members``, ``maps``, ``side``, ``class_names``)."""
    arms = list(arms or res.config["arms"])
    seeds = sorted(set(int(s) for s in (seeds if seeds is not None else res.members["seed"])))
    if block < 1 or res.side % block:
        raise ValueError(f"block must be a divisor of the grid side {res.side}; got {block}")
    side = res.side // block
    rows = []
    for layer, label in (("lp_in", "input"), ("lp_out", "output")):
        maps = res.maps[layer]  # (M, C, K)
        m_, c_ = maps.shape[:2]
        pooled = maps.reshape(m_, c_, side, block, side, block).mean((3, 5)).reshape(m_, c_, -1).numpy()
        for r in res.members.itertuples():
            if r.arm not in arms or int(r.seed) not in seeds:
                continue
            m = pooled[r.Index] * pooled.shape[-1]  # relative to a uniform map
            c, k = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
            rows.append(
                pd.DataFrame(
                    {
                        "l": label,
                        "a": r.arm,
                        "s": int(r.seed),
                        "c": c.ravel(),
                        "k": k.ravel(),
                        "v": m.ravel().round(2),
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True)
    cls = alt.param(
        name="cls",
        value=0,
        bind=alt.binding_select(
            options=list(range(len(res.class_names))), labels=list(res.class_names), name="class "
        ),
    )
    seed = alt.param(name="seed", value=seeds[0], bind=alt.binding_select(options=seeds, name="seed "))
    size = max(6, 160 // side)
    heat = (
        alt.Chart(df)
        .add_params(cls, seed)
        .transform_filter((alt.datum.c == cls) & (alt.datum.s == seed))
        .transform_calculate(row=f"floor(datum.k / {side})", col=f"datum.k % {side}")
        .mark_rect()
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("v:Q", title="share / uniform", scale=alt.Scale(scheme="inferno")),
            tooltip=[
                alt.Tooltip("a:N", title="arm"),
                alt.Tooltip("l:N", title="layer"),
                alt.Tooltip("row:O"),
                alt.Tooltip("col:O"),
                alt.Tooltip("v:Q", title="share / uniform"),
            ],
        )
        .properties(width=size * side, height=size * side)
    )
    return heat.facet(
        row=alt.Row("a:N", sort=arms, title=None),
        column=alt.Column("l:N", sort=["input", "output"], title="LP/fc layer"),
        title=title or "mean activation map of the chosen class (1 = uniform share)",
    )


def pruning_chart(curve: pd.DataFrame, bn: str = "recalibrated", title: str | None = None):
    """Accuracy (left) and total wire length Σd of the kept connections (right) against the kept fraction,
    mean over seeds per arm and pruning criterion; a dropdown picks the criterion."""
    c = (
        curve[curve["bn"] == bn]
        .groupby(["criterion", "arm", "keep"], as_index=False)[
            ["accuracy", "length", "strength_length_share"]
        ]
        .mean()
    )
    crit = alt.param(
        name="criterion",
        value="magnitude",
        bind=alt.binding_select(options=sorted(c["criterion"].unique()), name="pruning rule "),
    )
    base = (
        alt.Chart(c)
        .add_params(crit)
        .transform_filter(alt.datum.criterion == crit)
        .encode(
            x=alt.X("keep:Q", scale=alt.Scale(type="log"), title="fraction of connections kept"),
            color="arm:N",
            tooltip=[
                "arm",
                "keep",
                alt.Tooltip("accuracy:Q", format=".3f"),
                alt.Tooltip("length:Q", format=".0f"),
            ],
        )
    )
    acc = (
        base.mark_line(point=True)
        .encode(y=alt.Y("accuracy:Q", title="test accuracy"))
        .properties(width=260, height=220)
    )
    wire = (
        base.mark_line(point=True)
        .encode(y=alt.Y("length:Q", title="total wire length Σd (grid units)"))
        .properties(width=260, height=220)
    )
    return alt.hconcat(acc, wire, title=title or "pruning W ⊙ P after training")


def sparsification_chart(table: pd.DataFrame, margin: float, title: str | None = None):
    """Accuracy lost to pruning (pruned − unpruned, percentage points; mean over networks with its 90 % interval)
    against the share of connections kept, per arm, one panel per pruning rule; the dashed line is −``margin``,
    the largest loss that still counts as none (``experiments.sparsification.loss_table``'s rows)."""
    t = table.assign(loss=100 * table["effect"], low=100 * table["ci_low"], high=100 * table["ci_high"])
    t = t[["criterion", "arm", "keep", "loss", "low", "high", "outcome"]]
    enc = {"x": alt.X("keep:Q", scale=alt.Scale(type="log"), title="share of connections kept"),
           "color": alt.Color("arm:N")}
    band = alt.Chart().mark_errorbar(ticks=True).encode(y=alt.Y("low:Q", title="accuracy change (points)"),
                                                         y2="high:Q", **enc)
    line = alt.Chart().mark_line(point=True).encode(
        y="loss:Q", tooltip=["arm", "keep", alt.Tooltip("loss:Q", format=".2f"), "outcome"], **enc)
    rule = alt.Chart().mark_rule(strokeDash=[4, 3], color="grey").encode(y="m:Q").transform_calculate(
        m=f"{-100 * margin}")
    return alt.layer(band, line, rule, data=t).properties(width=230, height=200).facet(
        column=alt.Column("criterion:N", title="pruned by")).properties(
        title=title or f"pruning after training: accuracy change (dashed: −{100 * margin:g} points, the margin)")
