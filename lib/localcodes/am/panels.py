"""Panels of activation-maximisation images: grids, their PNG/JPEG bytes, and the resumable panels of many units.

Paper 001 showed each unit's 100 AM images as a 10 x 10 panel. :func:`make_panels` computes the images of
several layers' units (cached per batch), writes one PNG panel per unit under a folder named by the run's
settings (:func:`localcodes.am.run_key`: new settings never overwrite old panels) and measures each unit on its
own images.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..record import model_identity
from ..store import atomic_path
from .objectives import unit_values
from .parameterisation import LinearGenerator
from .render import AMConfig, maximise_units, run_key, to_uint8

__all__ = ["make_panels", "grid_image", "panel_bytes", "panel_png", "save_grid"]


def grid_image(images: torch.Tensor, nrow: int = 10, pad: int = 1, size: int | None = None, fill: int = 255):
    """A panel of images (n, C, H, W) as one PIL image, ``nrow`` per row, each tile resized to ``size`` px."""
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
