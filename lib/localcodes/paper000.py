"""What paper 000 reports for experiments 1–7 and 12, and the small statistics its chapters need.

The numbers here are transcribed from the paper (``/work/shared/seeds/000_b7a4adc45e92485c.txt``); most of its
results are figures without printed values, so for those we keep the *claims* the text makes (``CLAIMS``) and
the few values it does print (the Fig. 7a fits, the dropout-table mean at 0 %, Tables 9 and 10).

Statistics: ``sqrt_fit`` (the a − b√P fit of Fig. 7a, scipy ``curve_fit``), ``mean_sem`` (group means with
standard errors and counts), ``welch`` (Welch's t-test between two groups, scipy), ``paired`` (paired t-test
between two conditions over matching hidden sizes and repeats, scipy).

Sweeps: every chapter of experiments 1–7 varies one thing away from the **standard code** (``STANDARD``: 500
bits, 10 classes, 50 codewords per class, S_R = 1/3, no perturbation, distributed 50-bit output, sigmoid) over a
list of hidden-layer sizes. ``code_sweep`` spells every condition out in full (``STANDARD`` + the change), so
the same network is the same condition in every chapter; all chapters share one results store
(``results/<scale>/codes_sweeps``) and a condition computed for one chapter is reused by the next.

What a chapter leaves for others (the findings chapter reads these): ``results/<scale>/<chapter>/summary.parquet``
(one row per condition × hidden size: mean, sem, sd, min, max, count of ``lc_pairs``, ``lc_units`` and
``lc_share`` = lc_units / hidden units, and the mean final training accuracy) and ``checks.json`` /
``checks.parquet`` (one row per claim of the paper the chapter tests: ``finding`` (the §1.1 finding it bears on,
1–7, or empty), ``key``, ``claim``, ``paper``, ``ours`` (our numbers, as text), ``holds`` (True when our data
show the effect in the paper's direction and, where a test is made, with p < 0.05; False otherwise; empty when it
cannot be judged), ``direction`` (True when our effect has the paper's direction, significant or not), ``diff``
and ``p`` where a test was made).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from scipy import optimize, stats

from .store import ResultsStore, atomic_path, provenance, results_dir, write_json, write_parquet

__all__ = [
    "CLAIMS",
    "FIG7A_FITS",
    "TABLE9",
    "TABLE10",
    "TABLE2_MEAN_NO_DROPOUT",
    "sqrt_fit",
    "mean_sem",
    "welch",
    "paper_results",
    "table9_long",
    "STANDARD",
    "SHARED_STORE",
    "store",
    "code_sweep",
    "summarise",
    "paired",
    "peak_width",
    "lc_curve",
    "save_chapter",
    "load_chapter",
    "jitter_units",
    "cached_npz",
    "example_networks",
    "stored_final",
    "verdict_table",
    "verdict",
    "verdict_lines",
    "digits_data",
    "digit_conditions",
    "digit_example",
    "set_cpu_threads",
    "sqrt_fit_chart",
    "image_grid",
]

# The paper's statements about each figure (figures print no numbers).
CLAIMS = {
    "fig2a": "LCs peak at n_HLN = 1000 for the standard code (n_x = 500); the share of hidden units that are LCs "
             "peaks at n_HLN = 500. Fewer training examples (n_x = 250) give more LCs.",
    "fig2b": "Sparser random blocks (S_R = 1/9 < 2/9 < 1/3, i.e. w_R = 50, 100, 150) give more LCs.",
    "fig9": "Little difference between L_x = 300, 500, 700; fewer LCs at L_x = 1000.",
    "fig5a": "Little difference between ReLU and sigmoid, except that the ReLU peak is shifted a little to the "
             "left (smaller n_HLN).",
    "fig5b": "A 1-hot output code gives fewer LCs than the distributed (50-bit, weight-25) code.",
    "fig7a": "LCs decrease with perturbation P of the prototype block and vanish at P = 0.4; fits a − b√P up to "
             "P = 0.4 (R² ≈ 0.98).",
    "table9": "A few LCs emerge only when a whole category carries a fixed invariant (all images, or 2/5/8 "
              "categories); none with 50 % of images, none with Gaussian invariants, none on standard MNIST.",
    "table10": "Invariants cut the epochs needed to reach >99 % training accuracy (10,908 → 222 with all images "
               "coded); Gaussian invariants generally need longer than fixed ones.",
}

# Fig. 7a: fits a − b·√P of the number of LCs against perturbation P, fitted up to P = 0.4.
FIG7A_FITS = pd.DataFrame(
    {"a": [20.62, 19.72], "b": [30.65, 32.29], "r2": [0.984, 0.977]},
    index=pd.Index([500, 1000], name="n_hidden"),
)

# Table 2 (experiment 8, ~250 repeats of experiment 1): mean number of LCs with no dropout.
TABLE2_MEAN_NO_DROPOUT = 18.44

_T9_ROWS = ["standard", "50% of images", "all images", "2 categories", "5 categories", "8 categories"]
# Table 9: mean ± standard error of the number of LCs (10 repeats), "invariant" (fixed) and "Gaussian" codes.
_T9_FIXED = {
    48: ["0±0", "0±0", "1.1±0.26", "0.1±0.09", "0.2±0.19", "1.4±0.03"],
    100: ["0±0", "0±0", "1.5±0.32", "0.1±0.09", "0.8±0.31", "0.9±0.26"],
    500: ["0±0", "0±0", "0.6±0.25", "0.1±0.09", "0.6±0.25", "0.9±0.22"],
}
TABLE9 = pd.DataFrame(
    {**{("fixed", n): v for n, v in _T9_FIXED.items()},
     **{("gaussian", n): ["0±0"] * 6 for n in (48, 100, 500)}},
    index=pd.Index(_T9_ROWS, name="condition"),
)
TABLE9.columns = pd.MultiIndex.from_tuples(TABLE9.columns, names=["mode", "n_hidden"])

# Table 10: average number of epochs to reach > 99 % training accuracy.
TABLE10 = pd.DataFrame(
    {"fixed": [10908, 983.4, 221.7, 1040.9, 494.3, 327.5],
     "gaussian": [10908, 979.9, 460.9, 1025.0, 537.0, 462.3]},
    index=pd.Index(_T9_ROWS, name="condition"),
)


def table9_long() -> pd.DataFrame:
    """Table 9 as rows ``condition, mode, n_hidden, mean, sem`` (numbers parsed from "m±s")."""
    long = TABLE9.stack(["mode", "n_hidden"], future_stack=True).rename("text").reset_index()
    parts = long["text"].str.split("±", expand=True).astype(float)
    long["mean"], long["sem"] = parts[0], parts[1]
    return long.drop(columns="text")


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


def paper_results(chapter: str, name: str = "summary.parquet") -> pd.DataFrame | None:
    """A stored ``paper``-scale result of a chapter (``results/paper/<chapter>/<name>``), or None if absent."""
    path = results_dir("paper", chapter, create=False) / name
    return pd.read_parquet(path) if path.exists() else None


# --- sweeps over the standard code ------------------------------------------------------------------------------

#: The standard code and network of experiment 1 (paper 000 §2): every condition of chapters 10–15 is this plus
#: one change. Keys are ``train.code_data`` arguments except ``activation`` (a ``TrainConfig`` field).
STANDARD: dict = {
    "length": 500,
    "n_per_class": 50,
    "random_weight": 1 / 3,
    "perturb": 0.0,
    "shared_random": False,
    "output": "distributed",
    "activation": "sigmoid",
}
SHARED_STORE = "codes_sweeps"
MEASURES = {"lc_pairs": "local codes ((unit, class) pairs)", "lc_units": "units with a local code",
            "lc_share": "share of hidden units with a local code"}


def store(scale: str) -> ResultsStore:
    """The results store shared by the chapters of experiments 1–7 at ``scale``."""
    return ResultsStore(results_dir(scale, SHARED_STORE))


def code_sweep(
    scale: str,
    changes: Sequence[dict],
    widths: Sequence[int],
    repeats: int,
    training: dict,
    progress: bool = False,
) -> pd.DataFrame:
    """Train every (change × hidden size) × repeat on the standard code; return each network's final row.

    ``changes``: departures from ``STANDARD`` (``[{}]`` is the standard code itself; ``{"n_per_class": 25}``
    experiment 2…). ``training``: ``TrainConfig`` settings shared by all (e.g. ``train.BOOK_DEFAULTS``). Results go
    to the shared store, so conditions already computed (by this or another chapter) are not recomputed. The rows
    carry every parameter as a column, ``width`` (hidden units), ``repeat`` and ``lc_share``.
    """
    from . import train

    if not widths:
        raise ValueError("widths must list at least one hidden-layer size")
    unknown = sorted({k for c in changes for k in c} - set(STANDARD))
    if unknown:
        raise ValueError(f"changes may only set {sorted(STANDARD)}; got {unknown}")
    conditions = [{**STANDARD, **change, "hidden": [int(w)]} for change in changes for w in widths]
    rows = train.sweep(conditions, repeats, store(scale), base=dict(training), progress=progress)
    final = rows[rows["final"]].copy()
    final["lc_share"] = final["lc_units"] / final["width"]
    return final.reset_index(drop=True)


def summarise(final: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean, sem, sd, min, max and count of the local-code measures per group; the mean training accuracy."""
    parts = []
    for m in MEASURES:
        s = mean_sem(final, list(by), m).rename(columns={"std": "sd"})
        s.insert(len(by), "measure", m)
        parts.append(s)
    out = pd.concat(parts, ignore_index=True)
    acc = final.groupby(list(by))["train_acc"].mean().rename("train_acc").reset_index()
    return out.merge(acc, on=list(by), how="left")


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


