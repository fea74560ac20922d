"""MNIST-format digits: IDX files in a data directory, a checksummed download, or offline fallbacks.

Order (SPEC.md): IDX files under ``$LOCALCODES_DATA`` (default ``~/.cache/localcodes``) → download MNIST with
checksums (pooch) → Debian's ``dataset-fashion-mnist`` package → scikit-learn's bundled 8x8 digits.
Every loader result says which source it came from, so chapters can state the data set they used.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Digits", "data_dir", "read_idx", "write_idx", "load_digits", "MNIST_FILES", "DEBIAN_FASHION_DIR"]

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# md5 checksums of the canonical MNIST files (LeCun et al.)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")
SOURCES = ("auto", "dir", "download", "fashion-mnist", "sklearn-digits")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class Digits:
    """Images (n, h, w) uint8 in 0..255, labels (n,) int64, and where they came from."""

    images: np.ndarray
    labels: np.ndarray
    name: str
    source: str

    @property
    def n_classes(self) -> int:
        return int(self.labels.max()) + 1

    def flat(self) -> np.ndarray:
        """Images as float32 rows in [0, 1]."""
        return self.images.reshape(len(self.images), -1).astype(np.float32) / 255.0


def data_dir() -> Path:
    """The data directory: ``$LOCALCODES_DATA`` or ``~/.cache/localcodes``."""
    return Path(os.environ.get("LOCALCODES_DATA", Path.home() / ".cache" / "localcodes"))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(f"{path}: header promises {expected} bytes of data, file holds {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped if the name ends in .gz); used for fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(head + array.tobytes())


def _idx_pair(folder: Path, split: str) -> tuple[Path, Path] | None:
    stem = "train" if split == "train" else "t10k"
    for suffix in (".gz", ""):
        imgs = folder / f"{stem}-images-idx3-ubyte{suffix}"
        labs = folder / f"{stem}-labels-idx1-ubyte{suffix}"
        if imgs.exists() and labs.exists():
            return imgs, labs
    return None


def _from_pair(pair: tuple[Path, Path], name: str, source: str) -> Digits:
    images, labels = read_idx(pair[0]), read_idx(pair[1])
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{pair[0]} has {images.shape[0]} images but {pair[1]} has {labels.shape[0]} labels")
    return Digits(images.astype(np.uint8), labels.astype(np.int64), name, source)


def _download_mnist(folder: Path, split: str, timeout: float) -> Digits:
    import pooch

    stem = "train" if split == "train" else "t10k"
    fetcher = pooch.create(path=folder / "mnist", base_url=MNIST_URL, registry=MNIST_FILES, retry_if_failed=0)
    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=False)
    paths = []
    for kind in ("images-idx3", "labels-idx1"):
        fname = f"{stem}-{kind}-ubyte.gz"
        try:
            paths.append(Path(fetcher.fetch(fname, downloader=downloader)))
        except ValueError as err:  # pooch raises ValueError on a hash mismatch
            raise ValueError(
                f"MNIST file {fname} failed its checksum ({MNIST_FILES[fname]}); the download is corrupt or "
                f"tampered with and was not used: {err}"
            ) from err
    return _from_pair((paths[0], paths[1]), "MNIST", f"downloaded from {MNIST_URL}")


def _sklearn_digits(split: str) -> Digits:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    images = np.round(d.images / 16.0 * 255).astype(np.uint8)
    labels = d.target.astype(np.int64)
    rng = np.random.default_rng(0)  # a fixed 80/20 split, the same on every machine
    order = rng.permutation(len(labels))
    cut = int(0.8 * len(labels))
    keep = order[:cut] if split == "train" else order[cut:]
    return Digits(images[keep], labels[keep], "scikit-learn 8x8 digits", "scikit-learn (bundled)")


def load_digits(
    split: str = "train",
    source: str = "auto",
    folder: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 10.0,
) -> Digits:
    """Load MNIST-format digits, trying each source of SPEC.md in turn.

    ``source`` forces one source (``dir``, ``download``, ``fashion-mnist``, ``sklearn-digits``); ``auto``
    falls back from one to the next when a source is unavailable. A checksum failure is never silently
    skipped: it raises.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    root = Path(folder) if folder is not None else data_dir()
    tried: list[str] = []

    if source in ("auto", "dir"):
        for sub in (root, root / "mnist", root / "MNIST" / "raw"):
            pair = _idx_pair(sub, split)
            if pair:
                return _from_pair(pair, "MNIST-format IDX", f"data directory {sub}")
        tried.append(f"no IDX files in {root}")
        if source == "dir":
            raise FileNotFoundError(f"no MNIST-format IDX files for split {split!r} under {root}")
    if source in ("auto", "download") and download:
        try:
            return _download_mnist(root, split, timeout)
        except ValueError:
            raise
        except Exception as err:  # offline: connection refused, DNS failure, timeout
            tried.append(f"MNIST download failed ({type(err).__name__}: {err})")
            if source == "download":
                raise ConnectionError(f"could not download MNIST from {MNIST_URL}: {err}") from err
    if source in ("auto", "fashion-mnist"):
        pair = _idx_pair(DEBIAN_FASHION_DIR, split)
        if pair:
            return _from_pair(pair, "Fashion-MNIST", f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_DIR})")
        tried.append(f"no Fashion-MNIST in {DEBIAN_FASHION_DIR} (apt-get install dataset-fashion-mnist)")
        if source == "fashion-mnist":
            raise FileNotFoundError(tried[-1])
    return _sklearn_digits(split)
