"""Benchmark of the basis test's design choices against their alternatives: random bases by batched
Householder QR vs a loop of QRs vs batched Cholesky QR, and all draws of the statistics batched vs one at a time.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from ..sparseness import basis_values
from ..store import device_name, pick_device

__all__ = ["bench_main", "cholesky_qr"]


def cholesky_qr(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Q, R of a batch of tall matrices by Cholesky QR (R = chol(ZᵀZ) upper, Q = Z R⁻¹): the unique QR with a
    positive diagonal of R, as matrix products. The alternative to Householder QR that we measured and did not
    adopt for ``sparseness.random_bases`` (slower on the CPU)."""
    r = torch.linalg.cholesky(z.mT @ z, upper=True)
    return torch.linalg.solve_triangular(r, z, upper=True, left=False), r


def _timed(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up), in seconds."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench sparseness``: the basis test's design choices against their alternatives.

    (1) random bases by batched Householder QR (``torch.linalg.qr``, what ``random_bases`` uses) vs a
    Python loop of Householder QRs vs batched Cholesky QR applied twice (CholeskyQR2); (2) the statistics of
    all draws batched in one tensor program vs one draw at a time. Prints the times and ratios of one run
    (best of ``--repeats``, after a warm-up) and returns them.
    """
    ap = argparse.ArgumentParser(prog="localcodes bench sparseness", description=bench_main.__doc__)
    ap.add_argument("--units", type=int, default=256, help="layer width U (default 256)")
    ap.add_argument("--samples", type=int, default=5000, help="samples (rows) per layer (default 5000)")
    ap.add_argument("--draws", type=int, default=10, help="random bases (default 10)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the best is reported (default 3)")
    ap.add_argument("--device", default=None, help="cpu, cuda or auto (default: auto)")
    args = ap.parse_args(argv)
    if min(args.units, args.samples, args.draws, args.repeats) < 1:
        ap.error("--units, --samples, --draws and --repeats must be >= 1")
    dev = pick_device(args.device)
    u, d = args.units, args.draws
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(d, u, u, generator=gen, dtype=torch.float64).to(dev)
    x = torch.relu(torch.randn(args.samples, u, generator=gen) - 0.5).to(dev)

    def householder_loop():
        for i in range(d):
            torch.linalg.qr(z[i])

    t = {
        "bases: Householder QR, batched": _timed(lambda: torch.linalg.qr(z), args.repeats),
        "bases: Householder QR, loop": _timed(householder_loop, args.repeats),
        "bases: CholeskyQR2, batched": _timed(lambda: cholesky_qr(cholesky_qr(z)[0]), args.repeats),
        "basis test: draws batched": _timed(lambda: basis_values(x, draws=d, chunk=d, dtype=torch.float32),
                                            args.repeats),
        "basis test: one draw at a time": _timed(
            lambda: basis_values(x, draws=d, chunk=1, dtype=torch.float32), args.repeats),
    }
    batched = t["bases: Householder QR, batched"]
    ratios = {
        "Householder loop / batched": t["bases: Householder QR, loop"] / batched,
        "CholeskyQR2 / Householder batched": t["bases: CholeskyQR2, batched"] / batched,
        "one draw at a time / batched": t["basis test: one draw at a time"] / t["basis test: draws batched"],
    }
    print(f"device: {device_name(dev)}; U={u}, samples={args.samples}, draws={d}, best of {args.repeats}")
    for k, v in t.items():
        print(f"  {k:<36s} {v * 1000:9.1f} ms")
    for k, v in ratios.items():
        print(f"  {k:<36s} {v:9.2f}x")
    return {"seconds": t, "ratios": ratios, "device": device_name(dev), **vars(args)}
