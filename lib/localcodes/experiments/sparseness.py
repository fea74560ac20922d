"""The sparseness chapter's networks and analyses: the AlexNet-architecture network of the AlexNet chapters,
the locality chapter's LeNets and paper 000's MLPs, each trained and untrained, measured layer by layer with
``localcodes.sparseness`` and cached under ``results/<scale>/60_sparseness/``; and the tables that compare
the result with the blog post *The basis of feature spaces in deep networks*.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats as sps

from .. import data, engine, locality, nets, store
from ..engine.ensemble import activate
from ..sparseness import (
    ANALYSIS_FRAMES,
    MEASURES,
    alignment_table,
    analyse_layers,
    basis_summary,
    basis_values,
    depth_trends,
    judge_alignment,
    judge_depth_claims,
    layer_maps,
)
from ..verdicts import Verdict, judge_difference
from . import locality as locality_chapter

__all__ = ["CHAPTER", "LayerActs", "ALEXNET_SPARSENESS_LAYERS", "alexnet_acts", "LENET_LAYERS", "lenet_layers",
           "LENET_ARMS", "new_lenet", "locality_lenets", "lenet_acts", "MLP_ACTIVATIONS", "mlp_acts", "NETWORKS",
           "ANALYSIS_VERSION", "variants", "analyse_variant", "analyse_all", "sparsening_vs_decorrelation",
           "local_code_table", "advantage_table", "settings_table", "info_table", "image_data_note",
           "nonzero_table", "sparsest_table", "share_range", "zeros_note", "trends_table", "decorrelation_note",
           "z_table", "add_layer_kinds", "verdict_table", "local_codes_found", "on_code_bullets",
           "blog_comparison", "alignment_verdicts", "paper_note", "ALEXNET_PRE_LAYERS", "FRAMES",
           "pre_basis_values"]

CHAPTER = "60_sparseness"


@dataclass
class LayerActs:
    """One network's activations on the examples measured, layer by layer in depth order.

    ``acts`` {layer: (N, ...) tensor}; ``labels`` (N,) classes (for local codes); ``info``: data set,
    accuracy, what "trained" means for this network, and whatever identifies it for a cache.
    """

    acts: dict[str, torch.Tensor]
    labels: torch.Tensor
    info: dict = field(default_factory=dict)
    pre: dict[str, torch.Tensor] = field(default_factory=dict)  # hidden layers before their non-linearity


def _balanced(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a seeded, class-balanced subset of about ``n`` rows (at most the smallest class's size)."""
    counts = np.bincount(labels)
    per = min(max(1, n // len(counts)), int(counts.min()))
    order = np.random.default_rng(seed).permutation(len(labels))
    by_class = order[np.argsort(labels[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.sort(by_class[(starts[:, None] + np.arange(per)[None, :]).ravel()])


def _examples(correct: torch.Tensor, minimum: int = 10) -> tuple[torch.Tensor, str]:
    """The examples to measure: the correctly classified ones, or all if fewer than ``minimum`` are (a network
    trained too briefly, e.g. at smoke scale), with a note saying which."""
    if int(correct.sum()) >= minimum:
        return correct, "correctly classified"
    return torch.ones_like(correct), "all (too few correctly classified)"


ALEXNET_SPARSENESS_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
# the module before each hidden layer's ReLU (its input): the conv or linear output, captured before the
# in-place ReLU overwrites it (``layer_maps`` copies in the hook)
ALEXNET_PRE_LAYERS = {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6", "conv4": "features.8",
                      "conv5": "features.10", "fc6": "classifier.1", "fc7": "classifier.4"}


def alexnet_acts(scale: str, n_images: int = 1000, trained: bool = True, seed: int = 0,
                 device=None, dataset: str = "fractals") -> LayerActs:
    """Full layer maps of the AlexNet-architecture network (``nets.trained_alexnet(scale, dataset=dataset)``: by
    default chapter 30's, on the many fractal categories) on test images.

    A seeded balanced subset of ``nets.image_data(scale, "test", dataset)``, kept where the *trained* network
    classifies correctly (paper 001's rule), so trained and untrained (``trained=False``: the same
    architecture with PyTorch's default initialisation, seeded) are measured on the same images.
    """
    dev = store.pick_device(None if device is None else str(device))
    model, info = nets.trained_alexnet(scale, device=dev, dataset=dataset)
    test = nets.image_data(scale, "test", dataset)
    sub = test.subset(torch.from_numpy(_balanced(test.labels.numpy(), n_images, seed)))
    layers = {name: nets.ALEXNET_LAYERS[name] for name in ALEXNET_SPARSENESS_LAYERS}
    layers |= {f"{name}:pre": module for name, module in ALEXNET_PRE_LAYERS.items()}
    maps, out = layer_maps(model, layers, sub, device=dev)
    correct = (out.argmax(1).cpu() == sub.labels)
    if not trained:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = nets.AlexNet(len(info["classes"]), info["in_channels"], info["width"], info["pool_size"])
        maps, _ = layer_maps(model, layers, sub, device=dev)
    keep, which = _examples(correct)
    kept = {k: v[keep.to(dev)] for k, v in maps.items()}
    return LayerActs(
        {k: kept[k] for k in ALEXNET_SPARSENESS_LAYERS}, sub.labels[keep].to(dev),
        {"network": "AlexNet", "trained": trained, "dataset": info["dataset"], "source": info["source"],
         "input_size": info["input_size"], "width": info["width"], "test_accuracy": info["test_accuracy"],
         "images": int(len(sub)), "correct": int(correct.sum()), "examples": which,
         "model_date": info["provenance"]["date"]},
        {k: kept[f"{k}:pre"] for k in ALEXNET_PRE_LAYERS},
    )


LENET_LAYERS = ("conv1", "conv2", "fc1", "fc2", "out")


def lenet_layers(net: torch.nn.Module, x: torch.Tensor, pre: bool = False) -> dict[str, torch.Tensor]:
    """The post-ReLU layers of ``locality.LeNet`` (as its ``forward``, which uses functional ReLUs and
    pools): conv1 and conv2 after pool and ReLU, fc1 (the LP layer's input), fc2 (the 49-unit LP or control
    layer after BatchNorm and ReLU) and the output logits. ``pre``: the four hidden layers just before their
    ReLU instead (the network in eval mode: dropout is the identity)."""
    z1 = F.max_pool2d(net.conv1(x), 2)  # max-pooling commutes with the ReLU, so this is the ReLU's input
    h1 = F.relu(z1)
    z2 = F.max_pool2d(net.conv2_drop(net.conv2(h1)), 2)
    h2 = F.relu(z2)
    if pre:
        head = net.head
        zf1 = head.fc1(head.drop1(h2.flatten(1)))
        zf2 = head.bn(head.lp(head.drop2(F.relu(zf1))))
        return {"conv1": z1, "conv2": z2, "fc1": zf1, "fc2": zf2}
    logits, inner = net.head(h2.flatten(1), return_activations=True)
    return {"conv1": h1, "conv2": h2, "fc1": inner["lp_in"], "fc2": inner["lp_out"], "out": logits}


@functools.lru_cache(maxsize=2)
def _lenet_images(n_train: int, train_seed: int, n_test: int, test_seed: int) -> tuple:
    """Balanced training and test subsets of ``data.load_digits`` as LeNet inputs: (1, 28, 28), standardised
    with the training subset's pixel mean and std (as ``locality``'s experiment does)."""
    tr, te = data.load_digits("train"), data.load_digits("test")
    tr_idx, te_idx = _balanced(tr.labels, n_train, train_seed), _balanced(te.labels, n_test, test_seed)

    def prep(d, idx):
        x = torch.from_numpy(d.images[idx]).float().div_(255.0).unsqueeze(1)
        if x.shape[-2:] != (28, 28):  # scikit-learn's 8x8 fallback: LeNet needs 28 x 28
            x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
        return x

    xtr, xte = prep(tr, tr_idx), prep(te, te_idx)
    mean, std = xtr.mean(), xtr.std()
    return ((xtr - mean) / std, torch.from_numpy(tr.labels[tr_idx]), (xte - mean) / std,
            torch.from_numpy(te.labels[te_idx]), tr.name, tr.source)


LENET_ARMS = ("control", "linear")


def new_lenet(arm_or_decay: str | None, n_classes: int, seed: int, l1: float = 0.0) -> locality.LeNet:
    """``locality.LeNet`` built under ``torch.manual_seed(seed)`` (how the locality experiment seeds its
    members), without disturbing the caller's random state."""
    decay = locality.ARMS[arm_or_decay][0] if arm_or_decay in locality.ARMS else arm_or_decay
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return locality.LeNet(decay, n_classes, 1, 49, 0.5, l1)


def locality_lenets(scale: str, device=None) -> dict | None:
    """The LeNets the locality chapter trained at ``scale``, if a finished run is stored.

    Reads ``results/<scale>/50_locality_prior/lenet-*/`` (``locality.run_experiment``'s cache: ``info.json``,
    ``members.parquet``, the stack's ``model.pt``); takes the run with the most training (training images ×
    epochs, then the newest) that has both arms of ``LENET_ARMS``, and of each arm its lowest seed. Returns
    ``{"nets": {arm: (trained LeNet, initial LeNet)}, "config": ..., "run": folder name, "dataset": the digits it
    was trained on}`` or None. The
    initial LeNet is rebuilt as the experiment built it (same seed), so "untrained" is where training began.
    """
    folder = store.results_dir(scale, locality_chapter.CHAPTER, create=False)
    runs = []
    for run in folder.glob("lenet-*") if folder.exists() else []:
        files = [run / f for f in ("result.pt", "model.pt", "members.parquet", "info.json")]
        if not all(f.exists() for f in files):
            continue
        try:
            meta = json.loads((run / "info.json").read_text())
            cfg, members = meta["config"], pd.read_parquet(run / "members.parquet")
            if set(LENET_ARMS) <= set(members["arm"]):
                amount = cfg["n_train"] * cfg["epochs"]
                runs.append((amount, run.stat().st_mtime, run.name, run, meta, members))
        except (OSError, ValueError, KeyError):
            continue  # a run in another format: not ours to repair
    if not runs:
        return None
    *_, run, meta, members = max(runs, key=lambda r: r[:3])
    dev = store.pick_device(None if device is None else str(device))
    n_cls = len(meta["class_names"])
    nets = [new_lenet(None if r.decay == "none" else r.decay, n_cls, int(r.seed), float(r.l1))
            for r in members.itertuples()]
    stack = locality.LeNetStack(nets)
    try:
        stack.load_state_dict(torch.load(run / "model.pt", map_location="cpu", weights_only=True))
    except (RuntimeError, ValueError, OSError):
        return None
    out = {}
    for arm in LENET_ARMS:
        i = int(members[members["arm"] == arm]["seed"].idxmin())
        r = members.loc[i]
        start = new_lenet(None if r.decay == "none" else r.decay, n_cls, int(r.seed), float(r.l1))
        out[arm] = (stack.member(list(members.index).index(i)).to(dev).eval(), start.to(dev).eval())
    return {"nets": out, "config": meta["config"], "run": run.name, "dataset": meta.get("dataset")}


def lenet_acts(scale: str, arm: str = "control", trained: bool = True, n_train: int = 10_000,
               n_images: int = 1000, epochs: int = 3, seed: int = 0, device=None,
               reuse: bool = True) -> LayerActs:
    """Layers of ``locality.LeNet`` (``arm``: ``control``, or ``linear`` = with the locality prior) on test
    images, trained (``trained=True``) or as initialised.

    With ``reuse``, the LeNets the locality chapter trained at this scale (``locality_lenets``) are used when
    stored. Otherwise both arms are trained here as one ``locality.LeNetStack`` with ``locality.train_stack``
    (SGD lr 0.01, momentum 0.5, weight decay 0.01, batch 64, ``epochs``) on ``n_train`` balanced training
    images, once per setting (cached under ``results/<scale>/60_sparseness/lenet-<key>/``). Images: a balanced
    test subset of ``n_images``, kept where the trained network classifies correctly.
    """
    if arm not in LENET_ARMS:
        raise ValueError(f"arm must be one of {LENET_ARMS}; got {arm!r}")
    dev = store.pick_device(None if device is None else str(device))
    found = locality_lenets(scale, dev) if reuse else None
    if found is not None:
        cfg = found["config"]
        images = _lenet_images(cfg["n_train"], cfg["data_seed"], n_images, seed)
        if found["dataset"] != images[4]:  # trained on other digits than those here now (e.g. MNIST came since)
            found = None
    if found is not None:
        _, _, xte, yte, name, source = images
        net_t, net_0 = found["nets"][arm]
        info = {"trained_by": f"the locality chapter ({found['run']}: {cfg['n_train']} images x "
                              f"{cfg['epochs']} epochs, lr {cfg['lr']})", "n_train": cfg["n_train"]}
    else:
        xtr, ytr, xte, yte, name, source = _lenet_images(n_train, seed, n_images, seed)
        # the digits too: a network trained on the fallback digits is not the one for MNIST images
        params = {"n_train": n_train, "epochs": epochs, "seed": seed, "arms": list(LENET_ARMS), "dataset": name}
        folder = store.results_dir(scale, CHAPTER) / f"lenet-{store.key(params)}"
        n_cls = int(ytr.max()) + 1
        stack = locality.LeNetStack([new_lenet(a, n_cls, seed) for a in LENET_ARMS]).to(dev)
        path = folder / "stack.pt"
        if path.exists():
            state = torch.load(path, map_location=dev, weights_only=False)
            stack.load_state_dict(state["trained"])
            info = state["info"]
        else:
            t0 = time.perf_counter()
            locality.train_stack(stack, xtr.to(dev), ytr.to(dev), [seed] * len(LENET_ARMS), epochs=epochs,
                                 batch_size=64, lr=0.01, momentum=0.5, weight_decay=0.01, seed=seed,
                                 progress=False, desc="LeNet")
            info = {"trained_by": f"this chapter ({n_train} images x {epochs} epochs, lr 0.01)",
                    "train_s": round(time.perf_counter() - t0, 2), "n_train": int(len(ytr))}
            with store.atomic_path(path) as tmp:
                torch.save({"trained": stack.state_dict(), "info": info}, tmp)
        member = LENET_ARMS.index(arm)
        net_t = stack.member(member).eval()
        net_0 = new_lenet(arm, n_cls, seed).to(dev).eval()
    with torch.no_grad():
        x = xte.to(dev)
        correct = net_t(x).argmax(1).cpu() == yte
        acts = lenet_layers(net_t if trained else net_0, x)
        pre = lenet_layers(net_t if trained else net_0, x, pre=True)
    keep, which = _examples(correct)
    return LayerActs(
        {k: v[keep.to(dev)] for k, v in acts.items()}, yte[keep].to(dev),
        {"network": f"LeNet ({arm})", "trained": trained, "dataset": name, "source": source,
         "test_accuracy": float(correct.float().mean()), "images": int(len(yte)),
         "correct": int(correct.sum()), "examples": which, **info},
        {k: v[keep.to(dev)] for k, v in pre.items()},
    )


MLP_ACTIVATIONS = ("sigmoid", "relu")


def mlp_acts(scale: str, activation: str = "sigmoid", hidden: tuple[int, ...] = (500,), trained: bool = True,
             n_per_class: int = 50, epochs: int = 225, optimizer: str = "sgd", lr: float = 2.0, seed: int = 0,
             device=None) -> LayerActs:
    """Hidden and output layers of a paper-000 MLP (``localcodes.engine``) on its prototype-code training set.

    Trained with ``optimizer`` at ``lr`` for ``epochs`` (the defaults are ``engine.BOOK_DEFAULTS``: plain SGD
    at lr 2.0 for 225 epochs, the paper's lr × epochs in 1/200 of the epochs; ``engine.PAPER_DEFAULTS`` is SGD
    at 0.01 for 45,000), batch 32, BCE, U(−0.05, 0.05) init; ``trained=False`` is the same network at
    initialisation. Cached under ``results/<scale>/60_sparseness/mlp-<key>/``. Examples: the training
    codewords the trained network classifies correctly (paper 000 counts local codes on the training set).
    """
    if activation not in MLP_ACTIVATIONS:
        raise ValueError(f"activation must be one of {MLP_ACTIVATIONS}; got {activation!r}")
    if optimizer not in engine.OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {engine.OPTIMIZERS}; got {optimizer!r}")
    dev = store.pick_device(None if device is None else str(device))
    hidden = tuple(int(h) for h in hidden)
    params = {"activation": activation, "hidden": list(hidden), "n_per_class": n_per_class, "epochs": epochs,
              "optimizer": optimizer, "lr": lr, "seed": seed}
    folder = store.results_dir(scale, CHAPTER) / f"mlp-{store.key(params)}"
    data = engine.code_data(n_per_class=n_per_class, seed=seed)
    cfg = engine.TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, batch_size=32,
                            epochs=epochs, seed=seed)
    path = folder / "ensemble.pt"
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=False)
    else:
        # two runs, not one ensemble: an untrained member would ride along through every epoch of the other
        start = engine.train(data, cfg.with_(epochs=0), device=dev).ensemble
        res = engine.train(data, cfg, device=dev)
        final = res.final.iloc[0]
        trained_ens = res.ensemble
        both = engine.Ensemble(
            [torch.cat([a, b]) for a, b in zip(start.weights, trained_ens.weights, strict=True)],
            [torch.cat([a, b]) for a, b in zip(start.biases, trained_ens.biases, strict=True)],
            start.activation, start.softmax)
        state = {"ensemble": both.state_dict(), "info": {
            "train_s": round(res.wall_s, 2), "epochs_run": int(final["epoch"]),
            "train_acc": float(final["train_acc"])}}
        with store.atomic_path(path) as tmp:
            torch.save(state, tmp)
    ens = engine.Ensemble.from_state(state["ensemble"], device=dev)
    x = torch.as_tensor(data.X, device=dev)
    out = ens.forward(x)  # (2, N, O): network 0 untrained, 1 trained
    target = torch.as_tensor(data.targets[data.y], device=dev)
    correct = (out[1] - target).abs().amax(-1) < 0.5
    keep, which = _examples(correct)
    r = 1 if trained else 0
    acts = {f"h{i + 1}": h[r] for i, h in enumerate(ens.hidden(x))}
    acts["out"] = out[r]
    pre, h = {}, ens._inputs(x)
    for i, (w, b) in enumerate(zip(ens.weights[:-1], ens.biases[:-1], strict=True)):
        z = torch.baddbmm(b, h, w)  # the hidden layer's input to its sigmoid or ReLU
        pre[f"h{i + 1}"], h = z[r], activate(z, ens.activation)
    labels = torch.as_tensor(data.y, device=dev)
    return LayerActs(
        {k: v[keep] for k, v in acts.items()}, labels[keep],
        {"network": f"MLP {activation} {'-'.join(map(str, hidden))}", "trained": trained,
         "dataset": "prototype code (paper 000)", "source": "generated", "images": int(len(labels)),
         "correct": int(correct.sum()), "examples": which, **state["info"]},
        {k: v[keep] for k, v in pre.items()},
    )


# --- the chapter: every network, trained and untrained ------------------------------------------------------

NETWORKS = ("alexnet", "lenet", "mlp")
ANALYSIS_VERSION = 4  # part of every cache key: bump it when the analysis changes what it computes
FRAMES = (*ANALYSIS_FRAMES, "pre_basis")  # the chapter's frames: the library's and the pre-activation basis test


def pre_basis_values(la: LayerActs, draws: int, seed: int, max_samples: int | None, max_units: int | None
                     ) -> pd.DataFrame:
    """The basis test (``basis_values``) on each hidden layer's pre-activations, with the post-activation
    layer's ``layer`` and ``depth``. The same seed picks the same samples and neurons as the post-activation
    test (``basis_values`` draws its subsets from the seed alone), so the two are measured on the same rows."""
    depth = {name: i for i, name in enumerate(la.acts)}
    parts = [basis_values(a, draws=draws, seed=seed, max_samples=max_samples, max_units=max_units,
                          dtype=torch.float32).assign(layer=name, depth=depth[name])
             for name, a in la.pre.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["basis", "draw", "statistic", "value", "layer", "depth"])


def variants(networks: Iterable[str] = NETWORKS,
             mlp_activations: Iterable[str] = MLP_ACTIVATIONS) -> list[dict]:
    """The (network, trained) pairs the chapter measures: ``family``, ``network`` (a label), ``trained``, and
    the loader's own arguments (``arm`` for LeNet, ``activation`` for the MLPs)."""
    networks = list(networks)
    bad = [n for n in networks if n not in NETWORKS]
    if bad or not networks:
        raise ValueError(f"networks must be a non-empty subset of {NETWORKS}; got {networks}")
    out = []
    for fam in networks:
        kinds = {"alexnet": [("AlexNet", {})],
                 "lenet": [(f"LeNet ({a})", {"arm": a}) for a in LENET_ARMS],
                 "mlp": [(f"MLP ({a})", {"activation": a}) for a in mlp_activations]}[fam]
        for label, extra in kinds:
            for trained in (True, False):
                out.append({"family": fam, "network": label, "trained": trained, **extra})
    return out


def analyse_variant(scale: str, variant: dict, settings: Mapping, device=None, cache: bool = True
                    ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load one variant's activations and run ``analyse_layers`` on them, cached per setting.

    ``settings``: ``n_images, draws, lc_draws, max_samples, max_units, n_pairs`` (0 = no cap / N//2),
    ``seed``, and the training settings ``lenet_train, lenet_epochs, mlp_hidden, mlp_epochs, mlp_per_class,
    mlp_optimizer, mlp_lr``. Returns the frames (each with ``network``, ``trained`` and ``variant`` columns)
    and the loader's info.
    """
    s = dict(settings)
    fam, trained, seed = variant["family"], variant["trained"], int(s.get("seed", 0))
    if fam == "alexnet":
        dataset = s.get("alexnet_dataset", "fractals")
        _, info = nets.trained_alexnet(scale, device=device, dataset=dataset)
        ident = {"model_date": info["provenance"]["date"], "n_images": s["n_images"], "dataset": dataset}

        def load():
            return alexnet_acts(scale, s["n_images"], trained, seed, device, dataset)
    elif fam == "lenet":
        found = locality_lenets(scale)
        ident = {k: s[k] for k in ("n_images", "lenet_train", "lenet_epochs")} | {"arm": variant["arm"]}
        ident["dataset"] = _lenet_images(s["lenet_train"], seed, s["n_images"], seed)[4]  # which digits are here
        ident["lenet_source"] = found["run"] if found and found["dataset"] == ident["dataset"] else "own"

        def load():
            return lenet_acts(scale, variant["arm"], trained, s["lenet_train"], s["n_images"],
                              s["lenet_epochs"], seed, device)
    else:
        ident = {k: s[k] for k in ("mlp_hidden", "mlp_epochs", "mlp_per_class", "mlp_optimizer", "mlp_lr")}
        ident["activation"] = variant["activation"]

        def load():
            return mlp_acts(scale, variant["activation"], tuple(s["mlp_hidden"]), trained, s["mlp_per_class"],
                            s["mlp_epochs"], s["mlp_optimizer"], s["mlp_lr"], seed, device)

    analysis = {k: s[k] for k in ("draws", "lc_draws", "max_samples", "max_units", "n_pairs")}
    params = {"version": ANALYSIS_VERSION, "family": fam, "trained": trained, "seed": seed, **ident,
              **analysis}
    name = f"{variant['network']}, {'trained' if trained else 'untrained'}"
    folder = store.results_dir(scale, CHAPTER) / f"analysis-{store.key(params)}"
    holder: dict = {}

    def compute():
        t0 = time.perf_counter()
        la = load()
        frames = analyse_layers(
            la.acts, la.labels, draws=s["draws"], seed=seed, n_pairs=s["n_pairs"] or None,
            max_samples=s["max_samples"] or None, max_units=s["max_units"] or None, lc_draws=s["lc_draws"])
        frames["pre_basis"] = pre_basis_values(la, draws=s["draws"], seed=seed,
                                               max_samples=s["max_samples"] or None,
                                               max_units=s["max_units"] or None)
        holder["info"] = {**la.info, "analysis_s": round(time.perf_counter() - t0, 2)}
        store.write_json(folder / "info.json", holder["info"])
        return frames

    frames = store.cached(folder, params, compute) if cache else compute()
    info = holder.get("info")
    if info is None:
        info = json.loads((folder / "info.json").read_text())
    tagged = {k: f.assign(network=variant["network"], trained=trained, variant=name)
              for k, f in frames.items()}
    return tagged, info


def analyse_all(scale: str, settings: Mapping, networks: Iterable[str] = NETWORKS, device=None,
                progress: bool = True) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``analyse_variant`` for every variant of ``networks``: the frames concatenated, and one info row per
    variant (data set, accuracy, examples measured, times)."""
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in FRAMES}
    infos = []
    for v in store.progress_bar(variants(networks), desc="networks", disable=not progress):
        frames, info = analyse_variant(scale, v, settings, device)
        for k in FRAMES:
            if len(frames.get(k, ())):
                parts[k].append(frames[k])
        infos.append({**info, "model": info.get("network"), "network": v["network"], "trained": v["trained"]})
    return {k: pd.concat(p, ignore_index=True) if p else pd.DataFrame() for k, p in parts.items()}, \
        pd.DataFrame(infos)


def sparsening_vs_decorrelation(layers: pd.DataFrame, skip_output: bool = True) -> pd.DataFrame:
    """Per variant: Spearman's rho (and p) across layers between the share of zeros and the decorrelation
    (the blog's second figure in one number). ``skip_output`` leaves out the last layer (a linear read-out
    with no zeros), which would otherwise dominate the rank order."""
    rows = []
    for variant, g in layers.groupby("variant", sort=False):
        g = g.sort_values("depth")
        if skip_output:
            g = g.iloc[:-1]
        zeros, dec = 1 - g["nonzero"].to_numpy(), g["decorrelation"].to_numpy()
        ok = np.isfinite(zeros) & np.isfinite(dec)
        rho, p = (sps.spearmanr(zeros[ok], dec[ok]) if ok.sum() >= 3 and np.ptp(zeros[ok]) > 0
                  else (np.nan, np.nan))
        rows.append({"variant": variant, "layers": int(ok.sum()), "spearman_rho": float(rho), "p": float(p)})
    return pd.DataFrame(rows).set_index("variant")


def local_code_table(local_codes_frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant and layer: local codes in the neuron basis against the random bases (mean and max over
    draws), all and on-codes only, and the share of random bases with at least as many on-code units."""
    lc = local_codes_frame
    if lc.empty:
        return pd.DataFrame()
    keys = ["variant", "layer", "depth"]
    neuron = lc[lc["basis"] == "neuron"].set_index(keys)
    rnd = lc[lc["basis"] == "random"].merge(
        neuron[["local_units_on"]].rename(columns={"local_units_on": "neuron_on"}).reset_index(), on=keys)
    g = rnd.groupby(keys, sort=False)
    out = pd.DataFrame({
        "units": neuron["units"],
        "neuron_local_units": neuron["local_units"],
        "neuron_on_units": neuron["local_units_on"],
        "random_local_units": g["local_units"].mean(),
        "random_on_units": g["local_units_on"].mean(),
        "random_on_units_max": g["local_units_on"].max(),
        "share_random_on_ge": (g.apply(lambda d: (d["local_units_on"] >= d["neuron_on"]).mean(),
                                       include_groups=False)),
    })
    return out.reset_index().sort_values(["variant", "depth"], kind="stable").set_index(["variant", "layer"])


def advantage_table(basis: pd.DataFrame, layers: pd.DataFrame, statistic: str = "population_hoyer"
                    ) -> pd.DataFrame:
    """Per variant and layer: the neuron basis's advantage in ``statistic`` (neuron − mean of random bases,
    and z over the draws) beside the share of non-zero activations and the local codes found (neuron basis).
    """
    summ = basis_summary(basis, by=["variant", "layer", "depth"]).reset_index()
    summ = summ[summ["statistic"] == statistic].drop(columns="statistic")
    cols = ["variant", "layer", "nonzero", "lc_units", "lc_units_on", "units"]
    cols = [c for c in cols if c in layers.columns]
    out = summ.merge(layers[cols], on=["variant", "layer"])
    out = out.rename(columns={"neuron": f"neuron_{statistic}", "random_mean": f"random_{statistic}"})
    keep = ["variant", "layer", "depth", "units", "nonzero", f"neuron_{statistic}", f"random_{statistic}",
            "advantage", "z", "p", "lc_units", "lc_units_on"]
    return out[[c for c in keep if c in out.columns]].sort_values(["variant", "depth"], kind="stable") \
        .set_index(["variant", "layer"])


# --- the chapter's tables and sentences ------------------------------------------------------------------------


def settings_table(settings) -> pd.DataFrame:
    """This run's settings (``settings``: the chapter's parameters)."""
    P = settings
    return pd.DataFrame({
        "setting": ["images (AlexNet, LeNet test subset)", "random bases per layer (sparseness / local codes)",
                    "samples per layer for the basis test (cap)", "units per layer for the basis test (cap)",
                    "LeNet training images x epochs (if not the locality chapter's)",
                    "MLP hidden sizes, epochs, optimiser"],
        "this run": [P.n_images, f"{P.draws} / {P.lc_draws}", P.max_samples or "all", P.max_units or "all",
                     f"{P.lenet_train} x {P.lenet_epochs}",
                     f"{P.mlp_hidden}, {P.mlp_epochs}, {P.mlp_optimizer} (lr {P.mlp_lr})"],
    }).set_index("setting")


def info_table(info: pd.DataFrame) -> pd.DataFrame:
    """One row per network and state: data set, accuracy, examples measured, times."""
    cols = ["network", "trained", "model", "dataset", "source", "test_accuracy", "train_acc", "images", "correct",
            "examples", "train_s", "analysis_s"]
    return info[[c for c in cols if c in info.columns]].set_index(["network", "trained"])


def image_data_note(info: pd.DataFrame) -> str | None:
    """Which image data set the image networks were measured on (Markdown), or None without image networks."""
    image_rows = info[info["network"].str.startswith(("AlexNet", "LeNet"))]
    if not len(image_rows):
        return None
    first = image_rows.iloc[0]
    return f"Image data set used: **{first['dataset']}** (from {first['source']})."


def nonzero_table(layers: pd.DataFrame):
    """The share of non-zero activations per network and layer, trained and untrained (formatted)."""
    nonzero = layers.pivot_table(index=["network", "layer"], columns="trained", values="nonzero", sort=False)
    nonzero.columns = ["trained" if c else "untrained" for c in nonzero.columns]
    return nonzero.style.format("{:.1%}")


def sparsest_table(layers: pd.DataFrame) -> pd.DataFrame:
    """Per network and state: its sparsest ReLU layer and the mean non-zero share of its ReLU layers."""
    rect = layers[layers["nonzero"] < 1]  # layers with exact zeros: the rectified (ReLU) layers
    by_variant = rect.sort_values("nonzero").groupby("variant", sort=False).first()
    sparsest = pd.DataFrame({
        "sparsest layer": by_variant["layer"],
        "its non-zero share": by_variant["nonzero"].map("{:.1%}".format),
        "mean non-zero share of the ReLU layers": rect.groupby("variant")["nonzero"].mean().map("{:.1%}".format),
    })
    return sparsest.loc[[v for v in pd.unique(layers["variant"]) if v in sparsest.index]]


def share_range(frame: pd.DataFrame) -> str:
    """The range of the non-zero shares of ``frame``'s layers, or a dash."""
    return f"{frame['nonzero'].min():.0%}–{frame['nonzero'].max():.0%}" if len(frame) else "—"


def zeros_note(layers: pd.DataFrame) -> str:
    """The non-zero shares of trained and untrained ReLU layers, and what they mean (Markdown)."""
    rect = layers[layers["nonzero"] < 1]
    return (
        f"Across all ReLU layers, trained networks keep **{share_range(rect[rect['trained']])}** of their "
        f"activations non-zero, untrained ones **{share_range(rect[~rect['trained']])}**. A ReLU applied to "
        "pre-activations that are symmetric about zero, as at initialisation, silences about half of them in every "
        "layer; departures from one half are made by training, not by the rectification alone — in either "
        "direction (compare the trained and untrained rows of each network above).")


def trends_table(layers: pd.DataFrame, rho: pd.DataFrame) -> pd.DataFrame:
    """Per network and state: share of zeros and decorrelation from the first to the last hidden layer, with
    their rank correlation across the hidden layers (``rho``: ``sparsening_vs_decorrelation``)."""
    def trend(variant: str) -> dict:
        g = layers[layers["variant"] == variant].sort_values("depth").iloc[:-1]  # hidden layers only
        if len(g) < 2:
            return {}
        first, last = g.iloc[0], g.iloc[-1]
        return {"layers": f"{first.layer} → {last.layer}",
                "share of zeros": f"{1 - first.nonzero:.0%} → {1 - last.nonzero:.0%}",
                "decorrelation": f"{first.decorrelation:.2f} → {last.decorrelation:.2f}"}

    trends = pd.DataFrame({v: trend(v) for v in pd.unique(layers["variant"])}).T.dropna(how="all")
    return trends.join(rho[["spearman_rho", "p"]], how="left") if len(trends) else rho


def decorrelation_note(layers: pd.DataFrame) -> str | None:
    """How decorrelation changes from the first to the last hidden layer of the image networks, trained and
    untrained (Markdown), or None without image networks."""
    def ends_of(g):
        g = g.sort_values("depth")
        return pd.Series({"first layer": g["decorrelation"].iloc[0],
                          "last hidden layer": g["decorrelation"].iloc[-2], "trained": bool(g["trained"].iloc[0])})

    ends = pd.DataFrame({v: ends_of(g) for v, g in layers.groupby("variant", sort=False) if len(g) > 2}).T
    ends = ends[ends.index.str.startswith(("AlexNet", "LeNet"))] if len(ends) else ends
    if not len(ends):
        return None
    ends["trained"] = ends["trained"].astype(bool)
    untrained_falls = (ends.loc[~ends["trained"], "last hidden layer"]
                       < ends.loc[~ends["trained"], "first layer"]).all()
    trained_rises = (ends.loc[ends["trained"], "last hidden layer"]
                     > ends.loc[ends["trained"], "first layer"]).all()
    text = ("Decorrelation from the first to the last hidden layer — "
            + "; ".join(f"{v}: {r['first layer']:.2f} → {r['last hidden layer']:.2f}" for v, r in ends.iterrows())
            + ". ")
    if untrained_falls:
        text += ("In every untrained image network the patterns of different images become more alike with depth "
                 "(each random ReLU layer pulls them towards a common direction). ")
    text += ("In every trained one decorrelation grows with depth: training undoes the collapse." if trained_rises
             else "Training does not make decorrelation grow with depth in every network here.")
    return text


def z_table(summary: pd.DataFrame) -> pd.DataFrame:
    """z of the neuron basis against the random bases, per layer (rows) and statistic (columns)."""
    z = summary.pivot_table(index=["variant", "layer"], columns="statistic", values="z", sort=False)
    return z[[c for c in MEASURES if c in z.columns]].round(1)


def add_layer_kinds(layers: pd.DataFrame) -> pd.Series:
    """Mark every layer ``ReLU hidden``, ``sigmoid hidden`` or ``read-out`` (each network's last layer) in a
    ``kind`` column of ``layers`` (in place); returns that column indexed by (variant, layer)."""
    last = layers.groupby("variant")["depth"].transform("max")
    layers["kind"] = "sigmoid hidden"
    layers.loc[layers["nonzero"] < 1, "kind"] = "ReLU hidden"
    layers.loc[layers["depth"] == last, "kind"] = "read-out"
    return layers.set_index(["variant", "layer"])["kind"]


def verdict_table(summary: pd.DataFrame, kind: pd.Series) -> pd.DataFrame:
    """Per kind of layer and state: how often the neuron basis beats (or trails) every random basis, and the
    median z, over all (layer, statistic) cases."""
    cases = summary.join(kind, on=["variant", "layer"])
    cases["trained"] = cases["variant"].str.endswith(", trained").map({True: "trained", False: "untrained"})
    return cases.groupby(["kind", "trained"]).agg(
        cases=("z", "size"),
        neuron_beats_every_random_basis=("share_random_ge", lambda s: f"{(s == 0).mean():.0%}"),
        neuron_below_every_random_basis=("share_random_ge", lambda s: f"{(s == 1).mean():.0%}"),
        median_z=("z", "median"),
    ).round(1)


def local_codes_found(lcs: pd.DataFrame, basis: pd.DataFrame, layers: pd.DataFrame) -> pd.DataFrame | None:
    """Layers with local codes in either basis: the neuron basis's advantage in lifetime sparseness (Hoyer) beside
    the units with on-codes among neurons and among as many random directions; None if local codes were not
    counted in random bases."""
    lc_table = local_code_table(lcs)
    if not len(lc_table):
        return None
    adv = advantage_table(basis, layers, "lifetime_hoyer")
    measured = lc_table[["units", "neuron_on_units", "random_on_units", "random_on_units_max"]]
    both = adv.join(measured.rename(columns={"units": "units_measured"}), how="inner")
    return both[(both["neuron_on_units"] > 0) | (both["random_on_units"] > 0)]


def on_code_bullets(found: pd.DataFrame, kind: pd.Series) -> str:
    """Units with on-codes among neurons vs random directions, per kind of layer (Markdown)."""
    found = found.join(kind, how="left")

    def ratio(frame):
        n, r = frame["neuron_on_units"].sum(), frame["random_on_units"].sum()
        where = "more along the neurons" if n > r else "more along random directions" if r > n else "as many"
        return (f"{n} unit{'s' if n != 1 else ''} with on-codes among the neurons vs {r:.1f} among as many "
                f"random directions (mean over draws): **{where}**")

    bullets = [f"* {k}: {ratio(found[found['kind'] == k]) if (found['kind'] == k).any() else 'none found'}."
               for k in ("ReLU hidden", "sigmoid hidden", "read-out")]
    return ("\n".join(bullets) + "\n\nA read-out trained to a code (the MLPs' 50 sigmoid outputs, "
            "each on for five classes) has one tight cluster per class, so almost every direction "
            "through it separates some class; its neurons, each shared by five classes, cannot.")


def _short(v: Verdict) -> str:
    """A verdict in a table cell: outcome, n and p (and the networks a side that would decide it)."""
    if v.outcome == "not run":
        return f"not run (n = {v.n})"
    text = f"{v.outcome} (n = {v.n}, p = {v.p:.2g})"
    return text + (f"; ~{v.n_needed} a side would decide it" if v.outcome == "inconclusive" and v.n_needed else "")


def _per_network(frame: pd.DataFrame, column: str, fmt: str) -> str:
    return "; ".join(f"{r.network}: {format(getattr(r, column), fmt)}" for r in frame.itertuples()) or "none"


def blog_comparison(layers: pd.DataFrame, basis: pd.DataFrame, pre_basis: pd.DataFrame,
                    statistic: str = "population_hoyer") -> pd.DataFrame:
    """The blog's claims beside this run's: what each row tested, the per-network numbers, and the verdicts
    (``localcodes.verdicts``) for the trained networks and for the untrained ones alone; every cell computed."""
    trends = depth_trends(layers)
    trained_t = trends[trends["trained"]]
    on_trained, on_untrained = judge_depth_claims(trends, True), judge_depth_claims(trends, False)
    align = alignment_table(basis, pre_basis, layers, statistic)
    blog = "the blog's claim (Inception, ImageNet, ~200 web images)"
    unit = "unit: a network with ≥ 3 rectified hidden layers; one-sample t-test across networks"
    rows = [
        {blog: "activations become sparser with depth",
         "tested": f"Spearman's rho of depth and share of zeros over the hidden layers, > 0 ({unit})",
         "this run (trained)": _per_network(trained_t, "rho_depth_zeros", ".2f"),
         "verdict (trained)": _short(on_trained["rho_depth_zeros"]),
         "untrained alone": _short(on_untrained["rho_depth_zeros"])},
        {blog: "less sparse again towards the output",
         "tested": f"share of zeros of the last hidden layer minus the largest earlier one, < 0 ({unit})",
         "this run (trained)": _per_network(trained_t, "top_minus_peak", "+.1%"),
         "verdict (trained)": _short(on_trained["top_minus_peak"]),
         "untrained alone": _short(on_untrained["top_minus_peak"])},
        {blog: "decorrelation accompanies sparsening across depth",
         "tested": f"Spearman's rho of share of zeros and decorrelation over the hidden layers, > 0 ({unit})",
         "this run (trained)": _per_network(trained_t, "rho_zeros_decorrelation", ".2f"),
         "verdict (trained)": _short(on_trained["rho_zeros_decorrelation"]),
         "untrained alone": _short(on_untrained["rho_zeros_decorrelation"])},
    ]
    for stage, what in (("post", "after the non-linearity"), ("pre", "before the non-linearity")):
        col = f"{stage}_advantage"
        has = col in align.columns
        wide = align[col].unstack("trained") if has else pd.DataFrame()
        untrained = wide[False].to_numpy() if False in wide.columns else np.array([])
        rows.append({
            blog: "(hypothesis) activation patterns prefer the neuronal basis"
                  + ("" if stage == "post" else ", beyond what rectification does"),
            "tested": f"neuron basis's advantage in {statistic} over random bases {what}, mean over the ReLU "
                      "hidden layers; trained > untrained, paired t-test (unit: a network); untrained alone: > 0",
            "this run (trained)": (_per_network(align.xs(True, level="trained").reset_index(), col, "+.3f")
                                   + " (untrained: " + _per_network(
                                       align.xs(False, level="trained").reset_index(), col, "+.3f") + ")")
            if has and True in wide.columns and False in wide.columns else "not run",
            "verdict (trained)": _short(judge_alignment(align, stage)),
            "untrained alone": _short(judge_difference(untrained, np.zeros_like(untrained), "greater")),
        })
    return pd.DataFrame(rows).set_index(blog)


def alignment_verdicts(layers: pd.DataFrame, basis: pd.DataFrame, pre_basis: pd.DataFrame,
                       statistic: str = "population_hoyer") -> str:
    """The basis test's two verdicts, after and before the non-linearity, in full (Markdown)."""
    align = alignment_table(basis, pre_basis, layers, statistic)
    return "\n".join(f"* {what}: {judge_alignment(align, stage)}" for stage, what in
                      (("post", "after the non-linearity"), ("pre", "before the non-linearity")))


def paper_note(scale: str) -> str:
    """Whether paper-scale results are stored (Markdown)."""
    paper = store.results_dir("paper", CHAPTER, create=False)
    if scale != "paper" and paper.exists() and any(paper.glob("analysis-*/params.json")):
        return (f"Paper-scale results are stored in `{paper}`; re-run this chapter with `--scale paper` "
                "to show them.")
    return ("No paper-scale results are stored with the book (they need a GPU: "
            f"`localcodes run {CHAPTER} --scale paper`).")
