"""Statistics for the local-codes chapters of experiments 8–11 and 13, and what paper 000 reports for them.

Statistics (scipy where a well-kept routine exists):

* ``summary_stats`` — min / max / mean / sd / standard error / count per group (paper 000, Table 2);
* ``ks_table`` — pairwise two-sample Kolmogorov–Smirnov tests (``scipy.stats.ks_2samp``), "Reject" / "Do not
  reject" at a level (paper 000, Tables 3–7);
* ``density_curves`` — a probability density per group (``scipy.stats.gaussian_kde``; Fig. 7b / 10);
* ``turning_point`` — where a rising curve stops rising quickly, from first differences (Fig. 3b);
* ``first_reach`` — the first x at which a curve reaches a threshold (accuracy ≥ 99 %, pattern matching > 0);
* ``linear_fit`` — least-squares line with R² and p (``scipy.stats.linregress``; Table 11);
* ``compare_groups`` — two groups' means, the relative change and a Mann–Whitney U test (experiment 13).

The paper's own numbers for these experiments (``TABLE1`` … ``TABLE11``) are transcribed from
``/work/shared/seeds/000_b7a4adc45e92485c.txt`` so chapters can show them beside ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "DROPOUT_LEVELS",
    "TABLE1",
    "TABLE2",
    "KS_PAPER",
    "TABLE11",
    "TABLE1_CONTRASTS",
    "contrast_table",
    "table1_settings",
    "summary_stats",
    "ks_table",
    "density_curves",
    "turning_point",
    "first_reach",
    "linear_fit",
    "fits_by",
    "compare_groups",
    "read_result",
    "TRAININGS",
    "training",
    "final_rows",
    "retrain",
    "jitter_units",
    "plot_activations",
    "network_views",
]

# ----------------------------------------------------------------------------------------------------
# What the paper reports
# ----------------------------------------------------------------------------------------------------

# Experiment 8 (Fig. 10, Tables 3–7) used these dropout rates (in %); Table 2 shows five of them.
DROPOUT_LEVELS = (0, 10, 20, 30, 40, 50, 60, 70, 90)

# Table 2: the number of LCs in ~250 repeats of experiment 1 per dropout rate (%).
TABLE2 = pd.DataFrame(
    {
        0: [8, 34, 18.44, 4.55],
        20: [4, 29, 16.13, 4.19],
        50: [7, 41, 20.65, 4.96],
        70: [15, 57, 34.54, 8.05],
        90: [0, 125, 73.80, 24.53],
    },
    index=pd.Index(["min", "max", "mean", "sd"], name="statistic"),
).rename_axis(columns="dropout %")

# Tables 3–7: two-sample KS tests of each dropout rate against 0, 10, 20, 30 and 40 % (p-values as printed).
_KS_P = {
    0: [1.0, 0.0000489944, 4.749456190224837e-6, 0.0000247196, 0.137226, 0.000251174, 2.4240973576630998e-31,
        1.3379086295029856e-80, 5.31281662567248e-122],
    10: [0.0000489944, 1.0, 0.690898, 0.142326, 0.0134828, 3.9380742948255406e-17, 1.2271320907480274e-46,
         1.9831398445539827e-100, 1.6549287930539336e-133],
    20: [4.749456190224837e-6, 0.690898, 1.0, 0.786929, 0.000721937, 4.513284368522981e-19,
         2.0560842299464827e-58, 2.2951948334897817e-110, 1.2430043593276543e-146],
    30: [0.0000247196, 0.142326, 0.786929, 1.0, 0.0012839, 7.368476097588623e-17, 3.04037573854777e-49,
         5.39288092428949e-91, 3.1672113682285154e-123],
    40: [0.137226, 0.0134828, 0.000721937, 0.0012839, 1.0, 2.476782445216003e-9, 9.405620742296745e-34,
         1.2328533479970469e-77, 1.7803277971274416e-127],
}
KS_PAPER = pd.DataFrame(
    [{"a": ref, "b": b, "p": p} for ref, ps in _KS_P.items() for b, p in zip(DROPOUT_LEVELS, ps, strict=True)]
)
KS_PAPER["result"] = np.where(KS_PAPER["p"] < 0.05, "Reject", "Do not reject")

# Table 11: straight-line fits of the number of LCs against test accuracy (a fraction) over training
# (experiment 10; Figs. 4b and 12). The first gradient is printed "-257^^" in the extracted text: we read it
# as -25.7 (a lost decimal point); App. A.6 says networks left of the peak show "a slight negative
# correlation", which fits the minus sign (see `note`).
TABLE11 = pd.DataFrame(
    {
        "accuracy": ["pattern matching"] * 4 + ["classification"] * 4,
        "n_hidden": [250, 500, 1000, 2000] * 2,
        "gradient": [-25.7, 68.8, 130.7, 174.6, 26.5, 68.7, 123.0, 144.0],
        "intercept": [-0.18, -0.01, 0.82, 2.43, -0.08, -0.001, 0.42, 1.33],
        "r2": [0.23, 0.0002, 0.26, 0.41, 0.23, 6.6e-6, 0.34, 0.50],
        "note": ["printed '-257^^' (text extraction); read as -25.7"] + [""] * 7,
    }
)

# Table 1: the training conditions of experiment 11 (4-layer networks: n_HLN first layer, 250 second, 1-hot
# output). "O-S" is printed as one row ("ReLU, *, *, n_x = 1000, *": tests of softmax, dropout and the three
# stopping rules); O–S below is our reading of that row, one change at a time from M (flagged in `note`).
_T1 = [
    # condition, activation, softmax, dropout, n_x, stopping
    ("A", "sigmoid", False, True, 100, "steps"),
    ("B", "sigmoid", False, False, 100, "val_loss"),
    ("C", "sigmoid", True, False, 100, "steps"),
    ("D", "sigmoid", True, True, 100, "val_loss"),
    ("E", "sigmoid", False, False, 100, "train_acc"),
    ("F", "sigmoid", True, False, 100, "train_acc"),
    ("G", "relu", True, False, 100, "val_loss"),
    ("H", "relu", True, False, 100, "steps"),
    ("I", "relu", True, False, 100, "train_acc"),
    ("J", "relu", False, True, 100, "steps"),
    ("K", "relu", False, False, 100, "val_loss"),
    ("L", "relu", False, False, 100, "train_acc"),
    ("M", "relu", False, False, 1000, "steps"),
    ("N", "relu", False, False, 100, "steps"),
    ("O", "relu", True, False, 1000, "steps"),
    ("P", "relu", False, True, 1000, "steps"),
    ("Q", "relu", False, False, 1000, "val_loss"),
    ("R", "relu", False, False, 1000, "train_acc"),
    ("S", "relu", True, True, 1000, "val_loss"),
]
TABLE1 = pd.DataFrame(_T1, columns=["condition", "activation", "softmax", "dropout", "n_x", "stopping"])
TABLE1["note"] = np.where(TABLE1["condition"].isin(list("OPQRS")), "our reading of the printed 'O-S' row", "")
TABLE1 = TABLE1.set_index("condition")


# Experiment 11: the paper's statements as pairs of Table 1 conditions, "fewer" < "more" (§3, Fig. 6). Each
# row: the factor, the condition expected to have fewer local codes, the one with more, the source.
TABLE1_CONTRASTS = pd.DataFrame(
    [
        ("softmax", "C", "A", "text: C < A"),
        ("softmax", "D", "B", "text: D < B"),
        ("softmax", "F", "E", "text: F < E"),
        ("softmax", "H", "N", "softmax on ReLU nets (our pairing, one change)"),
        ("large training set", "M", "N", "text: L, M, O–S (large data) lose LCs; M vs N is one change"),
        ("early stopping on training accuracy", "L", "N", "finding 6 (one change: stopping rule)"),
        ("early stopping on training accuracy", "F", "C", "finding 6 (one change: stopping rule)"),
        ("early stopping on training accuracy", "I", "H", "finding 6 (one change: stopping rule)"),
        ("ReLU instead of sigmoid", "H", "C", "text: H–S (ReLU) have no local codes (one change)"),
        ("ReLU instead of sigmoid", "L", "E", "text: H–S (ReLU) have no local codes (one change)"),
    ],
    columns=["factor", "fewer", "more", "source"],
)


# ----------------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------------


def _check_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing}; it has {list(frame.columns)}")


def summary_stats(frame: pd.DataFrame, by: str | list[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: ``min, max, mean, sd`` (ddof 1, as in Table 2), ``sem`` and ``n`` of ``value``."""
    by = [by] if isinstance(by, str) else list(by)
    _check_columns(frame, [*by, value])
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
    _check_columns(frame, [by, value])
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
    _check_columns(frame, [by, value])
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


