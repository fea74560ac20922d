"""Does the book's shortcut change the answer? Paper 000's training schedule against the CPU schedules.

Paper 000 trains with SGD at lr 0.01 for 45,000 epochs (batch 32, sigmoid, binary cross-entropy,
U(-0.05, 0.05)). The book trains at a larger step for fewer epochs, keeping lr × epochs (the "training time"
of gradient flow) at 450. Here the same networks — same seed, same code, same initial weights, so every
comparison is paired by network — are trained with the paper's schedule and with candidate CPU schedules, on
the standard code (500 bits, 10 classes, 50 codewords per class, S_R = 1/3) at several hidden sizes, and their
local codes and accuracy are compared: per point, an equivalence test of the final count of local codes
(log(1 + count), margin ``MARGIN``), and the counts at the same training time along the way.

The paper-schedule networks are ``reference``-scale results (hours of CPU), computed once and committed under
``results/reference/<chapter>/``; the candidate schedules are cheap and recomputed at every scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from localcodes import engine, verdicts
from localcodes.store import ResultsStore, project_root, results_dir

from .paper000.sweeps import STANDARD

__all__ = [
    "CHAPTER",
    "SCHEDULES",
    "POINTS",
    "TIME_FRACTIONS",
    "MARGIN",
    "checkpoints",
    "run_point",
    "load",
    "agreement",
    "choose_schedule",
    "curves",
]

CHAPTER = "22_calibration"

#: name → (lr, epochs); every schedule is SGD with batch 32 and lr × epochs = 450 (the paper's).
SCHEDULES: dict[str, tuple[float, int]] = {
    "paper": (0.01, 45_000),
    "lr 0.1 × 4,500": (0.1, 4_500),
    "lr 0.5 × 900": (0.5, 900),
    "lr 2.0 × 225 (book)": (engine.BOOK_DEFAULTS["lr"], engine.BOOK_DEFAULTS["epochs"]),
}
#: The points compared: departures from the standard code (``experiments.paper000.STANDARD``) and a hidden size.
POINTS: dict[str, dict] = {
    "100 units": {"hidden": [100]},
    "250 units": {"hidden": [250]},
    "500 units": {"hidden": [500]},
    "500 units, n_x = 250": {"hidden": [500], "n_per_class": 25},
    "100 units, shared random": {"hidden": [100], "shared_random": True},
    "250 units, shared random": {"hidden": [250], "shared_random": True},
    "500 units, shared random": {"hidden": [500], "shared_random": True},
}
#: Shares of each schedule's epochs at which all schedules are measured (the same training time lr × epoch).
TIME_FRACTIONS = (0.04, 0.2, 1.0)
#: Equivalence margin on log(1 + local codes per network): counts within a factor of about 1.25 of each other
#: (or within one code when there are few) count as the same answer.
MARGIN = float(np.log(1.25))


def checkpoints(epochs: int) -> tuple[int, ...]:
    """Log-spaced checkpoints (for the curves) plus the epochs at ``TIME_FRACTIONS`` of ``epochs``."""
    shared = {int(round(f * epochs)) for f in TIME_FRACTIONS}
    return tuple(sorted(set(engine.log_checkpoints(epochs, n=16)) | shared))


def _check(names: Sequence[str], allowed: dict, what: str) -> None:
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise ValueError(f"{what} must be a non-empty list from {list(allowed)}; got {list(names)}")


def run_point(scale: str, point: str, schedules: Sequence[str], repeats: int, progress: bool = False,
              max_networks: int | None = None) -> pd.DataFrame:
    """Train ``repeats`` networks of ``point`` with each schedule (resumable: one store per point and schedule
    under ``results/<scale>/<chapter>/``); return every checkpoint row with ``point``, ``schedule``, ``time``
    (lr × epoch) and ``repeat`` columns."""
    _check([point], POINTS, "point")
    _check(schedules, SCHEDULES, "schedules")
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2 (a paired test needs two networks); got {repeats}")
    frames = []
    for name in schedules:
        lr, epochs = SCHEDULES[name]
        condition = {**STANDARD, **POINTS[point], "optimizer": "sgd", "batch_size": 32, "lr": lr,
                     "epochs": epochs, "checkpoints": checkpoints(epochs)}
        folder = results_dir(scale, CHAPTER) / _slug(point) / _slug(name)
        state = project_root() / ".localcodes-cache" / "state" / scale / CHAPTER / _slug(point) / _slug(name)
        rows = engine.sweep([condition], repeats, ResultsStore(folder), progress=progress, state_dir=state,
                            max_networks=max_networks)
        frames.append(rows.assign(point=point, schedule=name, time=rows["epoch"] * lr))
    return pd.concat(frames, ignore_index=True)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").replace("--", "-")


def load(scale: str) -> pd.DataFrame:
    """Every stored row at ``scale`` (empty when nothing is stored), with ``point`` and ``schedule``."""
    root = results_dir(scale, CHAPTER, create=False)
    frames = []
    for point in POINTS:
        for name, (lr, _) in SCHEDULES.items():
            folder = root / _slug(point) / _slug(name)
            rows = ResultsStore(folder).read() if folder.exists() else pd.DataFrame()
            if not rows.empty:
                frames.append(rows.assign(point=point, schedule=name, time=rows["epoch"] * lr))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _final(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["final"]].set_index(["point", "schedule", "repeat"]).sort_index()


def agreement(rows: pd.DataFrame, reference: str = "paper") -> pd.DataFrame:
    """Per point and candidate schedule: the final local codes and accuracy of both, and the equivalence
    verdict on log(1 + local codes) paired by network (``verdicts.judge_equivalence``, margin ``MARGIN``)."""
    out = []
    final = _final(rows)
    for point in [p for p in POINTS if p in set(rows["point"])]:
        if (point, reference) not in final.index.droplevel("repeat"):
            continue
        ref = final.loc[(point, reference)]
        for name in [s for s in SCHEDULES if s != reference and (point, s) in final.index.droplevel("repeat")]:
            cand = final.loc[(point, name)]
            both = ref.index.intersection(cand.index)
            a = np.log1p(cand.loc[both, "lc_pairs"].to_numpy(float))
            b = np.log1p(ref.loc[both, "lc_pairs"].to_numpy(float))
            v = verdicts.judge_equivalence(a, b, margin=MARGIN, paired=True)
            out.append({
                "point": point, "schedule": name, "n": len(both),
                "paper_lc": float(ref.loc[both, "lc_pairs"].mean()), "schedule_lc": float(cand.loc[both,
                                                                                                    "lc_pairs"].mean()),
                "paper_acc": float(ref.loc[both, "train_acc"].mean()),
                "schedule_acc": float(cand.loc[both, "train_acc"].mean()),
                **v.as_dict(), "verdict": str(v),
            })
    return pd.DataFrame(out)


def choose_schedule(table: pd.DataFrame) -> str | None:
    """The cheapest candidate schedule (fewest epochs) that is equivalent to the paper's at every point where
    both were run; None when none is."""
    if table.empty:
        return None
    ok = table.groupby("schedule")["outcome"].agg(lambda s: bool((s == "reproduced").all()))
    passing = [s for s in ok.index if ok[s]]
    return min(passing, key=lambda s: SCHEDULES[s][1]) if passing else None


def curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean local codes (and sem) per point, schedule and training time (lr × epoch), for the rise over training."""
    g = rows.groupby(["point", "schedule", "time"])["lc_pairs"]
    return g.agg(mean="mean", sem="sem", n="count").reset_index()
