"""Experiment 12: MNIST-format digits with hot-pixel invariants (paper 000, Tables 9 and 10).

``digits_data`` builds a network's data set (a balanced subset of the training digits with a class's hot-pixel
block, ``localcodes.data.hot_pixel_condition``), ``digit_conditions`` the sweep's conditions; ``table9``,
``table10`` and ``digit_checks`` put our results beside the paper's and test its claims.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from localcodes import engine, verdicts
from localcodes.data import (
    HOT_PIXEL_CONDITIONS,
    HOT_PIXEL_MODES,
    Digits,
    add_hot_pixels,
    balanced_subset,
    hot_pixel_condition,
    load_digits,
)
from localcodes.store import ResultsStore, results_dir

from .checks import check
from .codes_checks import DIGIT_MARGIN, DIGIT_SESOI, LOG_SESOI, pair
from .reported import TABLE9, TABLE10, table9_long


@functools.lru_cache(maxsize=4)
def train_digits(source: str = "auto") -> Digits:
    """The MNIST-format training digits from ``source`` (``data.load_digits``, no download), loaded once."""
    return load_digits("train", source=source, download=False)


def digit_conditions(conditions: Sequence[str], modes: Sequence[str]) -> list[dict]:
    """Table 9's rows × invariant modes as sweep conditions (``{"invariant": row, "mode": mode}``); "standard"
    (no invariant) is run once, since the mode does not matter without an invariant."""
    bad = [c for c in conditions if c not in HOT_PIXEL_CONDITIONS]
    if bad:
        raise ValueError(f"conditions must be among {list(HOT_PIXEL_CONDITIONS)}; got {bad}")
    bad = [m for m in modes if m not in HOT_PIXEL_MODES]
    if bad or not modes:
        raise ValueError(f"modes must be a non-empty list from {HOT_PIXEL_MODES}; got {list(modes)}")
    out = []
    for c in conditions:
        for m in ([modes[0]] if c == "standard" else modes):
            out.append({"invariant": c, "mode": m})
    return out


def digits_data(invariant: str = "standard", mode: str = "fixed", n_per_class: int = 100, n_pixels: int = 20,
                source: str = "auto", subset_seed: int = 0, seed: int = 0):
    """An ``engine.Dataset`` for experiment 12: a balanced subset of the MNIST-format training digits
    (``n_per_class`` per class, chosen with ``subset_seed`` so every repeat sees the same images) with the
    hot-pixel invariant of ``invariant`` (a Table 9 row, ``data.HOT_PIXEL_CONDITIONS``) and ``mode`` (drawn with
    ``seed``), scaled to [0, 1] and centred on the mean image (the paper's "normalisation from the mean image"),
    with 1-hot targets.

    ``info`` records the data set's name and source (``load_digits``). Images too small for 10 disjoint blocks of
    ``n_pixels`` edge pixels (scikit-learn's 8×8 digits) get the largest blocks that fit.
    """
    full = train_digits(source)
    # a small fallback data set (scikit-learn's digits) may hold fewer images per class than asked for
    n_per_class = int(min(n_per_class, np.bincount(full.labels).min()))
    digits = balanced_subset(full, n_per_class, seed=subset_seed)
    side = digits.images.shape[1] * digits.images.shape[2]
    n_pixels = min(n_pixels, side // digits.n_classes)
    hot = hot_pixel_condition(digits.images, digits.labels, invariant, mode, n_pixels=n_pixels, seed=seed)
    X = hot.images.reshape(len(hot.images), -1).astype(np.float32) / 255.0
    X -= X.mean(0, keepdims=True)
    info = {"data": digits.name, "source": digits.source, "invariant": invariant, "mode": mode,
            "n_pixels": n_pixels, "n_per_class": n_per_class, "coded_share": float(hot.coded.mean())}
    return engine.array_data(X, hot.labels, output="onehot", info=info)


def example_images(source: str = "auto", n_pixels: int = 20, seed: int = 0, classes: Sequence[int] = (0, 1, 2)
                   ) -> pd.DataFrame:
    """One training image of each of ``classes``: as loaded, with the fixed and with a Gaussian invariant (before
    centring): rows ``row, column, image`` for ``charts.paper000.image_grid``."""
    digits = balanced_subset(train_digits(source), 1, seed=seed)
    npx = min(n_pixels, digits.images.shape[1] * digits.images.shape[2] // 10)
    cells = []
    for label, mode in [("as loaded", None), ("fixed invariant", "fixed"), ("Gaussian invariant", "gaussian")]:
        imgs = digits.images if mode is None else add_hot_pixels(digits.images, digits.labels, mode=mode,
                                                                 n_pixels=npx, seed=seed).images
        cells += [{"row": f"class {c}", "column": label, "image": imgs[int(np.flatnonzero(digits.labels == c)[0])]}
                  for c in classes]
    return pd.DataFrame(cells)


def stored_means(scale: str, chapter: str) -> pd.DataFrame | None:
    """Mean local codes and epochs to 99 % per invariant, mode and hidden size of the networks a chapter stored at
    ``scale`` (its ``sweep`` store); None when nothing is stored."""
    store = ResultsStore(results_dir(scale, chapter, create=False) / "sweep")
    if not store.parts():
        return None
    rows = store.read()
    rows = rows[rows["final"]]
    return rows.groupby(["invariant", "mode", "width"])[["lc_pairs", "epochs_to_acc"]].mean().round(2)


def reached_share(final: pd.DataFrame) -> pd.Series:
    """Share of networks per (invariant, mode) that reached 99 % training accuracy within the epoch budget."""
    return final.groupby(["invariant", "mode"])["epochs_to_acc"].apply(lambda v: v.notna().mean())


def _pm(v: pd.Series) -> str:
    sem = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
    return f"{v.mean():.1f}±{sem:.2f}"


def table9(final: pd.DataFrame, modes: Sequence[str]) -> pd.DataFrame:
    """Table 9 long: per condition, mode and hidden size our mean ± s.e. of local codes (``ours``, ``mean``,
    ``layer 1``, ``layer 2``) beside the paper's (``paper``, ``paper mean``, ``paper sem``). Standard digits are
    trained once and listed under every mode."""
    ours = []
    for (inv, mode, w), g in final.groupby(["invariant", "mode", "width"]):
        for m in ([mode] if inv != "standard" else modes):
            ours.append({"condition": inv, "mode": m, "n_hidden": int(w), "ours": _pm(g["lc_pairs"]),
                         "mean": g["lc_pairs"].mean(), "layer 1": g["lc_pairs_h1"].mean(),
                         "layer 2": g["lc_pairs_h2"].mean()})
    ours = pd.DataFrame(ours)
    paper9 = table9_long().rename(columns={"mean": "paper mean", "sem": "paper sem"})
    paper9["paper"] = TABLE9.stack(["mode", "n_hidden"], future_stack=True).to_numpy()
    t9 = ours.merge(paper9, on=["condition", "mode", "n_hidden"], how="left")
    order = {c: i for i, c in enumerate(HOT_PIXEL_CONDITIONS)}
    return t9.sort_values(["mode", "condition"], key=lambda s: s.map(order) if s.name == "condition" else s)


def table9_wide(t9: pd.DataFrame, invariants: Sequence[str]) -> pd.DataFrame:
    """``table9`` as the paper prints it: conditions down, (ours/paper, mode, hidden size) across."""
    return t9.pivot_table(index="condition", columns=["mode", "n_hidden"], values=["ours", "paper"],
                          aggfunc="first", sort=False).reindex([c for c in HOT_PIXEL_CONDITIONS if c in invariants])


def table10(final: pd.DataFrame, invariants: Sequence[str], modes: Sequence[str]) -> pd.DataFrame:
    """Table 10: mean epochs to 99 % training accuracy per condition and mode (averaged over hidden sizes, networks
    that never reached it left out), ours beside the paper's, and each relative to standard digits."""
    ep = final.groupby(["invariant", "mode"])["epochs_to_acc"].mean().unstack("mode")
    for m in modes:
        if m not in ep:
            ep[m] = np.nan
        if "standard" in ep.index:  # standard digits were trained once, under the first mode
            ep.loc["standard", m] = ep.loc["standard", modes[0]]
    t10 = pd.DataFrame(index=[c for c in HOT_PIXEL_CONDITIONS if c in invariants])
    for m in modes:
        t10[f"ours, {m}"] = ep[m].round(1)
        t10[f"paper, {m}"] = TABLE10[m]
        if "standard" in ep.index:
            t10[f"ours ÷ standard, {m}"] = (ep[m] / ep.loc["standard", m]).round(3)
            t10[f"paper ÷ standard, {m}"] = (TABLE10[m] / TABLE10.loc["standard", m]).round(3)
    return t10


def _epochs(final: pd.DataFrame) -> pd.Series:
    """Epochs to 99 % training accuracy; a network that never reached it counts with the epochs it trained (a
    censored value: its true time is longer)."""
    return final["epochs_to_acc"].fillna(final["epoch"]) if "epoch" in final else final["epochs_to_acc"]


def digit_checks(final: pd.DataFrame, invariants: Sequence[str], modes: Sequence[str]) -> list[dict]:
    """The claims of Tables 9 and 10 that the run's conditions can test, judged with ``localcodes.verdicts`` on
    networks paired by hidden size and repeat (the same seeds): local codes raw (``DIGIT_SESOI`` /
    ``DIGIT_MARGIN`` local codes a network), epochs to 99 % on a log scale (``LOG_SESOI``; networks that never
    reached it count with their epoch budget)."""
    final = final.assign(cond=final["invariant"] + "/" + final["mode"], log_epochs=np.log(_epochs(final)))
    std = f"standard/{modes[0]}"  # standard digits are trained once, under the first mode

    def paired_cols(a: str, b: str, value: str) -> pd.DataFrame:
        return pair(final, "cond", a, b, value=value)

    def text(p, la, lb, unit=""):
        return f"mean {p['a'].mean():.2f}{unit} ({la}) vs {p['b'].mean():.2f}{unit} ({lb}) over {len(p)} pairs"

    def epochs_text(p, la, lb):
        return (f"geometric mean {np.exp(p['a'].mean()):.1f} ({la}) vs {np.exp(p['b'].mean()):.1f} ({lb}) epochs "
                f"over {len(p)} pairs; log(epochs)")

    has = set(final["cond"])
    checks = []
    fixed_all, gauss_all = "all images/fixed", "all images/gaussian"
    if std in has:
        z = final.loc[final["cond"] == std, "lc_pairs"].to_numpy(float)
        checks.append(check(1, "standard_none", f"standard digits give no local codes (within ±{DIGIT_MARGIN:g} a "
                            "network)", "Table 9: 0±0", f"mean {z.mean():.2f} over {z.size} networks",
                            verdicts.judge_equivalence(z, np.zeros_like(z), DIGIT_MARGIN)))
    if {std, fixed_all} <= has:
        p = paired_cols(fixed_all, std, "lc_pairs")
        checks.append(check(1, "fixed_invariant_more", "a fixed invariant on all images gives more local codes "
                            "than standard digits", "Table 9: 0.6–1.5 vs 0", text(p, "fixed, all", "standard"),
                            verdicts.judge_difference(p["a"], p["b"], "greater", sesoi=DIGIT_SESOI)))
        p = paired_cols(fixed_all, std, "log_epochs")
        checks.append(check(None, "shortcut_faster", "the invariant is a short-cut: training to 99 % is faster "
                            "with it on all images", "Table 10: 221.7 vs 10,908 epochs",
                            epochs_text(p, "fixed, all", "standard"),
                            verdicts.judge_difference(p["a"], p["b"], "less", sesoi=LOG_SESOI)))
    if {fixed_all, gauss_all} <= has:
        p = paired_cols(gauss_all, fixed_all, "lc_pairs")
        checks.append(check(1, "gaussian_fewer", "a Gaussian (variable) invariant gives fewer local codes than a "
                            "fixed one (all images)", "Table 9: 0 vs 0.6–1.5", text(p, "Gaussian", "fixed"),
                            verdicts.judge_difference(p["a"], p["b"], "less", sesoi=DIGIT_SESOI)))
        p = paired_cols(gauss_all, fixed_all, "log_epochs")
        checks.append(check(None, "gaussian_slower", "a Gaussian invariant takes longer to train than a fixed one "
                            "(all images)", "Table 10: 460.9 vs 221.7 epochs", epochs_text(p, "Gaussian", "fixed"),
                            verdicts.judge_difference(p["a"], p["b"], "greater", sesoi=LOG_SESOI)))
    if {std, gauss_all} <= has:
        p = paired_cols(gauss_all, std, "lc_pairs")
        checks.append(check(1, "gaussian_none", "a Gaussian invariant on all images gives no more local codes than "
                            f"standard digits (equivalence within ±{DIGIT_MARGIN:g})", "Table 9: 0 vs 0",
                            text(p, "Gaussian, all", "standard"),
                            verdicts.judge_equivalence(p["a"], p["b"], DIGIT_MARGIN)))
    if {std, "50% of images/fixed"} <= has:
        p = paired_cols("50% of images/fixed", std, "lc_pairs")
        checks.append(check(1, "half_none", "an invariant on only 50 % of the images gives no more local codes than "
                            f"none (equivalence within ±{DIGIT_MARGIN:g})", "Table 9: 0 vs 0",
                            text(p, "fixed, 50 %", "standard"),
                            verdicts.judge_equivalence(p["a"], p["b"], DIGIT_MARGIN)))
    if {std, "8 categories/fixed"} <= has:
        p = paired_cols("8 categories/fixed", std, "lc_pairs")
        checks.append(check(1, "categories_more", "a fixed invariant on every image of 8 categories gives more local "
                            "codes than standard digits", "Table 9: 0.9–1.4 vs 0", text(p, "8 categories", "standard"),
                            verdicts.judge_difference(p["a"], p["b"], "greater", sesoi=DIGIT_SESOI)))
    return checks
