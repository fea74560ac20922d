"""The ImageNet-style folder reader: classes, preprocessing, batches and clear errors."""

from __future__ import annotations

import pytest
from localcodes.selectivity.images import ImageFolder


def test_image_folder_reader(tmp_path, make_folder):
    folder = ImageFolder(make_folder(tmp_path / "imgs"), size=227)
    assert folder.class_names == ["n01", "n02", "n03"] and len(folder) == 12
    assert folder.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    x, y, i = folder[5]
    assert x.shape == (3, 227, 227) and y == 1 and i == 5
    # normalised with ImageNet's statistics: channel 1 of class n02 is saturated (255 → (1 - mean) / std)
    assert x[1].max() == pytest.approx((1 - 0.456) / 0.224, rel=1e-4)
    xb, yb, ib = next(folder.batches(5, start=10))
    assert xb.shape == (2, 3, 227, 227) and ib.tolist() == [10, 11]
    with pytest.raises(ValueError, match="does not exist"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        ImageFolder(tmp_path / "flat")