def _as_rows(y) -> tuple[np.ndarray, bool]:
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
    rows, single = _as_rows(y)
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
    rows, single = _as_rows(y)
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
    _check_columns(frame, [*by, x, y])
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


def read_result(directory: str | Path, name: str) -> pd.DataFrame | None:
    """``directory/name`` as a DataFrame (Parquet or CSV), or None if it is not there (a chapter not run)."""
    path = Path(directory) / name
    if not path.exists():
        return None
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"read_result reads .parquet or .csv files; got {path.name!r}")


# ----------------------------------------------------------------------------------------------------
# Sweeps → one network to look at
# ----------------------------------------------------------------------------------------------------


TRAININGS = ("book", "paper")


def training(name: str = "book", **overrides) -> dict:
    """Training settings for a sweep's ``base``: ``train.BOOK_DEFAULTS`` (``"book"``) or
    ``train.PAPER_DEFAULTS`` (``"paper"``), with every override that is not None applied (``epochs=20``)."""
    from . import train

    if name not in TRAININGS:
        raise ValueError(f"training must be one of {TRAININGS}; got {name!r}")
    base = dict(train.BOOK_DEFAULTS if name == "book" else train.PAPER_DEFAULTS)
    base.update({k: v for k, v in overrides.items() if v is not None})
    return base


