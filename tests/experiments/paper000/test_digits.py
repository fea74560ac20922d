"""Experiment 12's digits with hot-pixel invariants."""

from __future__ import annotations

import numpy as np
import pytest
from localcodes import data
from localcodes.experiments import paper000 as P000
from localcodes.experiments.paper000 import digits


def test_digit_conditions_run_standard_once():
    conds = P000.digit_conditions(["standard", "all images"], ["fixed", "gaussian"])
    assert conds == [{"invariant": "standard", "mode": "fixed"}, {"invariant": "all images", "mode": "fixed"},
                     {"invariant": "all images", "mode": "gaussian"}]
    with pytest.raises(ValueError, match="conditions must be among"):
        P000.digit_conditions(["3 categories"], ["fixed"])
    with pytest.raises(ValueError, match="modes must be"):
        P000.digit_conditions(["standard"], [])


def test_digits_data_adds_the_invariant_and_centres_on_the_mean_image(monkeypatch):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 12)
    images = np.zeros((120, 28, 28), np.uint8)
    images[:, 5:-5, 5:-5] = rng.integers(0, 255, (120, 18, 18))
    fake = data.Digits(images, labels, "fixture digits", "test fixture")
    monkeypatch.setattr(digits, "train_digits", lambda source="auto": fake)
    d = P000.digits_data("2 categories", "fixed", n_per_class=5, seed=1)
    assert d.X.shape == (50, 784) and d.targets.shape == (10, 10)
    assert d.info["data"] == "fixture digits" and d.info["coded_share"] == pytest.approx(0.2)
    np.testing.assert_allclose(d.X.mean(0), 0, atol=1e-6)
    pos = data.hot_pixel_positions((28, 28))
    # class 0 is coded: its block is on (above the mean) in every image; class 5 is not coded
    assert (d.X[d.y == 0][:, pos[0]] > 0).all()
    assert np.allclose(d.X[:, pos[5]], 0)
    # more images than the smallest class holds: the subset shrinks instead of failing
    assert P000.digits_data("standard", n_per_class=50).info["n_per_class"] == 12
