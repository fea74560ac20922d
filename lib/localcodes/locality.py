"""The locality prior (README 004): a wiring cost for fully connected layers, and the experiment around it.

**The layer.** K units sit on a grid (a √K × √K sheet, or a line of K units). The prior ``P_ij = 1 / f(1 +
d_ij)`` — d the Euclidean distance between units i and j on the grid, f the identity (``linear``, the one the
README used), ``sqrt`` or ``square`` — *masks* the weights: ``y = (W ⊙ P) x + b``. (The README writes ``A = P
.* (Wx + b)``, which is not what its code does: the code multiplies the weights, and the bias is not masked.)
A signal sent over a long wire arrives weakened, so the same effective connection needs a larger W; weight
decay on W then makes long connections expensive. ``LocalityPrior(l1=λ)`` adds the optional L1 cost ``λ Σ|W ⊙
P|`` of the issue; note that, on the *effective* weights, it costs every connection the same. BatchNorm
follows the layer in both arms (control and LP), as in the README.

**The experiment.** SPEC.md's LeNet with an extra 49-unit layer (control: plain linear + BN; LP: locality
prior + BN), several seeds trained as *one* batched computation (``LeNetStack``: grouped convolutions and
stacked weights, one member per (arm, seed), exactly equivalent to training the members one by one); the same
head (fc → LP/fc → BN → fc) on the frozen convolutional features of the AlexNet-architecture network of
``localcodes.nets``. Analyses: per-class mean activation maps on the grid, their "2-D variance" ``Σ a·‖x −
centroid‖² / (1 − Σa²)`` (maps normalised to sum 1), paired t-tests and effect sizes, and the README's
proposal carried out: prune ``W ⊙ P`` after training and measure accuracy and total wiring length."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import optimize, stats
from torch import nn

from . import store

__all__ = [
    "DECAYS",
    "ARMS",
    "README",
    "grid_side",
    "grid_coords",
    "grid_distance",
    "grid_prior",
    "LocalityPrior",
    "wiring_penalty",
    "Head",
    "HeadStack",
    "LeNet",
    "LeNetStack",
    "train_stack",
    "evaluate_stack",
    "class_maps",
    "variance_2d",
    "permuted_variance",
    "clustering_table",
    "paired_clustering_tests",
    "image_level_test",
    "implied_df",
    "score_ranks",
    "prune_by_magnitude",
    "wiring_lengths",
    "pruning_curve",
    "equal_accuracy",
    "LPResult",
    "run_experiment",
    "prior_chart",
    "prior_matrix_chart",
    "class_map_chart",
    "pruning_chart",
    "bench_main",
]

# f in P = 1 / f(1 + d)
DECAYS = {"linear": lambda r: r, "sqrt": torch.sqrt, "square": torch.square}
# arm name → (decay of the prior or None for the control, L1 coefficient on W ⊙ P)
ARMS: dict[str, tuple[str | None, float]] = {
    "control": (None, 0.0),
    "linear": ("linear", 0.0),
    "sqrt": ("sqrt", 0.0),
    "square": ("square", 0.0),
    "linear+l1": ("linear", 1e-3),
}
NETWORKS = ("lenet", "alexnet")
OPTIMIZERS = ("sgd", "rmsprop")

# The README's reported numbers (LeNet on MNIST; AlexNet on ImageNet), for the chapter's comparison tables.
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


# --- the grid and the prior ---------------------------------------------------------------------------------


def _check_ndim(ndim: int) -> None:
    if ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 (a line of units) or 2 (a square sheet); got {ndim!r}")


def grid_side(features: int, ndim: int = 2) -> int:
    """The grid's side for ``features`` units: √features on a 2-D sheet (must be a square number), else
    features."""
    _check_ndim(ndim)
    if not isinstance(features, (int, np.integer)) or isinstance(features, bool) or features < 1:
        raise ValueError(f"features must be a positive integer; got {features!r}")
    if ndim == 1:
        return int(features)
    side = math.isqrt(int(features))
    if side * side != features:
        lo, hi = side * side, (side + 1) ** 2
        raise ValueError(
            f"features must be a square number to lie on a √K × √K grid (ndim=2); got {features} "
            f"(the nearest squares are {lo} = {side}² and {hi} = {side + 1}²), or use ndim=1 for a line"
        )
    return side


def grid_coords(side: int, ndim: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(side**ndim, ndim) positions of the units, row-major: unit k sits at (k // side, k % side) on a
    sheet."""
    _check_ndim(ndim)
    if not isinstance(side, (int, np.integer)) or isinstance(side, bool) or side < 1:
        raise ValueError(f"side must be a positive integer; got {side!r}")
    axis = torch.arange(side, dtype=dtype)
    if ndim == 1:
        return axis[:, None]
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1)


