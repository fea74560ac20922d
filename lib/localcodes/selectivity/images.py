"""An ImageNet-style image folder (``root/<class>/<image>``) with the standard preprocessing, read in batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = ["ImageFolder", "IMAGE_SUFFIXES", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's normalisation (the weights it ships expect it)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageFolder(torch.utils.data.Dataset):
    """Images in class sub-folders (``root/<class>/<image>``), classes numbered in sorted folder order.

    Preprocessing is the standard one: resize the shorter side to 256, centre-crop ``size`` (224 for
    torchvision's AlexNet, 227 for Caffe's), scale to [0, 1] and normalise with ImageNet's mean and std.
    With all 1000 ImageNet synset folders the class ids are the standard ones.
    """

    def __init__(self, root: str | Path, size: int = 224, resize: int = 256, num_workers: int = 0) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"image folder {self.root} does not exist")
        self.class_names = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.class_names:
            raise ValueError(f"{self.root} has no class sub-folders (expected root/<class>/<image>)")
        files, labels = [], []
        for c, name in enumerate(self.class_names):
            for f in sorted((self.root / name).iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    files.append(f)
                    labels.append(c)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {self.root}")
        if size > resize:
            raise ValueError(f"size ({size}) must not exceed resize ({resize})")
        self.files, self.size, self.resize, self.num_workers = files, size, resize, num_workers
        self.labels = torch.tensor(labels, dtype=torch.int64)
        self.name, self.source = f"image folder {self.root.name}", str(self.root)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        with Image.open(self.files[i]) as img:
            img = img.convert("RGB")
            w, h = img.size
            scale = self.resize / min(w, h)
            img = img.resize((max(self.resize, round(w * scale)), max(self.resize, round(h * scale))),
                             Image.BILINEAR)
            w, h = img.size
            left, top = (w - self.size) // 2, (h - self.size) // 2
            img = img.crop((left, top, left + self.size, top + self.size))
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
        std = torch.tensor(IMAGENET_STD)[:, None, None]
        return (x - mean) / std, int(self.labels[i]), i

    def batches(self, batch_size: int = 256, start: int = 0) -> Iterator[tuple[torch.Tensor, ...]]:
        """(images, labels, ids) batches in order from image ``start`` on (decoded by ``num_workers``)."""
        subset = torch.utils.data.Subset(self, range(start, len(self)))
        loader = torch.utils.data.DataLoader(subset, batch_size=batch_size, shuffle=False,
                                             num_workers=self.num_workers)
        for x, y, ids in loader:
            yield x, y.to(torch.int64), ids.to(torch.int64)

    def file_names(self) -> list[str]:
        """Each image's path relative to the folder, in row order."""
        return [str(f.relative_to(self.root)) for f in self.files]

