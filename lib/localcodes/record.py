"""Activation tables: hooks on named layers, in memory (``activations``) or streamed to HDF5 (``record``).

Conventions of paper 001: a convolutional layer's value for an image is each filter's maximum over space; only
correctly classified images are kept in a recorded table; ``prob`` is softmax(fc8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn

from . import nets

__all__ = ["resolve_layers", "activations", "iter_activations"]

PROB = "prob"


def resolve_layers(model: nn.Module, layers: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Map each requested layer name to a module name of ``model``.

    Names may be paper 001's (``conv5``, ``fc6``, ``fc7``, ``fc8`` via ``nets.ALEXNET_LAYERS``; ``prob`` is
    softmax of ``fc8``) or plain module names (``features.11``). Unknown names raise ``ValueError`` listing the
    valid ones.
    """
    if isinstance(layers, str):
        layers = [layers]
    if not layers:
        raise ValueError("layers must name at least one layer")
    modules = dict(model.named_modules())
    out: dict[str, str] = {}
    for name in layers:
        target = nets.ALEXNET_LAYERS["fc8"] if name == PROB else nets.ALEXNET_LAYERS.get(name, name)
        if target not in modules or target == "":
            aliases = [a for a, m in nets.ALEXNET_LAYERS.items() if m in modules]
            if nets.ALEXNET_LAYERS["fc8"] in modules:
                aliases.append(PROB)
            valid = aliases + [m for m in modules if m]
            raise ValueError(f"layer {name!r} does not exist in {type(model).__name__}; valid layers: {valid}")
        out[name] = target
    if len(set(out)) != len(out):
        raise ValueError(f"layers must not repeat; got {list(layers)}")
    return out


def _reduce(out: torch.Tensor) -> torch.Tensor:
    """One value per unit and image: conv maps (b, C, H, W) → per-filter spatial maximum; others flattened."""
    if out.ndim == 4:
        return out.amax(dim=(2, 3))
    return out.reshape(out.shape[0], -1)


def _batches(images, batch_size: int, start: int = 0) -> Iterator[tuple]:
    """(x, labels or None, ids) from a tensor, an object with ``batches(batch_size, start)``, or an iterable."""
    if isinstance(images, torch.Tensor):
        for i in range(start, images.shape[0], batch_size):
            j = min(i + batch_size, images.shape[0])
            yield images[i:j], None, torch.arange(i, j)
    elif hasattr(images, "batches"):
        yield from images.batches(batch_size, start)
    elif isinstance(images, Iterable):
        row = 0
        for item in images:
            x, y = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, None)
            n = x.shape[0]
            if row + n > start:
                skip = max(0, start - row)
                yield x[skip:], None if y is None else y[skip:], torch.arange(row + skip, row + n)
            row += n
    else:
        raise ValueError(f"images must be a tensor, an ImageData/ImageFolder or an iterable of batches; "
                         f"got {type(images).__name__}")


def iter_activations(
    model: nn.Module,
    layers: list[str],
    images,
    batch_size: int = 256,
    device=None,
    start: int = 0,
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None, torch.Tensor]]:
    """Per batch: ({layer: (b, U) float32 on CPU}, predictions (b,), labels (b,) or None, ids (b,))."""
    from . import results

    names = resolve_layers(model, layers)
    dev = results.pick_device(None if device is None else str(device))
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for module_name in set(names.values()):
        module = dict(model.named_modules())[module_name]

        def hook(mod, inp, out, key=module_name):
            # a copy: an in-place op later in the forward pass (ReLU(inplace=True)) must not change it
            captured[key] = _reduce(out.detach()).to(torch.float32, copy=True)

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for x, y, ids in _batches(images, batch_size, start):
                captured.clear()
                logits = model(x.to(dev))
                acts = {}
                for name, module_name in names.items():
                    a = captured[module_name]
                    acts[name] = (torch.softmax(a.to(torch.float64), 1).to(torch.float32) if name == PROB else a).cpu()
                yield acts, logits.argmax(1).cpu(), y, ids
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def activations(model: nn.Module, layers: list[str], images, batch_size: int = 256, device=None
                ) -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for all ``images``, in memory: {layer: (N, U) float32 CPU tensor}.

    ``images``: a (N, C, H, W) tensor, a ``nets.ImageData``/``ImageFolder`` or an iterable of batches. Conv
    layers are reduced to each filter's spatial maximum. No filtering by correctness here (see ``record``).
    """
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for acts, _, _, _ in iter_activations(model, layers, images, batch_size, device):
        for name, a in acts.items():
            parts[name].append(a)
    return {name: torch.cat(p) if p else torch.empty(0) for name, p in parts.items()}
