"""The statistics of paper 000's chapters (scipy where a well-kept routine exists).

* ``sqrt_fit`` — the a − b√P fit of Fig. 7a (``scipy.optimize.curve_fit``);
* ``mean_sem``, ``summary_stats`` — group means with standard errors, sd, min, max and counts (Table 2);
* ``welch`` — Welch's t-test between two groups; ``paired`` — paired t-test between two conditions over networks
  of matching hidden size and repeat; ``compare_groups`` — means, relative change and a Mann–Whitney U test;
* ``peak_width`` — the hidden size where a mean curve peaks;
* ``ks_table`` — pairwise two-sample Kolmogorov–Smirnov tests, "Reject" / "Do not reject" (Tables 3–7);
* ``density_curves`` — a probability density per group (``scipy.stats.gaussian_kde``; Figs. 7b, 10);
* ``turning_point`` — where a rising curve stops rising quickly, from first differences (Fig. 3b);
  ``first_reach`` — the first x at which a curve reaches a threshold;
* ``linear_fit``, ``fits_by`` — least-squares lines with R² and p (``scipy.stats.linregress``; Table 11);
* ``contrast_table`` — pairs of conditions, does the paper's "fewer" have fewer (experiment 11).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .reported import TABLE1_CONTRASTS


def sqrt_fit(p, y, p_max: float = 0.4) -> dict:
    """Least-squares fit y ≈ a − b·√p on the points with p ≤ ``p_max`` (paper 000, Fig. 7a).

    Returns ``a``, ``b``, their standard errors, ``r2`` (1 − SS_res/SS_tot on the fitted points) and ``n``.
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(f"p and y must be 1-D of equal length; got {p.shape} and {y.shape}")
    if (p < 0).any():
        raise ValueError("p (perturbation) must be >= 0")
    keep = p <= p_max
    if len(np.unique(p[keep])) < 2:
        raise ValueError(f"need at least two distinct p <= p_max={p_max} to fit a − b√p")
    x, t = np.sqrt(p[keep]), y[keep]
    with warnings.catch_warnings():  # an exact fit (e.g. no local codes at all) has no covariance: se is NaN
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        (a, b), cov = optimize.curve_fit(lambda s, a, b: a - b * s, x, t, p0=(t.max(), 1.0))
    resid = t - (a - b * x)
    ss_tot = ((t - t.mean()) ** 2).sum()
    r2 = 1.0 - (resid**2).sum() / ss_tot if ss_tot > 0 else float("nan")
    se = np.sqrt(np.diag(cov)) if np.isfinite(cov).all() else np.array([np.nan, np.nan])
    return {"a": float(a), "b": float(b), "a_se": float(se[0]), "b_se": float(se[1]), "r2": float(r2),
            "n": int(keep.sum())}


def mean_sem(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, standard error (scipy ``sem``; NaN for one repeat), sd, min, max and count of ``value`` per group."""
    g = frame.groupby(by, sort=True)[value]
    out = g.agg(["mean", "std", "min", "max", "count"])
    out["sem"] = g.agg(lambda v: stats.sem(v) if len(v) > 1 else np.nan)
    return out.reset_index()


def welch(a, b) -> dict:
    """Welch's two-sample t-test (scipy): ``t``, ``p``, and the two means."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return {"t": np.nan, "p": np.nan, "mean_a": a.mean() if len(a) else np.nan,
                "mean_b": b.mean() if len(b) else np.nan}
    res = stats.ttest_ind(a, b, equal_var=False)
    return {"t": float(res.statistic), "p": float(res.pvalue), "mean_a": float(a.mean()), "mean_b": float(b.mean())}


