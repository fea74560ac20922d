"""The command lines ``localcodes record`` (an HDF5 activation table of named layers of AlexNet or of your own
network, on an image folder or the images of the network trained here) and ``localcodes selectivity`` (Parquet
unit tables and local codes of every layer of a table).

Their options are declared here and added straight onto the ``localcodes`` subcommands
(``add_record_arguments``, ``add_selectivity_arguments``); ``main`` and ``selectivity_main`` take those parsed
options, or an argument list when called on their own.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import nets, store
from .extract import CONV_POOLINGS
from .measures import POOLINGS

__all__ = [
    "RECORD_HELP",
    "SELECTIVITY_HELP",
    "add_record_arguments",
    "add_selectivity_arguments",
    "main",
    "selectivity_main",
]

RECORD_HELP = "record an HDF5 activation table of named layers (AlexNet or your own network) on labelled images"
SELECTIVITY_HELP = "unit tables and local codes (Parquet) of every layer of an HDF5 activation table"

_RECORD_DESCRIPTION = """\
Record the activations of named layers of a network on labelled images into an HDF5 table: one row per image,
only the correctly classified ones unless --all-images (it prints how many it kept of how many). A convolutional
layer's value is each filter's maximum over space (--pooling max, paper 001) or its mean. An interrupted
recording resumes where it stopped; a finished one is reused as it is."""

_RECORD_EPILOG = """\
the model (--model):
  alexnet                   the built-in AlexNet (default): --weights FILE (torchvision format) or
                            --random-init on --images, or --trained SCALE (trained here, on its own images)
  package.module:factory    a callable that returns an nn.Module (e.g. torchvision.models:resnet18), with its
  path/to/file.py:factory   weights from --weights FILE (a state dict) or as the factory makes them (--seed)
  FILE.pt2                  a program saved by torch.export.save (weights included; a dynamic batch dimension)
  TorchScript files cannot be recorded (a loaded one takes no hooks): save the model with torch.export.

the layers (--layers): AlexNet's conv5 fc6 fc7 fc8 prob (its default), or module names of your model as
  model.named_modules() lists them (layer4 fc); a wrong name lists the valid ones. --layers takes every word
  after it, so give OUT before it or as -o OUT.

the images (--images): <folder>/<class>/<image>, classes numbered in sorted folder order (the standard ImageNet
  class ids with all 1000 synset folders); resized to 256 px, centre-cropped to --input-size, normalised with
  ImageNet's mean and std.

examples:
  localcodes record acts.h5 --images ~/imagenet/val --weights alexnet-owt-7be5be79.pth
  localcodes record acts.h5 --trained book --split test --layers fc6 fc7
  localcodes record acts.h5 --model torchvision.models:resnet18 --weights resnet18.pth \\
      --images ~/imagenet/val --layers layer4 fc --pooling mean --device cuda
  localcodes record --model mynet.py:build --images data/ --input-size 64 --layers 2 4 -o acts.h5
  localcodes record acts.h5 --model net.pt2 --images data/ --layers fc1 --all-images
then: localcodes selectivity acts.h5"""

_SELECTIVITY_DESCRIPTION = """\
Per-unit selectivity measures (top-class selectivity, precision@k, CCMAS, ...) and the local codes of every layer
of an HDF5 activation table (from `localcodes record`), in one streaming pass over the table: one Parquet unit
table and one Parquet table of local codes per layer, and provenance.json, in the output folder."""

_SELECTIVITY_EPILOG = """\
examples:
  localcodes selectivity acts.h5                       # every layer, into acts_selectivity/
  localcodes selectivity acts.h5 --layers fc6 fc7 -k 60 -o results/fc
  localcodes selectivity acts.h5 --device cuda --batch-rows 4096
--layers takes every word after it, so give TABLE before it."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {value}")
    return value


def _describe(p: argparse.ArgumentParser, description: str, epilog: str) -> None:
    p.description, p.epilog = description, epilog
    p.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines as written


