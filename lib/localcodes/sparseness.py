"""Sparseness across layers, and whether the neuron basis is special (the blog post in seeds/002).

Statistics of an activation matrix (rows = samples, columns = units), all vectorised over units and over any
leading batch dimensions (e.g. many random bases at once), computed on the device the activations live on:

* ``nonzero_share`` — the share of activations with ``|a| > eps`` (``eps=0``: the non-zeros of a ReLU layer);
* ``hoyer`` — Hoyer (2004) sparseness ``(√n − ‖x‖₁/‖x‖₂) / (√n − 1)``: 1 for a one-hot vector, 0 for a
  constant one, ≈ 0.20 for a Gaussian vector;
* ``kurtosis`` — excess kurtosis (population moments, as ``scipy.stats.kurtosis(bias=True)``): 0 for a
  Gaussian, ``(n² − 6n + 6)/(n − 1)`` for a one-hot vector of length n;
* ``vinje_gallant`` — Vinje & Gallant (2000) sparseness ``(1 − (mean|x|)² / mean(x²)) / (1 − 1/n)``, a
  normalised Treves–Rolls activity ratio: 1 for one-hot, 0 for constant, ``(1 − 2/π)/(1 − 1/n)`` ≈ 0.36 for a
  Gaussian.

Each is measured *across units* for every sample (population sparseness) and *across samples* for every unit
(lifetime sparseness). A vector with no spread (all zeros; a dead unit) has no defined value and gives NaN;
the summaries average over the defined values and count the others.

``decorrelation`` is 1 − Pearson r between the activation patterns of two different images, over disjoint
seeded pairs (each image used at most once, so the pairs are independent) with a t confidence interval.

The basis test (``basis_test``): the same activations are expressed in random orthonormal bases of the layer
(Haar-distributed, QR of seeded Gaussian matrices, many draws batched) and measured again. If the neuron basis
is special, activations are sparser and heavier-tailed along neurons than along random directions.
For a convolutional layer the neuron basis is the channel basis (weights are shared across positions), so
every (image, position) is one sample of the C-dimensional channel space (``as_samples``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

from .store import atomic_path

__all__ = [
    "STATISTICS",
    "nonzero_share",
    "hoyer",
    "kurtosis",
    "vinje_gallant",
    "population",
    "lifetime",
    "as_samples",
    "sparseness_summary",
    "decorrelation",
    "nonzero_histogram",
    "random_bases",
    "basis_values",
    "basis_summary",
    "basis_test",
    "local_codes_in_bases",
]


def _tensor(x, dtype: torch.dtype | None = None) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if not t.dtype.is_floating_point:
        t = t.to(torch.float64)
    return t if dtype is None else t.to(dtype)


def _length(x: torch.Tensor, dim: int) -> int:
    if x.ndim == 0:
        raise ValueError("activations must have at least one dimension; got a scalar")
    n = x.shape[dim]
    if n < 2:
        raise ValueError(f"sparseness needs at least 2 values along dim={dim}; got {n}")
    return n


def nonzero_share(x, eps: float = 0.0) -> float:
    """Share of entries with ``|x| > eps`` (for a ReLU layer with ``eps=0``: the non-zero activations)."""
    if eps < 0:
        raise ValueError(f"eps must be >= 0; got {eps}")
    t = _tensor(x)
    if t.numel() == 0:
        raise ValueError("nonzero_share of an empty array")
    return float((t.abs() > eps).sum(dtype=torch.float64) / t.numel())


def hoyer(x, dim: int = -1) -> torch.Tensor:
    """Hoyer sparseness along ``dim``: ``(√n − L1/L2)/(√n − 1)``; NaN where the vector is all zeros."""
    t = _tensor(x)
    n = _length(t, dim)
    l1 = t.abs().sum(dim)
    l2 = t.square().sum(dim).sqrt()
    ratio = l1 / l2  # 0/0 → NaN for an all-zero vector, which is what we want
    return (math.sqrt(n) - ratio) / (math.sqrt(n) - 1)


def kurtosis(x, dim: int = -1) -> torch.Tensor:
    """Excess kurtosis along ``dim`` with population moments; NaN where the values do not vary."""
    t = _tensor(x)
    _length(t, dim)
    d = t - t.mean(dim, keepdim=True)
    m2 = d.square().mean(dim)
    m4 = d.square().square().mean(dim)
    # "no spread" relative to the values' size: rounding noise in a constant vector is not a huge kurtosis
    flat = m2 <= torch.finfo(t.dtype).eps * t.square().mean(dim)
    return torch.where(flat, torch.full_like(m2, torch.nan), m4 / m2.square() - 3.0)


def vinje_gallant(x, dim: int = -1) -> torch.Tensor:
    """Vinje–Gallant sparseness along ``dim``: ``(1 − (mean|x|)²/mean(x²))/(1 − 1/n)``; NaN for all zeros."""
    t = _tensor(x)
    n = _length(t, dim)
    ratio = t.abs().mean(dim).square() / t.square().mean(dim)
    return (1.0 - ratio) / (1.0 - 1.0 / n)


STATISTICS: dict[str, Callable[..., torch.Tensor]] = {
    "hoyer": hoyer,
    "kurtosis": kurtosis,
    "vinje_gallant": vinje_gallant,
}


def _stat_fns(stats: Iterable[str] | None) -> dict[str, Callable[..., torch.Tensor]]:
    names = list(STATISTICS) if stats is None else list(stats)
    bad = [s for s in names if s not in STATISTICS]
    if bad or not names:
        raise ValueError(f"stats must be a non-empty subset of {list(STATISTICS)}; got {names}")
    return {s: STATISTICS[s] for s in names}


def population(x, stat: str = "hoyer") -> torch.Tensor:
    """Population sparseness: ``stat`` across units (last dim) for every sample → shape ``x.shape[:-1]``."""
    return _stat_fns([stat])[stat](x, dim=-1)


def lifetime(x, stat: str = "hoyer") -> torch.Tensor:
    """Lifetime sparseness: ``stat`` across samples (second-to-last dim) for every unit."""
    t = _tensor(x)
    if t.ndim < 2:
        raise ValueError(f"lifetime sparseness needs a (samples, units) array; got shape {tuple(t.shape)}")
    return _stat_fns([stat])[stat](t, dim=-2)


def as_samples(acts) -> torch.Tensor:
    """A layer's activations as (samples, units): (N, U) stays; conv maps (N, C, H, W) become (N·H·W, C).

    The neuron basis of a convolutional layer is its channel basis, so each (image, position) is one sample.
    """
    t = _tensor(acts)
    if t.ndim == 2:
        return t
    if t.ndim == 4:
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])
    raise ValueError(f"acts must be (N, U) or conv maps (N, C, H, W); got shape {tuple(t.shape)}")


def _nanmean(t: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.nanmean(t, dim=dim)


def sparseness_summary(acts, eps: float = 0.0, stats: Iterable[str] | None = None) -> dict:
    """One layer's sparseness: non-zero share, and mean population / lifetime value of each statistic.

    ``acts`` (N, U) or (N, C, H, W) (see ``as_samples``). Returns a flat dict with ``samples``, ``units``,
    ``nonzero``, ``population_<stat>``, ``lifetime_<stat>``, ``silent_samples`` (all-zero rows) and
    ``dead_units`` (units with no spread: NaN lifetime kurtosis); averages over the samples/units where a
    value is defined.
    """
    x = as_samples(acts)
    fns = _stat_fns(stats)
    out = {"samples": int(x.shape[0]), "units": int(x.shape[1]), "nonzero": nonzero_share(x, eps)}
    pop, life = _stats_along(x, -1, fns), _stats_along(x, -2, [*fns, "kurtosis"])
    for name in fns:
        out[f"population_{name}"] = float(_nanmean(pop[name]))
        out[f"lifetime_{name}"] = float(_nanmean(life[name]))
    out["silent_samples"] = int((x.abs() <= eps).all(dim=1).sum())
    out["dead_units"] = int(life["kurtosis"].isnan().sum())
    return out


def decorrelation(acts, n_pairs: int | None = None, seed: int = 0, confidence: float = 0.95) -> dict:
    """1 − Pearson r between the activation patterns of two different images, over disjoint seeded pairs.

    ``acts`` (N, ...) — one activation pattern per image (flattened). ``n_pairs`` ≤ N // 2 pairs are drawn
    without replacement (a seeded permutation, the same on every device), so no image is in two pairs and the
    pairs are independent; the interval is a t interval at ``confidence`` over the pairs. Pairs in which an
    image's pattern has no spread (r undefined) are left out and counted (``undefined``).
    Returns ``mean, low, high, sd, n_pairs, undefined``.
    """
    t = _tensor(acts)
    if t.ndim < 2:
        raise ValueError(f"acts must be (N, ...) with one pattern per image; got shape {tuple(t.shape)}")
    x = t.reshape(t.shape[0], -1).to(torch.float64)
    n = x.shape[0]
    most = n // 2
    n_pairs = most if n_pairs is None else n_pairs
    if not 1 <= n_pairs <= most:
        raise ValueError(f"n_pairs must be between 1 and N // 2 = {most} (disjoint pairs of {n} images); "
                         f"got {n_pairs}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n, generator=gen)[: 2 * n_pairs].view(n_pairs, 2).to(x.device)
    z = x - x.mean(1, keepdim=True)
    norm = z.norm(dim=1)
    a, b = idx[:, 0], idx[:, 1]
    r = (z[a] * z[b]).sum(1) / (norm[a] * norm[b])
    d = (1.0 - r)[torch.isfinite(r)].cpu().numpy()
    undefined = int(n_pairs - d.size)
    if d.size == 0:
        return {"mean": np.nan, "low": np.nan, "high": np.nan, "sd": np.nan, "n_pairs": 0,
                "undefined": undefined}
    mean = float(d.mean())
    sd, half = np.nan, np.nan
    if d.size > 1:
        sd = float(d.std(ddof=1))
        half = float(sps.t.ppf(0.5 + confidence / 2, d.size - 1) * sd / math.sqrt(d.size))
    return {"mean": mean, "low": mean - half, "high": mean + half, "sd": sd, "n_pairs": int(d.size),
            "undefined": undefined}


def nonzero_histogram(acts, bins: int = 40, eps: float = 0.0) -> pd.DataFrame:
    """Histogram of the activations with ``|a| > eps`` (the blog's histograms leave the zeros out).

    Returns ``start, end, count`` per bin (counts only, so a chart stays small; plot them on a log axis).
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1; got {bins}")
    t = _tensor(acts).reshape(-1)
    v = t[t.abs() > eps].to(torch.float64)
    if v.numel() == 0:
        return pd.DataFrame({"start": [], "end": [], "count": []})
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    counts = torch.histc(v, bins=bins, min=lo, max=hi).cpu().numpy().astype(np.int64)
    edges = np.linspace(lo, hi, bins + 1)
    return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts})


