"""AlexNet with torchvision's layout, weight loading, the offline-trained network and its images."""

from __future__ import annotations

import pytest
import torch
from localcodes import nets

# torchvision.models.alexnet().state_dict() keys and shapes (torchvision's source; it does not import here)
TORCHVISION_SHAPES = {
    "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
    "classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,),
    "classifier.4.weight": (4096, 4096), "classifier.4.bias": (4096,),
    "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,),
}


def test_alexnet_has_torchvisions_state_dict():
    model = nets.AlexNet()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == TORCHVISION_SHAPES
    assert isinstance(model.classifier[0], torch.nn.Dropout) and isinstance(model.classifier[3], torch.nn.Dropout)
    out = model.eval()(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, 1000)


@pytest.mark.parametrize("size,side", [(224, 6), (227, 6), (96, 2), (64, 1)])
def test_pool5_size_matches_the_features(size, side):
    model = nets.AlexNet(num_classes=5, in_channels=1, width=0.125, pool_size=side)
    assert nets.pool5_size(size) == side
    assert model.features(torch.zeros(1, 1, size, size)).shape[-1] == side
    with pytest.raises(ValueError, match="too small"):
        nets.pool5_size(40)


def test_load_weights_round_trip_and_clear_errors(tmp_path):
    a = nets.AlexNet(num_classes=10, in_channels=1, width=0.125, pool_size=2)
    path = tmp_path / "w.pth"
    torch.save({"module." + k: v for k, v in a.state_dict().items()}, path)  # as saved from DataParallel
    b = nets.load_weights(nets.AlexNet(num_classes=10, in_channels=1, width=0.125, pool_size=2), path)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v)
    with pytest.raises(ValueError, match=r"do not fit AlexNet.*classifier\.6\.weight"):
        nets.load_weights(nets.AlexNet(num_classes=1000, in_channels=1, width=0.125, pool_size=2), path)
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="missing keys"):
        nets.load_weights(a, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="does not exist"):
        nets.load_weights(a, tmp_path / "nothing.pth")
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="could not read"):
        nets.load_weights(a, tmp_path / "junk.pth")


def test_image_data_is_balanced_and_preprocessed_once_for_all():
    train = nets.image_data("smoke", "train")
    counts = torch.bincount(train.labels)
    assert counts.min() == counts.max() == nets.TRAINED_PRESETS["smoke"]["n_train"] // len(counts)
    assert len(set(train.ids.tolist())) == len(train)
    x, y, ids = next(train.batches(8))
    size = nets.TRAINED_PRESETS["smoke"]["input_size"]
    assert x.shape == (8, 1, size, size) and x.dtype == torch.float32
    torch.testing.assert_close(x, train.images[:8])
    assert train.name in ("Fashion-MNIST", "MNIST-format IDX", "MNIST", "scikit-learn 8x8 digits")
    with pytest.raises(ValueError, match="scale"):
        nets.image_data("huge")
    with pytest.raises(ValueError, match="split"):
        nets.image_data("smoke", "val")


TINY = {"input_size": 64, "width": 0.125, "n_train": 500, "n_test": 200, "epochs": 3, "batch_size": 32, "lr": 2e-3,
        "seed": 0}


def test_trained_alexnet_trains_once_and_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    monkeypatch.setitem(nets.TRAINED_PRESETS, "smoke", TINY)  # a tiny run: the caching is what is tested
    model, info = nets.trained_alexnet("smoke", device="cpu")
    assert not model.training
    assert info["test_accuracy"] > 0.15  # 10 classes: chance is 0.1
    assert {"dataset", "source", "input_size", "classes", "train_time_s"} <= set(info)
    assert (tmp_path / "smoke" / "alexnet" / "model.pt").exists()
    again, info2 = nets.trained_alexnet("smoke", device="cpu")
    assert info2["train_time_s"] == info["train_time_s"]  # loaded from the cache, not retrained
    for k, v in model.state_dict().items():
        torch.testing.assert_close(again.state_dict()[k], v)


TINY_FRACTALS = {"n_classes": 4, "n_train_per_class": 12, "n_test_per_class": 5, "image_size": 16, "input_size": 64,
                 "width": 0.125, "epochs": 1, "batch_size": 16, "lr": 2e-3, "seed": 0}


def test_fractal_image_data_is_colour_with_disjoint_splits(monkeypatch):
    monkeypatch.setitem(nets.FRACTAL_PRESETS, "smoke", TINY_FRACTALS)
    train = nets.image_data("smoke", "train", "fractals")
    test = nets.image_data("smoke", "test", "fractals")
    assert train.raw.shape == (48, 3, 16, 16) and train.raw.dtype == torch.uint8 and train.channels == 3
    assert torch.bincount(train.labels).tolist() == [12] * 4 and len(test) == 20
    assert not set(train.ids.tolist()) & set(test.ids.tolist())  # further instances, never the training ones
    assert (train.mean, train.std) == (test.mean, test.std) and 0 < train.mean < 1
    x, _, _ = next(train.batches(8))
    assert x.shape == (8, 3, 64, 64) and x.dtype == torch.float32
    assert train.class_names == [f"fractal {c}" for c in range(4)] and train.name == "fractal categories"
    with pytest.raises(ValueError, match="dataset"):
        nets.image_data("smoke", "train", "imagenet")
    assert nets.training_preset("book", "fractals")["n_classes"] >= 100
    assert nets.training_preset("paper", "fractals")["n_classes"] == 1000


def test_trained_alexnet_on_fractals_is_cached_by_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    monkeypatch.setitem(nets.FRACTAL_PRESETS, "smoke", TINY_FRACTALS)
    model, info = nets.trained_alexnet("smoke", device="cpu", dataset="fractals")
    assert info["in_channels"] == 3 and len(info["classes"]) == 4 and info["key"]
    assert model.features[0].in_channels == 3 and model.classifier[-1].out_features == 4
    assert (tmp_path / "smoke" / "alexnet_fractals" / "model.pt").exists()
    _, again = nets.trained_alexnet("smoke", device="cpu", dataset="fractals")
    assert again["train_time_s"] == info["train_time_s"]  # reused
    monkeypatch.setitem(nets.FRACTAL_PRESETS, "smoke", {**TINY_FRACTALS, "lr": 1e-3})
    _, other = nets.trained_alexnet("smoke", device="cpu", dataset="fractals")
    assert other["key"] != info["key"]  # another setting: trained again