def lc_curve(final: pd.DataFrame, factor: str, title: str, factor_title: str | None = None,
             labels: dict | None = None, width: int = 430, height: int = 260) -> alt.Chart:
    """Mean ± standard error of a local-code measure against hidden size, one line per level of ``factor``;
    a dropdown chooses the measure (pairs, units, share of units), as paper 000's Figs. 2, 5, 9 (which show
    pairs)."""
    by = [factor, "width"]
    s = summarise(final, by)
    s["sem"] = s["sem"].fillna(0.0)
    s["lo"], s["hi"] = s["mean"] - s["sem"], s["mean"] + s["sem"]
    s["level"] = s[factor].map(labels) if labels else s[factor].astype(str)
    s["measure_name"] = s["measure"].map(MEASURES)
    s = s[["level", "width", "measure_name", "mean", "lo", "hi", "sd", "count", "train_acc"]]
    names = list(MEASURES.values())
    choice = alt.param(name="measure", value=names[0], bind=alt.binding_select(options=names, name="measure "))
    base = alt.Chart(s, width=width, height=height, title=title).transform_filter("datum.measure_name == measure")
    color = alt.Color("level:N", title=factor_title or factor)
    x = alt.X("width:Q", scale=alt.Scale(type="log"), title="hidden units (n_HLN)")
    line = base.mark_line(point=True).encode(
        x=x, y=alt.Y("mean:Q", title="mean over repeats (± s.e.)"), color=color,
        tooltip=["level:N", "width:Q", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("sd:Q", format=".2f"),
                 "count:Q", alt.Tooltip("train_acc:Q", format=".3f", title="train accuracy")])
    bars = base.mark_errorbar().encode(x=x, y=alt.Y("lo:Q", title="mean over repeats (± s.e.)"), y2="hi:Q",
                                       color=color)
    return (bars + line).add_params(choice)


