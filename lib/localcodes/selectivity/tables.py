"""HDF5 activation tables: record the activations of named layers (correctly classified images only), read a
table's metadata and units, and measure every unit of a table in one streaming pass (and two more for the
detector measures).

An HDF5 activation table holds ``acts/<layer>`` (rows = kept images, float32, chunked as tall blocks of a few
units so that a block of units over all images, or a band of rows over all units, is read in few chunks),
``labels``, ``predictions``, ``ids`` (the image's index in its source) and, for image folders, ``files``; the
root attributes say which layers (and modules), which model (``model`` JSON: architecture, weights and their
hash), which images (``source`` JSON, ``n_images`` counted from the data) and which conv ``pooling`` made it, how
far it got (``images_done``, ``batches_done``, ``complete``) and how many rows it kept of the images seen
(``n_rows`` of ``images_done``; ``n_correct`` were classified correctly). An interrupted recording resumes where
it stopped and ends with the same file an uninterrupted run writes.

Every numeric dataset is written with HDF5's fletcher32 checksum on each chunk, and every read goes through
``_open``, so a damaged chunk or a truncated file is an ``OSError`` that names the table instead of silently
different numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import numbers
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, RandomSampler

from .. import store
from ..store import progress_bar as tqdm
from .extract import check_conv_pooling, iter_activations, resolve_layers
from .streaming import SelectivityAccumulator

__all__ = [
    "FORMAT",
    "model_identity",
    "record",
    "read_table",
    "measure_table",
    "read_units",
    "synthetic_table",
]

FORMAT = "localcodes-activations/1"


def _damaged(path: Path, err: Exception) -> OSError:
    return OSError(f"activation table {path} is corrupt or truncated ({err}); delete it and record it again")


@contextlib.contextmanager
def _open(path: str | Path, mode: str = "r", **kwargs) -> Iterator[h5py.File]:
    """``h5py.File`` whose failures to open, and in read mode to read (a chunk failing its checksum), are errors
    naming the file; h5py's own messages name neither the file nor the cause."""
    try:
        f = h5py.File(path, mode, **kwargs)
    except OSError as err:
        raise _damaged(Path(path), err) from err
    with f:
        if mode != "r":  # a write error (a full disk) is not damage: left as it is
            yield f
            return
        try:
            yield f
        except OSError as err:
            raise _damaged(Path(path), err) from err


def _count_images(images) -> int:
    """How many images ``images`` yields, from the data (a loader's or a list's length counts batches)."""
    if isinstance(images, torch.Tensor):
        raise ValueError("a recorded table needs labels: pass nets.ImageData, ImageFolder or (x, y) batches")
    if hasattr(images, "batches"):  # nets.ImageData, ImageFolder: their length is the number of images
        return len(images)
    if isinstance(images, DataLoader):
        if isinstance(images.dataset, IterableDataset):
            raise ValueError("images is a DataLoader over an IterableDataset, whose number of images is unknown; "
                             "pass a map-style dataset")
        sampler = images.batch_sampler
        if sampler is None:
            raise ValueError("images is a DataLoader without batches (batch_size=None); give it a batch_size")
        inner = getattr(sampler, "sampler", None)
        if isinstance(inner, RandomSampler):
            raise ValueError("images is a DataLoader that shuffles: a resumed recording would skip other images "
                             "than it recorded; use shuffle=False")
        if isinstance(sampler, BatchSampler):
            n = len(sampler.sampler)
            return n - n % sampler.batch_size if sampler.drop_last else n
        return sum(len(batch) for batch in sampler)  # a custom batch sampler: indices only, no images loaded
    if isinstance(images, (list, tuple)):
        return sum(int((b[0] if isinstance(b, (tuple, list)) else b).shape[0]) for b in images)
    raise ValueError(f"images must be nets.ImageData, ImageFolder, a DataLoader or a list of (x, y) batches; "
                     f"got {type(images).__name__}")

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


