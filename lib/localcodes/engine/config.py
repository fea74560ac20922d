"""Settings of one network (:class:`TrainConfig`), the paper's and the book's defaults, and checkpoint epochs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "STOPS",
    "INITS",
    "LC_EXAMPLES",
    "PAPER_DEFAULTS",
    "BOOK_DEFAULTS",
    "BOOK_EPOCH_SCALE",
    "PER_NETWORK",
    "TRAIN_KEYS",
    "TrainConfig",
    "log_checkpoints",
]

ACTIVATIONS = ("sigmoid", "relu")
LOSSES = ("auto", "bce", "ce")
OPTIMIZERS = ("sgd", "adam")
STOPS = ("budget", "val_loss", "train_acc")
INITS = ("uniform", "glorot")
LC_EXAMPLES = ("correct", "all")

#: The authors' Keras settings (from their published code): sigmoid hidden and output units, BCE, SGD with
#: lr 0.01, batch 32 (shuffled every epoch), weights U(-0.05, 0.05), 45,000 epochs. On a 2-core CPU one
#: 500-unit network takes about half a minute per 1,000 epochs, i.e. ~20 minutes for one network — paper scale
#: is for a GPU (see ``localcodes.bench.train.project_runtime``).
PAPER_DEFAULTS: dict = dict(optimizer="sgd", lr=0.01, batch_size=32, epochs=45_000)

#: Book-scale training: **plain SGD at lr 2.0 (200 x the paper's) for 225 epochs**, batch 32; everything else
#: as in the paper (sigmoid, BCE, U(-0.05, 0.05) init, no softmax). Why: with small steps SGD follows the
#: gradient flow, so what matters is roughly lr x epochs; 2.0 x 225 = 0.01 x 45,000 = 450, the paper's
#: training "time" in 1/200 of the epochs. Measured on the standard code (500 bits, 10 classes, 500
#: examples, 500 sigmoid units): lr 1.0 x 450 epochs and lr 2.0 x 225 epochs reach the same training loss
#: (0.00158) and similar local-code counts (7-16 per network), rising with training time as in experiment
#: 10; larger steps (lr 4.5) change the dynamics (almost only on-codes), and Adam (lr 1e-3) converges to
#: distributed solutions with 0-1 local codes. The emergence test in ``tests/engine/test_trainer.py`` guards that
#: these settings give local codes. Cost: ~10 ms per 500-unit network-epoch on one busy CPU core. To compare a
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

