"""What is measured on the networks: loss, classification and pattern-matching accuracy on whole sets, and local
codes per hidden layer (counted from per-class minima and maxima, equal to ``selectivity.local_codes``).

**Classification accuracy** = every output bit within 0.5 of its target; **pattern-matching accuracy** = every
bit within 0.1. **Local codes** are counted per network on the training set, on the examples that network
classifies correctly (``lc_examples="correct"``, the paper's definition; ``"all"`` uses every example)."""

from __future__ import annotations

import numpy as np
import torch

from .config import TrainConfig
from .data import Dataset, DeviceData
from .ensemble import Ensemble, activate, output

__all__ = ["count_local_codes", "loss_per_example", "outcome", "evaluate", "network_activations"]


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


def loss_per_example(p: torch.Tensor, t: torch.Tensor, loss: str) -> torch.Tensor:
    """Loss of every example (R, n): BCE averaged over outputs, or categorical cross-entropy (Keras' clip)."""
    p = p.clamp(1e-7, 1 - 1e-7)
    if loss == "bce":
        return -(t * p.log() + (1 - t) * (1 - p).log()).mean(-1)
    return -(t * p.log()).sum(-1)


def outcome(p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Classification (all bits within 0.5) and pattern-matching (all within 0.1) correctness (R, n)."""
    err = (p - t).abs().amax(-1)
    return err < 0.5, err <= 0.1


@torch.no_grad()
def evaluate(
    data: DeviceData, ensemble: Ensemble, cfg: TrainConfig, which: str, nets: np.ndarray, local_codes: bool
) -> dict[str, np.ndarray]:
    """Loss and accuracies of networks ``nets`` on a whole set ``which`` (``"train"``, ``"test"``, ``"val"``),
    and with ``local_codes`` the local-code counts on the training set (per layer ``_h1``, ``_h2``… and summed)."""
    d, dev = data, ensemble.device
    X, y = (d.X, d.y) if which == "train" else d.sets[which]
    n = X.shape[-2]
    r = len(nets)
    sel = torch.as_tensor(nets, device=dev)
    ws = [w[sel] for w in ensemble.weights]
    bs = [b[sel] for b in ensemble.biases]
    loss = torch.zeros(r, device=dev)
    ok_cls = torch.zeros(r, device=dev)
    ok_pm = torch.zeros(r, device=dev)
    C = d.n_lc_classes
    if local_codes:
        stats = [
            (
                torch.full((r, C, h), torch.inf, device=dev),
                torch.full((r, C, h), -torch.inf, device=dev),
            )
            for h in cfg.hidden
        ]
        counts = torch.zeros(r, C, device=dev)
    rows = max(1, 2**24 // max(1, r * max(ensemble.sizes)))
    for start in range(0, n, rows):
        sl = slice(start, min(n, start + rows))
        h, ys = d.rows(X, y, sl, sel)
        hidden = []
        for w, b in zip(ws[:-1], bs[:-1], strict=True):
            h = activate(torch.baddbmm(b, h, w), cfg.activation)
            hidden.append(h)
        p = output(torch.baddbmm(bs[-1], h, ws[-1]), cfg.softmax)
        t = d.targets_for(ys, sel)
        loss += loss_per_example(p, t, cfg.loss_fn).sum(1)
        cls, pm = outcome(p, t)
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

