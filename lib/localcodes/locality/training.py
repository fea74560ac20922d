"""Training and evaluating a stack of networks (``LeNetStack``, ``HeadStack``) as one computation.

Every member trains on its own shuffle of the data (fixed by its seed, so an arm and its control with the same
seed see the images in the same order); the loss is the sum of the members' mean losses, so each member gets
exactly the gradient it would get alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import store
from .layer import wiring_penalty

__all__ = ["OPTIMIZERS", "train_stack", "evaluate_stack"]

#: ``sgd`` and ``rmsprop`` (the README's code and table); ``adam`` (betas 0.9/0.999, ``momentum`` unused) trains the
#: whole AlexNet-architecture network from scratch in the few epochs a CPU affords. All act elementwise, so a stack
#: trains exactly like its members one by one.
OPTIMIZERS = ("sgd", "rmsprop", "adam")


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
    elif optimizer == "rmsprop":
        opt = torch.optim.RMSprop(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history: list[dict] = []
    start_epoch = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"], state["history"]
    n = inputs.shape[0]
    steps = -(-n // batch_size)
    bar = store.progress_bar(total=(epochs - start_epoch) * steps, desc=desc, leave=False,
                             disable=not progress)
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
