"""Robustness transforms and image penalties for activation maximisation.

At every step each image gets its own random jitter, scale and rotation (:func:`random_transform`, one batched
affine warp), so only features that survive small changes grow. The penalties — total variation and the
diversity of one unit's images (:func:`pairwise_similarity`) — are measured per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["random_transform", "total_variation", "pairwise_similarity"]


def random_transform(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    jitter: float = 0.06,
    scale: tuple[float, float] = (0.9, 1.1),
    angle: float = 10.0,
    fill: float = 0.5,
) -> torch.Tensor:
    """Each image gets its own random shift (± ``jitter`` of its size), zoom in ``scale`` and rotation (±
    ``angle`` degrees), as one batched affine warp; the uncovered border is ``fill`` grey. Same size in and
    out.

    Random numbers come from ``generator`` on the CPU, so a seed gives the same warps on every device.
    """
    if jitter < 0 or angle < 0 or not 0 < scale[0] <= scale[1]:
        raise ValueError(
            f"need jitter >= 0, angle >= 0 and 0 < scale[0] <= scale[1]; got {jitter}, {angle}, {scale}"
        )
    n = images.shape[0]
    u = torch.rand((n, 4), generator=generator)
    theta = (u[:, 0] * 2 - 1) * math.radians(angle)
    zoom = scale[0] + u[:, 1] * (scale[1] - scale[0])
    shift = (u[:, 2:] * 2 - 1) * jitter * 2  # normalised coordinates span 2 per image side
    cos, sin = torch.cos(theta) / zoom, torch.sin(theta) / zoom
    mat = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    mat = mat.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(mat, list(images.shape), align_corners=False)
    # grid_sample pads with zeros: warp the offset from grey so the border becomes grey
    return (
        F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill
    )


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, per image: (n,)."""
    dh = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().flatten(1).mean(1)
    dw = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().flatten(1).mean(1)
    return dh + dw


def pairwise_similarity(images: torch.Tensor, n_targets: int) -> torch.Tensor:
    """Per image: mean cosine similarity with the other images of its unit (centred pixels), (T*n,).

    ``images`` holds ``n_targets`` consecutive groups of equally many images; the diversity penalty pushes it
    down so that a unit's images differ.
    """
    x = images.reshape(n_targets, -1, images[0].numel())
    n = x.shape[1]
    if n < 2:
        return torch.zeros(images.shape[0], device=images.device)
    x = F.normalize(x - x.mean(2, keepdim=True), dim=2)
    sims = torch.bmm(x, x.transpose(1, 2))
    return ((sims.sum(2) - sims.diagonal(dim1=1, dim2=2)) / (n - 1)).reshape(-1)