def add_record_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare ``localcodes record``'s options (and its description and examples) on ``p``."""
    _describe(p, _RECORD_DESCRIPTION, _RECORD_EPILOG)
    p.add_argument("out", nargs="?", type=Path, metavar="OUT", help="the HDF5 table to write, or resume if it is "
                   "unfinished (or give it as -o OUT)")
    p.add_argument("-o", "--out", dest="out_option", type=Path, metavar="OUT",
                   help="the table as an option (the same as OUT)")
    p.add_argument("--model", default="alexnet", metavar="SPEC", help="alexnet (default), package.module:factory, "
                   "path/to/file.py:factory or FILE.pt2 (see below)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", type=Path, metavar="DIR", help="an ImageNet-style folder: DIR/<class>/<image>")
    src.add_argument("--trained", choices=list(nets.TRAINED_PRESETS), metavar="SCALE",
                     help=f"the AlexNet-architecture net trained here at SCALE ({', '.join(nets.TRAINED_PRESETS)}) "
                     "on its own images (with --model alexnet)")
    p.add_argument("--split", default="train", choices=["train", "test"], help="with --trained: which of its "
                   "images (default train)")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--weights", type=Path, metavar="FILE", help="a state dict: torchvision-format AlexNet weights "
                   "(.pth) for alexnet, or weights for a factory's model")
    w.add_argument("--random-init", action="store_true", help="alexnet: randomly initialised (seeded by --seed)")
    p.add_argument("--layers", nargs="+", action="extend", default=None, metavar="LAYER",
                   help="layers to record (default for alexnet: conv5 fc6 fc7 fc8 prob; required otherwise)")
    p.add_argument("--pooling", default="max", choices=list(CONV_POOLINGS),
                   help="how a conv layer's map becomes one value per filter: its maximum over space (default, "
                   "paper 001) or its mean")
    p.add_argument("--all-images", action="store_true", help="keep misclassified images too (default: only the "
                   "correctly classified ones)")
    p.add_argument("--batch-size", type=_positive, default=256, metavar="N", help="images per forward pass "
                   "(default 256)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, or auto (default: CUDA when present)")
    p.add_argument("--input-size", type=_positive, default=224, metavar="PX", help="with --images: the "
                   "centre crop's side (224 for torchvision's AlexNet, 227 for Caffe's; at most 256)")
    p.add_argument("--workers", type=_non_negative, default=0, metavar="N", help="with --images: image decoding "
                   "processes (default 0: in this process)")
    p.add_argument("--num-classes", type=_positive, default=None, metavar="N",
                   help="alexnet: its outputs (default: from the weights, else the number of class folders)")
    p.add_argument("--width", type=float, default=None, metavar="F", help="alexnet: channel multiplier (default 1)")
    p.add_argument("--seed", type=int, default=None, help="seed of torch's generator before the model is built "
                   "(--random-init: default 0; a factory: its random weights)")
    return p


def add_selectivity_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare ``localcodes selectivity``'s options (and its description and examples) on ``p``."""
    _describe(p, _SELECTIVITY_DESCRIPTION, _SELECTIVITY_EPILOG)
    p.add_argument("table", nargs="?", type=Path, metavar="TABLE", help="an HDF5 activation table "
                   "(`localcodes record`)")
    p.add_argument("-o", "--out", type=Path, default=None, metavar="DIR",
                   help="the output folder (default: <TABLE>_selectivity beside the table)")
    p.add_argument("--layers", nargs="+", action="extend", default=None, metavar="LAYER",
                   help="layers to measure (default: all of the table's)")
    p.add_argument("-k", "--k", type=_positive, default=100, help="precision@k: the k highest activations of a unit "
                   "(default 100, paper 001's)")
    p.add_argument("--pooling", default="classes", choices=list(POOLINGS),
                   help="CCMAS's mean of the other classes: the mean of their class means (classes, Morcos et al.; "
                   "default) or of all their images (images, paper 001's code)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, or auto (default: CUDA when present)")
    p.add_argument("--batch-rows", type=_positive, default=None, metavar="N",
                   help="rows read at a time (default: whole chunk bands of about 2**24 values)")
    return p


def _options(args, add, prog: str) -> argparse.Namespace:
    """Parsed options: from the ``localcodes`` parser, or parsed here from an argument list."""
    if isinstance(args, argparse.Namespace):
        return args
    return add(argparse.ArgumentParser(prog=prog)).parse_args(list(args or []))


def _output(positional: Path | None, option: Path | None, layers: list[str] | None) -> Path:
    if positional is not None and option is not None:
        raise ValueError(f"give the output table once: OUT ({positional}) or -o ({option}), not both")
    if positional is None and option is None:
        hint = (f" (--layers took every word after it as a layer: {layers}; put OUT before --layers)"
                if layers else "")
        raise ValueError("no output table: give OUT (localcodes record OUT.h5 --layers ...) or -o OUT" + hint)
    return positional if positional is not None else option


def _device(name: str | None):
    try:
        return store.pick_device(name)
    except RuntimeError as err:  # torch's message for an unknown device type names neither the option nor the choices
        raise ValueError(f"--device must be cpu, cuda, cuda:N or auto; got {name!r}") from err


