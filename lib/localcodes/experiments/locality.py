"""The locality-prior chapter's experiment: LeNets and AlexNet-architecture networks (trained whole, or heads on a
frozen trunk) with and without the prior, several seeds
per arm, trained as one stack, measured, pruned and cached; and the tables that compare them with the Locality
Prior README's reported numbers.

``run_experiment`` trains every (arm, seed) member of one network as a single batched computation and caches
the result under ``results/<scale>/50_locality_prior/<network>-<key>/``; the functions after it assemble the
chapter's tables and sentences from such results.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pooch
import torch
import torch.nn.functional as F
from scipy import optimize, stats
from torch import nn

from .. import data, nets, store
from ..locality import (
    ARMS,
    DECAYS,
    AlexNetLP,
    AlexNetLPStack,
    Head,
    HeadStack,
    LeNet,
    LeNetStack,
    arm_decay,
    class_maps,
    clustering_table,
    evaluate_stack,
    grid_prior,
    image_level_test,
    members_table,
    paired_clustering_tests,
    pruning_curve,
    seeded,
    train_stack,
    variance_2d,
)
from ..locality.pruning import CRITERIA as PRUNING_CRITERIA
from ..nets import FASHION_CLASSES

__all__ = ["CHAPTER", "README", "NETWORKS", "LPResult", "lenet_data", "run_experiment", "reloaded", "equal_accuracy",
           "repruned", "implied_df", "LAYER_NAMES", "fmt_p", "styled", "prior_summary", "arm_order", "lenet_data_note",
           "settings_table", "accuracy_table", "accuracy_differences", "clustering_tests", "clustering_tests_table",
           "main_test", "readme_comparison", "reading_the_numbers", "decay_table", "equal_accuracy_table",
           "equal_accuracy_note", "wire_summary", "alexnet_data_note", "alexnet_accuracy_table",
           "alexnet_comparison", "verdict", "run_summary", "paper_lenet", "paper_summary"]

CHAPTER = "50_locality_prior"
#: ``lenet``: the README's LeNet; ``alexnet``: the classifier head retrained on frozen convolutional features of
#: ``nets.trained_alexnet``; ``alexnet_whole``: an AlexNet-architecture network with the LP layer, trained whole
#: from scratch on the fractal categories (``nets.image_data(…, dataset="fractals")``).
NETWORKS = ("lenet", "alexnet", "alexnet_whole")

# The Locality Prior README's reported numbers (LeNet on MNIST; AlexNet on ImageNet), for the comparison tables.
README = {
    "lenet": {
        "accuracy": {"control": 98.1, "linear": 97.9},
        "loss": {"control": 0.101, "linear": 0.122},
        "variance_out": {"control": 8.667, "linear": 8.458, "t": -6.49, "p": 1.35e-10},
    },
    "alexnet": {
        "variance_in": {"control": 687.4, "linear": 630.9, "t": -38.98, "p": 8.087e-203},
        "variance_out": {"control": 691.6, "linear": 653.4, "t": -26.08, "p": 8.463e-115},
    },
}


@dataclass
class LPResult:
    """Everything the chapter shows for one network (LeNet, the whole AlexNet or the AlexNet head).

    ``members``: one row per trained network (arm, decay, l1, seed); ``metrics``: test accuracy and loss per
    member; ``maps``: per-class mean maps (M, C, K) of the LP layer's input (``lp_in``) and output
    (``lp_out``); ``image_var``: per-image 2-D variances (N, M) per layer; ``pruning``: the pruning curve."""

    network: str
    config: dict
    members: pd.DataFrame
    metrics: pd.DataFrame
    maps: dict[str, torch.Tensor]
    image_var: dict[str, torch.Tensor]
    labels: np.ndarray
    pruning: pd.DataFrame
    side: int
    class_names: list[str]
    dataset: str
    source: str
    info: dict = field(default_factory=dict)

    def clustering(self, n_perm: int = 200) -> pd.DataFrame:
        """The long table of per-class 2-D variances (``locality.clustering_table``)."""
        return clustering_table(self.maps, self.members, self.side, self.class_names, n_perm)


@contextlib.contextmanager
def _quiet_fetch():
    """Silence pooch's "Downloading …" lines while ``load_digits`` tries (offline: fails) to download."""
    logger = pooch.get_logger()  # pooch's own Logger object, not registered with logging.getLogger
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _digit_subset(d: data.Digits, n: int, seed: int, name: str) -> data.Digits:
    """A balanced subset of ``n // classes`` images per class; the whole split, in its own order, when ``n`` asks
    for all of it but its classes are unequal (MNIST: 5,421 to 6,742 training images per class), as the README's
    code trained and tested. Training sets must be balanceable otherwise; test sets are capped at the rarest class."""
    per, rarest = max(1, n // d.n_classes), int(np.bincount(d.labels).min())
    if per > rarest and n >= len(d.labels):
        return d
    if per > rarest and name == "n_train":
        raise ValueError(f"{name}={n} asks for {per} images per class, but {d.name}'s rarest class has {rarest}: "
                         f"use at most {rarest * d.n_classes} (balanced) or {len(d.labels)} (the whole split)")
    return data.balanced_subset(d, min(per, rarest), seed=seed)


def lenet_data(n_train: int, n_test: int, data_seed: int, device: torch.device, digits: str = "auto") -> tuple:
    """The LeNet experiment's data: balanced subsets of ``data.load_digits(source=digits)`` as (1, 28, 28) images
    standardised with the training subset's pixel mean and std, on ``device``: ``(x_train, y_train, x_test,
    y_test, class names, data set name, source)``."""
    with _quiet_fetch():
        tr, te = data.load_digits("train", source=digits), data.load_digits("test", source=digits)
    n_cls = tr.n_classes
    tr, te = _digit_subset(tr, n_train, data_seed, "n_train"), _digit_subset(te, n_test, data_seed, "n_test")

    def prep(d):
        x = torch.from_numpy(d.images).float().div_(255.0).unsqueeze(1)
        if x.shape[-2:] != (28, 28):  # the 8x8 scikit-learn fallback: LeNet needs 28x28
            x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
        return x

    xtr, xte = prep(tr), prep(te)
    mean, std = xtr.mean(), xtr.std()
    names = _class_names(tr.name, n_cls)
    return (
        ((xtr - mean) / std).to(device),
        torch.from_numpy(tr.labels).to(device),
        ((xte - mean) / std).to(device),
        torch.from_numpy(te.labels).to(device),
        names,
        tr.name,
        tr.source,
    )


def _class_names(dataset: str, n: int) -> list[str]:
    return list(FASHION_CLASSES) if dataset == "Fashion-MNIST" and n == 10 else [str(c) for c in range(n)]


def _balanced(imgs: nets.ImageData, n: int, seed: int) -> nets.ImageData:
    """A seeded subset of ``imgs`` with the same number of images per class (n // classes, at most the rarest
    class's count), in their original order."""
    labels = imgs.labels.numpy()
    per = min(max(1, n // len(imgs.class_names)), int(np.bincount(labels).min()))
    order = np.random.default_rng(seed).permutation(len(labels))
    by_class = order[np.argsort(labels[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(np.bincount(labels))[:-1]])
    return imgs.subset(torch.from_numpy(np.sort(by_class[(starts[:, None] + np.arange(per)[None, :]).ravel()])))


def _whole_data(scale: str, n_train: int, n_test: int, data_seed: int, device: torch.device) -> tuple:
    """The whole-AlexNet experiment's data: balanced subsets of the fractal categories chapter 30's network
    learns (the ``book`` scale's at ``reference`` scale), as uint8 (N, 3, h, w); the network resizes and
    standardises them itself (``locality.AlexNetLP``)."""
    images_scale = "book" if scale == "reference" else scale
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        sub = _balanced(nets.image_data(images_scale, split, dataset="fractals"), n, data_seed)
        out += [sub.raw.to(device), sub.labels.to(device)]
    preset = nets.training_preset(images_scale, "fractals")
    return (*out, sub.class_names, sub.name, sub.source, preset, (sub.mean, sub.std))


def _alexnet_data(
    scale: str, n_train: int, n_test: int, data_seed: int, device: torch.device, progress: bool
):
    with _quiet_fetch():
        model, info = nets.trained_alexnet(scale, device=device)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        with _quiet_fetch():
            sub = _balanced(nets.image_data(scale, split), n, data_seed)
        feats = []
        with torch.no_grad():  # not around trained_alexnet: it may have to train the network first
            for x, _, _ in sub.batches(256):
                feats.append(torch.flatten(model.avgpool(model.features(x.to(device))), 1))
        out += [torch.cat(feats), sub.labels.to(device)]
    return (*out, list(info["classes"]), info["dataset"], info["source"], int(round(4096 * info["width"])))


def _setup(network: str, scale: str, members: pd.DataFrame, n_train: int, n_test: int, data_seed: int,
           dev: torch.device, progress: bool, digits: str = "auto") -> tuple:
    """The data and the freshly initialised stack of one experiment: ``(model, (xtr, ytr, xte, yte), names,
    dataset, source)``."""
    if network == "lenet":
        xtr, ytr, xte, yte, names, dataset, source = lenet_data(n_train, n_test, data_seed, dev, digits)
        n_cls = len(names)
        lenets = [
            seeded(int(r.seed), lambda r=r: LeNet(arm_decay(r.decay), n_cls, xtr.shape[1], 49, 0.5, r.l1))
            for r in members.itertuples()
        ]
        model = LeNetStack(lenets).to(dev)
    elif network == "alexnet_whole":
        xtr, ytr, xte, yte, names, dataset, source, preset, (mean, std) = _whole_data(
            scale, n_train, n_test, data_seed, dev)
        n_cls, width, size = len(names), preset["width"], preset["input_size"]
        hidden = math.isqrt(round(4096 * width)) ** 2  # the network's fc width, on the largest square grid
        whole = [
            seeded(int(r.seed), lambda r=r: AlexNetLP(arm_decay(r.decay), n_cls, width, hidden,
                                                      nets.pool5_size(size), size, mean, std, 0.5, r.l1))
            for r in members.itertuples()
        ]
        model = AlexNetLPStack(whole).to(dev)
    else:
        xtr, ytr, xte, yte, names, dataset, source, hidden = _alexnet_data(
            scale, n_train, n_test, data_seed, dev, progress
        )
        n_cls = len(names)
        heads = [
            seeded(int(r.seed), lambda r=r: Head(xtr.shape[1], hidden, n_cls, arm_decay(r.decay), 0.5, r.l1))
            for r in members.itertuples()
        ]
        model = HeadStack(heads).to(dev)
    return model, (xtr, ytr, xte, yte), names, dataset, source


def run_experiment(
    network: str = "lenet",
    scale: str = "paper",
    arms: Sequence[str] = ("control", "linear", "sqrt", "square"),
    seeds: Sequence[int] = tuple(range(10)),
    n_train: int = 60000,
    n_test: int = 10000,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.01,
    momentum: float = 0.5,
    weight_decay: float = 0.01,
    optimizer: str = "sgd",
    prune_fractions: Sequence[float] = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002),
    n_calib: int = 2000,
    data_seed: int = 0,
    digits: str = "auto",
    device=None,
    cache: bool = True,
    progress: bool = True,
    cached_only: bool = False,
) -> LPResult | None:
    """Train every (arm, seed) member of ``network`` as one stack, evaluate, and measure; cached and
    resumable.

    ``lenet``: the LeNet with the extra layer on ``data.load_digits(source=digits)`` (balanced subsets of
    ``n_train`` training and ``n_test`` test images, or the whole split; ``digits="mnist"`` is the README's own
    data set); ``alexnet_whole``: ``locality.AlexNetLP`` trained whole on balanced subsets of the fractal
    categories; ``alexnet``: the head (fc6 → LP/fc7 → BN → fc8) retrained on the frozen
    convolutional features of ``nets.trained_alexnet(scale)``. Results go to
    ``results/<scale>/50_locality_prior/<network>-<key>/`` (a rerun with the same settings loads them; an
    interrupted run resumes from its last finished epoch). ``cached_only=True`` returns the cached result or
    None, computing nothing."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}; got {network!r}")
    if digits not in data.SOURCES:
        raise ValueError(f"digits must be one of {data.SOURCES}; got {digits!r}")
    if digits != "auto" and network != "lenet":
        raise ValueError(f"digits chooses the LeNet's data set; network {network!r} takes digits='auto' only")
    members = members_table(list(arms), list(seeds))
    dev = store.pick_device(None if device is None else str(device))
    config = {
        "network": network,
        "scale": scale,
        "arms": list(arms),
        "seeds": [int(s) for s in seeds],
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "optimizer": optimizer,
        "prune_fractions": [float(f) for f in prune_fractions],
        "n_calib": n_calib,
        "data_seed": data_seed,
        "arm_settings": {a: ARMS[a] for a in arms},
        # "auto" stays out of the key, so results stored before the data set could be chosen keep their folder
        **({"digits": digits} if digits != "auto" else {}),
    }
    folder = store.results_dir(scale, CHAPTER) / f"{network}-{store.key(config)}"
    bundle = folder / "result.pt"
    if cache and bundle.exists():
        res = _load_result(folder)
        if not set(PRUNING_CRITERIA) <= set(res.pruning["criterion"]):  # stored before a pruning rule existed
            res.pruning = repruned(res, device=dev)
        return res
    if cached_only:  # e.g. a book-scale chapter asking whether paper-scale results were computed
        return None

    t0 = time.perf_counter()
    model, (xtr, ytr, xte, yte), names, dataset, source = _setup(network, scale, members, n_train, n_test,
                                                                  data_seed, dev, progress, digits)
    n_cls = len(names)
    t_data = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    history = train_stack(
        model,
        xtr,
        ytr,
        list(members["seed"]),
        epochs,
        batch_size,
        lr,
        momentum,
        weight_decay,
        optimizer,
        seed=data_seed,
        checkpoint=folder / "checkpoint.pt" if cache else None,
        progress=progress,
        desc=f"{network}: {len(members)} networks",
    )
    t_train = time.perf_counter() - t1
    ev = evaluate_stack(model, xte, yte)
    metrics = members.copy()
    metrics["accuracy"] = ev["accuracy"].cpu().numpy()
    metrics["loss"] = ev["loss"].cpu().numpy()
    metrics["train_loss"] = history[-1]["train_loss"] if history else np.nan
    head = model if network == "alexnet" else model.head
    side = head.side
    maps = {layer: class_maps(ev[layer], yte, n_cls).float().cpu() for layer in ("lp_in", "lp_out")}  # as stored
    image_var = {layer: variance_2d(ev[layer], side).float().cpu() for layer in ("lp_in", "lp_out")}
    curve = _prune(model, network, (xtr, ytr, yte), ev["lp_in"], prune_fractions, n_calib, data_seed, members)
    info = {
        "data_s": round(t_data, 2),
        "train_s": round(t_train, 2),
        "total_s": round(time.perf_counter() - t0, 2),
        "history": history,
        "n_train": int(xtr.shape[0]),
        "n_test": int(xte.shape[0]),
        "provenance": store.provenance(device=dev, scale=scale, config=config),
    }
    res = LPResult(
        network,
        config,
        members,
        metrics,
        maps,
        image_var,
        yte.cpu().numpy(),
        curve,
        side,
        names,
        dataset,
        source,
        info,
    )
    if cache:
        _save_result(folder, res, model)
        (folder / "checkpoint.pt").unlink(missing_ok=True)
    return res


def _prune(model: nn.Module, network: str, xy: tuple, lp_in_test: torch.Tensor, fractions: Sequence[float],
           n_calib: int, data_seed: int, members: pd.DataFrame, criteria: Sequence[str] = PRUNING_CRITERIA):
    """``pruning_curve`` of a trained stack: BatchNorm re-estimated on ``n_calib`` training images picked by
    ``data_seed``."""
    xtr, ytr, yte = xy
    head = model if network == "alexnet" else model.head
    g = torch.Generator().manual_seed(data_seed)
    pick = torch.randperm(xtr.shape[0], generator=g)[: min(n_calib, xtr.shape[0])].to(xtr.device)
    calib = evaluate_stack(model, xtr[pick], ytr[pick])["lp_in"]
    return pruning_curve(head, lp_in_test, yte, calib, fractions, members, criteria)


def reloaded(res: LPResult, device=None) -> tuple[nn.Module, tuple, dict]:
    """The stored networks of ``res`` rebuilt from their saved weights, with their data and evaluation: ``(model,
    (xtr, ytr, xte, yte), evaluation)``; raises unless they give their stored test accuracy exactly (same data,
    same code)."""
    cfg = res.config
    folder = store.results_dir(cfg["scale"], CHAPTER) / f"{res.network}-{store.key(cfg)}"
    if not (folder / "model.pt").exists():  # e.g. committed reference results whose weights are too large to keep
        raise FileNotFoundError(f"no saved networks under {folder}: run run_experiment again to re-prune them")
    dev = store.pick_device(None if device is None else str(device))
    model, xy, *_ = _setup(res.network, cfg["scale"], res.members, cfg["n_train"], cfg["n_test"], cfg["data_seed"],
                           dev, False, cfg.get("digits", "auto"))
    model.load_state_dict(torch.load(folder / "model.pt", map_location=dev, weights_only=True))
    ev = evaluate_stack(model, xy[2], xy[3])
    if not np.allclose(ev["accuracy"].cpu().numpy(), res.metrics["accuracy"].to_numpy(), atol=1e-9):
        raise RuntimeError(f"the networks reloaded from {folder} do not give their stored test accuracy: the data "
                           "or the code changed since they were trained")
    return model, xy, ev


def repruned(res: LPResult, criteria: Sequence[str] = PRUNING_CRITERIA, device=None) -> pd.DataFrame:
    """The pruning curve of a stored result under ``criteria``, recomputed from its saved networks (``reloaded``;
    results stored before a rule existed lack it); cached beside the result, keyed by the rules."""
    cfg = res.config
    folder = store.results_dir(cfg["scale"], CHAPTER) / f"{res.network}-{store.key(cfg)}"
    target = folder / f"pruning-{store.key({'criteria': list(criteria)})}.parquet"
    if target.exists():
        return pd.read_parquet(target)
    model, (xtr, ytr, xte, yte), ev = reloaded(res, device)
    curve = _prune(model, res.network, (xtr, ytr, yte), ev["lp_in"], cfg["prune_fractions"], cfg["n_calib"],
                   cfg["data_seed"], res.members, criteria)
    store.write_parquet(target, curve)
    return curve


def _save_result(folder: Path, res: LPResult, model: nn.Module) -> None:
    store.write_parquet(folder / "members.parquet", res.members)
    store.write_parquet(folder / "metrics.parquet", res.metrics)
    store.write_parquet(folder / "pruning.parquet", res.pruning)
    store.write_json(
        folder / "info.json",
        {
            "network": res.network,
            "config": res.config,
            "side": res.side,
            "class_names": res.class_names,
            "dataset": res.dataset,
            "source": res.source,
            "info": res.info,
        },
    )
    with store.atomic_path(folder / "model.pt") as tmp:
        torch.save(model.state_dict(), tmp)
    with store.atomic_path(folder / "result.pt") as tmp:  # written last: its presence marks a finished run
        # float32 is ample for class-mean maps and keeps a 100-class, 1,024-unit result small enough to commit
        torch.save({"maps": {k: v.float() for k, v in res.maps.items()}, "image_var": res.image_var,
                    "labels": torch.from_numpy(res.labels)}, tmp)


def _load_result(folder: Path) -> LPResult:
    meta = json.loads((folder / "info.json").read_text())
    arrays = torch.load(folder / "result.pt", map_location="cpu", weights_only=True)
    return LPResult(
        meta["network"],
        meta["config"],
        pd.read_parquet(folder / "members.parquet"),
        pd.read_parquet(folder / "metrics.parquet"),
        arrays["maps"],
        arrays["image_var"],
        arrays["labels"].numpy(),
        pd.read_parquet(folder / "pruning.parquet"),
        meta["side"],
        meta["class_names"],
        meta["dataset"],
        meta["source"],
        meta["info"],
    )


def equal_accuracy(
    curve: pd.DataFrame, target: float | None = None, bn: str = "recalibrated", tolerance: float = 0.01
) -> pd.DataFrame:
    """For each (arm, criterion, member): the sparsest pruning that still reaches ``target`` accuracy, with
    its wiring. ``target`` defaults to the lowest unpruned mean accuracy over arms minus ``tolerance``."""
    c = curve[curve["bn"] == bn]
    if target is None:
        full = c[c["keep"] == c["keep"].max()].groupby("arm")["accuracy"].mean()
        target = float(full.min() - tolerance)
    ok = c[c["accuracy"] >= target]
    best = ok.sort_values("keep").groupby(["arm", "criterion", "member"], sort=False).head(1)
    best = best.sort_values(["criterion", "arm", "seed"]).reset_index(drop=True)
    best.attrs["target"] = target
    return best


def implied_df(t: float, p: float) -> float:
    """Degrees of freedom at which a two-sided t-test with statistic ``t`` has p-value ``p`` (NaN if none)."""
    target = math.log(p)

    def gap(df: float) -> float:
        return math.log(2.0) + float(stats.t.logsf(abs(t), df)) - target

    lo, hi = 1.0, 1e7
    if gap(lo) * gap(hi) > 0:
        return float("nan")
    return float(optimize.brentq(gap, lo, hi))


# --- the chapter's tables and sentences ------------------------------------------------------------------------

LAYER_NAMES = {"lp_in": "LP input", "lp_out": "LP output"}
TEST_COLUMNS = {"variance_control": "control variance", "variance_perm": "random placement",
                "d_z_seed_mean": "d_z per seed: mean", "d_z_seed_sd": "d_z per seed: sd",
                "t_seed_neg": "seeds with LP lower", "t_seeds": "t (across seeds)", "p_seeds": "p (across seeds)"}


def fmt_p(p: float) -> str:
    """A p-value in short form (``below 1e-300`` where the t-test's p underflows to 0 in double precision)."""
    if p == 0.0:
        return "below 1e-300"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def styled(frame: pd.DataFrame, p_cols: Sequence[str] = ("p",), int_cols: Sequence[str] = ("df",)):
    """Three decimals, p-values in short scientific form, degrees of freedom as integers."""
    fmts = {}
    for c in frame.columns:
        if c in p_cols:
            fmts[c] = fmt_p
        elif c in int_cols:
            fmts[c] = "{:.0f}"
        elif pd.api.types.is_float_dtype(frame[c]):
            fmts[c] = "{:.3f}"
    return frame.style.format(fmts)


def prior_summary(sides: Sequence[int] = (7, 32)) -> pd.DataFrame:
    """Row sums of the prior for a centre and a corner unit, and its smallest value, per grid and decay."""
    summary = []
    for side in sides:
        for decay in DECAYS:
            p = grid_prior(side, decay)
            centre = (side // 2) * side + side // 2
            summary.append({"grid": f"{side}x{side}", "decay": decay, "row sum, centre unit": float(p[centre].sum()),
                            "row sum, corner unit": float(p[0].sum()),
                            "smallest P": float(p.min())})
    return pd.DataFrame(summary).round(3)


def arm_order(arms: Sequence[str]) -> list[str]:
    """``arms`` in the order of ``ARMS`` (the control first)."""
    return [a for a in ARMS if a in arms]


def lenet_data_note(res: LPResult, from_cache: bool) -> str:
    """Which data the LeNets were trained on, against the README's MNIST, and how long training took."""
    return (
        f"**Data:** {res.dataset} ({res.source}); {res.info['n_train']} training images (balanced subset), "
        f"{res.info['n_test']} test images. The README used **MNIST** digits; "
        + ("this machine has no MNIST files and no network, so `localcodes.data.load_digits` fell back to "
           "Fashion-MNIST (same format: 28 × 28 grey images, 10 classes), a harder task, so accuracies are lower."
           if res.dataset != "MNIST" else "so do we.")
        + f" Training took {res.info['train_s']:.0f} s for {len(res.members)} networks"
        + (" (loaded from the results cache)." if from_cache else "."))


def settings_table(res: LPResult, settings) -> pd.DataFrame:
    """The README's training settings beside this run's (``settings``: the chapter's parameters)."""
    s = settings
    return pd.DataFrame({
        "README (MNIST)": {"data": "MNIST, 60,000 training images", "epochs": 10, "batch": 64,
                           "optimiser": "SGD lr 0.01, momentum 0.5 (code); the README's table says RMSProp",
                           "weight decay": 0.01, "networks per arm": 1},
        "this run": {"data": f"{res.dataset}, {res.info['n_train']} training images", "epochs": s.epochs,
                     "batch": s.batch_size, "optimiser": f"{s.optimizer.upper()} lr {s.lr}, momentum {s.momentum}",
                     "weight decay": s.weight_decay, "networks per arm": len(s.seeds)},
    })


def accuracy_table(res: LPResult, arms: Sequence[str]) -> pd.DataFrame:
    """Test accuracy and loss per arm (mean ± sd over seeds) beside the README's LeNet numbers."""
    acc = res.metrics.groupby("arm")[["accuracy", "loss"]].agg(["mean", "std"]).reindex(arms)
    return pd.DataFrame({
        "accuracy % (mean ± sd over seeds)": [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in acc["accuracy"].values],
        "test loss (mean ± sd)": [f"{m:.3f} ± {s:.3f}" for m, s in acc["loss"].values],
        "README accuracy %": [README["lenet"]["accuracy"].get(a, "—") for a in arms],
        "README loss": [README["lenet"]["loss"].get(a, "—") for a in arms],
    }, index=pd.Index(arms, name="arm"))


def accuracy_differences(res: LPResult, arms: Sequence[str]) -> str:
    """Each prior arm's accuracy minus the control's, paired by seed (Markdown)."""
    ctrl_acc = res.metrics[res.metrics.arm == "control"].set_index("seed")["accuracy"]
    lines = []
    for a in arms[1:]:
        diff = res.metrics[res.metrics.arm == a].set_index("seed")["accuracy"] - ctrl_acc
        lines.append(f"* **{a}** − control: {100 * diff.mean():+.1f} percentage points on average "
                     f"(from {100 * diff.min():+.1f} to {100 * diff.max():+.1f} over {len(diff)} seeds)")
    return ("Paired by seed:\n\n" + "\n".join(lines) + "\n\nThe README's one run per arm gave −0.2 points "
            "for the linear prior on MNIST.")


def clustering_tests(clus: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """``paired_clustering_tests`` of every prior arm against the control, indexed by (arm, layer); the arm's
    variance is the column ``LP variance``."""
    return pd.concat({a: paired_clustering_tests(clus, a).rename(columns={f"variance_{a}": "LP variance"})
                      for a in arms[1:]}, names=["arm", "layer"])


def clustering_tests_table(tests: pd.DataFrame):
    """``clustering_tests`` as the chapter shows them (readable layer and column names, formatted)."""
    show = tests.rename(index=LAYER_NAMES, level="layer")[
        ["LP variance", "variance_control", "variance_perm", "t", "p", "d_z", "d_z_seed_mean", "d_z_seed_sd",
         "t_seed_neg", "t_seeds", "p_seeds"]]
    return styled(show.rename(columns=TEST_COLUMNS), p_cols=("p", "p (across seeds)"))


def main_test(tests: pd.DataFrame) -> pd.Series:
    """The test the README reported: the linear prior's LP output (else the first prior arm's)."""
    return tests.loc[("linear", "lp_out")] if ("linear", "lp_out") in tests.index else tests.iloc[1]


def readme_comparison(main: pd.Series, per_image: pd.DataFrame):
    """The README's LeNet test beside ours across classes and README-style across images (seed 0)."""
    readme = README["lenet"]["variance_out"]
    df_readme = implied_df(readme["t"], readme["p"])
    compare = pd.DataFrame({
        "README (MNIST, 1 run per arm)": {"LP variance": readme["linear"], "control variance": readme["control"],
                                          "t": readme["t"], "p": readme["p"],
                                          "degrees of freedom": round(df_readme)},
        "ours: across classes (seed means)": {"LP variance": main["LP variance"],
                                              "control variance": main["variance_control"],
                                              "t": main["t"], "p": main["p"], "degrees of freedom": main["df"]},
        "ours: README-style, across images (seed 0)": {
            "LP variance": per_image.iloc[0, 0], "control variance": per_image.iloc[0, 1],
            "t": per_image.iloc[0]["t"], "p": per_image.iloc[0]["p"], "degrees of freedom": per_image.iloc[0]["df"]},
    })
    return styled(compare.T.astype(float), int_cols=("degrees of freedom",))


def reading_the_numbers(main: pd.Series, per_image: pd.DataFrame, clus: pd.DataFrame) -> str:
    """What the README's test and ours say (Markdown), from this run's numbers."""
    readme = README["lenet"]["variance_out"]
    df_readme = implied_df(readme["t"], readme["p"])
    lp_lower = main["t"] < 0
    agree_seeds = main["t_seed_neg"]
    per_img_signs = int((per_image["t"] < 0).sum())
    mixed = 0 < per_img_signs < len(per_image)
    lenet_out = clus[clus.layer == "lp_out"]
    gap_perm = float((lenet_out["variance_perm"] - lenet_out["variance"]).mean())
    return (
        f"**Reading the numbers.** The README's p-value for t = −6.49 implies **{df_readme:.0f} degrees of freedom**: "
        "its test paired about a thousand test images, not the ten classes. Images of one trained network are not "
        "independent replicates of the experiment, so such a test says little about whether *training with the "
        "prior* clusters the representation; it only says that this one LP network differs from this one control "
        "network. "
        f"Done the same way, our seeds give image-level t-values of "
        f"{', '.join(f'{t:+.1f}' for t in per_image['t'])} (LP lower in {per_img_signs} of {len(per_image)} seeds)"
        + (": large |t| of either sign, depending on the seed. " if mixed else
           ": large |t|, whose sign is a property of the particular pair of networks. ")
        +
        f"Across classes, with the variance averaged over {int(main['n_seeds'])} seeds, the LP output is "
        f"{'lower' if lp_lower else 'higher'} than the control (t = {main['t']:.2f}, p = {fmt_p(main['p'])}, "
        f"d_z = {main['d_z']:.2f}: {'significant' if main['p'] < 0.05 else 'not significant'} at the 5 % level); "
        f"LP was lower in {agree_seeds} seeds, and the effect size varies from seed to seed "
        f"(d_z {main['d_z_seed_mean']:.2f} ± {main['d_z_seed_sd']:.2f}). "
        f"Placing the units at random raises the LP-output variance by {gap_perm:.2f} on average over arms, seeds "
        "and classes: that is how much spatial structure there is to find on a 7 × 7 grid at all.")


def decay_table(res: LPResult, clus: pd.DataFrame, tests: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Per prior arm: accuracy and LP-output variance relative to the control of the same seed, and its test."""
    out_var = clus[clus.layer == "lp_out"].groupby(["arm", "seed"])["variance"].mean().unstack("arm")
    acc_s = res.metrics.pivot_table(index="seed", columns="arm", values="accuracy")
    decay_rows = []
    for a in arms[1:]:
        dv, da = out_var[a] - out_var["control"], acc_s[a] - acc_s["control"]
        decay_rows.append({"arm": a,
                           "accuracy − control (points)": f"{100 * da.mean():+.2f} ± {100 * da.std():.2f}",
                           "LP-output variance − control": f"{dv.mean():+.3f} ± {dv.std():.3f}",
                           "t across classes": round(float(tests.loc[(a, "lp_out"), "t"]), 2),
                           "p": fmt_p(float(tests.loc[(a, "lp_out"), "p"]))})
    return pd.DataFrame(decay_rows).set_index("arm")


def equal_accuracy_table(eq: pd.DataFrame, members: pd.DataFrame, share: bool = True) -> pd.DataFrame:
    """``equal_accuracy``'s rows averaged per (criterion, arm), with how many networks reach the target."""
    aggs = dict(networks=("member", "size"), kept=("keep", "mean"), accuracy=("accuracy", "mean"),
                wire_length=("length", "mean"), mean_length=("mean_length", "mean"))
    if share:
        aggs["strength_length_share"] = ("strength_length_share", "mean")
    tab = eq.groupby(["criterion", "arm"]).agg(**aggs)
    n_members = members.groupby("arm").size()
    tab["networks"] = [f"{n}/{n_members[a]}" for (c, a), n in tab["networks"].items()]
    return tab


def equal_accuracy_note(eq: pd.DataFrame, curve: pd.DataFrame) -> str:
    """How the equal-accuracy table is made (Markdown)."""
    return (f"**At equal accuracy.** For every network, the sparsest pruning (of those tried: "
            f"{', '.join(str(f) for f in sorted(set(curve.keep)))}) that still reaches "
            f"{100 * eq.attrs['target']:.1f} % test accuracy (the lowest unpruned arm mean minus 1 point); "
            "`networks` counts those that reach it at all. `wire_length` = Σ d of the kept connections, "
            "`mean_length` = Σ|W⊙P|·d / Σ|W⊙P| of the kept ones, `strength_length_share` = their Σ|W⊙P|·d as a "
            "share of the unpruned layer's.")


def wire_summary(eq: pd.DataFrame, curve: pd.DataFrame, arms: Sequence[str]) -> str:
    """The wire each arm keeps at equal accuracy, against the unpruned layer's (Markdown)."""
    full_len = float(curve[curve.keep == 1.0]["length"].iloc[0])
    mag = eq[eq.criterion == "magnitude"].groupby("arm")["length"].mean().reindex(arms).dropna()
    txt = (f"The unpruned 49 × 49 layer has {full_len:.0f} grid units of wire. Pruned by magnitude to the same "
           "accuracy, ")
    txt += ", ".join(f"**{a}** keeps {v:.0f}" for a, v in mag.items()) + " units (mean over the seeds that reach it). "
    dist = eq[(eq.criterion == "magnitude x prior") & (eq.arm == "control")]["length"].mean()
    if np.isfinite(dist) and "control" in mag.index:
        txt += (f"The control pruned with the prior after training (`magnitude x prior`) keeps {dist:.0f}. "
                f"The least wire at this accuracy: **{mag.idxmin()}**.")
    return txt


def alexnet_data_note(res: LPResult, scale: str) -> str:
    """Which data the AlexNet networks (whole, or heads on a frozen trunk) were trained on (Markdown)."""
    how = ("trained whole, from scratch" if res.network == "alexnet_whole"
           else f"heads on the frozen convolutional layers of the `{scale}` AlexNet-architecture network")
    return (f"**Data:** {res.dataset} ({res.source}), {how}; "
            f"{res.info['n_train']} training and {res.info['n_test']} test images; fc width "
            f"{res.side}² = {res.side ** 2} units. The README used ImageNet.")


def alexnet_accuracy_table(res: LPResult | pd.DataFrame) -> pd.DataFrame:
    """Test accuracy and loss per arm (mean ± sd over seeds), of a result or of rows with arm, accuracy, loss."""
    rows = res.metrics if isinstance(res, LPResult) else res
    a_acc = rows.groupby("arm")[["accuracy", "loss"]].agg(["mean", "std"])
    return pd.DataFrame({"accuracy % (mean ± sd)": [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in
                                                    a_acc["accuracy"].values],
                         "test loss": [f"{m:.3f} ± {s:.3f}" for m, s in a_acc["loss"].values]}, index=a_acc.index)


def alexnet_comparison(res: LPResult, n_perm: int = 50) -> tuple[pd.DataFrame, object, object]:
    """The AlexNet's clustering tests: ``(tests, the README comparison per layer, the spread over seeds)``
    (the last two formatted)."""
    a_clus = res.clustering(n_perm=n_perm)
    a_tests = paired_clustering_tests(a_clus, "linear")
    r = README["alexnet"]
    a_img = {layer: image_level_test(res.image_var[layer], res.members) for layer in ("lp_in", "lp_out")}
    rows = {}
    for layer, key in (("lp_in", "variance_in"), ("lp_out", "variance_out")):
        rows[(LAYER_NAMES[layer], "README (ImageNet)")] = {"LP": r[key]["linear"], "control": r[key]["control"],
                                                           "t": r[key]["t"], "p": r[key]["p"],
                                                           "df": implied_df(r[key]["t"], r[key]["p"])}
        t = a_tests.loc[layer]
        rows[(LAYER_NAMES[layer], "ours, across classes")] = {"LP": t["variance_linear"],
                                                             "control": t["variance_control"],
                                                             "t": t["t"], "p": t["p"], "df": t["df"]}
        im = a_img[layer].iloc[0]
        rows[(LAYER_NAMES[layer], "ours, across images (seed 0)")] = {"LP": im.iloc[0], "control": im.iloc[1],
                                                                     "t": im["t"], "p": im["p"], "df": im["df"]}
    spread = a_tests[["d_z", "d_z_seed_mean", "d_z_seed_sd", "t_seed_neg", "t_seeds", "p_seeds",
                      "variance_perm"]].rename(index=LAYER_NAMES).rename(columns=TEST_COLUMNS)
    return a_tests, styled(pd.DataFrame(rows).T.astype(float)), styled(spread, p_cols=("p (across seeds)",))


def verdict(t: pd.Series, what: str) -> str:
    """One sentence on a clustering test: direction, significance and agreement over seeds."""
    lower = "lower" if t["t"] < 0 else "higher"
    sig = "significant" if t["p"] < 0.05 else "not significant"
    return (f"{what}: averaged over seeds, the LP variance is {lower} than the control's (across classes "
            f"t = {t['t']:.2f}, p = {fmt_p(t['p'])}, {sig}; d_z = {t['d_z']:.2f}); LP lower in "
            f"{t['t_seed_neg'].split('/')[0]} of {int(t['n_seeds'])} seeds")


def run_summary(tests: pd.DataFrame, arms: Sequence[str], a_tests: pd.DataFrame | None, scale: str) -> str:
    """Every verdict of this run in one list (Markdown)."""
    bullets = [verdict(tests.loc[(a, "lp_out")], f"LeNet, {a} prior, LP output") for a in arms[1:]]
    if a_tests is not None:
        bullets += [verdict(a_tests.loc[layer], f"AlexNet, linear prior, {LAYER_NAMES[layer]}")
                    for layer in ("lp_in", "lp_out")]
    return "**This run in one list** (scale `" + scale + "`):\n\n" + "\n".join(f"* {b}" for b in bullets)


def paper_lenet(presets: dict) -> LPResult | None:
    """The paper-scale LeNet results if they were computed (``presets``: the paper preset), else None."""
    return run_experiment(
        "lenet", "paper", arms=presets["arms"], seeds=presets["seeds"], n_train=presets["n_train"],
        n_test=presets["n_test"], epochs=presets["epochs"], batch_size=presets["batch_size"], lr=presets["lr"],
        momentum=presets["momentum"], weight_decay=presets["weight_decay"], optimizer=presets["optimizer"],
        cached_only=True)


def paper_summary(scale: str, res: LPResult | None, arms: Sequence[str]) -> list:
    """What the chapter shows of the paper-scale results, in order: Markdown text (``str``) and tables."""
    if scale == "paper":
        return ["This page *is* the paper-scale run."]
    if res is None:
        return [f"No paper-scale results have been computed yet; everything above is at scale `{scale}`."]
    prov = res.info["provenance"]
    pt = pd.concat({a: paired_clustering_tests(res.clustering(), a) for a in arms if a != "control"},
                   names=["arm", "layer"])
    return [f"**Paper-scale LeNet results** ({res.dataset}; computed on {prov['device']}, "
            f"{prov['date']}, commit `{prov['git_commit'][:12]}`):",
            res.metrics.groupby("arm")[["accuracy", "loss"]].agg(["mean", "std"]).round(4),
            styled(pt.drop(columns=["t_seed_neg"]), p_cols=("p", "p_seeds"))]
