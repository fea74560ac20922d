"""Paper 001's Table 2 claims (how interpretable activation-maximisation panels are, layer by layer), judged with
``localcodes.verdicts``.

One network is rated, so the **visualised unit** is the unit of analysis (as in the AlexNet chapter): a share of
units ("consistently interpretable": at least 80 % of the raters said "yes") is judged with exact tests — against
the number the paper states by a binomial test (``verdicts.judge_proportion``), against another layer by Fisher's
test (``verdicts.judge_two_proportions``); the top-class selectivity of the interpretable units against 10 % by a
one-sample t-test. Each layer's share also gets a 95 % Wilson interval (``shares``). The verdicts speak
for this network and these raters; the chapter says who the raters were.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ... import verdicts
from ...rating import PAPER_TABLE2, canonical_name
from ..paper000.checks import check

__all__ = ["HIDDEN", "TCS_CEILING", "shares", "table2_checks"]

HIDDEN = ("conv5", "fc6")
#: "Interpretable hidden units were not selective": every one had top-class selectivity below 10 %.
TCS_CEILING = 0.10


def _paper(layer: str, column: str) -> str:
    r = PAPER_TABLE2.loc[layer]
    return f"{r[column]:.1f} ± {r[column + '_se']:.1f} %"


def shares(summary: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Per layer: units rated, units consistently interpretable, their share and its 95 % Wilson interval, beside
    the paper's share (``summary``: ``rating.unit_summary``)."""
    rows = {}
    for layer in layers:
        if layer not in summary.index.get_level_values("layer"):
            continue
        flags = summary.loc[layer, "consistent"].astype(bool)
        k, n = int(flags.sum()), int(flags.size)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        rows[layer] = {"units rated": n, "consistently interpretable": k, "share": k / n,
                       "95% interval (Wilson)": f"{ci.low:.1%} – {ci.high:.1%}",
                       "paper 001": (_paper(layer, "consistent_share") if layer in PAPER_TABLE2.index else "—")}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "layer"
    return out


def _flags(summary: pd.DataFrame, layer: str) -> np.ndarray:
    if layer not in summary.index.get_level_values("layer"):
        return np.array([])
    return summary.loc[layer, "consistent"].astype(float).to_numpy()


def _kn(flags: np.ndarray) -> tuple[int, int]:
    return int(flags.sum()), int(flags.size)


def table2_checks(summary: pd.DataFrame, units: pd.DataFrame, class_names: Sequence[str]) -> list[dict]:
    """The Table 2 claims as check rows (``paper000.checks.check``): most fc8 units and fewer than 5 % of conv5
    and fc6 units are consistently interpretable; fc8 more than each hidden layer; in fc8 the agreed object is
    mostly the unit's top class; the interpretable hidden units have top-class selectivity under 10 %.
    ``summary``: ``rating.unit_summary``; ``units``: the rated units' measures indexed by (layer, unit)."""
    out = []
    fc8 = _flags(summary, "fc8")
    if fc8.size:
        out.append(check(None, "table2_fc8_most", "Most fc8 units are consistently interpretable (≥ 80 % of the "
                         "raters see an object)", _paper("fc8", "consistent_share"),
                         f"{fc8.mean():.1%} of {fc8.size} units", verdicts.judge_proportion(*_kn(fc8), 0.5)))
    for layer in HIDDEN:
        x = _flags(summary, layer)
        if not x.size:
            continue
        out.append(check(None, f"table2_{layer}_few", f"Fewer than 5 % of {layer} units are consistently "
                         "interpretable", _paper(layer, "consistent_share"), f"{x.mean():.1%} of {x.size} units",
                         verdicts.judge_proportion(*_kn(x), 0.05, "less")))
        if fc8.size:
            out.append(check(None, f"table2_fc8_above_{layer}", f"fc8 has a larger share of consistently "
                             f"interpretable units than {layer}", f"{_paper('fc8', 'consistent_share')} vs "
                             f"{_paper(layer, 'consistent_share')}", f"{fc8.mean():.1%} vs {x.mean():.1%}",
                             verdicts.judge_two_proportions(*_kn(fc8), *_kn(x))))
    joined = summary.join(units[["top_class", "top_class_selectivity"]], how="inner")
    c8 = joined[joined["consistent"] & joined["object"].notna()]
    c8 = c8[c8.index.get_level_values("layer") == "fc8"]
    if len(summary) and fc8.size:
        same = np.array([o == canonical_name(class_names[int(t)]) for o, t in zip(c8["object"], c8["top_class"],
                                                                                   strict=True)], dtype=float)
        out.append(check(None, "table2_fc8_top_class", "For most consistently interpretable fc8 units the agreed "
                         "object is the unit's top class", _paper("fc8", "top_class_overlap"),
                         f"{same.mean():.1%} of {same.size} units" if same.size else "no such unit",
                         verdicts.judge_proportion(*_kn(same), 0.5)))
    hidden = joined[joined["consistent"] & joined.index.get_level_values("layer").isin(HIDDEN)]
    tcs = hidden["top_class_selectivity"].to_numpy(float)
    out.append(check(None, "table2_hidden_not_selective", "Consistently interpretable hidden units (conv5, fc6) "
                     "have top-class selectivity under 10 %", "every one under 10 %, mostly under 1 %",
                     f"{tcs.size} such units" + (f", highest {tcs.max():.1%}" if tcs.size else ""),
                     verdicts.judge_difference(tcs, np.full(tcs.size, TCS_CEILING), "less")))
    return out
