"""Benchmark: train (moving here from localcodes.train)."""

from ..train import bench_main

__all__ = ["bench_main"]
