"""Formula-driven fractal categories (``localcodes.fractals``, re-exported by ``localcodes.data``): shapes, determinism
independent of batching, 1,000 classes, input checks, distinct categories, flips, the disk cache."""

from __future__ import annotations

import numpy as np
import pytest
from localcodes import data, fractals
from localcodes.fractals import fractal_images

SMALL = {"size": 16, "n_points": 512, "cache": False, "progress": False}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel().astype(np.float64) - a.mean()
    b = b.ravel().astype(np.float64) - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_the_entry_point_is_in_data_and_the_package():
    import localcodes

    assert data.fractal_images is fractal_images
    assert localcodes.fractal_images is fractal_images


@pytest.mark.parametrize("colour", [False, True])
def test_shapes_dtypes_and_class_major_labels(colour):
    images, labels = fractal_images(3, 4, seed=1, colour=colour, **SMALL)
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.shape == ((12, 3, 16, 16) if colour else (12, 16, 16))
    np.testing.assert_array_equal(labels, np.repeat(np.arange(3), 4))
    per_image = images.reshape(12, -1)
    # a black ground and a bright fractal (in colour the brightest pixel may mix two maps' colours)
    assert (per_image.max(1) >= (200 if colour else 255)).all() and (per_image.min(1) == 0).all()
    assert len({im.tobytes() for im in images}) == 12  # every instance its own


def test_same_seed_same_arrays_other_seed_other_arrays():
    first = fractal_images(4, 3, seed=7, colour=True, **SMALL)
    again = fractal_images(4, 3, seed=7, colour=True, **SMALL)
    other = fractal_images(4, 3, seed=8, colour=True, **SMALL)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_an_image_depends_on_seed_class_and_instance_only(monkeypatch):
    images, _ = fractal_images(5, 4, seed=3, colour=True, **SMALL)
    fewer_classes, _ = fractal_images(3, 4, seed=3, colour=True, **SMALL)
    np.testing.assert_array_equal(fewer_classes, images[:12])
    later, labels = fractal_images(5, 2, seed=3, colour=True, first_instance=2, **SMALL)
    np.testing.assert_array_equal(later, images.reshape(5, 4, 3, 16, 16)[:, 2:].reshape(10, 3, 16, 16))
    np.testing.assert_array_equal(labels, np.repeat(np.arange(5), 2))
    monkeypatch.setattr(fractals, "_BATCH_POINTS", 3 * 512)  # batches of 3 images that straddle the classes
    np.testing.assert_array_equal(fractal_images(5, 4, seed=3, colour=True, **SMALL)[0], images)


def test_a_thousand_classes_at_a_small_size():
    images, labels = fractal_images(1000, 2, size=8, seed=0, n_points=128, cache=False, progress=False)
    assert images.shape == (2000, 8, 8)
    np.testing.assert_array_equal(np.bincount(labels), np.full(1000, 2))
    assert len({im.tobytes() for im in images[::2]}) > 990


@pytest.mark.parametrize("kwargs, match", [
    ({"n_classes": 1}, r"n_classes must be in 2\.\.1000; got 1"),
    ({"n_classes": 1001}, r"n_classes must be in 2\.\.1000"),
    ({"n_classes": 2.5}, r"n_classes must be an integer"),
    ({"n_classes": True}, r"n_classes must be an integer"),
    ({"n_per_class": 0}, r"n_per_class must be >= 1"),
    ({"size": 7}, r"size must be in 8\.\.1024; got 7"),
    ({"seed": -1}, r"seed must be in 0\.\."),
    ({"first_instance": -3}, r"first_instance must be in 0\.\."),
    ({"jitter": 0.6}, r"jitter must be a number in \[0\.0, 0\.5\]"),
    ({"min_fill": -0.1}, r"min_fill must be a number in \[0\.0, 0\.5\]"),
    ({"n_points": 10}, r"n_points must be in 64\.\."),
    ({"maps": (1, 3)}, r"maps must be \(fewest, most\) integers with 2 <= fewest <= most <= 8"),
    ({"maps": (4, 3)}, r"maps must be"),
    ({"maps": (2, 9)}, r"maps must be"),
    ({"colour": "yes"}, r"colour must be True or False"),
    ({"cache": 3}, r"cache must be None, True, False or a folder"),
])
def test_bad_input_names_the_parameter_before_any_work(monkeypatch, kwargs, match):
    def no_work(*args, **kw):
        raise AssertionError("generated before checking the input")

    monkeypatch.setattr(fractals, "_categories", no_work)
    args = {"n_classes": 3, "n_per_class": 2, **SMALL, **kwargs}
    with pytest.raises(ValueError, match=match):
        fractal_images(**args)


