"""Activation maximisation (AM): images that drive one unit of a named layer as hard as possible.

Paper 001 (§2, §3.3) generated 100 images per unit of AlexNet's conv5, fc6 and fc8 with Plug & Play generative
networks (a deep generator trained on ImageNet supplies the image prior) and showed them as 10 x 10 panels.
That generator cannot be shipped here, so this module offers two image priors, written in torch:

* a **generator prior** (:class:`LinearGenerator`, :class:`GeneratorImage`): images come from a PCA of the
  network's own training images — the simplest generator one can fit to data — and the optimisation moves
  their latent codes, optionally pulled back towards typical codes (``latent_l2``);
* **no data prior**, the recipe of the feature-visualisation literature (Olah et al., 2017, "Feature
  Visualization"; the Lucid library): each image lives in a scaled Fourier basis (:class:`FourierImage`),
  coefficients divided by their spatial frequency so that gradient steps change low frequencies first and the
  optimum is not high-frequency noise; colour images are *decorrelated* (a fixed colour-correlation matrix),
  grey images have one channel; a sigmoid keeps pixels in [0, 1].

Either way:

* **robustness transforms** — at every step each image gets its own random jitter, scale and rotation
  (:func:`random_transform`, one batched affine warp), so only features that survive small changes grow;
* **penalties** — optional total variation and L2 (distance from the background grey) per image;
* **diversity** — every image starts from its own random point; an optional penalty pushes the images of the
  same unit apart (their mean pairwise cosine similarity).

Penalty weights are relative to the unit's current objective, so that one weight means the same in every
layer, whatever the scale of its activations.

Many units and many images per unit are optimised together as one batch (:func:`maximise`): image *i* of the
batch has its own target ``(layer, unit)``, so one forward/backward pass serves all of them, on the GPU when
there is one. The forward pass stops as soon as the deepest target layer has been computed.

What is maximised: for a unit that sits behind a ReLU module, its *pre-activation* (monotone, so the maximiser
is the same, but the gradient does not vanish where the unit is silent); for a convolutional filter, its
spatial maximum by default, as paper 001 measures a filter (``conv_reduce``: ``mean`` fills the image with the
filter's texture, ``center`` takes the middle position as Nguyen et al. did). :func:`unit_values` measures
units the paper's way, after the ReLU.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .store import atomic_path, pick_device

__all__ = [
    "AMConfig",
    "AMResult",
    "FourierImage",
    "LinearGenerator",
    "fit_linear_generator",
    "GeneratorImage",
    "PRIORS",
    "COLOR_CORRELATION",
    "CONV_REDUCTIONS",
    "random_transform",
    "total_variation",
    "maximise",
    "maximise_units",
    "run_key",
    "make_panels",
    "unit_values",
    "to_uint8",
    "grid_image",
    "panel_bytes",
    "panel_png",
    "save_grid",
    "bench_main",
]

CONV_REDUCTIONS = ("mean", "max", "center")
PRIORS = ("fourier", "generator")
# Lucid's square root of ImageNet's colour correlation (columns: decorrelated channels → RGB)
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


# ----------------------------------------------------------------------------------------- parameterisation
class FourierImage(nn.Module):
    """A batch of images parameterised by scaled Fourier coefficients; ``forward()``: (n, C, H, W) in [0, 1].

    ``decay`` is the power of the 1/frequency scaling (1 ≈ natural images' spectrum); ``sd`` the standard
    deviation of the random initial coefficients; ``decorrelate`` applies the colour-correlation matrix (RGB
    only). The random start is drawn from ``generator`` on the CPU, so a seed gives the same images on every
    device.
    """

    def __init__(
        self,
        n: int,
        channels: int = 3,
        height: int = 64,
        width: int | None = None,
        decay: float = 1.0,
        sd: float = 0.01,
        decorrelate: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        width = width or height
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB); got {channels}")
        if n < 1 or height < 2 or width < 2:
            raise ValueError(f"need n >= 1 and height, width >= 2; got n={n}, {height}x{width}")
        self.shape = (n, channels, height, width)
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        freqs = torch.sqrt(fx**2 + fy**2)
        # low frequencies get large steps; the floor keeps the DC term finite
        scale = 1.0 / torch.clamp(freqs, min=1.0 / max(height, width)) ** decay
        self.register_buffer("scale", scale.to(torch.float32))
        spec = torch.randn((n, channels, height, width // 2 + 1, 2), generator=generator) * sd
        self.spectrum = nn.Parameter(spec)
        self.decorrelate = decorrelate and channels == 3
        if self.decorrelate:
            m = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()
            self.register_buffer("color", m)

    def forward(self) -> torch.Tensor:
        n, c, h, w = self.shape
        spec = torch.view_as_complex(self.spectrum) * self.scale
        img = (
            torch.fft.irfft2(spec, s=(h, w), norm="ortho") / 4.0
        )  # Lucid's constant: keeps the start near grey
        if self.decorrelate:
            img = torch.einsum("rc,nchw->nrhw", self.color, img)
        return torch.sigmoid(img)


@dataclass
class LinearGenerator:
    """A linear image generator fitted to data (PCA): ``x = mean + (z * scale) @ basis``.

    With z ~ N(0, I) it draws images with the data's mean and covariance in its top ``k`` directions: the
    simplest generator network "trained" on the data, standing in for the deep generator of Plug & Play
    generative networks that paper 001 used. ``shape`` is (C, H, W).
    """

    mean: torch.Tensor  # (D,)
    basis: torch.Tensor  # (k, D), orthonormal rows
    scale: torch.Tensor  # (k,), standard deviation of the data along each row
    shape: tuple[int, int, int]
    explained: float = float("nan")  # share of the data's variance the k directions hold

    def key(self) -> str:
        """A short hash of the generator (for cache keys)."""
        h = hashlib.sha256()
        for t in (self.mean, self.basis, self.scale):
            h.update(t.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
        return h.hexdigest()[:10]


def fit_linear_generator(
    images: torch.Tensor, k: int = 64, max_images: int = 10000, seed: int = 0
) -> LinearGenerator:
    """Fit a :class:`LinearGenerator` (PCA) to images: uint8 (N, H, W) / (N, C, H, W) in 0..255, or float in
    [0, 1]; at most ``max_images`` of them (a seeded random subset)."""
    x = images.unsqueeze(1) if images.ndim == 3 else images
    if x.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W); got shape {tuple(images.shape)}")
    n = x.shape[0]
    if not 1 <= k < min(n, x[0].numel()):
        raise ValueError(f"k must be between 1 and min(N, pixels) - 1 = {min(n, x[0].numel()) - 1}; got {k}")
    if n > max_images:
        x = x[torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_images]]
    flat = x.reshape(x.shape[0], -1).to(torch.float64)
    if images.dtype == torch.uint8:
        flat = flat / 255.0
    mean = flat.mean(0)
    _, sv, vh = torch.linalg.svd(flat - mean, full_matrices=False)
    var = sv**2 / max(flat.shape[0] - 1, 1)
    return LinearGenerator(
        mean.float(),
        vh[:k].float(),
        var[:k].sqrt().float(),
        tuple(x.shape[1:]),
        float(var[:k].sum() / var.sum()),
    )


class GeneratorImage(nn.Module):
    """A batch of images from a :class:`LinearGenerator`; the latent codes z are the parameters.

    ``forward()`` gives (n, C, H, W) clamped to [0, 1]; ``z`` starts as N(0, sd²) draws (random plausible
    images, each its own), and :func:`maximise` can pull it back towards the prior (``latent_l2``).
    """

    def __init__(
        self, n: int, gen: LinearGenerator, sd: float = 1.0, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.shape = (n, *gen.shape)
        self.register_buffer("mean", gen.mean)
        self.register_buffer("basis", gen.basis)
        self.register_buffer("scale", gen.scale)
        self.z = nn.Parameter(torch.randn((n, gen.basis.shape[0]), generator=generator) * sd)

    def forward(self) -> torch.Tensor:
        return (self.mean + (self.z * self.scale) @ self.basis).reshape(self.shape).clamp(0, 1)


# ----------------------------------------------------------------------------------------------- transforms
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


# ---------------------------------------------------------------------------------------------------- hooks
class _Stop(Exception):
    """Raised inside a hook once every target layer has been seen: the rest of the forward pass is skipped."""


def _capture(model: nn.Module, layers: Sequence[str], pre_relu: bool, stop: bool):
    """Hooks that keep each layer's output (or a ReLU's input) in a dict; returns (store, handles)."""
    store: dict[str, torch.Tensor] = {}
    handles = []
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(
            f"layer(s) {unknown} are not modules of the model; some names: {list(modules)[1:12]}"
        )

    def done():
        if stop and len(store) == len(layers):
            raise _Stop

    for name in layers:
        mod = modules[name]
        if pre_relu and isinstance(mod, nn.ReLU):
            # clone: an in-place ReLU would otherwise overwrite what we keep
            def pre_hook(m, inp, name=name):
                store[name] = inp[0].clone()
                done()

            handles.append(mod.register_forward_pre_hook(pre_hook))
        else:

            def hook(m, inp, out, name=name):
                store[name] = out
                done()

            handles.append(mod.register_forward_hook(hook))
    return store, handles


def _run(model: nn.Module, x: torch.Tensor, layers: Sequence[str], pre_relu: bool) -> dict[str, torch.Tensor]:
    store, handles = _capture(model, layers, pre_relu, stop=True)
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    missing = [name for name in layers if name not in store]
    if missing:
        raise ValueError(f"layer(s) {missing} were not reached by the forward pass")
    return store


def _select(out: torch.Tensor, units: torch.Tensor, reduce: str) -> torch.Tensor:
    """Image i's value of unit ``units[i]`` (conv outputs reduced over space)."""
    if reduce not in CONV_REDUCTIONS:
        raise ValueError(f"conv_reduce must be one of {CONV_REDUCTIONS}; got {reduce!r}")
    rows = torch.arange(out.shape[0], device=out.device)
    picked = out[rows, units]
    if picked.ndim == 1:
        return picked
    if reduce == "mean":
        return picked.flatten(1).mean(1)
    if reduce == "max":
        return picked.flatten(1).amax(1)
    h, w = picked.shape[-2:]
    return picked[..., h // 2, w // 2].flatten(1).mean(1)


def _normalise(x: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    return (x - m) / s


@torch.no_grad()
def unit_values(
    model: nn.Module,
    layer: str,
    images: torch.Tensor,
    units: torch.Tensor | Sequence[int] | None = None,
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
    size: int | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Activations of ``layer`` for images in [0, 1], as measured in paper 001 (a filter's spatial maximum).

    ``units=None`` returns every unit, (N, U); otherwise image i's value of unit ``units[i]``, (N,). The
    layer's own output is used (after its ReLU, if the layer is a ReLU). Images are resized (bilinear) to
    ``size`` first when given, as :func:`maximise` does.
    """
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    outs = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(dev, torch.float32)
            if size is not None and x.shape[-1] != size:
                x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
            x = _normalise(x, mean, std)
            out = _run(model, x, [layer], pre_relu=False)[layer]
            if units is None:
                outs.append(out.flatten(2).amax(2) if out.ndim > 2 else out)
            else:
                u = torch.as_tensor(units, device=dev)[start : start + batch_size]
                outs.append(_select(out, u, "max"))
    finally:
        model.train(was_training)
    return torch.cat(outs).cpu()


# --------------------------------------------------------------------------------------------- optimisation
@dataclass
class AMConfig:
    """Settings of one AM run (the defaults follow Lucid's, with transforms scaled to the image size)."""

    size: int = 64  # the network's input size (height = width)
    prior: str = "fourier"  # "fourier" (no data prior) or "generator" (a LinearGenerator fitted to the data)
    param_size: int | None = None  # images live at this size and are resized to ``size`` (None: ``size``)
    channels: int = 1  # 1 grey, 3 RGB
    mean: float | list[float] = (
        0.0  # the network's input normalisation: x_net = (x - mean) / std, x in [0, 1]
    )
    std: float | list[float] = 1.0
    steps: int = 128
    lr: float = 0.05
    decay: float = 1.0  # Fourier scaling power
    init_sd: float = 0.01
    decorrelate: bool = True
    latent_sd: float = 1.0  # generator prior: spread of the random starting codes
    jitter: float = 0.06  # fraction of the image size
    scale: tuple[float, float] = (0.9, 1.1)
    angle: float = 10.0
    fill: float = 0.5  # the grey that transforms expose at the border (0 for dark-background data)
    # penalty weights, relative to the unit's current objective (so one weight means the same in every layer)
    tv: float = 0.0  # total variation
    l2: float = 0.0  # root-mean-square distance from the background ``fill``
    diversity: float = 0.0  # mean cosine similarity with the unit's other images
    latent_l2: float = 0.0  # generator prior: mean squared latent code (pulls images back to typical ones)
    conv_reduce: str = "max"  # a filter's spatial maximum, as paper 001 measures it; "mean" gives textures
    pre_relu: bool = True

    def check(self) -> None:
        """Raise ``ValueError`` for settings that cannot run."""
        if self.steps < 1 or self.lr <= 0 or self.size < 2 or (self.param_size or 2) < 2:
            raise ValueError(
                f"need steps >= 1, lr > 0, size and param_size >= 2; got {self.steps}, {self.lr}, "
                f"{self.size}, {self.param_size}"
            )
        if self.conv_reduce not in CONV_REDUCTIONS:
            raise ValueError(f"conv_reduce must be one of {CONV_REDUCTIONS}; got {self.conv_reduce!r}")
        if min(self.tv, self.l2, self.diversity, self.latent_l2) < 0:
            raise ValueError("the penalty weights tv, l2, diversity and latent_l2 must be >= 0")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}; got {self.prior!r}")


@dataclass
class AMResult:
    """Images (T, n, C, H, W) float in [0, 1] for T targets, their final objective values (T, n), the targets,
    the objective's trace (mean over the batch, per step) and the wall time."""

    images: torch.Tensor
    objective: torch.Tensor
    targets: list[tuple[str, int]]
    trace: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _diversity(images: torch.Tensor, n_targets: int) -> torch.Tensor:
    """Per image: mean cosine similarity with the other images of its unit (centred pixels), (T*n,)."""
    x = images.reshape(n_targets, -1, images[0].numel())
    n = x.shape[1]
    if n < 2:
        return torch.zeros(images.shape[0], device=images.device)
    x = F.normalize(x - x.mean(2, keepdim=True), dim=2)
    sims = torch.bmm(x, x.transpose(1, 2))
    return ((sims.sum(2) - sims.diagonal(dim1=1, dim2=2)) / (n - 1)).reshape(-1)


def maximise(
    model: nn.Module,
    targets: Sequence[tuple[str, int]],
    n_images: int = 10,
    config: AMConfig | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
    generator: LinearGenerator | None = None,
) -> AMResult:
    """Optimise ``n_images`` images for each ``(layer, unit)`` target, all in one batch.

    Returns an :class:`AMResult`; ``objective`` holds the maximised quantity of the final, untransformed
    images. The model is put in eval mode and its parameters are frozen for the run (both restored
    afterwards).
    """
    cfg = config or AMConfig()
    cfg.check()
    targets = [(str(layer), int(unit)) for layer, unit in targets]
    if not targets or n_images < 1:
        raise ValueError(
            f"need at least one target and n_images >= 1; got {len(targets)} targets, {n_images}"
        )
    dev = pick_device(None if device is None else str(device))
    layers = list(dict.fromkeys(layer for layer, _ in targets))
    t_count, batch = len(targets), len(targets) * n_images
    # image i belongs to target i // n_images
    layer_of = torch.tensor([layers.index(layer) for layer, _ in targets]).repeat_interleave(n_images).to(dev)
    unit_of = torch.tensor([unit for _, unit in targets]).repeat_interleave(n_images).to(dev)

    gen = torch.Generator().manual_seed(seed)
    if cfg.prior == "generator":
        if generator is None:
            raise ValueError("prior='generator' needs generator= (a LinearGenerator: fit_linear_generator)")
        if generator.shape[0] != cfg.channels:
            raise ValueError(
                f"the generator makes {generator.shape[0]}-channel images; config has {cfg.channels}"
            )
        param = GeneratorImage(batch, generator, cfg.latent_sd, gen).to(dev)
        side = generator.shape[-1]
    else:
        side = cfg.param_size or cfg.size
        param = FourierImage(batch, cfg.channels, side, side, cfg.decay, cfg.init_sd, cfg.decorrelate, gen)
        param = param.to(dev)

    def to_input(images: torch.Tensor) -> torch.Tensor:
        """The network's view of an image: resized like its data (bilinear), before normalisation."""
        if side == cfg.size:
            return images
        return F.interpolate(images, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False)

    opt = torch.optim.Adam(param.parameters(), lr=cfg.lr)

    def objective(images: torch.Tensor) -> torch.Tensor:
        store = _run(model, _normalise(images, cfg.mean, cfg.std), layers, cfg.pre_relu)
        value = torch.zeros(batch, device=dev)
        for li, layer in enumerate(layers):
            rows = torch.nonzero(layer_of == li, as_tuple=True)[0]
            out = store[layer][rows]
            n_units = out.shape[1]
            bad = unit_of[rows] >= n_units
            if bad.any():
                raise ValueError(
                    f"unit {int(unit_of[rows][bad][0])} out of range: layer {layer} has {n_units} units"
                )
            value = value.index_put((rows,), _select(out, unit_of[rows], cfg.conv_reduce))
        return value

    was_training = model.training
    frozen = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    for p in frozen:
        p.requires_grad_(False)
    trace = []
    start = time.perf_counter()
    try:
        steps = range(cfg.steps)
        if progress:
            from .store import progress_bar as tqdm

            steps = tqdm(steps, desc=f"AM {t_count} units x {n_images} images", leave=False)
        for _ in steps:
            images = param()
            warped = random_transform(
                to_input(images), gen, cfg.jitter, tuple(cfg.scale), cfg.angle, cfg.fill
            )
            value = objective(warped)
            loss = -value
            if cfg.tv or cfg.l2 or cfg.diversity or cfg.latent_l2:
                # penalties scale with the unit's current objective: one weight means the same in every layer
                size_of = value.detach().reshape(t_count, n_images).mean(1).abs().repeat_interleave(n_images)
                penalty = cfg.diversity * _diversity(images, t_count)
                if cfg.tv:
                    penalty = penalty + cfg.tv * total_variation(images)
                if cfg.l2:
                    penalty = penalty + cfg.l2 * (images - cfg.fill).pow(2).flatten(1).mean(1).sqrt()
                if cfg.latent_l2 and cfg.prior == "generator":
                    penalty = penalty + cfg.latent_l2 * param.z.pow(2).mean(1)
                loss = loss + size_of * penalty
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()  # images are independent: summing keeps each one's gradient its own
            opt.step()
            trace.append(float(value.detach().mean()))
        with torch.no_grad():
            images = param()
            final = objective(to_input(images))
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    seconds = time.perf_counter() - start
    shape = (t_count, n_images) + tuple(images.shape[1:])
    return AMResult(
        images.detach().cpu().reshape(shape),
        final.detach().cpu().reshape(t_count, n_images),
        targets,
        trace,
        seconds,
    )


def run_key(config: AMConfig, **extra) -> str:
    """A short hash of AM settings and whatever else changes the images (model weights, n_images, seed)."""
    text = json.dumps({"config": asdict(config), **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _chunk_seed(seed: int, layer: str, units: Sequence[int]) -> int:
    key = f"{seed}|{layer}|{','.join(map(str, units))}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def maximise_units(
    model: nn.Module,
    layer: str,
    units: Sequence[int],
    n_images: int = 100,
    config: AMConfig | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    cache_dir: str | Path | None = None,
    max_batch: int = 400,
    progress: bool = True,
    key: str = "",
    generator: LinearGenerator | None = None,
) -> dict[int, torch.Tensor]:
    """AM images for many units of one layer, in batches of about ``max_batch`` images; {unit: (n, C, H, W)
    uint8}.

    With ``cache_dir``, each batch is written there atomically as soon as it is done and found again on the
    next call (a run that stops part-way resumes where it stopped). The cache key holds the layer, units,
    n_images, seed, settings and ``key`` (say, a hash of the model's weights), so changing any of them
    computes afresh.
    """
    cfg = config or AMConfig()
    units = [int(u) for u in units]
    per_chunk = max(1, max_batch // n_images)
    chunks = [units[i : i + per_chunk] for i in range(0, len(units), per_chunk)]
    settings = run_key(cfg, key=key, generator=generator.key() if generator is not None else None)
    out: dict[int, torch.Tensor] = {}
    it = chunks
    if progress:
        from .store import progress_bar as tqdm

        it = tqdm(chunks, desc=f"AM {layer}", unit="batch")
    for chunk in it:
        path = None
        if cache_dir is not None:
            stem = f"{layer.replace('.', '_')}-{chunk[0]}-{chunk[-1]}-{len(chunk)}x{n_images}"
            name = f"{stem}-s{seed}-{settings}.pt"
            path = Path(cache_dir) / name
            if path.exists():
                saved = torch.load(path, weights_only=True)
                if saved["units"].tolist() == chunk:
                    out.update(zip(chunk, saved["images"], strict=True))
                    continue
        res = maximise(
            model,
            [(layer, u) for u in chunk],
            n_images,
            cfg,
            _chunk_seed(seed, layer, chunk),
            device,
            generator=generator,
        )
        images = to_uint8(res.images)
        if path is not None:
            with atomic_path(path) as tmp:
                torch.save({"units": torch.tensor(chunk), "images": images, "objective": res.objective}, tmp)
        out.update(zip(chunk, images, strict=True))
    return out


def make_panels(
    model: nn.Module,
    units: Mapping[str, Sequence[int]],
    n_images: int,
    config: AMConfig,
    folder: str | Path,
    seed: int = 0,
    modules: Mapping[str, str] | None = None,
    device: torch.device | str | None = None,
    nrow: int | None = None,
    max_batch: int = 400,
    progress: bool = True,
    generator: LinearGenerator | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, int], torch.Tensor]]:
    """AM images and one PNG panel per unit for several layers; resumable, everything written atomically.

    ``units`` maps a layer's name (``conv5``) to the units to visualise; ``modules`` maps names to module
    names (e.g. ``nets.ALEXNET_LAYERS``; default: the names are module names). Images are cached under
    ``folder/cache`` and panels written to ``folder/panels/<key>/<layer>.<unit>.png``; ``key`` hashes
    the settings, the model's weights, the generator, ``n_images`` and ``seed`` (new settings never overwrite
    old panels).

    Returns a table (``layer, unit, panel`` — the PNG's path relative to ``folder`` — ``am_mean, am_min``: the
    unit's activation on its own images, measured the paper's way) and ``{(layer, unit): uint8 images}``.
    """
    from .record import model_identity

    folder = Path(folder)
    modules = dict(modules or {})
    weights = model_identity(model)["weights_sha256"]
    gen_key = generator.key() if generator is not None else None
    key = run_key(config, weights=weights, n_images=n_images, seed=seed, generator=gen_key)
    nrow = nrow or max(1, math.isqrt(n_images))
    rows, images = [], {}
    for layer, layer_units in units.items():
        module = modules.get(layer, layer)
        layer_units = [int(u) for u in layer_units]
        got = maximise_units(
            model,
            module,
            layer_units,
            n_images,
            config,
            seed,
            device,
            folder / "cache",
            max_batch,
            progress,
            key=weights,
            generator=generator,
        )
        flat = torch.cat([got[u] for u in layer_units]).float() / 255
        which = torch.tensor(layer_units).repeat_interleave(n_images)
        vals = unit_values(model, module, flat, which, config.mean, config.std, config.size)
        vals = vals.reshape(-1, n_images)
        for i, unit in enumerate(layer_units):
            images[(layer, unit)] = got[unit]
            rel = Path("panels") / key / f"{layer}.{unit}.png"
            if not (folder / rel).exists():
                save_grid(folder / rel, got[unit], nrow=nrow)
            rows.append(
                {
                    "layer": layer,
                    "unit": unit,
                    "panel": rel.as_posix(),
                    "am_mean": float(vals[i].mean()),
                    "am_min": float(vals[i].min()),
                }
            )
    return pd.DataFrame(rows), images


# ---------------------------------------------------------------------------------------------------- grids
def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] → uint8 (unchanged if already uint8)."""
    if images.dtype == torch.uint8:
        return images
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def grid_image(images: torch.Tensor, nrow: int = 10, pad: int = 1, size: int | None = None, fill: int = 255):
    """A panel of images (n, C, H, W) as one PIL image, ``nrow`` per row, each tile resized to ``size`` px."""
    from PIL import Image

    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (n, C, H, W) with C 1 or 3; got shape {tuple(images.shape)}")
    if nrow < 1 or pad < 0:
        raise ValueError(f"need nrow >= 1 and pad >= 0; got {nrow}, {pad}")
    x = to_uint8(images.detach().cpu())
    if size is not None and size != x.shape[-1]:
        x = to_uint8(
            F.interpolate(
                x.float() / 255, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        )
    n, c, h, w = x.shape
    rows = math.ceil(n / nrow)
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), fill, dtype=np.uint8)
    tiles = x.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, q = divmod(i, nrow)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        canvas[y0 : y0 + h, x0 : x0 + w] = tiles[i]
    return Image.fromarray(canvas[..., 0] if c == 1 else canvas, mode="L" if c == 1 else "RGB")


def panel_bytes(
    images: torch.Tensor,
    nrow: int = 10,
    pad: int = 1,
    size: int | None = None,
    fmt: str = "png",
    quality: int = 75,
) -> bytes:
    """A panel encoded as PNG (lossless, for raters) or JPEG (about half the bytes, for light book pages)."""
    fmts = ("png", "jpeg")
    if fmt not in fmts:
        raise ValueError(f"fmt must be one of {fmts}; got {fmt!r}")
    buf = io.BytesIO()
    img = grid_image(images, nrow, pad, size)
    if fmt == "png":
        img.save(buf, format="PNG", optimize=True)
    else:
        img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def panel_png(images: torch.Tensor, nrow: int = 10, pad: int = 1, size: int | None = None) -> bytes:
    """A panel as PNG bytes (for ``IPython.display.Image`` and the rating widget)."""
    return panel_bytes(images, nrow, pad, size, "png")


def save_grid(
    path: str | Path, images: torch.Tensor, nrow: int = 10, pad: int = 1, size: int | None = None
) -> Path:
    """Write a panel as a PNG file atomically; returns the path."""
    data = panel_png(images, nrow, pad, size)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


# ------------------------------------------------------------------------------------------------ benchmark
def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench am``: AM throughput (images x steps per second) on one layer of an AlexNet."""
    p = argparse.ArgumentParser(prog="localcodes bench am", description=bench_main.__doc__)
    p.add_argument(
        "--model",
        choices=["random", "trained"],
        default="random",
        help="a randomly initialised AlexNet of the scale's shape (default; nothing to train) or the "
        "scale's trained one (trained and cached first if needed); the speed is the same",
    )
    p.add_argument("--scale", default="book", choices=["smoke", "book", "paper"], help="the network's shape")
    p.add_argument(
        "--layer", default="fc6", help="conv5 | fc6 | fc7 | fc8 (paper 001's names) or a module name"
    )
    p.add_argument("--units", type=int, default=4, help="units optimised together")
    p.add_argument("--images", type=int, default=25, help="images per unit")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument(
        "--param-size", type=int, default=28, help="side at which Fourier images are parameterised"
    )
    p.add_argument(
        "--prior",
        choices=PRIORS,
        default="generator",
        help="image prior: a PCA generator fitted to the scale's training images, or Fourier",
    )
    p.add_argument(
        "--diversity", type=float, default=0.3, help="weight of the diversity penalty (as the chapter)"
    )
    p.add_argument("--device", default=None, help="cpu | cuda | auto (default: CUDA when present)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", type=Path, default=None, help="also write the result here (atomically)")
    args = p.parse_args(list(argv or []))
    from . import nets
    from .store import device_name, write_json

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    preset = nets.TRAINED_PRESETS[args.scale]
    if args.model == "trained":
        model, _ = nets.trained_alexnet(args.scale, device=dev)
    else:
        torch.manual_seed(0)
        model = nets.AlexNet(10, 1, preset["width"], nets.pool5_size(preset["input_size"])).to(dev)
    layer = nets.ALEXNET_LAYERS.get(args.layer, args.layer)
    cfg = AMConfig(
        size=preset["input_size"],
        param_size=args.param_size,
        steps=args.steps,
        prior=args.prior,
        diversity=args.diversity,
        latent_l2=0.1 if args.prior == "generator" else 0.0,
    )
    gen = None
    if args.prior == "generator":
        gen = fit_linear_generator(nets.image_data(args.scale, "train").raw[:2000], k=64)
    targets = [(layer, u) for u in range(args.units)]
    warm = AMConfig(**{**asdict(cfg), "steps": 2})
    maximise(model, targets, 2, warm, device=dev, generator=gen)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    res = maximise(model, targets, args.images, cfg, device=dev, generator=gen)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    n = args.units * args.images
    out = {
        "benchmark": "am",
        "layer": args.layer,
        "module": layer,
        "scale": args.scale,
        "input_size": preset["input_size"],
        "width": preset["width"],
        "prior": args.prior,
        "param_size": args.param_size if args.prior == "fourier" else None,
        "batch_images": n,
        "steps": args.steps,
        "diversity": args.diversity,
        "seconds": round(res.seconds, 3),
        "images_steps_per_s": round(n * args.steps / res.seconds, 1),
        "device": device_name(dev),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(out))
    if args.json:
        write_json(args.json, out)
    return out
