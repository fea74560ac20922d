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
from localcodes.store import ResultsStore, atomic_path, project_root, provenance, results_dir, write_json

from .paper000.reported import FIG7A_FITS, TABLE2_MEAN_NO_DROPOUT
from .paper000.sweeps import STANDARD

__all__ = [
    "CHAPTER",
    "SCHEDULES",
    "POINTS",
    "TIME_FRACTIONS",
    "MARGIN",
    "ENSEMBLE",
    "checkpoints",
    "run_point",
    "load",
    "agreement",
    "choose_schedule",
    "curves",
    "status_text",
    "identity_text",
    "agreement_text",
    "agreement_display",
    "agreement_over_time",
    "paper_count_table",
    "BOOK_SCHEDULE",
    "runs_table",
    "abstract_text",
    "save_results",
]

CHAPTER = "22_calibration"

#: name → (lr, epochs); every schedule is SGD with batch 32 and lr × epochs = 450 (the paper's).
SCHEDULES: dict[str, tuple[float, int]] = {
    "paper": (0.01, 45_000),
    "lr 0.1 × 4,500": (0.1, 4_500),
    "lr 0.5 × 900": (0.5, 900),
    "lr 2.0 × 225 (book)": (engine.BOOK_DEFAULTS["lr"], engine.BOOK_DEFAULTS["epochs"]),
}
if (engine.BOOK_DEFAULTS["lr"], engine.BOOK_DEFAULTS["epochs"]) != (2.0, 225):  # the names above say 2.0 × 225
    raise RuntimeError("engine.BOOK_DEFAULTS changed: rename the book schedule in calibration.SCHEDULES")
#: The schedule the book scale trains with (the engine's book defaults).
BOOK_SCHEDULE = "lr 2.0 × 225 (book)"
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


#: Networks per ensemble: the stored runs were trained five at a time, and a network's float rounding depends on
#: the ensemble it is trained in (local codes and accuracy do not; losses differ in the last bits).
ENSEMBLE = 5


def run_point(scale: str, point: str, schedules: Sequence[str], repeats: int, progress: bool = False,
              max_networks: int = ENSEMBLE) -> pd.DataFrame:
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
    if rows.empty:
        return pd.DataFrame()
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


# --- what the chapter shows -------------------------------------------------------------------------------------

def status_text(scale: str, points: Sequence[str], repeats: int, live: Sequence[str], stored: pd.DataFrame,
                stored_scale: str) -> str:
    """What was trained here and what is read from the stored results, with their provenance."""
    lines = [f"**Scale `{scale}`**: trained here: {', '.join(live)} at {', '.join(points)}, {repeats} networks "
             f"each (seeds 0–{repeats - 1})."]
    if stored.empty:
        lines.append(f"**No `{stored_scale}`-scale results are stored**: the comparisons below are not run. Compute "
                     f"them with `localcodes run {CHAPTER} --scale reference` (hours of CPU; resumable).")
        return "\n\n".join(lines)
    have = stored.groupby(["point", "schedule"])["repeat"].nunique()
    missing = [f"{p} / {s}" for p in POINTS for s in SCHEDULES if (p, s) not in have.index]
    prov = stored.drop_duplicates("git_commit")
    when = pd.to_datetime(stored["created"]).agg(["min", "max"]) if "created" in stored else None
    lines.append(
        f"**Stored `{stored_scale}` results** (read from `results/{stored_scale}/{CHAPTER}/`): "
        + "; ".join(f"{p} / {s}: {n} networks" for (p, s), n in have.items())
        + (f". Computed on {stored['device'].iloc[0]}" if "device" in stored else "")
        + (f", {when['min']:%Y-%m-%d %H:%M} to {when['max']:%Y-%m-%d %H:%M} UTC" if when is not None else "")
        + f", at commit(s) {', '.join(str(c)[:10] for c in prov['git_commit'])}.")
    if missing:
        lines.append("Not computed yet (their comparisons are *not run*): " + "; ".join(missing) + ".")
    return "\n\n".join(lines)


