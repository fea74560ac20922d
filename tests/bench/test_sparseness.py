"""The basis test's benchmark runs and reports its ratios; its Cholesky QR agrees with the bases it was
measured against."""

from __future__ import annotations

import torch
from localcodes import sparseness as sp
from localcodes.bench import sparseness as bench


def test_benchmark_runs_and_reports_ratios(capsys):
    argv = ["--units", "16", "--samples", "50", "--draws", "2", "--repeats", "1", "--device", "cpu"]
    out = bench.bench_main(argv)
    assert set(out["ratios"]) == {"Householder loop / batched", "CholeskyQR2 / Householder batched",
                                  "one draw at a time / batched"}
    assert all(v > 0 for v in out["ratios"].values())
    assert "one draw at a time" in capsys.readouterr().out


def test_cholesky_qr_gives_the_q_of_random_bases():
    # the same Q as the Householder QR of random_bases, the other way to the unique QR with a positive diagonal of R
    q = sp.random_bases(16, 5, seed=0)
    z = torch.randn(16, 16, generator=torch.Generator().manual_seed(sp.draw_seed(0, 0)), dtype=torch.float64)
    torch.testing.assert_close(q[0], bench.cholesky_qr(z)[0])
