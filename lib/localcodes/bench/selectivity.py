"""Benchmark: selectivity (moving here from localcodes.record)."""

from ..record import bench_main

__all__ = ["bench_main"]
