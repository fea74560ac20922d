"""Benchmark: locality (moving here from localcodes.locality)."""

from ..locality import bench_main

__all__ = ["bench_main"]
