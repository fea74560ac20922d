"""The automated observer panel: independent members, a reject class, answers for the store."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from localcodes import rating

CLASSES = ["dog", "cat", "shoe"]


def _toy_images(n_per_class, size=16, seed=0):
    """Three classes: a bright bar at the top, the middle or the bottom, with noise."""
    g = torch.Generator().manual_seed(seed)
    imgs, labels = [], []
    for c in range(3):
        x = torch.rand((n_per_class, size, size), generator=g) * 60
        x[:, 2 + c * 5 : 5 + c * 5, 2:-2] += 180
        imgs.append(x)
        labels.append(torch.full((n_per_class,), c))
    return torch.cat(imgs).round().to(torch.uint8), torch.cat(labels)


def test_observer_panel_says_yes_to_consistent_panels_and_names_the_class(tmp_path):
    x, y = _toy_images(200)
    ensembles, table = rating.train_observers(
        x,
        y,
        per_arch=2,
        epochs=2,
        batch_size=32,
        seed=0,
        test=_toy_images(30, seed=1),
        cache_dir=tmp_path,
        progress=False,
    )
    assert list(table.rater) == ["mlp-0", "mlp-1", "cnn-0", "cnn-1"]
    assert (table.test_accuracy > 0.9).all()
    tx, ty = _toy_images(10, seed=2)
    mixed = torch.cat([tx[ty == c][:4] for c in range(3)])[:10]  # 4 + 4 + 2 of the three classes
    scrambled = rating.phase_scrambled(tx[ty == 1], torch.Generator().manual_seed(5))
    panels = {("fc8", 0): tx[ty == 2], ("fc8", 1): mixed, ("conv5", 7): tx[ty == 0], ("fc6", 3): scrambled}
    r = rating.observer_ratings(ensembles, panels, CLASSES, min_confidence=0.5, min_share=0.5)
    assert len(r) == 4 * 4 and set(r.rater) == set(table.rater)
    assert not r[r.layer == "fc6"]["yes"].any()  # "no object": the observers learnt a reject class
    by = r.groupby(["layer", "unit"])
    assert by.get_group(("fc8", 0))["yes"].all() and (by.get_group(("fc8", 0))["named"] == "shoe").all()
    assert by.get_group(("conv5", 7))["yes"].all() and (by.get_group(("conv5", 7))["named"] == "dog").all()
    assert not by.get_group(("fc8", 1))["yes"].any() and by.get_group(("fc8", 1))["named"].isna().all()
    # the answers go straight into the store; a second pass adds nothing
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        assert store.add_many(r) == 16 and store.add_many(r) == 0
    # the cache: the same settings load the trained observers instead of training again
    again, table2 = rating.train_observers(
        x, y, per_arch=2, epochs=2, batch_size=32, seed=0, cache_dir=tmp_path, progress=False
    )
    pd.testing.assert_frame_equal(table2, table)
    for a, b in zip(again, ensembles, strict=True):
        for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert torch.equal(v.cpu(), w.cpu()), k


def test_phase_scrambling_keeps_each_histogram_but_not_the_shape():
    x, _ = _toy_images(5)
    s = rating.phase_scrambled(x, torch.Generator().manual_seed(0))
    assert s.shape == x.shape and s.dtype == torch.uint8
    xf, sf = x.double(), s.double()
    assert torch.equal(s.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # same pixel histogram
    # the bar (rows 2-4 of class 0) is no longer brighter than the rest
    bar = (xf[:5, 2:5].mean() - xf[:5, 8:].mean(), sf[:5, 2:5].mean() - sf[:5, 8:].mean())
    assert bar[0] > 100 and abs(bar[1]) < 40


def test_observers_are_independent_members():
    """Training one member does not touch another's weights (grouped convs, batched matmuls)."""
    ens = rating.ObserverEnsemble(3, "cnn", 3, 16)
    x = torch.randn(4, 3, 16, 16)
    x2 = x.clone()
    x2[:, 1] += 1.0  # change what member 1 sees only
    out, out2 = ens(x), ens(x2)
    assert torch.equal(out[:, 0], out2[:, 0]) and torch.equal(out[:, 2], out2[:, 2])
    assert not torch.equal(out[:, 1], out2[:, 1])
    with pytest.raises(ValueError, match="arch must be one of"):
        rating.ObserverEnsemble(2, "transformer")


def _colour(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The toy images in colour: the bar's class also sets its colour channel (a cue only colour observers see)."""
    out = torch.stack([x // 3, x // 3, x // 3], 1)
    for c in range(3):
        out[y == c, c] = x[y == c]
    return out


def test_colour_observers_rate_colour_panels_and_refuse_grey_ones(tmp_path):
    x, y = _toy_images(150)
    xc = _colour(x, y)
    ensembles, table = rating.train_observers(xc, y, per_arch=2, epochs=2, batch_size=32, seed=0,
                                              test=(_colour(*_toy_images(30, seed=1)), _toy_images(30, seed=1)[1]),
                                              cache_dir=tmp_path, progress=False)
    assert (table.test_accuracy > 0.9).all() and all(e.in_channels == 3 for e in ensembles)
    tx, ty = _toy_images(10, seed=2)
    tc = _colour(tx, ty)
    big = torch.nn.functional.interpolate(tc[ty == 1].float() / 255, size=(32, 32))  # resized to 16 px
    scrambled = rating.phase_scrambled(tc[ty == 0], torch.Generator().manual_seed(3))
    r = pd.concat([rating.observer_ratings(ensembles, {("fc8", 0): big}, CLASSES),
                   rating.observer_ratings(ensembles, {("fc6", 1): scrambled}, CLASSES)])
    by = r.groupby(["layer", "unit"])
    assert by.get_group(("fc8", 0))["yes"].all() and (by.get_group(("fc8", 0))["named"] == "cat").all()
    assert not by.get_group(("fc6", 1))["yes"].any()
    with pytest.raises(ValueError, match="3 channel"):
        rating.observer_predictions(ensembles[0], tx)
    loaded, _ = rating.train_observers(xc, y, per_arch=2, epochs=2, batch_size=32, seed=0, cache_dir=tmp_path,
                                       progress=False)
    assert loaded[0].in_channels == 3


def test_colour_scrambling_keeps_every_channel_histogram():
    x, y = _toy_images(4)
    xc = _colour(x, y)
    s = rating.phase_scrambled(xc, torch.Generator().manual_seed(0))
    assert s.shape == xc.shape
    assert torch.equal(s.flatten(2).sort(2).values, xc.flatten(2).sort(2).values)
    with pytest.raises(ValueError, match="in_channels"):
        rating.ObserverEnsemble(2, "cnn", 3, 16, in_channels=2)
