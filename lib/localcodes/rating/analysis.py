"""Paper 001's Table 2 from ratings: how interpretable the panels are, per layer, and whether the interpretable
units are selective.

:func:`unit_summary` and :func:`table2` give, per layer, the share of "yes" answers, the share of units with at
least 80% "yes", the agreement among raters on what they saw, and how often the agreed object is the unit's top
class / CCMAS class; :func:`interpretable_selectivity` asks whether interpretable units are more selective than
the rest. ``PAPER_TABLE2`` holds the paper's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

__all__ = ["PAPER_TABLE2", "canonical_name", "unit_summary", "table2", "interpretable_selectivity"]

# Paper 001, Table 2 (percentages; ± as printed, which are binomial standard errors: e.g. conv5's 21.7% of
# 1332 judgments gives sqrt(.217 * .783 / 1332) = 1.1%)
PAPER_TABLE2 = pd.DataFrame(
    {
        "n_judgments": [1332, 10656, 5181],
        "n_units": [256, 2048, 995],
        "yes_share": [21.7, 21.0, 71.2],
        "yes_share_se": [1.1, 0.4, 0.6],
        "consistent_share": [4.3, 3.1, 59.3],
        "consistent_share_se": [1.3, 0.4, 1.6],
        "agreement": [89.5, 80.4, 96.5],
        "agreement_se": [5.7, 4.1, 0.4],
        "top_class_overlap": [34.1, 23.3, 95.4],
        "top_class_overlap_se": [14.4, 5.9, 0.6],
        "ccmas_overlap": [0.0, 18.9, 94.6],
        "ccmas_overlap_se": [np.nan, 5.9, 0.7],
    },
    index=pd.Index(["conv5", "fc6", "fc8"], name="layer"),
)


def canonical_name(name, synonyms: Mapping[str, str] | Callable[[str], str] | None = None) -> str | None:
    """A named object reduced for comparison: lower case, single spaces, then ``synonyms`` (a mapping or a
    function: the broad class it belongs to, as the paper's raters' answers were grouped by hand)."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = " ".join(str(name).lower().split())
    if not text:
        return None
    if synonyms is None:
        return text
    if callable(synonyms):
        return synonyms(text)
    lowered = {" ".join(k.lower().split()): v for k, v in synonyms.items()}
    return " ".join(str(lowered.get(text, text)).lower().split())


def unit_summary(ratings: pd.DataFrame, synonyms=None, threshold: float = 0.8) -> pd.DataFrame:
    """Per (layer, unit): ``n`` answers, ``yes_share``, ``consistent`` (yes share >= ``threshold``), the modal
    named object among the "yes" answers (``object``; ties go to the alphabetically first) and ``agreement``
    (the share of the "yes" answers that name it)."""
    need = {"layer", "unit", "yes", "named"}
    if not need <= set(ratings.columns):
        raise ValueError(f"ratings needs the columns {sorted(need)}; got {list(ratings.columns)}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1]; got {threshold}")
    r = ratings.assign(
        yes=ratings["yes"].astype(bool), obj=[canonical_name(v, synonyms) for v in ratings["named"]]
    )
    base = r.groupby(["layer", "unit"]).agg(n=("yes", "size"), n_yes=("yes", "sum"))
    base["yes_share"] = base["n_yes"] / base["n"]
    base["consistent"] = base["yes_share"] >= threshold - 1e-12
    named = r[r["yes"] & r["obj"].notna()]
    counts = named.groupby(["layer", "unit", "obj"]).size().rename("count").reset_index()
    counts = counts.sort_values(["layer", "unit", "count", "obj"], ascending=[True, True, False, True])
    modal = counts.drop_duplicates(["layer", "unit"]).set_index(["layer", "unit"])
    base["object"] = modal["obj"]
    base["agreement"] = modal["count"] / base["n_yes"]
    return base


def _share(flags: pd.Series) -> tuple[float, float, int]:
    """Share of True (percent), its binomial standard error (percent) and n."""
    n = int(flags.notna().sum())
    if n == 0:
        return np.nan, np.nan, 0
    p = float(flags.dropna().astype(float).mean())
    return 100 * p, 100 * np.sqrt(p * (1 - p) / n), n


