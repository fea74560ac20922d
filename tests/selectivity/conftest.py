"""A small ImageNet-style folder for the image-folder, table and command-line tests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def make_folder():
    """``make_folder(root, classes=..., per_class=4, seed=0)``: tinted random images in class sub-folders (PNG and
    JPEG) plus a file that is not an image; returns ``root``."""

    def make(root, classes=("n01", "n02", "n03"), per_class=4, seed=0):
        rng = np.random.default_rng(seed)
        for c, name in enumerate(classes):
            (root / name).mkdir(parents=True)
            for i in range(per_class):
                h, w = int(rng.integers(230, 300)), int(rng.integers(230, 320))
                img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
                img[..., c] = 255  # each class tinted, so the images differ by class
                Image.fromarray(img).save(root / name / f"img{i}.{'png' if i % 2 else 'jpg'}")
        (root / "n01" / "notes.txt").write_text("not an image")
        return root

    return make