def final_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Each network's last measurement (``final`` rows) of a ``train.sweep``/``train.train`` history."""
    _check_columns(history, ["final"])
    return history[history["final"]].reset_index(drop=True)


def retrain(params: dict | list[dict], seeds: int | list[int], device: str | None = None):
    """Train again the network(s) of a sweep that had these ``params`` (``base`` merged with the condition).

    ``train.sweep`` gives repeat ``r`` the seed ``params["seed"] + r`` for both the network and its data; pass
    those seeds. Every network draws from its own random streams, so networks trained again (here all in one
    ensemble, which needs settings that differ only in per-network fields such as dropout) equal the sweep's
    networks on the same device: their local codes can be shown without storing weights.
    Returns ``(TrainResult, [Dataset per network])``.
    """
    from . import train

    many = isinstance(params, list)
    params_list = params if many else [params]
    seeds_list = list(seeds) if isinstance(seeds, (list, tuple, np.ndarray)) else [seeds]
    if len(params_list) != len(seeds_list):
        raise ValueError(f"params and seeds must pair up; got {len(params_list)} and {len(seeds_list)}")
    configs, datasets = [], []
    for p, seed in zip(params_list, seeds_list, strict=True):
        p = {k: v for k, v in p.items() if k != "seed"}
        train_p = {k: v for k, v in p.items() if k in train.TRAIN_KEYS}
        data_p = {k: v for k, v in p.items() if k not in train.TRAIN_KEYS}
        if "hidden" in train_p:
            h = train_p["hidden"]
            train_p["hidden"] = (int(h),) if isinstance(h, (int, np.integer)) else tuple(int(x) for x in h)
        datasets.append(train.code_data(**data_p, seed=int(seed)))
        configs.append(train.TrainConfig.from_dict({**train_p, "seed": int(seed)}))
    return train.train(datasets, configs, device=device), datasets


