"""Experiment 10: local codes over training time (paper 000, Figs. 3, 4b, 12 and Table 11).

From a sweep's history measured at checkpoints: the curves of each network (``training_curves``), their means
(``training_means``), each network's turning point beside the epochs of 99 % training accuracy and of the test
asymptote (``turning_table``), and the straight-line fits of local codes against test accuracy (``accuracy_fits``,
``table11``). Local codes are read only from the first checkpoint at which a network classifies at least
``min_acc`` of its training set (``mark_read``): earlier, a class with two or three correct examples is easily
disjoint from the few others and the count spikes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .reported import TABLE11
from .statistics import first_reach, fits_by, turning_point

CURVE_COLUMNS = ["n_hidden", "repeat", "data_seed", "epoch", "paper_epoch", "lc_pairs", "lc_units", "train_acc",
                 "test_acc", "train_pm", "test_pm"]
MOMENTS = ["turning_point", "train_acc_99", "test_asymptote", "train_pm_above_0", "test_pm_above_0"]


def training_curves(history: pd.DataFrame, checkpoints: Sequence[int], epoch_scale: int = 1) -> pd.DataFrame:
    """Each network's measurements at ``checkpoints`` (and when it stopped): ``CURVE_COLUMNS``, with
    ``paper_epoch`` = epoch × ``epoch_scale`` (the paper-equivalent epoch of a book-scale run)."""
    curves = history[~history["final"] | history["epoch"].isin(checkpoints)].copy()
    curves = curves.drop_duplicates(["width", "repeat", "epoch"], keep="last")
    curves["n_hidden"] = curves["width"].astype(int)
    curves["paper_epoch"] = curves["epoch"] * epoch_scale
    return curves[CURVE_COLUMNS].sort_values(["n_hidden", "repeat", "epoch"], ignore_index=True)


def mark_read(curves: pd.DataFrame, min_acc: float = 0.5) -> pd.DataFrame:
    """``curves`` with ``lc_read``: the local codes where the network classifies ≥ ``min_acc`` of its training set
    correctly, NaN before."""
    out = curves.copy()
    out["lc_read"] = out["lc_pairs"].where(out["train_acc"] >= min_acc)
    return out


def training_means(curves: pd.DataFrame, min_acc: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Means over the repeats of each hidden size at each checkpoint (``curves`` from ``mark_read``), with
    ``read`` and the differences of the read local codes per epoch ``d_lc``; and the four accuracies in long form
    (``measure, accuracy, set, kind``)."""
    mean = curves.groupby(["n_hidden", "epoch", "paper_epoch"], as_index=False)[
        ["lc_pairs", "lc_read", "train_acc", "test_acc", "train_pm", "test_pm"]].mean()
    mean["read"] = mean["train_acc"] >= min_acc
    mean["d_lc"] = mean.groupby("n_hidden")["lc_read"].diff() / mean.groupby("n_hidden")["epoch"].diff()
    acc = mean.melt(id_vars=["n_hidden", "epoch", "paper_epoch"], value_vars=["train_acc", "test_acc", "train_pm",
                    "test_pm"], var_name="measure", value_name="accuracy")
    acc["set"] = np.where(acc["measure"].str.startswith("train"), "train", "test")
    acc["kind"] = np.where(acc["measure"].str.endswith("_pm"), "pattern matching", "classification")
    return mean, acc


def rising_share(curves: pd.DataFrame) -> tuple[float, int]:
    """The share of networks whose read local codes end higher than they start, and how many networks were read."""
    read = curves.dropna(subset=["lc_read"]).groupby(["n_hidden", "repeat"])
    first_last = read.agg(first=("lc_read", "first"), last=("lc_read", "last"))
    rising = (first_last["last"] > first_last["first"]).mean() if len(first_last) else float("nan")
    return rising, len(first_last)


