"""A sweep's networks trained again, to look inside them: the one path from a sweep's settings to a jitterplot.

No weights are stored: ``engine.sweep`` gives repeat ``r`` the seed ``seed + r`` for both the network and its data,
and every network draws from its own random streams, so ``retrain`` with the same settings and seed gives the very
network of the sweep (on the same device). Three views build on it, each cached as ``.npz`` so re-running a chapter
does not retrain; each cache is keyed by everything that determines it (the settings, and the version of the code that
trains the networks, ``CACHE_SCHEMA`` and ``store.source_digest``), so other settings or changed code recompute:

* ``network_views`` / ``network_jitter`` — one or more networks of a sweep (experiments 8–11, 13), their hidden
  activations on the correctly classified training examples, and the units worth a jitterplot;
* ``example_networks`` — the standard-code sweep's network at several hidden sizes side by side (experiments 1–7);
* ``digit_example`` — an experiment-12 network (digits with hot-pixel invariants), both hidden layers.

``jitter_units`` chooses the units: local-code units first, then a few without one for contrast.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from localcodes import engine
from localcodes.selectivity import local_codes, unit_table
from localcodes.store import atomic_path, key, results_dir, source_digest

from .digits import digits_data, train_digits
from .sweeps import STANDARD, split_params

UNIT_ORDERS = ("gap", "codes")

#: The layout of the arrays these caches hold; raise it when what they store changes.
CACHE_SCHEMA = 2
_PARAMS = "__params__"  # the cache's parameters, stored beside its arrays


def _code_version(*modules: str) -> dict:
    """What a cache of retrained networks depends on besides its settings: its layout and the training code."""
    return {"schema": CACHE_SCHEMA, "code": source_digest("localcodes.engine", *modules)}


def cached_npz(path: str | Path, compute: Callable[[], dict], params: dict | None = None) -> dict:
    """Arrays stored at ``path`` (.npz), computed by ``compute()`` and written atomically the first time.

    ``params``: everything that determines the arrays; stored with them, and a file holding other parameters is
    computed again (without ``params`` any file at ``path`` is taken as it is)."""
    path = Path(path)
    want = None if params is None else json.dumps(params, sort_keys=True, default=str)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                if want is None or (_PARAMS in f.files and str(f[_PARAMS]) == want):
                    return {k: f[k] for k in f.files if k != _PARAMS}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:  # a cache: say so, compute it again
            warnings.warn(f"cache {path} is unreadable ({type(err).__name__}: {err}); computing it again",
                          stacklevel=2)
    arrays = compute()
    _write_npz(path, arrays if want is None else {**arrays, _PARAMS: np.array(want)})
    return arrays


def _write_npz(path: Path, arrays: dict) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def jitter_units(acts: np.ndarray, labels: np.ndarray, max_units: int = 24, n_contrast: int = 4,
                 prefix: str = "unit ", order: str = "gap") -> tuple[list[int], list[str]]:
    """The units worth a jitterplot: local-code units, then ``n_contrast`` units without one (highest top-class
    selectivity) for contrast. Returns the columns and their names, in the same order.

    ``order="gap"``: one entry per unit, widest gap first, named by its best code (``"unit 4 (on code, class
    2)"``). ``order="codes"``: units with the most local codes first, named by all their codes (``"unit 4 —
    on-code: class 2"``). ``charts.jitterplot`` takes ``unit_names`` as a list indexed by column: pass
    ``dict(zip(units, names))`` with ``units=units``, or the names as they are with ``acts[:, units]``.
    """
    if order not in UNIT_ORDERS:
        raise ValueError(f"order must be one of {UNIT_ORDERS}; got {order!r}")
    codes = local_codes(acts, labels)
    k = min(100, len(labels))
    if order == "gap":
        best = codes.sort_values("gap", ascending=False).drop_duplicates("unit")
        units = best["unit"].astype(int).tolist()[:max_units]
        names = [f"{prefix}{u} ({r.kind} code, class {r.cls})" for u, r in zip(units, best.itertuples(),
                                                                             strict=False)]
        others = np.setdiff1d(np.arange(acts.shape[1]), best["unit"].to_numpy())
        if n_contrast and len(others):
            tcs = unit_table(acts[:, others], labels, k=k, detectors=False)["top_class_selectivity"].to_numpy()
            extra = others[np.argsort(-tcs, kind="stable")[:n_contrast]].tolist()
            units += extra
            names += [f"{prefix}{u} (no local code)" for u in extra]
        return units, names
    per_unit = codes.groupby("unit").apply(
        lambda g: ", ".join(f"{kind}-code: class {c}" for kind, c in zip(g["kind"], g["cls"], strict=True)),
        include_groups=False,
    )
    ranked = codes["unit"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index
    units = [int(u) for u in ranked[:max_units]]
    names = [f"{prefix}{u} — {per_unit[u]}" for u in units]
    if n_contrast > 0:
        table = unit_table(acts, labels, k=k, detectors=False)
        rest = table.drop(index=units, errors="ignore").sort_values("top_class_selectivity", ascending=False)
        extra = [int(u) for u in rest.index[:n_contrast]]
        units += extra
        names += [f"{prefix}{u} — no local code" for u in extra]
    return units, names


def retrain(params: dict | list[dict], seeds: int | list[int], device: str | None = None,
            data_fn: Callable[..., engine.Dataset] = engine.code_data):
    """Train again the network(s) of a sweep that had these ``params`` (``base`` merged with the condition).

    Pass the seeds the sweep gave them (``params["seed"] + repeat``); the data are ``data_fn(**data settings,
    seed=seed)`` (``engine.code_data`` by default). Networks trained again here in one ensemble (settings that
    differ only in per-network fields such as dropout) equal the sweep's networks on the same device.
    Returns ``(TrainResult, [Dataset per network])``.
    """
    params_list = params if isinstance(params, list) else [params]
    seeds_list = list(seeds) if isinstance(seeds, (list, tuple, np.ndarray)) else [seeds]
    if len(params_list) != len(seeds_list):
        raise ValueError(f"params and seeds must pair up; got {len(params_list)} and {len(seeds_list)}")
    configs, datasets = [], []
    for p, seed in zip(params_list, seeds_list, strict=True):
        train_p, data_p = split_params({k: v for k, v in p.items() if k != "seed"})
        if "hidden" in train_p:
            h = train_p["hidden"]
            train_p["hidden"] = (int(h),) if isinstance(h, (int, np.integer)) else tuple(int(x) for x in h)
        datasets.append(data_fn(**data_p, seed=int(seed)))
        configs.append(engine.TrainConfig.from_dict({**train_p, "seed": int(seed)}))
    return engine.train(datasets, configs, device=device), datasets


def plot_activations(result, datasets, network: int, layer: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Hidden activations and labels of one network of a ``retrain`` result, for ``jitter_units``/jitterplots.

    The correctly classified training examples (the paper's definition), or every example when fewer than two
    classes are classified correctly (an untrained smoke-scale network); the third value says which.
    """
    data = datasets[network] if isinstance(datasets, (list, tuple)) else datasets
    acts, labels = engine.network_activations(result.ensemble, data, network=network, layer=layer)
    if len(np.unique(labels)) >= 2:
        return acts, labels, "correctly classified training examples"
    acts, labels = engine.network_activations(result.ensemble, data, network=network, layer=layer,
                                              correct_only=False)
    return acts, labels, "all training examples (fewer than two classes are classified correctly)"