def identity_text(live: pd.DataFrame, stored: pd.DataFrame) -> str:
    """Whether the networks trained here equal the stored networks of the same point, schedule and seed."""
    if stored.empty:
        return "Nothing stored to compare with."
    keys = ["point", "schedule", "repeat", "epoch"]
    both = live.merge(stored, on=keys, suffixes=("", "_stored"))
    if both.empty:
        return "No stored network matches those trained here (other points, schedules or seeds)."
    counts = ["lc_pairs", "lc_units", "lc_on", "lc_off", "train_acc"]
    diff = max(float((both[c] - both[f"{c}_stored"]).abs().max()) for c in counts)
    loss = float(((both["train_loss"] - both["train_loss_stored"]).abs() / both["train_loss_stored"].abs()
                  .clip(lower=1e-12)).max())
    nets = both.groupby(["point", "schedule", "repeat"]).ngroups
    if diff == 0 and loss == 0:
        return (f"**Identical**: {nets} networks, {len(both)} checkpoints; local codes, loss and accuracy equal the "
                "stored reference runs exactly.")
    if diff == 0 and loss < 1e-5:
        return (f"**Identical local codes and accuracy**: {nets} networks, {len(both)} checkpoints; losses agree to "
                f"{loss:.1g} (relative), the float rounding of training in ensembles of another size.")
    return (f"**Different**: {nets} networks, {len(both)} checkpoints; the largest difference in local codes or "
            f"accuracy is {diff:.3g}, in loss {loss:.3g} (relative). The stored runs were computed on another "
            "device or another version of the code (see their provenance above).")


def agreement_text(table: pd.DataFrame) -> str:
    """The chosen schedule and the rule, in words."""
    if table.empty:
        return "**Not run**: no point has both the paper schedule and a candidate stored."
    chosen = choose_schedule(table)
    counts = table.groupby("schedule")["outcome"].value_counts().unstack(fill_value=0)
    per = "; ".join(f"{s}: " + ", ".join(f"{int(n)} {o}" for o, n in counts.loc[s].items() if n)
                    for s in counts.index)
    book = BOOK_SCHEDULE
    mine = table[table["schedule"] == book]
    shown = int((mine["outcome"] == "reproduced").sum())
    cost = (f" It costs {SCHEDULES[chosen][1] / SCHEDULES[book][1]:g}× the book's epochs; the book's budget (the "
            "whole book in 30 minutes on 2 cores) does not afford it, so the book keeps its schedule, which is shown "
            f"equivalent at {shown} of {len(mine)} points")
    verdict = (f"The cheapest schedule equivalent to the paper's at every point measured is **{chosen}**"
               + (" — the book's schedule." if chosen == book else
                  "." + cost + ": book-scale verdicts that depend on the count of local codes at the other points "
                  "carry that caveat.")
               if chosen else "**No candidate schedule is equivalent to the paper's at every point measured**: "
               "book-scale verdicts that depend on the count of local codes carry that caveat.")
    return f"Outcomes per schedule over the points measured — {per}. {verdict}"


def agreement_display(table: pd.DataFrame) -> pd.DataFrame:
    """The agreement table as the page shows it."""
    t = table.copy()
    t["interval"] = [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)]
    t = t.rename(columns={"paper_lc": "paper schedule: LCs", "schedule_lc": "this schedule: LCs",
                          "paper_acc": "paper schedule: train acc.", "schedule_acc": "this schedule: train acc.",
                          "effect": "difference of log(1+LCs)"})
    cols = ["point", "schedule", "n", "paper schedule: LCs", "this schedule: LCs", "paper schedule: train acc.",
            "this schedule: train acc.", "difference of log(1+LCs)", "interval", "p", "outcome", "n_needed"]
    return t[cols].round(3)


def agreement_over_time(rows: pd.DataFrame, reference: str = "paper") -> pd.DataFrame:
    """Equivalence of each schedule with the paper's at each of ``TIME_FRACTIONS`` of the run (same lr × epoch)."""
    out = []
    for point in [p for p in POINTS if p in set(rows["point"])]:
        sub = rows[rows["point"] == point]
        if reference not in set(sub["schedule"]):
            continue
        for name in [s for s in SCHEDULES if s != reference and s in set(sub["schedule"])]:
            for frac in TIME_FRACTIONS:
                at = {}
                for s in (reference, name):
                    lr, epochs = SCHEDULES[s]
                    e = int(round(frac * epochs))
                    at[s] = sub[(sub["schedule"] == s) & (sub["epoch"] == e)].set_index("repeat")["lc_pairs"]
                both = at[reference].index.intersection(at[name].index)
                v = verdicts.judge_equivalence(np.log1p(at[name].loc[both].to_numpy(float)),
                                               np.log1p(at[reference].loc[both].to_numpy(float)), margin=MARGIN)
                out.append({"point": point, "schedule": name, "share of the run": frac,
                            "paper schedule: LCs": float(at[reference].loc[both].mean()),
                            "this schedule: LCs": float(at[name].loc[both].mean()), "n": v.n, "outcome": v.outcome})
    return pd.DataFrame(out).round(3)


