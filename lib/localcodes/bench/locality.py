"""Benchmark of the locality experiments' stacks: one batched computation of M LeNets against the same M
networks trained one by one in a loop."""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from .. import store
from ..locality import LeNet, LeNetStack, seeded

__all__ = ["bench_main"]


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench locality``: training throughput of a LeNetStack of M members vs M LeNets in a
    loop."""
    ap = argparse.ArgumentParser(
        prog="localcodes bench locality",
        description="stacked (one batched computation) vs per-network training of LeNets",
    )
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    dev = store.pick_device(args.device)
    x = torch.randn(args.batch_size, args.members, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (args.batch_size, args.members), device=dev)
    nets = [seeded(i, lambda i=i: LeNet("linear" if i % 2 else None)) for i in range(args.members)]

    def timed(fn) -> float:
        fn()  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(args.steps):
            fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t) / args.steps

    stack = LeNetStack(nets).to(dev)
    opt = torch.optim.SGD(stack.parameters(), lr=0.01, momentum=0.5)

    def stacked():
        out = stack(x)
        loss = (
            F.cross_entropy(out.reshape(-1, 10), y.reshape(-1), reduction="none")
            .reshape(y.shape)
            .mean(0)
            .sum()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()

    singles = [n.to(dev).train() for n in nets]
    opts = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.5) for n in singles]

    def looped():
        for i, (n, o) in enumerate(zip(singles, opts, strict=True)):
            loss = F.cross_entropy(n(x[:, i]), y[:, i])
            o.zero_grad()
            loss.backward()
            o.step()

    ts, tl = timed(stacked), timed(looped)
    out = {
        "device": store.device_name(dev),
        "members": args.members,
        "batch_size": args.batch_size,
        "stacked_ms_per_step": round(ts * 1e3, 2),
        "looped_ms_per_step": round(tl * 1e3, 2),
        "speedup": round(tl / ts, 2),
        "stacked_images_per_s": round(args.batch_size * args.members / ts),
    }
    print(json.dumps(out, indent=2))
    return out
