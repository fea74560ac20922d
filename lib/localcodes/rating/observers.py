"""Automated observers: small classifiers trained independently on the network's data, rating panels.

Observer *k* says "yes" to a panel when most of its images fall, with confidence, into one class, and names that
class (:func:`observer_ratings`). A classifier trained only on the data's classes must put every image into one
of them, so the observers also learn a "no object" class from phase-scrambled training images
(:func:`phase_scrambled`): like a person, they can answer "nothing" to texture.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..store import atomic_path, pick_device, progress_bar, write_json

__all__ = ["OBSERVER_ARCHS", "ObserverEnsemble", "phase_scrambled", "train_observers", "observer_predictions",
           "observer_ratings"]

OBSERVER_ARCHS = ("mlp", "cnn")


class ObserverEnsemble(nn.Module):
    """``k`` independent classifiers of one architecture evaluated as one batched module.

    Input (B, k, h, w) grey or (B, k, C, h, w) with ``in_channels`` C (colour): member j sees its own image while
    training and the same image, expanded, while rating. Output (B, k, classes), plus a "no object" class with
    ``reject``. ``cnn``: two strided conv
    layers (5x5, 3x3) and a hidden layer, as grouped convolutions (groups = k) so members share no weights;
    ``mlp``: one hidden layer, as batched matrix products. Members differ by their random start and their own
    shuffled order of the training data.
    """

    def __init__(
        self,
        k: int,
        arch: str = "cnn",
        n_classes: int = 10,
        size: int = 28,
        hidden: int = 64,
        channels: tuple[int, int] = (8, 16),
        reject: bool = False,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        if arch not in OBSERVER_ARCHS:
            raise ValueError(f"arch must be one of {OBSERVER_ARCHS}; got {arch!r}")
        if k < 1 or n_classes < 2 or size < 8:
            raise ValueError(f"need k >= 1, n_classes >= 2, size >= 8; got {k}, {n_classes}, {size}")
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 (grey) or 3 (colour); got {in_channels}")
        self.k, self.arch, self.n_classes, self.size, self.in_channels = k, arch, n_classes, size, in_channels
        # with ``reject``, one more output: "no object" (trained on phase-scrambled images)
        self.register_buffer("n_real", torch.tensor(n_classes))
        n_out = n_classes + int(reject)
        c1, c2 = channels
        if arch == "cnn":
            # strided convolutions and no pooling: grouped convolutions are slow on CPUs, so keep them small
            self.conv = nn.Sequential(
                nn.Conv2d(k * in_channels, k * c1, 5, stride=2, padding=2, groups=k),
                nn.ReLU(),
                nn.Conv2d(k * c1, k * c2, 3, stride=2, padding=1, groups=k),
                nn.ReLU(),
            )
            side = ((size - 1) // 2 + 1 - 1) // 2 + 1
            d = c2 * side**2
        else:
            self.conv = None
            d = in_channels * size * size
        # the input standardisation (the training images' pixel mean and std) travels with the weights
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))
        self.w1 = nn.Parameter(torch.randn(k, d, hidden) / d**0.5)
        self.b1 = nn.Parameter(torch.zeros(k, hidden))
        self.w2 = nn.Parameter(torch.randn(k, hidden, n_out) / hidden**0.5)
        self.b2 = nn.Parameter(torch.zeros(k, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if self.conv is not None:
            x = self.conv(x.reshape(b, -1, *x.shape[-2:]))  # (B, k*c2, s, s): member j owns j*c2 … (j+1)*c2
        h = torch.relu(torch.einsum("bkd,kdh->bkh", x.reshape(b, self.k, -1), self.w1) + self.b1)
        return torch.einsum("bkh,khc->bkc", h, self.w2) + self.b2


def phase_scrambled(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image's amplitude spectrum with random phases: the same "texture statistics", no shape.

    uint8 (N, h, w) or (N, C, h, w) in, uint8 out. The scrambled image then takes the original's own pixel values
    in its rank order, channel by channel, so every image keeps its histograms (brightness, contrast, colours)
    exactly; a colour image's channels share one random phase, so their correlation survives too.
    """
    x = images.to(torch.float64)
    grey = x.ndim == 3
    if grey:
        x = x[:, None]
    noise = torch.rand((x.shape[0], 1, *x.shape[-2:]), generator=generator, dtype=torch.float64)
    phase = torch.angle(torch.fft.fft2(noise))  # the phase of real noise keeps the result real
    out = torch.fft.ifft2(torch.fft.fft2(x).abs() * torch.exp(1j * phase)).real
    flat = out.flatten(2)
    ranks = flat.argsort(2).argsort(2)
    values = (images[:, None] if grey else images).flatten(2).sort(2).values
    return values.gather(2, ranks).reshape(images.shape).to(torch.uint8)


