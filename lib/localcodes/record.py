"""Activation tables: hooks on named layers, in memory (``activations``) or streamed to HDF5 (``record``).

Conventions of paper 001: a convolutional layer's value for an image is each filter's maximum over space; only
correctly classified images are kept in a recorded table; ``prob`` is softmax(fc8).

An HDF5 activation table holds ``acts/<layer>`` (rows = kept images, float32, chunked as tall blocks of a few
units so that a block of units over all images, or a band of rows over all units, is read in few chunks),
``labels``, ``predictions``, ``ids`` (the image's index in its source) and, for image folders, ``files``; the
root attributes say which layers (and modules), which model (``model`` JSON: architecture, weights and their
hash) and which images (``source`` JSON) made it, and how far it got (``images_done``, ``complete``). An
interrupted recording resumes where it stopped and ends with the same file an uninterrupted run writes.

``measure_table`` turns a table into unit tables (one pass, ``SelectivityAccumulator``); the CLI entry points
are ``main`` (``localcodes record``), ``selectivity_main`` (``localcodes selectivity``) and ``bench_main``
(``localcodes bench selectivity``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import nets

__all__ = [
    "resolve_layers",
    "activations",
    "iter_activations",
    "ImageFolder",
    "model_identity",
    "record",
    "read_table",
    "measure_table",
    "read_units",
    "alexnet_tables",
    "main",
    "selectivity_main",
    "bench_main",
    "FORMAT",
]

FORMAT = "localcodes-activations/1"

PROB = "prob"


def resolve_layers(model: nn.Module, layers: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Map each requested layer name to a module name of ``model``.

    Names may be paper 001's (``conv5``, ``fc6``, ``fc7``, ``fc8`` via ``nets.ALEXNET_LAYERS``; ``prob`` is
    softmax of ``fc8``) or plain module names (``features.11``). Unknown names raise ``ValueError`` listing the
    valid ones.
    """
    if isinstance(layers, str):
        layers = [layers]
    if not layers:
        raise ValueError("layers must name at least one layer")
    modules = dict(model.named_modules())
    out: dict[str, str] = {}
    for name in layers:
        target = nets.ALEXNET_LAYERS["fc8"] if name == PROB else nets.ALEXNET_LAYERS.get(name, name)
        if target not in modules or target == "":
            aliases = [a for a, m in nets.ALEXNET_LAYERS.items() if m in modules]
            if nets.ALEXNET_LAYERS["fc8"] in modules:
                aliases.append(PROB)
            valid = aliases + [m for m in modules if m]
            raise ValueError(f"layer {name!r} does not exist in {type(model).__name__}; valid layers: {valid}")
        out[name] = target
    if len(set(out)) != len(out):
        raise ValueError(f"layers must not repeat; got {list(layers)}")
    return out


def _reduce(out: torch.Tensor) -> torch.Tensor:
    """One value per unit and image: conv maps (b, C, H, W) → per-filter spatial maximum; others flattened."""
    if out.ndim == 4:
        return out.amax(dim=(2, 3))
    return out.reshape(out.shape[0], -1)


def _batches(images, batch_size: int, start: int = 0) -> Iterator[tuple]:
    """(x, labels or None, ids) from a tensor, an object with ``batches(batch_size, start)``, or an iterable."""
    if isinstance(images, torch.Tensor):
        for i in range(start, images.shape[0], batch_size):
            j = min(i + batch_size, images.shape[0])
            yield images[i:j], None, torch.arange(i, j)
    elif hasattr(images, "batches"):
        yield from images.batches(batch_size, start)
    elif isinstance(images, Iterable):
        row = 0
        for item in images:
            x, y = (item[0], item[1]) if isinstance(item, (tuple, list)) else (item, None)
            n = x.shape[0]
            if row + n > start:
                skip = max(0, start - row)
                yield x[skip:], None if y is None else y[skip:], torch.arange(row + skip, row + n)
            row += n
    else:
        raise ValueError(f"images must be a tensor, an ImageData/ImageFolder or an iterable of batches; "
                         f"got {type(images).__name__}")


