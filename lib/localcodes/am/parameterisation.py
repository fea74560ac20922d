"""Image parameterisations for activation maximisation: what the optimiser moves to change a batch of images.

* :class:`FourierImage` — no data prior, the recipe of the feature-visualisation literature (Olah et al., 2017,
  "Feature Visualization"; the Lucid library): each image lives in a scaled Fourier basis, coefficients divided
  by their spatial frequency so that gradient steps change low frequencies first and the optimum is not
  high-frequency noise; colour images are *decorrelated* (a fixed colour-correlation matrix), grey images have
  one channel; a sigmoid keeps pixels in [0, 1].
* :class:`GeneratorImage` — a generator prior: images come from a PCA of the network's own training images
  (:class:`LinearGenerator`, :func:`fit_linear_generator`) — the simplest generator one can fit to data — and
  the optimisation moves their latent codes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["PRIORS", "COLOR_CORRELATION", "FourierImage", "LinearGenerator", "fit_linear_generator",
           "GeneratorImage"]

PRIORS = ("fourier", "generator")
# Lucid's square root of ImageNet's colour correlation (columns: decorrelated channels → RGB)
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


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
