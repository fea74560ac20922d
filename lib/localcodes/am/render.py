"""The optimisation loop of activation maximisation: many units, many images each, one batch.

Image *i* of the batch has its own target ``(layer, unit)`` (:func:`maximise`), so one forward/backward pass
serves all of them, on the GPU when there is one. At every step the images are randomly warped
(:mod:`.transforms`) and the optional penalties — total variation, L2 distance from the background grey, the
diversity of a unit's images, the pull of a generator's codes back towards typical ones — are weighted relative
to the unit's current objective, so that one weight means the same in every layer, whatever the scale of its
activations. :func:`maximise_units` runs many units of a layer in batches and caches each batch (resumable).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import store
from ..store import atomic_path, pick_device, progress_bar
from .objectives import CONV_REDUCTIONS, normalise, target_values
from .parameterisation import PRIORS, FourierImage, GeneratorImage, LinearGenerator
from .transforms import pairwise_similarity, random_transform, total_variation

__all__ = ["AMConfig", "AMResult", "maximise", "run_key", "maximise_units", "to_uint8"]


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


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] → uint8 (unchanged if already uint8)."""
    if images.dtype == torch.uint8:
        return images
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


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
        x = normalise(images, cfg.mean, cfg.std)
        return target_values(model, x, layers, layer_of, unit_of, cfg.conv_reduce, cfg.pre_relu)

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
            steps = progress_bar(steps, desc=f"AM {t_count} units x {n_images} images", leave=False)
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
                penalty = cfg.diversity * pairwise_similarity(images, t_count)
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
    """A short digest (:func:`localcodes.store.key`) of AM settings and whatever else changes the images (model
    weights, n_images, seed)."""
    return store.key({"config": asdict(config), **extra})


def _chunk_seed(seed: int, layer: str, units: Sequence[int]) -> int:
    """The seed of one batch of units: fixed by the run's seed and the batch's units, whatever ran before."""
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
    it = progress_bar(chunks, desc=f"AM {layer}", unit="batch") if progress else chunks
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
