"""``localcodes bench am``: activation-maximisation throughput (images x steps per second) on one layer of an
AlexNet, with the image prior and diversity penalty the book uses."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch

from .. import nets
from ..am import PRIORS, AMConfig, fit_linear_generator, maximise
from ..store import device_name, pick_device, write_json

__all__ = ["bench_main"]


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench am``: AM throughput (images x steps per second) on one layer of an AlexNet."""
    p = argparse.ArgumentParser(prog="localcodes bench am", description=bench_main.__doc__)
    p.add_argument(
        "--model",
        choices=["random", "trained"],
        default="random",
        help="a randomly initialised AlexNet of the scale's shape (default; nothing to train) or the "
        "scale's trained one (trained and cached first if needed); the speed is the same",
    )
    p.add_argument("--scale", default="book", choices=["smoke", "book", "paper"], help="the network's shape")
    p.add_argument(
        "--layer", default="fc6", help="conv5 | fc6 | fc7 | fc8 (paper 001's names) or a module name"
    )
    p.add_argument("--units", type=int, default=4, help="units optimised together")
    p.add_argument("--images", type=int, default=25, help="images per unit")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument(
        "--param-size", type=int, default=28, help="side at which Fourier images are parameterised"
    )
    p.add_argument(
        "--prior",
        choices=PRIORS,
        default="generator",
        help="image prior: a PCA generator fitted to the scale's training images, or Fourier",
    )
    p.add_argument(
        "--diversity", type=float, default=0.3, help="weight of the diversity penalty (as the chapter)"
    )
    p.add_argument("--device", default=None, help="cpu | cuda | auto (default: CUDA when present)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", type=Path, default=None, help="also write the result here (atomically)")
    args = p.parse_args(list(argv or []))
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    preset = nets.TRAINED_PRESETS[args.scale]
    if args.model == "trained":
        model, _ = nets.trained_alexnet(args.scale, device=dev)
    else:
        torch.manual_seed(0)
        model = nets.AlexNet(10, 1, preset["width"], nets.pool5_size(preset["input_size"])).to(dev)
    layer = nets.ALEXNET_LAYERS.get(args.layer, args.layer)
    cfg = AMConfig(
        size=preset["input_size"],
        param_size=args.param_size,
        steps=args.steps,
        prior=args.prior,
        diversity=args.diversity,
        latent_l2=0.1 if args.prior == "generator" else 0.0,
    )
    gen = None
    if args.prior == "generator":
        gen = fit_linear_generator(nets.image_data(args.scale, "train").raw[:2000], k=64)
    targets = [(layer, u) for u in range(args.units)]
    warm = AMConfig(**{**asdict(cfg), "steps": 2})
    maximise(model, targets, 2, warm, device=dev, generator=gen)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    res = maximise(model, targets, args.images, cfg, device=dev, generator=gen)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    n = args.units * args.images
    out = {
        "benchmark": "am",
        "layer": args.layer,
        "module": layer,
        "scale": args.scale,
        "input_size": preset["input_size"],
        "width": preset["width"],
        "prior": args.prior,
        "param_size": args.param_size if args.prior == "fourier" else None,
        "batch_images": n,
        "steps": args.steps,
        "diversity": args.diversity,
        "seconds": round(res.seconds, 3),
        "images_steps_per_s": round(n * args.steps / res.seconds, 1),
        "device": device_name(dev),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(out))
    if args.json:
        write_json(args.json, out)
    return out