def paired(final: pd.DataFrame, column: str, a, b, value: str = "lc_pairs",
           on: Sequence[str] = ("width", "repeat"), scale: str = "log") -> dict:
    """Condition ``column == b`` against ``column == a`` on networks paired by hidden size and repeat (the same
    seeds), with scipy's paired t-test: ``mean_a, mean_b, diff`` (b − a, raw counts), ``t, p, n``.

    ``scale="log"`` (default) tests the differences of log(1 + count): local-code counts grow with the hidden
    size, so a condition's effect is closer to a ratio than to a fixed difference, and raw differences would let the
    largest networks' spread swamp the rest. ``scale="raw"`` tests the counts themselves. A difference that is the
    same for every pair has no spread: p = 1 if it is zero, 0 otherwise.
    """
    if scale not in ("log", "raw"):
        raise ValueError(f"scale must be 'log' or 'raw'; got {scale!r}")
    left = final[final[column] == a].set_index(list(on))[value]
    right = final[final[column] == b].set_index(list(on))[value]
    both = pd.concat({"a": left, "b": right}, axis=1).dropna()
    n = len(both)
    raw = (both["b"] - both["a"]).to_numpy(float)
    xa, xb = (np.log1p(both["a"]), np.log1p(both["b"])) if scale == "log" else (both["a"], both["b"])
    d = (xb - xa).to_numpy(float)
    out = {"mean_a": float(both["a"].mean()) if n else np.nan, "mean_b": float(both["b"].mean()) if n else np.nan,
           "diff": float(raw.mean()) if n else np.nan, "n": n, "t": np.nan, "p": np.nan, "scale": scale}
    if n >= 2:
        if np.allclose(d, d[0]) and d[0] == 0:
            out["p"] = 1.0
        elif np.allclose(d, d[0]):
            out["p"] = 0.0  # a constant, non-zero difference: no variance, the difference is certain
        else:
            res = stats.ttest_rel(xb, xa)
            out["t"], out["p"] = float(res.statistic), float(res.pvalue)
    return out


def peak_width(summary: pd.DataFrame, measure: str = "lc_pairs", by: str | None = None) -> pd.Series | int:
    """The hidden size with the highest mean ``measure`` (per level of ``by`` when given)."""
    s = summary[summary["measure"] == measure]
    if by is None:
        return int(s.loc[s["mean"].idxmax(), "width"])
    return s.loc[s.groupby(by)["mean"].idxmax()].set_index(by)["width"].astype(int)


def require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    """Raise a ValueError naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing}; it has {list(frame.columns)}")


def summary_stats(frame: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: ``min, max, mean, sd`` (ddof 1, as in Table 2), ``sem`` and ``n`` of ``value``."""
    by = [by] if isinstance(by, str) else list(by)
    require_columns(frame, [*by, value])
    g = frame.groupby(by, sort=True)[value]
    out = g.agg(min="min", max="max", mean="mean", sd="std", n="count")
    out["sem"] = out["sd"] / np.sqrt(out["n"])
    return out[["min", "max", "mean", "sd", "sem", "n"]]


def ks_table(frame: pd.DataFrame, by: str, value: str, refs=None, alpha: float = 0.05) -> pd.DataFrame:
    """Two-sample Kolmogorov–Smirnov tests (scipy ``ks_2samp``, two-sided) of each group against ``refs``.

    Rows ``a`` (the reference group), ``b``, ``statistic``, ``p``, ``result`` ("Reject" when p < ``alpha``:
    the two samples are unlikely to come from one distribution), ``n_a``, ``n_b``. ``refs`` defaults to every
    group, giving the full pairwise table.
    """
    require_columns(frame, [by, value])
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    groups = {k: v.to_numpy(dtype=float) for k, v in frame.groupby(by, sort=True)[value]}
    refs = list(groups) if refs is None else list(refs)
    unknown = [r for r in refs if r not in groups]
    if unknown:
        raise ValueError(f"refs {unknown} are not groups of {by!r}; the groups are {list(groups)}")
    rows = []
    for a in refs:
        for b, vb in groups.items():
            va = groups[a]
            if len(va) == 0 or len(vb) == 0:
                stat, p = np.nan, np.nan
            else:
                res = stats.ks_2samp(va, vb)
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append({"a": a, "b": b, "statistic": stat, "p": p, "n_a": len(va), "n_b": len(vb)})
    out = pd.DataFrame(rows)
    out["result"] = np.where(out["p"] < alpha, "Reject", "Do not reject")
    return out[["a", "b", "statistic", "p", "result", "n_a", "n_b"]]


