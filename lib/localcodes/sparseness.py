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

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

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
    for name, fn in fns.items():
        out[f"population_{name}"] = float(_nanmean(fn(x, dim=-1)))
        out[f"lifetime_{name}"] = float(_nanmean(fn(x, dim=-2)))
    out["silent_samples"] = int((x.abs() <= eps).all(dim=1).sum())
    out["dead_units"] = int(kurtosis(x, dim=-2).isnan().sum())
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
    """Q, R of a batch of tall matrices by Cholesky QR (R = chol(ZᵀZ) upper, Q = Z R⁻¹).

    It gives the unique QR factorisation with a positive diagonal of R, like Householder QR with the signs of
    R's diagonal folded into Q, but as matrix products, which batch well on every device (torch's batched
    Householder QR is several times slower on the CPU).
    """
    r = torch.linalg.cholesky(z.mT @ z, upper=True)
    return torch.linalg.solve_triangular(r, z, upper=True, left=False), r


def random_bases(dim: int, draws: int, n_directions: int | None = None, seed: int = 0,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float64,
                 start: int = 0) -> torch.Tensor:
    """Random orthonormal frames of R^dim number ``start`` … ``start + draws − 1``: a (draws, dim, k) tensor.

    The Q factor of a Gaussian matrix's QR factorisation with positive diagonal R: Haar-distributed
    (Mezzadri 2007), with orthonormal columns; ``k = n_directions`` (default ``dim``: full bases). Draw i's
    Gaussian matrix comes from its own seeded CPU generator, so a (seed, i) gives the same basis on every
    device and in any chunking. The factorisation runs on ``device`` in float64, all draws batched, by
    Cholesky QR applied twice (CholeskyQR2: orthonormal to rounding error for the well-conditioned Gaussian
    matrices), falling back to Householder QR if a Cholesky factorisation fails.
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
    try:
        q, _ = _cholesky_qr(z)
        q, _ = _cholesky_qr(q)
    except torch.linalg.LinAlgError:
        q, r = torch.linalg.qr(z)
        signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
        q = q * torch.where(signs == 0, torch.ones_like(signs), signs).unsqueeze(-2)
    return q.to(dtype)


def _measure(x: torch.Tensor, fns: Mapping[str, Callable[..., torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Mean population and lifetime value of each statistic of (..., samples, units) → tensors (...)."""
    out = {}
    for name, fn in fns.items():
        out[f"population_{name}"] = _nanmean(fn(x, dim=-1))
        out[f"lifetime_{name}"] = _nanmean(fn(x, dim=-2))
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
    Draws are computed ``chunk`` at a time, batched (default: as many as fit in ~256 MB).
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
        chunk = max(1, min(draws, (256 * 2**20) // max(1, (m * k + u * k) * item * 3)))
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
    ``draw`` (-1 = neuron basis), ``units`` (directions measured), ``codes`` ((unit, class) local codes, on
    and off) and ``local_units`` (units with at least one).
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
    rotated = torch.matmul(x, q).view(draws, n, positions, k).amax(2)  # (draws, N, k)
    both = torch.cat([neuron, rotated.permute(1, 0, 2).reshape(n, draws * k)], dim=1)
    y = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(np.asarray(labels))
    codes = local_codes(both, y.to(both.device))
    basis_of = np.repeat(np.arange(-1, draws), k)
    per_code = basis_of[codes["unit"].to_numpy()]
    per_unit = basis_of[np.unique(codes["unit"].to_numpy())]
    return pd.DataFrame({
        "basis": ["neuron"] + ["random"] * draws,
        "draw": np.arange(-1, draws),
        "units": k,
        "codes": np.bincount(per_code + 1, minlength=draws + 1),
        "local_units": np.bincount(per_unit + 1, minlength=draws + 1),
    })