def _standardise(raw: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (..., h, w) or float in [0, 1] → standardised float32."""
    x = raw.to(torch.float32)
    if raw.dtype == torch.uint8:
        x = x / 255.0
    return (x - mean) / std


def train_observers(
    images: torch.Tensor,
    labels: torch.Tensor,
    archs: Sequence[str] = OBSERVER_ARCHS,
    per_arch: int = 3,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    reject: bool = True,
) -> tuple[list[ObserverEnsemble], pd.DataFrame]:
    """Train ``per_arch`` independent observers per architecture on grey (N, h, w) or colour (N, 3, h, w) images,
    uint8 0..255.

    Each member walks through the data in its own random order. With ``reject`` (default) the observers also
    learn a "no object" class from phase-scrambled training images (:func:`phase_scrambled`: the images'
    spectra, no shapes), so that, like a person, they can answer "nothing" to texture. With ``cache_dir`` the
    trained ensembles are saved there (atomically) and loaded on the next call with the same settings. Returns
    the ensembles and a table of the observers (``rater, arch, seed, train_accuracy, test_accuracy``).
    """
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[1] != 3) or labels.shape != images.shape[:1]:
        raise ValueError(
            f"images must be (N, h, w) or (N, 3, h, w) with labels (N,); got {tuple(images.shape)}, "
            f"{tuple(labels.shape)}"
        )
    bad = [a for a in archs if a not in OBSERVER_ARCHS]
    if bad or per_arch < 1 or epochs < 1:
        raise ValueError(
            f"archs must come from {OBSERVER_ARCHS}, per_arch and epochs >= 1; got {archs}, "
            f"{per_arch}, {epochs}"
        )
    dev = pick_device(None if device is None else str(device))
    x_all = images.to(torch.uint8)
    y_all = labels.to(torch.int64)
    mean = float(x_all.float().mean() / 255)
    std = float(x_all.float().std() / 255)
    n_classes = int(y_all.max()) + 1
    size = int(images.shape[-1])
    in_channels = 1 if images.ndim == 3 else 3
    x_fit, y_fit = x_all, y_all
    if reject:
        # as many "no object" images as an average class has
        g = torch.Generator().manual_seed(seed + 12345)
        src = torch.randperm(len(x_all), generator=g)[: max(1, len(x_all) // n_classes)]
        x_fit = torch.cat([x_all, phase_scrambled(x_all[src], g)])
        y_fit = torch.cat([y_all, torch.full((len(src),), n_classes)])
    settings = {
        "archs": list(archs),
        "per_arch": per_arch,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "n": len(y_all),
        "size": size,
        "n_classes": n_classes,
        "reject": reject,
        **({"in_channels": 3} if in_channels == 3 else {}),  # grey caches keep their key
    }
    folder = Path(cache_dir) if cache_dir is not None else None
    if folder is not None and (folder / "observers.json").exists():
        saved = json.loads((folder / "observers.json").read_text())
        if saved.get("settings") == settings:
            ensembles = []
            for arch in archs:
                ens = ObserverEnsemble(per_arch, arch, n_classes, size, reject=reject, in_channels=in_channels)
                ens.load_state_dict(torch.load(folder / f"observers_{arch}.pt", weights_only=True))
                ensembles.append(ens.to(dev).eval())
            return ensembles, pd.DataFrame(saved["table"])[saved["columns"]]

    ensembles, rows = [], []
    for a_i, arch in enumerate(archs):
        torch.manual_seed(seed * 1000 + a_i)
        ens = ObserverEnsemble(per_arch, arch, n_classes, size, reject=reject, in_channels=in_channels).to(dev)
        ens.mean.fill_(mean)
        ens.std.fill_(std)
        opt = torch.optim.Adam(ens.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed * 1000 + a_i)
        n = len(y_fit)
        steps = epochs * (n // batch_size)
        bar = None
        if progress:
            bar = progress_bar(total=steps, desc=f"observers ({arch} x {per_arch})", leave=False)
        ens.train()
        for _ in range(epochs):
            # each member its own permutation of the training set
            perms = torch.stack([torch.randperm(n, generator=gen) for _ in range(per_arch)], 1)
            for i in range(0, n - batch_size + 1, batch_size):
                idx = perms[i : i + batch_size]  # (B, k)
                x = _standardise(x_fit[idx], mean, std).to(dev)  # (B, k, h, w) or (B, k, 3, h, w)
                y = y_fit[idx].to(dev)
                # sum over members: each member's gradient is the mean over its own batch
                out = ens(x)
                loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)) * per_arch
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        ens.eval()
        train_acc = _accuracy(ens, x_all, y_all)
        test_acc = _accuracy(ens, *test) if test is not None else [float("nan")] * per_arch
        rows += [
            {
                "rater": f"{arch}-{j}",
                "arch": arch,
                "seed": seed * 1000 + a_i,
                "member": j,
                "train_accuracy": train_acc[j],
                "test_accuracy": test_acc[j],
            }
            for j in range(per_arch)
        ]
        ensembles.append(ens)
    table = pd.DataFrame(rows)
    if folder is not None:
        for ens in ensembles:
            with atomic_path(folder / f"observers_{ens.arch}.pt") as tmp:
                torch.save(ens.state_dict(), tmp)
        write_json(
            folder / "observers.json",
            {"settings": settings, "table": table.to_dict(orient="list"), "columns": list(table.columns)},
        )
    return ensembles, table


@torch.no_grad()
def observer_predictions(
    ensemble: ObserverEnsemble, images: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """Class probabilities of every member for images (N, C, h, w) with the ensemble's channels (grey also
    (N, h, w)), uint8 or float in [0, 1], resized to the observers' size: (N, k, classes)."""
    c = ensemble.in_channels
    if images.ndim == 3 and c == 1:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] != c:
        raise ValueError(f"these observers rate images of {c} channel(s), (N, {c}, h, w); got {tuple(images.shape)}")
    if images.shape[-1] != ensemble.size or images.shape[-2] != ensemble.size:
        x = images.float() / (255.0 if images.dtype == torch.uint8 else 1.0)
        images = F.interpolate(
            x,
            size=(ensemble.size, ensemble.size),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )
    if c == 1:
        images = images[:, 0]
    dev = next(ensemble.parameters()).device
    out = []
    for i in range(0, len(images), batch_size):
        x = _standardise(images[i : i + batch_size], float(ensemble.mean), float(ensemble.std)).to(dev)
        x = x[:, None].expand(-1, ensemble.k, *x.shape[1:])  # every member sees the same image
        out.append(torch.softmax(ensemble(x), -1).cpu())
    return torch.cat(out)


