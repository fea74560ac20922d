"""Batched ensembles of small MLPs for paper 000: R networks in one tensor program, measured as they learn.

The pieces, in the order a chapter uses them
--------------------------------------------
* **Data** — :class:`Dataset` (train inputs ``X`` (N, D) float, classes ``y``, one target vector per class,
  optional test and validation sets). Make one from a prototype code with :func:`code_data` (experiments 1–11,
  13) or from any float matrix with :func:`array_data` (MNIST-format digits with hot-pixel invariants,
  experiment 12: ``array_data(digits.flat(), digits.labels, output="onehot")``).
* **Settings** — :class:`TrainConfig`: hidden sizes (any number of hidden layers), sigmoid/ReLU, softmax or
  not, BCE or cross-entropy, dropout after every hidden layer, activation noise, SGD or Adam, batch size, the
  U(-0.05, 0.05) init, the stopping rule (``"budget"`` of epochs and/or steps, ``"val_loss"``,
  ``"train_acc"``) and the ``checkpoints`` (epochs) at which the networks are measured. ``PAPER_DEFAULTS`` are
  the authors' settings; ``BOOK_DEFAULTS`` the fast settings for the book scale (read its comment before using
  it).
* **Training** — :func:`train` trains R networks at once (one :class:`TrainConfig` each, or one for all) and
  returns a :class:`TrainResult`: the trained :class:`Ensemble` and ``history``, a DataFrame with one row per
  network per checkpoint (accuracies, losses, local-code counts, epochs to 99 %).
* **Looking inside** — :meth:`Ensemble.hidden` (hidden activations of every network, (R, N, U)) and
  :func:`network_activations` (one network's activations on the examples it classifies correctly, with labels:
  the input of ``selectivity.local_codes`` and ``charts.jitterplot``).
* **Sweeps** — :func:`sweep` runs a grid of conditions × repeats (batching whatever can share one ensemble),
  in-process or on a ``dask.distributed`` scheduler, writing one Parquet part per finished ensemble to a
  :class:`localcodes.store.ResultsStore`; a killed sweep resumes and recomputes nothing already stored.
  :func:`estimate_runtime` times a short probe of each ensemble and extrapolates; :func:`project_runtime` is
  the analytic projection for a device we cannot measure (e.g. a GPU from a CPU-only machine).
* **On a GPU** — small ensembles are bound by kernel launches (~24 per optimiser step), not arithmetic. So on a
  CUDA device each epoch after the first (a warm-up) is captured once as a CUDA graph and replayed (one
  launch per epoch; ``cuda_graphs=``), and :func:`sweep` trains several ensembles at once on their own CUDA streams
  (``concurrent=``, default 6 on CUDA), e.g. experiment 1's six hidden sizes. Neither changes the numbers
  beyond float rounding; ``scripts/gpu_check.sh`` runs the GPU tests and benchmarks on a lent GPU.

Measures (SPEC.md): **classification accuracy** = every output bit within 0.5 of its target;
**pattern-matching accuracy** = every bit within 0.1. **Local codes** are counted per network on the training
set, on the examples that network classifies correctly (``lc_examples="correct"``, the paper's definition;
``"all"`` uses every example), per hidden layer: ``lc_pairs`` (unit, class) pairs, split into
``lc_on``/``lc_off``, ``lc_units`` (units with at least one local code, ``lc_units_on``/``lc_units_off``),
``lc_classes`` (classes with at least one). Per layer columns carry the suffix ``_h1``, ``_h2``…; the
unsuffixed columns sum over hidden layers. The counts equal ``selectivity.local_codes`` on the same table
(tested).

Randomness: each network owns four ``torch.Generator`` streams derived from its ``seed`` (init, data order,
dropout, noise), so a network's numbers do not depend on which other networks share its ensemble; without
dropout and noise an ensemble member equals the same network trained alone by a plain PyTorch loop
(:func:`train_plain`, tested to float tolerance). Same seed → same numbers on the same device.

Example (experiment 1 at book scale)::

    from localcodes import train
    data = train.code_data(n_per_class=50, seed=0)
    cfg = train.TrainConfig(hidden=(500,), **train.BOOK_DEFAULTS, checkpoints=train.log_checkpoints(225, 10))
    res = train.train(data, [cfg.with_(seed=s) for s in range(5)])
    res.history[["network", "epoch", "train_acc", "lc_pairs", "lc_units"]]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import codes
from .store import ResultsStore, atomic_path, device_name, git_commit, pick_device

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "STOPS",
    "PAPER_DEFAULTS",
    "BOOK_DEFAULTS",
    "BOOK_EPOCH_SCALE",
    "PER_NETWORK",
    "TRAIN_KEYS",
    "Dataset",
    "code_data",
    "array_data",
    "TrainConfig",
    "Ensemble",
    "TrainResult",
    "train",
    "train_plain",
    "count_local_codes",
    "network_activations",
    "log_checkpoints",
    "expand_grid",
    "sweep",
    "estimate_runtime",
    "project_runtime",
    "bench_main",
]

ACTIVATIONS = ("sigmoid", "relu")
LOSSES = ("auto", "bce", "ce")
OPTIMIZERS = ("sgd", "adam")
STOPS = ("budget", "val_loss", "train_acc")
INITS = ("uniform", "glorot")
LC_EXAMPLES = ("correct", "all")

#: The authors' Keras settings (SPEC.md "Original code facts"): sigmoid hidden and output units, BCE, SGD with
#: lr 0.01, batch 32 (shuffled every epoch), weights U(-0.05, 0.05), 45,000 epochs. On a 2-core CPU one
#: 500-unit network takes about half a minute per 1,000 epochs, i.e. ~20 minutes for one network — paper scale
#: is for a GPU (see ``project_runtime``).
PAPER_DEFAULTS: dict = dict(optimizer="sgd", lr=0.01, batch_size=32, epochs=45_000)

#: Book-scale training: **plain SGD at lr 2.0 (200 x the paper's) for 225 epochs**, batch 32; everything else
#: as in the paper (sigmoid, BCE, U(-0.05, 0.05) init, no softmax). Why: with small steps SGD follows the
#: gradient flow, so what matters is roughly lr x epochs; 2.0 x 225 = 0.01 x 45,000 = 450, the paper's
#: training "time" in 1/200 of the epochs. Measured on the standard code (500 bits, 10 classes, 500
#: examples, 500 sigmoid units): lr 1.0 x 450 epochs and lr 2.0 x 225 epochs reach the same training loss
#: (0.00158) and similar local-code counts (7-16 per network), rising with training time as in experiment
#: 10; larger steps (lr 4.5) change the dynamics (almost only on-codes), and Adam (lr 1e-3) converges to
#: distributed solutions with 0-1 local codes. The emergence test in ``tests/test_train.py`` guards that these
#: settings give local codes. Cost: ~10 ms per 500-unit network-epoch on one busy CPU core. To compare a
#: "local codes vs epochs" curve with the paper, multiply book epochs by ``BOOK_EPOCH_SCALE`` (200).
#: What differs from the paper: the step size (so fewer, larger, noisier steps); say so in the chapter.
BOOK_DEFAULTS: dict = dict(optimizer="sgd", lr=2.0, batch_size=32, epochs=225)
BOOK_EPOCH_SCALE = 200

# fields of TrainConfig that may differ between the networks of one ensemble (vectorised per network)
PER_NETWORK = (
    "dropout",
    "noise_std",
    "noise_mean",
    "lr",
    "momentum",
    "init_range",
    "epochs",
    "max_steps",
    "patience",
    "min_delta",
    "acc_target",
    "seed",
)


# ----------------------------------------------------------------------------------------------------- data
@dataclass
class Dataset:
    """Training data for a classification MLP.

    ``X`` (N, D) float inputs; ``y`` (N,) int classes 0..C-1 (the targets' class); ``targets`` (C, O) float,
    the target vector of each class (distributed or 1-hot); optional ``X_test``/``y_test`` and
    ``X_val``/``y_val`` (validation loss for early stopping). ``lc_labels`` (N,) are the classes local codes
    are measured against (default ``y``; for shuffled targets, pass the prototype classes to ask the other
    question). ``info`` describes where the data came from (stored with results).
    """

    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    lc_labels: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.X = np.asarray(self.X, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.targets = np.asarray(self.targets, dtype=np.float32)
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-D (examples x features); got shape {self.X.shape}")
        if self.y.shape != (self.X.shape[0],):
            raise ValueError(
                f"y must have one class per row of X ({self.X.shape[0]}); got shape {self.y.shape}"
            )
        if self.targets.ndim != 2 or self.y.min() < 0 or self.y.max() >= self.targets.shape[0]:
            raise ValueError(
                f"targets must be (n_classes, outputs) with a row for every class in y; "
                f"got shape {self.targets.shape} and classes {self.y.min()}..{self.y.max()}"
            )
        for name in ("test", "val"):
            xs, ys = getattr(self, f"X_{name}"), getattr(self, f"y_{name}")
            if (xs is None) != (ys is None):
                raise ValueError(f"X_{name} and y_{name} must be given together")
            if xs is not None:
                xs = np.asarray(xs, dtype=np.float32)
                ys = np.asarray(ys, dtype=np.int64)
                if xs.ndim != 2 or xs.shape[1] != self.X.shape[1] or ys.shape != (xs.shape[0],):
                    raise ValueError(f"X_{name} must be (n, {self.X.shape[1]}) with y_{name} (n,)")
                setattr(self, f"X_{name}", xs)
                setattr(self, f"y_{name}", ys)
        if self.lc_labels is not None:
            self.lc_labels = np.asarray(self.lc_labels, dtype=np.int64)
            if self.lc_labels.shape != self.y.shape:
                raise ValueError("lc_labels must have one label per training example")

    @property
    def n_classes(self) -> int:
        return int(self.targets.shape[0])

    def same_as(self, other: Dataset) -> bool:
        """True when both hold the same arrays (so an ensemble can share one copy)."""
        if self is other:
            return True
        pairs = [
            (self.X, other.X),
            (self.y, other.y),
            (self.targets, other.targets),
            (self.X_test, other.X_test),
            (self.y_test, other.y_test),
            (self.X_val, other.X_val),
            (self.y_val, other.y_val),
            (self.lc_labels, other.lc_labels),
        ]
        for a, b in pairs:
            if (a is None) != (b is None) or (
                a is not None and (a.shape != b.shape or not np.array_equal(a, b))
            ):
                return False
        return True


def code_data(
    n_classes: int = 10,
    length: int = 500,
    n_per_class: int = 50,
    random_weight: float = 1 / 3,
    perturb: float = 0.0,
    shared_random: bool = False,
    shuffle_targets: bool = False,
    output: str = "distributed",
    output_length: int = 50,
    n_test_per_class: int = 0,
    n_val_per_class: int = 0,
    seed: int = 0,
) -> Dataset:
    """A :class:`Dataset` from ``codes.prototype_code`` (arguments as there) with its output code.

    ``output``: ``"distributed"`` (``output_length`` bits, half of them on, one code per class; paper 000's
    3-layer nets) or ``"onehot"``. ``n_test_per_class`` / ``n_val_per_class``: fresh codewords from the same
    prototypes (test sets "at least 10 times larger than the training sets"). ``shuffle_targets``: experiment
    13, targets assigned at random (local codes are still measured against the targets, ``lc_labels`` =
    ``y``). All parts are derived from ``seed`` (train, test and validation codewords are different draws).
    """
    code = codes.prototype_code(n_classes, length, n_per_class, random_weight, perturb, shared_random, seed)
    if shuffle_targets:
        code = code.shuffled(seed)
    targets = codes.output_code(n_classes, output, output_length, seed=seed)
    test = code.test_set(n_test_per_class, seed=_derive(seed, 1)) if n_test_per_class else None
    val = code.test_set(n_val_per_class, seed=_derive(seed, 2)) if n_val_per_class else None
    info = dict(
        code.params,
        shuffle_targets=shuffle_targets,
        output=output,
        output_length=output_length,
        data="prototype code",
    )
    return Dataset(
        code.X,
        code.y,
        targets,
        None if test is None else test.X,
        None if test is None else test.y,
        None if val is None else val.X,
        None if val is None else val.y,
        info=info,
    )


def array_data(
    X,
    y,
    output: str | np.ndarray = "onehot",
    X_test=None,
    y_test=None,
    X_val=None,
    y_val=None,
    output_length: int = 50,
    seed: int = 0,
    info: dict | None = None,
) -> Dataset:
    """A :class:`Dataset` from float inputs of any width (e.g. flattened MNIST with hot-pixel invariants).

    ``output``: ``"onehot"``, ``"distributed"`` (``codes.output_code`` with ``output_length`` bits) or an
    explicit (C, O) array of target vectors.
    """
    y = np.asarray(y, dtype=np.int64)
    n_classes = int(y.max()) + 1
    if isinstance(output, str):
        targets = codes.output_code(n_classes, output, output_length, seed=seed)
    else:
        targets = np.asarray(output, dtype=np.float32)
    return Dataset(
        np.asarray(X, dtype=np.float32).reshape(len(y), -1),
        y,
        targets,
        X_test,
        y_test,
        X_val,
        y_val,
        info=dict(info or {}),
    )


def _derive(seed: int, stream: int) -> int:
    """An independent 63-bit seed for ``stream`` of ``seed`` (numpy SeedSequence)."""
    state = np.random.SeedSequence([int(seed), int(stream)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


# ------------------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """How to build and train one network (the defaults are the paper's, ``PAPER_DEFAULTS``).

    Architecture: ``hidden`` sizes (one entry per hidden layer; paper: (500,) etc., experiment 11: (n, 250)),
    ``activation`` of the hidden layers (``"sigmoid"``/``"relu"``), ``softmax`` on the output (else sigmoid
    outputs), ``loss`` (``"bce"``, ``"ce"`` = categorical cross-entropy, ``"auto"`` = ce with softmax else
    bce). Regularisation: ``dropout`` rate after every hidden layer; activation noise, Gaussian with mean
    ``noise_mean`` (0.5 in the original code) and std ``noise_std`` added to every hidden activation in
    training (``noise_std=0`` means no noise). Optimiser: ``"sgd"`` (with ``momentum``) or ``"adam"`` at
    ``lr``, ``batch_size``; weights U(-``init_range``, ``init_range``) (``init="uniform"``) or Glorot-uniform;
    biases 0.

    Stopping, per network, while the others keep training: every network stops after ``epochs`` epochs or
    ``max_steps`` optimiser steps (whichever first); ``stop="val_loss"`` also stops when the validation loss
    has not improved by ``min_delta`` for ``max(patience, 1)`` epochs (Keras 2.2's EarlyStopping; needs a
    validation set); ``stop="train_acc"`` stops once the training-set classification accuracy (measured after
    the epoch, without dropout or noise) reaches ``acc_target``. ``epochs_to_acc`` (first epoch with training
    accuracy ≥ ``acc_target``) is recorded when accuracy is checked: every ``acc_every`` epochs (default:
    every epoch for ``stop="train_acc"``, else only at checkpoints).

    Measures: at the epochs in ``checkpoints`` (0 = before training) and when a network stops.
    ``lc_examples``: local codes on the correctly classified training examples (``"correct"``) or on all.
    """

    hidden: tuple[int, ...] = (500,)
    activation: str = "sigmoid"
    softmax: bool = False
    loss: str = "auto"
    dropout: float = 0.0
    noise_std: float = 0.0
    noise_mean: float = 0.5
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    batch_size: int = 32
    init: str = "uniform"
    init_range: float = 0.05
    epochs: int = 45_000
    max_steps: int | None = None
    stop: str = "budget"
    patience: int = 0
    min_delta: float = 0.0
    acc_target: float = 0.99
    acc_every: int | None = None
    checkpoints: tuple[int, ...] = ()
    lc_examples: str = "correct"
    seed: int = 0

    def __post_init__(self):
        hidden = (self.hidden,) if isinstance(self.hidden, (int, np.integer)) else tuple(self.hidden)
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        object.__setattr__(self, "checkpoints", tuple(sorted({int(c) for c in self.checkpoints})))
        choices = dict(
            activation=ACTIVATIONS,
            loss=LOSSES,
            optimizer=OPTIMIZERS,
            stop=STOPS,
            init=INITS,
            lc_examples=LC_EXAMPLES,
        )
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}; got {getattr(self, name)!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must be one or more positive layer sizes; got {self.hidden!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0; got {self.noise_std}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0; got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {self.batch_size}")
        if self.init_range <= 0:
            raise ValueError(f"init_range must be > 0; got {self.init_range}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0; got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0 or None; got {self.max_steps}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0; got {self.patience}")
        if not 0.0 < self.acc_target <= 1.0:
            raise ValueError(f"acc_target must be in (0, 1]; got {self.acc_target}")
        if self.acc_every is not None and self.acc_every < 0:
            raise ValueError(f"acc_every must be >= 0 or None; got {self.acc_every}")
        if self.checkpoints and self.checkpoints[0] < 0:
            raise ValueError(f"checkpoints must be epochs >= 0; got {self.checkpoints}")
        if self.loss == "ce" and not self.softmax:
            raise ValueError(
                "loss='ce' (categorical cross-entropy) needs softmax=True; use loss='bce' otherwise"
            )

    @property
    def loss_fn(self) -> str:
        return ("ce" if self.softmax else "bce") if self.loss == "auto" else self.loss

    @property
    def check_acc_every(self) -> int:
        if self.acc_every is not None:
            return self.acc_every
        return 1 if self.stop == "train_acc" else 0

    def with_(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def structure(self) -> dict:
        """The fields every network of one ensemble must share."""
        return {k: v for k, v in asdict(self).items() if k not in PER_NETWORK}

    @classmethod
    def from_dict(cls, params: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; allowed: {sorted(names)}")
        return cls(**params)


TRAIN_KEYS = tuple(f.name for f in fields(TrainConfig))


def log_checkpoints(epochs: int, n: int = 20, first: int = 0) -> tuple[int, ...]:
    """About ``n`` checkpoint epochs, log-spaced from ``first`` (0 = before training) to ``epochs``."""
    if epochs < 1:
        return (0,) if first == 0 else ()
    pts = np.unique(np.round(np.logspace(0, np.log10(epochs), max(n, 2))).astype(int))
    out = sorted({*(int(p) for p in pts if p >= max(first, 1)), epochs, *([0] if first == 0 else [])})
    return tuple(out)


# ---------------------------------------------------------------------------------------------- ensemble
@dataclass
class Ensemble:
    """The parameters of R MLPs: ``weights[l]`` (R, in, out) and ``biases[l]`` (R, 1, out), layer by layer.

    ``hidden(X)`` gives every hidden layer's activations of every network (no dropout, no noise); ``forward``
    the outputs. Inputs ``X`` may be (N, D) (the same for every network) or (R, N, D).
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    activation: str = "sigmoid"
    softmax: bool = False

    @property
    def n_networks(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def sizes(self) -> list[int]:
        return [int(self.weights[0].shape[1])] + [int(w.shape[2]) for w in self.weights]

    def member(self, r: int | Sequence[int]) -> Ensemble:
        """Network(s) ``r`` as an ensemble of their own (views, no copy)."""
        idx = [r] if isinstance(r, (int, np.integer)) else list(r)
        sel = torch.as_tensor(idx, device=self.device)
        return Ensemble(
            [w[sel] for w in self.weights], [b[sel] for b in self.biases], self.activation, self.softmax
        )

    def _inputs(self, X) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
        x = x.to(self.device, torch.float32)
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.n_networks, -1, -1)
        if x.ndim != 3 or x.shape[0] != self.n_networks or x.shape[2] != self.sizes[0]:
            raise ValueError(
                f"X must be (N, {self.sizes[0]}) or ({self.n_networks}, N, {self.sizes[0]}); "
                f"got {tuple(x.shape)}"
            )
        return x

    @torch.no_grad()
    def hidden(self, X, layer: int | None = None) -> torch.Tensor | list[torch.Tensor]:
        """Hidden activations (R, N, U) of hidden ``layer`` (0 = first), or a list of all layers if None."""
        h = self._inputs(X)
        outs = []
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = _act(torch.baddbmm(b, h, w), self.activation)
            outs.append(h)
        if layer is None:
            return outs
        if not -len(outs) <= layer < len(outs):
            raise ValueError(f"layer must be in 0..{len(outs) - 1}; got {layer}")
        return outs[layer]

    @torch.no_grad()
    def forward(self, X) -> torch.Tensor:
        """Outputs (R, N, O) after the sigmoid or softmax (no dropout, no noise)."""
        h = self._inputs(X)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = _act(torch.baddbmm(b, h, w), self.activation)
        return _out(torch.baddbmm(self.biases[-1], h, self.weights[-1]), self.softmax)

    def state_dict(self) -> dict:
        return {
            "weights": [w.cpu() for w in self.weights],
            "biases": [b.cpu() for b in self.biases],
            "activation": self.activation,
            "softmax": self.softmax,
        }

    @classmethod
    def from_state(cls, state: dict, device=None) -> Ensemble:
        dev = pick_device(None if device is None else str(device))
        return cls(
            [w.to(dev) for w in state["weights"]],
            [b.to(dev) for b in state["biases"]],
            state["activation"],
            state["softmax"],
        )


def _act(z: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z)


def _out(z: torch.Tensor, softmax: bool) -> torch.Tensor:
    return torch.softmax(z, dim=-1) if softmax else torch.sigmoid(z)


# ------------------------------------------------------------------------------------------------ measures
def count_local_codes(
    mins: torch.Tensor, maxs: torch.Tensor, counts: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Local-code counts of every network from per-class minima/maxima (R, C, U) and class counts (R, C).

    A (unit, class) pair is an on-code when the class's minimum is above every other class's maximum, an
    off-code when its maximum is below every other class's minimum (strict; classes with no examples are
    ignored; a network with fewer than two classes present has none). Returns (R,) tensors ``pairs_on,
    pairs_off, pairs, units_on, units_off, units, classes`` and the (R, C, U) masks ``on``, ``off``.
    """
    present = counts > 0  # (R, C)
    enough = present.sum(1) >= 2  # (R,)

    def others(values: torch.Tensor, largest: bool) -> torch.Tensor:
        top2 = torch.topk(values, 2, dim=1, largest=largest).values
        first = top2[:, 0:1].expand_as(values)
        return torch.where(values == first, top2[:, 1:2].expand_as(values), first)

    valid = (present & enough[:, None])[:, :, None]
    on = (mins > others(maxs, True)) & valid
    off = (maxs < others(mins, False)) & valid
    return {
        "pairs_on": on.sum((1, 2)),
        "pairs_off": off.sum((1, 2)),
        "pairs": on.sum((1, 2)) + off.sum((1, 2)),
        "units_on": on.any(1).sum(1),
        "units_off": off.any(1).sum(1),
        "units": (on | off).any(1).sum(1),
        "classes": (on | off).any(2).sum(1),
        "on": on,
        "off": off,
    }


def _loss_per_example(p: torch.Tensor, t: torch.Tensor, loss: str) -> torch.Tensor:
    """Loss of every example (R, n): BCE averaged over outputs, or categorical cross-entropy (Keras' clip)."""
    p = p.clamp(1e-7, 1 - 1e-7)
    if loss == "bce":
        return -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    return -(t * p.log()).sum(-1)


def _outcome(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Classification (all bits within 0.5) and pattern-matching (all within 0.1) correctness (R, n)."""
    err = (p - t).abs().amax(-1)
    return err < 0.5, err <= 0.1


# ----------------------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``ensemble``, ``history`` (one row per network per checkpoint,
    ``final`` marks each network's last row), the per-network ``configs`` and the ``wall_s`` of the run."""

    ensemble: Ensemble
    history: pd.DataFrame
    configs: list[TrainConfig]
    wall_s: float
    device: str

    @property
    def final(self) -> pd.DataFrame:
        """Each network's last row."""
        return self.history[self.history["final"]].reset_index(drop=True)


class _Data:
    """A Dataset (or one per network) on the device, laid out for gathering batches of R networks at once."""

    def __init__(self, data: Dataset | Sequence[Dataset], n_networks: int, device: torch.device):
        datasets = [data] if isinstance(data, Dataset) else list(data)
        if len(datasets) not in (1, n_networks):
            raise ValueError(
                f"data must be one Dataset or one per network ({n_networks}); got {len(datasets)}"
            )
        if len(datasets) > 1 and all(d.same_as(datasets[0]) for d in datasets[1:]):
            datasets = datasets[:1]
        first = datasets[0]
        for d in datasets[1:]:
            if d.X.shape != first.X.shape or d.targets.shape != first.targets.shape:
                raise ValueError("per-network datasets must have the same shapes (X, targets)")
            for name in ("X_test", "X_val"):
                a, b = getattr(d, name), getattr(first, name)
                if (a is None) != (b is None) or (a is not None and a.shape != b.shape):
                    raise ValueError(f"per-network datasets must all have {name} of the same shape, or none")
        self.shared = len(datasets) == 1
        self.R, self.N, self.D = n_networks, first.X.shape[0], first.X.shape[1]
        self.n_classes = first.n_classes

        def put(arrays, dtype):
            t = torch.as_tensor(np.stack(arrays)).to(device, dtype)
            return t[0] if self.shared else t

        self.X = put([d.X for d in datasets], torch.float32)  # (N, D) or (R, N, D)
        self.y = put([d.y for d in datasets], torch.int64)
        self.targets = put([d.targets for d in datasets], torch.float32)  # (C, O) or (R, C, O)
        self.lc = put([d.y if d.lc_labels is None else d.lc_labels for d in datasets], torch.int64)
        self.n_lc_classes = int(
            max(int(d.lc_labels.max()) + 1 if d.lc_labels is not None else d.n_classes for d in datasets)
        )
        self.sets = {}
        for name in ("test", "val"):
            if getattr(first, f"X_{name}") is not None:
                self.sets[name] = (
                    put([getattr(d, f"X_{name}") for d in datasets], torch.float32),
                    put([getattr(d, f"y_{name}") for d in datasets], torch.int64),
                )
        self.info = first.info

    def batch(self, X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` (R, b) of X ((N, ...) shared, or (R, N, ...)) for each network: (R, b, ...)."""
        R, b = idx.shape
        if self.shared:
            return X.index_select(0, idx.reshape(-1)).view(R, b, *X.shape[1:])
        offs = (torch.arange(R, device=idx.device) * X.shape[1])[:, None]
        flat = X.reshape(R * X.shape[1], *X.shape[2:])
        return flat.index_select(0, (idx + offs).reshape(-1)).view(R, b, *X.shape[2:])

    def target_rows(self, y: torch.Tensor) -> torch.Tensor:
        """Target vectors (R, n, O) for classes ``y`` (R, n)."""
        if self.shared:
            return self.targets[y]
        return torch.gather(self.targets, 1, y[:, :, None].expand(-1, -1, self.targets.shape[2]))

    def rows(self, X: torch.Tensor, y: torch.Tensor, sl: slice, nets: torch.Tensor):
        """A slice of rows of a whole set for networks ``nets``: (r, n, D), (r, n)."""
        if self.shared:
            xs = X[sl].unsqueeze(0).expand(len(nets), -1, -1)
            ys = y[sl].unsqueeze(0).expand(len(nets), -1)
        else:
            xs, ys = X[nets, sl], y[nets, sl]
        return xs, ys

    def targets_for(self, ys: torch.Tensor, nets: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return self.targets[ys]
        t = self.targets[nets]  # (r, C, O)
        return torch.gather(t, 1, ys[:, :, None].expand(-1, -1, t.shape[2]))


def _per_network(configs: list[TrainConfig], name: str, device, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor([getattr(c, name) for c in configs], device=device, dtype=dtype)


def _generators(seed: int, device: torch.device) -> list[torch.Generator]:
    gens = []
    for stream in range(4):  # init, data order, dropout, noise
        g = torch.Generator(device=device)
        g.manual_seed(_derive(seed, 100 + stream))
        gens.append(g)
    return gens


def _init_weights(configs: list[TrainConfig], sizes: list[int], gens: list[list[torch.Generator]], device):
    """Per-network init from each network's own init stream: U(-a, a) or Glorot-uniform; biases zero."""
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        ws = []
        for cfg, g in zip(configs, gens, strict=True):  # once per layer per network, at the start
            a = cfg.init_range if cfg.init == "uniform" else math.sqrt(6.0 / (fan_in + fan_out))
            ws.append(torch.rand((fan_in, fan_out), generator=g[0], device=device) * (2 * a) - a)
        weights.append(torch.stack(ws))
        biases.append(torch.zeros(len(configs), 1, fan_out, device=device))
    return weights, biases


def _check_configs(configs: list[TrainConfig]) -> None:
    first = configs[0].structure()
    for i, c in enumerate(configs[1:], 1):
        diff = {k for k, v in c.structure().items() if first[k] != v}
        if diff:
            raise ValueError(
                f"the networks of one ensemble must share {sorted(first)}; network {i} differs in "
                f"{sorted(diff)} (train them in separate calls, or use sweep())"
            )


_CAPTURE_LOCK = threading.Lock()


def _use_graphs(cuda_graphs: bool | None, device: torch.device, trainer: _Trainer) -> bool:
    """Whether to replay epochs as CUDA graphs: ``None`` = on CUDA when the epoch's random draws (kept in
    fixed buffers for the graph) fit in 1 GiB; ``True`` insists (error if impossible); ``False`` = eager."""
    if cuda_graphs not in (None, True, False):
        raise ValueError(f"cuda_graphs must be None (auto), True or False; got {cuda_graphs!r}")
    if cuda_graphs is False:
        return False
    if device.type != "cuda":
        if cuda_graphs:
            raise ValueError(f"cuda_graphs=True needs a CUDA device; the ensemble is on {device.type}")
        return False
    t = trainer
    per_draw = int(t.use_dropout) + int(t.use_noise)
    n_bytes = 4 * per_draw * t.R * t._n_chunks() * t.chunk_steps * t.cfg.batch_size * sum(t.cfg.hidden)
    if n_bytes > 2**30:
        if cuda_graphs:
            raise ValueError(
                f"cuda_graphs=True: one epoch's dropout/noise draws need {n_bytes / 2**30:.1f} GiB of fixed "
                "buffers (limit 1 GiB); use cuda_graphs=None or False, or fewer networks per ensemble"
            )
        return False
    return True


class _Trainer:
    """The batched training loop (manual forward/backward, masked optimiser updates)."""

    def __init__(
        self, data, configs: list[TrainConfig], device: torch.device, cuda_graphs: bool | None = None
    ):
        self.cfg = configs[0]
        self.configs = configs
        self.R = len(configs)
        self.dev = device
        self.data = _Data(data, self.R, device)
        d = self.data
        if self.cfg.stop == "val_loss" and "val" not in d.sets:
            raise ValueError(
                "stop='val_loss' needs a validation set (Dataset X_val/y_val, or n_val_per_class)"
            )
        self.sizes = [d.D, *self.cfg.hidden, d.targets.shape[-1]]
        if self.cfg.softmax and self.cfg.loss_fn == "bce" and self.sizes[-1] < 2:
            raise ValueError("softmax needs at least two outputs")
        self.gens = [_generators(c.seed, device) for c in configs]
        w, b = _init_weights(configs, self.sizes, self.gens, device)
        self.ens = Ensemble(w, b, self.cfg.activation, self.cfg.softmax)
        self.params = [*w, *b]
        self.opt_state = [torch.zeros_like(p) for p in self.params]  # momentum buffer or Adam m
        self.opt_state2 = [torch.zeros_like(p) for p in self.params] if self.cfg.optimizer == "adam" else []
        self.adam_t = torch.zeros(self.R, device=device)
        f32 = torch.float32
        self.lr = _per_network(configs, "lr", device, f32)
        self.momentum = _per_network(configs, "momentum", device, f32)
        self.p_drop = _per_network(configs, "dropout", device, f32)
        self.noise_std = _per_network(configs, "noise_std", device, f32)
        self.noise_mean = _per_network(configs, "noise_mean", device, f32) * (self.noise_std > 0)
        self.max_epochs = np.array([c.epochs for c in configs])
        big = np.iinfo(np.int64).max
        self.max_steps_np = np.array([big if c.max_steps is None else c.max_steps for c in configs])
        self.max_steps = torch.as_tensor(self.max_steps_np, device=device)
        self.use_dropout = bool((self.p_drop > 0).any())
        self.use_momentum = bool((self.momentum > 0).any())
        self.use_noise = bool((self.noise_std > 0).any())
        self._has_draws = self.use_dropout or self.use_noise
        # random draws in fixed chunks of steps, so a network's stream never depends on the ensemble's size
        self.chunk_steps = max(1, 256 // self.cfg.batch_size)
        # per-network state
        self.active = np.ones(self.R, dtype=bool)
        self.step = 0
        self.steps_done = np.zeros(self.R, dtype=np.int64)
        self.epoch = 0
        self.best_val = np.full(self.R, np.inf)
        self.wait = np.zeros(self.R, dtype=np.int64)
        self.epochs_to_acc = np.full(self.R, np.nan)
        self.reason = np.array([""] * self.R, dtype=object)
        self.rows: list[dict] = []
        self.wall = 0.0
        # an epoch reads only these buffers (refilled before it), so on CUDA it can be captured once as a
        # graph and replayed: one launch per epoch instead of ~24 per step (the small networks' bottleneck)
        self.n_steps = math.ceil(d.N / self.cfg.batch_size)
        self._perms = torch.zeros(self.R, d.N, dtype=torch.int64, device=device)
        self._active_t = torch.zeros(self.R, device=device)
        self._step_t = torch.zeros((), dtype=torch.int64, device=device)
        self._graph = None
        self._warm = False  # CUDA graphs: an eager epoch on a side stream comes first (also after a resume)
        self._graph_draws: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []
        self.graphs = _use_graphs(cuda_graphs, device, self)

    # -- one step ------------------------------------------------------------------------------------------
    def _draws(self, n_rows: int):
        masks, noises = [], []
        R = self.R
        for h in self.cfg.hidden:
            if self.use_dropout:
                u = torch.stack([torch.rand((n_rows, h), generator=g[2], device=self.dev) for g in self.gens])
                keep = self.p_drop[:, None, None]
                masks.append((u >= keep).to(torch.float32) / (1 - keep))
            if self.use_noise:
                e = torch.stack(
                    [torch.randn((n_rows, h), generator=g[3], device=self.dev) for g in self.gens]
                )
                noises.append(self.noise_mean.view(R, 1, 1) + self.noise_std.view(R, 1, 1) * e)
        return masks, noises

    def _step(self, idx: torch.Tensor, masks, noises, act: torch.Tensor) -> None:
        """One SGD/Adam step of each network on its batch ``idx`` (R, b); ``act`` (R,): 1 update, 0 frozen."""
        d, cfg, ens = self.data, self.cfg, self.ens
        n_h = len(cfg.hidden)
        b = idx.shape[1]
        h = d.batch(d.X, idx)
        t = d.target_rows(d.batch(d.y, idx))
        inputs, acts_, drops = [h], [], []
        for l in range(n_h):
            a = _act(torch.baddbmm(ens.biases[l], h, ens.weights[l]), cfg.activation)
            acts_.append(a)
            h = a
            if noises:
                h = h + noises[l][:, :b]
            if masks:
                m = masks[l][:, :b]
                drops.append(m)
                h = h * m
            inputs.append(h)
        z = torch.baddbmm(ens.biases[-1], h, ens.weights[-1])
        p = _out(z, cfg.softmax)
        loss = cfg.loss_fn
        n_out = p.shape[-1]
        if not cfg.softmax and loss == "bce":
            dz = (p - t) / (b * n_out)
        elif cfg.softmax and loss == "ce":
            dz = (p - t) / b
        elif loss == "ce":  # sigmoid outputs, categorical cross-entropy
            dz = -t * (1 - p) / b
        else:  # softmax outputs, binary cross-entropy (Keras allows it): chain through the softmax Jacobian
            pc = p.clamp(1e-7, 1 - 1e-7)
            g = (pc - t) / (pc * (1 - pc)) / (b * n_out)
            dz = p * (g - (g * p).sum(-1, keepdim=True))
        # plain SGD: fold each network's lr (0 when frozen) into dz; baddbmm_ then updates W in place,
        # so the weight gradients are never materialised (the largest memory traffic of a step)
        # (the backward pass is linear in dz, so scaling it once scales every layer's gradient)
        fused = cfg.optimizer == "sgd" and not self.use_momentum
        if fused:
            dz = dz * (self.lr * act).view(self.R, 1, 1)
        grads_w, grads_b = [None] * (n_h + 1), [None] * (n_h + 1)
        for l in range(n_h, -1, -1):
            dh = torch.bmm(dz, ens.weights[l].transpose(1, 2)) if l > 0 else None  # before W[l] changes
            if fused:
                ens.weights[l].baddbmm_(inputs[l].transpose(1, 2), dz, alpha=-1.0)
                ens.biases[l].sub_(dz.sum(1, keepdim=True))
            else:
                grads_w[l] = torch.bmm(inputs[l].transpose(1, 2), dz)
                grads_b[l] = dz.sum(1, keepdim=True)
            if l == 0:
                break
            if drops:
                dh = dh * drops[l - 1]
            a = acts_[l - 1]
            if cfg.activation == "sigmoid":
                dz = torch.ops.aten.sigmoid_backward(dh, a)  # dh * a * (1 - a) in one kernel
            else:
                dz = torch.ops.aten.threshold_backward(dh, a, 0)  # dh * (a > 0)
        if not fused:
            self._update([*grads_w, *grads_b], act)

    def _update(self, grads: list[torch.Tensor], act: torch.Tensor) -> None:
        R = self.R
        lr = (self.lr * act).view(R, 1, 1)
        a = act.view(R, 1, 1)
        if self.cfg.optimizer == "sgd":
            mom = self.momentum.view(R, 1, 1)
            use_mom = self.use_momentum
            for p, g, buf in zip(self.params, grads, self.opt_state, strict=True):
                if use_mom:  # torch.optim.SGD: buf = momentum * buf + g; frozen networks keep their buffer
                    buf.mul_(mom * a + (1 - a)).add_(g * a)
                    p.sub_(lr * buf)
                else:
                    p.sub_(lr * g)
            return
        b1, b2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam defaults
        self.adam_t += act
        t = self.adam_t.clamp(min=1).view(R, 1, 1)
        bc1 = 1 - b1**t
        bc2 = 1 - b2**t
        for p, g, m, v in zip(self.params, grads, self.opt_state, self.opt_state2, strict=True):
            m.mul_(1 - (1 - b1) * a).add_(g * ((1 - b1) * a))
            v.mul_(1 - (1 - b2) * a).add_(g * g * ((1 - b2) * a))
            p.sub_(lr / bc1 * m / (v.sqrt() / bc2.sqrt() + eps))

    # -- one epoch -----------------------------------------------------------------------------------------
    def _n_chunks(self) -> int:
        return math.ceil(self.n_steps / self.chunk_steps)

    def _prepare_epoch(self) -> None:
        """This epoch's data order and the state the steps read, written into the epoch's fixed buffers."""
        d = self.data
        perms = torch.stack([torch.randperm(d.N, generator=g[1], device=self.dev) for g in self.gens])
        self._perms.copy_(perms)
        self._active_t.copy_(torch.as_tensor(self.active, device=self.dev))
        self._step_t.fill_(self.step)

    def _epoch_body(self, chunk_draws: Callable[[int], tuple[list, list]]) -> None:
        """The epoch's steps, reading only fixed buffers and ``chunk_draws(c)`` (dropout masks and noise for
        chunk ``c`` of ``chunk_steps`` steps): no host synchronisation, so it can be captured as a CUDA graph."""
        B = self.cfg.batch_size
        masks, noises = [], []
        for s in range(self.n_steps):
            c, k = divmod(s, self.chunk_steps)
            if k == 0 and self._has_draws:
                masks, noises = chunk_draws(c)
            idx = self._perms[:, s * B : (s + 1) * B]
            b = idx.shape[1]
            act = self._active_t * (self._step_t < self.max_steps)
            mk = [m[:, k * B : k * B + b] for m in masks]
            nz = [n[:, k * B : k * B + b] for n in noises]
            self._step(idx, mk, nz, act)
            self._step_t += 1

    def _predraw(self) -> list[tuple[list[torch.Tensor], list[torch.Tensor]]]:
        """All of an epoch's dropout masks and noise, chunk by chunk (each stream in the order eager draws it)."""
        rows = self.chunk_steps * self.cfg.batch_size
        return [self._draws(rows) for _ in range(self._n_chunks())] if self._has_draws else []

    def _end_epoch(self) -> None:
        self.step += self.n_steps
        self.steps_done[self.active] = np.minimum(self.step, self.max_steps_np[self.active])
        self.epoch += 1

    def _epoch(self) -> None:
        self._prepare_epoch()
        rows = self.chunk_steps * self.cfg.batch_size
        if self._graph is not None:
            for (masks, noises), (new_m, new_n) in zip(self._graph_draws, self._predraw(), strict=True):
                for dst, src in zip(masks + noises, new_m + new_n, strict=True):
                    dst.copy_(src)
            self._graph.replay()
        elif self.graphs and self._warm:
            self._capture_and_run()
        elif self.graphs:  # CUDA graphs need a warm-up run on a side stream (cuBLAS workspaces etc.)
            side = torch.cuda.Stream(self.dev)
            side.wait_stream(torch.cuda.current_stream(self.dev))
            with torch.cuda.stream(side):
                self._epoch_body(lambda c: self._draws(rows))
            torch.cuda.current_stream(self.dev).wait_stream(side)
            self._warm = True
        else:
            self._epoch_body(lambda c: self._draws(rows))
        self._end_epoch()

    def _capture_and_run(self) -> None:
        """Capture one epoch as a CUDA graph and run it; on failure warn and stay eager for the run."""
        import warnings

        draws = self._predraw()
        graph = torch.cuda.CUDAGraph()
        try:
            # one capture at a time (torch.cuda.graph synchronises the device and empties the cache on entry);
            # thread-local capture lets ensembles on other threads keep launching meanwhile (sweep(concurrent=))
            with _CAPTURE_LOCK, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._epoch_body(lambda c: draws[c])  # records only: nothing runs until replay()
        except RuntimeError as err:
            warnings.warn(
                f"CUDA graph capture failed ({err}); training this ensemble without graphs", stacklevel=2
            )
            self.graphs = False
            self._epoch_body(lambda c: draws[c])
            return
        self._graph, self._graph_draws = graph, draws
        graph.replay()

    # -- measuring -----------------------------------------------------------------------------------------
    @torch.no_grad()
    def _evaluate(self, which: str, nets: np.ndarray, local_codes: bool) -> dict[str, np.ndarray]:
        """Loss and accuracies of networks ``nets`` on a whole set (and local codes on the training set)."""
        d, cfg = self.data, self.cfg
        X, y = (d.X, d.y) if which == "train" else d.sets[which]
        n = X.shape[-2]
        r = len(nets)
        sel = torch.as_tensor(nets, device=self.dev)
        ws = [w[sel] for w in self.ens.weights]
        bs = [b[sel] for b in self.ens.biases]
        loss = torch.zeros(r, device=self.dev)
        ok_cls = torch.zeros(r, device=self.dev)
        ok_pm = torch.zeros(r, device=self.dev)
        C = d.n_lc_classes
        if local_codes:
            stats = [
                (
                    torch.full((r, C, h), torch.inf, device=self.dev),
                    torch.full((r, C, h), -torch.inf, device=self.dev),
                )
                for h in cfg.hidden
            ]
            counts = torch.zeros(r, C, device=self.dev)
        rows = max(1, 2**24 // max(1, r * max(self.sizes)))
        for start in range(0, n, rows):
            sl = slice(start, min(n, start + rows))
            h, ys = d.rows(X, y, sl, sel)
            hidden = []
            for w, b in zip(ws[:-1], bs[:-1], strict=True):
                h = _act(torch.baddbmm(b, h, w), cfg.activation)
                hidden.append(h)
            p = _out(torch.baddbmm(bs[-1], h, ws[-1]), cfg.softmax)
            t = d.targets_for(ys, sel)
            loss += _loss_per_example(p, t, cfg.loss_fn).sum(1)
            cls, pm = _outcome(p, t)
            ok_cls += cls.sum(1)
            ok_pm += pm.sum(1)
            if local_codes:
                lab = d.rows(X, d.lc, sl, sel)[1]
                use = cls if cfg.lc_examples == "correct" else torch.ones_like(cls)
                counts.scatter_add_(1, lab, use.to(torch.float32))
                for (mn, mx), a in zip(stats, hidden, strict=True):
                    index = lab[:, :, None].expand_as(a)
                    u = use[:, :, None]
                    mn.scatter_reduce_(1, index, torch.where(u, a, torch.inf), reduce="amin")
                    mx.scatter_reduce_(1, index, torch.where(u, a, -torch.inf), reduce="amax")
        out = {
            f"{which}_loss": (loss / n).cpu().numpy(),
            f"{which}_acc": (ok_cls / n).cpu().numpy(),
            f"{which}_pm": (ok_pm / n).cpu().numpy(),
        }
        if local_codes:
            out["n_correct"] = counts.sum(1).cpu().numpy().astype(np.int64)
            total = None
            for i, (mn, mx) in enumerate(stats, 1):
                lc = count_local_codes(mn, mx, counts)
                part = {
                    k: lc[k].cpu().numpy().astype(np.int64)
                    for k in ("pairs", "pairs_on", "pairs_off", "units", "units_on", "units_off", "classes")
                }
                for k, v in part.items():
                    out[f"lc_{k}_h{i}"] = v
                total = part if total is None else {k: total[k] + v for k, v in part.items()}
            key = {
                "pairs": "lc_pairs",
                "pairs_on": "lc_on",
                "pairs_off": "lc_off",
                "units": "lc_units",
                "units_on": "lc_units_on",
                "units_off": "lc_units_off",
                "classes": "lc_classes",
            }
            for k, v in total.items():
                out[key[k]] = v
        return out

    def _measure(self, nets: np.ndarray, final: np.ndarray) -> None:
        if len(nets) == 0:
            return
        m = self._evaluate("train", nets, local_codes=True)
        for name in self.data.sets:
            m.update(self._evaluate(name, nets, local_codes=False))
        for i, r in enumerate(nets):
            acc = m["train_acc"][i]
            if np.isnan(self.epochs_to_acc[r]) and acc >= self.configs[r].acc_target:
                self.epochs_to_acc[r] = self.epoch
            row = {
                "network": int(r),
                "seed": self.configs[r].seed,
                "epoch": self.epoch,
                "step": int(self.steps_done[r]),
                "final": bool(final[i]),
                "stop_reason": self.reason[r] if final[i] else "",
                "wall_s": self.wall,
            }
            row.update({k: v[i].item() for k, v in m.items()})
            row["epochs_to_acc"] = self.epochs_to_acc[r]
            self.rows.append(row)

    def _finish_epoch(self) -> np.ndarray:
        """Stopping rules after an epoch: returns the networks that stop now (their reason is set)."""
        nets = np.flatnonzero(self.active)
        stop = np.zeros(self.R, dtype=bool)
        cfg = self.cfg
        every = cfg.check_acc_every
        if every and self.epoch % every == 0:
            acc = self._evaluate("train", nets, local_codes=False)["train_acc"]
            for r, a in zip(nets, acc, strict=True):
                if a >= self.configs[r].acc_target:
                    if np.isnan(self.epochs_to_acc[r]):
                        self.epochs_to_acc[r] = self.epoch
                    if cfg.stop == "train_acc":
                        stop[r], self.reason[r] = True, "train_acc"
        if cfg.stop == "val_loss":
            vl = self._evaluate("val", nets, local_codes=False)["val_loss"]
            for r, v in zip(nets, vl, strict=True):
                if v < self.best_val[r] - self.configs[r].min_delta:
                    self.best_val[r], self.wait[r] = v, 0
                else:
                    self.wait[r] += 1
                    if self.wait[r] >= max(self.configs[r].patience, 1) and not stop[r]:
                        stop[r], self.reason[r] = True, "val_loss"
        max_steps = self.max_steps_np
        for r in nets:
            if not stop[r] and (self.epoch >= self.max_epochs[r] or self.steps_done[r] >= max_steps[r]):
                stop[r], self.reason[r] = True, "budget"
        return stop

    # -- state (resume a long run) -------------------------------------------------------------------------
    def state(self) -> dict:
        keys = (
            "step",
            "steps_done",
            "epoch",
            "best_val",
            "wait",
            "epochs_to_acc",
            "reason",
            "active",
            "rows",
            "wall",
        )
        return {
            "params": [p.cpu() for p in self.params],
            "opt": [s.cpu() for s in self.opt_state],
            "opt2": [s.cpu() for s in self.opt_state2],
            "adam_t": self.adam_t.cpu(),
            "gens": [[g.get_state() for g in gs] for gs in self.gens],
            "configs": [asdict(c) for c in self.configs],
            **{k: getattr(self, k) for k in keys},
        }

    def load(self, state: dict) -> None:
        if state["configs"] != [asdict(c) for c in self.configs]:
            raise ValueError("state file was written for other settings; delete it or use another state_path")
        for dst, src in zip(self.params, state["params"], strict=True):
            dst.copy_(src)
        for dst, src in zip(self.opt_state + self.opt_state2, state["opt"] + state["opt2"], strict=True):
            dst.copy_(src)
        self.adam_t.copy_(state["adam_t"])
        for gs, ss in zip(self.gens, state["gens"], strict=True):
            for g, s in zip(gs, ss, strict=True):
                g.set_state(s)
        for k in (
            "step",
            "steps_done",
            "epoch",
            "best_val",
            "wait",
            "epochs_to_acc",
            "reason",
            "active",
            "rows",
            "wall",
        ):
            setattr(self, k, state[k])

    def run(self, progress: bool, state_path: Path | None, save_every_s: float) -> None:
        from .store import progress_bar as tqdm

        if state_path is not None and Path(state_path).exists():
            self.load(torch.load(state_path, weights_only=False))
        cps = set(self.cfg.checkpoints)
        start = time.perf_counter() - self.wall
        last_save = time.perf_counter()
        if self.epoch == 0:
            first_stop = self.max_epochs <= 0
            self.reason[first_stop] = "budget"
            if 0 in cps or first_stop.any():
                nets = np.arange(self.R) if 0 in cps else np.flatnonzero(first_stop)
                self._measure(nets, first_stop[nets])
            self.active &= ~first_stop
        total = int(self.max_epochs.max())
        bar = tqdm(
            total=total,
            initial=self.epoch,
            disable=not progress,
            desc=f"{self.R} nets",
            leave=False,
            mininterval=1.0,
        )
        while self.active.any():
            was_active = self.active.copy()
            self._epoch()
            self.wall = time.perf_counter() - start
            stop = self._finish_epoch()
            measure = was_active & (stop | (self.epoch in cps))
            nets = np.flatnonzero(measure)
            self._measure(nets, stop[nets])
            self.active &= ~stop
            bar.update(1)
            if (
                state_path is not None
                and time.perf_counter() - last_save > save_every_s
                and self.active.any()
            ):
                with atomic_path(state_path) as tmp:
                    torch.save(self.state(), tmp)
                last_save = time.perf_counter()
        bar.close()
        self.wall = time.perf_counter() - start


def train(
    data: Dataset | Sequence[Dataset],
    configs: TrainConfig | Sequence[TrainConfig],
    n_networks: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    state_path: str | Path | None = None,
    save_every_s: float = 300.0,
    cuda_graphs: bool | None = None,
) -> TrainResult:
    """Train R networks as one batched ensemble and measure them at their checkpoints and when they stop.

    ``configs``: one :class:`TrainConfig` per network, or one config and ``n_networks`` (the networks then get
    seeds ``seed, seed+1, …``). The networks must share the architecture and training algorithm (see
    ``TrainConfig.structure``); dropout, noise, lr, budgets, patience and seed may differ. ``data``: one
    Dataset for all networks or one per network (same shapes). ``state_path``: save the whole training state
    there every ``save_every_s`` seconds and resume from it if it exists (for runs of hours); it is deleted
    when the run completes. ``cuda_graphs``: on a CUDA device, each epoch after the first (a warm-up) runs as
    one captured CUDA graph (default ``None``: when its random draws fit in fixed buffers; ``False``: eager
    launches). The same seed gives the same networks either way, up to float rounding.
    """
    if isinstance(configs, TrainConfig):
        n = 1 if n_networks is None else n_networks
        if n < 1:
            raise ValueError(f"n_networks must be >= 1; got {n}")
        configs = [configs.with_(seed=configs.seed + i) for i in range(n)]
    else:
        configs = list(configs)
        if not configs:
            raise ValueError("configs is empty: give at least one TrainConfig")
        if n_networks is not None and n_networks != len(configs):
            raise ValueError(f"n_networks ({n_networks}) does not match the {len(configs)} configs given")
    _check_configs(configs)
    dev = pick_device(None if device is None else str(device))
    trainer = _Trainer(data, configs, dev, cuda_graphs)
    state_path = None if state_path is None else Path(state_path)
    trainer.run(progress, state_path, save_every_s)
    if state_path is not None and state_path.exists():
        state_path.unlink()
    history = pd.DataFrame(trainer.rows)
    history = history.sort_values(["network", "epoch", "final"], kind="stable").reset_index(drop=True)
    return TrainResult(trainer.ens, history, configs, trainer.wall, device_name(dev))


@torch.no_grad()
def network_activations(
    ensemble: Ensemble,
    data: Dataset,
    network: int = 0,
    layer: int = 0,
    correct_only: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One network's hidden activations (n, U) on the training set, and the labels local codes use.

    ``correct_only``: keep only the examples the network classifies correctly (the paper's and
    ``TrainResult.history``'s local codes). Feed the result to ``selectivity.local_codes(acts, labels)`` and
    ``charts.jitterplot(acts, labels, units=...)``.
    """
    if not 0 <= network < ensemble.n_networks:
        raise ValueError(f"network must be in 0..{ensemble.n_networks - 1}; got {network}")
    net = ensemble.member(network)
    acts = net.hidden(data.X, layer)[0]
    labels = data.y if data.lc_labels is None else data.lc_labels
    if correct_only:
        p = net.forward(data.X)[0]
        t = torch.as_tensor(data.targets[data.y], device=p.device)
        keep = ((p - t).abs().amax(-1) < 0.5).cpu().numpy()
        return acts.cpu().numpy()[keep], labels[keep]
    return acts.cpu().numpy(), labels


# ------------------------------------------------------------------------------------- the plain loop
def train_plain(
    data: Dataset,
    config: TrainConfig,
    device: str | torch.device | None = None,
    loader: str = "index",
) -> torch.nn.Module:
    """One network trained the way the paper did it: a plain PyTorch loop (nn.Linear layers, autograd,
    ``torch.optim``), shuffled mini-batches, for ``config.epochs`` epochs.

    ``loader="index"``: batches are slices of one permutation per epoch, drawn from the same stream as
    :func:`train`, so with no dropout and no noise this computes the same network as an ensemble member with
    the same seed (the equivalence test). ``loader="dataloader"``: the idiomatic ``DataLoader(TensorDataset,
    shuffle=True)`` loop (its sampler draws other permutations). Both are baselines of ``localcodes bench
    train``. Dropout, noise and early stopping are not implemented here (``ValueError``).
    """
    if config.dropout or config.noise_std or config.stop != "budget" or config.max_steps is not None:
        raise ValueError("train_plain supports the budget stop only, without dropout, noise or max_steps")
    if loader not in ("index", "dataloader"):
        raise ValueError(f"loader must be 'index' or 'dataloader'; got {loader!r}")
    dev = pick_device(None if device is None else str(device))
    gens = _generators(config.seed, dev)
    sizes = [data.X.shape[1], *config.hidden, data.targets.shape[1]]
    (w, b) = _init_weights([config], sizes, [gens], dev)
    layers: list[torch.nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        lin = torch.nn.Linear(fan_in, fan_out).to(dev)
        with torch.no_grad():
            lin.weight.copy_(w[i][0].T)
            lin.bias.copy_(b[i][0, 0])
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.Sigmoid() if config.activation == "sigmoid" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = (
        torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        if config.optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=config.lr)
    )
    X = torch.as_tensor(data.X, device=dev)
    T = torch.as_tensor(data.targets[data.y], device=dev)
    loss_fn = config.loss_fn

    def fit_batch(xb: torch.Tensor, tb: torch.Tensor) -> None:
        z = model(xb)
        if config.softmax and loss_fn == "ce":
            loss = F.cross_entropy(z, tb)
        elif config.softmax:
            loss = F.binary_cross_entropy(torch.softmax(z, -1), tb)
        elif loss_fn == "bce":
            loss = F.binary_cross_entropy(torch.sigmoid(z), tb)
        else:
            loss = -(tb * torch.sigmoid(z).clamp_min(1e-7).log()).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if loader == "dataloader":
        g = torch.Generator()
        g.manual_seed(_derive(config.seed, 101))
        batches = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(X, T), batch_size=config.batch_size, shuffle=True, generator=g
        )
        for _ in range(config.epochs):
            for xb, tb in batches:
                fit_batch(xb, tb)
        return model
    for _ in range(config.epochs):
        perm = torch.randperm(len(X), generator=gens[1], device=dev)
        for s in range(0, len(X), config.batch_size):
            idx = perm[s : s + config.batch_size]
            fit_batch(X[idx], T[idx])
    return model


# ------------------------------------------------------------------------------------------------- sweeps
def expand_grid(conditions: dict | Iterable[dict]) -> list[dict]:
    """``{"a": [1, 2], "b": [3]}`` → ``[{"a": 1, "b": 3}, {"a": 2, "b": 3}]``; a list of dicts is kept."""
    if isinstance(conditions, dict):
        keys = list(conditions)
        values = [v if isinstance(v, (list, tuple)) else [v] for v in conditions.values()]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]
    out = [dict(c) for c in conditions]
    if not out:
        raise ValueError("conditions is empty")
    return out


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _canonical(params: dict) -> str:
    return json.dumps({k: _jsonable(v) for k, v in sorted(params.items())}, sort_keys=True)


@dataclass(frozen=True)
class _Task:
    params: dict
    repeat: int
    seed: int

    @property
    def condition(self) -> str:
        return _canonical(self.params)


def _split(params: dict) -> tuple[dict, dict]:
    train_p = {k: v for k, v in params.items() if k in TRAIN_KEYS}
    data_p = {k: v for k, v in params.items() if k not in TRAIN_KEYS}
    return train_p, data_p


def _tasks(conditions, repeats: int, base: dict | None, repeat_start: int) -> list[_Task]:
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    tasks = []
    for cond in expand_grid(conditions):
        params = {**(base or {}), **cond}
        if "hidden" in params:
            h = params["hidden"]
            params["hidden"] = [int(h)] if isinstance(h, (int, np.integer)) else [int(x) for x in h]
        params.setdefault("seed", 0)
        TrainConfig.from_dict(_split(params)[0])  # validate early: bad settings fail before anything runs
        for r in range(repeat_start, repeat_start + repeats):
            tasks.append(_Task(params, r, int(params["seed"]) + r))
    return tasks


def _group_key(task: _Task) -> str:
    p = {k: v for k, v in task.params.items() if k not in PER_NETWORK}
    return _canonical(p)


def _chunks(tasks: list[_Task], max_networks: int | Callable[[_Task], int]) -> list[list[_Task]]:
    """Tasks grouped by ensemble structure, each group cut into ensembles of at most ``max_networks``."""
    groups: dict[str, list[_Task]] = {}
    for t in tasks:
        groups.setdefault(_group_key(t), []).append(t)
    out = []
    for members in groups.values():
        cap = max_networks(members[0]) if callable(max_networks) else max_networks
        for i in range(0, len(members), cap):
            out.append(members[i : i + cap])
    return out


def _run_chunk(
    tasks: list[_Task],
    data_fn: Callable[..., Dataset],
    device: str | None,
    progress: bool,
    state_path: str | None = None,
    cuda_graphs: bool | None = None,
) -> pd.DataFrame:
    """Train one ensemble (tasks that share a structure) and return its rows, with the parameters."""
    configs, datasets = [], []
    cache: dict[str, Dataset] = {}
    for t in tasks:
        train_p, data_p = _split(t.params)
        train_p["seed"] = t.seed
        configs.append(TrainConfig.from_dict(train_p))
        key = _canonical({**data_p, "_seed": t.seed})
        if key not in cache:
            cache[key] = data_fn(**data_p, seed=t.seed)
        datasets.append(cache[key])
    res = train(
        datasets, configs, device=device, progress=progress, state_path=state_path, cuda_graphs=cuda_graphs
    )
    h = res.history
    meta = []
    for t in tasks:
        row = {}
        for k, v in t.params.items():
            if k == "seed":
                continue
            row[k] = json.dumps(_jsonable(v)) if isinstance(v, (list, tuple, dict)) else v
        hidden = t.params.get("hidden", list(TrainConfig().hidden))
        row.update(
            width=int(hidden[0]), depth=len(hidden), repeat=t.repeat, data_seed=t.seed, condition=t.condition
        )
        meta.append(row)
    meta_df = pd.DataFrame(meta)
    out = pd.concat(
        [meta_df.iloc[h["network"].to_numpy()].reset_index(drop=True), h.reset_index(drop=True)], axis=1
    )
    out["ensemble_size"] = len(tasks)
    out["device"] = res.device
    out["ensemble_wall_s"] = res.wall_s
    out["git_commit"] = git_commit()
    out["created"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    return out


def _part_key(chunk: list[_Task]) -> str:
    text = "\n".join(sorted(f"{t.condition}|{t.repeat}" for t in chunk))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _auto_max_networks(task: _Task, device: torch.device, data_fn: Callable[..., Dataset]) -> int:
    """Networks per ensemble: enough to amortise per-step overhead, few enough to fit in memory.

    Builds the task's data once to know its real sizes; counts parameters with optimiser state, a copy of the
    data per network (worst case: each repeat has its own) and the activations of one evaluation chunk.
    """
    train_p, data_p = _split(task.params)
    data = data_fn(**data_p, seed=task.seed)
    hidden = list(TrainConfig.from_dict(train_p).hidden)
    sizes = [data.X.shape[1], *hidden, data.targets.shape[1]]
    n_params = sum(a * b for a, b in itertools.pairwise(sizes))
    n_rows = sum(len(x) for x in (data.X, data.X_test, data.X_val) if x is not None)
    per_net = 4 * (4 * n_params + n_rows * data.X.shape[1] + 2**24 // 8)
    budget = 8e9 if device.type == "cuda" else 1.5e9
    cap = 256 if device.type == "cuda" else 32
    return int(max(1, min(cap, budget // max(per_net, 1))))


#: ensembles trained at once by sweep() on a CUDA device (experiment 1 has six hidden sizes)
AUTO_CONCURRENT_CUDA = 6


def _own_stream(dev: torch.device):
    """A context that makes a new CUDA stream current (for concurrent ensembles); a no-op off CUDA."""
    import contextlib

    return torch.cuda.stream(torch.cuda.Stream(dev)) if dev.type == "cuda" else contextlib.nullcontext()


def sweep(
    conditions: dict | Iterable[dict],
    repeats: int = 1,
    store: ResultsStore | str | Path | None = None,
    *,
    base: dict | None = None,
    data_fn: Callable[..., Dataset] = code_data,
    repeat_start: int = 0,
    client=None,
    device: str | None = None,
    max_networks: int | None = None,
    progress: bool = True,
    state_dir: str | Path | None = None,
    cuda_graphs: bool | None = None,
    concurrent: int | None = None,
) -> pd.DataFrame:
    """Train every condition × repeat and return all rows (one per network per checkpoint).

    ``conditions``: a grid ``{"hidden": [[100], [500]], "n_per_class": [25, 50]}`` (every combination) or a
    list of dicts. ``base``: settings common to all (e.g. ``BOOK_DEFAULTS`` plus checkpoints). Keys that are
    :class:`TrainConfig` fields configure training; all others go to ``data_fn(**those, seed=...)`` (default
    :func:`code_data`; pass your own top-level function for other data, e.g. digits with hot pixels). Repeat
    ``r`` uses ``seed + r`` for the network and its data (so conditions are paired by repeat). ``data_fn`` is
    called once per (data settings, seed) and ensemble: cache an expensive loader (``functools.lru_cache``).
    Identical datasets are shared by the networks of an ensemble, different ones are stacked per network.

    Networks whose conditions differ only in per-network settings (dropout, noise, lr, budgets, seed) train in
    one ensemble of at most ``max_networks`` (default: from a memory estimate). Each finished ensemble is
    written to ``store`` (a :class:`ResultsStore` or folder) as one Parquet part; on a rerun, (condition,
    repeat) pairs already stored are skipped. ``client``: a ``dask.distributed.Client`` (or scheduler
    address) to run the ensembles on its workers; results come back and are written here. ``state_dir``:
    in-process only, keep each running ensemble's state there (resume inside very long ensembles).
    ``cuda_graphs``: see :func:`train`. ``concurrent``: in-process, train this many ensembles at once in
    threads, each on a CUDA stream of its own: on a GPU, small ensembles that cannot fill it alone (launch-
    bound) then overlap, e.g. experiment 1's six hidden sizes. Default ``None``: 6 on a CUDA device, else 1
    (on a CPU threads only split the cores). The numbers do not depend on it.
    """
    if concurrent is not None and (isinstance(concurrent, bool) or not isinstance(concurrent, int) or concurrent < 1):
        raise ValueError(f"concurrent must be None (auto) or an integer >= 1; got {concurrent!r}")
    if concurrent is not None and concurrent > 1 and client is not None:
        raise ValueError("concurrent > 1 runs ensembles in this process; it cannot be combined with client")
    tasks = _tasks(conditions, repeats, base, repeat_start)
    if store is not None and not isinstance(store, ResultsStore):
        store = ResultsStore(store)
    done = store.done_keys() if store is not None else set()
    todo = [t for t in tasks if (t.condition, t.repeat) not in done]
    dev = pick_device(device)
    if concurrent is None:
        concurrent = AUTO_CONCURRENT_CUDA if dev.type == "cuda" and client is None else 1
    from .store import progress_bar as tqdm

    frames = []
    if todo:
        chunks = _chunks(todo, max_networks or (lambda t: _auto_max_networks(t, dev, data_fn)))
        bar = tqdm(total=len(todo), disable=not progress, desc="networks", unit="net")

        def keep(chunk, frame):
            if store is not None:
                store.write_part(_part_key(chunk), frame)
            frames.append(frame)
            bar.update(len(chunk))

        def run(chunk):
            sp = None if state_dir is None else str(Path(state_dir) / f"{_part_key(chunk)}.pt")
            with _own_stream(dev):
                return _run_chunk(chunk, data_fn, device, False, sp, cuda_graphs)

        if client is None and concurrent == 1:
            for chunk in chunks:
                keep(chunk, run(chunk))
        elif client is None:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(concurrent) as pool:
                futures = {pool.submit(run, chunk): chunk for chunk in chunks}
                errors = []
                for fut in as_completed(futures):  # written here, one part at a time, as each finishes
                    if fut.exception() is not None:
                        errors.append(fut.exception())  # keep the others' results before raising
                        continue
                    keep(futures[fut], fut.result())
            if errors:
                raise errors[0]
        else:
            from distributed import Client, as_completed

            if isinstance(client, str):
                client = Client(client)
            futures = {
                client.submit(_run_chunk, chunk, data_fn, device, False, None, cuda_graphs, pure=False): i
                for i, chunk in enumerate(chunks)
            }
            for fut in as_completed(futures):
                keep(chunks[futures[fut]], fut.result())
        bar.close()
    if store is not None:
        everything = store.read()
        if everything.empty:
            return everything
        wanted = {(t.condition, t.repeat) for t in tasks}
        mask = [(c, r) in wanted for c, r in zip(everything["condition"], everything["repeat"], strict=True)]
        return everything[mask].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------------------- run times
def estimate_runtime(
    conditions: dict | Iterable[dict],
    repeats: int = 1,
    *,
    base: dict | None = None,
    data_fn: Callable[..., Dataset] = code_data,
    device: str | None = None,
    max_networks: int | None = None,
    probe_epochs: int = 3,
) -> pd.DataFrame:
    """Estimate a sweep's run time on this device: time a short probe of every ensemble shape, extrapolate.

    For each group of conditions that share an ensemble, one ensemble of the chunk size trains
    ``probe_epochs`` epochs (after one warm-up epoch) and is measured once; the estimate is
    chunks × (epochs × seconds per epoch + checkpoints × seconds per measurement). Early stopping makes the
    real run shorter (the estimate is an upper bound for it). Returns one row per group (``networks, chunks,
    epochs, s_per_epoch, s_per_measure, est_s``); ``df.est_s.sum()`` is the total.
    """
    tasks = _tasks(conditions, repeats, base, 0)
    dev = pick_device(device)
    groups: dict[str, list[_Task]] = {}
    for t in tasks:
        groups.setdefault(_group_key(t), []).append(t)
    rows = []
    for key, members in groups.items():
        cap = max_networks or _auto_max_networks(members[0], dev, data_fn)
        size = min(cap, len(members))
        n_chunks = math.ceil(len(members) / cap)
        train_p, data_p = _split(members[0].params)
        cfg = TrainConfig.from_dict(
            {**train_p, "stop": "budget", "max_steps": None, "checkpoints": (), "acc_every": 0}
        )
        data = data_fn(**data_p, seed=members[0].seed)
        trainer = _Trainer(data, [cfg.with_(seed=i) for i in range(size)], dev)
        trainer._epoch()
        t0 = time.perf_counter()
        for _ in range(probe_epochs):
            trainer._epoch()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        per_epoch = (time.perf_counter() - t0) / probe_epochs
        t0 = time.perf_counter()
        trainer._measure(np.arange(size), np.zeros(size, dtype=bool))
        per_measure = time.perf_counter() - t0
        epochs = max(int(t.params.get("epochs", TrainConfig().epochs)) for t in members)
        n_cp = len(train_p.get("checkpoints", ())) + 1
        extra = 1.0 if TrainConfig.from_dict(train_p).check_acc_every else 0.0  # an accuracy check per epoch
        est = n_chunks * (epochs * per_epoch * (1 + extra * 0.3) + n_cp * per_measure)
        rows.append(
            dict(
                group=key,
                networks=len(members),
                ensemble_size=size,
                chunks=n_chunks,
                epochs=epochs,
                s_per_epoch=per_epoch,
                s_per_measure=per_measure,
                est_s=est,
            )
        )
    return pd.DataFrame(rows)


def kernels_per_step(n_weight_layers: int) -> int:
    """Operations (device kernels) one plain-SGD training step of the ensemble dispatches: 10 for the batch,
    the stopping mask, the output error and the step counter, and 7 per weight layer (checked by a test that
    counts the step's dispatched operations)."""
    return 10 + 7 * n_weight_layers


def project_runtime(
    hidden: Sequence[int],
    n_examples: int = 500,
    input_length: int = 500,
    output_length: int = 50,
    epochs: int = 45_000,
    networks: int = 10,
    batch_size: int = 32,
    flops_per_s: float = 2.0e13,
    launch_s: float = 1e-5,
    kernels: int | None = None,
    cuda_graphs: bool = False,
    graph_kernel_s: float = 2.5e-6,
) -> dict:
    """Analytic run time of training ``networks`` MLPs as one ensemble on a device we cannot measure.

    Every optimiser step runs ``kernels`` operations (default :func:`kernels_per_step`) and
    6 x networks x batch x sum(fan_in x fan_out) FLOPs (forward 2, backward 4) at ``flops_per_s``.
    Eager (``cuda_graphs=False``): each operation costs ``launch_s`` of host time (kernel launch plus PyTorch's
    dispatch) and the GPU computes while the host launches, so a step takes the larger of the two.
    With CUDA graphs an epoch is one launch, but its kernels still run one after another on the GPU, each
    taking at least ``graph_kernel_s`` (launch latency plus a small kernel's ramp): a step takes
    kernels x graph_kernel_s + FLOPs / flops_per_s (no overlap assumed, so this errs long), and each epoch adds
    ``networks + 4`` eager launches (permutations, buffer refills, the replay).
    The defaults are assumptions for one H100 in float32 (a third of its ~60 TFLOP/s for these skinny batched
    matmuls; ~10 us per eager operation; 2.5 us per graph kernel); calibrate them with
    ``localcodes bench train --device cuda`` when a GPU is at hand. Measurements at checkpoints are not
    included. Returns the steps, FLOPs and seconds.
    """
    sizes = [input_length, *hidden, output_length]
    n_layers = len(sizes) - 1
    k = kernels if kernels is not None else kernels_per_step(n_layers)
    steps_per_epoch = math.ceil(n_examples / batch_size)
    steps = steps_per_epoch * epochs
    flops_step = 6 * networks * batch_size * sum(a * b for a, b in itertools.pairwise(sizes))
    if cuda_graphs:
        t_step = k * graph_kernel_s + flops_step / flops_per_s
        t_epoch = steps_per_epoch * t_step + (networks + 4) * launch_s
    else:
        t_step = max(k * launch_s, flops_step / flops_per_s)
        t_epoch = steps_per_epoch * t_step
    seconds = t_epoch * epochs
    return dict(
        steps=steps,
        flops=flops_step * steps,
        s_per_step=t_epoch / steps_per_epoch,
        seconds=seconds,
        minutes=seconds / 60,
        hours=seconds / 3600,
    )


def project_concurrent(hiddens: Sequence[Sequence[int]], flops_per_s: float = 2.0e13, **kw) -> dict:
    """Analytic run time of several ensembles trained at once on one GPU with CUDA graphs (``sweep(concurrent=)``).

    They share the GPU's arithmetic and their kernel floors overlap, so the run takes at least their total
    FLOPs at ``flops_per_s`` and at least the longest ensemble alone: the larger of the two, an optimistic
    bound (perfect overlap). ``kw`` as :func:`project_runtime`."""
    each = [project_runtime(list(h), flops_per_s=flops_per_s, cuda_graphs=True, **kw) for h in hiddens]
    arithmetic = sum(e["flops"] for e in each) / flops_per_s
    longest = max(e["seconds"] for e in each)
    seconds = max(arithmetic, longest)
    return dict(arithmetic_s=arithmetic, longest_s=longest, seconds=seconds, minutes=seconds / 60)


# ---------------------------------------------------------------------------------------------- benchmark
def _bench(
    n_networks: int,
    input_length: int,
    hidden: list[int],
    output_length: int,
    batch_size: int,
    n_examples: int,
    epochs: int,
    device: str | None,
    plain_networks: int,
    rounds: int = 1,
    cuda_graphs: bool | None = None,
) -> dict:
    """Network-epochs/s of the ensemble and the plain loops, measured in ``rounds`` interleaved rounds.

    Each round times ``epochs`` ensemble epochs, then ``plain_networks`` networks x ``epochs`` epochs of each
    plain loop, so a slow spell on a shared machine hits both sides of a round's ratio; the reported rates and
    ratios are medians over rounds (with the rounds' range).
    """
    rng = np.random.default_rng(0)
    n_classes = 10
    X = (rng.random((n_examples, input_length)) < 0.4).astype(np.float32)
    y = np.arange(n_examples) % n_classes
    targets = codes.output_code(n_classes, "distributed", output_length, seed=0)
    data = Dataset(X, y, targets)
    cfg = TrainConfig(hidden=tuple(hidden), batch_size=batch_size, epochs=epochs)
    dev = pick_device(device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    trainer = _Trainer(data, [cfg.with_(seed=i) for i in range(n_networks)], dev, cuda_graphs)
    for _ in range(3 if trainer.graphs else 1):  # warm-up (with graphs: warm-up, capture, first replay)
        trainer._epoch()
    loaders = ("dataloader", "index") if plain_networks >= 1 else ()
    for loader in loaders:
        train_plain(data, cfg.with_(epochs=1), device=dev, loader=loader)  # warm-up
    ens_rates, rates = [], {loader: [] for loader in loaders}
    ens_s = 0.0
    for _ in range(rounds):
        sync()
        t0 = time.perf_counter()
        for _ in range(epochs):
            trainer._epoch()
        sync()
        dt = time.perf_counter() - t0
        ens_s += dt
        ens_rates.append(n_networks * epochs / dt)
        for loader in loaders:
            sync()
            t0 = time.perf_counter()
            for i in range(plain_networks):
                train_plain(data, cfg.with_(seed=i), device=dev, loader=loader)
            sync()
            rates[loader].append(plain_networks * epochs / (time.perf_counter() - t0))
    ens = np.array(ens_rates)
    plain = np.array(rates.get("dataloader", [math.nan] * rounds))
    lean = np.array(rates.get("index", [math.nan] * rounds))
    ratio, ratio_lean = ens / plain, ens / lean
    return dict(
        device=device_name(dev),
        threads=torch.get_num_threads(),
        cuda_graphs=trainer.graphs,
        networks=n_networks,
        input=input_length,
        hidden=hidden,
        output=output_length,
        batch=batch_size,
        examples=n_examples,
        epochs=epochs,
        rounds=rounds,
        ensemble_s=ens_s,
        ensemble_net_epochs_per_s=float(np.median(ens)),
        plain_net_epochs_per_s=float(np.median(plain)),
        lean_net_epochs_per_s=float(np.median(lean)),
        ratio=float(np.median(ratio)),
        ratio_range=[float(ratio.min()), float(ratio.max())],
        ratio_lean=float(np.median(ratio_lean)),
        ratio_lean_range=[float(ratio_lean.min()), float(ratio_lean.max())],
    )


EXPERIMENT1_WIDTHS = (100, 250, 500, 1000, 2000, 5000)


def _bench_exp1(
    epochs: int,
    widths: Sequence[int],
    repeats: int,
    device: str | None,
    concurrent: int,
    cuda_graphs: bool | None,
) -> list[dict]:
    """Experiment 1's sweep at the paper's settings (standard code, 500 examples, SGD lr 0.01, batch 32) for
    ``epochs`` and ``2 x epochs`` epochs, one ensemble after another and ``concurrent`` at a time; the
    difference of the two runs is the cost of ``epochs`` epochs without the fixed costs (data, warm-up,
    capture, final measurement), which gives the 45,000-epoch projection (NaN when the longer run was not
    the slower one: too few epochs for the machine's noise)."""
    conds = {"hidden": [[w] for w in widths]}
    # untimed warm-up: first-call costs (imports, CUDA context, cuBLAS handles) must not land in one run only
    sweep(conds, 1, base=dict(PAPER_DEFAULTS, epochs=1), device=device, progress=False, cuda_graphs=cuda_graphs)
    rows = []
    for conc in sorted({1, concurrent}):
        walls = []
        for e in (epochs, 2 * epochs):
            base = dict(PAPER_DEFAULTS, epochs=e, checkpoints=())
            t0 = time.perf_counter()
            sweep(
                conds,
                repeats,
                base=base,
                device=device,
                progress=False,
                max_networks=repeats,
                cuda_graphs=cuda_graphs,
                concurrent=conc,
            )
            walls.append(time.perf_counter() - t0)
        # runs too short for the machine's noise can come out longer the first time: then no projection
        per_epoch = (walls[1] - walls[0]) / epochs if walls[1] > walls[0] else math.nan
        fixed = max(walls[0] - per_epoch * epochs, 0.0)
        rows.append(
            dict(
                concurrent=conc,
                widths=list(widths),
                repeats=repeats,
                epochs=epochs,
                wall_s=walls[0],
                wall_2x_s=walls[1],
                s_per_epoch=per_epoch,
                projected_45000_min=(fixed + per_epoch * 45_000) / 60,
            )
        )
    return rows


def bench_main(argv: list[str]) -> None:
    """``localcodes bench train``: network-epochs/s of the batched ensemble vs a plain per-network loop."""
    import argparse

    p = argparse.ArgumentParser(prog="localcodes bench train", description=bench_main.__doc__)
    p.add_argument("--networks", type=int, default=10)
    p.add_argument("--input", type=int, default=500)
    p.add_argument("--hidden", type=int, nargs="+", default=[250])
    p.add_argument("--output", type=int, default=50)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--epochs", type=int, default=5, help="epochs per round (default 5)")
    p.add_argument("--rounds", type=int, default=8, help="interleaved measuring rounds (default 8)")
    p.add_argument(
        "--plain-networks", type=int, default=2, help="networks per round for each plain loop (default 2)"
    )
    p.add_argument("--device", default=None, help="cpu, cuda, auto (default auto)")
    p.add_argument(
        "--graphs",
        choices=("auto", "on", "off"),
        default="auto",
        help="replay epochs as CUDA graphs (auto: on a CUDA device)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument(
        "--project",
        action="store_true",
        help="also project experiment 1 at paper scale (45,000 epochs) from the measured rate",
    )
    p.add_argument(
        "--exp1",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="also run experiment 1's sweep (paper settings, --networks repeats of each of --exp1-widths) for "
        "EPOCHS and 2 x EPOCHS epochs, in sequence and --concurrent at a time, and project 45,000 epochs",
    )
    p.add_argument("--exp1-widths", type=int, nargs="+", default=list(EXPERIMENT1_WIDTHS))
    p.add_argument("--concurrent", type=int, default=len(EXPERIMENT1_WIDTHS), help="for --exp1 (default 6)")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    for name in ("networks", "input", "output", "batch", "examples", "epochs", "rounds", "concurrent"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1; got {getattr(args, name)}")
    if args.plain_networks < 0:
        raise ValueError(f"--plain-networks must be >= 0; got {args.plain_networks}")
    if args.exp1 < 0:
        raise ValueError(f"--exp1 must be >= 0 epochs; got {args.exp1}")
    if min(args.exp1_widths) < 1:
        raise ValueError(f"--exp1-widths must be hidden sizes >= 1; got {args.exp1_widths}")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1; got {args.threads}")
        torch.set_num_threads(args.threads)
    graphs = {"auto": None, "on": True, "off": False}[args.graphs]
    r = _bench(
        args.networks,
        args.input,
        args.hidden,
        args.output,
        args.batch,
        args.examples,
        args.epochs,
        args.device,
        args.plain_networks,
        args.rounds,
        graphs,
    )
    lo, hi = r["ratio_range"]
    lo2, hi2 = r["ratio_lean_range"]
    print(f"device: {r['device']} ({r['threads']} threads, CUDA graphs {'on' if r['cuda_graphs'] else 'off'})")
    print(
        f"shapes: {args.networks} networks, {args.input}-{'-'.join(map(str, args.hidden))}-{args.output}, "
        f"batch {args.batch}, {args.examples} examples; {args.rounds} rounds of {args.epochs} epochs "
        "(medians over rounds)"
    )
    print(f"ensemble                       : {r['ensemble_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"plain loop (DataLoader)        : {r['plain_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"plain loop (lean index slices) : {r['lean_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"ratio vs DataLoader loop       : {r['ratio']:10.2f}x  (rounds: {lo:.2f}-{hi:.2f}x)")
    print(f"ratio vs lean loop             : {r['ratio_lean']:10.2f}x  (rounds: {lo2:.2f}-{hi2:.2f}x)")
    if args.project:
        rows = []
        for h in EXPERIMENT1_WIDTHS:
            rr = _bench(args.networks, 500, [h], 50, 32, 500, args.epochs, args.device, 0, 1, graphs)
            secs = 45_000 * args.networks / rr["ensemble_net_epochs_per_s"]
            rows.append(
                dict(
                    hidden=h,
                    measured_net_epochs_per_s=rr["ensemble_net_epochs_per_s"],
                    here_min=secs / 60,
                    h100_eager_model_min=project_runtime([h], networks=args.networks)["minutes"],
                    h100_graphs_model_min=project_runtime([h], networks=args.networks, cuda_graphs=True)[
                        "minutes"
                    ],
                )
            )
        proj = pd.DataFrame(rows)
        print(
            f"\nexperiment 1 at paper scale, {args.networks} networks x 45,000 epochs per hidden size, in minutes "
            "(here: from the rate measured on this device; h100_*_model: project_runtime's assumptions):"
        )
        print(proj.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        totals = proj[["here_min", "h100_eager_model_min", "h100_graphs_model_min"]].sum()
        print("all six sizes one after another: " + ", ".join(f"{k} {v:.3g}" for k, v in totals.items()))
        together = project_concurrent([[h] for h in EXPERIMENT1_WIDTHS], networks=args.networks)
        print(
            f"all six at once on one H100 (graphs, own streams; optimistic bound: perfect overlap): "
            f"{together['minutes']:.3g} min (arithmetic alone {together['arithmetic_s'] / 60:.3g}, "
            f"longest size alone {together['longest_s'] / 60:.3g})"
        )
        r["projection"] = proj.to_dict(orient="records")
        r["projection_total_min"] = totals.to_dict()
        r["projection_concurrent_min"] = together["minutes"]
    if args.exp1:
        exp1 = _bench_exp1(args.exp1, args.exp1_widths, args.networks, args.device, args.concurrent, graphs)
        print(
            f"\nexperiment 1's sweep ({args.networks} repeats x widths {args.exp1_widths}), measured for "
            f"{args.exp1} and {2 * args.exp1} epochs; 45,000 epochs projected from the difference:"
        )
        print(pd.DataFrame(exp1).drop(columns="widths").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        r["exp1"] = exp1
    if args.json:
        from .store import write_json

        write_json(args.json, r)