def sqrt_fit_chart(means: pd.DataFrame, fits: pd.DataFrame, title: str, p_max: float = 0.4) -> alt.LayerChart:
    """Fig. 7a: mean local codes (± s.e.) against perturbation for each hidden size, our a − b√P fits (solid)
    and the paper's (dashed, ``FIG7A_FITS``). ``means``: rows ``perturb, width, mean, sem, count``;
    ``fits``: indexed by hidden size with columns ``a, b``."""
    grid = np.linspace(0, p_max, 41)
    lines = [pd.DataFrame({"P": grid, "LCs": f["a"] - f["b"] * np.sqrt(grid), "curve": f"ours, n_HLN={w}",
                           "source": "ours"}) for w, f in fits.iterrows() if np.isfinite(f["a"])]
    lines += [pd.DataFrame({"P": grid, "LCs": f["a"] - f["b"] * np.sqrt(grid), "curve": f"paper, n_HLN={w}",
                            "source": "paper"}) for w, f in FIG7A_FITS.iterrows()]
    lines = pd.concat(lines, ignore_index=True)
    sem = means["sem"].fillna(0.0)
    pts = pd.DataFrame({"P": means["perturb"], "mean": means["mean"], "lo": means["mean"] - sem,
                        "hi": means["mean"] + sem, "sem": sem, "count": means["count"], "width": means["width"],
                        "curve": [f"ours, n_HLN={w}" for w in means["width"]]})
    x = alt.X("P:Q", title="perturbation P (share of prototype ones turned off)")
    y_title = "local codes (pairs), mean over repeats"
    color = alt.Color("curve:N", title=None)
    fit_lines = alt.Chart(lines).mark_line().encode(
        x=x, y=alt.Y("LCs:Q", title=y_title), color=color,
        strokeDash=alt.StrokeDash("source:N", title=None,
                                  scale=alt.Scale(domain=["ours", "paper"], range=[[1, 0], [6, 4]])))
    points = alt.Chart(pts).mark_point(filled=True, size=50).encode(
        x=x, y=alt.Y("mean:Q", title=y_title), color=color,
        tooltip=["width:Q", "P:Q", alt.Tooltip("mean:Q", format=".2f"), alt.Tooltip("sem:Q", format=".2f"),
                 "count:Q"])
    bars = alt.Chart(pts).mark_errorbar().encode(x=x, y=alt.Y("lo:Q", title=y_title), y2="hi:Q", color=color)
    return (fit_lines + bars + points).properties(width=480, height=280, title=title)


