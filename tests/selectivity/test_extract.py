"""The hook-based recorder: ``capture`` and ``forward_to``, and paper 001's activations built on them."""

from __future__ import annotations

import re

import pytest
import torch
from localcodes import nets
from localcodes.selectivity.extract import (
    activations,
    capture,
    forward_to,
    iter_activations,
    model_device,
    resolve_modules,
)
from torch import nn


def test_layers_follow_caffes_blobs():
    torch.manual_seed(0)
    model = nets.AlexNet(num_classes=7, in_channels=1, width=0.125, pool_size=2).eval()
    x = torch.randn(6, 1, 96, 96)
    acts = activations(model, ["conv5", "fc6", "fc7", "fc8", "prob", "classifier.1"], x, batch_size=4)
    conv5_map = model.features[:12](x)  # up to and including conv5's ReLU
    torch.testing.assert_close(acts["conv5"], conv5_map.amax(dim=(2, 3)))  # per-filter spatial maximum
    assert (acts["fc6"] >= 0).all() and (acts["fc7"] >= 0).all()  # post-ReLU, as Caffe's in-place ReLU
    with torch.no_grad():
        torch.testing.assert_close(acts["fc8"], model(x))
    torch.testing.assert_close(acts["prob"], torch.softmax(acts["fc8"].double(), 1).float())
    # the pre-ReLU linear output is captured before the in-place ReLU overwrites it
    assert (acts["classifier.1"] < 0).any()
    torch.testing.assert_close(acts["classifier.1"].clamp(min=0), acts["fc6"])


def test_unknown_layer_lists_the_valid_ones():
    model = nets.AlexNet(num_classes=3, in_channels=1, width=0.125, pool_size=2)
    with pytest.raises(ValueError, match=r"layer 'fc9' does not exist.*'conv5'.*'prob'"):
        activations(model, ["fc9"], torch.zeros(1, 1, 96, 96))


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))


def test_capture_fills_every_label_on_each_forward_pass_and_releases_its_hooks():
    net, x = _net(), torch.randn(5, 4)
    with capture(net, {"a": "2", "b": "2", "out": "4"}) as got:  # two labels sharing a module
        y = net(x)
        assert set(got) == {"a", "b", "out"} and got["a"] is got["b"]
        torch.testing.assert_close(got["out"], y)
        first = got["out"]
        net(x + 1)
        assert got["out"] is not first  # refilled by the second pass
        last = got["out"]
    net(x)
    assert got["out"] is last  # the hooks are gone


def test_pre_relu_keeps_the_input_of_an_in_place_relu():
    net, x = _net(), torch.randn(8, 4)
    with torch.no_grad(), capture(net, ["1"], pre_relu=True) as pre, capture(net, {"post": "1"}) as post:
        net(x)
        torch.testing.assert_close(pre["1"], net[0](x))  # the linear output, before the ReLU overwrote it
        assert (pre["1"] < 0).any() and (post["post"] >= 0).all()


def test_transform_and_forward_to_stop_at_the_last_requested_layer():
    net, x = _net(), torch.randn(3, 4)
    calls = []
    net[4].register_forward_hook(lambda *args: calls.append("last"))
    out = forward_to(net, x, {"h": "0"}, transform=lambda t: t.detach() * 2)
    torch.testing.assert_close(out["h"], net[0](x).detach() * 2)
    assert calls == []  # the layers after "0" never ran
    assert set(forward_to(net, x, ["0", "4"])) == {"0", "4"} and calls == ["last"]


def test_unknown_or_empty_layer_names_are_refused():
    net = _net()
    with pytest.raises(ValueError, match=r"\['9'\] are not modules of Sequential; valid: \['0', '1'"):
        resolve_modules(net, ["0", "9"])
    with pytest.raises(ValueError, match="at least one"):
        resolve_modules(net, [])
    with pytest.raises(ValueError, match="not modules"):
        with capture(net, {"x": ""}):
            pass


