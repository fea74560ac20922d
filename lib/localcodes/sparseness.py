"""Sparseness across layers, and whether the neuron basis is special (as the blog post *The basis of feature
spaces in deep networks* argued).

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
every (image, position) is one sample of the C-dimensional channel space (``as_samples``). ``layer_maps``
records whole layers of a network and ``analyse_layers`` measures all of the above, layer by layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import torch
from scipy import stats as sps

from .selectivity import local_codes
from .selectivity.extract import capture, resolve_modules
from .store import pick_device, progress_bar
from .verdicts import Verdict, judge_difference

__all__ = [
    "STATISTICS",
    "MEASURES",
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
    "draw_seed",
    "random_bases",
    "stats_along",
    "basis_values",
    "basis_summary",
    "basis_test",
    "local_codes_in_bases",
    "layer_maps",
    "ANALYSIS_FRAMES",
    "analyse_layers",
    "hidden_layers",
    "alignment_table",
    "judge_alignment",
    "depth_trends",
    "DEPTH_CLAIMS",
    "judge_depth_claims",
]

# readable names of the per-layer measures (table columns and chart labels)
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
    pop, life = stats_along(x, -1, fns), stats_along(x, -2, [*fns, "kurtosis"])
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


def draw_seed(seed: int, draw: int) -> int:
    """An independent seed for each (seed, draw), so draw i is the same however draws are chunked."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1, dtype=np.uint64)[0] >> 1)


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
        torch.randn(dim, k, generator=torch.Generator().manual_seed(draw_seed(seed, start + i)),
                    dtype=torch.float64)
        for i in range(draws)
    ]).to(device=device)
    q, r = torch.linalg.qr(z)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    q = q * torch.where(signs == 0, torch.ones_like(signs), signs).unsqueeze(-2)
    return q.to(dtype)


def stats_along(x: torch.Tensor, dim: int, names: Iterable[str]) -> dict[str, torch.Tensor]:
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
    pop, life = stats_along(x, -1, fns), stats_along(x, -2, fns)
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
    names = resolve_modules(model, layers)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    dev = pick_device(None if device is None else str(device))
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

    def keep(out: torch.Tensor) -> torch.Tensor:
        # a copy: a later in-place op (ReLU(inplace=True)) must not change what we keep
        return out.detach().to(torch.float32, copy=True)

    try:
        with torch.no_grad(), capture(model, names, transform=keep) as captured:
            for x in batches:
                captured.clear()
                outputs.append(model(x.to(dev)).detach().float())
                for label in names:
                    parts[label].append(captured[label])
    finally:
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
    if not acts:
        raise ValueError("acts must hold at least one layer")
    rows, basis, hists, codes = [], [], [], []
    for depth, (layer, a) in enumerate(progress_bar(acts.items(), desc="layers", disable=not progress, leave=False)):
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


# --- the blog's claims, judged (``localcodes.verdicts``) -----------------------------------------------------


def hidden_layers(layers: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``layers`` (``variant``, ``depth``, …) that are hidden layers: each variant's last layer (the
    read-out) left out."""
    last = layers.groupby("variant")["depth"].transform("max")
    return layers[layers["depth"] < last]


def alignment_table(post: pd.DataFrame, pre: pd.DataFrame, layers: pd.DataFrame,
                    statistic: str = "population_hoyer", rectified_only: bool = True) -> pd.DataFrame:
    """Per network and state: the neuron basis's advantage in ``statistic`` (neuron − mean of random bases)
    averaged over the hidden layers, after the non-linearity (``post``) and before it (``pre``), and the share
    of hidden layers where the neuron basis beats every random basis. ``rectified_only``: only the hidden layers
    with exact zeros (in either state of the network), since the question "learning or rectification?" is
    about ReLU layers; a sigmoid layer has no zeros to make its basis special.

    ``post`` and ``pre``: ``basis_values`` frames with ``network``, ``trained``, ``variant``, ``layer`` and
    ``depth`` columns. The advantage, not z: z divides by the spread over random bases, which shrinks with the
    number of samples, so it grows with the layer's size as much as with the effect."""
    keys = ["network", "trained", "variant", "layer", "depth"]
    hidden = hidden_layers(layers)
    if rectified_only:
        zeros = (hidden["nonzero"] < 1).groupby([hidden["network"], hidden["layer"]]).transform("any")
        hidden = hidden[zeros]
    hidden = hidden[["variant", "layer"]]
    rows = []
    for stage, values in (("post", post), ("pre", pre)):
        if values is None or not len(values):
            continue
        s = basis_summary(values, by=keys).reset_index()
        s = s[s["statistic"] == statistic].merge(hidden, on=["variant", "layer"])
        rows.append(s.assign(stage=stage, beats=s["share_random_ge"] == 0))
    if not rows:
        return pd.DataFrame()
    both = pd.concat(rows, ignore_index=True)
    table = both.pivot_table(index=["network", "trained"], columns="stage", values=["advantage", "beats"],
                             aggfunc="mean", sort=False)
    table.columns = [f"{stage}_{'advantage' if v == 'advantage' else 'share_beating_all'}"
                     for v, stage in table.columns]
    table["hidden_layers"] = both[both["stage"] == "post"].groupby(["network", "trained"])["layer"].nunique()
    return table