def _alexnet(opts) -> tuple:
    """The built-in AlexNet, its images and its identity (--model alexnet)."""
    from .images import ImageFolder
    from .tables import model_identity

    if opts.trained:
        if opts.weights or opts.random_init or opts.num_classes or opts.width:
            raise ValueError("--trained uses the network trained here; leave out --weights/--random-init/"
                             "--num-classes/--width")
        model, info = nets.trained_alexnet(opts.trained, device=opts.device)
        identity = model_identity(model, trained=f"nets.trained_alexnet({opts.trained!r})",
                                  dataset=info["dataset"], test_accuracy=info["test_accuracy"])
        return model, nets.image_data(opts.trained, opts.split), identity
    import torch

    if opts.weights is None and not opts.random_init:
        raise ValueError("--model alexnet on --images needs --weights FILE (torchvision-format AlexNet) or "
                         "--random-init")
    images = ImageFolder(opts.images, size=opts.input_size, num_workers=opts.workers)
    n_classes, width = opts.num_classes, 1.0 if opts.width is None else opts.width
    if opts.weights is not None:
        if n_classes is None:
            state = torch.load(opts.weights, map_location="cpu", weights_only=True) if opts.weights.exists() else {}
            state = state.get("state_dict", state) if isinstance(state, dict) else {}
            fc8 = state.get("classifier.6.weight")
            n_classes = int(fc8.shape[0]) if fc8 is not None else 1000
        model = nets.AlexNet(num_classes=n_classes, width=width, pool_size=6)
        nets.load_weights(model, opts.weights)
        extra = {"weights": str(opts.weights)}
    else:
        seed = 0 if opts.seed is None else opts.seed
        torch.manual_seed(seed)
        model = nets.AlexNet(num_classes=n_classes or len(images.class_names), width=width, pool_size=6)
        extra = {"weights": f"random initialisation, seed {seed}"}
    if len(images.class_names) > model.classifier[-1].out_features:
        raise ValueError(f"the folder has {len(images.class_names)} classes but the network only "
                         f"{model.classifier[-1].out_features} outputs")
    return model, images, model_identity(model, **extra)


def _own_model(opts) -> tuple:
    """A researcher's model (--model package.module:factory or FILE.pt2), its images and its identity."""
    from .images import ImageFolder
    from .models import load_model
    from .tables import model_identity

    only_alexnet = [flag for flag, given in (("--trained", opts.trained), ("--random-init", opts.random_init),
                                             ("--num-classes", opts.num_classes), ("--width", opts.width)) if given]
    if only_alexnet:
        raise ValueError(f"{', '.join(only_alexnet)} only go with --model alexnet; --model {opts.model} is built "
                         "by its factory or file, on --images")
    model, extra = load_model(opts.model, opts.weights, opts.seed)
    if not opts.layers:
        names = [name for name, _ in model.named_modules() if name]
        shown = names[:40] + ([f"... ({len(names)} in all)"] if len(names) > 40 else [])
        raise ValueError(f"--layers is required with --model {opts.model}: name the modules to record; its "
                         f"modules: {shown}")
    images = ImageFolder(opts.images, size=opts.input_size, num_workers=opts.workers)
    return model, images, model_identity(model, **extra)


def main(args) -> None:
    """``localcodes record``: ``args`` are the subcommand's parsed options, or its argument list."""
    from .extract import resolve_layers
    from .tables import read_table, record

    opts = _options(args, add_record_arguments, "localcodes record")
    out = _output(opts.out, opts.out_option, opts.layers)
    device = _device(opts.device)  # refused before any model or image is loaded
    model, images, identity = _alexnet(opts) if opts.model == "alexnet" else _own_model(opts)
    layers = opts.layers or list(nets.LAYER_ORDER)
    resolve_layers(model, layers)  # names checked before the images are counted
    start = time.perf_counter()
    path = record(model, layers, images, out, batch_size=opts.batch_size, device=device,
                  correct_only=not opts.all_images, model_info=identity, pooling=opts.pooling)
    meta = read_table(path)
    which = "all images" if opts.all_images else "the correctly classified ones; --all-images keeps all"
    print(f"{path}: kept {meta['n_rows']} of {meta['images_done']} images ({which}; {meta['n_correct']} correct), "
          f"layers {meta['units']}, conv pooling {meta.get('pooling', 'max')} "
          f"[{time.perf_counter() - start:.1f} s]")


def selectivity_main(args) -> None:
    """``localcodes selectivity``: ``args`` are the subcommand's parsed options, or its argument list."""
    from .tables import measure_table

    opts = _options(args, add_selectivity_arguments, "localcodes selectivity")
    if opts.table is None:
        hint = f" (--layers took every word after it as a layer: {opts.layers})" if opts.layers else ""
        raise ValueError("no activation table: give TABLE before the options (localcodes selectivity acts.h5 "
                         "--layers ...)" + hint)
    out = opts.out or opts.table.with_name(opts.table.stem + "_selectivity")
    start = time.perf_counter()
    if opts.device is not None:
        _device(opts.device)
    tables = measure_table(opts.table, opts.layers, k=opts.k, pooling=opts.pooling, device=opts.device,
                           batch_rows=opts.batch_rows)
    for name, (table, codes) in tables.items():
        store.write_parquet(out / f"{name}.parquet", table)
        store.write_parquet(out / f"{name}_local_codes.parquet", codes)
        print(f"{name}: {len(table)} units, mean top-class selectivity {table.top_class_selectivity.mean():.3%}, "
              f"mean precision {table.precision.mean():.1%}, mean CCMAS {table.ccmas.mean():.3f}, "
              f"{len(codes)} local codes → {out / (name + '.parquet')}")
    options = {key: value if isinstance(value, (int, float, type(None), list)) else str(value)
               for key, value in vars(opts).items() if key not in ("func", "command")}
    store.write_json(out / "provenance.json", store.provenance(
        command="localcodes selectivity", options=options, table=str(opts.table), k=opts.k,
        pooling=opts.pooling, wall_time_s=round(time.perf_counter() - start, 2), device=opts.device))