def network_views(path: str | Path, params: dict | list[dict], seeds: int | list[int], layer: int = 0
                  ) -> list[dict]:
    """Hidden activations of a sweep's network(s) for jitterplots, cached in ``path`` (``.npz``).

    On the first call the networks are trained again (``retrain``, one ensemble) and, per network, its layer
    ``layer`` activations and labels (``plot_activations``), the examples used (``which``) and its final
    ``lc_pairs`` are stored; later calls read the file. The cache is keyed by ``params``, ``seeds``, ``layer``
    and the training code's version: other settings or changed code recompute it.
    """
    params_list = params if isinstance(params, list) else [params]
    seeds_list = list(seeds) if isinstance(seeds, (list, tuple, np.ndarray)) else [seeds]
    stamp = json.dumps({"params": params_list, "seeds": [int(x) for x in seeds_list], "layer": layer,
                        **_code_version()}, sort_keys=True, default=str)
    path = Path(path)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            if "key" in z.files and str(z["key"]) == stamp:
                n = int(z["n"])
                return [{"acts": z[f"acts{i}"], "labels": z[f"labels{i}"], "which": str(z[f"which{i}"]),
                         "lc_pairs": int(z[f"lc{i}"])} for i in range(n)]
    res, datasets = retrain(params_list, seeds_list)
    views, arrays = [], {"key": np.array(stamp), "n": np.array(len(params_list))}
    for i in range(len(params_list)):
        acts, labels, which = plot_activations(res, datasets, i, layer=layer)
        lc = int(res.final.loc[i, "lc_pairs"])
        views.append({"acts": acts, "labels": labels, "which": which, "lc_pairs": lc})
        arrays.update({f"acts{i}": acts, f"labels{i}": labels, f"which{i}": np.array(which),
                       f"lc{i}": np.array(lc)})
    _write_npz(path, arrays)
    return views


