"""Formula-driven fractal categories: many image classes without a download.

In the manner of FractalDB (Kataoka et al., *Pre-training without Natural Images*, ACCV 2020): every category is
an iterated function system (IFS), a few random affine maps ``(x, y) -> A (x, y) + t`` whose attractor is a
fractal; images are rendered by the chaos game (start on the attractor, apply a randomly chosen map again and
again, each map with probability proportional to ``|det A|``, and count where the points land). A drawn system
is kept as a category only if its attractor fills enough of the image (``min_fill``: the share of pixels hit at
32 px, fitted to the square), which throws out degenerate systems that collapse onto a point, a line or a thin
curve, as FractalDB's filling-rate filter does.

How instances vary: each instance perturbs its category's system (every map's six parameters moved by a uniform
amount in ``[-jitter, jitter]``, maps kept contractive) and is flipped left-right and/or upside-down at random
(``flips``); the chaos game's own randomness differs between instances too. Every instance is fitted to the
image (centred, aspect ratio kept), so position and scale say nothing about the class.

Randomness is counter-based (a hash of seed, class, instance and a counter), so an image depends only on
``(seed, class, instance, size, ...)``: not on batching, on ``n_classes`` or on ``n_per_class`` (the first
classes of a larger request are the classes of a smaller one; ``first_instance`` gives further, disjoint
instances, e.g. a test split). The computation is numpy on the CPU, with integer histograms and no transcendental
functions, so one seed gives identical arrays on every run on a machine (other CPUs and numpy versions are
expected to agree but only same-machine equality is tested).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["fractal_images", "FRACTAL_VERSION", "MAX_CLASSES", "MIN_SIZE"]

# part of every cache key: bump it whenever the images a set of arguments gives change
FRACTAL_VERSION = "fractals-1"
MAX_CLASSES = 1000
MIN_SIZE = 8
MAX_SIZE = 1024
MAX_MAPS = 8
MAX_ATTEMPTS = 1000  # candidate systems per category before giving up on min_fill

_SIGMA_CATEGORY = 0.9  # largest singular value of a category's maps: contractive, so an attractor exists
_SIGMA_INSTANCE = 0.95  # a jittered map is shrunk back to this, so the chaos game never diverges
_DET_FLOOR = 0.02  # probability floor (share of |det|) so a map with a tiny determinant still shows
_FILTER_SIZE, _FILTER_POINTS = 32, 2048
_WARM = 8  # steps before recording: walkers start together on a fixed point and need a few steps to spread
_BATCH_POINTS = 1 << 22  # points per batch of images (memory: about 20 bytes a point)
_BATCH_BINS = 1 << 24  # histogram bins per batch (int64 counts; also keeps the int32 pixel index from overflowing)
# requests above this many points (about three seconds to render here) are cached when cache=None: a chapter's
# 5,000-image test split (8 · 10⁷ points, 15 s) is then rendered once per machine, not once per chapter
_AUTO_CACHE_POINTS = 1 << 24
_PROGRESS_POINTS = 1 << 24  # smaller requests show no progress bar

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_CATEGORY_TAG = 1 << 40  # instance-key offset for a category's filter renders (instances stay below 2**31)
_JITTER_CTR, _FLIP_CTR = 1 << 40, 1 << 41  # counters of the instance draws, far above the chaos game's


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (uint64 arrays, wrapping): the counter-based hash behind every random draw."""
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


def _keys(seed: int, classes: np.ndarray, instances: np.ndarray) -> np.ndarray:
    """One uint64 key per image, a function of (seed, class, instance) only."""
    z = _mix(np.full(len(classes), seed, dtype=np.uint64) * _G + np.uint64(1))
    z = _mix(z ^ (np.asarray(classes, dtype=np.uint64) * _G))
    return _mix(z ^ (np.asarray(instances, dtype=np.uint64) * _G + np.uint64(7)))


