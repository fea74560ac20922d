"""What is maximised: a unit's value read from a named layer (pre-ReLU while optimising, the paper's way when
measured)."""

from __future__ import annotations

import pytest
import torch
from localcodes import am
from localcodes.am.objectives import normalise, target_values

CONV, FC, OUT = "features.4", "classifier.1", "classifier.2"


def test_native_resolution_parameterisation_is_resized_for_the_network(net, cfg, size):
    res = am.maximise(net, [(OUT, 0)], 2, cfg(steps=3, param_size=12), seed=0)
    assert res.images.shape == (1, 2, 1, 12, 12)
    vals = am.unit_values(net, OUT, res.images[0], [0, 0], mean=0.5, std=0.25, size=size)
    assert torch.allclose(vals, res.objective[0], atol=1e-4)


def test_bad_targets_and_settings_are_refused(net, cfg):
    with pytest.raises(ValueError, match="are not modules of"):
        am.maximise(net, [("features.99", 0)], 1, cfg(steps=1))
    with pytest.raises(ValueError, match="out of range"):
        am.maximise(net, [(FC, 24)], 1, cfg(steps=1))
    with pytest.raises(ValueError, match="conv_reduce must be one of"):
        am.maximise(net, [(CONV, 0)], 1, cfg(steps=1, conv_reduce="median"))
    with pytest.raises(ValueError, match="channels must be 1"):
        am.FourierImage(2, channels=2)


@torch.no_grad()
def test_pre_relu_reads_the_input_of_an_in_place_relu(net, data):
    x = normalise(data[:6], 0.5, 0.25)
    conv = net.features[:4](x)  # the second convolution's output, before its (in-place) ReLU
    layer_of, unit_of = torch.zeros(6, dtype=torch.long), torch.tensor([0, 1, 2, 3, 4, 5])
    pre = target_values(net, x, [CONV], layer_of, unit_of, "max", pre_relu=True)
    post = target_values(net, x, [CONV], layer_of, unit_of, "max", pre_relu=False)
    want = conv[torch.arange(6), unit_of].flatten(1).amax(1)
    assert torch.allclose(pre, want) and torch.allclose(post, want.clamp(min=0))
    # the paper's measure is the post-ReLU value
    assert torch.allclose(am.unit_values(net, CONV, data[:6], unit_of, mean=0.5, std=0.25), post)
