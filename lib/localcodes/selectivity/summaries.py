"""Summaries of unit tables across layers, as in paper 001 (*Selectivity metrics can overestimate the
selectivity of units: a case study on AlexNet*): its Tables 1, A1 and A2, the class agreement between measures
and the exponential-vs-normal fit of App. A3, with the paper's reported numbers to compare with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .detectors import DETECTOR_COLUMNS

__all__ = [
    "layer_means",
    "threshold_shares",
    "extreme_units",
    "class_agreement",
    "detector_means",
    "fit_exponential_vs_normal",
    "PAPER001_TABLE1",
    "PAPER001_TABLE_A2",
    "PAPER001_AGREEMENT",
]

# Paper 001, Table 1: % of units over thresholds (AlexNet, 721,536 correctly classified ImageNet images)
PAPER001_TABLE1 = pd.DataFrame(
    {
        "precision > 50%": [99.7, 75.4, 4.5, 3.0, 4.7],
        "precision > 75%": [99.6, 32.8, 0.3, 0.1, 0.0],
        "CCMAS > 0.7": [100.0, 99.9, 99.9, 99.7, 3.4],
        "CCMAS > 0.8": [100.0, 97.2, 92.1, 86.7, 0.0],
        "CCMAS > 0.9": [100.0, 84.5, 5.0, 6.7, 0.0],
        "TCS > 5%": [100.0, 23.6, 0.1, 0.0, 0.0],
    },
    index=pd.Index(["prob", "fc8", "fc7", "fc6", "conv5"], name="layer"),
)
# Paper 001, Table A2: layer means (CCMASN is their normalised CCMAS; precision and TCS in %)
PAPER001_TABLE_A2 = pd.DataFrame(
    {
        "ccmas": [0.999309, 0.995644, 0.847799, 0.8439226, 0.491029],
        "ccmas_minmax": [0.984169, 1.002905, 0.830854, 0.821118, 0.464662],
        "precision": [99.7, 70.1, 15.4, 12.1, 9.6],
        "top_cluster_size": [592.5, 108.4, 20.3, 17.4, 17.3],
        "top_class_selectivity": [82.1, 5.1, 0.23, 0.19, 0.17],
    },
    index=pd.Index(["prob", "fc8", "fc7", "fc6", "conv5"], name="layer"),
)
# Paper 001 §3.2: % of units whose top class and CCMAS class are the same (chance 0.1% with 1000 classes)
PAPER001_AGREEMENT = pd.Series({"conv5": 0.0, "fc6": 9.8, "fc8": 83.5}, name="TCS class = CCMAS class (%)")


def _counts_of(labels) -> pd.Series:
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    return pd.Series(np.bincount(y - y.min()), index=np.arange(y.min(), y.max() + 1))


def _with_cluster(table: pd.DataFrame, class_counts: pd.Series | None) -> pd.DataFrame:
    t = table.copy()
    if class_counts is not None:  # top cluster size = TCS x number of (correct) examples of the top class
        t["top_cluster_size"] = np.rint(t["top_class_selectivity"] * class_counts.reindex(t["top_class"]).values)
    return t


def layer_means(tables: dict[str, pd.DataFrame], labels=None) -> pd.DataFrame:
    """Paper 001's Table A2: per layer the mean CCMAS, min-max CCMAS, precision (%), top cluster size (needs
    ``labels``) and top-class selectivity (%); dead units (NaN CCMAS) are left out of the CCMAS means and counted."""
    counts = None if labels is None else _counts_of(labels)
    rows = {}
    for layer, table in tables.items():
        t = _with_cluster(table, counts)
        row = {
            "units": len(t),
            "dead units": int(t["ccmas"].isna().sum()),
            "ccmas": t["ccmas"].mean(),
            "ccmas_minmax": t["ccmas_minmax"].mean(),
            "precision": 100 * t["precision"].mean(),
            "top_class_selectivity": 100 * t["top_class_selectivity"].mean(),
        }
        if "top_cluster_size" in t:
            row["top_cluster_size"] = t["top_cluster_size"].mean()
        rows[layer] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def threshold_shares(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Paper 001's Table 1: % of each layer's units with precision > 50% / 75%, CCMAS > 0.7 / 0.8 / 0.9 and
    top-class selectivity > 5% (dead units count as not over any threshold)."""
    rows = {}
    for layer, t in tables.items():
        rows[layer] = {
            "precision > 50%": 100 * (t["precision"] > 0.5).mean(),
            "precision > 75%": 100 * (t["precision"] > 0.75).mean(),
            "CCMAS > 0.7": 100 * (t["ccmas"] > 0.7).mean(),
            "CCMAS > 0.8": 100 * (t["ccmas"] > 0.8).mean(),
            "CCMAS > 0.9": 100 * (t["ccmas"] > 0.9).mean(),
            "TCS > 5%": 100 * (t["top_class_selectivity"] > 0.05).mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def extreme_units(tables: dict[str, pd.DataFrame], labels=None) -> pd.DataFrame:
    """Paper 001's Table A1: per layer the unit with the highest CCMAS, precision and top-class selectivity
    (ties: the lowest unit number), with all its measures; ``name`` is ``layer.unit``."""
    counts = None if labels is None else _counts_of(labels)
    rows = []
    for criterion, col in (("top CCMAS", "ccmas"), ("top precision", "precision"),
                           ("top class selectivity", "top_class_selectivity")):
        for layer, table in tables.items():
            t = _with_cluster(table, counts)
            if t[col].notna().sum() == 0:
                continue
            unit = int(t[col].idxmax())
            rows.append({"criterion": criterion, "layer": layer, "unit": unit, "name": f"{layer}.{unit}",
                         **t.loc[unit].to_dict()})
    return pd.DataFrame(rows)


def class_agreement(tables: dict[str, pd.DataFrame], n_classes: int | None = None) -> pd.DataFrame:
    """% of units whose measures pick the same class (top class vs CCMAS class, vs precision class, precision vs
    CCMAS class; dead units left out where CCMAS is involved), and the chance level 1/``n_classes`` in %."""
    rows = {}
    for layer, t in tables.items():
        live = t["ccmas"].notna()
        rows[layer] = {
            "TCS class = CCMAS class": 100 * (t["top_class"] == t["ccmas_class"])[live].mean(),
            "TCS class = precision class": 100 * (t["top_class"] == t["precision_class"]).mean(),
            "precision class = CCMAS class": 100 * (t["precision_class"] == t["ccmas_class"])[live].mean(),
        }
        if n_classes:
            rows[layer]["chance"] = 100 / n_classes
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def detector_means(tables: dict[str, pd.DataFrame], precision_above: float = 0.75) -> pd.DataFrame:
    """Per layer: the mean precision and detector measures (fractions, as in the unit table) over live units, and
    over the units whose precision exceeds ``precision_above`` (Zhou et al.'s "object detectors" at 0.75), with
    how many units each mean is over. Dead units (constant activation: NaN detector measures) are counted apart."""
    cols = ["precision", *DETECTOR_COLUMNS]
    rows = {}
    for layer, t in tables.items():
        live = t[t["max_informedness"].notna()]
        hi = live[live["precision"] > precision_above]
        rows[layer] = {"units": len(t), "dead units": len(t) - len(live), **live[cols].mean().to_dict(),
                       f"units with precision > {precision_above:g}": len(hi),
                       **{f"{c} (precision > {precision_above:g})": hi[c].mean() for c in cols}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def fit_exponential_vs_normal(values) -> pd.DataFrame:
    """Maximum-likelihood exponential and normal fits to ``values`` (paper 001, App. A3), compared by
    log-likelihood, AIC and the Kolmogorov-Smirnov statistic (scipy.stats). The exponential is fitted with its
    location at the smallest value (a shifted exponential, as for non-zero ReLU activations)."""
    from scipy import stats  # scipy is slow to import and only this fit needs it

    v = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64).ravel()
    if v.size < 3:
        raise ValueError(f"values must hold at least 3 numbers to fit distributions; got {v.size}")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite entries")
    rows = {}
    for name, dist in (("exponential", stats.expon), ("normal", stats.norm)):
        params = dist.fit(v)
        loglik = float(np.sum(dist.logpdf(v, *params)))
        rows[name] = {
            "loc": params[0],
            "scale": params[1],
            "log_likelihood": loglik,
            "aic": 2 * len(params) - 2 * loglik,
            "ks_statistic": float(stats.kstest(v, dist.cdf, args=params).statistic),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fit")