def test_categories_are_distinct_for_a_nearest_centroid_classifier():
    n_classes, per = 100, 10
    images, labels = fractal_images(n_classes, per, size=32, seed=0, cache=False, progress=False)
    x = images.reshape(len(images), -1).astype(np.float64) / 255.0
    train = np.arange(len(x)) % per < per // 2  # half of every class's instances fit, the other half test
    centroids = np.stack([x[train & (labels == c)].mean(0) for c in range(n_classes)])
    test = x[~train]
    dist = (test**2).sum(1)[:, None] - 2 * test @ centroids.T + (centroids**2).sum(1)[None, :]
    accuracy = (dist.argmin(1) == labels[~train]).mean()
    assert accuracy > 10 / n_classes  # more than 10x chance (measured: about 0.33)


def test_instances_are_flipped_left_right_and_upside_down():
    per = 24
    flipped, _ = fractal_images(2, per, size=32, seed=0, jitter=0.0, cache=False, progress=False)
    upright, _ = fractal_images(2, per, size=32, seed=0, jitter=0.0, flips=False, cache=False, progress=False)
    views = {"left-right": np.fliplr, "upside-down": np.flipud, "both": lambda im: im[::-1, ::-1]}
    for c in range(2):
        first, rest = flipped[c * per], flipped[c * per + 1 : (c + 1) * per]
        for name, flip in views.items():  # without jitter an instance is its class's fractal, maybe flipped
            assert max(_corr(flip(first), other) for other in rest) > 0.9, name
        same, rest = upright[c * per], upright[c * per + 1 : (c + 1) * per]
        assert min(_corr(same, other) for other in rest) > 0.6  # the chaos game's own noise (about 0.7-0.95)
        for name, flip in views.items():
            assert max(_corr(flip(same), other) for other in rest) < 0.6, name


def test_jitter_makes_instances_vary():
    per = 8
    steady, _ = fractal_images(2, per, size=32, seed=0, jitter=0.0, flips=False, cache=False, progress=False)
    varied, _ = fractal_images(2, per, size=32, seed=0, jitter=0.2, flips=False, cache=False, progress=False)

    def mean_corr(images):
        return np.mean([_corr(images[0], images[j]) for j in range(1, per)])

    assert mean_corr(varied) < mean_corr(steady) - 0.1


def test_the_cache_is_keyed_by_every_argument(tmp_path, monkeypatch):
    images, labels = fractal_images(3, 2, seed=0, **{**SMALL, "cache": tmp_path})
    (stored,) = tmp_path.glob("fractals-*.npz")
    monkeypatch.setattr(fractals, "_generate", lambda *a: (_ for _ in ()).throw(AssertionError("regenerated")))
    again, again_labels = fractal_images(3, 2, seed=0, **{**SMALL, "cache": tmp_path})
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(again_labels, labels)
    monkeypatch.undo()
    fractal_images(3, 2, seed=0, jitter=0.05, **{**SMALL, "cache": tmp_path})
    assert len(list(tmp_path.glob("fractals-*.npz"))) == 2
    stored.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable"):
        repaired, _ = fractal_images(3, 2, seed=0, **{**SMALL, "cache": tmp_path})
    np.testing.assert_array_equal(repaired, images)


def test_small_requests_are_not_cached_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_DATA", str(tmp_path))
    fractal_images(3, 2, size=16, n_points=512, progress=False)
    assert not (tmp_path / "fractals").exists()
    fractal_images(3, 2, size=16, n_points=512, progress=False, cache=True)
    assert len(list((tmp_path / "fractals").glob("fractals-*.npz"))) == 1
