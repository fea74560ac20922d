"""Benchmark: sparseness (moving here from localcodes.sparseness)."""

from ..sparseness import bench_main

__all__ = ["bench_main"]