def judge_alignment(table: pd.DataFrame, stage: str = "pre") -> Verdict:
    """"Learning aligns activity with the neurons": the neuron basis's advantage (``alignment_table``) of
    trained above untrained, paired by network (the unit: one network of each architecture and arm)."""
    col = f"{stage}_advantage"
    if col not in table.columns:
        return judge_difference([], [], "greater")
    wide = table[col].unstack("trained")
    if True not in wide.columns or False not in wide.columns:
        return judge_difference([], [], "greater")
    return judge_difference(wide[True].to_numpy(), wide[False].to_numpy(), "greater", paired=True)


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return np.nan
    return float(sps.spearmanr(x[ok], y[ok])[0])


def depth_trends(layers: pd.DataFrame, min_layers: int = 3) -> pd.DataFrame:
    """Per variant with at least ``min_layers`` rectified hidden layers (with exact zeros): what the blog's
    claims about depth predict, one number each.

    ``rho_depth_zeros``: Spearman's rho of depth and the share of zeros (sparser with depth: > 0);
    ``top_minus_peak``: the share of zeros of the last hidden layer minus the largest of the earlier ones (less
    sparse towards the output: < 0); ``rho_zeros_decorrelation``: Spearman's rho of the share of zeros and the
    decorrelation across those layers (decorrelation goes with sparsening: > 0)."""
    rows = []
    for variant, g in hidden_layers(layers).groupby("variant", sort=False):
        g = g[g["nonzero"] < 1].sort_values("depth")
        if len(g) < min_layers:
            continue
        zeros = 1 - g["nonzero"].to_numpy()
        rows.append({"variant": variant, "network": g["network"].iloc[0], "trained": bool(g["trained"].iloc[0]),
                     "layers": len(g), "rho_depth_zeros": _rho(g["depth"].to_numpy(float), zeros),
                     "top_minus_peak": float(zeros[-1] - zeros[:-1].max()),
                     "rho_zeros_decorrelation": _rho(zeros, g["decorrelation"].to_numpy())})
    cols = ["variant", "network", "trained", "layers", "rho_depth_zeros", "top_minus_peak",
            "rho_zeros_decorrelation"]
    return pd.DataFrame(rows, columns=cols).set_index("variant")


DEPTH_CLAIMS = {  # column of ``depth_trends`` → the direction the blog's claim predicts
    "rho_depth_zeros": "greater",
    "top_minus_peak": "less",
    "rho_zeros_decorrelation": "greater",
}


def judge_depth_claims(trends: pd.DataFrame, trained: bool = True) -> dict[str, Verdict]:
    """The blog's three claims about depth (``DEPTH_CLAIMS``), each judged across the networks of one state
    (the unit: a network; its layers are one ordered sequence, not independent observations) by a one-sample
    t-test of the per-network number against 0."""
    rows = trends[trends["trained"] == trained] if len(trends) else trends
    out = {}
    for col, expected in DEPTH_CLAIMS.items():
        x = rows[col].to_numpy(float) if len(rows) else np.array([])
        out[col] = judge_difference(x, np.zeros_like(x), expected, paired=True)
    return out