CHECK_COLUMNS = ["finding", "key", "claim", "paper", "ours", "holds", "direction", "diff", "p"]


def save_chapter(scale: str, chapter: str, summary: pd.DataFrame, checks: list[dict], **extra) -> Path:
    """Write a chapter's ``summary.parquet``, ``checks.json`` and ``checks.parquet`` (read by the findings
    chapter) and ``provenance.json`` (git commit, device, date, versions, and ``extra``: the chapter's settings)."""
    folder = results_dir(scale, chapter)
    write_json(folder / "provenance.json", provenance(chapter=chapter, scale=scale, **extra))
    write_parquet(folder / "summary.parquet", summary.reset_index(drop=True))
    clean = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in c.items()} for c in checks]
    write_json(folder / "checks.json", {"chapter": chapter, "scale": scale, "checks": clean, **extra})
    table = pd.DataFrame(clean, columns=CHECK_COLUMNS)
    table["holds"] = table["holds"].astype("boolean")
    table["direction"] = table["direction"].astype("boolean")
    table["finding"] = table["finding"].astype("Int64")
    write_parquet(folder / "checks.parquet", table)
    return folder


def load_chapter(scale: str, chapter: str) -> tuple[pd.DataFrame | None, list[dict] | None]:
    """A chapter's stored ``summary.parquet`` and ``checks`` at ``scale`` (None where absent)."""
    folder = results_dir(scale, chapter, create=False)
    summary = pd.read_parquet(folder / "summary.parquet") if (folder / "summary.parquet").exists() else None
    checks = json.loads((folder / "checks.json").read_text())["checks"] if (folder / "checks.json").exists() \
        else None
    return summary, checks