def grid_distance(side: int, ndim: int = 2, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(K, K) Euclidean distances between the units of a side × side sheet (ndim=2) or a line of side
    units."""
    xy = grid_coords(side, ndim, torch.float64)
    return torch.cdist(xy, xy).to(dtype)


def grid_prior(
    side: int, decay: str = "linear", ndim: int = 2, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The locality prior ``P_ij = 1 / f(1 + d_ij)`` on a grid: (side², side²) for a sheet, (side, side) for a
    line.

    ``decay`` picks f: ``linear`` (f(r) = r, the README's choice), ``sqrt`` or ``square``. P is symmetric, 1
    on the diagonal and in (0, 1] everywhere; it is not normalised (the README's code left normalisation out
    and put BatchNorm after the layer instead)."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {tuple(DECAYS)}; got {decay!r}")
    d = grid_distance(side, ndim, torch.float64)
    return (1.0 / DECAYS[decay](1.0 + d)).to(dtype)


class LocalityPrior(nn.Linear):
    """A K → K fully connected layer whose weights are masked by the locality prior: ``y = (W ⊙ P) x + b``.

    ``features`` K must be a square number for the 2-D sheet (``ndim=2``, default); ``ndim=1`` puts the units
    on a line. W and b are initialised like ``nn.Linear``; P (buffer ``prior``) is fixed, so gradients reach
    only W and b. ``l1`` > 0 switches on the optional wiring cost ``l1 · Σ|W ⊙ P|`` (``penalty()``; training
    loops add ``wiring_penalty(model)`` to the loss)."""

    def __init__(
        self,
        features: int,
        decay: str = "linear",
        ndim: int = 2,
        bias: bool = True,
        l1: float = 0.0,
        device=None,
        dtype=None,
    ) -> None:
        side = grid_side(features, ndim)
        if decay not in DECAYS:
            raise ValueError(f"decay must be one of {tuple(DECAYS)}; got {decay!r}")
        if l1 < 0:
            raise ValueError(f"l1 must be >= 0; got {l1}")
        super().__init__(features, features, bias=bias, device=device, dtype=dtype)
        self.decay, self.ndim, self.side, self.l1 = decay, ndim, side, float(l1)
        factory = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.register_buffer("prior", grid_prior(side, decay, ndim).to(**factory))
        self.register_buffer("distance", grid_distance(side, ndim).to(**factory))

    @property
    def masked_weight(self) -> torch.Tensor:
        """The effective weights W ⊙ P (what the layer applies)."""
        return self.weight * self.prior

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight, self.bias)

    def wiring_cost(self) -> torch.Tensor:
        """Σ|W ⊙ P| (the L1 wiring cost, without its coefficient)."""
        return self.masked_weight.abs().sum()

    def wiring_length(self) -> torch.Tensor:
        """Σ|W ⊙ P|·d: the effective connection strengths times the lengths of their wires."""
        return (self.masked_weight.abs() * self.distance).sum()

    def penalty(self) -> torch.Tensor:
        """``l1 · Σ|W ⊙ P|`` (zero when l1 = 0)."""
        return self.l1 * self.wiring_cost()

    def extra_repr(self) -> str:
        grid = f"{self.side}x{self.side}" if self.ndim == 2 else f"line of {self.side}"
        has_bias = self.bias is not None
        return f"features={self.in_features}, grid={grid}, decay={self.decay}, l1={self.l1}, bias={has_bias}"


def wiring_penalty(model: nn.Module) -> torch.Tensor:
    """The sum of every ``LocalityPrior`` layer's (and stack's) L1 wiring penalty in ``model``."""
    total = None
    for m in model.modules():
        if isinstance(m, (LocalityPrior, _StackedLinear)) and hasattr(m, "penalty"):
            p = m.penalty()
            total = p if total is None else total + p
    if total is None:
        return torch.zeros(())
    return total


# --- the networks: single and stacked (one member per arm and seed) -----------------------------------------


class Head(nn.Module):
    """The classifier head of both experiments: Dropout → fc (in → K) → ReLU → Dropout → LP or Linear (K → K)
    → BatchNorm → ReLU → fc (K → classes). ``decay=None`` is the control arm (a plain linear layer)."""

    def __init__(
        self,
        in_features: int,
        hidden: int,
        n_classes: int,
        decay: str | None = "linear",
        dropout: float = 0.5,
        l1: float = 0.0,
    ) -> None:
        super().__init__()
        if decay is not None and decay not in DECAYS:
            raise ValueError(f"decay must be None (control) or one of {tuple(DECAYS)}; got {decay!r}")
        grid_side(hidden)  # the clustering measures need a square sheet in both arms
        if decay is None and l1:
            raise ValueError("l1 is a cost on W ⊙ P: it needs a locality prior (decay not None)")
        self.decay, self.dropout = decay, dropout
        self.drop1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(in_features, hidden)
        self.drop2 = nn.Dropout(dropout)
        self.lp = LocalityPrior(hidden, decay, l1=l1) if decay else nn.Linear(hidden, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        lp_in = F.relu(self.fc1(self.drop1(x)))
        lp_out = F.relu(self.bn(self.lp(self.drop2(lp_in))))
        logits = self.fc2(lp_out)
        return (logits, {"lp_in": lp_in, "lp_out": lp_out}) if return_activations else logits


class LeNet(nn.Module):
    """SPEC.md's LeNet with the extra layer: conv(1→10, k5) → pool → ReLU → conv(10→20, k5) → Dropout2d → pool
    → ReLU → ``Head(320, 49)`` (Dropout → Linear(320→49) → ReLU → Dropout → LP(49) or Linear → BN → ReLU →
    Linear(49→10)). Input: (B, in_channels, 28, 28)."""

    def __init__(
        self,
        decay: str | None = "linear",
        n_classes: int = 10,
        in_channels: int = 1,
        hidden: int = 49,
        dropout: float = 0.5,
        l1: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(dropout)
        self.head = Head(320, hidden, n_classes, decay, dropout, l1)

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        return self.head(x.flatten(1), return_activations)


class _StackedLinear(nn.Module):
    """M independent linear layers applied to (B, M, in) at once; ``mask`` (M, out, in) multiplies the weights
    (ones for plain linear members, P for locality-prior members); ``l1`` (M,) their wiring-cost
    coefficients."""

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        mask: torch.Tensor | None = None,
        l1: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())
        if mask is not None:
            self.register_buffer("mask", mask.detach().clone().to(weight.dtype))
            self.register_buffer(
                "l1", (l1 if l1 is not None else torch.zeros(weight.shape[0])).to(weight.dtype)
            )

    @property
    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask if hasattr(self, "mask") else self.weight

    def forward(self, h: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        w = self.masked_weight if weight is None else weight
        return torch.einsum("bmi,moi->bmo", h, w) + self.bias

    def penalty(self) -> torch.Tensor:
        if not hasattr(self, "mask"):
            return self.weight.new_zeros(())
        return (self.l1 * self.masked_weight.abs().sum(dim=(1, 2))).sum()


def _stack_linears(layers: Sequence[nn.Linear], masked: bool = False) -> _StackedLinear:
    weight = torch.stack([layer.weight.detach() for layer in layers])
    bias = torch.stack([layer.bias.detach() for layer in layers])
    if not masked:
        return _StackedLinear(weight, bias)
    mask = torch.stack(
        [
            layer.prior if isinstance(layer, LocalityPrior) else torch.ones_like(layer.weight)
            for layer in layers
        ]
    )
    l1 = torch.tensor([getattr(layer, "l1", 0.0) for layer in layers])
    return _StackedLinear(weight, bias, mask, l1)


def _copy_linear(dst: nn.Linear, stacked: _StackedLinear, i: int) -> None:
    dst.weight.data.copy_(stacked.weight.data[i])
    dst.bias.data.copy_(stacked.bias.data[i])


class HeadStack(nn.Module):
    """M ``Head``s (same sizes, any mix of arms) evaluated as one batched computation on (B, M, in) inputs.

    Equivalent to the members one by one: every member has its own weights, dropout masks, BatchNorm
    statistics and, with a summed loss, its own gradients. ``member(i)`` returns member i as a ``Head``."""

    def __init__(self, heads: Sequence[Head]) -> None:
        super().__init__()
        if not heads:
            raise ValueError("heads must hold at least one Head")
        h0 = heads[0]
        sizes = {(h.fc1.in_features, h.fc1.out_features, h.fc2.out_features, h.dropout) for h in heads}
        if len(sizes) != 1:
            raise ValueError(f"all heads must have the same sizes and dropout; got {sorted(sizes)}")
        self.in_features, self.hidden, self.n_classes = (
            h0.fc1.in_features,
            h0.fc1.out_features,
            h0.fc2.out_features,
        )
        self.dropout = h0.dropout
        self.decays = [h.decay for h in heads]
        self.l1s = [float(getattr(h.lp, "l1", 0.0)) for h in heads]
        self.side = grid_side(self.hidden)
        m, k = len(heads), self.hidden
        self.fc1 = _stack_linears([h.fc1 for h in heads])
        self.lp = _stack_linears([h.lp for h in heads], masked=True)
        self.fc2 = _stack_linears([h.fc2 for h in heads])
        self.bn = nn.BatchNorm1d(m * k)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(self.bn, name).copy_(torch.cat([getattr(h.bn, name) for h in heads]))
            self.bn.num_batches_tracked.copy_(h0.bn.num_batches_tracked)
        self.register_buffer("distance", grid_distance(self.side).to(torch.get_default_dtype()))

    @property
    def members(self) -> int:
        return len(self.decays)

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        b, m = x.shape[:2]
        lp_in = F.relu(self.fc1(F.dropout(x, self.dropout, self.training)))
        pre = self.lp(F.dropout(lp_in, self.dropout, self.training))
        lp_out = F.relu(self.bn(pre.reshape(b, m * self.hidden)).reshape(b, m, self.hidden))
        logits = self.fc2(lp_out)
        return (logits, {"lp_in": lp_in, "lp_out": lp_out}) if return_activations else logits

    def member(self, i: int) -> Head:
        """Member i as a standalone ``Head`` (weights and BatchNorm statistics copied)."""
        head = Head(self.in_features, self.hidden, self.n_classes, self.decays[i], self.dropout, self.l1s[i])
        head = head.to(self.fc1.weight.device)
        _copy_linear(head.fc1, self.fc1, i)
        _copy_linear(head.lp, self.lp, i)
        _copy_linear(head.fc2, self.fc2, i)
        sl = slice(i * self.hidden, (i + 1) * self.hidden)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(head.bn, name).copy_(getattr(self.bn, name)[sl])
            head.bn.num_batches_tracked.copy_(self.bn.num_batches_tracked)
        return head.train(self.training)


class LeNetStack(nn.Module):
    """M ``LeNet``s trained and evaluated as one computation: grouped convolutions + a ``HeadStack``.

    Input (B, M, in_channels, H, W): member m sees ``x[:, m]`` (its own images, so each seed has its own
    data order).
    """

    def __init__(self, nets: Sequence[LeNet]) -> None:
        super().__init__()
        if not nets:
            raise ValueError("nets must hold at least one LeNet")
        m = len(nets)
        self.in_channels = nets[0].conv1.in_channels
        self.conv1 = nn.Conv2d(m * self.in_channels, m * 10, kernel_size=5, groups=m)
        self.conv2 = nn.Conv2d(m * 10, m * 20, kernel_size=5, groups=m)
        with torch.no_grad():
            for name in ("conv1", "conv2"):
                getattr(self, name).weight.copy_(torch.cat([getattr(n, name).weight for n in nets]))
                getattr(self, name).bias.copy_(torch.cat([getattr(n, name).bias for n in nets]))
        self.dropout = nets[0].head.dropout
        self.head = HeadStack([n.head for n in nets])

    @property
    def members(self) -> int:
        return self.head.members

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """(B, M, C, H, W) images → (B, M, 320) features entering the head."""
        b, m = x.shape[:2]
        h = F.relu(F.max_pool2d(self.conv1(x.reshape(b, m * self.in_channels, *x.shape[-2:])), 2))
        h = F.relu(F.max_pool2d(F.dropout2d(self.conv2(h), self.dropout, self.training), 2))
        return h.reshape(b, m, -1)

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        return self.head(self.trunk(x), return_activations)

    def member(self, i: int) -> LeNet:
        """Member i as a standalone ``LeNet``."""
        net = LeNet(
            self.head.decays[i],
            self.head.n_classes,
            self.in_channels,
            self.head.hidden,
            self.dropout,
            self.head.l1s[i],
        ).to(self.conv1.weight.device)
        with torch.no_grad():
            for name, per in (("conv1", 10), ("conv2", 20)):
                sl = slice(i * per, (i + 1) * per)
                getattr(net, name).weight.copy_(getattr(self, name).weight[sl])
                getattr(net, name).bias.copy_(getattr(self, name).bias[sl])
        net.head = self.head.member(i)
        return net.train(self.training)


def _decay(value) -> str | None:
    return (
        None if value is None or value == "none" or (isinstance(value, float) and np.isnan(value)) else value
    )


def _seeded(seed: int, build):
    """``build()`` under a fixed torch seed, without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _members(arms: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    bad = [a for a in arms if a not in ARMS]
    if bad:
        raise ValueError(f"arms must be among {tuple(ARMS)}; got {bad}")
    if not arms or not seeds:
        raise ValueError("arms and seeds must not be empty")
    if len(set(arms)) != len(arms) or len(set(seeds)) != len(seeds):
        raise ValueError(f"arms and seeds must not repeat; got arms={list(arms)}, seeds={list(seeds)}")
    # the control's decay is written "none" (pandas would turn None into NaN)
    rows = [
        {"arm": a, "decay": ARMS[a][0] or "none", "l1": ARMS[a][1], "seed": int(s)}
        for a in arms
        for s in seeds
    ]
    out = pd.DataFrame(rows)
    out.index.name = "member"
    return out


# --- training and evaluation --------------------------------------------------------------------------------


def _epoch_order(n: int, seeds: Sequence[int], epoch: int, device: torch.device) -> torch.Tensor:
    """(M, n) data orders: member m's shuffle for this epoch depends only on its seed (arms of a seed share
    it)."""
    orders = [
        torch.randperm(n, generator=torch.Generator().manual_seed(int(s) * 100_003 + epoch)) for s in seeds
    ]
    return torch.stack(orders).to(device)


def train_stack(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    seeds: Sequence[int],
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 0.01,
    momentum: float = 0.5,
    weight_decay: float = 0.01,
    optimizer: str = "sgd",
    seed: int = 0,
    checkpoint: Path | None = None,
    progress: bool = True,
    desc: str = "training",
) -> list[dict]:
    """Train a stack (``LeNetStack`` or ``HeadStack``) in place: every member on its own shuffle of
    ``inputs``.

    ``inputs`` (N, …) and ``labels`` (N,) live on the model's device; ``seeds`` (one per member) fix each
    member's data order. The loss is the sum over members of their mean cross-entropy (plus their L1 wiring
    penalties), so each member gets exactly the gradient it would get alone; SGD's momentum and weight decay
    act elementwise. With ``checkpoint`` the state is saved atomically after every epoch and a rerun resumes
    from it. Returns one dict per epoch (mean training loss per member)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
    members = model.members
    if len(seeds) != members:
        raise ValueError(f"seeds must give one seed per member ({members}); got {len(seeds)}")
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1; got {epochs}, {batch_size}")
    device = next(model.parameters()).device
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    history: list[dict] = []
    start_epoch = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"], state["history"]
    n = inputs.shape[0]
    steps = -(-n // batch_size)
    from .store import progress_bar as tqdm

    bar = tqdm(total=(epochs - start_epoch) * steps, desc=desc, leave=False, disable=not progress)
    for epoch in range(start_epoch, epochs):
        model.train()
        order = _epoch_order(n, seeds, epoch, device)
        total = torch.zeros(members, device=device)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed * 7919 + epoch)  # dropout masks: reproducible and resumable per epoch
            for i in range(0, n, batch_size):
                idx = order[:, i : i + batch_size].T  # (B, M)
                logits = model(inputs[idx])
                ce = (
                    F.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]), labels[idx].reshape(-1), reduction="none"
                    )
                    .reshape(idx.shape)
                    .mean(0)
                )
                loss = ce.sum() + wiring_penalty(model).to(device)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += ce.detach() * idx.shape[0]
                bar.update(1)
        history.append({"epoch": epoch + 1, "train_loss": (total / n).cpu().tolist()})
        if checkpoint is not None:
            with store.atomic_path(checkpoint) as tmp:
                torch.save(
                    {
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "epoch": epoch + 1,
                        "history": history,
                    },
                    tmp,
                )
    bar.close()
    return history


@torch.no_grad()
def evaluate_stack(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 250
) -> dict:
    """Every member on the same ``inputs`` (eval mode): accuracy (M,), loss (M,), predictions (N, M) and the
    activations entering (``lp_in``) and leaving (``lp_out``, after BN and ReLU) the LP layer, (N, M, K)."""
    model.eval()
    m = model.members
    out: dict[str, list] = {"pred": [], "loss": [], "lp_in": [], "lp_out": []}
    for i in range(0, inputs.shape[0], batch_size):
        x = inputs[i : i + batch_size]
        x = x.unsqueeze(1).expand(x.shape[0], m, *x.shape[1:])
        logits, acts = model(x, return_activations=True)
        y = labels[i : i + batch_size]
        out["loss"].append(
            F.cross_entropy(logits.transpose(1, 2), y[:, None].expand(-1, m), reduction="none")
        )
        out["pred"].append(logits.argmax(-1))
        out["lp_in"].append(acts["lp_in"])
        out["lp_out"].append(acts["lp_out"])
    res = {k: torch.cat(v) for k, v in out.items()}
    res["accuracy"] = (res["pred"] == labels[:, None]).double().mean(0)
    res["loss"] = res["loss"].double().mean(0)
    return res


# --- clustering on the grid ---------------------------------------------------------------------------------


def class_maps(acts, labels, n_classes: int | None = None) -> torch.Tensor:
    """Per-class mean activation maps, each normalised to sum 1: acts (N, K) or (N, M, K) → (C, K) or (M, C,
    K).

    Activations must be non-negative (post-ReLU), so a map is a distribution over the grid. A class whose mean
    map is all zero gets NaNs.
    """
    a = torch.as_tensor(acts).to(torch.float64)
    y = torch.as_tensor(labels).long().to(a.device)
    if a.ndim not in (2, 3) or a.shape[0] != y.shape[0]:
        raise ValueError(
            f"acts must be (N, K) or (N, M, K) with N = len(labels); got {tuple(a.shape)} and {len(y)}"
        )
    if (a < 0).any():
        raise ValueError("acts must be non-negative (e.g. after ReLU): a map is normalised to a distribution")
    c = int(y.max()) + 1 if n_classes is None else n_classes
    onehot = F.one_hot(y, c).to(a.dtype)  # (N, C)
    means = torch.einsum("nc,nmk->mck", onehot, a if a.ndim == 3 else a[:, None]) / onehot.sum(0)[:, None]
    maps = means / means.sum(-1, keepdim=True)
    return maps if a.ndim == 3 else maps[0]


def variance_2d(maps, side: int) -> torch.Tensor:
    """The README's "2-D variance" of maps (…, K) on a side × side grid: Σ a·‖x − centroid‖² / (1 − Σa²).

    Each map is normalised to sum 1 first (a map that sums to 0 gives NaN). The denominator is the
    reliability-weights correction, so a uniform map on a 7 × 7 grid gives 8 · 49/48 and a map on one unit
    0/0.
    """
    a = torch.as_tensor(maps).to(torch.float64)
    k = side * side
    if a.shape[-1] != k:
        raise ValueError(f"maps must have side² = {k} values in the last dimension; got {a.shape[-1]}")
    a = a / a.sum(-1, keepdim=True)
    xy = grid_coords(side).to(a.device)
    centroid = a @ xy  # (…, 2)
    sq = ((xy - centroid[..., None, :]) ** 2).sum(-1)  # (…, K)
    return (a * sq).sum(-1) / (1.0 - (a * a).sum(-1))


def permuted_variance(maps, side: int, n_perm: int = 200, seed: int = 0) -> torch.Tensor:
    """The 2-D variance of the same maps with the units placed on the grid at random (mean over ``n_perm``
    placements): what a network with no topography scores. Same shape as ``variance_2d(maps, side)``."""
    a = torch.as_tensor(maps).to(torch.float64)
    g = torch.Generator().manual_seed(seed)
    perms = torch.stack([torch.randperm(side * side, generator=g) for _ in range(n_perm)])  # (P, K)
    shuffled = a[..., perms]  # (…, P, K)
    return variance_2d(shuffled, side).mean(-1)


def clustering_table(
    maps: dict[str, torch.Tensor],
    members: pd.DataFrame,
    side: int,
    class_names: Sequence[str] | None = None,
    n_perm: int = 200,
) -> pd.DataFrame:
    """Long table of 2-D variances: one row per (layer, member, class) with arm, seed, ``variance`` and the
    random-placement baseline ``variance_perm``. ``maps[layer]`` is (M, C, K) from ``class_maps``."""
    frames = []
    for layer, m in maps.items():
        var = variance_2d(m, side).cpu().numpy()  # (M, C)
        perm = permuted_variance(m, side, n_perm).cpu().numpy()
        mm, cc = np.meshgrid(np.arange(var.shape[0]), np.arange(var.shape[1]), indexing="ij")
        df = pd.DataFrame(
            {
                "layer": layer,
                "member": mm.ravel(),
                "cls": cc.ravel(),
                "variance": var.ravel(),
                "variance_perm": perm.ravel(),
            }
        )
        frames.append(df)
    out = pd.concat(frames, ignore_index=True).join(members[["arm", "seed"]], on="member")
    if class_names is not None:
        out["class_name"] = [class_names[c] for c in out["cls"]]
    return out


def paired_clustering_tests(
    table: pd.DataFrame, treatment: str = "linear", control: str = "control"
) -> pd.DataFrame:
    """LP vs control on the per-class 2-D variances, one row per layer.

    * ``t``, ``p``: paired t-test across classes (scipy.stats.ttest_rel) on the variances averaged over seeds
      (as the README, but with classes — not images — as the pairs);
    * ``d_z``: the effect size of that test, mean(difference) / sd(difference);
    * ``d_z_seed_mean``, ``d_z_seed_sd``: d_z computed per seed (LP seed s vs control seed s), mean and sd
      over seeds — the spread of the effect from one training run to the next; ``t_seed_neg``: seeds with t <
      0;
    * ``t_seeds``, ``p_seeds``: paired t-test across seeds of the class-averaged variance (seeds are the
      independent replicates)."""
    rows = []
    for layer, df in table.groupby("layer", sort=False):
        t_arm = df[df["arm"] == treatment].pivot_table(index="seed", columns="cls", values="variance")
        c_arm = df[df["arm"] == control].pivot_table(index="seed", columns="cls", values="variance")
        seeds = t_arm.index.intersection(c_arm.index)
        if len(seeds) == 0:
            raise ValueError(f"no seed was trained in both arms {treatment!r} and {control!r}")
        t_arm, c_arm = t_arm.loc[seeds], c_arm.loc[seeds]
        diff = (t_arm - c_arm).mean(axis=0)
        test = stats.ttest_rel(t_arm.mean(axis=0), c_arm.mean(axis=0))
        per_seed = t_arm - c_arm
        d_seed = per_seed.mean(axis=1) / per_seed.std(axis=1, ddof=1)
        t_seed = d_seed * np.sqrt(per_seed.shape[1])
        seed_test = stats.ttest_rel(t_arm.mean(axis=1), c_arm.mean(axis=1)) if len(seeds) > 1 else None
        rows.append(
            {
                "layer": layer,
                f"variance_{treatment}": float(t_arm.values.mean()),
                f"variance_{control}": float(c_arm.values.mean()),
                "variance_perm": float(df["variance_perm"].mean()),
                "t": float(test.statistic),
                "p": float(test.pvalue),
                "df": int(t_arm.shape[1] - 1),
                "d_z": float(diff.mean() / diff.std(ddof=1)),
                "d_z_seed_mean": float(d_seed.mean()),
                "d_z_seed_sd": float(d_seed.std(ddof=1)) if len(seeds) > 1 else np.nan,
                "t_seed_neg": f"{int((t_seed < 0).sum())}/{len(seeds)}",
                "t_seeds": float(seed_test.statistic) if seed_test else np.nan,
                "p_seeds": float(seed_test.pvalue) if seed_test else np.nan,
                "n_seeds": len(seeds),
            }
        )
    return pd.DataFrame(rows).set_index("layer")


def image_level_test(
    image_var: torch.Tensor | np.ndarray,
    members: pd.DataFrame,
    treatment: str = "linear",
    control: str = "control",
) -> pd.DataFrame:
    """The README-style test: per-image 2-D variances (N, M) paired by image between LP seed s and control
    seed s, one paired t-test per seed over the images (NaNs — all-zero maps — dropped). Its degrees of
    freedom count images, which are not independent replicates of the training: the p-values are far too
    small."""
    v = np.asarray(torch.as_tensor(image_var).cpu())
    rows = []
    for s in sorted(set(members["seed"])):
        ti = members.index[(members["arm"] == treatment) & (members["seed"] == s)]
        ci = members.index[(members["arm"] == control) & (members["seed"] == s)]
        if len(ti) == 0 or len(ci) == 0:
            continue
        a, b = v[:, ti[0]], v[:, ci[0]]
        ok = np.isfinite(a) & np.isfinite(b)
        test = stats.ttest_rel(a[ok], b[ok])
        rows.append(
            {
                "seed": s,
                f"variance_{treatment}": a[ok].mean(),
                f"variance_{control}": b[ok].mean(),
                "t": float(test.statistic),
                "p": float(test.pvalue),
                "df": int(ok.sum() - 1),
            }
        )
    return pd.DataFrame(rows).set_index("seed")


def implied_df(t: float, p: float) -> float:
    """Degrees of freedom at which a two-sided t-test with statistic ``t`` has p-value ``p`` (NaN if none)."""
    target = math.log(p)

    def gap(df: float) -> float:
        return math.log(2.0) + float(stats.t.logsf(abs(t), df)) - target

    lo, hi = 1.0, 1e7
    if gap(lo) * gap(hi) > 0:
        return float("nan")
    return float(optimize.brentq(gap, lo, hi))


# --- sparsifying W ⊙ P after training (the README's proposal) -----------------------------------------------


def score_ranks(scores: torch.Tensor) -> torch.Tensor:
    """Rank of every connection of (…, K, K) scores within its matrix, 0 for the largest (ties: the earlier
    position ranks first, on every device). ``ranks < n`` keeps the n largest; sort once, prune many times."""
    flat = scores.reshape(*scores.shape[:-2], -1)
    order = torch.sort(flat, dim=-1, descending=True, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(-1, order, torch.arange(flat.shape[-1], device=flat.device).expand_as(order))
    return ranks.reshape(scores.shape)


def prune_by_magnitude(scores: torch.Tensor, keep: float, ranks: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask (…, K, K) keeping the ``keep`` fraction of each matrix's connections with the largest
    scores (``round(keep · K²)`` of them, ties broken by position so the count is exact). Pass
    ``ranks=score_ranks(scores)`` to prune one matrix at many fractions without sorting again."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be a fraction in [0, 1]; got {keep}")
    ranks = score_ranks(scores) if ranks is None else ranks
    n = int(round(keep * scores.shape[-1] * scores.shape[-2]))
    return ranks < n


def wiring_lengths(
    weight_eff: torch.Tensor, mask: torch.Tensor, distance: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Wiring of the kept connections of (…, K, K) effective weights: count, total length Σ d (wires of unit
    cost per length), Σ|W|·d (strength × length), its share of the unpruned Σ|W|·d, and the strength-weighted
    mean length Σ|W|·d / Σ|W|. Self-connections (d = 0) are free."""
    w = weight_eff.abs() * mask
    wd = (w * distance).sum((-2, -1))
    full = (weight_eff.abs() * distance).sum((-2, -1))
    return {
        "n_kept": mask.sum((-2, -1)),
        "length": (mask * distance).sum((-2, -1)),
        "strength_length": wd,
        "strength_length_share": wd / full,
        "mean_length": wd / w.sum((-2, -1)).clamp_min(1e-30),
    }


@torch.no_grad()
def pruning_curve(
    head: HeadStack,
    h_test: torch.Tensor,
    y_test: torch.Tensor,
    h_calib: torch.Tensor,
    fractions: Sequence[float],
    members: pd.DataFrame,
    criteria: Sequence[str] = ("magnitude", "magnitude x prior"),
) -> pd.DataFrame:
    """Accuracy and wiring after pruning the LP/fc layer's effective weights W ⊙ P, per member and kept
    fraction.

    ``h_test``, ``h_calib`` (N, M, K): activations entering the layer (``lp_in``) for the test images and for
    training images used to re-estimate BatchNorm's statistics after pruning (``bn="recalibrated"``; the
    running statistics of the unpruned network are also evaluated, ``bn="running"``). Criteria: ``magnitude``
    keeps the largest |W ⊙ P| (|W| for the control); ``magnitude x prior`` keeps the largest |W ⊙ P| ·
    P_linear, a distance-aware rule that lets a control be pruned with the geometry it never trained with."""
    head.eval()
    w_eff = head.lp.masked_weight  # (M, K, K)
    dist = head.distance.to(w_eff)
    prior_lin = 1.0 / (1.0 + dist)
    eps = head.bn.eps
    gamma = head.bn.weight.reshape(head.members, -1)
    beta = head.bn.bias.reshape(head.members, -1)
    run_mean = head.bn.running_mean.reshape(head.members, -1)
    run_var = head.bn.running_var.reshape(head.members, -1)
    rows = []
    for criterion in criteria:
        if criterion not in ("magnitude", "magnitude x prior"):
            raise ValueError(f"criteria must be among ('magnitude', 'magnitude x prior'); got {criterion!r}")
        scores = w_eff.abs() * (prior_lin if criterion == "magnitude x prior" else 1.0)
        ranks = score_ranks(scores)
        for keep in fractions:
            mask = prune_by_magnitude(scores, keep, ranks)
            w = w_eff * mask
            wires = {k: v.cpu().numpy() for k, v in wiring_lengths(w_eff, mask, dist).items()}
            pre_cal = head.lp(h_calib, weight=w)
            stats_ = {
                "running": (run_mean, run_var),
                "recalibrated": (pre_cal.mean(0), pre_cal.var(0, unbiased=False)),
            }
            pre = head.lp(h_test, weight=w)
            for bn_name, (mu, var) in stats_.items():
                out = F.relu((pre - mu) / torch.sqrt(var + eps) * gamma + beta)
                acc = (head.fc2(out).argmax(-1) == y_test[:, None]).double().mean(0).cpu().numpy()
                for i in range(head.members):
                    rows.append(
                        {
                            "member": i,
                            "criterion": criterion,
                            "bn": bn_name,
                            "keep": float(keep),
                            "accuracy": float(acc[i]),
                            **{k: float(v[i]) for k, v in wires.items()},
                        }
                    )
    out = pd.DataFrame(rows).join(members[["arm", "seed"]], on="member")
    return out


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


# --- the experiment -----------------------------------------------------------------------------------------


@dataclass
class LPResult:
    """Everything the chapter shows for one network (LeNet or the AlexNet head).

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
        return clustering_table(self.maps, self.members, self.side, self.class_names, n_perm)


def _key(config: dict) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


@contextlib.contextmanager
def _quiet_fetch():
    """Silence pooch's "Downloading …" lines while ``load_digits`` tries (offline: fails) to download."""
    import logging

    import pooch

    logger = pooch.get_logger()  # pooch's own Logger object, not registered with logging.getLogger
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _lenet_data(n_train: int, n_test: int, data_seed: int, device: torch.device):
    from . import data

    with _quiet_fetch():
        tr, te = data.load_digits("train"), data.load_digits("test")
    n_cls = tr.n_classes
    tr = data.balanced_subset(tr, max(1, n_train // n_cls), seed=data_seed)
    te = data.balanced_subset(
        te, min(max(1, n_test // n_cls), int(np.bincount(te.labels).min())), seed=data_seed
    )

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
    from .nets import FASHION_CLASSES

    return list(FASHION_CLASSES) if dataset == "Fashion-MNIST" and n == 10 else [str(c) for c in range(n)]


def _alexnet_data(
    scale: str, n_train: int, n_test: int, data_seed: int, device: torch.device, progress: bool
):
    from . import nets

    with _quiet_fetch():
        model, info = nets.trained_alexnet(scale, device=device)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        with _quiet_fetch():
            imgs = nets.image_data(scale, split)
        labels = imgs.labels.numpy()
        per = min(max(1, n // len(imgs.class_names)), int(np.bincount(labels).min()))
        order = np.random.default_rng(data_seed).permutation(len(labels))
        by_class = order[np.argsort(labels[order], kind="stable")]
        starts = np.concatenate([[0], np.cumsum(np.bincount(labels))[:-1]])
        keep = np.sort(by_class[(starts[:, None] + np.arange(per)[None, :]).ravel()])
        sub = imgs.subset(torch.from_numpy(keep))
        feats = []
        with torch.no_grad():  # not around trained_alexnet: it may have to train the network first
            for x, _, _ in sub.batches(256):
                feats.append(torch.flatten(model.avgpool(model.features(x.to(device))), 1))
        out += [torch.cat(feats), sub.labels.to(device)]
    return (*out, list(info["classes"]), info["dataset"], info["source"], int(round(4096 * info["width"])))


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
    device=None,
    cache: bool = True,
    progress: bool = True,
    cached_only: bool = False,
) -> LPResult | None:
    """Train every (arm, seed) member of ``network`` as one stack, evaluate, and measure; cached and
    resumable.

    ``lenet``: SPEC.md's LeNet on ``data.load_digits`` (balanced subsets of ``n_train`` training and
    ``n_test`` test images); ``alexnet``: the head (fc6 → LP/fc7 → BN → fc8) retrained on the frozen
    convolutional features of ``nets.trained_alexnet(scale)``. Results go to
    ``results/<scale>/50_locality_prior/<network>-<key>/`` (a rerun with the same settings loads them; an
    interrupted run resumes from its last finished epoch). ``cached_only=True`` returns the cached result or
    None, computing nothing."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}; got {network!r}")
    members = _members(list(arms), list(seeds))
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
    }
    folder = store.results_dir(scale, "50_locality_prior") / f"{network}-{_key(config)}"
    bundle = folder / "result.pt"
    if cache and bundle.exists():
        return _load_result(folder)
    if cached_only:  # e.g. a book-scale chapter asking whether paper-scale results were computed
        return None

    t0 = time.perf_counter()
    if network == "lenet":
        xtr, ytr, xte, yte, names, dataset, source = _lenet_data(n_train, n_test, data_seed, dev)
        n_cls = len(names)
        nets = [
            _seeded(int(r.seed), lambda r=r: LeNet(_decay(r.decay), n_cls, xtr.shape[1], 49, 0.5, r.l1))
            for r in members.itertuples()
        ]
        model = LeNetStack(nets).to(dev)
    else:
        xtr, ytr, xte, yte, names, dataset, source, hidden = _alexnet_data(
            scale, n_train, n_test, data_seed, dev, progress
        )
        n_cls = len(names)
        heads = [
            _seeded(int(r.seed), lambda r=r: Head(xtr.shape[1], hidden, n_cls, _decay(r.decay), 0.5, r.l1))
            for r in members.itertuples()
        ]
        model = HeadStack(heads).to(dev)
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
    head = model.head if network == "lenet" else model
    side = head.side
    maps = {layer: class_maps(ev[layer], yte, n_cls).cpu() for layer in ("lp_in", "lp_out")}
    image_var = {layer: variance_2d(ev[layer], side).float().cpu() for layer in ("lp_in", "lp_out")}
    g = torch.Generator().manual_seed(data_seed)
    pick = torch.randperm(xtr.shape[0], generator=g)[: min(n_calib, xtr.shape[0])].to(dev)
    calib = evaluate_stack(model, xtr[pick], ytr[pick])["lp_in"]
    curve = pruning_curve(head, ev["lp_in"], yte, calib, prune_fractions, members)
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
        torch.save(
            {"maps": res.maps, "image_var": res.image_var, "labels": torch.from_numpy(res.labels)}, tmp
        )


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


# --- figures (altair; interactive through parameters bound to inputs, so they work in the static book) ------


def prior_chart(side: int = 7, decays: Sequence[str] = tuple(DECAYS), title: str | None = None):
    """Interactive heatmap of the prior: choose a neuron (slider) and a decay (dropdown), see its incoming
    prior ``P[neuron, :]`` on the grid. Keep side small (side⁴ · len(decays) rows of inline data)."""
    import altair as alt

    k = side * side
    rows = []
    for decay in decays:
        p = grid_prior(side, decay).numpy()
        nn_, kk = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        rows.append(pd.DataFrame({"d": decay, "n": nn_.ravel(), "k": kk.ravel(), "p": p.ravel().round(3)}))
    df = pd.concat(rows, ignore_index=True)
    centre = (side // 2) * side + side // 2
    neuron = alt.param(
        name="neuron", value=centre, bind=alt.binding_range(min=0, max=k - 1, step=1, name="neuron ")
    )
    decay = alt.param(
        name="decay", value=decays[0], bind=alt.binding_select(options=list(decays), name="decay ")
    )
    return (
        alt.Chart(df, title=title or f"incoming prior of one neuron on the {side}x{side} grid")
        .add_params(neuron, decay)
        .transform_filter((alt.datum.n == neuron) & (alt.datum.d == decay))
        .transform_calculate(
            row=f"floor(datum.k / {side})",
            col=f"datum.k % {side}",
            which="datum.k == datum.n ? 'the neuron' : ''",
        )
        .mark_rect()
        .encode(
            x=alt.X("col:O", title="grid column"),
            y=alt.Y("row:O", title="grid row"),
            color=alt.Color("p:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"), title="P"),
            tooltip=[
                alt.Tooltip("row:O"),
                alt.Tooltip("col:O"),
                alt.Tooltip("p:Q", title="P", format=".3f"),
                alt.Tooltip("which:N", title=" "),
            ],
        )
        .properties(width=260, height=260)
    )


def prior_matrix_chart(prior: torch.Tensor, title: str = "prior matrix P (row: to, column: from)"):
    """Static heatmap of a whole prior matrix (e.g. the README's 1-D example with 7 units)."""
    import altair as alt

    p = torch.as_tensor(prior).double().numpy()
    i, j = np.meshgrid(np.arange(p.shape[0]), np.arange(p.shape[1]), indexing="ij")
    df = pd.DataFrame({"to": i.ravel(), "from": j.ravel(), "prior": p.ravel().round(4)})
    return (
        alt.Chart(df, title=title)
        .mark_rect()
        .encode(
            x="from:O",
            y="to:O",
            color=alt.Color("prior:Q", scale=alt.Scale(domain=[0, 1])),
            tooltip=["to", "from", alt.Tooltip("prior:Q", format=".3f")],
        )
        .properties(width=200, height=200)
    )


def class_map_chart(
    res: LPResult,
    arms: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    block: int = 1,
    title: str | None = None,
):
    """Interactive per-class mean activation maps on the grid: pick a class and a seed; one panel per arm
    (rows) and per layer (columns: the LP layer's input and output). The colour is a unit's share of its
    class's map relative to a uniform map (1 = uniform). ``seeds`` and ``block`` (average block × block
    patches, for display only) keep the inline data small on large grids."""
    import altair as alt

    arms = list(arms or res.config["arms"])
    seeds = sorted(set(int(s) for s in (seeds if seeds is not None else res.members["seed"])))
    if block < 1 or res.side % block:
        raise ValueError(f"block must be a divisor of the grid side {res.side}; got {block}")
    side = res.side // block
    rows = []
    for layer, label in (("lp_in", "input"), ("lp_out", "output")):
        maps = res.maps[layer]  # (M, C, K)
        m_, c_ = maps.shape[:2]
        pooled = maps.reshape(m_, c_, side, block, side, block).mean((3, 5)).reshape(m_, c_, -1).numpy()
        for r in res.members.itertuples():
            if r.arm not in arms or int(r.seed) not in seeds:
                continue
            m = pooled[r.Index] * pooled.shape[-1]  # relative to a uniform map
            c, k = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
            rows.append(
                pd.DataFrame(
                    {
                        "l": label,
                        "a": r.arm,
                        "s": int(r.seed),
                        "c": c.ravel(),
                        "k": k.ravel(),
                        "v": m.ravel().round(2),
                    }
                )
            )
    df = pd.concat(rows, ignore_index=True)
    cls = alt.param(
        name="cls",
        value=0,
        bind=alt.binding_select(
            options=list(range(len(res.class_names))), labels=list(res.class_names), name="class "
        ),
    )
    seed = alt.param(name="seed", value=seeds[0], bind=alt.binding_select(options=seeds, name="seed "))
    size = max(6, 160 // side)
    heat = (
        alt.Chart(df)
        .add_params(cls, seed)
        .transform_filter((alt.datum.c == cls) & (alt.datum.s == seed))
        .transform_calculate(row=f"floor(datum.k / {side})", col=f"datum.k % {side}")
        .mark_rect()
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("v:Q", title="share / uniform", scale=alt.Scale(scheme="inferno")),
            tooltip=[
                alt.Tooltip("a:N", title="arm"),
                alt.Tooltip("l:N", title="layer"),
                alt.Tooltip("row:O"),
                alt.Tooltip("col:O"),
                alt.Tooltip("v:Q", title="share / uniform"),
            ],
        )
        .properties(width=size * side, height=size * side)
    )
    return heat.facet(
        row=alt.Row("a:N", sort=arms, title=None),
        column=alt.Column("l:N", sort=["input", "output"], title="LP/fc layer"),
        title=title or "mean activation map of the chosen class (1 = uniform share)",
    )


def pruning_chart(curve: pd.DataFrame, bn: str = "recalibrated", title: str | None = None):
    """Accuracy (left) and total wire length Σd of the kept connections (right) against the kept fraction,
    mean over seeds per arm and pruning criterion; a dropdown picks the criterion."""
    import altair as alt

    c = (
        curve[curve["bn"] == bn]
        .groupby(["criterion", "arm", "keep"], as_index=False)[
            ["accuracy", "length", "strength_length_share"]
        ]
        .mean()
    )
    crit = alt.param(
        name="criterion",
        value="magnitude",
        bind=alt.binding_select(options=sorted(c["criterion"].unique()), name="pruning rule "),
    )
    base = (
        alt.Chart(c)
        .add_params(crit)
        .transform_filter(alt.datum.criterion == crit)
        .encode(
            x=alt.X("keep:Q", scale=alt.Scale(type="log"), title="fraction of connections kept"),
            color="arm:N",
            tooltip=[
                "arm",
                "keep",
                alt.Tooltip("accuracy:Q", format=".3f"),
                alt.Tooltip("length:Q", format=".0f"),
            ],
        )
    )
    acc = (
        base.mark_line(point=True)
        .encode(y=alt.Y("accuracy:Q", title="test accuracy"))
        .properties(width=260, height=220)
    )
    wire = (
        base.mark_line(point=True)
        .encode(y=alt.Y("length:Q", title="total wire length Σd (grid units)"))
        .properties(width=260, height=220)
    )
    return alt.hconcat(acc, wire, title=title or "pruning W ⊙ P after training")


# --- benchmark: one stacked computation vs the same networks one by one -------------------------------------


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench locality``: training throughput of a LeNetStack of M members vs M LeNets in a
    loop."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="localcodes bench locality",
        description="stacked (one batched computation) vs per-network training of LeNets",
    )
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    dev = store.pick_device(args.device)
    x = torch.randn(args.batch_size, args.members, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (args.batch_size, args.members), device=dev)
    nets = [_seeded(i, lambda i=i: LeNet("linear" if i % 2 else None)) for i in range(args.members)]

    def timed(fn) -> float:
        fn()  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(args.steps):
            fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t) / args.steps

    stack = LeNetStack(nets).to(dev)
    opt = torch.optim.SGD(stack.parameters(), lr=0.01, momentum=0.5)

    def stacked():
        out = stack(x)
        loss = (
            F.cross_entropy(out.reshape(-1, 10), y.reshape(-1), reduction="none")
            .reshape(y.shape)
            .mean(0)
            .sum()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()

    singles = [n.to(dev).train() for n in nets]
    opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.5) for n in singles]

    def looped():
        for i, (n, o) in enumerate(zip(singles, opts, strict=True)):
            loss = F.cross_entropy(n(x[:, i]), y[:, i])
            o.zero_grad()
            loss.backward()
            o.step()

    ts, tl = timed(stacked), timed(looped)
    out = {
        "device": store.device_name(dev),
        "members": args.members,
        "batch_size": args.batch_size,
        "stacked_ms_per_step": round(ts * 1e3, 2),
        "looped_ms_per_step": round(tl * 1e3, 2),
        "speedup": round(tl / ts, 2),
        "stacked_images_per_s": round(args.batch_size * args.members / ts),
    }
    print(json.dumps(out, indent=2))
    return out