def density_curves(frame: pd.DataFrame, by: str, value: str, grid=None, n_grid: int = 200) -> pd.DataFrame:
    """A probability density of ``value`` per group on a common grid: rows ``group, x, density``.

    Gaussian kernel density (scipy ``gaussian_kde``, Scott's bandwidth). A group whose values are all equal
    has no spread to estimate a bandwidth from; it gets a unit-width box (density 1 within ±0.5 of the value),
    so a constant count still appears as a spike of the right area.
    """
    require_columns(frame, [by, value])
    values = frame[value].to_numpy(dtype=float)
    if values.size == 0:
        raise ValueError("frame is empty")
    if grid is None:
        lo, hi = values.min(), values.max()
        pad = max(1.0, 0.1 * (hi - lo))
        grid = np.linspace(lo - pad, hi + pad, n_grid)
    grid = np.asarray(grid, dtype=float)
    rows = []
    for key, v in frame.groupby(by, sort=True)[value]:
        v = v.to_numpy(dtype=float)
        if len(v) > 1 and np.ptp(v) > 0:
            dens = stats.gaussian_kde(v)(grid)
        elif len(v):
            dens = ((grid >= v.mean() - 0.5) & (grid < v.mean() + 0.5)).astype(float)
        else:
            dens = np.zeros_like(grid)
        rows.append(pd.DataFrame({"group": key, "x": grid, "density": dens}))
    return pd.concat(rows, ignore_index=True)


def _curves(y) -> tuple[np.ndarray, bool]:
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        return y[None, :], True
    if y.ndim == 2:
        return y, False
    raise ValueError(f"y must be 1-D (one curve) or 2-D (curves x points); got shape {y.shape}")


def turning_point(x, y, frac: float = 0.5, window: int = 1) -> np.ndarray | float:
    """Where a rising curve stops rising quickly (paper 000, Fig. 3b: "taking differences").

    The slope between consecutive points, ``Δy/Δx`` (after a centred moving average of ``window`` points on
    ``y``), peaks somewhere; the turning point is the first x *after* that peak whose slope has fallen to
    ``frac`` of the peak slope or below (the slope's interval is reported by its right end, the checkpoint at
    which the fall is seen). NaN when the slope never falls that far (still rising at the last point) or the
    curve never rises. ``y`` may be 2-D (one curve per row); x is shared.
    """
    x = np.asarray(x, dtype=float)
    rows, single = _curves(y)
    if x.ndim != 1 or rows.shape[1] != x.size:
        raise ValueError(f"x must be 1-D with one entry per column of y; got {x.shape} and {rows.shape}")
    if x.size < 3:
        raise ValueError(f"need at least 3 points to find a turning point; got {x.size}")
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1); got {frac}")
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    if window > 1:
        kernel = np.ones(window) / window
        pad = window // 2
        padded = np.pad(rows, ((0, 0), (pad, window - 1 - pad)), mode="edge")
        rows = np.stack([np.convolve(r, kernel, mode="valid") for r in padded])
    slope = np.diff(rows, axis=1) / np.diff(x)[None, :]
    peak = slope.argmax(axis=1)
    peak_val = slope[np.arange(len(slope)), peak]
    cols = np.arange(slope.shape[1])[None, :]
    fallen = (cols > peak[:, None]) & (slope <= frac * peak_val[:, None])
    has = fallen.any(axis=1) & (peak_val > 0)
    first = fallen.argmax(axis=1)
    out = np.where(has, x[first + 1], np.nan)
    return float(out[0]) if single else out