def jitter_units(acts: np.ndarray, labels: np.ndarray, max_units: int = 24, n_contrast: int = 4,
                 prefix: str = "unit ") -> tuple[list[int], list[str]]:
    """Units worth a jitterplot: local-code units (widest gap first) and a few without one for contrast
    (those whose best class comes closest to separating). Returns column indices and their names."""
    from .selectivity import local_codes, unit_table

    codes = local_codes(acts, labels)
    best = codes.sort_values("gap", ascending=False).drop_duplicates("unit")
    lc_units = best["unit"].astype(int).tolist()[:max_units]
    names = [f"{prefix}{u} ({r.kind} code, class {r.cls})" for u, r in zip(lc_units, best.itertuples(),
                                                                                 strict=False)]
    others = np.setdiff1d(np.arange(acts.shape[1]), best["unit"].to_numpy())
    if n_contrast and len(others):
        tcs = unit_table(acts[:, others], labels, k=min(100, len(labels)))["top_class_selectivity"].to_numpy()
        pick = others[np.argsort(-tcs, kind="stable")[:n_contrast]]
        lc_units += pick.tolist()
        names += [f"{prefix}{u} (no local code)" for u in pick]
    return lc_units, names


def cached_npz(path: str | Path, compute: Callable[[], dict]) -> dict:
    """Arrays stored at ``path`` (.npz), computed by ``compute()`` and written atomically the first time."""
    path = Path(path)
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    arrays = compute()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return arrays


def _training_config(change: dict, width: int, training: dict, repeat: int):
    from . import train

    params = {**STANDARD, **change}
    train_keys = set(train.TRAIN_KEYS)
    cfg = {k: v for k, v in params.items() if k in train_keys}
    data_kw = {k: v for k, v in params.items() if k not in train_keys}
    seed = int(training.get("seed", 0)) + repeat
    config = train.TrainConfig.from_dict({**dict(training), **cfg, "hidden": (int(width),), "seed": seed})
    return config, train.code_data(**data_kw, seed=seed)


def example_networks(
    scale: str,
    chapter: str,
    widths: Sequence[int],
    training: dict,
    change: dict | None = None,
    repeat: int = 0,
    max_units: int = 12,
) -> tuple[np.ndarray, np.ndarray, list[str], pd.DataFrame]:
    """Retrain repeat ``repeat`` of the sweep's network for each hidden size (the same seeds, so the same
    networks as in ``code_sweep``) and gather their most interesting units for one jitterplot.

    Returns activations (n, K) of the chosen units of all networks side by side, on the training examples every
    one of these networks classifies correctly, their class labels, the units' names (``n_HLN=… · unit …``) and
    a table of each network's local-code counts. Cached under ``results/<scale>/<chapter>/examples-….npz``.
    """
    from . import train
    from .selectivity import local_codes

    change = dict(change or {})
    tag = "-".join(str(w) for w in widths) + f"-r{repeat}-" + "-".join(f"{k}{v}" for k, v in sorted(change.items()))
    tag = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in tag)
    path = results_dir(scale, chapter) / f"examples-{tag}.npz"

    def compute() -> dict:
        out: dict[str, np.ndarray] = {}
        for w in widths:
            config, data = _training_config(change, w, training, repeat)
            res = train.train(data, config)
            acts, labels = train.network_activations(res.ensemble, data, 0, correct_only=False)
            p = res.ensemble.forward(data.X)[0].cpu().numpy()
            correct = np.abs(p - data.targets[data.y]).max(-1) < 0.5
            out[f"acts_{w}"] = acts.astype(np.float32)
            out[f"correct_{w}"] = correct
            out["labels"] = labels
        return out

    arrays = cached_npz(path, compute)
    labels = arrays["labels"]
    keep = np.logical_and.reduce([arrays[f"correct_{w}"] for w in widths])
    if len(np.unique(labels[keep])) < 2:  # (barely trained networks, e.g. at smoke scale) show every example
        keep = np.ones_like(keep)
    cols, names, rows = [], [], []
    for w in widths:
        acts_w = arrays[f"acts_{w}"]
        own = arrays[f"correct_{w}"]
        if len(np.unique(labels[own])) >= 2:
            codes = local_codes(acts_w[own], labels[own])
        else:
            codes = pd.DataFrame({"unit": [], "cls": [], "kind": [], "gap": []})
        rows.append({"hidden units": int(w), "repeat": repeat, "train accuracy": float(own.mean()),
                     "local codes (pairs)": len(codes), "units with a local code": codes["unit"].nunique(),
                     "on": int((codes["kind"] == "on").sum()), "off": int((codes["kind"] == "off").sum()),
                     "examples plotted": int(keep.sum())})
        units, unit_names = jitter_units(acts_w[keep], labels[keep], max_units=max_units, n_contrast=2,
                                         prefix=f"n_HLN={w} · unit ")
        cols.append(acts_w[keep][:, units])
        names += unit_names
    return np.concatenate(cols, axis=1), labels[keep], names, pd.DataFrame(rows)