def turning_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Per network: the turning point of its read local-code curve (``turning_point`` with a centred 3-checkpoint
    average, half the peak slope), the first epochs of ≥ 99 % training accuracy, of test accuracy within one point
    of its final value, and of pattern-matching accuracy above 0 (training, test); its final local codes and
    epochs."""
    rows = []
    for (h, r), g in curves.groupby(["n_hidden", "repeat"]):
        x = g["epoch"].to_numpy(float)
        ok = g.dropna(subset=["lc_read"])
        rows.append({
            "n_hidden": h, "repeat": r,
            "turning_point": turning_point(ok["epoch"].to_numpy(float), ok["lc_read"], frac=0.5, window=3)
            if len(ok) >= 3 else np.nan,
            "train_acc_99": first_reach(x, g["train_acc"], 0.99),
            "test_asymptote": first_reach(x, g["test_acc"], g["test_acc"].iloc[-1] - 0.01),
            "train_pm_above_0": first_reach(x, g["train_pm"], 0.0, strict=True),
            "test_pm_above_0": first_reach(x, g["test_pm"], 0.0, strict=True),
            "final_lc": g["lc_pairs"].iloc[-1], "epochs": x.max(),
        })
    return pd.DataFrame(rows)


def turning_medians(turning: pd.DataFrame, epoch_scale: int = 1) -> pd.DataFrame:
    """The median of each moment of ``turning_table`` per hidden size, in paper-equivalent epochs."""
    return turning.groupby("n_hidden")[MOMENTS].median().mul(epoch_scale if epoch_scale > 1 else 1).round(0) \
        .rename_axis(index="hidden units (median, paper-equivalent epochs)")


def turning_agreement(turning: pd.DataFrame) -> str:
    """In words: how often a turning point was found, its rank correlation with the epoch of 99 % training
    accuracy and the median gap between the two (a share of the training run)."""
    both = turning.dropna(subset=["turning_point", "train_acc_99"])
    found = turning["turning_point"].notna().mean()
    text = [f"A turning point was found for **{found:.0%}** of the networks."]
    if len(both) >= 3 and both["turning_point"].nunique() > 1 and both["train_acc_99"].nunique() > 1:
        rho = stats.spearmanr(both["turning_point"], both["train_acc_99"])
        text.append(f"Across networks, the turning point and the epoch of 99 % training accuracy have Spearman "
                    f"ρ = {rho.statistic:.2f} (p = {rho.pvalue:.2g}, {len(both)} networks).")
    if len(both):
        gap = (both["turning_point"] - both["train_acc_99"]) / both["epochs"]
        text.append(f"The turning point comes a median **{gap.median():+.0%}** of the training run after the "
                    "network reaches 99 % training accuracy (negative: before).")
    return " ".join(text)


def accuracy_fits(curves: pd.DataFrame, min_acc: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Local codes against test accuracy at every checkpoint (long: ``accuracy`` classification or pattern
    matching, ``test accuracy``, ``read``), and one ``linear_fit`` per accuracy and hidden size, on the read
    checkpoints (first, ``checkpoints`` = "train acc >= …") and on all of them."""
    long = curves.melt(id_vars=["n_hidden", "repeat", "epoch", "lc_pairs", "train_acc"],
                       value_vars=["test_acc", "test_pm"], var_name="which", value_name="test accuracy")
    long["accuracy"] = long["which"].map({"test_acc": "classification", "test_pm": "pattern matching"})
    long["read"] = long["train_acc"] >= min_acc
    fits = pd.concat([
        fits_by(long[long["read"]], ["accuracy", "n_hidden"], "test accuracy", "lc_pairs").assign(
            checkpoints=f"train acc >= {min_acc:.0%}"),
        fits_by(long, ["accuracy", "n_hidden"], "test accuracy", "lc_pairs").assign(checkpoints="all"),
    ], ignore_index=True)
    return long, fits


def table11(fits: pd.DataFrame) -> pd.DataFrame:
    """Our fits beside the paper's Table 11, for display (rounded, p as text, blanks for missing values)."""
    t11 = fits.merge(TABLE11, on=["accuracy", "n_hidden"], how="outer", suffixes=("", " paper"))
    t11 = t11[["accuracy", "n_hidden", "checkpoints", "gradient", "intercept", "r2", "p", "n", "gradient paper",
               "intercept paper", "r2 paper", "note"]].sort_values(["accuracy", "n_hidden", "checkpoints"])
    t11 = t11.round({"gradient": 1, "intercept": 2, "r2": 3})
    t11["n"] = t11["n"].astype("Int64")
    t11["p"] = t11["p"].map(lambda v: f"{v:.2g}")
    return t11.astype(object).where(t11.notna(), "").set_index(["accuracy", "n_hidden", "checkpoints"])
