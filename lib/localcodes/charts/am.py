"""Charts of activation maximisation: how interpretable the observers found each unit against its selectivity."""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["SELECTIVITY_MEASURES", "interpretability_chart"]

SELECTIVITY_MEASURES = ("top_class_selectivity", "precision", "ccmas")


def interpretability_chart(per_unit: pd.DataFrame) -> alt.Chart:
    """Every unit's share of "yes" answers against its selectivity, one point per unit, coloured by layer; a
    dropdown picks the measure, hovering shows the unit, its top class and the object the raters named.

    ``per_unit``: columns ``unit name, layer, yes_share, object, top class`` and the measures.
    """
    long = per_unit.melt(id_vars=["unit name", "layer", "yes_share", "object", "top class"],
                         value_vars=list(SELECTIVITY_MEASURES), var_name="measure", value_name="value")
    pick_measure = alt.param(name="measure", value="top_class_selectivity",
                             bind=alt.binding_select(options=list(SELECTIVITY_MEASURES),
                                                     name="selectivity measure "))
    return alt.Chart(long, width=420, height=260, title="Interpretability (observer panel) vs selectivity").mark_circle(
        size=70, opacity=0.8).encode(
        x=alt.X("value:Q", title="selectivity"), y=alt.Y("yes_share:Q", title="share of 'yes' answers"),
        color=alt.Color("layer:N"), tooltip=["unit name", "layer", "value", "yes_share", "object", "top class"],
    ).add_params(pick_measure).transform_filter("datum.measure == measure")
