"""Benchmark and run-time projections of the training engine (``localcodes bench train``).

:func:`bench_main` measures network-epochs/s of the batched ensemble against plain per-network PyTorch loops, and
optionally experiment 1's sweep at the paper's settings. :func:`estimate_runtime` times a short probe of a
sweep's ensembles on this device and extrapolates; :func:`project_runtime` and :func:`project_concurrent` are the
analytic projections for a device we cannot measure (e.g. a GPU from a CPU-only machine). Uses only the public
API of :mod:`localcodes.engine`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import codes, engine
from ..store import device_name, pick_device, write_json

__all__ = [
    "EXPERIMENT1_WIDTHS",
    "estimate_runtime",
    "kernels_per_step",
    "project_runtime",
    "project_concurrent",
    "bench_main",
]


def estimate_runtime(
    conditions: dict | Iterable[dict],
    repeats: int = 1,
    *,
    base: dict | None = None,
    data_fn: Callable[..., engine.Dataset] = engine.code_data,
    device: str | None = None,
    max_networks: int | None = None,
    probe_epochs: int = 3,
) -> pd.DataFrame:
    """Estimate a sweep's run time on this device: time a short probe of every ensemble shape, extrapolate.

    For each group of conditions that share an ensemble, one ensemble of the chunk size trains
    ``probe_epochs`` epochs (after one warm-up epoch) and is measured once; the estimate is
    chunks × (epochs × seconds per epoch + checkpoints × seconds per measurement). Early stopping makes the
    real run shorter (the estimate is an upper bound for it). Returns one row per group (``networks, chunks,
    epochs, s_per_epoch, s_per_measure, est_s``); ``df.est_s.sum()`` is the total.
    """
    tasks = engine.sweep_tasks(conditions, repeats, base, 0)
    dev = pick_device(device)
    rows = []
    for key, members in engine.group_tasks(tasks).items():
        cap = max_networks or engine.auto_max_networks(members[0], dev, data_fn)
        size = min(cap, len(members))
        n_chunks = math.ceil(len(members) / cap)
        train_p, data_p = engine.split_params(members[0].params)
        cfg = engine.TrainConfig.from_dict(
            {**train_p, "stop": "budget", "max_steps": None, "checkpoints": (), "acc_every": 0}
        )
        data = data_fn(**data_p, seed=members[0].seed)
        trainer = engine.Trainer(data, [cfg.with_(seed=i) for i in range(size)], dev)
        trainer.run_epoch()
        t0 = time.perf_counter()
        for _ in range(probe_epochs):
            trainer.run_epoch()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        per_epoch = (time.perf_counter() - t0) / probe_epochs
        t0 = time.perf_counter()
        trainer.measure(np.arange(size), np.zeros(size, dtype=bool))
        per_measure = time.perf_counter() - t0
        epochs = max(int(t.params.get("epochs", engine.TrainConfig().epochs)) for t in members)
        n_cp = len(train_p.get("checkpoints", ())) + 1
        extra = 1.0 if engine.TrainConfig.from_dict(train_p).check_acc_every else 0.0  # an accuracy check per epoch
        est = n_chunks * (epochs * per_epoch * (1 + extra * 0.3) + n_cp * per_measure)
        rows.append(
            dict(
                group=key,
                networks=len(members),
                ensemble_size=size,
                chunks=n_chunks,
                epochs=epochs,
                s_per_epoch=per_epoch,
                s_per_measure=per_measure,
                est_s=est,
            )
        )
    return pd.DataFrame(rows)


def kernels_per_step(n_weight_layers: int) -> int:
    """Operations (device kernels) one plain-SGD training step of the ensemble dispatches: 10 for the batch,
    the stopping mask, the output error and the step counter, and 7 per weight layer (checked by a test that
    counts the step's dispatched operations)."""
    return 10 + 7 * n_weight_layers


def project_runtime(
    hidden: Sequence[int],
    n_examples: int = 500,
    input_length: int = 500,
    output_length: int = 50,
    epochs: int = 45_000,
    networks: int = 10,
    batch_size: int = 32,
    flops_per_s: float = 2.0e13,
    launch_s: float = 1e-5,
    kernels: int | None = None,
    cuda_graphs: bool = False,
    graph_kernel_s: float = 2.5e-6,
) -> dict:
    """Analytic run time of training ``networks`` MLPs as one ensemble on a device we cannot measure.

    Every optimiser step runs ``kernels`` operations (default :func:`kernels_per_step`) and
    6 x networks x batch x sum(fan_in x fan_out) FLOPs (forward 2, backward 4) at ``flops_per_s``.
    Eager (``cuda_graphs=False``): each operation costs ``launch_s`` of host time (kernel launch plus PyTorch's
    dispatch) and the GPU computes while the host launches, so a step takes the larger of the two.
    With CUDA graphs an epoch is one launch, but its kernels still run one after another on the GPU, each
    taking at least ``graph_kernel_s`` (launch latency plus a small kernel's ramp): a step takes
    kernels x graph_kernel_s + FLOPs / flops_per_s (no overlap assumed, so this errs long), and each epoch adds
    ``networks + 4`` eager launches (permutations, buffer refills, the replay).
    The defaults are assumptions for one H100 in float32 (a third of its ~60 TFLOP/s for these skinny batched
    matmuls; ~10 us per eager operation; 2.5 us per graph kernel); calibrate them with
    ``localcodes bench train --device cuda`` when a GPU is at hand. Measurements at checkpoints are not
    included. Returns the steps, FLOPs and seconds.
    """
    sizes = [input_length, *hidden, output_length]
    n_layers = len(sizes) - 1
    k = kernels if kernels is not None else kernels_per_step(n_layers)
    steps_per_epoch = math.ceil(n_examples / batch_size)
    steps = steps_per_epoch * epochs
    flops_step = 6 * networks * batch_size * sum(a * b for a, b in itertools.pairwise(sizes))
    if cuda_graphs:
        t_step = k * graph_kernel_s + flops_step / flops_per_s
        t_epoch = steps_per_epoch * t_step + (networks + 4) * launch_s
    else:
        t_step = max(k * launch_s, flops_step / flops_per_s)
        t_epoch = steps_per_epoch * t_step
    seconds = t_epoch * epochs
    return dict(
        steps=steps,
        flops=flops_step * steps,
        s_per_step=t_epoch / steps_per_epoch,
        seconds=seconds,
        minutes=seconds / 60,
        hours=seconds / 3600,
    )


def project_concurrent(hiddens: Sequence[Sequence[int]], flops_per_s: float = 2.0e13, **kw) -> dict:
    """Analytic run time of several ensembles trained at once on one GPU with CUDA graphs (``sweep(concurrent=)``).

    They share the GPU's arithmetic and their kernel floors overlap, so the run takes at least their total
    FLOPs at ``flops_per_s`` and at least the longest ensemble alone: the larger of the two, an optimistic
    bound (perfect overlap). ``kw`` as :func:`project_runtime`."""
    each = [project_runtime(list(h), flops_per_s=flops_per_s, cuda_graphs=True, **kw) for h in hiddens]
    arithmetic = sum(e["flops"] for e in each) / flops_per_s
    longest = max(e["seconds"] for e in each)
    seconds = max(arithmetic, longest)
    return dict(arithmetic_s=arithmetic, longest_s=longest, seconds=seconds, minutes=seconds / 60)


# ---------------------------------------------------------------------------------------------- benchmark
def _bench(
    n_networks: int,
    input_length: int,
    hidden: list[int],
    output_length: int,
    batch_size: int,
    n_examples: int,
    epochs: int,
    device: str | None,
    plain_networks: int,
    rounds: int = 1,
    cuda_graphs: bool | None = None,
) -> dict:
    """Network-epochs/s of the ensemble and the plain loops, measured in ``rounds`` interleaved rounds.

    Each round times ``epochs`` ensemble epochs, then ``plain_networks`` networks x ``epochs`` epochs of each
    plain loop, so a slow spell on a shared machine hits both sides of a round's ratio; the reported rates and
    ratios are medians over rounds (with the rounds' range).
    """
    rng = np.random.default_rng(0)
    n_classes = 10
    X = (rng.random((n_examples, input_length)) < 0.4).astype(np.float32)
    y = np.arange(n_examples) % n_classes
    targets = codes.output_code(n_classes, "distributed", output_length, seed=0)
    data = engine.Dataset(X, y, targets)
    cfg = engine.TrainConfig(hidden=tuple(hidden), batch_size=batch_size, epochs=epochs)
    dev = pick_device(device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    trainer = engine.Trainer(data, [cfg.with_(seed=i) for i in range(n_networks)], dev, cuda_graphs)
    for _ in range(3 if trainer.graphs else 1):  # warm-up (with graphs: warm-up, capture, first replay)
        trainer.run_epoch()
    loaders = ("dataloader", "index") if plain_networks >= 1 else ()
    for loader in loaders:
        engine.train_plain(data, cfg.with_(epochs=1), device=dev, loader=loader)  # warm-up
    ens_rates, rates = [], {loader: [] for loader in loaders}
    ens_s = 0.0
    for _ in range(rounds):
        sync()
        t0 = time.perf_counter()
        for _ in range(epochs):
            trainer.run_epoch()
        sync()
        dt = time.perf_counter() - t0
        ens_s += dt
        ens_rates.append(n_networks * epochs / dt)
        for loader in loaders:
            sync()
            t0 = time.perf_counter()
            for i in range(plain_networks):
                engine.train_plain(data, cfg.with_(seed=i), device=dev, loader=loader)
            sync()
            rates[loader].append(plain_networks * epochs / (time.perf_counter() - t0))
    ens = np.array(ens_rates)
    plain = np.array(rates.get("dataloader", [math.nan] * rounds))
    lean = np.array(rates.get("index", [math.nan] * rounds))
    ratio, ratio_lean = ens / plain, ens / lean
    return dict(
        device=device_name(dev),
        threads=torch.get_num_threads(),
        cuda_graphs=trainer.graphs,
        networks=n_networks,
        input=input_length,
        hidden=hidden,
        output=output_length,
        batch=batch_size,
        examples=n_examples,
        epochs=epochs,
        rounds=rounds,
        ensemble_s=ens_s,
        ensemble_net_epochs_per_s=float(np.median(ens)),
        plain_net_epochs_per_s=float(np.median(plain)),
        lean_net_epochs_per_s=float(np.median(lean)),
        ratio=float(np.median(ratio)),
        ratio_range=[float(ratio.min()), float(ratio.max())],
        ratio_lean=float(np.median(ratio_lean)),
        ratio_lean_range=[float(ratio_lean.min()), float(ratio_lean.max())],
    )


EXPERIMENT1_WIDTHS = (100, 250, 500, 1000, 2000, 5000)


def _bench_exp1(
    epochs: int,
    widths: Sequence[int],
    repeats: int,
    device: str | None,
    concurrent: int,
    cuda_graphs: bool | None,
) -> list[dict]:
    """Experiment 1's sweep at the paper's settings (standard code, 500 examples, SGD lr 0.01, batch 32) for
    ``epochs`` and ``2 x epochs`` epochs, one ensemble after another and ``concurrent`` at a time; the
    difference of the two runs is the cost of ``epochs`` epochs without the fixed costs (data, warm-up,
    capture, final measurement), which gives the 45,000-epoch projection (NaN when the longer run was not
    the slower one: too few epochs for the machine's noise)."""
    conds = {"hidden": [[w] for w in widths]}
    # untimed warm-up: first-call costs (imports, CUDA context, cuBLAS handles) must not land in one run only
    engine.sweep(
        conds, 1, base=dict(engine.PAPER_DEFAULTS, epochs=1), device=device, progress=False, cuda_graphs=cuda_graphs
    )
    rows = []
    for conc in sorted({1, concurrent}):
        walls = []
        for e in (epochs, 2 * epochs):
            base = dict(engine.PAPER_DEFAULTS, epochs=e, checkpoints=())
            t0 = time.perf_counter()
            engine.sweep(
                conds,
                repeats,
                base=base,
                device=device,
                progress=False,
                max_networks=repeats,
                cuda_graphs=cuda_graphs,
                concurrent=conc,
            )
            walls.append(time.perf_counter() - t0)
        # runs too short for the machine's noise can come out longer the first time: then no projection
        per_epoch = (walls[1] - walls[0]) / epochs if walls[1] > walls[0] else math.nan
        fixed = max(walls[0] - per_epoch * epochs, 0.0)
        rows.append(
            dict(
                concurrent=conc,
                widths=list(widths),
                repeats=repeats,
                epochs=epochs,
                wall_s=walls[0],
                wall_2x_s=walls[1],
                s_per_epoch=per_epoch,
                projected_45000_min=(fixed + per_epoch * 45_000) / 60,
            )
        )
    return rows


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench train``: network-epochs/s of the batched ensemble vs a plain per-network loop."""
    p = argparse.ArgumentParser(prog="localcodes bench train", description=bench_main.__doc__)
    p.add_argument("--networks", type=int, default=10)
    p.add_argument("--input", type=int, default=500)
    p.add_argument("--hidden", type=int, nargs="+", default=[250])
    p.add_argument("--output", type=int, default=50)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--epochs", type=int, default=5, help="epochs per round (default 5)")
    p.add_argument("--rounds", type=int, default=8, help="interleaved measuring rounds (default 8)")
    p.add_argument(
        "--plain-networks", type=int, default=2, help="networks per round for each plain loop (default 2)"
    )
    p.add_argument("--device", default=None, help="cpu, cuda, auto (default auto)")
    p.add_argument(
        "--graphs",
        choices=("auto", "on", "off"),
        default="auto",
        help="replay epochs as CUDA graphs (auto: on a CUDA device)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument(
        "--project",
        action="store_true",
        help="also project experiment 1 at paper scale (45,000 epochs) from the measured rate",
    )
    p.add_argument(
        "--exp1",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="also run experiment 1's sweep (paper settings, --networks repeats of each of --exp1-widths) for "
        "EPOCHS and 2 x EPOCHS epochs, in sequence and --concurrent at a time, and project 45,000 epochs",
    )
    p.add_argument("--exp1-widths", type=int, nargs="+", default=list(EXPERIMENT1_WIDTHS))
    p.add_argument("--concurrent", type=int, default=len(EXPERIMENT1_WIDTHS), help="for --exp1 (default 6)")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    for name in ("networks", "input", "output", "batch", "examples", "epochs", "rounds", "concurrent"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1; got {getattr(args, name)}")
    if args.plain_networks < 0:
        raise ValueError(f"--plain-networks must be >= 0; got {args.plain_networks}")
    if args.exp1 < 0:
        raise ValueError(f"--exp1 must be >= 0 epochs; got {args.exp1}")
    if min(args.exp1_widths) < 1:
        raise ValueError(f"--exp1-widths must be hidden sizes >= 1; got {args.exp1_widths}")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1; got {args.threads}")
        torch.set_num_threads(args.threads)
    graphs = {"auto": None, "on": True, "off": False}[args.graphs]
    r = _bench(
        args.networks,
        args.input,
        args.hidden,
        args.output,
        args.batch,
        args.examples,
        args.epochs,
        args.device,
        args.plain_networks,
        args.rounds,
        graphs,
    )
    lo, hi = r["ratio_range"]
    lo2, hi2 = r["ratio_lean_range"]
    print(f"device: {r['device']} ({r['threads']} threads, CUDA graphs {'on' if r['cuda_graphs'] else 'off'})")
    print(
        f"shapes: {args.networks} networks, {args.input}-{'-'.join(map(str, args.hidden))}-{args.output}, "
        f"batch {args.batch}, {args.examples} examples; {args.rounds} rounds of {args.epochs} epochs "
        "(medians over rounds)"
    )
    print(f"ensemble                       : {r['ensemble_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"plain loop (DataLoader)        : {r['plain_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"plain loop (lean index slices) : {r['lean_net_epochs_per_s']:10.1f} network-epochs/s")
    print(f"ratio vs DataLoader loop       : {r['ratio']:10.2f}x  (rounds: {lo:.2f}-{hi:.2f}x)")
    print(f"ratio vs lean loop             : {r['ratio_lean']:10.2f}x  (rounds: {lo2:.2f}-{hi2:.2f}x)")
    if args.project:
        rows = []
        for h in EXPERIMENT1_WIDTHS:
            rr = _bench(args.networks, 500, [h], 50, 32, 500, args.epochs, args.device, 0, 1, graphs)
            secs = 45_000 * args.networks / rr["ensemble_net_epochs_per_s"]
            rows.append(
                dict(
                    hidden=h,
                    measured_net_epochs_per_s=rr["ensemble_net_epochs_per_s"],
                    here_min=secs / 60,
                    h100_eager_model_min=project_runtime([h], networks=args.networks)["minutes"],
                    h100_graphs_model_min=project_runtime([h], networks=args.networks, cuda_graphs=True)[
                        "minutes"
                    ],
                )
            )
        proj = pd.DataFrame(rows)
        print(
            f"\nexperiment 1 at paper scale, {args.networks} networks x 45,000 epochs per hidden size, in minutes "
            "(here: from the rate measured on this device; h100_*_model: project_runtime's assumptions):"
        )
        print(proj.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        totals = proj[["here_min", "h100_eager_model_min", "h100_graphs_model_min"]].sum()
        print("all six sizes one after another: " + ", ".join(f"{k} {v:.3g}" for k, v in totals.items()))
        together = project_concurrent([[h] for h in EXPERIMENT1_WIDTHS], networks=args.networks)
        print(
            f"all six at once on one H100 (graphs, own streams; optimistic bound: perfect overlap): "
            f"{together['minutes']:.3g} min (arithmetic alone {together['arithmetic_s'] / 60:.3g}, "
            f"longest size alone {together['longest_s'] / 60:.3g})"
        )
        r["projection"] = proj.to_dict(orient="records")
        r["projection_total_min"] = totals.to_dict()
        r["projection_concurrent_min"] = together["minutes"]
    if args.exp1:
        exp1 = _bench_exp1(args.exp1, args.exp1_widths, args.networks, args.device, args.concurrent, graphs)
        print(
            f"\nexperiment 1's sweep ({args.networks} repeats x widths {args.exp1_widths}), measured for "
            f"{args.exp1} and {2 * args.exp1} epochs; 45,000 epochs projected from the difference:"
        )
        print(pd.DataFrame(exp1).drop(columns="widths").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        r["exp1"] = exp1
    if args.json:
        write_json(args.json, r)
    return r