def paper_count_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Local codes per 500-unit network under the paper's schedule (fresh vs shared random fill) against the
    paper's reported counts (Fig. 7a intercept, Table 2 without dropout): equivalence on log(1 + count)."""
    reported = {"Fig. 7a intercept": float(FIG7A_FITS.loc[500, "a"]), "Table 2, no dropout": TABLE2_MEAN_NO_DROPOUT}
    out = []
    final = rows[rows["final"]] if not rows.empty else rows
    for point in ("500 units", "500 units, shared random"):
        sub = final[(final["point"] == point) & (final["schedule"] == "paper")] if not final.empty else final
        counts = sub["lc_pairs"].to_numpy(float) if len(sub) else np.array([])
        for name, value in reported.items():
            v = verdicts.judge_equivalence(np.log1p(counts), np.full(counts.size, np.log1p(value)), margin=MARGIN)
            out.append({"our networks (paper schedule)": point, "n": v.n,
                        "our mean LCs": float(counts.mean()) if counts.size else np.nan,
                        "paper": f"{value:g} ({name})", "outcome": v.outcome,
                        "difference of log(1+LCs) [interval]": (f"{v.effect:+.2f} [{v.ci[0]:.2f}, {v.ci[1]:.2f}]"
                                                                if v.outcome != "not run" else "")})
    return pd.DataFrame(out).round(2)


def runs_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Per point and schedule: networks, seeds, training wall time (sum over ensembles), device, commits and dates
    of the stored runs — their provenance, read from the rows themselves."""
    if stored.empty:
        return pd.DataFrame()
    final = stored[stored["final"]]
    out = []
    for (point, name), g in final.groupby(["point", "schedule"], sort=False):
        lr, epochs = SCHEDULES[name]
        out.append({"point": point, "schedule": name, "lr": lr, "epochs": epochs,
                    "networks": int(g["repeat"].nunique()),
                    "seeds": sorted(int(x) for x in g["seed"].unique()),
                    "ensemble_wall_s": float(g.drop_duplicates("ensemble_wall_s")["ensemble_wall_s"].sum()),
                    "device": sorted(set(map(str, g["device"]))), "git_commit": sorted(set(map(str, g["git_commit"]))),
                    "created": [str(g["created"].min()), str(g["created"].max())]})
    return pd.DataFrame(out)


def _span(n: pd.Series) -> str:
    lo, hi = int(n.min()), int(n.max())
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def abstract_text(scale: str, stored: pd.DataFrame, stored_scale: str) -> str:
    """A Markdown paragraph for the book's abstract, computed from the stored verdicts: how the book's schedule
    compares with the paper's, and which code gives the paper's count of local codes."""
    table = agreement(stored)
    if table.empty:
        return (f"* **The book's training shortcut** (lr 2.0 × 225 for the paper's lr 0.01 × 45,000) is *not run* "
                f"against the paper's schedule at the `{scale}` scale: no `{stored_scale}`-scale results are stored.\n")
    mine = table[table["schedule"] == BOOK_SCHEDULE]
    counts = verdicts.count_outcomes(mine["outcome"].tolist())
    others = mine[mine["outcome"] != "reproduced"]
    text = (f"* **The book's training shortcut** (lr 2.0 × 225 for the paper's lr 0.01 × 45,000), against networks "
            f"trained with the paper's schedule (stored `{stored_scale}` results, {_span(mine['n'])} networks per "
            "point, paired by seed): the final count of local codes is "
            f"equivalent at {counts['reproduced']} of {len(mine)} points"
            + ("; " + "; ".join(f"{r.outcome} at {r.point} ({r.paper_lc:.1f} vs {r.schedule_lc:.1f})"
                                for r in others.itertuples()) if len(others) else "")
            + f". The cheapest schedule equivalent at every point: {choose_schedule(table) or 'none'}.")
    counts_table = paper_count_table(stored)
    ran = counts_table[counts_table["outcome"] != "not run"]
    if len(ran):
        text += (" Paper 000's count at 500 units (the Fig. 7a intercept, 20.6), with the paper's schedule: "
                 + "; ".join(f"{r['our networks (paper schedule)']}: {r['our mean LCs']:.1f}, {r['outcome']}"
                             for _, r in ran[ran["paper"].str.contains("7a")].iterrows()) + ".")
    return text + "\n"


def save_results(scale: str, stored: pd.DataFrame, stored_scale: str, **settings) -> None:
    """Write ``provenance.json`` (the runs read, per point and schedule, and ``settings``) and ``abstract.md`` (read
    by the book's index) under ``results/<scale>/<chapter>/``."""
    folder = results_dir(scale, CHAPTER)
    runs = runs_table(stored)
    write_json(folder / "provenance.json", provenance(
        chapter=CHAPTER, scale=scale, stored_scale=stored_scale, command=f"localcodes run {CHAPTER} --scale {scale}",
        cpu_threads=1, ensemble=ENSEMBLE, margin=MARGIN, schedules=SCHEDULES, point_definitions=POINTS, code=STANDARD,
        runs=runs.to_dict("records"), **settings))
    with atomic_path(folder / "abstract.md") as tmp:
        tmp.write_text(abstract_text(scale, stored, stored_scale))
