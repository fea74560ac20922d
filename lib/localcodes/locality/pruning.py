"""Sparsifying the effective weights W ⊙ P after training, as the Locality Prior README proposed.

Connections are ranked by |W ⊙ P| (|W| for a control; optionally times the linear prior, a distance-aware rule;
or by the raw |W| of a prior layer, ignoring the prior it trained with), the smallest removed, BatchNorm's
statistics re-estimated, and accuracy and the wiring of the kept connections measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F

from .models import HeadStack

#: How connections are ranked for pruning: ``magnitude`` |W ⊙ P| (the README's proposal; |W| for a control),
#: ``weight`` the raw |W| before the prior (differs from ``magnitude`` only for a prior layer), ``magnitude x prior``
#: |W ⊙ P| · P_linear (a control pruned with the geometry it never trained with).
CRITERIA = ("magnitude", "weight", "magnitude x prior")

__all__ = ["CRITERIA", "score_ranks", "prune_by_magnitude", "wiring_lengths", "pruning_curve"]


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
    criteria: Sequence[str] = CRITERIA,
) -> pd.DataFrame:
    """Accuracy and wiring after pruning the LP/fc layer's effective weights W ⊙ P, per member and kept
    fraction.

    ``h_test``, ``h_calib`` (N, M, K): activations entering the layer (``lp_in``) for the test images and for
    training images used to re-estimate BatchNorm's statistics after pruning (``bn="recalibrated"``; the
    running statistics of the unpruned network are also evaluated, ``bn="running"``). ``criteria``: any of
    ``CRITERIA``; the kept connections always carry their effective weights W ⊙ P."""
    bad = [c for c in criteria if c not in CRITERIA]
    if bad:
        raise ValueError(f"criteria must be among {CRITERIA}; got {bad}")
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
        if criterion == "weight":
            scores = head.lp.weight.abs()
        else:
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
