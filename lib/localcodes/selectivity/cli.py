"""The command lines ``localcodes record`` (an HDF5 activation table of named layers, for the network trained
here or torchvision-format AlexNet weights on an image folder) and ``localcodes selectivity`` (Parquet unit
tables and local codes of every layer of a table)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from .. import nets, store
from .images import ImageFolder
from .tables import measure_table, model_identity, read_table, record

__all__ = ["main", "selectivity_main"]


def _record_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="localcodes record", description="Record an HDF5 activation table "
                                "(correctly classified images only) of named layers; resumes when interrupted.")
    p.add_argument("out", type=Path, help="the HDF5 table to write (or resume)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", type=Path, help="ImageNet-style folder: <folder>/<class>/<image>")
    src.add_argument("--trained", choices=list(nets.TRAINED_PRESETS), metavar="SCALE",
                     help="the AlexNet-architecture net trained here at this scale, on its own images")
    p.add_argument("--split", default="train", choices=["train", "test"], help="with --trained: which images")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--weights", type=Path, help="torchvision-format AlexNet weights (.pth) for --images")
    w.add_argument("--random-init", action="store_true", help="with --images: a randomly initialised AlexNet")
    p.add_argument("--num-classes", type=int, default=None, help="default: from the weights, else the folders")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--input-size", type=int, default=224, help="224 (torchvision) or 227 (Caffe)")
    p.add_argument("--layers", nargs="+", default=list(nets.LAYER_ORDER))
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=0, help="image decoding processes")
    p.add_argument("--all-images", action="store_true", help="keep misclassified images too")
    p.add_argument("--device", default=None, help="cpu, cuda, auto (default)")
    p.add_argument("--seed", type=int, default=0, help="with --random-init")
    return p


def _folder_model(args) -> tuple[nn.Module, dict]:
    images = ImageFolder(args.images, size=args.input_size, num_workers=args.workers)
    n_classes = args.num_classes
    if args.weights is not None:
        if n_classes is None:
            state = torch.load(args.weights, map_location="cpu", weights_only=True) if args.weights.exists() else {}
            state = state.get("state_dict", state) if isinstance(state, dict) else {}
            fc8 = state.get("classifier.6.weight")
            n_classes = int(fc8.shape[0]) if fc8 is not None else 1000
        model = nets.AlexNet(num_classes=n_classes, width=args.width, pool_size=6)
        nets.load_weights(model, args.weights)
        extra = {"weights": str(args.weights)}
    elif args.random_init:
        torch.manual_seed(args.seed)
        model = nets.AlexNet(num_classes=n_classes or len(images.class_names), width=args.width, pool_size=6)
        extra = {"weights": f"random initialisation, seed {args.seed}"}
    else:
        raise ValueError("--images needs --weights FILE (torchvision-format AlexNet) or --random-init")
    if len(images.class_names) > model.classifier[-1].out_features:
        raise ValueError(f"the folder has {len(images.class_names)} classes but the network only "
                         f"{model.classifier[-1].out_features} outputs")
    return model, {"images": images, "identity": model_identity(model, **extra)}


def main(args) -> None:
    """``localcodes record …`` (``args.rest`` holds the argument list)."""
    argv = list(getattr(args, "rest", args) or [])
    if argv and argv[0] == "--":
        argv = argv[1:]
    opts = _record_parser().parse_args(argv)
    if opts.trained:
        if opts.weights or opts.random_init:
            raise ValueError("--trained uses the network trained here; leave out --weights/--random-init")
        model, info = nets.trained_alexnet(opts.trained, device=opts.device)
        images = nets.image_data(opts.trained, opts.split)
        identity = model_identity(model, trained=f"nets.trained_alexnet({opts.trained!r})",
                                  dataset=info["dataset"], test_accuracy=info["test_accuracy"])
    else:
        model, extra = _folder_model(opts)
        images, identity = extra["images"], extra["identity"]
    start = time.perf_counter()
    path = record(model, opts.layers, images, opts.out, batch_size=opts.batch_size, device=opts.device,
                  correct_only=not opts.all_images, model_info=identity)
    meta = read_table(path)
    print(f"{path}: {meta['n_rows']} of {meta['n_images']} images kept ({meta['n_correct']} correct), layers "
          f"{meta['units']} [{time.perf_counter() - start:.1f} s]")


def selectivity_main(args) -> None:
    """``localcodes selectivity TABLE.h5 …``: one Parquet unit table (and local codes) per layer."""
    argv = list(getattr(args, "rest", args) or [])
    if argv and argv[0] == "--":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="localcodes selectivity",
                                description="Unit tables (Parquet) for every layer of an HDF5 activation table.")
    p.add_argument("table", type=Path)
    p.add_argument("--out", type=Path, default=None, help="folder (default: <table>_selectivity beside it)")
    p.add_argument("--layers", nargs="+", default=None)
    p.add_argument("-k", "--k", type=int, default=100, help="precision@k (paper 001: 100)")
    p.add_argument("--pooling", default="classes", choices=["classes", "images"])
    p.add_argument("--device", default=None)
    p.add_argument("--batch-rows", type=int, default=None)
    opts = p.parse_args(argv)
    out = opts.out or opts.table.with_name(opts.table.stem + "_selectivity")
    start = time.perf_counter()
    tables = measure_table(opts.table, opts.layers, k=opts.k, pooling=opts.pooling, device=opts.device,
                           batch_rows=opts.batch_rows)
    for name, (table, codes) in tables.items():
        store.write_parquet(out / f"{name}.parquet", table)
        store.write_parquet(out / f"{name}_local_codes.parquet", codes)
        print(f"{name}: {len(table)} units, mean top-class selectivity {table.top_class_selectivity.mean():.3%}, "
              f"mean precision {table.precision.mean():.1%}, mean CCMAS {table.ccmas.mean():.3f}, "
              f"{len(codes)} local codes → {out / (name + '.parquet')}")
    store.write_json(out / "provenance.json", store.provenance(
        command="localcodes selectivity " + " ".join(argv), table=str(opts.table), k=opts.k,
        pooling=opts.pooling, wall_time_s=round(time.perf_counter() - start, 2), device=opts.device))
