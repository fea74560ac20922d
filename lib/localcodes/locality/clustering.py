"""Does a class activate a compact patch of the grid? Per-class activation maps and their spread.

``class_maps`` averages a layer's (non-negative) activations per class and normalises each map to sum 1;
``variance_2d`` is the Locality Prior README's "2-D variance" ``Σ a·‖x − centroid‖² / (1 − Σa²)`` of such a map;
``permuted_variance`` is the same with the units placed on the grid at random (the no-topography baseline). The
paired tests compare a locality-prior arm with the control across classes and across seeds; ``image_level_test``
is the README's test across the images of one network per arm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats

from .layer import grid_coords

__all__ = ["class_maps", "variance_2d", "permuted_variance", "clustering_table", "paired_clustering_tests",
           "image_level_test"]


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
