"""The checks of the chapters of experiments 1–7 and 12 (paper 000): every claim judged with ``localcodes.verdicts``.

Each builder takes a chapter's stored frame of final rows (one row per network: ``code_sweep`` / ``stored_final``,
or experiment 12's sweep) and returns its list of ``checks.check`` rows, so a test can change a frame and see the
outcome change. The unit of analysis is a network; conditions are paired by hidden size and repeat (the same repeat
gives the same seed for code and initial weights in every condition).

Counts of local codes grow with the hidden size, so differences between conditions of experiments 1–7 are tested on
log(1 + count), where an effect is close to a ratio:

* ``LOG_SESOI`` = 0.1 — the smallest effect of interest for "more"/"fewer" (about 10 % more or fewer local codes);
* ``LOG_MARGIN`` = 0.2 — the equivalence margin for "little difference"/"no change" (about ±20 %).

Experiment 12's counts are small (Table 9: 0–1.5 a network) and tested raw: ``DIGIT_SESOI`` = ``DIGIT_MARGIN`` =
0.5 local codes a network; its epochs to 99 % are tested on log(epochs) with ``LOG_SESOI``. Shapes (a peak inside
the range, a − b√P) are judged on per-network points by AIC (``verdicts.judge_shape``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from localcodes import verdicts

from .checks import check
from .reported import FIG7A_FITS

LOG_SESOI = 0.1
LOG_MARGIN = 0.2
DIGIT_SESOI = 0.5
DIGIT_MARGIN = 0.5
P0_MARGIN = 0.1  # where the a − b√P fit reaches zero: ours within ±0.1 of the paper's P
VANISH_SHARE = 0.1  # "vanish": the count at P = 0.4 within 10 % of the count at P = 0 (at least 1 local code)
PEAK_SHAPES = ["constant", "log-linear", "rise-and-fall"]  # candidates against the paper's rise and fall
SQRT_SHAPES = ["linear", "exponential", "sqrt"]  # Fig. 7a: a − b√P against a straight line and an exponential

__all__ = [
    "LOG_SESOI", "LOG_MARGIN", "DIGIT_SESOI", "DIGIT_MARGIN", "P0_MARGIN", "VANISH_SHARE", "pair", "peak_position",
    "hidden_size_checks", "sparseness_checks", "length_checks", "activation_checks", "output_checks",
    "perturbation_checks", "zero_crossing",
]


def pair(final: pd.DataFrame, column: str, a, b, value: str = "lc_pairs",
         on: Sequence[str] = ("width", "repeat")) -> pd.DataFrame:
    """Networks with ``column == a`` and ``column == b`` matched on ``on`` (hidden size and repeat): columns
    ``a`` and ``b`` holding ``value``, one row per pair."""
    left = final[final[column] == a].set_index(list(on))[value]
    right = final[final[column] == b].set_index(list(on))[value]
    return pd.concat({"a": left, "b": right}, axis=1).dropna()


def _log(v) -> np.ndarray:
    return np.log1p(np.asarray(v, dtype=float))


def _means(p: pd.DataFrame, la: str, lb: str) -> str:
    return f"mean {p['a'].mean():.2f} ({la}) vs {p['b'].mean():.2f} ({lb}) over {len(p)} pairs of networks"


def peak_position(x, y) -> float:
    """The hidden size at the maximum of a quadratic in log x fitted to the points (NaN when it opens upwards
    or fewer than three x values)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.unique(x).size < 3:
        return math.nan
    c2, c1, _ = np.polyfit(np.log(x), y, 2)
    return float(np.exp(-c1 / (2 * c2))) if c2 < 0 else math.nan


def _shape(x, y, expected: str, candidates: list[str]) -> verdicts.Verdict:
    with warnings.catch_warnings():  # flat data (no local codes at all) leave a fit's covariance undefined
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        return verdicts.judge_shape(x, y, expected, candidates)


