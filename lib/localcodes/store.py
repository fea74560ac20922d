"""The one results store: where results live, how they are written (atomically), how caches are keyed, and
the provenance stored beside them.

Layout: ``results/<scale>/<chapter>/…`` under the project root (``$LOCALCODES_RESULTS`` overrides the root).
``results/paper/`` is committed (small tables computed on a GPU, with provenance); the other scales are caches.
Every cache is keyed by ``key(params)`` (a digest of everything that determines its content); ``cached`` stores
a computation's DataFrames under such parameters; ``ResultsStore`` holds a sweep's parts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import importlib
import json
import os
import platform
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

__all__ = [
    "project_root",
    "results_dir",
    "atomic_path",
    "write_json",
    "write_parquet",
    "git_commit",
    "device_name",
    "provenance",
    "pick_device",
    "progress_bar",
    "BOOK_RUN_ENV",
    "SCALES",
    "REQUIRED_SCALES",
    "key",
    "cached",
    "source_digest",
]

#: ``smoke`` (seconds, for tests), ``book`` (the default: the whole book on a 2-core CPU), ``reference`` (the
#: papers' settings where a CPU affords them in hours; computed once and committed), ``paper`` (the papers'
#: settings everywhere; for a GPU; committed). Every chapter has the three ``REQUIRED_SCALES``.
SCALES = ("smoke", "book", "reference", "paper")
REQUIRED_SCALES = ("smoke", "book", "paper")


def project_root() -> Path:
    """The checkout's root (where pyproject.toml is), or the working directory for an installed package."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "lib" / "localcodes").exists():
            return parent
    return Path.cwd()


def results_dir(scale: str, chapter: str | None = None, create: bool = True) -> Path:
    """``results/<scale>[/<chapter>]``; the root can be moved with ``$LOCALCODES_RESULTS``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
    root = Path(os.environ.get("LOCALCODES_RESULTS", project_root() / "results"))
    path = root / scale if chapter is None else root / scale / chapter
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
    return Path(path)


def write_parquet(path: str | os.PathLike, frame: pd.DataFrame) -> Path:
    """Write a DataFrame to Parquet atomically."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=True)
    return Path(path)


def key(params: dict) -> str:
    """A short digest of ``params`` (JSON with sorted keys; values JSON cannot hold are written with ``str``):
    the name of a cache entry holding what these parameters determine."""
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


