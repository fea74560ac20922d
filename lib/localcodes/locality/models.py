"""The networks of the locality-prior experiments, single and stacked (one member per arm and seed).

``LeNet`` with an extra 49-unit layer and ``Head`` (the classifier head fc → LP/fc → BN → fc, also retrained
on the frozen convolutional features of an AlexNet-architecture network) exist once per network, and as stacks
(``LeNetStack``, ``HeadStack``) that train M members as one batched computation: grouped convolutions and
stacked weights, exactly equivalent to training the members one by one. BatchNorm follows the LP (or control
linear) layer in both arms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..nets import AlexNet, pool5_size
from .layer import DECAYS, LocalityPrior, StackedLinear, grid_distance, grid_side

__all__ = ["ARMS", "AlexNetLP", "AlexNetLPStack", "Head", "HeadStack", "LeNet", "LeNetStack", "arm_decay", "seeded",
           "members_table"]

# arm name → (decay of the prior or None for the control, L1 coefficient on W ⊙ P)
ARMS: dict[str, tuple[str | None, float]] = {
    "control": (None, 0.0),
    "linear": ("linear", 0.0),
    "sqrt": ("sqrt", 0.0),
    "square": ("square", 0.0),
    "linear+l1": ("linear", 1e-3),
}


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
    """The LeNet of PyTorch's MNIST example with an extra layer: conv(1→10, k5) → pool → ReLU → conv(10→20, k5)
    → Dropout2d → pool → ReLU → ``Head(320, 49)`` (Dropout → Linear(320→49) → ReLU → Dropout → LP(49) or
    Linear → BN → ReLU → Linear(49→10)). Input: (B, in_channels, 28, 28)."""

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


def _stack_linears(layers: Sequence[nn.Linear], masked: bool = False) -> StackedLinear:
    weight = torch.stack([layer.weight.detach() for layer in layers])
    bias = torch.stack([layer.bias.detach() for layer in layers])
    if not masked:
        return StackedLinear(weight, bias)
    mask = torch.stack(
        [
            layer.prior if isinstance(layer, LocalityPrior) else torch.ones_like(layer.weight)
            for layer in layers
        ]
    )
    l1 = torch.tensor([getattr(layer, "l1", 0.0) for layer in layers])
    return StackedLinear(weight, bias, mask, l1)


def _copy_linear(dst: nn.Linear, stacked: StackedLinear, i: int) -> None:
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


def _prepare(raw: torch.Tensor, norm: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, C, H, W) → float, resized to ``size`` (bilinear) and standardised with ``norm`` = (mean, std)."""
    x = raw.to(norm.dtype).div(255.0)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x - norm[0]) / norm[1]


class AlexNetLP(nn.Module):
    """An AlexNet-architecture network (``nets.AlexNet``'s convolutional layers at ``width``) whose classifier is
    the experiment's ``Head`` — Dropout → fc6 → ReLU → Dropout → LP or Linear (``hidden`` → ``hidden``) → BN →
    ReLU → fc8 — trained whole, from scratch. Input: uint8 images (B, 3, H, W), resized to ``input_size`` and
    standardised with ``mean``/``std`` inside the network (so a stack can index uint8 tensors)."""

    def __init__(
        self,
        decay: str | None = "linear",
        n_classes: int = 100,
        width: float = 0.25,
        hidden: int = 1024,
        pool_size: int = 2,
        input_size: int = 96,
        mean: float = 0.0,
        std: float = 1.0,
        dropout: float = 0.5,
        l1: float = 0.0,
    ) -> None:
        super().__init__()
        pool5_size(input_size)  # a clear error for inputs too small for AlexNet
        if not std > 0:
            raise ValueError(f"std must be > 0; got {std}")
        base = AlexNet(n_classes, 3, width, pool_size)
        self.width, self.pool_size, self.input_size = width, pool_size, input_size
        self.features = base.features
        c5 = self.features[10].out_channels
        self.head = Head(c5 * pool_size * pool_size, hidden, n_classes, decay, dropout, l1)
        self.register_buffer("norm", torch.tensor([mean, std], dtype=torch.get_default_dtype()))

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        h = F.adaptive_avg_pool2d(self.features(_prepare(x, self.norm, self.input_size)), self.pool_size)
        return self.head(torch.flatten(h, 1), return_activations)


class AlexNetLPStack(nn.Module):
    """M ``AlexNetLP``s as one computation: every convolution grouped by member, then a ``HeadStack``. Input
    (B, M, 3, H, W) uint8: member m sees ``x[:, m]``."""

    def __init__(self, nets: Sequence[AlexNetLP]) -> None:
        super().__init__()
        if not nets:
            raise ValueError("nets must hold at least one AlexNetLP")
        n0, m = nets[0], len(nets)
        shapes = {(n.width, n.pool_size, n.input_size, tuple(n.norm.tolist())) for n in nets}
        if len(shapes) != 1:
            raise ValueError(f"all networks must share width, pool size, input size and normalisation; got {shapes}")
        self.width, self.pool_size, self.input_size = n0.width, n0.pool_size, n0.input_size
        self.register_buffer("norm", n0.norm.clone())
        layers = []
        for i, layer in enumerate(n0.features):
            if isinstance(layer, nn.Conv2d):
                conv = nn.Conv2d(m * layer.in_channels, m * layer.out_channels, layer.kernel_size, layer.stride,
                                 layer.padding, groups=m)
                with torch.no_grad():
                    conv.weight.copy_(torch.cat([n.features[i].weight for n in nets]))
                    conv.bias.copy_(torch.cat([n.features[i].bias for n in nets]))
                layers.append(conv)
            else:  # ReLU and max pooling act per channel: shared between members
                layers.append(layer)
        self.features = nn.Sequential(*layers)
        self.head = HeadStack([n.head for n in nets])

    @property
    def members(self) -> int:
        return self.head.members

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """(B, M, 3, H, W) uint8 images → (B, M, c5 · pool²) features entering the head."""
        b, m = x.shape[:2]
        h = _prepare(x.reshape(b, m * x.shape[2], *x.shape[-2:]), self.norm, self.input_size)
        h = F.adaptive_avg_pool2d(self.features(h), self.pool_size)
        return h.reshape(b, m, -1)

    def forward(self, x: torch.Tensor, return_activations: bool = False):
        return self.head(self.trunk(x), return_activations)

    def member(self, i: int) -> AlexNetLP:
        """Member i as a standalone ``AlexNetLP``."""
        h = self.head
        net = AlexNetLP(h.decays[i], h.n_classes, self.width, h.hidden, self.pool_size, self.input_size,
                        float(self.norm[0]), float(self.norm[1]), h.dropout, h.l1s[i]).to(self.norm.device)
        with torch.no_grad():
            for j, layer in enumerate(self.features):
                if isinstance(layer, nn.Conv2d):
                    per = layer.out_channels // self.members
                    net.features[j].weight.copy_(layer.weight[i * per : (i + 1) * per])
                    net.features[j].bias.copy_(layer.bias[i * per : (i + 1) * per])
        net.head = h.member(i)
        return net.train(self.training)


def arm_decay(value) -> str | None:
    """The decay of a member's prior as stored in a table: None for the control (written "none" or NaN)."""
    return (
        None if value is None or value == "none" or (isinstance(value, float) and np.isnan(value)) else value
    )


def seeded(seed: int, build):
    """``build()`` under a fixed torch seed, without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def members_table(arms: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    """One row per (arm, seed) member of a stack, arm-major: ``arm``, ``decay`` ("none" for the control),
    ``l1``, ``seed``; the index (``member``) is the member's position in the stack."""
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