def table2(
    ratings: pd.DataFrame,
    units: pd.DataFrame,
    class_names: Sequence[str] | None = None,
    synonyms=None,
    threshold: float = 0.8,
) -> pd.DataFrame:
    """Paper 001's Table 2 from answers, per layer (percentages, with standard errors).

    ``ratings``: columns ``layer, unit, yes, named`` (as :meth:`RatingStore.frame` gives). ``units``: indexed
    by or with columns ``layer, unit``, holding ``top_class`` and ``ccmas_class`` (class ids, named by
    ``class_names``, or names) for the rated units.

    * ``yes_share`` — "yes" answers over all answers (binomial SE over answers, as the paper's ±);
    * ``consistent_share`` — units with at least ``threshold`` (80%) "yes" (binomial SE over units);
    * ``agreement`` — among consistent units, the share of "yes" answers naming the unit's modal object,
      averaged over units (SE across units);
    * ``top_class_overlap`` / ``ccmas_overlap`` — among consistent units, how often the modal object is the
      unit's top class / CCMAS class (binomial SE over those units). Names are compared after
      :func:`canonical_name` with ``synonyms``, applied to the class names too.
    """
    summ = unit_summary(ratings, synonyms, threshold)
    u = units.reset_index() if "layer" not in units.columns else units
    need = {"layer", "unit", "top_class", "ccmas_class"}
    if not need <= set(u.columns):
        raise ValueError(f"units needs layer, unit, top_class and ccmas_class; got {list(u.columns)}")
    u = u.set_index(["layer", "unit"])[["top_class", "ccmas_class"]]

    def name_of(c):
        if class_names is not None and not isinstance(c, str):
            return canonical_name(class_names[int(c)], synonyms)
        return canonical_name(c, synonyms)

    missing = summ.index.difference(u.index)
    if len(missing):
        raise ValueError(f"units lacks rated units, e.g. {list(missing[:3])}")
    summ = summ.join(u)
    rows = {}
    for layer, g in summ.groupby(level="layer", sort=False):
        r = ratings[ratings["layer"] == layer]
        yes, yes_se, n_j = _share(r["yes"].astype(bool))
        cons, cons_se, n_u = _share(g["consistent"])
        c = g[g["consistent"]]
        agree = 100 * c["agreement"].mean() if len(c) else np.nan
        agree_se = 100 * c["agreement"].std(ddof=1) / np.sqrt(len(c)) if len(c) > 1 else np.nan
        has_obj = c[c["object"].notna()]
        top = pd.Series(
            [o == name_of(t) for o, t in zip(has_obj["object"], has_obj["top_class"], strict=True)],
            dtype=object,
        )
        ccm = pd.Series(
            [o == name_of(t) for o, t in zip(has_obj["object"], has_obj["ccmas_class"], strict=True)],
            dtype=object,
        )
        top_p, top_se, _ = _share(top)
        ccm_p, ccm_se, _ = _share(ccm)
        rows[layer] = {
            "n_judgments": n_j,
            "n_units": n_u,
            "n_consistent": len(c),
            "yes_share": yes,
            "yes_share_se": yes_se,
            "consistent_share": cons,
            "consistent_share_se": cons_se,
            "agreement": agree,
            "agreement_se": agree_se,
            "top_class_overlap": top_p,
            "top_class_overlap_se": top_se,
            "ccmas_overlap": ccm_p,
            "ccmas_overlap_se": ccm_se,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "layer"
    return out


def interpretable_selectivity(
    summary: pd.DataFrame, selectivity: pd.DataFrame, column: str = "top_class_selectivity"
) -> pd.DataFrame:
    """Are interpretable units selective? Per layer: ``column`` of the consistent ("interpretable") units vs
    all rated units — counts, means, medians, the interpretable units' maximum and a two-sided Mann-Whitney U
    test (scipy) of interpretable vs the others.

    ``summary`` from :func:`unit_summary`; ``selectivity`` indexed by or with columns ``layer, unit``.
    """
    s = selectivity.reset_index() if "layer" not in selectivity.columns else selectivity
    if column not in s.columns:
        raise ValueError(f"selectivity has no column {column!r}; it has {list(s.columns)}")
    joined = summary[["consistent"]].join(s.set_index(["layer", "unit"])[[column]], how="inner")
    rows = {}
    for layer, g in joined.groupby(level="layer", sort=False):
        inter, rest = g.loc[g["consistent"], column].dropna(), g.loc[~g["consistent"], column].dropna()
        p = mannwhitneyu(inter, rest).pvalue if len(inter) and len(rest) else np.nan
        rows[layer] = {
            "n_units": len(g),
            "n_interpretable": len(inter),
            "mean_all": g[column].mean(),
            "mean_interpretable": inter.mean() if len(inter) else np.nan,
            "median_all": g[column].median(),
            "median_interpretable": inter.median() if len(inter) else np.nan,
            "max_interpretable": inter.max() if len(inter) else np.nan,
            "mannwhitney_p": p,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "layer"
    return out
