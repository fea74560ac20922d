"""How top-class selectivity, precision@k and CCMAS move with the number of classes: one activation table (or
synthetic units) measured again on random subsets of its classes.

Why they move: top-class selectivity counts the top class's images above the *largest* activation of every other
class, an extreme that grows with the number of other images, so it falls as classes are added (and it can never
be below 1 / the top class's images, since the most active image counts); precision@k asks which class fills the
k most active images, and more classes compete for those k places; CCMAS compares the top class's mean with the
mean of the other classes' means, which does not depend on how many classes there are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...selectivity import unit_table
from ...synthetic import random_units

__all__ = ["MEASURES", "by_class_count", "class_count_means", "synthetic_by_class_count"]

# the measures followed across class counts (unit-table columns)
MEASURES = ("top_class_selectivity", "precision", "ccmas")


def _check_counts(counts, available: int) -> list[int]:
    counts = [int(c) for c in counts]
    if not counts or any(c < 3 for c in counts):
        raise ValueError(f"class counts must be a non-empty list of integers >= 3; got {counts}")
    if max(counts) > available:
        raise ValueError(f"class counts {counts} ask for more classes than the {available} available")
    return sorted(set(counts))


def by_class_count(acts, labels, counts, draws: int = 3, k: int = 100, seed: int = 0) -> pd.DataFrame:
    """Every unit's measures on random subsets of ``counts`` classes (``draws`` subsets each; one when all
    classes are taken), the rows of the other classes left out.

    ``acts`` (N, U), ``labels`` (N,). A unit constant over a subset's rows is dead there: its measures are NaN
    (one rule for every measure). Returns one row per (n_classes, draw, unit): ``n_classes, draw, unit, rows,
    per_class`` (mean images per class) and ``MEASURES``.
    """
    acts = np.asarray(acts)
    labels = np.asarray(labels).astype(np.int64)
    if acts.ndim != 2 or acts.shape[0] != labels.shape[0]:
        raise ValueError(f"acts must be (N, U) with N = len(labels); got {acts.shape} and {labels.shape}")
    if draws < 1:
        raise ValueError(f"draws must be >= 1; got {draws}")
    classes = np.unique(labels)
    counts = _check_counts(counts, len(classes))
    rng = np.random.default_rng(seed)
    parts = []
    for n in counts:
        for d in range(draws if n < len(classes) else 1):
            chosen = np.sort(rng.choice(classes, n, replace=False))
            rows = np.isin(labels, chosen)
            a, y = acts[rows], labels[rows]
            table = unit_table(a, y, k=min(k, len(y)), detectors=False)[list(MEASURES)]
            dead = a.max(0) == a.min(0)
            table.loc[dead, list(MEASURES)] = np.nan
            parts.append(table.rename_axis("unit").reset_index().assign(
                n_classes=n, draw=d, rows=len(y), per_class=len(y) / n))
    cols = ["n_classes", "draw", "unit", "rows", "per_class", *MEASURES]
    return pd.concat(parts, ignore_index=True)[cols]


def class_count_means(frame: pd.DataFrame, group: str = "layer") -> pd.DataFrame:
    """Layer (``group``) means over live units of ``by_class_count``'s rows, averaged over draws, in long
    format: ``group, n_classes, per_class, measure, mean, sd`` (sd across draws; 0 for one draw) and ``live``
    (live units, mean over draws)."""
    keys = [group, "n_classes", "draw"]
    per_draw = frame.groupby(keys).agg(per_class=("per_class", "first"),
                                       live=("ccmas", lambda v: int(v.notna().sum())),
                                       **{m: (m, "mean") for m in MEASURES}).reset_index()
    long = per_draw.melt(id_vars=[*keys, "per_class", "live"], value_vars=list(MEASURES), var_name="measure")
    out = long.groupby([group, "n_classes", "measure"]).agg(
        per_class=("per_class", "mean"), live=("live", "mean"), mean=("value", "mean"),
        sd=("value", lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0)).reset_index()
    return out


def synthetic_by_class_count(counts, n_units: int = 100, n_per_class: int = 100, seed: int = 0) -> pd.DataFrame:
    """``by_class_count`` on synthetic units at each number of classes: ``random_units`` (a preferred class,
    exponential activations; labelled "random units") and a grandmother unit (1 for class 0, 0 otherwise;
    "grandmother unit"), ``n_per_class`` images per class. Returns ``by_class_count``'s rows with ``layer``
    naming the population."""
    counts = _check_counts(counts, 10**6)
    parts = []
    for n in counts:
        acts, y, _ = random_units(n_units, n, n_per_class, seed)
        grand = (y == 0).astype(float)[:, None]
        for name, a in (("random units (synthetic)", acts), ("grandmother unit (synthetic)", grand)):
            parts.append(by_class_count(a, y, [n], draws=1, seed=seed).assign(layer=name))
    return pd.concat(parts, ignore_index=True)
