"""What activation maximisation maximises: one unit's value per image, read from a named layer.

Layers are read with the library's one hook-based recorder (:func:`localcodes.selectivity.extract.forward_to`):
the forward pass stops as soon as the deepest requested layer has been computed. For a unit behind a ReLU module
the optimisation reads its *pre-activation* (``pre_relu``: monotone, so the maximiser is the same, but the
gradient does not vanish where the unit is silent); for a convolutional filter its spatial maximum by default, as
paper 001 measures a filter (``mean`` fills the image with the filter's texture, ``center`` takes the middle
position as Nguyen et al. did). :func:`unit_values` measures units the paper's way, after the ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..selectivity.extract import forward_to

__all__ = ["CONV_REDUCTIONS", "normalise", "select_units", "target_values", "unit_values"]

CONV_REDUCTIONS = ("mean", "max", "center")


def select_units(out: torch.Tensor, units: torch.Tensor, reduce: str) -> torch.Tensor:
    """Image i's value of unit ``units[i]`` in a layer's output ``out`` (conv outputs reduced over space by
    ``reduce``, one of :data:`CONV_REDUCTIONS`); (N,)."""
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


def normalise(x: torch.Tensor, mean: float | Sequence[float], std: float | Sequence[float]) -> torch.Tensor:
    """Images in [0, 1] → the network's input, ``(x - mean) / std`` per channel."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    return (x - m) / s


def target_values(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str],
    layer_of: torch.Tensor,
    unit_of: torch.Tensor,
    conv_reduce: str = "max",
    pre_relu: bool = True,
) -> torch.Tensor:
    """Image i's value of its own target: unit ``unit_of[i]`` of module ``layers[layer_of[i]]``, for network
    inputs ``x`` (already normalised); (N,), in the autograd graph."""
    outputs = forward_to(model, x, layers, pre_relu=pre_relu)
    value = torch.zeros(x.shape[0], device=x.device)
    for li, layer in enumerate(layers):
        rows = torch.nonzero(layer_of == li, as_tuple=True)[0]
        out = outputs[layer][rows]
        n_units = out.shape[1]
        bad = unit_of[rows] >= n_units
        if bad.any():
            raise ValueError(f"unit {int(unit_of[rows][bad][0])} out of range: layer {layer} has {n_units} units")
        value = value.index_put((rows,), select_units(out, unit_of[rows], conv_reduce))
    return value


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
    ``size`` first when given, as :func:`localcodes.am.maximise` does.
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
            x = normalise(x, mean, std)
            out = forward_to(model, x, [layer])[layer]
            if units is None:
                outs.append(out.flatten(2).amax(2) if out.ndim > 2 else out)
            else:
                u = torch.as_tensor(units, device=dev)[start : start + batch_size]
                outs.append(select_units(out, u, "max"))
    finally:
        model.train(was_training)
    return torch.cat(outs).cpu()
