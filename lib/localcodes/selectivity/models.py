"""A researcher's network for the recorder, named the way a command line can: a factory
(``package.module:factory`` or ``path/to/file.py:factory``, optionally with a state-dict file) or a saved
``torch.export`` program (``.pt2``).

Layers are recorded by forward hooks on named modules (``extract.capture``), so a model must keep its module
tree: a ``torch.export`` program is unflattened back into its modules (``torch.export.unflatten``). A TorchScript
file (``torch.jit.save``) cannot take hooks once loaded, and torch deprecates TorchScript; it is refused with a
message saying how to save the model instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import zipfile
from pathlib import Path

import torch
from torch import nn

from .. import nets

__all__ = ["MODEL_FORMS", "load_model"]

MODEL_FORMS = ("package.module:factory", "path/to/file.py:factory", "a torch.export program (.pt2)")


def _import_factory(spec: str):
    where, _, attr = spec.rpartition(":")
    if not where or not attr:
        raise ValueError(f"model {spec!r}: a factory is named as package.module:factory or path/to/file.py:factory")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"model {spec!r}: the file {path} does not exist")
        # the file's folder on the path while it runs, so that it can import the modules beside it
        sys.path.insert(0, str(path.resolve().parent))
        try:
            name = f"_localcodes_model_{path.stem}"  # never shadows an installed module of the file's name
            mod_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ValueError(f"model {spec!r}: cannot import {where!r} ({err}); is it installed or on PYTHONPATH? "
                             f"A file is named as path/to/file.py:factory") from err
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model {spec!r}: {where} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"model {spec!r}: {attr} is not callable (a factory returns an nn.Module)")
    return obj


def _zip_names(path: Path) -> list[str]:
    if not zipfile.is_zipfile(path):
        return []
    with zipfile.ZipFile(path) as z:
        return z.namelist()


def _load_file(path: Path) -> nn.Module:
    names = _zip_names(path)
    if any(n.endswith("/archive_format") for n in names):  # torch.export.save's archive
        program = torch.export.load(path)
        return torch.export.unflatten(program)  # the module tree back, so hooks reach named modules
    if any("/code/" in n for n in names):  # torch.jit.save's archive
        raise ValueError(
            f"model {path} is a TorchScript file: a loaded TorchScript module takes no forward hooks, so its layers "
            "cannot be recorded (and torch deprecates TorchScript). Save the model with torch.export instead: "
            "torch.export.save(torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim('batch')},)), "
            "'model.pt2'), or give its code as package.module:factory")
    raise ValueError(f"model {path} is neither a torch.export program (.pt2) nor a TorchScript file; a state dict "
                     f"goes to --weights/weights= with a factory (package.module:factory)")


def load_model(spec: str, weights: str | Path | None = None, seed: int | None = None) -> tuple[nn.Module, dict]:
    """The network named by ``spec`` in eval mode on the CPU, and what identifies it (for ``model_identity``).

    ``spec``: ``package.module:factory`` or ``path/to/file.py:factory`` (called without arguments, it returns an
    ``nn.Module``; ``weights`` is then a state-dict file loaded into it, strictly, and ``seed`` seeds torch before
    it is built), or a file saved by ``torch.export.save`` (``.pt2``, weights included; export it with a dynamic
    batch dimension so that the last, smaller batch runs). Bad specs raise ``ValueError`` saying which forms work.
    """
    path = Path(spec)
    if path.is_file():
        if weights is not None:
            raise ValueError(f"model {spec} is a saved program that holds its weights; leave out weights")
        model = _load_file(path)
        return model.eval(), {"file": str(path)}
    if ":" not in spec:
        raise ValueError(f"model {spec!r} is neither an existing file nor a factory; give one of: "
                         f"{', '.join(MODEL_FORMS)}")
    factory = _import_factory(spec)
    if seed is not None:
        torch.manual_seed(seed)
    model = factory()
    if not isinstance(model, nn.Module):
        raise ValueError(f"model {spec!r}: the factory returned {type(model).__name__}, not an nn.Module")
    extra = {"factory": spec}
    if weights is not None:
        nets.load_weights(model, weights)
        extra["weights"] = str(weights)
    else:
        extra["weights"] = "as the factory returns them" + ("" if seed is None else f" (seed {seed})")
    return model.eval(), extra