def network_jitter(path: str | Path, params: dict | list[dict], seeds: int | list[int],
                   lc_pairs: int | Sequence[int] | None = None, layer: int = 0, n_contrast: int = 3,
                   max_units: int = 12) -> list[dict]:
    """``network_views`` with the units to plot: each view gains ``units`` and ``names`` (``{column: name}``,
    for ``charts.jitterplot(acts, labels, units=units, unit_names=names)``; ``jitter_units(order="codes")``).

    ``lc_pairs``: the sweep's counts of these networks; a retrained network whose count differs is not the
    sweep's network (another device, or changed settings) and raises a RuntimeError.
    """
    views = network_views(path, params, seeds, layer=layer)
    if lc_pairs is not None:
        expect = [lc_pairs] if np.ndim(lc_pairs) == 0 else list(lc_pairs)
        for v, lc in zip(views, expect, strict=True):
            if v["lc_pairs"] != lc:
                raise RuntimeError(f"the retrained network differs from the sweep's ({v['lc_pairs']} local codes "
                                   f"against {lc})")
    for v in views:
        units, names = jitter_units(v["acts"], v["labels"], max_units=max_units, n_contrast=n_contrast,
                                    order="codes")
        v["units"], v["names"] = units, dict(zip(units, names, strict=True))
    return views


def _tag(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in text)


def example_networks(
    scale: str,
    chapter: str,
    widths: Sequence[int],
    training: dict,
    change: dict | None = None,
    repeat: int = 0,
    max_units: int = 12,
) -> tuple[np.ndarray, np.ndarray, list[str], pd.DataFrame]:
    """Retrain repeat ``repeat`` of the standard-code sweep's network (``STANDARD`` + ``change``, ``training``)
    for each hidden size and gather their most interesting units for one jitterplot.

    Returns activations (n, K) of the chosen units of all networks side by side, on the training examples every
    one of these networks classifies correctly, their class labels, the units' names (``n_HLN=… · unit …``) and
    a table of each network's local-code counts. Cached under ``results/<scale>/<chapter>/examples-….npz``, keyed
    by every setting (``training`` too: a run with other epochs keeps its own file) and the training code's version.
    """
    change = dict(change or {})
    params = {"widths": [int(w) for w in widths], "repeat": int(repeat), "training": dict(training),
              "standard": STANDARD, "change": change, **_code_version()}
    tag = "-".join(str(w) for w in widths) + f"-r{repeat}-" + "-".join(f"{k}{v}" for k, v in sorted(change.items()))
    path = results_dir(scale, chapter) / f"examples-{_tag(tag)[:100]}-{key(params)}.npz"

    def compute() -> dict:
        out: dict[str, np.ndarray] = {}
        for w in widths:
            params = {**dict(training), **STANDARD, **change, "hidden": (int(w),)}
            res, (data,) = retrain(params, int(training.get("seed", 0)) + repeat)
            acts, labels = engine.network_activations(res.ensemble, data, 0, correct_only=False)
            p = res.ensemble.forward(data.X)[0].cpu().numpy()
            correct = np.abs(p - data.targets[data.y]).max(-1) < 0.5
            out[f"acts_{w}"] = acts.astype(np.float32)
            out[f"correct_{w}"] = correct
            out["labels"] = labels
        return out

    arrays = cached_npz(path, compute, params)
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


def digit_example(scale: str, chapter: str, data_kw: dict, config: dict, max_units: int = 12
                  ) -> tuple[np.ndarray, np.ndarray, list[str], pd.DataFrame]:
    """Train one experiment-12 network again (``digits_data(**data_kw)``, ``TrainConfig(**config)``: pass the
    sweep's settings and a repeat's seed, the same in both, to get that very network) and gather the local-code
    units of each hidden layer for a jitterplot, on the training images it classifies correctly. Cached as .npz,
    keyed by the settings, the digits actually loaded (``source="auto"`` takes what is there) and the code's version.
    """
    seed = int(config.get("seed", 0))
    if int(data_kw.get("seed", 0)) != seed:
        raise ValueError(f"a sweep's network has one seed for its data and its weights; got {data_kw.get('seed')} "
                         f"and {seed}")
    loaded = train_digits(data_kw.get("source", "auto"))
    params = {"data": dict(data_kw), "config": dict(config), "digits": [loaded.name, loaded.source],
              **_code_version("localcodes.data", "localcodes.experiments.paper000.digits")}
    tag = "-".join(f"{k}{v}" for k, v in sorted({**data_kw, **config}.items()) if k != "checkpoints")
    path = results_dir(scale, chapter) / f"example-{_tag(tag)[:100]}-{key(params)}.npz"

    def compute() -> dict:
        res, (data,) = retrain({**data_kw, **config}, seed, data_fn=digits_data)
        out = {}
        for layer in range(len(res.ensemble.sizes) - 2):
            acts, labels = engine.network_activations(res.ensemble, data, 0, layer=layer)
            out[f"acts_{layer}"] = acts.astype(np.float32)
            out["labels"] = labels
        return out

    arrays = cached_npz(path, compute, params)
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
