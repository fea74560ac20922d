"""Activation maximisation: it works (far above the data), per-image targets, determinism, caching, grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from localcodes import am
from PIL import Image
from torch import nn

SIZE = 32


class TinyNet(nn.Module):
    """A small AlexNet-shaped net: conv, ReLU (in place), pool, conv, ReLU ("conv5"), fc, ReLU ("fc6"), fc."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 12, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Linear(12 * 4 * 4, 24), nn.ReLU(inplace=True), nn.Linear(24, 5))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


CONV, FC, OUT = "features.4", "classifier.1", "classifier.2"


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return TinyNet().eval()


def _data(n=512, seed=1):
    """Smooth random images in [0, 1] (blurred noise), the 'data' the unit's mean is taken over."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 1, SIZE // 4, SIZE // 4), generator=g)
    return nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def _cfg(**kw):
    base = {"size": SIZE, "steps": 60, "lr": 0.1, "mean": 0.5, "std": 0.25}
    base.update(kw)
    return am.AMConfig(**base)


def test_am_drives_each_target_unit_far_above_its_mean_over_the_data(net):
    data = _data()
    targets = [(CONV, 0), (CONV, 5), (FC, 3), (FC, 10), (OUT, 2)]
    res = am.maximise(net, targets, n_images=4, config=_cfg(), seed=0)
    assert res.images.shape == (5, 4, 1, SIZE, SIZE)
    assert res.images.min() >= 0 and res.images.max() <= 1
    for t, (layer, unit) in enumerate(targets):
        on_data = am.unit_values(net, layer, data, mean=0.5, std=0.25)[:, unit]
        on_am = am.unit_values(net, layer, res.images[t], [unit] * 4, mean=0.5, std=0.25)
        # measured the paper's way (a filter's spatial maximum, after the ReLU): far above the data
        threshold = on_data.mean() + 4 * on_data.std()
        assert (on_am > threshold).all(), (layer, unit, on_am, on_data.mean(), on_data.std())
        assert on_am.min() > on_data.max(), (layer, unit)
    assert res.trace[-1] > res.trace[0]


def test_generator_prior_stays_in_the_data_span_and_still_drives_units(net):
    data = _data()
    gen = am.fit_linear_generator(to_uint8_grey(data), k=16)
    assert gen.basis.shape == (16, SIZE * SIZE) and 0 < gen.explained <= 1
    assert torch.allclose(gen.basis @ gen.basis.T, torch.eye(16), atol=1e-4)
    # random codes give images with the data's mean brightness
    start = am.GeneratorImage(200, gen, generator=torch.Generator().manual_seed(0))()
    assert abs(float(start.detach().mean()) - float(data.mean())) < 0.03
    targets = [(CONV, 5), (FC, 10)]
    res = am.maximise(net, targets, 4, _cfg(prior="generator", latent_l2=0.1), seed=0, generator=gen)
    assert res.images.shape == (2, 4, 1, SIZE, SIZE)
    for t, (layer, unit) in enumerate(targets):
        on_data = am.unit_values(net, layer, data, mean=0.5, std=0.25)[:, unit]
        on_am = am.unit_values(net, layer, res.images[t], [unit] * 4, mean=0.5, std=0.25)
        # a data prior costs some activation (smooth 'data', random filters), but AM still stands far out
        assert on_am.mean() > on_data.mean() + 3 * on_data.std(), (layer, unit, on_am, on_data.mean())
        assert (on_am > torch.quantile(on_data, 0.95)).all()
    # unclamped pixels lie in the generator's span: the residual off the basis is ~0
    flat = res.images.reshape(8, -1)
    inside = ((flat > 0.01) & (flat < 0.99)).all(1)
    resid = (flat - gen.mean) - ((flat - gen.mean) @ gen.basis.T) @ gen.basis
    assert (resid[inside].abs().max() < 1e-4) if inside.any() else True
    with pytest.raises(ValueError, match="needs generator"):
        am.maximise(net, targets, 1, _cfg(prior="generator", steps=1))
    with pytest.raises(ValueError, match="prior must be one of"):
        am.maximise(net, targets, 1, _cfg(prior="gan", steps=1))
    with pytest.raises(ValueError, match="k must be between"):
        am.fit_linear_generator(to_uint8_grey(data[:10]), k=10)


def to_uint8_grey(x):
    return (x[:, 0] * 255).round().to(torch.uint8)


def test_each_image_is_optimised_for_its_own_unit(net):
    units = [1, 4, 7]
    res = am.maximise(net, [(FC, u) for u in units], n_images=3, config=_cfg(steps=40), seed=3)
    acts = am.unit_values(net, FC, res.images.reshape(-1, 1, SIZE, SIZE), mean=0.5, std=0.25)[:, units]
    mean_by_target = acts.reshape(3, 3, 3).mean(1)  # (target, unit)
    # every unit is driven hardest by its own images
    assert torch.equal(mean_by_target.argmax(0), torch.arange(3))


def test_same_seed_same_images_and_model_state_is_restored(net):
    net.train()
    before = [p.requires_grad for p in net.parameters()]
    a = am.maximise(net, [(CONV, 2)], 2, _cfg(steps=5, diversity=0.5, tv=0.1, l2=0.1), seed=7)
    b = am.maximise(net, [(CONV, 2)], 2, _cfg(steps=5, diversity=0.5, tv=0.1, l2=0.1), seed=7)
    c = am.maximise(net, [(CONV, 2)], 2, _cfg(steps=5, diversity=0.5, tv=0.1, l2=0.1), seed=8)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert net.training and [p.requires_grad for p in net.parameters()] == before
    assert all(p.grad is None for p in net.parameters())
    net.eval()


def test_native_resolution_parameterisation_is_resized_for_the_network(net):
    res = am.maximise(net, [(OUT, 0)], 2, _cfg(steps=3, param_size=12), seed=0)
    assert res.images.shape == (1, 2, 1, 12, 12)
    vals = am.unit_values(net, OUT, res.images[0], [0, 0], mean=0.5, std=0.25, size=SIZE)
    assert torch.allclose(vals, res.objective[0], atol=1e-4)


def test_bad_targets_and_settings_are_refused(net):
    with pytest.raises(ValueError, match="not modules of the model"):
        am.maximise(net, [("features.99", 0)], 1, _cfg(steps=1))
    with pytest.raises(ValueError, match="out of range"):
        am.maximise(net, [(FC, 24)], 1, _cfg(steps=1))
    with pytest.raises(ValueError, match="conv_reduce must be one of"):
        am.maximise(net, [(CONV, 0)], 1, _cfg(steps=1, conv_reduce="median"))
    with pytest.raises(ValueError, match="channels must be 1"):
        am.FourierImage(2, channels=2)


def test_fourier_image_starts_near_grey_and_decorrelates_colour():
    g = torch.Generator().manual_seed(0)
    img = am.FourierImage(3, channels=3, height=20, width=24, generator=g)()
    assert img.shape == (3, 3, 20, 24)
    assert (img - 0.5).abs().max() < 0.1
    grey = am.FourierImage(1, channels=1, height=16, generator=g)()
    assert grey.shape == (1, 1, 16, 16)


def test_random_transform_identity_and_fill():
    x = torch.rand(4, 1, 16, 16)
    same = am.random_transform(x, torch.Generator().manual_seed(0), jitter=0, scale=(1, 1), angle=0)
    assert torch.allclose(same, x, atol=1e-5)
    zoomed_out = am.random_transform(
        torch.ones(2, 1, 16, 16), None, jitter=0, scale=(0.5, 0.5), angle=0, fill=0.0
    )
    assert zoomed_out[:, :, 0, 0].max() < 1e-6 and zoomed_out[:, :, 8, 8].min() > 0.99
    with pytest.raises(ValueError, match="jitter"):
        am.random_transform(x, None, jitter=-1)


def test_maximise_units_caches_batches_and_resumes(net, tmp_path, monkeypatch):
    cfg = _cfg(steps=3)
    first = am.maximise_units(
        net, FC, [0, 1, 2], n_images=2, config=cfg, cache_dir=tmp_path, max_batch=4, progress=False
    )
    assert (
        sorted(first) == [0, 1, 2] and first[0].dtype == torch.uint8 and first[0].shape == (2, 1, SIZE, SIZE)
    )
    assert len(list(tmp_path.glob("*.pt"))) == 2  # two batches of at most 4 images
    assert not list(tmp_path.glob(".*tmp"))

    def boom(*a, **k):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(am, "maximise", boom)
    again = am.maximise_units(
        net, FC, [0, 1, 2], n_images=2, config=cfg, cache_dir=tmp_path, max_batch=4, progress=False
    )
    assert all(torch.equal(first[u], again[u]) for u in first)
    with pytest.raises(AssertionError, match="cache"):  # other settings: computed afresh
        am.maximise_units(
            net, FC, [0, 1, 2], 2, _cfg(steps=4), cache_dir=tmp_path, max_batch=4, progress=False
        )


def test_grid_png_layout(tmp_path):
    images = torch.rand(100, 1, 28, 28)
    path = am.save_grid(tmp_path / "panel.png", images, nrow=10, pad=1)
    with Image.open(path) as im:
        assert im.size == (10 * 29 + 1, 10 * 29 + 1) and im.mode == "L"
        tile = torch.from_numpy(np.asarray(im.crop((1, 1, 29, 29))).astype(np.float32))
    assert torch.allclose(tile, (images[0, 0] * 255).round(), atol=0.5)
    small = am.grid_image(torch.rand(7, 3, 28, 28), nrow=4, pad=0, size=14)
    assert small.size == (4 * 14, 2 * 14) and small.mode == "RGB"
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(ValueError, match="images must be"):
        am.grid_image(torch.rand(3, 2, 8, 8))
