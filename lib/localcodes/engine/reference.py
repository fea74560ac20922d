"""The reference: one network trained by a plain PyTorch loop, the way the paper did it (:func:`train_plain`).
With no dropout and no noise it computes the same network as an ensemble member with the same seed."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from ..store import pick_device
from .config import TrainConfig
from .data import Dataset
from .ensemble import init_weights
from .streams import derive_seed, network_generators

__all__ = ["train_plain"]


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
    gens = network_generators(config.seed, dev)
    sizes = [data.X.shape[1], *config.hidden, data.targets.shape[1]]
    (w, b) = init_weights([config], sizes, [gens], dev)
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
        g.manual_seed(derive_seed(config.seed, 101))
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