@functools.cache
def source_digest(*modules: str) -> str:
    """A digest of the source of ``modules`` (dotted names; a package counts every ``.py`` file under it): the
    code version to put in a cache's key when its content depends on that code, so changed code recomputes."""
    digest = hashlib.sha1()
    for name in modules:
        module = importlib.import_module(name)
        if hasattr(module, "__path__"):
            files = sorted(f for root in module.__path__ for f in Path(root).rglob("*.py"))
            base = Path(next(iter(module.__path__)))
        else:
            files, base = [Path(module.__file__)], Path(module.__file__).parent
        for f in files:
            digest.update(f"{name}:{f.relative_to(base).as_posix()}\n".encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Turn a failed read of a stored file (truncated, corrupt) into an error that names it."""
    try:
        yield
    except (OSError, ValueError, pa.ArrowException) as err:
        raise OSError(f"stored file {path} is corrupt or truncated ({type(err).__name__}: {err}); it was written "
                      "atomically, so something else changed it: restore it from git or delete it to recompute"
                      ) from err


def cached(folder: str | os.PathLike, params: dict,
           compute: Callable[[], dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """``compute()``'s DataFrames, stored as Parquet in ``folder`` with ``params.json``; reused when the
    stored parameters equal ``params`` (written atomically, parameters last, so a killed run recomputes)."""
    folder = Path(folder)
    meta = folder / "params.json"
    want = json.loads(json.dumps(params, sort_keys=True, default=str))
    if meta.exists() and json.loads(meta.read_text()).get("params") == want:
        stored = json.loads(meta.read_text())["frames"]
        if all((folder / f"{name}.parquet").exists() for name in stored):
            try:
                return {name: pd.read_parquet(folder / f"{name}.parquet") for name in stored}
            except (OSError, ValueError, pa.ArrowException) as err:  # a cache: say so, then compute it again
                warnings.warn(f"cache {folder} is unreadable ({type(err).__name__}: {err}); computing it again",
                              stacklevel=2)
    frames = compute()
    for name, frame in frames.items():
        write_parquet(folder / f"{name}.parquet", frame)
    write_json(meta, {"params": want, "frames": list(frames)})
    return frames


def git_commit(root: Path | None = None) -> str:
    """The checkout's commit (with ``+dirty`` when it has uncommitted changes), or ``unknown``."""
    root = root or project_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pick_device(device: str | None = None) -> torch.device:
    """``device`` if given (``cpu``, ``cuda``, ``cuda:1``, ``auto``), else CUDA when present, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; use 'cpu' or 'auto'")
    return dev


def device_name(device: torch.device | str | None = None) -> str:
    """A human-readable name of the device that computed a result."""
    dev = pick_device(None if device is None else str(device))
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__})"


def provenance(**extra) -> dict:
    """Who/what/when of a result: git commit, device, date, versions; ``extra`` is merged in."""
    info = {
        "git_commit": git_commit(),
        "device": device_name(extra.pop("device", None)),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "host": platform.node(),
    }
    info.update(extra)
    return info


# Set by the chapter runner for the kernels it starts. A chapter's page should not keep the library's progress
# bars: as ipywidgets they make the static page fetch widget fonts that are not vendored, and as text they become
# hundreds of stream outputs (ipykernel captures the process's own stderr too). The build shows progress per
# chapter instead (papermill's cell bar, or a line per chapter started and finished).
BOOK_RUN_ENV = "LOCALCODES_BOOK_RUN"


def progress_bar(iterable=None, **kwargs):
    """A tqdm progress bar (a widget in a live notebook, text on a terminal); switched off in book runs
    (``$LOCALCODES_BOOK_RUN`` set by ``localcodes run``/``build``)."""
    from tqdm.auto import tqdm

    if os.environ.get(BOOK_RUN_ENV):
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)


# --------------------------------------------------------------------------- the Parquet results store (sweeps)
__all__ += ["ResultsStore", "NETWORK_KEY"]

#: The columns that name one trained network in a sweep's rows (``data_fn``: which data function made its data;
#: absent from rows written before it was recorded). A network's rows come from one part: ``read`` keeps them
#: from the first part that holds the network, so a network written twice counts once.
NETWORK_KEY = ("data_fn", "condition", "repeat")


class ResultsStore:
    """A folder of Parquet parts: one part per finished unit of work (e.g. one trained ensemble of a sweep).

    Parts are written atomically (a killed run leaves either a whole part or none), so a sweep resumes by
    skipping the keys already present (``done_keys``) and never recomputes them. Writers working at once (two
    chapters of a parallel build on one store) ``claim`` what they compute, so each network is trained and
    stored once. ``read()`` concatenates all parts, one copy of each network (``NETWORK_KEY``);
    ``provenance.json`` beside them records who/what/when (``write_provenance``).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r}, parts={len(self.parts())})"

    def part_path(self, key: str) -> Path:
        if not key or any(c in key for c in "/\\") or key.startswith("."):
            raise ValueError(f"key must be a plain file-name stem; got {key!r}")
        return self.path / f"part-{key}.parquet"

    def parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet")) if self.path.exists() else []

    def has(self, key: str) -> bool:
        return self.part_path(key).exists()

    def write_part(self, key: str, frame: pd.DataFrame) -> Path:
        """Write one part atomically (replacing a part with the same key)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return write_parquet(self.part_path(key), frame.reset_index(drop=True))

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All parts as one DataFrame (empty if there are none), each network (``NETWORK_KEY``) from one part
        only: two writers that both stored a network (before claims existed) do not double its rows."""
        parts = self.parts()
        if not parts:
            return pd.DataFrame()
        frames = []
        for i, p in enumerate(parts):
            wanted = None
            with _naming(p):
                if columns is not None:
                    names = pq.read_schema(p).names
                    wanted = list(dict.fromkeys([*columns, *(c for c in NETWORK_KEY if c in names)]))
                f = pd.read_parquet(p, columns=wanted)
            if not f.empty:
                frames.append(f.assign(**{_PART: i}))
        if not frames:
            return pd.DataFrame()
        out = pd.concat(frames, ignore_index=True)
        out = out.drop(columns=[c for c in out.columns if c.startswith("__index_level")], errors="ignore")
        keys = [c for c in NETWORK_KEY if c in out.columns]
        if {"condition", "repeat"} <= set(keys):
            first = out.groupby(keys, dropna=False, sort=False)[_PART].transform("min")
            out = out[out[_PART] == first].reset_index(drop=True)
        out = out.drop(columns=_PART)
        return out if columns is None else out[list(columns)]

    def done_keys(self, columns: tuple[str, ...] = ("condition", "repeat")) -> set[tuple]:
        """The distinct values of ``columns`` over all stored rows (what a resumed sweep skips); a column that a
        part lacks (written before it existed) reads as None there."""
        keys: set[tuple] = set()
        for p in self.parts():
            with _naming(p):
                names = pq.read_schema(p).names
                f = pd.read_parquet(p, columns=[c for c in columns if c in names])
            values = [f[c].tolist() if c in names else [None] * len(f) for c in columns]
            keys.update(zip(*values, strict=True))
        return keys

    def claim(self, name: str) -> filelock.BaseFileLock | None:
        """Claim ``name`` (e.g. one network of a sweep) for this writer, without waiting: a held lock (call its
        ``release()`` once the result is stored), or None when another writer holds it.

        A claim is an OS file lock (``filelock``) under ``.claims/``: a writer that dies, even killed, lets go of
        its claims, so a claim never outlives its writer and a later run takes over what it left.
        """
        folder = self.path / ".claims"
        if not (folder / ".gitignore").exists():  # lock files are no results: never committed with a store
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ".gitignore").write_text("*\n")
        lock = filelock.FileLock(folder / f"{hashlib.sha1(name.encode()).hexdigest()[:20]}.lock", timeout=0,
                                 thread_local=False)  # a claim may be released by another thread than its taker
        try:
            lock.acquire()
        except filelock.Timeout:
            return None
        return lock

    def write_provenance(self, **extra) -> Path:
        return write_json(self.path / "provenance.json", provenance(**extra))


_PART = "__part"  # read()'s working column: the part a row came from
