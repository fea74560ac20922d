"""Local Codes: when selective units emerge in neural networks, and how to measure selectivity.

The rooms, in the order data flows through them (generate → train/record → measure → judge → store → plot):

* ``codes``, ``data``, ``synthetic``, ``nets`` — generate: paper 000's prototype codes, MNIST-format digits,
  synthetic units, the AlexNet architecture and its offline training data;
* ``engine`` — train: many small networks as one batched ensemble, sweeps of conditions;
* ``selectivity`` — record and measure: the hook-based recorder (``selectivity.extract``), the per-unit measures
  in memory and streaming, HDF5 activation tables (``localcodes.record`` is their public entry point);
* ``am``, ``rating`` — activation maximisation and the rating of its images (people or automated observers);
* ``locality``, ``sparseness`` — the locality prior (a wiring cost) and sparseness across layers;
* ``store`` — the one results store: atomic writes, cache keys, provenance;
* ``experiments`` — the chapters' experiments, the only code that knows the book's chapters;
* ``charts`` — every figure; ``bench`` — benchmarks and run-time projections; ``book``, ``cli`` — the chapter
  runner and the command line.

The names below are the public entry points, importable from here (each loads its room on first use).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# entry point → the module that defines it
_ENTRY_POINTS = {
    "prototype_code": "codes",
    "load_digits": "data",
    "fractal_images": "fractals",
    "AlexNet": "nets",
    "TrainConfig": "engine",
    "train": "engine",
    "sweep": "engine",
    "code_data": "engine",
    "unit_table": "selectivity",
    "local_codes": "selectivity",
    "SelectivityAccumulator": "selectivity",
    "activations": "record",
    "record": "record",
    "measure_table": "record",
    "grid_prior": "locality",
    "LocalityPrior": "locality",
    "jitterplot": "charts",
}
_ROOMS = ("am", "bench", "book", "charts", "cli", "codes", "data", "engine", "experiments", "fractals", "locality",
          "nets", "rating", "selectivity", "sparseness", "store", "synthetic")

__all__ = ["__version__", *_ENTRY_POINTS, *_ROOMS]


def __getattr__(name: str):
    # loaded on first use: `import localcodes` should not pull in torch, altair and papermill at once
    if name in _ENTRY_POINTS:
        return getattr(importlib.import_module(f".{_ENTRY_POINTS[name]}", __name__), name)
    if name in _ROOMS:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'localcodes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