def first_reach(x, y, threshold: float, strict: bool = False) -> np.ndarray | float:
    """The first x at which ``y`` ≥ ``threshold`` (``>`` if ``strict``); NaN if never. ``y`` may be 2-D."""
    x = np.asarray(x, dtype=float)
    rows, single = _curves(y)
    if x.ndim != 1 or rows.shape[1] != x.size:
        raise ValueError(f"x must be 1-D with one entry per column of y; got {x.shape} and {rows.shape}")
    hit = rows > threshold if strict else rows >= threshold
    out = np.where(hit.any(axis=1), x[hit.argmax(axis=1)], np.nan)
    return float(out[0]) if single else out


def linear_fit(x, y) -> dict:
    """Least-squares line ``y ≈ gradient·x + intercept`` (scipy ``linregress``): gradient, intercept, r2, p.

    With fewer than 3 points, or no spread in x, the fit is undefined: NaNs (and ``n``) are returned.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length; got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    nan = {"gradient": np.nan, "intercept": np.nan, "r2": np.nan, "p": np.nan, "gradient_se": np.nan,
           "n": int(x.size)}
    if x.size < 3 or np.ptp(x) == 0:
        return nan
    if np.ptp(y) == 0:  # a flat line: the gradient is 0 and nothing is explained
        return {**nan, "gradient": 0.0, "intercept": float(y[0]), "r2": 0.0, "p": 1.0, "gradient_se": 0.0}
    res = stats.linregress(x, y)
    return {"gradient": float(res.slope), "intercept": float(res.intercept), "r2": float(res.rvalue**2),
            "p": float(res.pvalue), "gradient_se": float(res.stderr), "n": int(x.size)}


def fits_by(frame: pd.DataFrame, by: str | list[str], x: str, y: str) -> pd.DataFrame:
    """``linear_fit`` of ``y`` on ``x`` within every group of ``by`` (one row per group)."""
    by = [by] if isinstance(by, str) else list(by)
    require_columns(frame, [*by, x, y])
    rows = []
    for key, g in frame.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), **linear_fit(g[x], g[y])})
    return pd.DataFrame(rows)


def compare_groups(a, b) -> dict:
    """Group ``b`` against a control ``a``: means, ``difference`` = mean_b − mean_a, ``change`` = mean_b /
    mean_a − 1 (NaN when mean_a is 0) and a Mann–Whitney U p-value.

    The U test (scipy ``mannwhitneyu``, two-sided) makes no normality assumption about counts of LCs.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    out = {"mean_a": float(a.mean()) if a.size else np.nan, "mean_b": float(b.mean()) if b.size else np.nan,
           "n_a": int(a.size), "n_b": int(b.size), "p": np.nan}
    out["difference"] = out["mean_b"] - out["mean_a"]
    out["change"] = out["mean_b"] / out["mean_a"] - 1 if out["mean_a"] else np.nan
    if a.size >= 2 and b.size >= 2 and np.ptp(np.concatenate([a, b])) > 0:
        out["p"] = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return out


def contrast_table(frame: pd.DataFrame, value: str, contrasts: pd.DataFrame | None = None,
                   by: str = "condition") -> pd.DataFrame:
    """For every contrast (``fewer``, ``more`` conditions; default ``TABLE1_CONTRASTS``): both means, whether
    the paper's direction holds (mean of ``fewer`` < mean of ``more``) and a two-sided Mann–Whitney U p-value.
    Contrasts whose conditions are absent from ``frame`` get NaN means and ``holds`` = None."""
    contrasts = TABLE1_CONTRASTS if contrasts is None else contrasts
    require_columns(frame, [by, value])
    rows = []
    for c in contrasts.itertuples(index=False):
        a = frame.loc[frame[by] == c.fewer, value]
        b = frame.loc[frame[by] == c.more, value]
        res = compare_groups(a, b)
        present = len(a) > 0 and len(b) > 0
        rows.append({**c._asdict(), "mean_fewer": res["mean_a"], "mean_more": res["mean_b"],
                     "holds": (res["mean_a"] < res["mean_b"]) if present else None, "p": res["p"]})
    return pd.DataFrame(rows)
