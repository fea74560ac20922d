"""Charts of the calibration chapter: local codes over training time under each schedule."""

from __future__ import annotations

import altair as alt
import pandas as pd


def curves_chart(curves: pd.DataFrame, width: int = 260, height: int = 200) -> alt.FacetChart:
    """Mean local codes (± s.e.) per network against training time (lr × epoch, log axis), one line per
    schedule, one panel per point (``experiments.calibration.curves``). Equal times are equal lr × epochs."""
    c = curves[curves["time"] > 0].copy()
    c["sem"] = c["sem"].fillna(0.0)
    c["lo"], c["hi"] = (c["mean"] - c["sem"]).clip(lower=0), c["mean"] + c["sem"]
    base = alt.Chart(c, width=width, height=height)
    x = alt.X("time:Q", scale=alt.Scale(type="log"), title="training time (lr × epoch)")
    color = alt.Color("schedule:N", title="schedule")
    line = base.mark_line().encode(
        x=x, y=alt.Y("mean:Q", title="local codes per network"), color=color,
        tooltip=["point:N", "schedule:N", alt.Tooltip("time:Q", format=".3g"), alt.Tooltip("mean:Q", format=".2f"),
                 alt.Tooltip("sem:Q", format=".2f"), "n:Q"])
    band = base.mark_area(opacity=0.15).encode(x=x, y="lo:Q", y2="hi:Q", color=color)
    return alt.layer(band, line).facet(facet=alt.Facet("point:N", title=None), columns=3).resolve_scale(
        y="independent")