# --- the basis test -----------------------------------------------------------------------------------------


def _draw_seed(seed: int, draw: int) -> int:
    """An independent seed for each (seed, draw), so draw i is the same however draws are chunked."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _cholesky_qr(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Q, R of a batch of tall matrices by Cholesky QR (R = chol(ZᵀZ) upper, Q = Z R⁻¹): the unique QR with a
    positive diagonal of R, as matrix products. Only the benchmark uses it, as the alternative to Householder
    QR that we measured and did not adopt (slower on the CPU; see ``bench_main``)."""
    r = torch.linalg.cholesky(z.mT @ z, upper=True)
    return torch.linalg.solve_triangular(r, z, upper=True, left=False), r


def random_bases(dim: int, draws: int, n_directions: int | None = None, seed: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float64,
                 start: int = 0) -> torch.Tensor:
    """Random orthonormal frames of R^dim number ``start`` … ``start + draws − 1``: a (draws, dim, k) tensor.

    The Q factor of a Gaussian matrix's QR factorisation, with the signs of R's diagonal folded into Q so that
    Q is Haar-distributed (Mezzadri 2007); orthonormal columns, ``k = n_directions`` (default ``dim``: full
    bases). Draw i's Gaussian matrix comes from its own seeded CPU generator, so a (seed, i) gives the same
    basis on every device and in any chunking; the batched Householder QR (``torch.linalg.qr``) runs on
    ``device`` in float64.
    """
    k = dim if n_directions is None else n_directions
    if dim < 1 or draws < 1 or not 1 <= k <= dim or start < 0:
        raise ValueError(f"need dim >= 1, draws >= 1, 1 <= n_directions <= dim and start >= 0; "
                         f"got {dim}, {draws}, {k}, {start}")
    z = torch.stack([
        torch.randn(dim, k, generator=torch.Generator().manual_seed(_draw_seed(seed, start + i)),
                    dtype=torch.float64)
        for i in range(draws)
    ]).to(device=device)
    q, r = torch.linalg.qr(z)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    q = q * torch.where(signs == 0, torch.ones_like(signs), signs).unsqueeze(-2)
    return q.to(dtype)


def _stats_along(x: torch.Tensor, dim: int, names: Iterable[str]) -> dict[str, torch.Tensor]:
    """The named statistics along ``dim`` in one sweep, sharing |x|, x² and the moments (the hot loop of the
    basis test); the same values as ``hoyer``, ``kurtosis`` and ``vinje_gallant`` one by one."""
    names = list(names)
    n = _length(x, dim)
    l1 = x.abs().sum(dim)
    l2sq = x.square().sum(dim)
    out = {}
    if "hoyer" in names:
        out["hoyer"] = (math.sqrt(n) - l1 / l2sq.sqrt()) / (math.sqrt(n) - 1)
    if "vinje_gallant" in names:
        out["vinje_gallant"] = (1.0 - (l1 / n).square() / (l2sq / n)) / (1.0 - 1.0 / n)
    if "kurtosis" in names:
        d2 = (x - x.mean(dim, keepdim=True)).square()
        m2 = d2.mean(dim)
        m4 = d2.square().mean(dim)
        flat = m2 <= torch.finfo(x.dtype).eps * (l2sq / n)
        out["kurtosis"] = torch.where(flat, torch.full_like(m2, torch.nan), m4 / m2.square() - 3.0)
    return out


