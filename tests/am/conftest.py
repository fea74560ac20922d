"""Shared fixtures of the activation-maximisation tests: a tiny AlexNet-shaped network, smooth 'data' and
settings scaled to it."""

from __future__ import annotations

import pytest
import torch
from localcodes import am
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


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return TinyNet().eval()


@pytest.fixture
def size():
    """The tiny network's input side."""
    return SIZE


@pytest.fixture
def data():
    """Smooth random images in [0, 1] (blurred noise), the 'data' a unit's mean is taken over."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand((512, 1, SIZE // 4, SIZE // 4), generator=g)
    return nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


@pytest.fixture
def cfg():
    """``cfg(**overrides)``: AM settings for the tiny network."""

    def make(**kw):
        base = {"size": SIZE, "steps": 60, "lr": 0.1, "mean": 0.5, "std": 0.25}
        base.update(kw)
        return am.AMConfig(**base)

    return make
