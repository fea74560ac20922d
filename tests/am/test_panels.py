"""Panels: grid layout, encoded bytes and the resumable panels of many units."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from localcodes import am
from PIL import Image


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


def test_panel_bytes_formats():
    images = torch.rand(4, 1, 8, 8)
    png, jpeg = am.panel_bytes(images, nrow=2), am.panel_bytes(images, nrow=2, fmt="jpeg")
    assert png.startswith(b"\x89PNG") and jpeg.startswith(b"\xff\xd8") and am.panel_png(images, nrow=2) == png
    with pytest.raises(ValueError, match="fmt must be one of"):
        am.panel_bytes(images, fmt="gif")


def test_make_panels_writes_one_panel_per_unit_and_resumes(net, cfg, tmp_path):
    settings = cfg(steps=2)
    units, modules = {"conv5": [0, 3], "fc6": [1]}, {"conv5": "features.4", "fc6": "classifier.1"}
    table, images = am.make_panels(net, units, 4, settings, tmp_path, modules=modules, progress=False)
    assert list(table.columns) == ["layer", "unit", "panel", "am_mean", "am_min"]
    assert list(zip(table.layer, table.unit, strict=True)) == [("conv5", 0), ("conv5", 3), ("fc6", 1)]
    assert all((tmp_path / p).exists() for p in table.panel)
    assert table.panel.str.startswith("panels/").all() and (table.am_mean >= table.am_min).all()
    assert images[("fc6", 1)].shape == (4, 1, 32, 32) and images[("fc6", 1)].dtype == torch.uint8
    again, images2 = am.make_panels(net, units, 4, settings, tmp_path, modules=modules, progress=False)
    assert again.equals(table) and all(torch.equal(images[k], images2[k]) for k in images)
    other, _ = am.make_panels(net, units, 4, cfg(steps=3), tmp_path, modules=modules, progress=False)
    assert set(other.panel).isdisjoint(table.panel)  # new settings never overwrite old panels
