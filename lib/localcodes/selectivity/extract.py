"""The one hook-based recorder: what named modules of a network output during a forward pass.

Every caller that needs a layer's activations (activation tables, whole conv maps for the sparseness
statistics, activation maximisation with gradients) registers its hooks through ``capture``, so module names
are resolved, checked and released in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

__all__ = ["resolve_modules", "capture", "forward_to"]


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