def jitter_units(acts, labels, n_other: int = 4, max_units: int = 40) -> tuple[list[int], dict[int, str]]:
    """The units worth a jitterplot: every local-code unit (most codes first, at most ``max_units``), then
    ``n_other`` units without one (highest top-class selectivity) for contrast. Returns the columns and a
    ``{column: name}`` dict (names such as ``"unit 17 — on-code: class 3"``), the form ``charts.jitterplot``'s
    ``unit_names`` takes (a list there is indexed by column, not by position in ``units``)."""
    from .selectivity import local_codes, unit_table

    codes = local_codes(acts, labels)
    per_unit = codes.groupby("unit").apply(
        lambda g: ", ".join(f"{k}-code: class {c}" for k, c in zip(g["kind"], g["cls"], strict=True)),
        include_groups=False,
    )
    order = codes["unit"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index
    units = [int(u) for u in order[:max_units]]
    names = [f"unit {u} — {per_unit[u]}" for u in units]
    if n_other > 0:
        table = unit_table(acts, labels, k=min(100, len(labels)))
        rest = table.drop(index=units, errors="ignore").sort_values("top_class_selectivity", ascending=False)
        extra = [int(u) for u in rest.index[:n_other]]
        units += extra
        names += [f"unit {u} — no local code" for u in extra]
    return units, dict(zip(units, names, strict=True))


def plot_activations(result, datasets, network: int, layer: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Hidden activations and labels of one network of a ``retrain`` result, for ``jitter_units``/jitterplots.

    The correctly classified training examples (the paper's definition), or every example when fewer than two
    classes are classified correctly (an untrained smoke-scale network); the third value says which.
    """
    from . import train

    data = datasets[network] if isinstance(datasets, (list, tuple)) else datasets
    acts, labels = train.network_activations(result.ensemble, data, network=network, layer=layer)
    if len(np.unique(labels)) >= 2:
        return acts, labels, "correctly classified training examples"
    acts, labels = train.network_activations(result.ensemble, data, network=network, layer=layer,
                                             correct_only=False)
    return acts, labels, "all training examples (fewer than two classes are classified correctly)"


def contrast_table(frame: pd.DataFrame, value: str, contrasts: pd.DataFrame | None = None,
                   by: str = "condition") -> pd.DataFrame:
    """For every contrast (``fewer``, ``more`` conditions; default ``TABLE1_CONTRASTS``): both means, whether
    the paper's direction holds (mean of ``fewer`` < mean of ``more``) and a two-sided Mann–Whitney U p-value.
    Contrasts whose conditions are absent from ``frame`` get NaN means and ``holds`` = None."""
    contrasts = TABLE1_CONTRASTS if contrasts is None else contrasts
    _check_columns(frame, [by, value])
    rows = []
    for c in contrasts.itertuples(index=False):
        a = frame.loc[frame[by] == c.fewer, value]
        b = frame.loc[frame[by] == c.more, value]
        res = compare_groups(a, b)
        present = len(a) > 0 and len(b) > 0
        rows.append({**c._asdict(), "mean_fewer": res["mean_a"], "mean_more": res["mean_b"],
                     "holds": (res["mean_a"] < res["mean_b"]) if present else None, "p": res["p"]})
    return pd.DataFrame(rows)


STOP_RULES = {"steps": "budget", "val_loss": "val_loss", "train_acc": "train_acc"}


def table1_settings(condition: str, n_x_small: int = 100, n_x_large: int = 1000, lr_sigmoid: float = 0.01,
                    lr_relu: float = 0.01, dropout: float = 0.2) -> dict:
    """The sweep settings of one experiment-11 condition (a letter of ``TABLE1``), for ``train.sweep``.

    Table 1's "n_x 100" / "n_x = 1000" become ``n_x_small`` / ``n_x_large`` training codewords (10 classes);
    "Dropout 20 %" becomes ``dropout``; the stopping rule maps to ``stop`` ("60,000 steps" is the epoch budget
    of the sweep's base, "validation set loss" is Keras-style early stopping on a validation set, "training
    accuracy" stops at the target training accuracy). ``lr_sigmoid``/``lr_relu`` are the step sizes.
    """
    if condition not in TABLE1.index:
        raise ValueError(f"condition must be one of {list(TABLE1.index)}; got {condition!r}")
    for name, n in (("n_x_small", n_x_small), ("n_x_large", n_x_large)):
        if n < 10 or n % 10:
            raise ValueError(f"{name} must be a positive multiple of 10 (10 classes); got {n}")
    row = TABLE1.loc[condition]
    n_x = n_x_small if row["n_x"] == 100 else n_x_large
    return {
        "activation": row["activation"],
        "softmax": bool(row["softmax"]),
        "dropout": float(dropout) if row["dropout"] else 0.0,
        "n_per_class": n_x // 10,
        "stop": STOP_RULES[row["stopping"]],
        "lr": float(lr_sigmoid if row["activation"] == "sigmoid" else lr_relu),
    }


def network_views(path: str | Path, params: dict | list[dict], seeds: int | list[int], layer: int = 0
                  ) -> list[dict]:
    """Hidden activations of a sweep's network(s) for jitterplots, cached in ``path`` (``.npz``).

    On the first call the networks are trained again (``retrain``, one ensemble) and, per network, its layer
    ``layer`` activations and labels (``plot_activations``), the examples used (``which``) and its final
    ``lc_pairs`` are stored; later calls read the file, so re-running a chapter does not retrain. The cache is
    keyed by ``params``, ``seeds`` and ``layer``: other settings recompute it.
    """
    import json

    params_list = params if isinstance(params, list) else [params]
    seeds_list = list(seeds) if isinstance(seeds, (list, tuple, np.ndarray)) else [seeds]
    key = json.dumps({"params": params_list, "seeds": [int(x) for x in seeds_list], "layer": layer},
                     sort_keys=True, default=str)
    path = Path(path)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) == key:
                n = int(z["n"])
                return [{"acts": z[f"acts{i}"], "labels": z[f"labels{i}"], "which": str(z[f"which{i}"]),
                         "lc_pairs": int(z[f"lc{i}"])} for i in range(n)]
    res, datasets = retrain(params_list, seeds_list)
    views, arrays = [], {"key": np.array(key), "n": np.array(len(params_list))}
    for i in range(len(params_list)):
        acts, labels, which = plot_activations(res, datasets, i, layer=layer)
        lc = int(res.final.loc[i, "lc_pairs"])
        views.append({"acts": acts, "labels": labels, "which": which, "lc_pairs": lc})
        arrays.update({f"acts{i}": acts, f"labels{i}": labels, f"which{i}": np.array(which),
                       f"lc{i}": np.array(lc)})
    from .store import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return views


# ----------------------------------------------------------------------------------------------------
# The seven findings of paper 000 (§1.1): verdicts computed from the chapters' stored results
# ----------------------------------------------------------------------------------------------------

FINDINGS = {
    1: "LCs related to lower within-class variance than between-class variance in input",
    2: "LCs related to a NN internalising a rule",
    3: "No. of LCs related to difficulty of the problem and the computing power of the NN, with different "
       "behaviour for under- and over-resourced NNs",
    4: "Large values of dropout increases LCs",
    5: "LCs correlate with generalisation performance",
    6: "Large data-sets, softmax and aggressive early stopping reduce the number of LCs",
    7: "Monitoring the number of LCs can be useful for figuring out when to stop training",
}
REPRODUCED, PARTLY, NOT, NOT_RUN = "reproduced", "partly", "not reproduced", "not run"
ALPHA = 0.05


def verdict_dropout(final: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 4 from experiment 8 (``16_dropout/final.parquet``: ``dropout %``, ``lc_pairs``): reproduced
    when the largest rate has more LCs on average than the smallest and a KS test separates them (p < 0.05);
    partly when only the mean is higher."""
    if final is None or final.empty or final["dropout %"].nunique() < 2:
        return NOT_RUN, "no results with two or more dropout rates"
    lo, hi = final["dropout %"].min(), final["dropout %"].max()
    a = final.loc[final["dropout %"] == lo, "lc_pairs"]
    b = final.loc[final["dropout %"] == hi, "lc_pairs"]
    p = float(stats.ks_2samp(a, b).pvalue) if len(a) and len(b) else np.nan
    detail = f"mean LCs {a.mean():.1f} at {lo} % vs {b.mean():.1f} at {hi} % dropout (KS p = {p:.2g})"
    if b.mean() > a.mean() and p < ALPHA:
        return REPRODUCED, detail
    return (PARTLY if b.mean() > a.mean() else NOT), detail


def verdict_memorisation(compare: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 2 from experiment 13 (``21_memorisation/compare.parquet``: ``n_hidden, control, shuffled, p``):
    reproduced when shuffled targets give fewer LCs for every hidden size and significantly (Mann–Whitney
    p < 0.05) for at least one; partly when fewer but never significantly."""
    if compare is None or compare.empty:
        return NOT_RUN, "no results"
    fewer = compare["shuffled"] < compare["control"]
    detail = "; ".join(f"{int(r.n_hidden)} units: {r.control:.1f} → {r.shuffled:.1f} (p = {r.p:.2g})"
                       for r in compare.itertuples())
    if fewer.all() and (compare["p"] < ALPHA).any():
        return REPRODUCED, detail
    return (PARTLY if fewer.any() else NOT), detail


def verdict_noise(tests: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 3 (under- vs over-resourced) from experiment 9 (``17_activation_noise/tests.parquet``:
    ``n_hidden, sigma, difference, p``): reproduced when noise lowers the LCs of the smallest network and
    raises those of the largest (mean difference over σ > 0), partly when only the ordering holds (the
    smallest changes less favourably than the largest)."""
    if tests is None or tests.empty or tests["n_hidden"].nunique() < 2:
        return NOT_RUN, "no results with two or more hidden sizes"
    by = tests.groupby("n_hidden")["difference"].mean()
    small, large = by.iloc[0], by.iloc[-1]
    detail = (f"mean change of LCs with noise: {by.index[0]} units {small:+.2f}, {by.index[-1]} units "
              f"{large:+.2f}")
    if small < 0 < large:
        return REPRODUCED, detail
    return (PARTLY if small < large else NOT), detail


def verdict_generalisation(fits: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 5 from experiment 10 (``18_training_time/fits.parquet``: ``accuracy, n_hidden, gradient, p``,
    and ``checkpoints`` when several fits are stored: the first kind is judged): reproduced when the
    LCs-vs-test-classification-accuracy fits have positive gradients with p < 0.05 for at least half of the
    hidden sizes, partly when at least one does."""
    if fits is None or fits.empty:
        return NOT_RUN, "no results"
    if "checkpoints" in fits.columns:  # several fits per size: the first kind stored is the one to judge
        fits = fits[fits["checkpoints"] == fits["checkpoints"].iloc[0]]
    cls = fits[fits["accuracy"] == "classification"]
    good = (cls["gradient"] > 0) & (cls["p"] < ALPHA)
    detail = "; ".join(f"{int(r.n_hidden)} units: gradient {r.gradient:.1f} (R² {r.r2:.2f}, p = {r.p:.2g})"
                       for r in cls.itertuples())
    if len(cls) and good.sum() >= max(1, len(cls) / 2):
        return REPRODUCED, detail
    return (PARTLY if good.any() else NOT), detail


def verdict_conditions(contrasts: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 6 from experiment 11 (``19_four_layer/contrasts.parquet``: ``factor, holds``): for each of
    large training set, softmax and early stopping on training accuracy, does the paper's direction hold in
    most of its testable contrasts? All three: reproduced; one or two: partly."""
    if contrasts is None or contrasts.empty:
        return NOT_RUN, "no results"
    factors = ["large training set", "softmax", "early stopping on training accuracy"]
    known = contrasts.dropna(subset=["holds"])
    parts, ok = [], 0
    for f in factors:
        k = known[known["factor"] == f]
        if not len(k):
            parts.append(f"{f}: not run")
            continue
        held = int(k["holds"].astype(bool).sum())
        ok += held > len(k) / 2
        parts.append(f"{f}: {held}/{len(k)} contrasts hold")
    tested = sum("not run" not in p for p in parts)
    if tested == 0:
        return NOT_RUN, "; ".join(parts)
    if ok == len(factors):
        return REPRODUCED, "; ".join(parts)
    return (PARTLY if ok else NOT), "; ".join(parts)


def verdict_stopping(turning: pd.DataFrame | None, tolerance: float = 0.25) -> tuple[str, str]:
    """Finding 7 from experiment 10 (``18_training_time/turning.parquet``: ``turning_point, train_acc_99,
    epochs``): reproduced when most networks have a turning point and it lies within ``tolerance`` of the
    training run of the epoch of 99 % training accuracy (median over networks); partly when turning points
    exist but further away."""
    if turning is None or turning.empty:
        return NOT_RUN, "no results"
    found = turning["turning_point"].notna().mean()
    both = turning.dropna(subset=["turning_point", "train_acc_99"])
    if not len(both):
        return NOT, f"turning points found for {found:.0%} of networks; none also reach 99 % train accuracy"
    gap = ((both["turning_point"] - both["train_acc_99"]).abs() / both["epochs"]).median()
    detail = (f"turning point found for {found:.0%} of networks; median distance to 99 % training accuracy "
              f"{gap:.0%} of the run")
    if found >= 0.5 and gap <= tolerance:
        return REPRODUCED, detail
    return PARTLY, detail


def combine_verdicts(verdicts: list[str]) -> str:
    """One verdict from several pieces of evidence: all reproduced → reproduced; none run → not run; all run
    ones "not reproduced" → not reproduced; otherwise partly."""
    run = [v for v in verdicts if v != NOT_RUN]
    if not run:
        return NOT_RUN
    if all(v == REPRODUCED for v in run):
        return REPRODUCED
    if all(v == NOT for v in run):
        return NOT
    return PARTLY


# (finding, evidence, chapter, file, verdict function): what the findings chapter reads, in one place
EVIDENCE = [
    (2, "experiment 13: shuffled targets give fewer LCs", "21_memorisation", "compare.parquet",
     verdict_memorisation),
    (3, "experiment 9: noise helps over-resourced, hurts under-resourced NNs", "17_activation_noise",
     "tests.parquet", verdict_noise),
    (4, "experiment 8: more LCs with large dropout (mean, KS test)", "16_dropout", "final.parquet",
     verdict_dropout),
    (5, "experiment 10: LCs vs test accuracy fits (Table 11)", "18_training_time", "fits.parquet",
     verdict_generalisation),
    (6, "experiment 11: large data, softmax, early stopping (Table 1 contrasts)", "19_four_layer",
     "contrasts.parquet", verdict_conditions),
    (7, "experiment 10: LC turning point vs 99 % training accuracy", "18_training_time", "turning.parquet",
     verdict_stopping),
]


# Chapters of experiments 1–7 and 12 (another part of the book) leave ``checks.parquet`` (see
# ``localcodes.paper000``: one row per claim, ``finding`` 1–7 or empty, ``claim``, ``ours``, ``holds``
# True/False/empty). The findings each chapter is expected to bear on, by chapter number, so that a chapter
# that has not been run still shows up as "not run" under those findings.
CHECKS_CHAPTERS = {10: (3, 6), 11: (1,), 12: (3,), 13: (3,), 14: (), 15: (1,), 20: (1,)}


def checks_evidence(scale: str, chapters: list[str] | None = None) -> pd.DataFrame:
    """Evidence rows from other chapters' ``checks.parquet`` at ``scale``: a claim that holds is
    "reproduced", one that does not is "not reproduced", one that could not be judged is "not run". A chapter
    without the file gives "not run" rows for the findings in ``CHECKS_CHAPTERS``. ``chapters`` defaults to
    the book's chapters numbered as in ``CHECKS_CHAPTERS``."""
    from .book import chapters as book_chapters
    from .store import results_dir

    if chapters is None:
        chapters = [n for n in book_chapters() if n[:2].isdigit() and int(n[:2]) in CHECKS_CHAPTERS]
    rows = []
    for ch in chapters:
        checks = read_result(results_dir(scale, ch, create=False), "checks.parquet")
        if checks is None:
            for f in CHECKS_CHAPTERS.get(int(ch[:2]), ()):
                rows.append({"finding": f, "evidence": f"claims tested in {ch}", "chapter": ch,
                             "file": "checks.parquet", "verdict": NOT_RUN,
                             "detail": f"results/{scale}/{ch}/checks.parquet not found"})
            continue
        for c in checks.dropna(subset=["finding"]).itertuples(index=False):
            holds = None if pd.isna(c.holds) else bool(c.holds)
            verdict = NOT_RUN if holds is None else (REPRODUCED if holds else NOT)
            rows.append({"finding": int(c.finding), "evidence": str(c.claim), "chapter": ch,
                         "file": "checks.parquet", "verdict": verdict,
                         "detail": str(c.ours) + ("" if holds is not None else " (could not be judged)")})
    return pd.DataFrame(rows, columns=["finding", "evidence", "chapter", "file", "verdict", "detail"])


def findings_table(scale: str, evidence: list | None = None,
                   checks_chapters: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts on paper 000's seven findings from the results stored at ``scale``.

    Returns ``(evidence_rows, per_finding)``: one row per piece of evidence (``finding, evidence, chapter,
    file, rule, verdict, detail``; a missing file gives "not run") — the ``EVIDENCE`` of this part of the book
    (default) and the ``checks_evidence`` of the chapters of experiments 1–7 and 12 — and one row per finding
    with the combined verdict (``combine_verdicts``).
    """
    from .store import results_dir

    rows = []
    for finding, label, chapter, name, judge in evidence or EVIDENCE:
        frame = read_result(results_dir(scale, chapter, create=False), name)
        verdict, detail = judge(frame)
        if frame is None:
            detail = f"results/{scale}/{chapter}/{name} not found"
        rule = getattr(judge, "func", judge).__name__
        rows.append({"finding": finding, "evidence": label, "chapter": chapter, "file": name, "rule": rule,
                     "verdict": verdict, "detail": detail})
    others = checks_evidence(scale, checks_chapters).assign(rule="claim's `holds` (paper000.save_chapter)")
    ev = pd.concat([pd.DataFrame(rows), others], ignore_index=True)
    ev = ev.sort_values(["finding", "chapter"], kind="stable", ignore_index=True)
    per = []
    for k, statement in FINDINGS.items():
        mine = ev[ev["finding"] == k]
        per.append({"finding": k, "statement": statement,
                    "verdict": combine_verdicts(mine["verdict"].tolist()) if len(mine) else NOT_RUN,
                    "evidence": len(mine)})
    return ev, pd.DataFrame(per)


__all__ += ["evidence_html"]


def evidence_html(ev: pd.DataFrame, link_suffix: str | None = ".html") -> str:
    """The evidence rows of ``findings_table`` as one HTML table, each chapter linked to its page.

    Columns: finding, evidence, chapter (a link to ``chapter + link_suffix``; plain text when ``None``),
    verdict (with the rule that decided it in small print) and the numbers behind it (``detail``). Five columns
    that wrap their sentences, where the full frame would scroll sideways.
    """
    import html
    import re

    def text(value) -> str:  # escaped, with `code` spans as <code>
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value)))

    _check_columns(ev, ["finding", "evidence", "chapter", "rule", "verdict", "detail"])
    rows = []
    for r in ev.itertuples(index=False):
        chapter = html.escape(str(r.chapter))
        if link_suffix:
            chapter = f'<a href="{chapter}{link_suffix}">{chapter}</a>'
        rows.append({
            "finding": r.finding,
            "evidence": text(r.evidence),
            "chapter": chapter,
            "verdict": f"<b>{text(r.verdict)}</b><br><small>rule: {text(r.rule)}</small>",
            "the numbers": text(r.detail),
        })
    return pd.DataFrame(rows).to_html(escape=False, index=False, classes="localcodes-evidence",
                                      border=0)
