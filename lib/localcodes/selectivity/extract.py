"""The one hook-based recorder: what named modules of a network output during a forward pass.

Every caller that needs a layer's activations (activation tables, whole conv maps for the sparseness
statistics, activation maximisation with gradients) registers its hooks through ``capture``, so module names
are resolved, checked and released in one place.

On top of it, the activations of paper 001's conventions (``activations``, ``iter_activations``): layer names
``conv5``, ``fc6``, ``fc7``, ``fc8`` (``nets.ALEXNET_LAYERS``) or module names, ``prob`` = softmax(fc8), and a
convolutional layer's value for an image is each filter's maximum over space (``pooling="max"``; ``"mean"``
averages over space instead).

Devices: with ``device=None`` the model stays where it is and the images go to its device; with a device the
model is moved there for the duration and moved back afterwards, so model and images are always on one device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

from .. import nets, store

__all__ = [
    "resolve_modules",
    "capture",
    "forward_to",
    "PROB",
    "CONV_POOLINGS",
    "check_conv_pooling",
    "model_device",
    "on_device",
    "resolve_layers",
    "unit_values",
    "iter_batches",
    "iter_activations",
    "activations",
]

# softmax of fc8: not a module's output, computed from fc8's
PROB = "prob"

#: How a convolutional map (b, C, H, W) becomes one value per filter: its maximum over space (paper 001) or its
#: mean over space.
CONV_POOLINGS = ("max", "mean")


def check_conv_pooling(pooling: str) -> str:
    """``pooling`` if it is one of ``CONV_POOLINGS``, else a ``ValueError`` naming the allowed values."""
    if not isinstance(pooling, str) or pooling not in CONV_POOLINGS:
        raise ValueError(f"pooling must be one of {CONV_POOLINGS} (how a conv map becomes one value per filter); "
                         f"got {pooling!r}")
    return pooling


def resolve_modules(model: nn.Module, layers: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    """``{label: module name}`` from a mapping, or from module names (each its own label).

    Unknown or empty names raise ``ValueError`` listing the model's module names.
    """
    names = dict(layers) if isinstance(layers, Mapping) else {str(n): str(n) for n in layers}
    if not names:
        raise ValueError("layers must name at least one module")
    modules = dict(model.named_modules())
    bad = [m for m in names.values() if m not in modules or m == ""]
    if bad:
        valid = [m for m in modules if m]
        raise ValueError(f"layers {bad} are not modules of {type(model).__name__}; valid: {valid}")
    return names


class _Complete(Exception):
    """Raised by a hook once every requested layer has been seen: the rest of the forward pass is skipped."""


@contextlib.contextmanager
def capture(
    model: nn.Module,
    layers: Mapping[str, str] | Iterable[str],
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    pre_relu: bool = False,
    stop_when_complete: bool = False,
) -> Iterator[dict[str, torch.Tensor]]:
    """Hooks on the named modules for the duration of the block; yields ``{label: tensor}``, refilled by every
    forward pass.

    ``transform`` maps a module's output to what is kept (default: the output itself, still in the autograd
    graph). It must copy when the network may later change that tensor in place (``ReLU(inplace=True)``).
    ``pre_relu`` keeps a ReLU module's *input* instead of its output (a clone). ``stop_when_complete`` skips the
    rest of the forward pass once every layer is captured; run the pass with ``forward_to``.
    """
    names = resolve_modules(model, layers)
    modules = dict(model.named_modules())
    labels_of: dict[str, list[str]] = {}
    for label, module_name in names.items():
        labels_of.setdefault(module_name, []).append(label)
    keep = transform or (lambda t: t)
    captured: dict[str, torch.Tensor] = {}

    def put(module_name: str, value: torch.Tensor) -> None:
        kept = keep(value)
        for label in labels_of[module_name]:
            captured[label] = kept
        if stop_when_complete and len(captured) == len(names):
            raise _Complete

    handles = []
    try:
        for module_name in labels_of:
            module = modules[module_name]
            if pre_relu and isinstance(module, nn.ReLU):
                def pre_hook(mod, inp, key=module_name):
                    put(key, inp[0].clone())  # an in-place ReLU would overwrite its input

                handles.append(module.register_forward_pre_hook(pre_hook))
            else:
                def hook(mod, inp, out, key=module_name):
                    put(key, out)

                handles.append(module.register_forward_hook(hook))
        yield captured
    finally:
        for h in handles:
            h.remove()


def forward_to(
    model: nn.Module,
    x: torch.Tensor,
    layers: Mapping[str, str] | Iterable[str],
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    pre_relu: bool = False,
) -> dict[str, torch.Tensor]:
    """Run ``model(x)`` only as far as the last requested layer; return ``{label: output}`` (see ``capture``)."""
    with capture(model, layers, transform, pre_relu, stop_when_complete=True) as captured:
        with contextlib.suppress(_Complete):
            model(x)
        missing = [label for label in resolve_modules(model, layers) if label not in captured]
        if missing:
            raise ValueError(f"layer(s) {missing} were not reached by the forward pass")
        return dict(captured)


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


def unit_values(out: torch.Tensor, pooling: str = "max") -> torch.Tensor:
    """One value per unit and image: conv maps (b, C, H, W) → each filter's spatial maximum (``pooling="max"``)
    or mean (``"mean"``); other outputs flattened."""
    check_conv_pooling(pooling)
    if out.ndim == 4:
        return out.amax(dim=(2, 3)) if pooling == "max" else out.mean(dim=(2, 3))
    return out.reshape(out.shape[0], -1)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model`` takes its input: the device of its first parameter (or buffer); the CPU if it has none."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


@contextlib.contextmanager
def on_device(model: nn.Module, device=None) -> Iterator[torch.device]:
    """Run the block with ``model`` on one device and yield it: ``device=None`` leaves the model where it is
    (its own device, ``model_device``); a device (``cpu``, ``cuda:1``, ``auto``) moves it there and back to where
    it was afterwards, also when the block fails."""
    if device is None:
        yield model_device(model)
        return
    dev = store.pick_device(str(device))
    devices = {t.device for t in (*model.parameters(), *model.buffers())}
    if len(devices) > 1:  # a model split across devices cannot be moved back as it was
        raise ValueError(f"the model's parameters are on several devices ({sorted(map(str, devices))}); pass "
                         "device=None to run it where it is")
    home = devices.pop() if devices else dev
    if home == dev:
        yield dev
        return
    model.to(dev)
    try:
        yield dev
    finally:
        model.to(home)


def iter_batches(images, batch_size: int, start: int = 0) -> Iterator[tuple]:
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


def _scores(out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        what = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must return class scores of shape (batch, classes), whose argmax is its "
                         f"prediction; it returned {what}")
    return out


def iter_activations(
    model: nn.Module,
    layers: list[str],
    images,
    batch_size: int = 256,
    device=None,
    start: int = 0,
    pooling: str = "max",
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None, torch.Tensor]]:
    """Per batch: ({layer: (b, U) float32 on CPU}, predictions (b,), labels (b,) or None, ids (b,)).

    ``device=None`` runs the model where it is (the images go to its device); a device moves the model there
    for the duration (see ``on_device``). ``pooling`` (``"max"`` or ``"mean"``) reduces conv maps over space.
    The model is in eval mode while it runs and gets its training mode back when the iteration ends or is closed.
    """
    names = resolve_layers(model, layers)  # checked here, at the call, not at the first batch
    check_conv_pooling(pooling)
    return _iter_activations(model, names, images, batch_size, device, start, pooling)


def _iter_activations(model, names, images, batch_size, device, start, pooling):
    def kept(out: torch.Tensor) -> torch.Tensor:
        # a copy: an in-place op later in the forward pass (ReLU(inplace=True)) must not change it
        return unit_values(out.detach(), pooling).to(torch.float32, copy=True)

    was_training = model.training
    model.eval()
    try:
        with on_device(model, device) as dev, capture(model, names, kept) as captured, torch.no_grad():
            for x, y, ids in iter_batches(images, batch_size, start):
                captured.clear()
                logits = _scores(model(x.to(dev)))
                acts = {}
                for name in names:
                    a = captured[name]
                    acts[name] = (torch.softmax(a.to(torch.float64), 1).to(torch.float32) if name == PROB else a).cpu()
                yield acts, logits.argmax(1).cpu(), y, ids
    finally:
        model.train(was_training)


def activations(model: nn.Module, layers: list[str], images, batch_size: int = 256, device=None,
                pooling: str = "max") -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for all ``images``, in memory: {layer: (N, U) float32 CPU tensor}.

    ``images``: a (N, C, H, W) tensor, a ``nets.ImageData``/``ImageFolder`` or an iterable of batches. Conv
    layers are reduced to each filter's spatial maximum (``pooling="max"``, paper 001's convention) or mean
    (``"mean"``). ``device=None`` runs the model where it is; a device moves it there for the call and back.
    No filtering by correctness here (see ``tables.record``).
    """
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for acts, _, _, _ in iter_activations(model, layers, images, batch_size, device, pooling=pooling):
        for name, a in acts.items():
            parts[name].append(a)
    return {name: torch.cat(p) if p else torch.empty(0) for name, p in parts.items()}
