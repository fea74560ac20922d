"""Benchmark: am (moving here from localcodes.am)."""

from ..am import bench_main

__all__ = ["bench_main"]
