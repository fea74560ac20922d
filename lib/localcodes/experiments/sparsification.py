"""The Locality Prior README's sparsification claim, judged: "the network can be sparsified removing connections which
have a small weight in the W.*P matrix … without a significant loss in accuracy".

"Without a loss" is a non-inferiority claim, so it is judged by a non-inferiority test
(``verdicts.judge_noninferiority``; a gain is never a loss), networks (seeds) as the unit: each network's test
accuracy after pruning its LP (or control) layer to a share of its connections against the same network unpruned
(BatchNorm re-estimated in both, so only the pruning differs), within ``MARGIN``. The claim is judged at the shares
in ``CLAIM_KEEPS`` (half and a tenth of the connections, stated before looking); every other share gets its verdict
in the table. Wire length is reported apart from accuracy (``wire_table``): it is what pruning buys, not part of the
claim.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import verdicts

__all__ = ["MARGIN", "CLAIM_KEEPS", "CRITERION_NAMES", "loss_table", "judge", "sparsest_equivalent", "wire_table",
           "note"]

#: Accuracy lost to pruning that still counts as "no loss": one percentage point (the README's LP-vs-control gap
#: was 0.2 points; a point is five times that and a tenth of a typical class's share among ten classes).
MARGIN = 0.01
#: The shares of connections kept at which the claim is judged: half and a tenth.
CLAIM_KEEPS = (0.5, 0.1)
#: The pruning rules in words.
CRITERION_NAMES = {"magnitude": "|W ⊙ P|", "weight": "|W| (ignoring the prior)",
                   "magnitude x prior": "|W ⊙ P| · P (a distance-aware rule)"}


def _pairs(curve: pd.DataFrame, criterion: str, arm: str, keep: float, bn: str) -> tuple[np.ndarray, np.ndarray]:
    c = curve[(curve["bn"] == bn) & (curve["arm"] == arm)]
    full = c[np.isclose(c["keep"], c["keep"].max())].drop_duplicates("member").set_index("member")["accuracy"]
    pruned = c[(c["criterion"] == criterion) & np.isclose(c["keep"], keep)].set_index("member")["accuracy"]
    both = pruned.index.intersection(full.index)
    return pruned.loc[both].to_numpy(float), full.loc[both].to_numpy(float)


def _rules(curve: pd.DataFrame, rules: tuple[str, str], arm: str, keep: float, bn: str):
    """Accuracy of the same networks pruned by two rules to ``keep``, paired (empty where a rule was not run)."""
    c = curve[(curve["bn"] == bn) & (curve["arm"] == arm) & np.isclose(curve["keep"], keep)]
    a, b = (c[c["criterion"] == r].set_index("member")["accuracy"] for r in rules)
    both = a.index.intersection(b.index)
    return a.loc[both].to_numpy(float), b.loc[both].to_numpy(float)


def _check(columns: dict, v: verdicts.Verdict) -> dict:
    return {**columns, **v.as_dict(), "verdict": str(v)}


def loss_table(curve: pd.DataFrame, bn: str = "recalibrated", margin: float = MARGIN) -> pd.DataFrame:
    """Per pruning rule, arm and share kept: the networks' accuracy unpruned and pruned (means), and the
    non-inferiority verdict on pruned − unpruned (paired by network): no loss beyond ``margin``."""
    if not len(curve):
        raise ValueError("curve is empty: no pruning results to judge")
    rows = []
    c = curve[curve["bn"] == bn]
    top = c["keep"].max()
    for (criterion, arm, keep), _ in c[~np.isclose(c["keep"], top)].groupby(["criterion", "arm", "keep"]):
        pruned, full = _pairs(curve, criterion, arm, keep, bn)
        rows.append(_check({"criterion": criterion, "arm": arm, "keep": float(keep),
                            "unpruned": float(full.mean()), "pruned": float(pruned.mean())},
                           verdicts.judge_noninferiority(pruned, full, margin=margin)))
    return pd.DataFrame(rows)


def sparsest_equivalent(table: pd.DataFrame) -> pd.DataFrame:
    """Per pruning rule and arm: the smallest share kept whose loss is shown to stay within the margin
    (descriptive: the claim itself is judged at ``CLAIM_KEEPS``), NaN where none is."""
    ok = table[table["outcome"] == "reproduced"]
    best = ok.groupby(["criterion", "arm"])["keep"].min()
    return best.reindex(pd.MultiIndex.from_frame(table[["criterion", "arm"]].drop_duplicates())).rename(
        "sparsest share within the margin").reset_index()


def judge(curve: pd.DataFrame, arms: Sequence[str] | None = None, bn: str = "recalibrated",
          margin: float = MARGIN, keeps: Sequence[float] = CLAIM_KEEPS) -> pd.DataFrame:
    """The claims, one row each (``key``, ``claim``, ``arm``, the verdict's columns): for every prior arm, pruned by
    |W ⊙ P| to each share in ``keeps`` without losing more than ``margin``; the same for the control pruned by |W|
    (the contrast: is it the prior that makes the layer prunable?); and, ours, at the smallest share in ``keeps``,
    whether ranking by |W ⊙ P| keeps more accuracy than ranking by the raw |W|. A share or rule that was not run
    gets *not run*."""
    arms = list(arms) if arms is not None else sorted(curve["arm"].unique(), key=lambda a: a != "control")
    rows = []
    for arm in arms:
        rule = "|W ⊙ P|" if arm != "control" else "|W| (control: no prior)"
        for keep in keeps:
            pruned, full = _pairs(curve, "magnitude", arm, keep, bn)
            rows.append(_check(
                {"key": f"sparsify_{keep:g}", "arm": arm,
                 "claim": f"pruned by {rule} to {100 * keep:g} % of its connections, accuracy at most "
                          f"{100 * margin:g} percentage points below the unpruned network's"},
                verdicts.judge_noninferiority(pruned, full, margin=margin)))
        if arm != "control":
            keep = min(keeps)
            by_wp, by_w = _rules(curve, ("magnitude", "weight"), arm, keep, bn)
            rows.append(_check(
                {"key": "wp_beats_w", "arm": arm,
                 "claim": f"(ours) at {100 * keep:g} % of the connections, pruning by |W ⊙ P| keeps more accuracy "
                          "than pruning by |W|"},
                verdicts.judge_difference(by_wp, by_w, expected="greater")))
    return pd.DataFrame(rows)


def wire_table(curve: pd.DataFrame, bn: str = "recalibrated") -> pd.DataFrame:
    """Total wire length Σd of the kept connections (grid units), mean over networks, per rule, arm and share kept:
    what pruning saves, shown apart from the accuracy claim."""
    c = curve[curve["bn"] == bn]
    return c.groupby(["criterion", "arm", "keep"])["length"].mean().unstack("keep").round(0)


def note(margin: float = MARGIN, keeps: Sequence[float] = CLAIM_KEEPS) -> str:
    """How the sparsification claim is judged (Markdown)."""
    return (f"**How the claim is judged.** Each network's test accuracy after pruning against its own accuracy "
            f"unpruned (BatchNorm re-estimated on the same training images in both), paired, with a one-sided "
            f"non-inferiority test at α = 0.05: *reproduced* when the 90 % interval of pruned − unpruned lies above "
            f"−{100 * margin:g} percentage points, *contradicted* when it lies wholly below, *not reproduced* when "
            "the loss is significant and may exceed the margin; networks as the unit. "
            f"The claim is judged at {' and '.join(f'{100 * k:g} %' for k in keeps)} of the connections kept, "
            "chosen before the results; the table gives every share.")
