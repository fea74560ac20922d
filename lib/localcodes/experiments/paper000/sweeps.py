"""Sweeps of paper 000's networks, and reading back what they stored.

Every chapter of experiments 1–7 varies one thing away from the **standard code** (``STANDARD``: 500 bits, 10
classes, 50 codewords per class, S_R = 1/3, no perturbation, distributed 50-bit output, sigmoid) over a list of
hidden-layer sizes. ``code_sweep`` spells every condition out in full (``STANDARD`` + the change), so the same
network is the same condition in every chapter; all those chapters share one results store
(``results/<scale>/codes_sweeps``, ``shared_store``) and a condition computed for one chapter is reused by the next.
``stored_final`` reads it back (e.g. stored paper-scale runs); ``summarise`` gives the per-group statistics each
chapter stores in ``summary.parquet``.

The chapters of experiments 8–11 and 13 run their own sweeps with ``engine.sweep``; ``training`` gives their base
settings, ``final_rows`` each network's last measurement and ``table1_settings`` the conditions of Table 1.
``split_params`` is the one place that tells training settings (``engine.TrainConfig`` fields) from data settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from localcodes import engine
from localcodes.store import ResultsStore, results_dir

from .reported import TABLE1
from .statistics import mean_sem, require_columns

#: The standard code and network of experiment 1 (paper 000 §2): every condition of chapters 10–15 is this plus
#: one change. Keys are ``engine.code_data`` arguments except ``activation`` (a ``TrainConfig`` field).
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
MEASURES = ("lc_pairs", "lc_units", "lc_share")  # summarise's measures (labels: charts.paper000.MEASURE_NAMES)


def shared_store(scale: str) -> ResultsStore:
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
    experiment 2…). ``training``: ``TrainConfig`` settings shared by all (e.g. ``engine.BOOK_DEFAULTS``). Results go
    to the shared store, so conditions already computed (by this or another chapter) are not recomputed. The rows
    carry every parameter as a column, ``width`` (hidden units), ``repeat`` and ``lc_share``.
    """
    if not widths:
        raise ValueError("widths must list at least one hidden-layer size")
    unknown = sorted({k for c in changes for k in c} - set(STANDARD))
    if unknown:
        raise ValueError(f"changes may only set {sorted(STANDARD)}; got {unknown}")
    conditions = [{**STANDARD, **change, "hidden": [int(w)]} for change in changes for w in widths]
    rows = engine.sweep(conditions, repeats, shared_store(scale), base=dict(training), progress=progress)
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


def paper_results(chapter: str, name: str = "summary.parquet") -> pd.DataFrame | None:
    """A stored ``paper``-scale result of a chapter (``results/paper/<chapter>/<name>``), or None if absent."""
    path = results_dir("paper", chapter, create=False) / name
    return pd.read_parquet(path) if path.exists() else None


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


TRAININGS = ("book", "paper")


def training(name: str = "book", **overrides) -> dict:
    """Training settings for a sweep's ``base``: ``engine.BOOK_DEFAULTS`` (``"book"``) or
    ``engine.PAPER_DEFAULTS`` (``"paper"``), with every override that is not None applied (``epochs=20``)."""
    if name not in TRAININGS:
        raise ValueError(f"training must be one of {TRAININGS}; got {name!r}")
    base = dict(engine.BOOK_DEFAULTS if name == "book" else engine.PAPER_DEFAULTS)
    base.update({k: v for k, v in overrides.items() if v is not None})
    return base


def final_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Each network's last measurement (``final`` rows) of an ``engine.sweep``/``engine.train`` history."""
    require_columns(history, ["final"])
    return history[history["final"]].reset_index(drop=True)


STOP_RULES = {"steps": "budget", "val_loss": "val_loss", "train_acc": "train_acc"}


def table1_settings(condition: str, n_x_small: int = 100, n_x_large: int = 1000, lr_sigmoid: float = 0.01,
                    lr_relu: float = 0.01, dropout: float = 0.2) -> dict:
    """The sweep settings of one experiment-11 condition (a letter of ``TABLE1``), for ``engine.sweep``.

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


def set_cpu_threads(n: int = 1) -> int:
    """Use ``n`` CPU threads for torch in this process (no effect on a GPU run's kernels); returns the old count.

    Why 1: the networks of these chapters are small (batch 32, at most a few thousand units), so a second thread
    gains little, and when the cores are shared (a book build beside other jobs) OpenMP threads waiting for each
    other made training 5-15x slower in our measurements (3 networks x 1000 units x 10 epochs: 37 s with 2
    threads, 2.2 s with 1, on a busy 2-core machine).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    return old


def split_params(params: dict) -> tuple[dict, dict]:
    """A sweep condition's settings split into ``engine.TrainConfig`` fields and the rest (the data's)."""
    train_p = {k: v for k, v in params.items() if k in engine.TRAIN_KEYS}
    data_p = {k: v for k, v in params.items() if k not in engine.TRAIN_KEYS}
    return train_p, data_p


def stored_summary(scale: str, changes: Sequence[dict], factor: str) -> pd.DataFrame | None:
    """``summarise`` of the networks stored at ``scale`` for ``changes`` (``stored_final``) per ``factor`` and
    hidden size — ``factor`` may be ``n_x``, the training codewords (10 × ``n_per_class``); None when nothing is
    stored."""
    stored = stored_final(scale, changes)
    if stored is None:
        return None
    if factor == "n_x":
        stored["n_x"] = stored["n_per_class"] * 10
    return summarise(stored, [factor, "width"])
