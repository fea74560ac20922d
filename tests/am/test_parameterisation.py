"""Image parameterisations: the Fourier basis (no data prior) and the PCA generator prior."""

from __future__ import annotations

import pytest
import torch
from localcodes import am

CONV, FC = "features.4", "classifier.1"


def to_uint8_grey(x):
    return (x[:, 0] * 255).round().to(torch.uint8)


def test_generator_prior_stays_in_the_data_span_and_still_drives_units(net, data, cfg, size):
    gen = am.fit_linear_generator(to_uint8_grey(data), k=16)
    assert gen.basis.shape == (16, size * size) and 0 < gen.explained <= 1
    assert torch.allclose(gen.basis @ gen.basis.T, torch.eye(16), atol=1e-4)
    # random codes give images with the data's mean brightness
    start = am.GeneratorImage(200, gen, generator=torch.Generator().manual_seed(0))()
    assert abs(float(start.detach().mean()) - float(data.mean())) < 0.03
    targets = [(CONV, 5), (FC, 10)]
    res = am.maximise(net, targets, 4, cfg(prior="generator", latent_l2=0.1), seed=0, generator=gen)
    assert res.images.shape == (2, 4, 1, size, size)
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
        am.maximise(net, targets, 1, cfg(prior="generator", steps=1))
    with pytest.raises(ValueError, match="prior must be one of"):
        am.maximise(net, targets, 1, cfg(prior="gan", steps=1))
    with pytest.raises(ValueError, match="k must be between"):
        am.fit_linear_generator(to_uint8_grey(data[:10]), k=10)


def test_fourier_image_starts_near_grey_and_decorrelates_colour():
    g = torch.Generator().manual_seed(0)
    img = am.FourierImage(3, channels=3, height=20, width=24, generator=g)()
    assert img.shape == (3, 3, 20, 24)
    assert (img - 0.5).abs().max() < 0.1
    grey = am.FourierImage(1, channels=1, height=16, generator=g)()
    assert grey.shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="channels must be 1"):
        am.FourierImage(2, channels=2)