def test_iter_activations_resumes_from_a_start_row_and_restores_training_mode():
    model = nets.AlexNet(num_classes=3, in_channels=1, width=0.125, pool_size=1).train()
    x = torch.randn(7, 1, 64, 64)
    batches = list(iter_activations(model, ["fc8", "prob"], x, batch_size=3, start=2))
    assert [ids.tolist() for *_, ids in batches] == [[2, 3, 4], [5, 6]]
    assert model.training
    whole = activations(model, ["fc8"], x, batch_size=4)["fc8"]
    torch.testing.assert_close(torch.cat([acts["fc8"] for acts, *_ in batches]), whole[2:])


def test_conv_maps_are_pooled_by_their_spatial_max_or_mean():
    torch.manual_seed(0)
    model = nets.AlexNet(num_classes=3, in_channels=1, width=0.125, pool_size=2).eval()
    x = torch.randn(5, 1, 96, 96)
    with torch.no_grad():
        conv5_map = model.features[:12](x)
    default = activations(model, ["conv5", "fc8"], x, batch_size=2)
    mean = activations(model, ["conv5", "fc8"], x, batch_size=2, pooling="mean")
    torch.testing.assert_close(default["conv5"], conv5_map.amax(dim=(2, 3)))  # paper 001's convention
    torch.testing.assert_close(mean["conv5"], conv5_map.mean(dim=(2, 3)))
    torch.testing.assert_close(mean["fc8"], default["fc8"])  # not a map: pooling does not touch it
    streamed = torch.cat([a["conv5"] for a, *_ in iter_activations(model, ["conv5"], x, 2, pooling="mean")])
    torch.testing.assert_close(streamed, mean["conv5"])


@pytest.mark.parametrize("bad", ["avg", "MAX", None, 2])
def test_an_unknown_pooling_is_refused_naming_the_choices(bad):
    model = nets.AlexNet(num_classes=3, in_channels=1, width=0.125, pool_size=2)
    with pytest.raises(ValueError, match=r"pooling must be one of \('max', 'mean'\).*got " + re.escape(repr(bad))):
        activations(model, ["conv5"], torch.zeros(1, 1, 96, 96), pooling=bad)
    with pytest.raises(ValueError, match="pooling must be one of"):
        iter_activations(model, ["conv5"], torch.zeros(1, 1, 96, 96), pooling=bad)  # at the call, not the 1st batch


def test_without_a_device_the_model_runs_where_it_is(monkeypatch):
    """device=None: the images go to the model's device (here the CPU), even where CUDA is present."""
    net, x = _net(), torch.randn(4, 4)
    want = activations(net, ["2"], x, device="cpu")["2"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine with the model on the CPU
    torch.testing.assert_close(activations(net, ["2"], x)["2"], want)
    assert model_device(net) == torch.device("cpu")


def test_a_model_split_across_devices_is_not_moved():
    net = _net()
    net[4].to("meta")  # a second device without a GPU
    with pytest.raises(ValueError, match=r"several devices.*device=None"):
        activations(net, ["2"], torch.randn(2, 4), device="cpu")
    assert net[0].weight.device.type == "cpu" and net[4].weight.device.type == "meta"


def test_a_model_that_does_not_return_class_scores_is_named():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 3)

        def forward(self, x):
            return self.body(x), x

    with pytest.raises(ValueError, match=r"class scores of shape \(batch, classes\).*returned tuple"):
        activations(TwoHeads(), ["body"], torch.randn(2, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_device_moves_the_model_there_for_the_run_and_back():
    net, x = _net(), torch.randn(6, 4)
    want = activations(net, ["2"], x)["2"]
    seen = []
    for acts, *_ in iter_activations(net, ["2"], x, batch_size=2, device="cuda"):
        seen.append(model_device(net).type)
        assert acts["2"].device.type == "cpu"
    assert seen == ["cuda"] * 3 and model_device(net).type == "cpu"  # back where it was
    torch.testing.assert_close(activations(net, ["2"], x, device="cuda")["2"], want)
    stream = iter_activations(net, ["2"], x, batch_size=2, device="cuda")
    next(stream)
    stream.close()  # cut short: moved back all the same
    assert model_device(net).type == "cpu"