def _uniform(keys: np.ndarray, first: int, n: int) -> np.ndarray:
    """(len(keys), n) float64 uniforms in [0, 1) from counters first..first+n-1 of each key."""
    ctr = (np.arange(n, dtype=np.uint64) + np.uint64(first)) * _G
    return (_mix(keys[:, None] + ctr[None, :]) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _sigma_max(lin: np.ndarray) -> np.ndarray:
    """Largest singular value of 2x2 matrices given as (..., 4) rows (a, b, c, d)."""
    a, b, c, d = np.moveaxis(lin, -1, 0)
    s = a * a + b * b + c * c + d * d
    det = a * d - b * c
    return np.sqrt(0.5 * (s + np.sqrt(np.maximum(s * s - 4 * det * det, 0.0))))


def _probabilities(lin: np.ndarray, n_maps: np.ndarray) -> np.ndarray:
    """(n, K) map probabilities ∝ |det A| (floored), 0 for the padding beyond each system's n_maps."""
    det = np.abs(lin[..., 0] * lin[..., 3] - lin[..., 1] * lin[..., 2])
    real = np.arange(lin.shape[1])[None, :] < n_maps[:, None]
    det = np.where(real, det, 0.0)
    det = np.where(real, np.maximum(det, _DET_FLOOR * det.sum(1, keepdims=True)), 0.0)
    return det / det.sum(1, keepdims=True)


def _hsv_colours(h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] of hues ``h`` and saturations ``s`` at full value (arithmetic only), shape (..., 3)."""
    h6 = (h % 1.0) * 6.0
    i = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    one = np.ones_like(h)
    p, q, t = 1.0 - s, 1.0 - f * s, 1.0 - (1.0 - f) * s
    table = np.stack([np.stack(c, -1) for c in
                      ((one, t, p), (q, one, p), (p, one, t), (p, q, one), (t, p, one), (one, p, q))], 0)
    return np.take_along_axis(table, i[None, ..., None], 0)[0]


def _draw_system(rng: np.random.Generator, maps: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    """One candidate system: its number of maps and (MAX_MAPS, 4) linear parts, (MAX_MAPS, 2) shifts (padded)."""
    n = int(rng.integers(maps[0], maps[1] + 1))
    lin = np.zeros((MAX_MAPS, 4))
    got = 0
    while got < n:  # FractalDB's parameters are uniform in [-1, 1]; keep the contractive maps
        draw = rng.uniform(-1.0, 1.0, size=(4 * n, 4))
        draw = draw[_sigma_max(draw) <= _SIGMA_CATEGORY][: n - got]
        lin[got : got + len(draw)] = draw
        got += len(draw)
    shift = np.zeros((MAX_MAPS, 2))
    shift[:n] = rng.uniform(-1.0, 1.0, size=(n, 2))
    return n, lin, shift


def _categories(n_classes: int, seed: int, maps: tuple[int, int], min_fill: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each class's IFS (n_maps, linear parts, shifts) and map colours; class c's from its own random stream,
    redrawn until its attractor fills ``min_fill`` of a 32-px image (all pending classes rendered at once)."""
    n_maps = np.zeros(n_classes, dtype=np.int64)
    lin = np.zeros((n_classes, MAX_MAPS, 4))
    shift = np.zeros((n_classes, MAX_MAPS, 2))
    rngs = [np.random.default_rng([seed, c, 1]) for c in range(n_classes)]
    pending = np.arange(n_classes)
    for attempt in range(MAX_ATTEMPTS):
        for c in pending:
            n_maps[c], lin[c], shift[c] = _draw_system(rngs[c], maps)
        keys = _keys(seed, pending, np.full(len(pending), _CATEGORY_TAG + attempt))
        used = lin[pending][:, : maps[1]]
        counts = _chaos(used, shift[pending][:, : maps[1]], _probabilities(used, n_maps[pending]), keys,
                        _FILTER_POINTS, _FILTER_SIZE, per_map=False)
        fill = (counts[:, 0] > 0).mean(axis=(1, 2))
        pending = pending[fill < min_fill]
        if not len(pending):
            break
    else:
        raise RuntimeError(f"no system with min_fill >= {min_fill} found in {MAX_ATTEMPTS} tries for classes "
                           f"{pending[:5].tolist()}; lower min_fill")
    colour_rng = np.random.default_rng([seed, 2])  # colours do not affect the filter: one stream for all
    hue = colour_rng.uniform(size=(MAX_CLASSES, MAX_MAPS))[:n_classes]
    sat = colour_rng.uniform(0.5, 1.0, size=(MAX_CLASSES, MAX_MAPS))[:n_classes]
    return n_maps, lin, shift, _hsv_colours(hue, sat)


def _walk_shape(n_points: int) -> tuple[int, int]:
    """(walkers, recorded steps) per image: many walkers make long vectors, enough steps let each walk mix."""
    walkers = int(np.clip(n_points // 64, 16, 4096))
    return walkers, -(-n_points // walkers)


def _chaos(lin: np.ndarray, shift: np.ndarray, prob: np.ndarray, keys: np.ndarray, n_points: int, size: int,
           per_map: bool, flip_x: np.ndarray | None = None, flip_y: np.ndarray | None = None) -> np.ndarray:
    """The chaos game for b systems at once: (b, K or 1, size, size) int64 counts of points per pixel (per map
    that placed them if ``per_map``), each attractor fitted to the square (centred, aspect kept), then flipped."""
    b, n_k = lin.shape[:2]
    walkers, steps = _walk_shape(n_points)
    # map j is chosen when the hash is >= the thresholds of maps 0..j-1 (cumulative probabilities in 2**64ths);
    # past the last real map nothing may be chosen, whatever rounding did to the sum
    cum = np.cumsum(prob, axis=1)
    last = np.arange(n_k)[None, :] >= ((prob > 0).sum(1) - 1)[:, None]
    thr = np.where(last, 2.0**64, np.minimum(cum, 1.0) * 2.0**64)
    thr = np.where(thr >= 2.0**64, np.uint64(2**64 - 1), np.minimum(thr, 2.0**63 * 1.999).astype(np.uint64))
    lin32, shift32 = lin.astype(np.float32), shift.astype(np.float32)
    a, bb, c, d = (np.ascontiguousarray(lin32[..., i]).ravel() for i in range(4))
    e, f = (np.ascontiguousarray(shift32[..., i]).ravel() for i in range(2))
    # start on the attractor: the fixed point of map 0, (I - A0)^-1 t0
    a0, b0, c0, d0 = (lin[:, 0, i] for i in range(4))
    det = (1 - a0) * (1 - d0) - b0 * c0
    x0 = ((1 - d0) * shift[:, 0, 0] + b0 * shift[:, 0, 1]) / det
    y0 = (c0 * shift[:, 0, 0] + (1 - a0) * shift[:, 0, 1]) / det
    x = np.repeat(x0.astype(np.float32)[:, None], walkers, 1)
    y = np.repeat(y0.astype(np.float32)[:, None], walkers, 1)
    xs = np.empty((b, steps, walkers), np.float32)  # image-major, so the per-image reductions below are contiguous
    ys = np.empty_like(xs)
    ks = np.empty((b, steps, walkers), np.int32) if per_map else None
    rows = (np.arange(b) * n_k)[:, None]
    ctr = np.arange(walkers, dtype=np.uint64)
    for t in range(_WARM + steps):  # a loop over steps; every walker of every image moves at once
        z = _mix(keys[:, None] + ((ctr + np.uint64(t * walkers)) * _G)[None, :])
        k = (z >= thr[:, :1]).astype(np.intp)
        for j in range(1, n_k - 1):
            k += z >= thr[:, j : j + 1]
        idx = k + rows
        x, y = (np.take(a, idx) * x + np.take(bb, idx) * y + np.take(e, idx),
                np.take(c, idx) * x + np.take(d, idx) * y + np.take(f, idx))
        if t >= _WARM:
            xs[:, t - _WARM], ys[:, t - _WARM] = x, y
            if per_map:
                ks[:, t - _WARM] = k
    flat_x, flat_y = xs.reshape(b, -1), ys.reshape(b, -1)
    lo_x, hi_x, lo_y, hi_y = flat_x.min(1), flat_x.max(1), flat_y.min(1), flat_y.max(1)
    margin = max(1, size // 32)
    scale = (size - 2 * margin) / np.maximum(np.maximum(hi_x - lo_x, hi_y - lo_y), 1e-12)
    # pixel = floor((x - centre) * ±scale + size / 2): a negative scale is the flip (floor(size - v) is
    # size - 1 - floor(v) for every non-integer v)
    sx = np.where(flip_x, -scale, scale) if flip_x is not None else scale
    sy = np.where(flip_y, -scale, scale) if flip_y is not None else scale
    pixels = []
    for flat, s_, lo, hi in ((flat_x, sx, lo_x, hi_x), (flat_y, sy, lo_y, hi_y)):
        flat *= s_.astype(np.float32)[:, None]
        flat += (size / 2 - (lo + hi) / 2 * s_).astype(np.float32)[:, None]
        np.clip(flat, 0, size - 1, out=flat)
        pixels.append(flat.astype(np.int32))  # truncation is floor: every value is >= 0
    n_out = n_k if per_map else 1
    index = pixels[1]
    index *= size
    index += pixels[0]
    index += (np.arange(b, dtype=np.int32) * (n_out * size * size))[:, None]
    if per_map:
        planes = ks.reshape(b, -1)
        planes *= size * size
        index += planes
    return np.bincount(index.ravel(), minlength=b * n_out * size * size).reshape(b, n_out, size, size)


def _to_pixels(counts: np.ndarray, colours: np.ndarray | None) -> np.ndarray:
    """Counts (b, K|1, s, s) → uint8 (b, s, s) grey or (b, 3, s, s) colour: brightness count / (count + half
    the mean count of hit pixels), a saturating curve that shows sparse parts and dense cores alike."""
    total = counts.sum(1)
    hit = np.maximum((total > 0).sum(axis=(1, 2)), 1)
    half_mean = 0.5 * total.sum(axis=(1, 2)) / hit
    tot = total.astype(np.float32)
    bright = tot / (tot + half_mean.astype(np.float32)[:, None, None])
    bright *= np.float32(255.0) / np.maximum(bright.max(axis=(1, 2), keepdims=True), np.float32(1e-12))
    if colours is None:
        return np.round(bright).astype(np.uint8)
    colours = colours.astype(np.float32)
    rgb = np.zeros((len(counts), 3) + counts.shape[2:], dtype=np.float32)
    for k in range(counts.shape[1]):  # a fixed order of sums: the same floats on every run
        rgb += counts[:, k, None].astype(np.float32) * colours[:, k, :, None, None]
    rgb *= (bright / np.maximum(tot, np.float32(1)))[:, None]
    return np.round(np.minimum(rgb, np.float32(255.0))).astype(np.uint8)


def _render_instances(seed: int, classes: np.ndarray, instances: np.ndarray, systems: tuple, size: int,
                      n_points: int, jitter: float, flips: bool, colour: bool) -> np.ndarray:
    """Images of (class, instance) pairs: each class's system jittered per instance, chaos game, flips."""
    n_maps, lin, shift, colours = (s[classes] for s in systems)
    keys = _keys(seed, classes, instances)
    noise = 2.0 * _uniform(keys, _JITTER_CTR, MAX_MAPS * 6).reshape(len(keys), MAX_MAPS, 6) - 1.0
    used = int(n_maps.max())  # the padding beyond it is never chosen: leave it out of the work
    lin, shift, colours, noise = lin[:, :used], shift[:, :used], colours[:, :used], noise[:, :used]
    lin = lin + jitter * noise[..., :4]
    shift = shift + jitter * noise[..., 4:]
    sigma = _sigma_max(lin)
    lin = lin * np.minimum(1.0, _SIGMA_INSTANCE / np.maximum(sigma, 1e-12))[..., None]
    flip = _uniform(keys, _FLIP_CTR, 2) < 0.5 if flips else np.zeros((len(keys), 2), dtype=bool)
    counts = _chaos(lin, shift, _probabilities(lin, n_maps), keys, n_points, size, per_map=colour,
                    flip_x=flip[:, 0], flip_y=flip[:, 1])
    return _to_pixels(counts, colours if colour else None)


def _check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer{'' if hi is None else f' in {lo}..{hi}'}; got {value!r}")
    if value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ValueError(f"{name} must be {allowed}; got {value}")
    return int(value)


def _check_float(name: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not lo <= float(value) <= hi:
        raise ValueError(f"{name} must be a number in [{lo}, {hi}]; got {value!r}")
    return float(value)


def fractal_images(
    n_classes: int,
    n_per_class: int,
    size: int = 64,
    seed: int = 0,
    *,
    colour: bool = False,
    first_instance: int = 0,
    jitter: float = 0.1,
    flips: bool = True,
    n_points: int | None = None,
    maps: tuple[int, int] = (2, 4),
    min_fill: float = 0.15,
    cache: bool | str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` images of each of ``n_classes`` fractal categories (see the module docstring).

    Returns ``(images, labels)``: images uint8, ``(n, size, size)`` grey or, with ``colour=True``, ``(n, 3, size,
    size)`` RGB (channels first, as torch's convolutions take them; each map of a category has its own random
    colour, so a pixel shows the colours of the maps that put points there); labels int64 ``(n,)``, class-major
    (all of class 0, then class 1, …). Instances ``first_instance .. first_instance + n_per_class - 1`` of every
    class; ``jitter``: half-width of the uniform perturbation of each map parameter per instance; ``flips``:
    random left-right/upside-down flips; ``n_points``: chaos-game points per image, at least (default 4 a pixel);
    ``maps``: (fewest, most) affine maps per category, within 2..8; ``min_fill``: the filling-rate filter.

    ``cache``: a folder, True (``data_dir()/fractals``), False, or None (cache only requests of more than about
    1.7 · 10⁷ points, a few seconds); cache files are named by ``store.key`` of every argument and ``FRACTAL_VERSION``.
    """
    n_classes = _check_int("n_classes", n_classes, 2, MAX_CLASSES)
    n_per_class = _check_int("n_per_class", n_per_class, 1)
    size = _check_int("size", size, MIN_SIZE, MAX_SIZE)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    first_instance = _check_int("first_instance", first_instance, 0, 2**31 - 1 - n_per_class)
    jitter = _check_float("jitter", jitter, 0.0, 0.5)
    min_fill = _check_float("min_fill", min_fill, 0.0, 0.5)
    n_points = 4 * size * size if n_points is None else _check_int("n_points", n_points, 64, 10**7)
    if not (isinstance(maps, (tuple, list)) and len(maps) == 2
            and all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in maps)
            and 2 <= maps[0] <= maps[1] <= MAX_MAPS):
        raise ValueError(f"maps must be (fewest, most) integers with 2 <= fewest <= most <= {MAX_MAPS}; got {maps!r}")
    maps = (int(maps[0]), int(maps[1]))
    for name, flag in (("colour", colour), ("flips", flips), ("progress", progress)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False; got {flag!r}")
    if not (cache is None or isinstance(cache, (bool, str, os.PathLike))):
        raise ValueError(f"cache must be None, True, False or a folder; got {cache!r}")

    params = {"version": FRACTAL_VERSION, "n_classes": n_classes, "n_per_class": n_per_class, "size": size,
              "seed": seed, "colour": bool(colour), "first_instance": first_instance, "jitter": jitter,
              "flips": bool(flips), "n_points": n_points, "maps": list(maps), "min_fill": min_fill}
    n = n_classes * n_per_class
    if cache is None:
        cache = n * n_points > _AUTO_CACHE_POINTS
    if cache is False:
        return _generate(params, progress)
    return _cached(Path(cache) if not isinstance(cache, bool) else _default_cache_dir(), params, progress)


def _default_cache_dir() -> Path:
    from .data import data_dir  # data imports this module: import on use

    return data_dir() / "fractals"


def _cached(folder: Path, params: dict, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """The arrays stored under ``folder/fractals-<key>.npz`` when their stored parameters match; else generated
    and written atomically."""
    import json
    import warnings
    import zipfile

    from . import store

    path = folder / f"fractals-{store.key(params)}.npz"
    want = json.dumps(params, sort_keys=True)
    if path.exists():
        try:
            with np.load(path) as stored:
                if str(stored["params"]) == want:
                    return stored["images"], stored["labels"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:  # a cache: say so, redo it
            warnings.warn(f"cache {path} is unreadable ({type(err).__name__}: {err}); generating it again",
                          stacklevel=3)
    images, labels = _generate(params, progress)
    with store.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, images=images, labels=labels, params=np.array(want))
    return images, labels


def _generate(params: dict, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    n_classes, n_per, size = params["n_classes"], params["n_per_class"], params["size"]
    n_points, colour = params["n_points"], params["colour"]
    systems = _categories(n_classes, params["seed"], tuple(params["maps"]), params["min_fill"])
    n = n_classes * n_per
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), n_per)
    instances = np.tile(np.arange(n_per, dtype=np.int64), n_classes) + params["first_instance"]
    images = np.empty((n, 3, size, size) if colour else (n, size, size), dtype=np.uint8)
    per_batch = max(1, min(_BATCH_POINTS // n_points, _BATCH_BINS // (MAX_MAPS * size * size)))
    from .store import progress_bar

    with progress_bar(total=n, desc="fractal images", unit="img", leave=False,
                      disable=not progress or n * n_points < _PROGRESS_POINTS) as bar:
        for start in range(0, n, per_batch):
            sl = slice(start, min(start + per_batch, n))
            images[sl] = _render_instances(params["seed"], labels[sl], instances[sl], systems, size, n_points,
                                           params["jitter"], params["flips"], colour)
            bar.update(sl.stop - sl.start)
    return images, labels
