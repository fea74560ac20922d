"""Benchmarks and runtime projections, each in its own module with a ``bench_main(argv)``; they call only the
library's public API. ``localcodes bench NAME …`` runs one (``--help`` lists its options)."""

from __future__ import annotations

import importlib

__all__ = ["BENCHMARKS", "run"]

# benchmark name → its module (imported when it runs: each pulls in only the parts of the library it measures)
BENCHMARKS = {name: f"{__name__}.{name}" for name in ("train", "selectivity", "am", "locality", "sparseness")}


def run(name: str, argv: list[str] | None = None) -> dict:
    """Run benchmark ``name`` with command-line options ``argv``; return what it measured."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; choose from {sorted(BENCHMARKS)}")
    return importlib.import_module(BENCHMARKS[name]).bench_main(argv)