def stored_final(scale: str, changes: Sequence[dict] | None = None) -> pd.DataFrame | None:
    """Final rows stored in the shared store at ``scale`` whose data/network settings equal ``STANDARD`` plus one
    of ``changes`` (any hidden size, any training settings); None when nothing is stored."""
    root = results_dir(scale, SHARED_STORE, create=False)
    if not root.exists():
        return None
    rows = ResultsStore(root).read()
    if rows.empty:
        return None
    rows = rows[rows["final"]].copy()
    masks = []
    for change in changes or [{}]:
        want = {**STANDARD, **change}
        m = pd.Series(True, index=rows.index)
        for k, v in want.items():
            if k not in rows:
                m &= False
                continue
            m &= np.isclose(rows[k].astype(float), float(v)) if isinstance(v, float) else rows[k] == v
        masks.append(m)
    rows = rows[np.logical_or.reduce(masks)]
    if rows.empty:
        return None
    rows["lc_share"] = rows["lc_units"] / rows["width"]
    return rows.reset_index(drop=True)


def verdict(check: dict) -> str:
    """A check in words: reproduced (holds), same direction but not significant (a test was made) or partly
    (no test, only the direction agrees), not reproduced, or cannot be judged (too few networks)."""
    if check.get("holds") is True:
        return "reproduced"
    if check.get("holds") is None:
        return "cannot be judged"
    if check.get("direction") is True:
        return "same direction, not significant" if check.get("p") is not None else "partly (same direction)"
    return "not reproduced"


def verdict_table(checks: list[dict]) -> pd.DataFrame:
    """The checks of a chapter as a table: the paper's claim, what the paper shows, what we found, the verdict."""
    rows = [{"claim (paper 000)": c["claim"], "paper": c.get("paper", ""), "ours": c["ours"],
             "verdict at this scale": verdict(c)} for c in checks]
    return pd.DataFrame(rows)


def verdict_lines(checks: list[dict]) -> str:
    """The checks as Markdown bullet points, for a chapter's closing summary."""
    if not checks:
        return "Nothing to judge at this scale."
    return "\n".join(f"* {c['claim']}: **{verdict(c)}** ({c['ours']})." for c in checks)


# --- experiment 12: MNIST-format digits with hot-pixel invariants -----------------------------------------------

@functools.lru_cache(maxsize=4)
def _digits(split: str, source: str):
    from .data import load_digits

    return load_digits(split, source=source, download=False)


def digit_conditions(conditions: Sequence[str], modes: Sequence[str]) -> list[dict]:
    """Table 9's rows × invariant modes as sweep conditions (``{"invariant": row, "mode": mode}``); "standard"
    (no invariant) is run once, since the mode does not matter without an invariant."""
    from .data import HOT_PIXEL_CONDITIONS, HOT_PIXEL_MODES

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
    """A ``train.Dataset`` for experiment 12: a balanced subset of the MNIST-format training digits
    (``n_per_class`` per class, chosen with ``subset_seed`` so every repeat sees the same images) with the
    hot-pixel invariant of ``invariant`` (a Table 9 row, ``data.HOT_PIXEL_CONDITIONS``) and ``mode`` (drawn with
    ``seed``), scaled to [0, 1] and centred on the mean image (the paper's "normalisation from the mean image"),
    with 1-hot targets.

    ``info`` records the data set's name and source (``load_digits``). Images too small for 10 disjoint blocks of
    ``n_pixels`` edge pixels (scikit-learn's 8×8 digits) get the largest blocks that fit.
    """
    from . import train
    from .data import balanced_subset, hot_pixel_condition

    full = _digits("train", source)
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
    return train.array_data(X, hot.labels, output="onehot", info=info)