def _source_info(images, n_images: int) -> dict:
    info = {"type": type(images).__name__, "n_images": n_images}
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
    pooling: str = "max",
) -> Path:
    """Record the activations of ``layers`` for ``images`` into the HDF5 table at ``path``; resumable.

    ``images`` must carry labels: ``nets.ImageData``, ``ImageFolder``, a ``DataLoader`` (not shuffling) of
    (x, y) batches or a list of them; the number of images is counted from the data. Only correctly classified
    images are kept unless ``correct_only=False``: how many rows were kept of how many images is in the table's
    attributes (``read_table(path)``: ``n_rows`` of ``images_done``), on the progress bar and, with ``progress``,
    in a line on stderr when the recording ends. Conv maps are reduced to each filter's spatial maximum
    (``pooling="max"``, paper 001) or mean (``"mean"``). ``device=None`` runs the model where it is; a device
    moves it there for the recording and back. If ``path`` holds an unfinished table made by the same model,
    layers, images, batch size and pooling, recording continues from where it stopped; a finished one is returned
    as it is; anything else raises ``ValueError``. ``max_batches`` records only the first that many batches in all
    (not per call): the table is then partial (``complete`` false), a later call with the same ``max_batches``
    returns it as it is, a larger one or none continues it, a smaller one is refused.
    """
    path = Path(path)
    names = resolve_layers(model, layers)
    check_conv_pooling(pooling)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if max_batches is not None and (isinstance(max_batches, bool) or not isinstance(max_batches, numbers.Integral)
                                    or max_batches < 1):
        raise ValueError(f"max_batches must be a positive integer or None; got {max_batches!r}")
    n_images = _count_images(images)
    ident = model_info if model_info is not None else model_identity(model)
    meta = {
        "format": FORMAT,
        "layers": _json(list(names)),
        "modules": _json(names),
        "model": _json(ident),
        "source": _json(_source_info(images, n_images)),
        "batch_size": batch_size,
        "correct_only": bool(correct_only),
        "n_images": n_images,
        "pooling": pooling,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    done = batches_done = 0
    if path.exists():
        with _open(path) as f:
            old = {k: f.attrs.get(k) for k in meta}
            if old["pooling"] is None:  # tables from before the choice existed were all recorded with "max"
                old["pooling"] = "max"
            done, complete = int(f.attrs.get("images_done", 0)), bool(f.attrs.get("complete", False))
            # tables from before batches_done was kept were recorded in batches of batch_size
            batches_done = int(f.attrs.get("batches_done", -(-done // batch_size)))
        diff = [k for k in meta if _attr(old[k]) != _attr(meta[k])]
        if diff:
            raise ValueError(
                f"{path} already holds a table made differently ({', '.join(diff)} differ); "
                "use another path or delete it to record afresh"
            )
        if complete:
            return path
        if max_batches is not None and batches_done > max_batches:
            raise ValueError(f"{path} holds {batches_done} batches, more than max_batches={max_batches} asks "
                             f"for; pass max_batches >= {batches_done} or None, or use another path")
        if max_batches is not None and batches_done == max_batches:
            return path
    files = images.file_names() if hasattr(images, "file_names") else None

    with _open(path, "a", rdcc_nbytes=64 * 2**20, rdcc_nslots=100_003) as f:
        if "labels" not in f:
            for k, v in meta.items():
                f.attrs[k] = v
            f.attrs["images_done"], f.attrs["batches_done"], f.attrs["n_rows"] = 0, 0, 0
            f.attrs["complete"], f.attrs["n_correct"] = False, 0
            int_chunks = (max(chunk_rows, 1024),)
            for key in ("labels", "predictions", "ids"):
                f.create_dataset(key, shape=(0,), maxshape=(None,), dtype="int64", chunks=int_chunks,
                                 fletcher32=True)
            if files is not None:  # variable-length strings cannot pass HDF5 filters: no checksum
                f.create_dataset("files", shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(),
                                 chunks=int_chunks)
            f.create_group("acts")
        n_rows = int(f.attrs["n_rows"])
        kept_rows = n_rows
        # rows beyond the last committed block belong to an interrupted write: drop them
        for key in ("labels", "predictions", "ids", "files"):
            if key in f:
                f[key].resize((n_rows,))
        for name in list(f["acts"]):
            f["acts"][name].resize((n_rows, f["acts"][name].shape[1]))

        buf: dict[str, list] = {}
        pending = {"images": done, "batches": batches_done, "correct": 0}

        def flush() -> None:
            nonlocal n_rows, buf
            rows = sum(len(x) for x in buf.get("labels", []))
            if rows:
                for key, parts in buf.items():
                    block = np.concatenate(parts)
                    if key.startswith("acts/") and key not in f:
                        u = block.shape[1]
                        f.create_dataset(key, shape=(0, u), maxshape=(None, u), dtype="float32",
                                         chunks=(chunk_rows, max(1, min(chunk_units, u))), fletcher32=True)
                    ds = f[key]
                    ds.resize((n_rows + rows, *ds.shape[1:]))
                    ds[n_rows : n_rows + rows] = block
                n_rows += rows
            f.attrs["n_rows"] = n_rows
            f.attrs["images_done"], f.attrs["batches_done"] = pending["images"], pending["batches"]
            f.attrs["n_correct"] = int(f.attrs["n_correct"]) + pending["correct"]
            pending["correct"] = 0
            f.flush()
            buf = {}

        bar = tqdm(total=n_images, initial=done, desc=f"recording {path.name}", unit="img", disable=not progress,
                   leave=False)
        shown = not bar.disable  # closing the bar disables it
        limit = None if max_batches is None else max_batches - batches_done
        stream = iter_activations(model, list(names), images, batch_size, device, start=done, pooling=pooling)
        n_batches = 0
        with contextlib.closing(stream):  # closing restores the model's training mode at once
            for acts, pred, y, ids in islice(stream, limit):  # islice: no forward pass for a batch left out
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
                n_batches += 1
                pending["images"] += len(y)
                pending["batches"] += 1
                pending["correct"] += int(ok.sum())
                kept_rows += int(keep.sum())
                bar.set_postfix_str(f"kept {kept_rows} of {pending['images']}", refresh=False)
                bar.update(len(y))
                if pending["images"] > n_images:
                    raise ValueError(f"images yielded more than the {n_images} images counted in them")
                if sum(len(x) for x in buf["labels"]) >= chunk_rows:
                    flush()
        flush()
        bar.close()
        exhausted = limit is None or n_batches < limit
        if exhausted and pending["images"] != n_images:
            raise ValueError(f"images yielded {pending['images']} images but {n_images} were counted in them; "
                             f"{path} stays unfinished")
        f.attrs["complete"] = pending["images"] == n_images
    if shown:  # the bar (left off in book runs) is gone: one line says what the table holds
        why = "the correctly classified ones; correct_only=False keeps all" if correct_only else "all images"
        print(f"{path.name}: kept {n_rows} of {pending['images']} images ({why})"
              + ("" if pending["images"] == n_images else f"; {n_images} in all, unfinished"), file=sys.stderr)
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
    path = Path(path)
    if not path.exists():
        raise ValueError(f"activation table {path} does not exist")
    with _open(path) as f:
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
    detectors: bool = True,
) -> dict[str, tuple]:
    """Unit tables and local codes of every (or the named) layer of an HDF5 table, streaming.

    Returns {layer: (unit_table DataFrame, local_codes DataFrame)}, the same as ``unit_table`` and ``local_codes``
    on the whole table in memory, detector measures included. Rows are read in bands of ``batch_rows`` (default:
    one chunk band) over all units of the chosen layers, so memory stays at a band plus the accumulators' state
    whatever the table's size. The detector measures need each unit's precision class first, so each layer is
    read twice more (``SelectivityAccumulator.detector_pass``), keeping its units' precision-class activations
    (units x the largest class) in memory; ``detectors=False`` skips those passes and leaves the four columns out.
    """
    meta = read_table(path)
    available = [name for name in meta["layers"] if name in meta["units"]]
    layers = available if layers is None else list(layers)
    for name in layers:
        if name not in meta["units"]:
            raise ValueError(f"layer {name!r} is not in {path}; it holds {available}")
    if not meta.get("complete", False):
        print(f"warning: {path} is unfinished ({meta['images_done']} of {meta['n_images']} images recorded)",
              file=sys.stderr)
    with _open(path, rdcc_nbytes=64 * 2**20) as f:
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

        def bands(name: str):
            def read():
                for i in tqdm(range(0, n, step), desc=f"detector passes {name}", disable=not progress, leave=False):
                    yield f["acts"][name][i : i + step], labels_ds[i : i + step]
            return read

        for name in layers if detectors else []:
            accs[name].detector_pass(bands(name))
    return {name: (acc.unit_table(), acc.local_codes()) for name, acc in accs.items()}


def read_units(path: str | Path, layer: str, units=None) -> tuple[np.ndarray, np.ndarray]:
    """Activations of some units of one layer over all rows (the tall chunks make this cheap) and the labels."""
    meta = read_table(path)
    if layer not in meta["units"]:
        raise ValueError(f"layer {layer!r} is not in {path}; it holds {list(meta['units'])}")
    with _open(path) as f:
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



def synthetic_table(path: str | Path, rows: int, units: int, classes: int = 1000, seed: int = 0,
                    chunk_rows: int = 2048, chunk_units: int = 64, progress: bool = True) -> Path:
    """Write a synthetic layer (ReLU-like: mostly zero, exponential when active, each unit preferring a class)
    as an activation table, block by block (never all in memory). Reused if it already exists."""
    path = Path(path)
    want = {"rows": rows, "units": units, "classes": classes, "seed": seed}
    if path.exists():
        try:
            meta = read_table(path)
            if meta.get("complete") and json.loads(meta["source"].get("synthetic", "{}")) == want:
                return path
        except (ValueError, OSError, KeyError):
            pass
    gen = torch.Generator().manual_seed(seed)
    pref = torch.randint(0, classes, (units,), generator=gen)
    with store.atomic_path(path) as tmp, h5py.File(tmp, "w", rdcc_nbytes=64 * 2**20) as f:
        f.attrs.update({"format": FORMAT, "layers": _json(["synthetic"]), "modules": _json({}),
                        "model": _json({"architecture": "none (synthetic table)"}),
                        "source": _json({"synthetic": _json(want)}), "batch_size": chunk_rows,
                        "correct_only": True, "n_images": rows, "images_done": rows, "n_rows": rows,
                        "n_correct": rows, "complete": True})
        lab = f.create_dataset("labels", shape=(rows,), dtype="int64", chunks=(max(chunk_rows, 1024),),
                               fletcher32=True)
        f.create_dataset("predictions", data=np.zeros(0, dtype=np.int64), maxshape=(None,), fletcher32=True)
        ds = f.create_group("acts").create_dataset("synthetic", shape=(rows, units), dtype="float32",
                                                   chunks=(chunk_rows, min(chunk_units, units)), fletcher32=True)
        for i in tqdm(range(0, rows, chunk_rows), desc="writing synthetic table", disable=not progress, leave=False):
            b = min(chunk_rows, rows - i)
            y = torch.randint(0, classes, (b,), generator=gen)
            is_pref = y[:, None] == pref[None, :]
            active = torch.rand(b, units, generator=gen) < torch.where(is_pref, 0.6, 0.15)
            val = torch.empty(b, units).exponential_(1.0, generator=gen) + torch.where(is_pref, 1.0, 0.0)
            ds[i : i + b] = (active * val).numpy()
            lab[i : i + b] = y.numpy()
    return path