def _measure(x: torch.Tensor, fns: Mapping[str, Callable[..., torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Mean population and lifetime value of each statistic of (..., samples, units) → tensors (...)."""
    pop, life = _stats_along(x, -1, fns), _stats_along(x, -2, fns)
    out = {}
    for name in fns:
        out[f"population_{name}"] = _nanmean(pop[name])
        out[f"lifetime_{name}"] = _nanmean(life[name])
    return out


def _prepare(acts, max_samples: int | None, max_units: int | None, center: bool, seed: int,
             dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(samples, units) matrix, subsampled and centred as asked; the neuron subset if units are capped."""
    x = as_samples(acts)
    gen = torch.Generator().manual_seed(seed + 7919)  # its own stream, so subsets do not depend on ``draws``
    if max_samples is not None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be >= 2 or None; got {max_samples}")
        if x.shape[0] > max_samples:
            rows = torch.randperm(x.shape[0], generator=gen)[:max_samples].sort().values
            x = x[rows.to(x.device)]
    x = x.to(dtype)
    if center:
        x = x - x.mean(0, keepdim=True)
    subset = None
    if max_units is not None:
        if max_units < 2:
            raise ValueError(f"max_units must be >= 2 or None; got {max_units}")
        if x.shape[1] > max_units:
            subset = torch.randperm(x.shape[1], generator=gen)[:max_units].sort().values.to(x.device)
    return x, subset


def basis_values(acts, draws: int = 20, seed: int = 0, stats: Iterable[str] | None = None,
                 max_samples: int | None = None, max_units: int | None = None, center: bool = False,
                 chunk: int | None = None, dtype: torch.dtype = torch.float64) -> pd.DataFrame:
    """Each sparseness statistic in the neuron basis and in ``draws`` random orthonormal bases of the layer.

    ``acts`` (N, U) or conv maps (N, C, H, W) (channels are the units, see ``as_samples``). With
    ``max_units`` = k < U, the neuron basis is k seeded random neurons and each random basis k random
    orthonormal directions of R^U (a frame), so both sides measure k coordinates of an orthonormal basis.
    ``max_samples`` subsamples rows;
    ``center`` subtracts the mean pattern first (the rotation is then about the mean instead of the origin).
    Draws are computed ``chunk`` at a time, batched (default: one at a time on the CPU, where that measured
    faster; on a GPU as many as fit in ~256 MB).
    Returns a long table: ``basis`` ('neuron' | 'random'), ``draw`` (-1 for the neuron basis), ``statistic``,
    ``value``.
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1; got {draws}")
    fns = _stat_fns(stats)
    x, subset = _prepare(acts, max_samples, max_units, center, seed, dtype)
    m, u = x.shape
    k = u if subset is None else int(subset.numel())
    rows = []
    neuron = _measure(x if subset is None else x[:, subset], fns)
    rows += [("neuron", -1, name, float(v)) for name, v in neuron.items()]
    item = torch.finfo(dtype).bits // 8
    if chunk is None:
        # on the CPU one draw at a time is 10-20 % faster (`localcodes bench sparseness`: batched draws leave
        # the cache); on a GPU batching fills the device
        fits = (256 * 2**20) // max(1, (m * k + u * k) * item * 3)
        chunk = 1 if x.device.type == "cpu" else max(1, min(draws, fits))
    elif chunk < 1:
        raise ValueError(f"chunk must be >= 1 or None; got {chunk}")
    for start in range(0, draws, chunk):
        d = min(chunk, draws - start)
        q = random_bases(u, d, k, seed=seed, device=x.device, dtype=dtype, start=start)
        measured = _measure(torch.matmul(x, q), fns)  # (d, samples, k) coordinates in the random frames
        for name, v in measured.items():
            rows += [("random", start + i, name, float(val)) for i, val in enumerate(v.tolist())]
    out = pd.DataFrame(rows, columns=["basis", "draw", "statistic", "value"])
    return out.sort_values("draw", kind="stable", ignore_index=True)  # the same rows whatever the chunking


def basis_summary(values: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Per statistic (and per ``by`` columns): the neuron-basis value against the spread over random bases.

    Columns: ``neuron``, ``random_mean``, ``random_sd``, ``random_min``, ``random_max``, ``advantage``
    (neuron − random mean), ``z`` (advantage / random sd), ``share_random_ge`` (share of random bases at
    least as sparse as the neuron basis) and ``p`` = (1 + #random ≥ neuron) / (1 + draws), a one-sided
    Monte Carlo p value for "the neuron basis is sparser than random bases".
    """
    by = list(by or [])
    keys = [*by, "statistic"]
    missing = [c for c in [*keys, "basis", "value"] if c not in values.columns]
    if missing:
        raise ValueError(f"values lacks the columns {missing}; it has {list(values.columns)}")
    neuron = values[values["basis"] == "neuron"].groupby(keys, sort=False)["value"].first().rename("neuron")
    rnd = values[values["basis"] == "random"].merge(neuron.reset_index(), on=keys)
    rnd["ge"] = rnd["value"] >= rnd["neuron"]
    g = rnd.groupby(keys, sort=False)
    out = pd.DataFrame({
        "neuron": g["neuron"].first(),
        "random_mean": g["value"].mean(),
        "random_sd": g["value"].std(ddof=1),
        "random_min": g["value"].min(),
        "random_max": g["value"].max(),
        "draws": g["value"].size(),
        "share_random_ge": g["ge"].mean(),
    })
    out["advantage"] = out["neuron"] - out["random_mean"]
    out["z"] = out["advantage"] / out["random_sd"]
    out["p"] = (1 + g["ge"].sum()) / (1 + out["draws"])
    return out


def basis_test(acts, draws: int = 20, seed: int = 0, **kwargs) -> pd.DataFrame:
    """``basis_summary(basis_values(acts, draws, seed, **kwargs))``: is the neuron basis the sparser?"""
    return basis_summary(basis_values(acts, draws=draws, seed=seed, **kwargs))


def local_codes_in_bases(acts, labels, draws: int = 20, seed: int = 0, max_units: int | None = None,
                         center: bool = False, dtype: torch.dtype = torch.float64) -> pd.DataFrame:
    """Local codes (``selectivity.local_codes``) in the neuron basis and in ``draws`` random bases.

    ``acts`` (N, U), or conv maps (N, C, H, W) whose units are the channels: each channel (or random direction
    of the channel space) gets one value per image, its maximum over space (paper 001's rule), taken *after*
    the rotation. ``labels`` (N,). All draws are measured in one call. Returns one row per basis: ``basis``,
    ``draw`` (-1 = neuron basis), ``units`` (directions measured), ``codes`` ((unit, class) local codes;
    ``codes_on``/``codes_off`` by kind), ``local_units`` (units with at least one; ``local_units_on``: with an
    on-code, the "grandmother" kind).
    """
    from .selectivity import local_codes

    if draws < 1:
        raise ValueError(f"draws must be >= 1; got {draws}")
    t = _tensor(acts)
    if t.ndim not in (2, 4):
        raise ValueError(f"acts must be (N, U) or conv maps (N, C, H, W); got shape {tuple(t.shape)}")
    n = t.shape[0]
    positions = 1 if t.ndim == 2 else t.shape[2] * t.shape[3]
    x, subset = _prepare(t, None, max_units, center, seed, dtype)  # (N·positions, U), rows image-major
    u = x.shape[1]
    k = u if subset is None else int(subset.numel())
    q = random_bases(u, draws, k, seed=seed, device=x.device, dtype=dtype)
    neuron = (x if subset is None else x[:, subset]).view(n, positions, k).amax(1)  # (N, k)
    # rotate a few draws at a time: conv layers have N·positions rows, and only the spatial maxima are kept
    step = max(1, (64 * 2**20) // max(1, x.shape[0] * k * x.element_size()))
    rotated = torch.cat([torch.matmul(x, q[i:i + step]).view(-1, n, positions, k).amax(2)
                         for i in range(0, draws, step)])  # (draws, N, k)
    both = torch.cat([neuron, rotated.permute(1, 0, 2).reshape(n, draws * k)], dim=1)
    y = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(np.asarray(labels))
    codes = local_codes(both, y.to(both.device))
    basis_of = np.repeat(np.arange(-1, draws), k) + 1  # 0 = neuron basis, i + 1 = random basis i

    def per_basis(frame: pd.DataFrame, units: bool = False) -> np.ndarray:
        idx = frame["unit"].to_numpy()
        return np.bincount(basis_of[np.unique(idx) if units else idx], minlength=draws + 1)

    on = codes[codes["kind"] == "on"]
    return pd.DataFrame({
        "basis": ["neuron"] + ["random"] * draws,
        "draw": np.arange(-1, draws),
        "units": k,
        "codes": per_basis(codes),
        "codes_on": per_basis(on),
        "codes_off": per_basis(codes[codes["kind"] == "off"]),
        "local_units": per_basis(codes, units=True),
        "local_units_on": per_basis(on, units=True),
    })


# --- whole networks -----------------------------------------------------------------------------------------


def layer_maps(model: torch.nn.Module, layers: Mapping[str, str] | Iterable[str], images,
               batch_size: int = 256, device=None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Unreduced outputs of named modules for all ``images``: ({label: (N, ...) float32}, outputs (N, ...)).

    ``layers`` maps a label to a module name (``nets.ALEXNET_LAYERS``) or lists module names. Unlike
    ``record.activations``, conv maps stay (N, C, H, W): the share of zeros of a conv layer is that of its
    whole maps, and a change of basis is linear only on the maps (a spatial maximum does not commute with it).
    ``images``: a (N, ...) tensor or an object with ``batches(batch_size)`` yielding ``(x, ...)`` tuples
    (``nets.ImageData``). Everything stays on ``device`` (default ``store.pick_device()``).
    """
    from .store import pick_device

    names = dict(layers) if isinstance(layers, Mapping) else {name: name for name in layers}
    if not names:
        raise ValueError("layers must name at least one module")
    modules = dict(model.named_modules())
    bad = [m for m in names.values() if m not in modules or m == ""]
    if bad:
        valid = [m for m in modules if m]
        raise ValueError(f"layers {bad} are not modules of {type(model).__name__}; valid: {valid}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    dev = pick_device(None if device is None else str(device))
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for module_name in set(names.values()):
        def hook(mod, inp, out, key=module_name):
            # a copy: a later in-place op (ReLU(inplace=True)) must not change what we keep
            captured[key] = out.detach().to(torch.float32, copy=True)

        handles.append(modules[module_name].register_forward_hook(hook))
    if isinstance(images, torch.Tensor):
        batches = (images[i:i + batch_size] for i in range(0, images.shape[0], batch_size))
    elif hasattr(images, "batches"):
        batches = (b[0] if isinstance(b, (tuple, list)) else b for b in images.batches(batch_size))
    else:
        raise ValueError(f"images must be a tensor or have .batches(); got {type(images).__name__}")
    parts: dict[str, list[torch.Tensor]] = {label: [] for label in names}
    outputs = []
    was_training = model.training
    model.to(dev).eval()
    try:
        with torch.no_grad():
            for x in batches:
                captured.clear()
                outputs.append(model(x.to(dev)).detach().float())
                for label, module_name in names.items():
                    parts[label].append(captured[module_name])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {label: torch.cat(p) for label, p in parts.items()}, torch.cat(outputs)


ANALYSIS_FRAMES = ("layers", "basis", "histograms", "local_codes")


def analyse_layers(acts: Mapping[str, torch.Tensor], labels=None, draws: int = 20, seed: int = 0,
                   n_pairs: int | None = None, max_samples: int | None = 20_000, max_units: int | None = 256,
                   bins: int = 40, lc_draws: int = 0, center: bool = False, eps: float = 0.0,
                   dtype: torch.dtype = torch.float32, progress: bool = False) -> dict[str, pd.DataFrame]:
    """Everything the chapter shows for one network, layer by layer (``acts`` in depth order).

    Returns DataFrames: ``layers`` (one row per layer: ``sparseness_summary``, ``decorrelation`` with its
    interval, and — with ``labels`` — the neuron basis's local codes), ``basis`` (``basis_values`` with a
    ``layer`` column), ``histograms`` (``nonzero_histogram`` per layer) and ``local_codes``
    (``local_codes_in_bases`` with ``lc_draws`` random bases; empty without labels or with ``lc_draws=0``).
    The random bases are applied in ``dtype`` (float32 by default: half the memory and time; the per-layer
    summaries are always float64).
    """
    from .selectivity import local_codes
    from .store import progress_bar as tqdm

    if not acts:
        raise ValueError("acts must hold at least one layer")
    rows, basis, hists, codes = [], [], [], []
    for depth, (layer, a) in enumerate(tqdm(acts.items(), desc="layers", disable=not progress, leave=False)):
        row = {"layer": layer, "depth": depth, "shape": "x".join(str(s) for s in a.shape[1:])}
        row.update(sparseness_summary(a, eps=eps))
        dec = decorrelation(a, n_pairs=n_pairs, seed=seed)
        row.update({"decorrelation": dec["mean"], "decorrelation_low": dec["low"],
                    "decorrelation_high": dec["high"], "pairs": dec["n_pairs"]})
        if labels is not None:
            per_unit = a.amax((2, 3)) if a.ndim == 4 else a
            found = local_codes(per_unit, labels)
            on = found[found["kind"] == "on"]
            row.update({"lc_codes": len(found), "lc_codes_on": len(on),
                        "lc_units": int(found["unit"].nunique()), "lc_units_on": int(on["unit"].nunique()),
                        "lc_unit_share": found["unit"].nunique() / per_unit.shape[1]})
            if lc_draws:
                lc = local_codes_in_bases(a, labels, draws=lc_draws, seed=seed, max_units=max_units,
                                          center=center, dtype=dtype)
                codes.append(lc.assign(layer=layer, depth=depth))
        rows.append(row)
        vals = basis_values(a, draws=draws, seed=seed, max_samples=max_samples, max_units=max_units,
                            center=center, dtype=dtype)
        basis.append(vals.assign(layer=layer, depth=depth))
        hists.append(nonzero_histogram(a, bins=bins, eps=eps).assign(layer=layer, depth=depth))
    empty = pd.DataFrame(columns=["basis", "draw", "units", "codes", "codes_on", "codes_off", "local_units",
                                  "local_units_on", "layer", "depth"])
    return {
        "layers": pd.DataFrame(rows),
        "basis": pd.concat(basis, ignore_index=True),
        "histograms": pd.concat(hists, ignore_index=True),
        "local_codes": pd.concat(codes, ignore_index=True) if codes else empty,
    }


def cached(folder, params: dict, compute: Callable[[], dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """``compute()``'s DataFrames, stored as Parquet in ``folder`` with ``params.json``; reused when the
    stored parameters equal ``params`` (written atomically, parameters last, so a killed run recomputes)."""
    import json
    from pathlib import Path

    from .store import write_json, write_parquet

    folder = Path(folder)
    meta = folder / "params.json"
    want = json.loads(json.dumps(params, sort_keys=True, default=str))
    if meta.exists() and json.loads(meta.read_text()).get("params") == want:
        stored = json.loads(meta.read_text())["frames"]
        if all((folder / f"{name}.parquet").exists() for name in stored):
            return {name: pd.read_parquet(folder / f"{name}.parquet") for name in stored}
    frames = compute()
    for name, frame in frames.items():
        write_parquet(folder / f"{name}.parquet", frame)
    write_json(meta, {"params": want, "frames": list(frames)})
    return frames


# --- the chapter's networks ---------------------------------------------------------------------------------


@dataclass
class LayerActs:
    """One network's activations on the examples measured, layer by layer in depth order.

    ``acts`` {layer: (N, ...) tensor}; ``labels`` (N,) classes (for local codes); ``info``: data set,
    accuracy, what "trained" means for this network, and whatever identifies it for a cache.
    """

    acts: dict[str, torch.Tensor]
    labels: torch.Tensor
    info: dict = field(default_factory=dict)


def _key(params: dict) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _balanced(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of a seeded, class-balanced subset of about ``n`` rows (at most the smallest class's size)."""
    counts = np.bincount(labels)
    per = min(max(1, n // len(counts)), int(counts.min()))
    order = np.random.default_rng(seed).permutation(len(labels))
    by_class = order[np.argsort(labels[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.sort(by_class[(starts[:, None] + np.arange(per)[None, :]).ravel()])


def _examples(correct: torch.Tensor, minimum: int = 10) -> tuple[torch.Tensor, str]:
    """The examples to measure: the correctly classified ones, or all if fewer than ``minimum`` are (a network
    trained too briefly, e.g. at smoke scale), with a note saying which."""
    if int(correct.sum()) >= minimum:
        return correct, "correctly classified"
    return torch.ones_like(correct), "all (too few correctly classified)"


ALEXNET_SPARSENESS_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")


def alexnet_acts(scale: str, n_images: int = 1000, trained: bool = True, seed: int = 0,
                 device=None) -> LayerActs:
    """Full layer maps of the AlexNet-architecture network (``nets.trained_alexnet(scale)``) on test images.

    A seeded balanced subset of ``nets.image_data(scale, "test")``, kept where the *trained* network
    classifies correctly (paper 001's rule), so trained and untrained (``trained=False``: the same
    architecture with PyTorch's default initialisation, seeded) are measured on the same images.
    """
    from . import nets
    from .store import pick_device

    dev = pick_device(None if device is None else str(device))
    model, info = nets.trained_alexnet(scale, device=dev)
    test = nets.image_data(scale, "test")
    sub = test.subset(torch.from_numpy(_balanced(test.labels.numpy(), n_images, seed)))
    layers = {name: nets.ALEXNET_LAYERS[name] for name in ALEXNET_SPARSENESS_LAYERS}
    maps, out = layer_maps(model, layers, sub, device=dev)
    correct = (out.argmax(1).cpu() == sub.labels)
    if not trained:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = nets.AlexNet(len(info["classes"]), info["in_channels"], info["width"], info["pool_size"])
        maps, _ = layer_maps(model, layers, sub, device=dev)
    keep, which = _examples(correct)
    return LayerActs(
        {k: v[keep.to(dev)] for k, v in maps.items()}, sub.labels[keep].to(dev),
        {"network": "AlexNet", "trained": trained, "dataset": info["dataset"], "source": info["source"],
         "input_size": info["input_size"], "width": info["width"], "test_accuracy": info["test_accuracy"],
         "images": int(len(sub)), "correct": int(correct.sum()), "examples": which,
         "model_date": info["provenance"]["date"]},
    )


LENET_LAYERS = ("conv1", "conv2", "fc1", "fc2", "out")


def lenet_layers(net: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The post-ReLU layers of ``locality.LeNet`` (as its ``forward``, which uses functional ReLUs and
    pools): conv1 and conv2 after pool and ReLU, fc1 (the LP layer's input), fc2 (the 49-unit LP or control
    layer after BatchNorm and ReLU) and the output logits."""
    import torch.nn.functional as F

    h1 = F.relu(F.max_pool2d(net.conv1(x), 2))
    h2 = F.relu(F.max_pool2d(net.conv2_drop(net.conv2(h1)), 2))
    logits, inner = net.head(h2.flatten(1), return_activations=True)
    return {"conv1": h1, "conv2": h2, "fc1": inner["lp_in"], "fc2": inner["lp_out"], "out": logits}


@functools.lru_cache(maxsize=2)
def _lenet_images(n_train: int, train_seed: int, n_test: int, test_seed: int) -> tuple:
    """Balanced training and test subsets of ``data.load_digits`` as LeNet inputs: (1, 28, 28), standardised
    with the training subset's pixel mean and std (as ``locality``'s experiment does)."""
    import torch.nn.functional as F

    from . import data

    tr, te = data.load_digits("train"), data.load_digits("test")
    tr_idx, te_idx = _balanced(tr.labels, n_train, train_seed), _balanced(te.labels, n_test, test_seed)

    def prep(d, idx):
        x = torch.from_numpy(d.images[idx]).float().div_(255.0).unsqueeze(1)
        if x.shape[-2:] != (28, 28):  # scikit-learn's 8x8 fallback: LeNet needs 28 x 28
            x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
        return x

    xtr, xte = prep(tr, tr_idx), prep(te, te_idx)
    mean, std = xtr.mean(), xtr.std()
    return ((xtr - mean) / std, torch.from_numpy(tr.labels[tr_idx]), (xte - mean) / std,
            torch.from_numpy(te.labels[te_idx]), tr.name, tr.source)


LENET_ARMS = ("control", "linear")


def _new_lenet(arm_or_decay: str | None, n_classes: int, seed: int, l1: float = 0.0):
    """``locality.LeNet`` built under ``torch.manual_seed(seed)`` (how the locality experiment seeds its
    members), without disturbing the caller's random state."""
    from . import locality

    decay = locality.ARMS[arm_or_decay][0] if arm_or_decay in locality.ARMS else arm_or_decay
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return locality.LeNet(decay, n_classes, 1, 49, 0.5, l1)


def locality_lenets(scale: str, device=None) -> dict | None:
    """The LeNets the locality chapter trained at ``scale``, if a finished run is stored.

    Reads ``results/<scale>/50_locality_prior/lenet-*/`` (``locality.run_experiment``'s cache: ``info.json``,
    ``members.parquet``, the stack's ``model.pt``); takes the run with the most training (training images ×
    epochs, then the newest) that has both arms of ``LENET_ARMS``, and of each arm its lowest seed. Returns
    ``{"nets": {arm: (trained LeNet, initial LeNet)}, "config": ..., "run": folder name}`` or None. The
    initial LeNet is rebuilt as the experiment built it (same seed), so "untrained" is where training began.
    """
    from . import locality
    from .store import pick_device, results_dir

    folder = results_dir(scale, "50_locality_prior", create=False)
    runs = []
    for run in folder.glob("lenet-*") if folder.exists() else []:
        files = [run / f for f in ("result.pt", "model.pt", "members.parquet", "info.json")]
        if not all(f.exists() for f in files):
            continue
        try:
            meta = json.loads((run / "info.json").read_text())
            cfg, members = meta["config"], pd.read_parquet(run / "members.parquet")
            if set(LENET_ARMS) <= set(members["arm"]):
                amount = cfg["n_train"] * cfg["epochs"]
                runs.append((amount, run.stat().st_mtime, run.name, run, meta, members))
        except (OSError, ValueError, KeyError):
            continue  # a run in another format: not ours to repair
    if not runs:
        return None
    *_, run, meta, members = max(runs, key=lambda r: r[:3])
    dev = pick_device(None if device is None else str(device))
    n_cls = len(meta["class_names"])
    nets = [_new_lenet(None if r.decay == "none" else r.decay, n_cls, int(r.seed), float(r.l1))
            for r in members.itertuples()]
    stack = locality.LeNetStack(nets)
    try:
        stack.load_state_dict(torch.load(run / "model.pt", map_location="cpu", weights_only=True))
    except (RuntimeError, ValueError, OSError):
        return None
    out = {}
    for arm in LENET_ARMS:
        i = int(members[members["arm"] == arm]["seed"].idxmin())
        r = members.loc[i]
        start = _new_lenet(None if r.decay == "none" else r.decay, n_cls, int(r.seed), float(r.l1))
        out[arm] = (stack.member(list(members.index).index(i)).to(dev).eval(), start.to(dev).eval())
    return {"nets": out, "config": meta["config"], "run": run.name}


def lenet_acts(scale: str, arm: str = "control", trained: bool = True, n_train: int = 10_000,
               n_images: int = 1000, epochs: int = 3, seed: int = 0, device=None,
               reuse: bool = True) -> LayerActs:
    """Layers of ``locality.LeNet`` (``arm``: ``control``, or ``linear`` = with the locality prior) on test
    images, trained (``trained=True``) or as initialised.

    With ``reuse``, the LeNets the locality chapter trained at this scale (``locality_lenets``) are used when
    stored. Otherwise both arms are trained here as one ``locality.LeNetStack`` with ``locality.train_stack``
    (SGD lr 0.01, momentum 0.5, weight decay 0.01, batch 64, ``epochs``) on ``n_train`` balanced training
    images, once per setting (cached under ``results/<scale>/60_sparseness/lenet-<key>/``). Images: a balanced
    test subset of ``n_images``, kept where the trained network classifies correctly.
    """
    from . import locality
    from .store import pick_device, results_dir

    if arm not in LENET_ARMS:
        raise ValueError(f"arm must be one of {LENET_ARMS}; got {arm!r}")
    dev = pick_device(None if device is None else str(device))
    found = locality_lenets(scale, dev) if reuse else None
    if found is not None:
        cfg = found["config"]
        _, _, xte, yte, name, source = _lenet_images(cfg["n_train"], cfg["data_seed"], n_images, seed)
        net_t, net_0 = found["nets"][arm]
        info = {"trained_by": f"the locality chapter ({found['run']}: {cfg['n_train']} images x "
                              f"{cfg['epochs']} epochs, lr {cfg['lr']})", "n_train": cfg["n_train"]}
    else:
        params = {"n_train": n_train, "epochs": epochs, "seed": seed, "arms": list(LENET_ARMS)}
        folder = results_dir(scale, "60_sparseness") / f"lenet-{_key(params)}"
        xtr, ytr, xte, yte, name, source = _lenet_images(n_train, seed, n_images, seed)
        n_cls = int(ytr.max()) + 1
        stack = locality.LeNetStack([_new_lenet(a, n_cls, seed) for a in LENET_ARMS]).to(dev)
        path = folder / "stack.pt"
        if path.exists():
            state = torch.load(path, map_location=dev, weights_only=False)
            stack.load_state_dict(state["trained"])
            info = state["info"]
        else:
            t0 = time.perf_counter()
            locality.train_stack(stack, xtr.to(dev), ytr.to(dev), [seed] * len(LENET_ARMS), epochs=epochs,
                                 batch_size=64, lr=0.01, momentum=0.5, weight_decay=0.01, seed=seed,
                                 progress=False, desc="LeNet")
            info = {"trained_by": f"this chapter ({n_train} images x {epochs} epochs, lr 0.01)",
                    "train_s": round(time.perf_counter() - t0, 2), "n_train": int(len(ytr))}
            with atomic_path(path) as tmp:
                torch.save({"trained": stack.state_dict(), "info": info}, tmp)
        member = LENET_ARMS.index(arm)
        net_t = stack.member(member).eval()
        net_0 = _new_lenet(arm, n_cls, seed).to(dev).eval()
    with torch.no_grad():
        x = xte.to(dev)
        correct = net_t(x).argmax(1).cpu() == yte
        acts = lenet_layers(net_t if trained else net_0, x)
    keep, which = _examples(correct)
    return LayerActs(
        {k: v[keep.to(dev)] for k, v in acts.items()}, yte[keep].to(dev),
        {"network": f"LeNet ({arm})", "trained": trained, "dataset": name, "source": source,
         "test_accuracy": float(correct.float().mean()), "images": int(len(yte)),
         "correct": int(correct.sum()), "examples": which, **info},
    )


MLP_ACTIVATIONS = ("sigmoid", "relu")


def mlp_acts(scale: str, activation: str = "sigmoid", hidden: tuple[int, ...] = (500,), trained: bool = True,
             n_per_class: int = 50, epochs: int = 225, optimizer: str = "sgd", lr: float = 2.0, seed: int = 0,
             device=None) -> LayerActs:
    """Hidden and output layers of a paper-000 MLP (``localcodes.train``) on its prototype-code training set.

    Trained with ``optimizer`` at ``lr`` for ``epochs`` (the defaults are ``train.BOOK_DEFAULTS``: plain SGD
    at lr 2.0 for 225 epochs, the paper's lr × epochs in 1/200 of the epochs; ``train.PAPER_DEFAULTS`` is SGD
    at 0.01 for 45,000), batch 32, BCE, U(−0.05, 0.05) init; ``trained=False`` is the same network at
    initialisation. Cached under ``results/<scale>/60_sparseness/mlp-<key>/``. Examples: the training
    codewords the trained network classifies correctly (paper 000 counts local codes on the training set).
    """
    from . import train
    from .store import pick_device, results_dir

    if activation not in MLP_ACTIVATIONS:
        raise ValueError(f"activation must be one of {MLP_ACTIVATIONS}; got {activation!r}")
    if optimizer not in train.OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {train.OPTIMIZERS}; got {optimizer!r}")
    dev = pick_device(None if device is None else str(device))
    hidden = tuple(int(h) for h in hidden)
    params = {"activation": activation, "hidden": list(hidden), "n_per_class": n_per_class, "epochs": epochs,
              "optimizer": optimizer, "lr": lr, "seed": seed}
    folder = results_dir(scale, "60_sparseness") / f"mlp-{_key(params)}"
    data = train.code_data(n_per_class=n_per_class, seed=seed)
    cfg = train.TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, batch_size=32,
                            epochs=epochs, seed=seed)
    path = folder / "ensemble.pt"
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=False)
    else:
        # two runs, not one ensemble: an untrained member would ride along through every epoch of the other
        start = train.train(data, cfg.with_(epochs=0), device=dev).ensemble
        res = train.train(data, cfg, device=dev)
        final = res.final.iloc[0]
        trained_ens = res.ensemble
        both = train.Ensemble(
            [torch.cat([a, b]) for a, b in zip(start.weights, trained_ens.weights, strict=True)],
            [torch.cat([a, b]) for a, b in zip(start.biases, trained_ens.biases, strict=True)],
            start.activation, start.softmax)
        state = {"ensemble": both.state_dict(), "info": {
            "train_s": round(res.wall_s, 2), "epochs_run": int(final["epoch"]),
            "train_acc": float(final["train_acc"])}}
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    ens = train.Ensemble.from_state(state["ensemble"], device=dev)
    x = torch.as_tensor(data.X, device=dev)
    out = ens.forward(x)  # (2, N, O): network 0 untrained, 1 trained
    target = torch.as_tensor(data.targets[data.y], device=dev)
    correct = (out[1] - target).abs().amax(-1) < 0.5
    keep, which = _examples(correct)
    r = 1 if trained else 0
    acts = {f"h{i + 1}": h[r] for i, h in enumerate(ens.hidden(x))}
    acts["out"] = out[r]
    labels = torch.as_tensor(data.y, device=dev)
    return LayerActs(
        {k: v[keep] for k, v in acts.items()}, labels[keep],
        {"network": f"MLP {activation} {'-'.join(map(str, hidden))}", "trained": trained,
         "dataset": "prototype code (paper 000)", "source": "generated", "images": int(len(labels)),
         "correct": int(correct.sum()), "examples": which, **state["info"]},
    )


# --- the chapter: every network, trained and untrained ------------------------------------------------------

NETWORKS = ("alexnet", "lenet", "mlp")
ANALYSIS_VERSION = 3  # part of every cache key: bump it when the analysis changes what it computes


def variants(networks: Iterable[str] = NETWORKS,
             mlp_activations: Iterable[str] = MLP_ACTIVATIONS) -> list[dict]:
    """The (network, trained) pairs the chapter measures: ``family``, ``network`` (a label), ``trained``, and
    the loader's own arguments (``arm`` for LeNet, ``activation`` for the MLPs)."""
    networks = list(networks)
    bad = [n for n in networks if n not in NETWORKS]
    if bad or not networks:
        raise ValueError(f"networks must be a non-empty subset of {NETWORKS}; got {networks}")
    out = []
    for fam in networks:
        kinds = {"alexnet": [("AlexNet", {})],
                 "lenet": [(f"LeNet ({a})", {"arm": a}) for a in LENET_ARMS],
                 "mlp": [(f"MLP ({a})", {"activation": a}) for a in mlp_activations]}[fam]
        for label, extra in kinds:
            for trained in (True, False):
                out.append({"family": fam, "network": label, "trained": trained, **extra})
    return out


def analyse_variant(scale: str, variant: dict, settings: Mapping, device=None, cache: bool = True
                    ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load one variant's activations and run ``analyse_layers`` on them, cached per setting.

    ``settings``: ``n_images, draws, lc_draws, max_samples, max_units, n_pairs`` (0 = no cap / N//2),
    ``seed``, and the training settings ``lenet_train, lenet_epochs, mlp_hidden, mlp_epochs, mlp_per_class,
    mlp_optimizer, mlp_lr``. Returns the frames (each with ``network``, ``trained`` and ``variant`` columns)
    and the loader's info.
    """
    from .store import results_dir, write_json

    s = dict(settings)
    fam, trained, seed = variant["family"], variant["trained"], int(s.get("seed", 0))
    if fam == "alexnet":
        from . import nets

        _, info = nets.trained_alexnet(scale, device=device)
        ident = {"model_date": info["provenance"]["date"], "n_images": s["n_images"]}

        def load():
            return alexnet_acts(scale, s["n_images"], trained, seed, device)
    elif fam == "lenet":
        found = locality_lenets(scale)
        ident = {k: s[k] for k in ("n_images", "lenet_train", "lenet_epochs")} | {"arm": variant["arm"]}
        ident["lenet_source"] = found["run"] if found else "own"

        def load():
            return lenet_acts(scale, variant["arm"], trained, s["lenet_train"], s["n_images"],
                              s["lenet_epochs"], seed, device)
    else:
        ident = {k: s[k] for k in ("mlp_hidden", "mlp_epochs", "mlp_per_class", "mlp_optimizer", "mlp_lr")}
        ident["activation"] = variant["activation"]

        def load():
            return mlp_acts(scale, variant["activation"], tuple(s["mlp_hidden"]), trained, s["mlp_per_class"],
                            s["mlp_epochs"], s["mlp_optimizer"], s["mlp_lr"], seed, device)

    analysis = {k: s[k] for k in ("draws", "lc_draws", "max_samples", "max_units", "n_pairs")}
    params = {"version": ANALYSIS_VERSION, "family": fam, "trained": trained, "seed": seed, **ident,
              **analysis}
    name = f"{variant['network']}, {'trained' if trained else 'untrained'}"
    folder = results_dir(scale, "60_sparseness") / f"analysis-{_key(params)}"
    holder: dict = {}

    def compute():
        t0 = time.perf_counter()
        la = load()
        frames = analyse_layers(
            la.acts, la.labels, draws=s["draws"], seed=seed, n_pairs=s["n_pairs"] or None,
            max_samples=s["max_samples"] or None, max_units=s["max_units"] or None, lc_draws=s["lc_draws"])
        holder["info"] = {**la.info, "analysis_s": round(time.perf_counter() - t0, 2)}
        write_json(folder / "info.json", holder["info"])
        return frames

    frames = cached(folder, params, compute) if cache else compute()
    info = holder.get("info")
    if info is None:
        info = json.loads((folder / "info.json").read_text())
    tagged = {k: f.assign(network=variant["network"], trained=trained, variant=name)
              for k, f in frames.items()}
    return tagged, info


def analyse_all(scale: str, settings: Mapping, networks: Iterable[str] = NETWORKS, device=None,
                progress: bool = True) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """``analyse_variant`` for every variant of ``networks``: the frames concatenated, and one info row per
    variant (data set, accuracy, examples measured, times)."""
    from .store import progress_bar as tqdm

    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ANALYSIS_FRAMES}
    infos = []
    for v in tqdm(variants(networks), desc="networks", disable=not progress):
        frames, info = analyse_variant(scale, v, settings, device)
        for k in ANALYSIS_FRAMES:
            if len(frames[k]):
                parts[k].append(frames[k])
        infos.append({**info, "model": info.get("network"), "network": v["network"], "trained": v["trained"]})
    return {k: pd.concat(p, ignore_index=True) if p else pd.DataFrame() for k, p in parts.items()}, \
        pd.DataFrame(infos)


# --- figures (altair; parameters bound to dropdowns, so they stay interactive in the static book) -----------

MEASURES = {
    "nonzero": "share of non-zero activations",
    "population_hoyer": "population sparseness (Hoyer)",
    "lifetime_hoyer": "lifetime sparseness (Hoyer)",
    "population_kurtosis": "population kurtosis",
    "lifetime_kurtosis": "lifetime kurtosis",
    "population_vinje_gallant": "population sparseness (Vinje-Gallant)",
    "lifetime_vinje_gallant": "lifetime sparseness (Vinje-Gallant)",
    "decorrelation": "decorrelation between images (1 - r)",
}


def _state(trained) -> str:
    return "trained" if bool(trained) else "untrained"


def _dropdown(name: str, options: list, label: str):
    import altair as alt

    return alt.param(name=name, value=options[0], bind=alt.binding_select(options=options, name=label))


def depth_chart(layers: pd.DataFrame, measures: Mapping[str, str] | None = None, title: str = "",
                width: int = 460, height: int = 260):
    """Each measure across the layers of a network, trained vs untrained; dropdowns: network and measure.

    ``layers``: ``analyse_all``'s ``layers`` frame. Decorrelation is drawn with its confidence interval.
    """
    import altair as alt

    measures = dict(measures or MEASURES)
    rows = []
    for r in layers.itertuples(index=False):
        for key, label in measures.items():
            value = getattr(r, key)
            low = r.decorrelation_low if key == "decorrelation" else value
            high = r.decorrelation_high if key == "decorrelation" else value
            rows.append({"network": r.network, "state": _state(r.trained), "layer": r.layer, "depth": r.depth,
                         "measure": label, "value": value, "low": low, "high": high})
    data = pd.DataFrame(rows)
    net = _dropdown("net", list(pd.unique(data["network"])), "network ")
    meas = _dropdown("measure", list(measures.values()), "measure ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter(
        "datum.network == net && datum.measure == measure")
    color = alt.Color("state:N", title=None, scale=alt.Scale(domain=["trained", "untrained"]))
    tips = ["network:N", "state:N", "layer:N", alt.Tooltip("value:Q", format=".3f")]
    lines = base.mark_line(point=True).encode(x=x, y=alt.Y("value:Q", title="value"), color=color,
                                              tooltip=tips)
    bars = base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=color)
    return alt.layer(lines, bars).add_params(net, meas)


def blog_chart(layers: pd.DataFrame, title: str = "", width: int = 460, height: int = 260):
    """The blog's second figure: sparsening (share of zeros) and decorrelation (1 − r, with its interval)
    across depth, for the network chosen in a dropdown; solid = trained, dashed = untrained."""
    import altair as alt

    rows = []
    for r in layers.itertuples(index=False):
        common = {"network": r.network, "state": _state(r.trained), "layer": r.layer, "depth": r.depth}
        rows.append({**common, "series": "share of zero activations", "value": 1 - r.nonzero,
                     "low": 1 - r.nonzero, "high": 1 - r.nonzero})
        rows.append({**common, "series": "decorrelation (1 - r)", "value": r.decorrelation,
                     "low": r.decorrelation_low, "high": r.decorrelation_high})
    data = pd.DataFrame(rows)
    net = _dropdown("net", list(pd.unique(data["network"])), "network ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    color = alt.Color("series:N", title=None,
                      scale=alt.Scale(domain=["share of zero activations", "decorrelation (1 - r)"],
                                      range=["#1f77b4", "#d62728"]))
    dash = alt.StrokeDash("state:N", title=None, scale=alt.Scale(domain=["trained", "untrained"]))
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter("datum.network == net")
    lines = base.mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title="share of zeros / decorrelation"), color=color, strokeDash=dash,
        tooltip=["layer:N", "state:N", "series:N", alt.Tooltip("value:Q", format=".3f")])
    bars = base.mark_rule().encode(x=x, y="low:Q", y2="high:Q", color=color)
    return alt.layer(lines, bars).add_params(net)


def histogram_chart(hists: pd.DataFrame, layers: pd.DataFrame, columns: int = 4, width: int = 150,
                    height: int = 100):
    """Histograms of the non-zero activations, one panel per layer, counts on a log axis, with the share of
    non-zero activations written in each panel (as in the blog); a dropdown chooses the network.

    ``hists`` and ``layers``: ``analyse_all``'s frames of the same name.
    """
    import altair as alt

    share = layers.set_index(["variant", "layer"])["nonzero"]
    data = hists[hists["count"] > 0][["variant", "layer", "depth", "start", "end", "count"]]
    labels = share.reset_index().merge(layers[["variant", "layer", "depth"]], on=["variant", "layer"])
    labels = labels.assign(text=labels["nonzero"].map(lambda v: f"{v:.1%} non-zero"))
    both = pd.concat([data.assign(kind="bar"), labels.assign(kind="text")], ignore_index=True)
    which = _dropdown("which", list(pd.unique(layers["variant"])), "network ")
    base = alt.Chart(width=width, height=height)
    bars = base.transform_filter("datum.kind == 'bar'").mark_bar().encode(
        x=alt.X("start:Q", title="activation"), x2="end:Q",
        y=alt.Y("count:Q", scale=alt.Scale(type="log"), title="count (log)"),
        y2=alt.datum(0.5),  # a log axis has no zero: bars start just below a count of 1
        tooltip=[alt.Tooltip("start:Q", format=".3g"), alt.Tooltip("end:Q", format=".3g"), "count:Q"])
    text = base.transform_filter("datum.kind == 'text'").mark_text(
        align="right", baseline="top", fontSize=11).encode(
        text="text:N", x=alt.value(width - 4), y=alt.value(4))
    return alt.layer(bars, text, data=both).facet(
        facet=alt.Facet("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title=None),
        columns=columns,
    ).transform_filter("datum.variant == which").resolve_scale(x="independent", y="independent").add_params(
        which)


def basis_chart(summary: pd.DataFrame, title: str = "", width: int = 460, height: int = 260):
    """The basis test per layer: the neuron basis (red dot) against the random bases (grey bar from the
    smallest to the largest value over the draws, tick at their mean); dropdowns choose network and statistic.

    ``summary``: ``basis_summary(values, by=["variant", "layer", "depth"])`` reset to columns.
    """
    import altair as alt

    data = summary.assign(measure=summary["statistic"].map(lambda s: MEASURES.get(s, s)))
    data = data[["variant", "layer", "depth", "measure", "neuron", "random_mean", "random_min", "random_max",
                 "z"]]
    which = _dropdown("which", list(pd.unique(data["variant"])), "network ")
    meas = _dropdown("stat", list(pd.unique(data["measure"])), "statistic ")
    x = alt.X("layer:N", sort=alt.EncodingSortField(field="depth", op="min"), title="layer (input → output)")
    base = alt.Chart(data, width=width, height=height, title=title).transform_filter(
        "datum.variant == which && datum.measure == stat")
    tips = ["layer:N", alt.Tooltip("neuron:Q", format=".3f"), alt.Tooltip("random_mean:Q", format=".3f"),
            alt.Tooltip("random_min:Q", format=".3f"), alt.Tooltip("random_max:Q", format=".3f"),
            alt.Tooltip("z:Q", format=".1f")]
    spread = base.mark_rule(strokeWidth=6, opacity=0.5, color="grey").encode(
        x=x, y=alt.Y("random_min:Q", title="value"), y2="random_max:Q", tooltip=tips)
    mean = base.mark_tick(color="black", thickness=2, size=14).encode(x=x, y="random_mean:Q", tooltip=tips)
    neuron = base.mark_point(filled=True, color="#d62728", size=70).encode(x=x, y="neuron:Q", tooltip=tips)
    return alt.layer(spread, mean, neuron).add_params(which, meas)


# --- tables for the chapter ------------------------------------------------------------------------------


def sparsening_vs_decorrelation(layers: pd.DataFrame, skip_output: bool = True) -> pd.DataFrame:
    """Per variant: Spearman's rho (and p) across layers between the share of zeros and the decorrelation
    (the blog's second figure in one number). ``skip_output`` leaves out the last layer (a linear read-out
    with no zeros), which would otherwise dominate the rank order."""
    rows = []
    for variant, g in layers.groupby("variant", sort=False):
        g = g.sort_values("depth")
        if skip_output:
            g = g.iloc[:-1]
        zeros, dec = 1 - g["nonzero"].to_numpy(), g["decorrelation"].to_numpy()
        ok = np.isfinite(zeros) & np.isfinite(dec)
        rho, p = (sps.spearmanr(zeros[ok], dec[ok]) if ok.sum() >= 3 and np.ptp(zeros[ok]) > 0
                  else (np.nan, np.nan))
        rows.append({"variant": variant, "layers": int(ok.sum()), "spearman_rho": float(rho), "p": float(p)})
    return pd.DataFrame(rows).set_index("variant")


def local_code_table(local_codes_frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant and layer: local codes in the neuron basis against the random bases (mean and max over
    draws), all and on-codes only, and the share of random bases with at least as many on-code units."""
    lc = local_codes_frame
    if lc.empty:
        return pd.DataFrame()
    keys = ["variant", "layer", "depth"]
    neuron = lc[lc["basis"] == "neuron"].set_index(keys)
    rnd = lc[lc["basis"] == "random"].merge(
        neuron[["local_units_on"]].rename(columns={"local_units_on": "neuron_on"}).reset_index(), on=keys)
    g = rnd.groupby(keys, sort=False)
    out = pd.DataFrame({
        "units": neuron["units"],
        "neuron_local_units": neuron["local_units"],
        "neuron_on_units": neuron["local_units_on"],
        "random_local_units": g["local_units"].mean(),
        "random_on_units": g["local_units_on"].mean(),
        "random_on_units_max": g["local_units_on"].max(),
        "share_random_on_ge": (g.apply(lambda d: (d["local_units_on"] >= d["neuron_on"]).mean(),
                                       include_groups=False)),
    })
    return out.reset_index().sort_values(["variant", "depth"], kind="stable").set_index(["variant", "layer"])


def advantage_table(basis: pd.DataFrame, layers: pd.DataFrame, statistic: str = "population_hoyer"
                    ) -> pd.DataFrame:
    """Per variant and layer: the neuron basis's advantage in ``statistic`` (neuron − mean of random bases,
    and z over the draws) beside the share of non-zero activations and the local codes found (neuron basis).
    """
    summ = basis_summary(basis, by=["variant", "layer", "depth"]).reset_index()
    summ = summ[summ["statistic"] == statistic].drop(columns="statistic")
    cols = ["variant", "layer", "nonzero", "lc_units", "lc_units_on", "units"]
    cols = [c for c in cols if c in layers.columns]
    out = summ.merge(layers[cols], on=["variant", "layer"])
    out = out.rename(columns={"neuron": f"neuron_{statistic}", "random_mean": f"random_{statistic}"})
    keep = ["variant", "layer", "depth", "units", "nonzero", f"neuron_{statistic}", f"random_{statistic}",
            "advantage", "z", "p", "lc_units", "lc_units_on"]
    return out[[c for c in keep if c in out.columns]].sort_values(["variant", "depth"], kind="stable") \
        .set_index(["variant", "layer"])


# --- benchmark ----------------------------------------------------------------------------------------------


def _timed(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up), in seconds."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench sparseness``: the basis test's design choices against their alternatives.

    (1) random bases by batched Householder QR (``torch.linalg.qr``, what ``random_bases`` uses) vs a
    Python loop of Householder QRs vs batched Cholesky QR applied twice (CholeskyQR2); (2) the statistics of
    all draws batched in one tensor program vs one draw at a time. Prints the times and ratios of one run
    (best of ``--repeats``, after a warm-up) and returns them.
    """
    import argparse

    from .store import device_name, pick_device

    ap = argparse.ArgumentParser(prog="localcodes bench sparseness", description=bench_main.__doc__)
    ap.add_argument("--units", type=int, default=256, help="layer width U (default 256)")
    ap.add_argument("--samples", type=int, default=5000, help="samples (rows) per layer (default 5000)")
    ap.add_argument("--draws", type=int, default=10, help="random bases (default 10)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported (default 3)")
    ap.add_argument("--device", default=None, help="cpu, cuda or auto (default: auto)")
    args = ap.parse_args(argv)
    if min(args.units, args.samples, args.draws, args.repeats) < 1:
        ap.error("--units, --samples, --draws and --repeats must be >= 1")
    dev = pick_device(args.device)
    u, d = args.units, args.draws
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(d, u, u, generator=gen, dtype=torch.float64).to(dev)
    x = torch.relu(torch.randn(args.samples, u, generator=gen) - 0.5).to(dev)

    def householder_loop():
        for i in range(d):
            torch.linalg.qr(z[i])

    t = {
        "bases: Householder QR, batched": _timed(lambda: torch.linalg.qr(z), args.repeats),
        "bases: Householder QR, loop": _timed(householder_loop, args.repeats),
        "bases: CholeskyQR2, batched": _timed(lambda: _cholesky_qr(_cholesky_qr(z)[0]), args.repeats),
        "basis test: draws batched": _timed(lambda: basis_values(x, draws=d, chunk=d, dtype=torch.float32),
                                            args.repeats),
        "basis test: one draw at a time": _timed(
            lambda: basis_values(x, draws=d, chunk=1, dtype=torch.float32), args.repeats),
    }
    batched = t["bases: Householder QR, batched"]
    ratios = {
        "Householder loop / batched": t["bases: Householder QR, loop"] / batched,
        "CholeskyQR2 / Householder batched": t["bases: CholeskyQR2, batched"] / batched,
        "one draw at a time / batched": t["basis test: one draw at a time"] / t["basis test: draws batched"],
    }
    print(f"device: {device_name(dev)}; U={u}, samples={args.samples}, draws={d}, best of {args.repeats}")
    for k, v in t.items():
        print(f"  {k:<36s} {v * 1000:9.1f} ms")
    for k, v in ratios.items():
        print(f"  {k:<36s} {v:9.2f}x")
    return {"seconds": t, "ratios": ratios, "device": device_name(dev), **vars(args)}