def _aics(x, y, candidates: list[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        return verdicts.aic_table(np.asarray(x, dtype=float), np.asarray(y, dtype=float), candidates)


def _peak_check(finding, key, claim, paper, x, y, what: str) -> dict:
    v = _shape(x, y, "rise-and-fall", PEAK_SHAPES)
    peak = peak_position(x, y)
    where = f"fitted maximum at n_HLN ≈ {peak:.0f}" if np.isfinite(peak) else "no interior maximum in the fit"
    sizes = sorted({int(w) for w in np.asarray(x)})
    return check(finding, key, claim, paper, f"{what} of {len(np.asarray(x))} networks at n_HLN {sizes}; {where}",
                 v)


# --- experiments 1 and 2 (chapter 10) ---------------------------------------------------------------------------

def hidden_size_checks(final: pd.DataFrame, quirk: pd.DataFrame | None = None) -> list[dict]:
    """Experiments 1 and 2: the rise and fall of local codes (and of their share of hidden units) over hidden sizes
    at n_x = 500, more local codes with n_x = 250, and (``quirk``: networks with ``shared_random`` False/True)
    the original code's shared random fill against the paper's independent one."""
    std = final[final["n_x"] == 500]
    out = [
        _peak_check(3, "peak", "the number of local codes rises with n_HLN to a peak inside the range and falls "
                    "after it (n_x = 500)", "Fig. 2a: peak at n_HLN = 1000", std["width"], std["lc_pairs"],
                    "local codes"),
        _peak_check(3, "share_peak", "the share of hidden units that are local codes rises and falls with n_HLN, "
                    "peaking inside the range (n_x = 500)", "Fig. 2a: the share peaks at n_HLN = 500", std["width"],
                    std["lc_share"], "share of units"),
    ]
    p = pair(final, "n_x", 250, 500)
    out.append(check(6, "fewer_examples", "fewer training examples (n_x = 250) give more local codes",
                     "Fig. 2a: n_x = 250 above n_x = 500", _means(p, "n_x = 250", "n_x = 500") + "; log(1 + count)",
                     verdicts.judge_difference(_log(p["a"]), _log(p["b"]), "greater", sesoi=LOG_SESOI)))
    if quirk is not None:
        q = pair(quirk, "shared_random", True, False)
        out.append(check(None, "shared_random", "the original code's shared random fill does not change the number "
                         "of local codes (equivalence)", "not discussed (the text describes independent random "
                         "vectors)", _means(q, "shared", "independent") + "; log(1 + count)",
                         verdicts.judge_equivalence(_log(q["a"]), _log(q["b"]), LOG_MARGIN)))
    return out


# --- experiments 3, 4, 6 (chapters 11, 12, 14) ----------------------------------------------------------------

def _fewer(finding, key, claim, paper, final, column, a, b, la, lb, expected) -> dict:
    p = pair(final, column, a, b)
    return check(finding, key, claim, paper, _means(p, la, lb) + "; log(1 + count)",
                 verdicts.judge_difference(_log(p["a"]), _log(p["b"]), expected, sesoi=LOG_SESOI))


def sparseness_checks(final: pd.DataFrame, label=str) -> list[dict]:
    """Experiment 3: sparser random fills give more local codes — the sparsest against the densest, and each
    step of the ordering (1/9 above 2/9 above 1/3) when three levels were run. ``label``: a level's name."""
    levels = sorted(final["random_weight"].unique())
    out = []
    if len(levels) >= 2:
        s, d = levels[0], levels[-1]
        out.append(_fewer(1, "sparser_more", "sparser random blocks (a larger share of invariant bits) give more "
                          "local codes", "Fig. 2b: S_R = 1/9 above 2/9 above 1/3", final, "random_weight", s, d,
                          label(s), label(d), "greater"))
    if len(levels) >= 3:
        for i, (s, d) in enumerate(zip(levels[:-1], levels[1:], strict=True), 1):
            out.append(_fewer(1, f"sparser_more_step{i}", f"{label(s)} gives more local codes than {label(d)}",
                              "Fig. 2b: each sparser fill above the next", final, "random_weight", s, d, label(s),
                              label(d), "greater"))
    return out


def length_checks(final: pd.DataFrame) -> list[dict]:
    """Experiment 4: fewer local codes at L_x = 1000 than at 500; little difference (equivalence) between 500 and
    each of the shorter lengths (300, 700) that were run."""
    lengths = set(final["length"].unique())
    out = []
    if {500, 1000} <= lengths:
        out.append(_fewer(3, "longest_fewer", "fewer local codes at L_x = 1000 than at 500",
                          "Fig. 9: the curve for L_x = 1000 lies below the others", final, "length", 1000, 500,
                          "L_x = 1000", "L_x = 500", "less"))
    for n, key in ((300, "short_similar"), (700, "similar_700")):
        claim = f"little difference between L_x = {n} and 500 (equivalence)"
        if {500, n} <= lengths:
            p = pair(final, "length", n, 500)
            out.append(check(None, key, claim, "Fig. 9: the curves for 300, 500 and 700 overlap",
                             _means(p, f"L_x = {n}", "L_x = 500") + "; log(1 + count)",
                             verdicts.judge_equivalence(_log(p["a"]), _log(p["b"]), LOG_MARGIN)))
        else:
            out.append(check(None, key, claim, "Fig. 9: the curves for 300, 500 and 700 overlap",
                             f"L_x = {n} not trained at this scale (the paper scale trains it)",
                             verdicts.judge_equivalence([], [], LOG_MARGIN)))
    return out


def output_checks(final: pd.DataFrame) -> list[dict]:
    """Experiment 6: a 1-hot output code gives fewer local codes than the distributed one."""
    return [_fewer(None, "onehot_fewer", "a 1-hot output code gives fewer local codes than a distributed one",
                   "Fig. 5b: the 1-hot curve lies below the distributed curve", final, "output", "onehot",
                   "distributed", "1-hot", "distributed", "less")]


# --- experiment 5 (chapter 13) -------------------------------------------------------------------------------

def activation_checks(final: pd.DataFrame, zero_margin: float = 1.0) -> list[dict]:
    """Experiment 5: the ReLU curve's peak shifted left (more ReLU local codes at the smallest hidden size, left of
    the peaks), little difference overall (equivalence), and the statement "ReLU networks have no local codes"
    (made of experiment 11's four-layer ReLU networks), judged as equivalence of the ReLU count to zero within
    ``zero_margin`` local codes a network."""
    smallest = final["width"].min()
    peaks = {a: peak_position(g["width"], g["lc_pairs"]) for a, g in final.groupby("activation")}
    where = ", ".join(f"{a}: " + (f"≈ {p:.0f}" if np.isfinite(p) else "none inside") for a, p in peaks.items())
    small = pair(final[final["width"] == smallest], "activation", "relu", "sigmoid")
    out = [check(3, "relu_peak_left", f"the ReLU peak is shifted left: left of the peaks (n_HLN = {smallest}) ReLU "
                 "networks have more local codes than sigmoid ones", "Fig. 5a: the ReLU peak is shifted a little "
                 "to the left", _means(small, "ReLU", "sigmoid") + f"; log(1 + count); fitted peaks {where}",
                 verdicts.judge_difference(_log(small["a"]), _log(small["b"]), "greater", sesoi=LOG_SESOI))]
    p = pair(final, "activation", "relu", "sigmoid")
    out.append(check(None, "little_difference", "little difference between ReLU and sigmoid over all hidden sizes "
                     "(equivalence)", "Fig. 5a: the curves are similar apart from the shift",
                     _means(p, "ReLU", "sigmoid") + "; log(1 + count)",
                     verdicts.judge_equivalence(_log(p["a"]), _log(p["b"]), LOG_MARGIN)))
    relu = final.loc[final["activation"] == "relu", "lc_pairs"].to_numpy(float)
    out.append(check(None, "relu_none", "ReLU networks have no local codes (said of experiment 11's four-layer "
                     f"ReLU networks; here: the mean ReLU count within ±{zero_margin:g} of zero)",
                     "§3 (experiment 11, conditions H–S): none; Fig. 5a (three layers): about as many as sigmoid",
                     f"mean {relu.mean() if relu.size else math.nan:.2f} local codes over {relu.size} ReLU networks",
                     verdicts.judge_equivalence(relu, np.zeros_like(relu), zero_margin)))
    return out


# --- experiment 7 (chapter 15) -------------------------------------------------------------------------------

def zero_crossing(p, y, p_max: float = 0.4) -> float:
    """Where a least-squares a − b√P fitted to the points with P ≤ ``p_max`` reaches zero, (a/b)², clipped to
    [0, 1]: 0 when the fit starts at or below zero (a ≤ 0), 1 when it never falls (b ≤ 0)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = p <= p_max + 1e-9
    if np.unique(p[keep]).size < 2:
        return math.nan
    slope, a = np.polyfit(np.sqrt(p[keep]), y[keep], 1)
    b = -slope
    if a <= 1e-9:
        return 0.0  # no local codes from P = 0 on
    if b <= 0:
        return 1.0
    return float(np.clip((max(a, 0.0) / b) ** 2, 0.0, 1.0))


def perturbation_checks(final: pd.DataFrame, p_max: float = 0.4) -> list[dict]:
    """Experiment 7, per hidden size: local codes fall from P = 0 to P = 0.4 (paired by repeat); the fall has the
    shape a − b√P rather than a straight line or an exponential (per-network points, P ≤ ``p_max``); they vanish
    at P = 0.4 (equivalence to zero within ``VANISH_SHARE`` of the count at P = 0, at least 1); and our fit reaches
    zero where the paper's does (per-repeat fits, within ``P0_MARGIN``)."""
    out = []
    for w, g in final.groupby("width"):
        w = int(w)
        levels = sorted(g["perturb"].unique())
        top = max([q for q in levels if q <= p_max + 1e-9], default=math.nan)
        p = pair(g, "perturb", 0.0, top, on=("repeat",))
        out.append(check(1, f"fall_{w}", f"local codes fall from P = 0 to P = {top:g} (n_HLN = {w})",
                         "Fig. 7a: local codes decrease with perturbation", _means(p, "P = 0", f"P = {top:g}")
                         + "; log(1 + count)",
                         verdicts.judge_difference(_log(p["a"]), _log(p["b"]), "greater", sesoi=LOG_SESOI)))
        fit = g[g["perturb"] <= p_max + 1e-9]
        v = _shape(fit["perturb"], fit["lc_pairs"], "sqrt", SQRT_SHAPES)
        table = _aics(fit["perturb"], fit["lc_pairs"], SQRT_SHAPES) if len(fit) >= 4 else {}
        aics = ", ".join(f"{k} {a:.1f}" for k, a in table.items())
        out.append(check(1, f"decrease_{w}", f"local codes decrease with perturbation as a − b√P, not as a straight "
                         f"line or an exponential (n_HLN = {w})", "Fig. 7a: a − b√P up to P = 0.4 (R² ≈ 0.98); "
                         "an exponential fits badly", f"{len(fit)} networks at P ≤ {p_max:g}; AIC {aics}", v))
        at = g[np.isclose(g["perturb"], 0.4)]["lc_pairs"].to_numpy(float)
        base = g[g["perturb"] == 0.0]["lc_pairs"].mean()
        margin = max(1.0, VANISH_SHARE * base) if np.isfinite(base) else 1.0
        out.append(check(1, f"vanish_{w}", f"local codes vanish at P = 0.4 (n_HLN = {w}; equivalence to zero "
                         f"within ±{margin:.2g})", "Fig. 7a: no local codes at P = 0.4",
                         f"mean {at.mean() if at.size else math.nan:.2f} at P = 0.4 vs {base:.2f} at P = 0",
                         verdicts.judge_equivalence(at, np.zeros_like(at), margin)))
        ours = np.array([zero_crossing(r["perturb"], r["lc_pairs"], p_max) for _, r in g.groupby("repeat")])
        fits = FIG7A_FITS.loc[[w]] if w in FIG7A_FITS.index else FIG7A_FITS
        paper = float(((fits["a"] / fits["b"]) ** 2).mean())
        out.append(check(1, f"zero_{w}", f"the a − b√P fit reaches zero where the paper's does (n_HLN = {w}; "
                         f"equivalence within ±{P0_MARGIN:g} in P)", f"Fig. 7a fits reach zero at P ≈ {paper:.2f}",
                         f"per-repeat fits reach zero at P = {', '.join(f'{x:.2f}' for x in ours)}",
                         verdicts.judge_equivalence(ours, np.full_like(ours, paper), P0_MARGIN)))
    return out