def iter_activations(
    model: nn.Module,
    layers: list[str],
    images,
    batch_size: int = 256,
    device=None,
    start: int = 0,
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None, torch.Tensor]]:
    """Per batch: ({layer: (b, U) float32 on CPU}, predictions (b,), labels (b,) or None, ids (b,))."""
    from . import store

    names = resolve_layers(model, layers)
    dev = store.pick_device(None if device is None else str(device))
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for module_name in set(names.values()):
        module = dict(model.named_modules())[module_name]

        def hook(mod, inp, out, key=module_name):
            # a copy: an in-place op later in the forward pass (ReLU(inplace=True)) must not change it
            captured[key] = _reduce(out.detach()).to(torch.float32, copy=True)

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for x, y, ids in _batches(images, batch_size, start):
                captured.clear()
                logits = model(x.to(dev))
                acts = {}
                for name, module_name in names.items():
                    a = captured[module_name]
                    acts[name] = (torch.softmax(a.to(torch.float64), 1).to(torch.float32) if name == PROB else a).cpu()
                yield acts, logits.argmax(1).cpu(), y, ids
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def activations(model: nn.Module, layers: list[str], images, batch_size: int = 256, device=None
                ) -> dict[str, torch.Tensor]:
    """Activations of ``layers`` for all ``images``, in memory: {layer: (N, U) float32 CPU tensor}.

    ``images``: a (N, C, H, W) tensor, a ``nets.ImageData``/``ImageFolder`` or an iterable of batches. Conv
    layers are reduced to each filter's spatial maximum. No filtering by correctness here (see ``record``).
    """
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    for acts, _, _, _ in iter_activations(model, layers, images, batch_size, device):
        for name, a in acts.items():
            parts[name].append(a)
    return {name: torch.cat(p) if p else torch.empty(0) for name, p in parts.items()}