def digit_example(scale: str, chapter: str, data_kw: dict, config: dict, max_units: int = 12
                  ) -> tuple[np.ndarray, np.ndarray, list[str], pd.DataFrame]:
    """Train one experiment-12 network again (``digits_data(**data_kw)``, ``TrainConfig(**config)``: pass the
    sweep's settings and a repeat's seed to get that very network) and gather the local-code units of each hidden
    layer for a jitterplot, on the training images it classifies correctly. Cached as .npz."""
    from . import train
    from .selectivity import local_codes

    tag = "-".join(f"{k}{v}" for k, v in sorted({**data_kw, **config}.items()) if k != "checkpoints")
    tag = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in tag)[:150]
    path = results_dir(scale, chapter) / f"example-{tag}.npz"

    def compute() -> dict:
        data = digits_data(**data_kw)
        res = train.train(data, train.TrainConfig.from_dict(dict(config)))
        out = {}
        for layer in range(len(res.ensemble.sizes) - 2):
            acts, labels = train.network_activations(res.ensemble, data, 0, layer=layer)
            out[f"acts_{layer}"] = acts.astype(np.float32)
            out["labels"] = labels
        return out

    arrays = cached_npz(path, compute)
    labels = arrays["labels"]
    cols, names, rows = [], [], []
    n_layers = sum(k.startswith("acts_") for k in arrays)
    for layer in range(n_layers):
        acts = arrays[f"acts_{layer}"]
        ok = len(np.unique(labels)) >= 2
        codes = local_codes(acts, labels) if ok else pd.DataFrame({"unit": [], "kind": []})
        rows.append({"hidden layer": layer + 1, "units": acts.shape[1], "correct training images": len(labels),
                     "local codes (pairs)": len(codes), "units with a local code": codes["unit"].nunique()})
        if ok:
            units, unit_names = jitter_units(acts, labels, max_units=max_units, n_contrast=1,
                                             prefix=f"layer {layer + 1} · unit ")
            cols.append(acts[:, units])
            names += unit_names
    acts = np.concatenate(cols, axis=1) if cols else np.zeros((len(labels), 0), np.float32)
    return acts, labels, names, pd.DataFrame(rows)


def set_cpu_threads(n: int = 1) -> int:
    """Use ``n`` CPU threads for torch in this process (no effect on a GPU run's kernels); returns the old count.

    Why 1: the networks of these chapters are small (batch 32, at most a few thousand units), so a second thread
    gains little, and when the cores are shared (a book build beside other jobs) OpenMP threads waiting for each
    other made training 5-15x slower in our measurements (3 networks x 1000 units x 10 epochs: 37 s with 2
    threads, 2.2 s with 1, on a busy 2-core machine).
    """
    import torch

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    return old


def image_grid(cells: pd.DataFrame, size: int = 112, title: str = "") -> alt.Chart:
    """Greyscale images in a grid: ``cells`` has columns ``row``, ``column`` (labels) and ``image`` (2-D uint8
    arrays). Each image is embedded as a small PNG (a few hundred bytes) rather than one mark per pixel."""
    import base64
    import io

    from PIL import Image

    urls = []
    for img in cells["image"]:
        buf = io.BytesIO()
        pil = Image.fromarray(np.asarray(img, dtype=np.uint8), mode="L")
        pil.resize((size, size), Image.NEAREST).save(buf, format="PNG", optimize=True)
        urls.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    data = pd.DataFrame({"row": cells["row"].astype(str), "column": cells["column"].astype(str), "url": urls})
    return alt.Chart(data, title=title).mark_image(width=size, height=size).encode(
        x=alt.X("column:N", title=None, sort=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("row:N", title=None, sort=None), url="url:N",
    ).properties(width=alt.Step(size + 12), height=alt.Step(size + 12))