def _accuracy(ens: ObserverEnsemble, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    probs = observer_predictions(ens, images)
    return (probs.argmax(-1) == labels[:, None]).float().mean(0).tolist()


def observer_ratings(
    ensembles: Sequence[ObserverEnsemble],
    panels: Mapping[tuple[str, int], torch.Tensor],
    class_names: Sequence[str],
    panel_ids: Mapping[tuple[str, int], str] | None = None,
    min_confidence: float = 0.5,
    min_share: float = 0.5,
) -> pd.DataFrame:
    """Every observer's answer to every panel, as rows for :meth:`RatingStore.add_many`.

    ``panels`` maps ``(layer, unit)`` to that unit's images, (n, C, h, w) with the observers' channels (grey also
    (n, h, w)), uint8 or float in [0, 1]. Observer j says "yes" to a panel when more than ``min_share`` of its
    images are put in one class with probability at least ``min_confidence`` ("most images fall in one class with
    confidence"), and names that class; images it puts in its "no object" class count for no class. Extra
    columns: ``share`` (the winning class's share of the panel) and ``cls`` (its id).
    """
    if not 0 <= min_confidence <= 1 or not 0 <= min_share < 1:
        raise ValueError(
            f"need 0 <= min_confidence <= 1 and 0 <= min_share < 1; got {min_confidence}, {min_share}"
        )
    keys = list(panels)
    if not keys:
        raise ValueError("panels is empty")
    sizes = {int(panels[key].shape[0]) for key in keys}
    if len(sizes) != 1:
        raise ValueError(f"every panel must hold the same number of images; got {sorted(sizes)}")
    n = sizes.pop()
    stacked = torch.cat([panels[key] for key in keys])
    frames = []
    for ens in ensembles:
        probs = observer_predictions(ens, stacked).reshape(len(keys), n, ens.k, -1)  # (P, n, k, C)
        conf, cls = probs.max(-1)
        n_real = int(ens.n_real)
        # an image counts for a class if the observer puts it there with confidence; "no object" never counts
        confident = F.one_hot(cls, probs.shape[-1])[..., :n_real] * (conf >= min_confidence)[..., None]
        counts = confident.sum(1)  # (P, k, C)
        best, best_cls = counts.max(-1)  # ties go to the smaller class id
        share = best.float() / n
        yes = share > min_share
        p_idx, member = np.meshgrid(np.arange(len(keys)), np.arange(ens.k), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "rater": [f"{ens.arch}-{j}" for j in member.ravel()],
                    "kind": "observer",
                    "layer": [keys[p][0] for p in p_idx.ravel()],
                    "unit": [int(keys[p][1]) for p in p_idx.ravel()],
                    "yes": yes.numpy().ravel(),
                    "named": [
                        class_names[c] if y else None
                        for c, y in zip(best_cls.numpy().ravel(), yes.numpy().ravel(), strict=True)
                    ],
                    "share": share.numpy().ravel(),
                    "cls": best_cls.numpy().ravel(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    ids = panel_ids or {}
    out["panel"] = [
        ids.get((layer, unit), f"{layer}.{unit}")
        for layer, unit in zip(out["layer"], out["unit"], strict=True)
    ]
    return out