# --- an ImageNet-style folder -----------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's normalisation (the weights it ships expect it)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageFolder(torch.utils.data.Dataset):
    """Images in class sub-folders (``root/<class>/<image>``), classes numbered in sorted folder order.

    Preprocessing is the standard one: resize the shorter side to 256, centre-crop ``size`` (224 for
    torchvision's AlexNet, 227 for Caffe's), scale to [0, 1] and normalise with ImageNet's mean and std.
    With all 1000 ImageNet synset folders the class ids are the standard ones.
    """

    def __init__(self, root: str | Path, size: int = 224, resize: int = 256, num_workers: int = 0) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"image folder {self.root} does not exist")
        self.class_names = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.class_names:
            raise ValueError(f"{self.root} has no class sub-folders (expected root/<class>/<image>)")
        files, labels = [], []
        for c, name in enumerate(self.class_names):
            for f in sorted((self.root / name).iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    files.append(f)
                    labels.append(c)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {self.root}")
        if size > resize:
            raise ValueError(f"size ({size}) must not exceed resize ({resize})")
        self.files, self.size, self.resize, self.num_workers = files, size, resize, num_workers
        self.labels = torch.tensor(labels, dtype=torch.int64)
        self.name, self.source = f"image folder {self.root.name}", str(self.root)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        from PIL import Image

        with Image.open(self.files[i]) as img:
            img = img.convert("RGB")
            w, h = img.size
            scale = self.resize / min(w, h)
            img = img.resize((max(self.resize, round(w * scale)), max(self.resize, round(h * scale))),
                             Image.BILINEAR)
            w, h = img.size
            left, top = (w - self.size) // 2, (h - self.size) // 2
            img = img.crop((left, top, left + self.size, top + self.size))
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
        std = torch.tensor(IMAGENET_STD)[:, None, None]
        return (x - mean) / std, int(self.labels[i]), i

    def batches(self, batch_size: int = 256, start: int = 0) -> Iterator[tuple[torch.Tensor, ...]]:
        """(images, labels, ids) batches in order from image ``start`` on (decoded by ``num_workers``)."""
        subset = torch.utils.data.Subset(self, range(start, len(self)))
        loader = torch.utils.data.DataLoader(subset, batch_size=batch_size, shuffle=False,
                                             num_workers=self.num_workers)
        for x, y, ids in loader:
            yield x, y.to(torch.int64), ids.to(torch.int64)

    def file_names(self) -> list[str]:
        return [str(f.relative_to(self.root)) for f in self.files]


# --- HDF5 activation tables -------------------------------------------------------------------------------------


def model_identity(model: nn.Module, **extra) -> dict:
    """What made a table: the architecture, its size and a hash of its weights (plus ``extra``)."""
    h = hashlib.sha256()
    n = 0
    for key, t in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
        n += t.numel()
    info = {"architecture": type(model).__name__, "parameters": n, "weights_sha256": h.hexdigest()}
    for attr in ("width", "pool_size"):
        if hasattr(model, attr):
            info[attr] = getattr(model, attr)
    info.update(extra)
    return info


def _source_info(images) -> dict:
    info = {"type": type(images).__name__, "n_images": len(images)}
    for attr in ("name", "source", "split", "input_size", "class_names"):
        if hasattr(images, attr):
            info[attr] = getattr(images, attr)
    return info


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def record(
    model: nn.Module,
    layers: list[str],
    images,
    path: str | Path,
    batch_size: int = 256,
    device=None,
    correct_only: bool = True,
    model_info: dict | None = None,
    chunk_rows: int = 2048,
    chunk_units: int = 64,
    max_batches: int | None = None,
    progress: bool = True,
) -> Path:
    """Record the activations of ``layers`` for ``images`` into the HDF5 table at ``path``; resumable.

    ``images`` must carry labels (``nets.ImageData``, ``ImageFolder`` or an iterable of (x, y) batches of known
    length). Only correctly classified images are kept unless ``correct_only=False``. If ``path`` holds an
    unfinished table made by the same model, layers, images and batch size, recording continues from where it
    stopped; a finished one is returned as it is; anything else raises ``ValueError``. ``max_batches`` stops
    after that many batches (the table stays resumable), e.g. to record in portions.
    """
    import h5py

    from .store import progress_bar as tqdm

    path = Path(path)
    names = resolve_layers(model, layers)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    try:
        n_images = len(images)
    except TypeError as err:
        raise ValueError("images must have a length (nets.ImageData, ImageFolder or a tensor)") from err
    if isinstance(images, torch.Tensor):
        raise ValueError("a recorded table needs labels: pass nets.ImageData, ImageFolder or (x, y) batches")
    ident = model_info if model_info is not None else model_identity(model)
    meta = {
        "format": FORMAT,
        "layers": _json(list(names)),
        "modules": _json(names),
        "model": _json(ident),
        "source": _json(_source_info(images)),
        "batch_size": batch_size,
        "correct_only": bool(correct_only),
        "n_images": n_images,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with h5py.File(path, "r") as f:
            old = {k: f.attrs.get(k) for k in meta}
            done, complete = int(f.attrs.get("images_done", 0)), bool(f.attrs.get("complete", False))
        diff = [k for k in meta if _attr(old[k]) != _attr(meta[k])]
        if diff:
            raise ValueError(
                f"{path} already holds a table made differently ({', '.join(diff)} differ); "
                "use another path or delete it to record afresh"
            )
        if complete:
            return path
    else:
        done = 0
    files = images.file_names() if hasattr(images, "file_names") else None

    with h5py.File(path, "a", rdcc_nbytes=64 * 2**20, rdcc_nslots=100_003) as f:
        if "labels" not in f:
            for k, v in meta.items():
                f.attrs[k] = v
            f.attrs["images_done"], f.attrs["n_rows"], f.attrs["complete"] = 0, 0, False
            f.attrs["n_correct"] = 0
            int_chunks = (max(chunk_rows, 1024),)
            for key in ("labels", "predictions", "ids"):
                f.create_dataset(key, shape=(0,), maxshape=(None,), dtype="int64", chunks=int_chunks)
            if files is not None:
                f.create_dataset("files", shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(),
                                 chunks=int_chunks)
            f.create_group("acts")
        n_rows = int(f.attrs["n_rows"])
        # rows beyond the last committed block belong to an interrupted write: drop them
        for key in ("labels", "predictions", "ids", "files"):
            if key in f:
                f[key].resize((n_rows,))
        for name in list(f["acts"]):
            f["acts"][name].resize((n_rows, f["acts"][name].shape[1]))

        buf: dict[str, list] = {}
        pending_done = done

        def flush() -> None:
            nonlocal n_rows, buf
            rows = sum(len(x) for x in buf.get("labels", []))
            if rows:
                for key, parts in buf.items():
                    block = np.concatenate(parts)
                    if key.startswith("acts/") and key not in f:
                        u = block.shape[1]
                        f.create_dataset(key, shape=(0, u), maxshape=(None, u), dtype="float32",
                                         chunks=(chunk_rows, max(1, min(chunk_units, u))))
                    ds = f[key]
                    ds.resize((n_rows + rows, *ds.shape[1:]))
                    ds[n_rows : n_rows + rows] = block
                n_rows += rows
            f.attrs["n_rows"] = n_rows
            f.attrs["images_done"] = pending_done
            f.attrs["n_correct"] = int(f.attrs["n_correct"]) + int(pending_correct[0])
            pending_correct[0] = 0
            f.flush()
            buf = {}

        pending_correct = [0]
        bar = tqdm(total=n_images, initial=done, desc=f"recording {path.name}", unit="img", disable=not progress,
                   leave=False)
        for b, (acts, pred, y, ids) in enumerate(iter_activations(model, list(names), images, batch_size, device,
                                                                  start=done)):
            if max_batches is not None and b >= max_batches:
                break
            if y is None:
                raise ValueError("the images carry no labels; a recorded table needs them")
            y = y.to(torch.int64)
            ok = pred == y
            keep = ok if correct_only else torch.ones_like(ok)
            part = {"labels": y[keep].numpy(), "predictions": pred[keep].numpy(), "ids": ids[keep].numpy()}
            if files is not None:
                part["files"] = np.asarray([files[i] for i in ids[keep].tolist()], dtype=object)
            for name, a in acts.items():
                part[f"acts/{name}"] = a[keep].numpy()
            for key, v in part.items():
                buf.setdefault(key, []).append(v)
            pending_done += len(y)
            pending_correct[0] += int(ok.sum())
            bar.update(len(y))
            if sum(len(x) for x in buf["labels"]) >= chunk_rows:
                flush()
        flush()
        bar.close()
        if pending_done >= n_images:
            f.attrs["complete"] = True
    return path


def _attr(v):
    """Attribute values compared across numpy/python types."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_table(path: str | Path) -> dict:
    """A table's metadata (layers, model, source, rows, completeness) without reading its activations."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise ValueError(f"activation table {path} does not exist")
    with h5py.File(path, "r") as f:
        if _attr(f.attrs.get("format")) != FORMAT:
            raise ValueError(f"{path} is not a localcodes activation table (format {f.attrs.get('format')!r})")
        out = {k: _attr(v) for k, v in f.attrs.items()}
        for k in ("layers", "modules", "model", "source"):
            out[k] = json.loads(out[k])
        out["units"] = {name: int(f["acts"][name].shape[1]) for name in f["acts"]}
    return out


def measure_table(
    path: str | Path,
    layers: list[str] | None = None,
    k: int = 100,
    pooling: str = "classes",
    device=None,
    batch_rows: int | None = None,
    progress: bool = True,
) -> dict[str, tuple]:
    """Unit tables and local codes of every (or the named) layer of an HDF5 table, in one streaming pass.

    Returns {layer: (unit_table DataFrame, local_codes DataFrame)}. Rows are read in bands of ``batch_rows``
    (default: one chunk band) over all units of the chosen layers, so memory stays at a band plus the
    accumulators' state whatever the table's size.
    """
    import h5py

    from .selectivity import SelectivityAccumulator
    from .store import progress_bar as tqdm

    meta = read_table(path)
    available = [name for name in meta["layers"] if name in meta["units"]]
    layers = available if layers is None else list(layers)
    for name in layers:
        if name not in meta["units"]:
            raise ValueError(f"layer {name!r} is not in {path}; it holds {available}")
    if not meta.get("complete", False):
        print(f"warning: {path} is unfinished ({meta['images_done']} of {meta['n_images']} images recorded)",
              file=sys.stderr)
    with h5py.File(path, "r", rdcc_nbytes=64 * 2**20) as f:
        labels_ds = f["labels"]
        n = labels_ds.shape[0]
        for name in layers:
            rows = f["acts"][name].shape[0]
            if rows != n:
                raise ValueError(f"{path}: layer {name!r} has {rows} rows but the table has {n} labels")
        if n == 0:
            raise ValueError(f"{path} holds no rows (no correctly classified images were recorded)")
        if batch_rows is None:  # whole chunk bands, about 2**24 values (128 MiB in float64) per band
            chunk = f["acts"][layers[0]].chunks[0]
            total_units = sum(f["acts"][name].shape[1] for name in layers)
            batch_rows = max(1, 2**24 // (total_units * chunk)) * chunk
        step = batch_rows
        accs = {name: SelectivityAccumulator(k=k, pooling=pooling, device=device) for name in layers}
        for i in tqdm(range(0, n, step), desc=f"measuring {Path(path).name}", disable=not progress, leave=False):
            y = labels_ds[i : i + step]
            for name in layers:
                accs[name].update(f["acts"][name][i : i + step], y)
    return {name: (acc.unit_table(), acc.local_codes()) for name, acc in accs.items()}


def read_units(path: str | Path, layer: str, units=None) -> tuple[np.ndarray, np.ndarray]:
    """Activations of some units of one layer over all rows (the tall chunks make this cheap) and the labels."""
    import h5py

    meta = read_table(path)
    if layer not in meta["units"]:
        raise ValueError(f"layer {layer!r} is not in {path}; it holds {list(meta['units'])}")
    with h5py.File(path, "r") as f:
        ds = f["acts"][layer]
        if units is None:
            acts = ds[:]
        else:
            units = np.asarray(units, dtype=np.int64)
            bad = units[(units < 0) | (units >= ds.shape[1])]
            if bad.size:
                raise ValueError(f"units {bad.tolist()} out of range 0..{ds.shape[1] - 1} for layer {layer!r}")
            uniq, inverse = np.unique(units, return_inverse=True)  # h5py reads increasing, unique columns
            acts = ds[:, uniq][:, inverse]
        return acts, f["labels"][:]


CHAPTER = "30_alexnet_selectivity"


def alexnet_tables(
    scale: str = "book",
    layers: list[str] | tuple[str, ...] = nets.LAYER_ORDER,
    ks: tuple[int, ...] = (100, 60),
    split: str = "train",
    weights: str | Path | None = None,
    image_folder: str | Path | None = None,
    input_size: int = 224,
    batch_size: int = 256,
    device=None,
    progress: bool = True,
) -> dict:
    """The AlexNet chapter's data: record the activation table of ``layers`` (correct images only) and measure
    every unit at each precision ``k``; all cached under ``results/<scale>/30_alexnet_selectivity``.

    With ``weights`` and ``image_folder`` (torchvision-format AlexNet weights and an ImageNet-style folder) the
    real network runs on the user's images; otherwise ``nets.trained_alexnet(scale)`` on ``nets.image_data(scale,
    split)``. Returns {"path", "meta", "info", "class_names", "tables": {k: {layer: DataFrame}}, "codes":
    {layer: DataFrame}, "labels"}.
    """
    from . import store

    if (weights is None) != (image_folder is None):
        raise ValueError("give both weights and image_folder (the real AlexNet on your images), or neither")
    folder = store.results_dir(scale, CHAPTER)
    if weights is not None:
        images = ImageFolder(image_folder, size=input_size)
        state = torch.load(weights, map_location="cpu", weights_only=True) if Path(weights).exists() else {}
        fc8 = state.get("classifier.6.weight") if isinstance(state, dict) else None
        model = nets.AlexNet(num_classes=int(fc8.shape[0]) if fc8 is not None else 1000, pool_size=6)
        nets.load_weights(model, weights)
        model = model.to(store.pick_device(device)).eval()
        info = {"dataset": images.name, "source": images.source, "input_size": input_size,
                "classes": images.class_names, "weights": str(weights)}
    else:
        model, info = nets.trained_alexnet(scale, device=device)
        images = nets.image_data(scale, split)
    identity = model_identity(model, **{k: v for k, v in info.items() if k in ("dataset", "weights")})
    tag = f"{identity['weights_sha256'][:12]}_{split if weights is None else 'folder'}"
    path = record(model, list(layers), images, folder / f"activations_{tag}.h5", batch_size=batch_size,
                  device=device, model_info=identity, progress=progress)
    meta = read_table(path)
    tables: dict[int, dict] = {}
    codes: dict[str, pd.DataFrame] = {}
    code_cache = folder / f"local_codes_{tag}.parquet"
    for i, k in enumerate(ks):
        cache = folder / f"units_{tag}_k{k}.parquet"
        if not cache.exists() or (i == 0 and not code_cache.exists()):
            measured = measure_table(path, list(layers), k=min(k, meta["n_rows"]), device=device, progress=progress)
            store.write_parquet(cache, pd.concat({n: t for n, (t, _) in measured.items()}, names=["layer", "unit"]))
            if i == 0:  # local codes do not depend on k
                store.write_parquet(code_cache, pd.concat({n: c for n, (_, c) in measured.items()},
                                                            names=["layer", "row"]))
        both = pd.read_parquet(cache)
        tables[k] = {name: both.loc[name] for name in layers}
    code_frame = pd.read_parquet(code_cache)
    for name in layers:
        present = name in code_frame.index.get_level_values(0)
        codes[name] = (code_frame.loc[name] if present else code_frame.iloc[:0]).reset_index(drop=True)
    import h5py

    with h5py.File(path, "r") as f:
        labels = f["labels"][:]
    class_names = list(images.class_names)
    return {"path": path, "meta": meta, "info": info, "class_names": class_names, "tables": tables,
            "codes": codes, "labels": labels}


# --- command line ---------------------------------------------------------------------------------------------


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
    from . import store

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


# --- benchmark --------------------------------------------------------------------------------------------------


def synthetic_table(path: str | Path, rows: int, units: int, classes: int = 1000, seed: int = 0,
                    chunk_rows: int = 2048, chunk_units: int = 64, progress: bool = True) -> Path:
    """Write a synthetic layer (ReLU-like: mostly zero, exponential when active, each unit preferring a class)
    as an activation table, block by block (never all in memory). Reused if it already exists."""
    import h5py

    from .store import progress_bar as tqdm

    path = Path(path)
    want = {"rows": rows, "units": units, "classes": classes, "seed": seed}
    if path.exists():
        try:
            meta = read_table(path)
            if meta.get("complete") and json.loads(meta["source"].get("synthetic", "{}")) == want:
                return path
        except (ValueError, OSError, KeyError):
            pass
    from .store import atomic_path

    gen = torch.Generator().manual_seed(seed)
    pref = torch.randint(0, classes, (units,), generator=gen)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", rdcc_nbytes=64 * 2**20) as f:
        f.attrs.update({"format": FORMAT, "layers": _json(["synthetic"]), "modules": _json({}),
                        "model": _json({"architecture": "none (synthetic table)"}),
                        "source": _json({"synthetic": _json(want)}), "batch_size": chunk_rows,
                        "correct_only": True, "n_images": rows, "images_done": rows, "n_rows": rows,
                        "n_correct": rows, "complete": True})
        lab = f.create_dataset("labels", shape=(rows,), dtype="int64", chunks=(max(chunk_rows, 1024),))
        f.create_dataset("predictions", data=np.zeros(0, dtype=np.int64), maxshape=(None,))
        ds = f.create_group("acts").create_dataset("synthetic", shape=(rows, units), dtype="float32",
                                                   chunks=(chunk_rows, min(chunk_units, units)))
        for i in tqdm(range(0, rows, chunk_rows), desc="writing synthetic table", disable=not progress, leave=False):
            b = min(chunk_rows, rows - i)
            y = torch.randint(0, classes, (b,), generator=gen)
            is_pref = y[:, None] == pref[None, :]
            active = torch.rand(b, units, generator=gen) < torch.where(is_pref, 0.6, 0.15)
            val = torch.empty(b, units).exponential_(1.0, generator=gen) + torch.where(is_pref, 1.0, 0.0)
            ds[i : i + b] = (active * val).numpy()
            lab[i : i + b] = y.numpy()
    return path


def _bench_child(mode: str, path: str, k: int, device: str | None) -> None:
    """Measure one way in this (fresh) process and print JSON: wall time and peak resident memory."""
    import resource

    import h5py

    from .selectivity import local_codes, unit_table

    start, cpu = time.perf_counter(), time.process_time()
    if mode == "stream":
        measure_table(path, ["synthetic"], k=k, device=device, progress=False)
        read_s = 0.0
    else:
        with h5py.File(path, "r") as f:
            acts, labels = f["acts/synthetic"][:], f["labels"][:]
        read_s = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        # one float64 copy for both measures (each would otherwise convert the float32 table again)
        a = torch.from_numpy(acts).to(device or "cpu", torch.float64)
        del acts
        unit_table(a, labels, k=k)
        local_codes(a, labels)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    gpu_peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    print(json.dumps({"mode": mode, "wall_s": wall, "cpu_s": cpu, "read_s": read_s, "peak_rss_bytes": peak,
                      "gpu_peak_bytes": gpu_peak}))


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench selectivity``: a synthetic layer measured from HDF5 (streaming) vs in memory."""
    import subprocess

    from . import store

    argv = list(argv or [])
    if argv and argv[0] == "--":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="localcodes bench selectivity", description=bench_main.__doc__)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--units", type=int, default=4096)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("-k", "--k", type=int, default=100)
    p.add_argument("--device", default="cpu", help="cpu (the CPU target), cuda or auto")
    p.add_argument("--dir", type=Path, default=None, help="where the synthetic table goes (default: results)")
    p.add_argument("--no-in-memory", action="store_true", help="skip the in-memory reference (needs RAM)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    opts = p.parse_args(argv)
    folder = opts.dir or store.results_dir("smoke", "bench")
    table = folder / f"synthetic_{opts.rows}x{opts.units}_{opts.classes}.h5"
    t0 = time.perf_counter()
    synthetic_table(table, opts.rows, opts.units, opts.classes)
    print(f"table {table} ({table.stat().st_size / 2**30:.2f} GiB on disk, written in "
          f"{time.perf_counter() - t0:.1f} s)")
    out = {"rows": opts.rows, "units": opts.units, "classes": opts.classes, "k": opts.k, "device": opts.device,
           "machine": store.device_name(None if opts.device in (None, "auto") else opts.device)}
    for mode in ("stream",) + (() if opts.no_in_memory else ("memory",)):
        code = (f"from localcodes.record import _bench_child; _bench_child({mode!r}, {str(table)!r}, {opts.k}, "
                f"{opts.device!r})")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark child ({mode}) failed:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out[mode] = res
        print(f"{mode:>6}: {res['wall_s']:.1f} s measuring ({res['cpu_s']:.1f} s CPU time)"
              + (f" (+{res['read_s']:.1f} s reading the table into memory)" if mode == "memory" else
                 " (reading included)")
              + f", peak memory {res['peak_rss_bytes'] / 2**30:.2f} GiB"
              + (f", GPU peak {res['gpu_peak_bytes'] / 2**30:.2f} GiB" if res["gpu_peak_bytes"] else ""))
    if "memory" in out:
        out["speed_ratio"] = out["memory"]["wall_s"] / out["stream"]["wall_s"]
        out["cpu_ratio"] = out["memory"]["cpu_s"] / out["stream"]["cpu_s"]
        print(f"streaming runs at {out['speed_ratio']:.0%} of the in-memory speed by wall time "
              f"({out['cpu_ratio']:.0%} by CPU time; target ≥ 50%)")
    print(f"streaming peak memory {out['stream']['peak_rss_bytes'] / 2**30:.2f} GiB (target < 2 GiB)")
    if opts.json:
        store.write_json(opts.json, out)
    return out
