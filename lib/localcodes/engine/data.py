"""Training data: :class:`Dataset` (inputs, classes, one target vector per class, optional test and validation
sets), made from a prototype code (:func:`code_data`) or any float matrix (:func:`array_data`), and
:class:`DeviceData`, the same laid out on a device for gathering the batches of R networks at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import codes
from .streams import derive_seed

__all__ = ["Dataset", "code_data", "array_data", "DeviceData"]


@dataclass
class Dataset:
    """Training data for a classification MLP.

    ``X`` (N, D) float inputs; ``y`` (N,) int classes 0..C-1 (the targets' class); ``targets`` (C, O) float,
    the target vector of each class (distributed or 1-hot); optional ``X_test``/``y_test`` and
    ``X_val``/``y_val`` (validation loss for early stopping). ``lc_labels`` (N,) are the classes local codes
    are measured against (default ``y``; for shuffled targets, pass the prototype classes to ask the other
    question). ``info`` describes where the data came from (stored with results).
    """

    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    lc_labels: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.X = np.asarray(self.X, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.targets = np.asarray(self.targets, dtype=np.float32)
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-D (examples x features); got shape {self.X.shape}")
        if self.y.shape != (self.X.shape[0],):
            raise ValueError(
                f"y must have one class per row of X ({self.X.shape[0]}); got shape {self.y.shape}"
            )
        if self.targets.ndim != 2 or self.y.min() < 0 or self.y.max() >= self.targets.shape[0]:
            raise ValueError(
                f"targets must be (n_classes, outputs) with a row for every class in y; "
                f"got shape {self.targets.shape} and classes {self.y.min()}..{self.y.max()}"
            )
        for name in ("test", "val"):
            xs, ys = getattr(self, f"X_{name}"), getattr(self, f"y_{name}")
            if (xs is None) != (ys is None):
                raise ValueError(f"X_{name} and y_{name} must be given together")
            if xs is not None:
                xs = np.asarray(xs, dtype=np.float32)
                ys = np.asarray(ys, dtype=np.int64)
                if xs.ndim != 2 or xs.shape[1] != self.X.shape[1] or ys.shape != (xs.shape[0],):
                    raise ValueError(f"X_{name} must be (n, {self.X.shape[1]}) with y_{name} (n,)")
                setattr(self, f"X_{name}", xs)
                setattr(self, f"y_{name}", ys)
        if self.lc_labels is not None:
            self.lc_labels = np.asarray(self.lc_labels, dtype=np.int64)
            if self.lc_labels.shape != self.y.shape:
                raise ValueError("lc_labels must have one label per training example")

    @property
    def n_classes(self) -> int:
        return int(self.targets.shape[0])

    def same_as(self, other: Dataset) -> bool:
        """True when both hold the same arrays (so an ensemble can share one copy)."""
        if self is other:
            return True
        pairs = [
            (self.X, other.X),
            (self.y, other.y),
            (self.targets, other.targets),
            (self.X_test, other.X_test),
            (self.y_test, other.y_test),
            (self.X_val, other.X_val),
            (self.y_val, other.y_val),
            (self.lc_labels, other.lc_labels),
        ]
        for a, b in pairs:
            if (a is None) != (b is None) or (
                a is not None and (a.shape != b.shape or not np.array_equal(a, b))
            ):
                return False
        return True


def code_data(
    n_classes: int = 10,
    length: int = 500,
    n_per_class: int = 50,
    random_weight: float = 1 / 3,
    perturb: float = 0.0,
    shared_random: bool = False,
    shuffle_targets: bool = False,
    output: str = "distributed",
    output_length: int = 50,
    n_test_per_class: int = 0,
    n_val_per_class: int = 0,
    seed: int = 0,
) -> Dataset:
    """A :class:`Dataset` from ``codes.prototype_code`` (arguments as there) with its output code.

    ``output``: ``"distributed"`` (``output_length`` bits, half of them on, one code per class; paper 000's
    3-layer nets) or ``"onehot"``. ``n_test_per_class`` / ``n_val_per_class``: fresh codewords from the same
    prototypes (test sets "at least 10 times larger than the training sets"). ``shuffle_targets``: experiment
    13, targets assigned at random (local codes are still measured against the targets, ``lc_labels`` =
    ``y``). All parts are derived from ``seed`` (train, test and validation codewords are different draws).
    """
    code = codes.prototype_code(n_classes, length, n_per_class, random_weight, perturb, shared_random, seed)
    if shuffle_targets:
        code = code.shuffled(seed)
    targets = codes.output_code(n_classes, output, output_length, seed=seed)
    test = code.test_set(n_test_per_class, seed=derive_seed(seed, 1)) if n_test_per_class else None
    val = code.test_set(n_val_per_class, seed=derive_seed(seed, 2)) if n_val_per_class else None
    info = dict(
        code.params,
        shuffle_targets=shuffle_targets,
        output=output,
        output_length=output_length,
        data="prototype code",
    )
    return Dataset(
        code.X,
        code.y,
        targets,
        None if test is None else test.X,
        None if test is None else test.y,
        None if val is None else val.X,
        None if val is None else val.y,
        info=info,
    )


def array_data(
    X,
    y,
    output: str | np.ndarray = "onehot",
    X_test=None,
    y_test=None,
    X_val=None,
    y_val=None,
    output_length: int = 50,
    seed: int = 0,
    info: dict | None = None,
) -> Dataset:
    """A :class:`Dataset` from float inputs of any width (e.g. flattened MNIST with hot-pixel invariants).

    ``output``: ``"onehot"``, ``"distributed"`` (``codes.output_code`` with ``output_length`` bits) or an
    explicit (C, O) array of target vectors.
    """
    y = np.asarray(y, dtype=np.int64)
    n_classes = int(y.max()) + 1
    if isinstance(output, str):
        targets = codes.output_code(n_classes, output, output_length, seed=seed)
    else:
        targets = np.asarray(output, dtype=np.float32)
    return Dataset(
        np.asarray(X, dtype=np.float32).reshape(len(y), -1),
        y,
        targets,
        X_test,
        y_test,
        X_val,
        y_val,
        info=dict(info or {}),
    )



class DeviceData:
    """A Dataset (or one per network) on the device, laid out for gathering batches of R networks at once."""

    def __init__(self, data: Dataset | Sequence[Dataset], n_networks: int, device: torch.device):
        datasets = [data] if isinstance(data, Dataset) else list(data)
        if len(datasets) not in (1, n_networks):
            raise ValueError(
                f"data must be one Dataset or one per network ({n_networks}); got {len(datasets)}"
            )
        if len(datasets) > 1 and all(d.same_as(datasets[0]) for d in datasets[1:]):
            datasets = datasets[:1]
        first = datasets[0]
        for d in datasets[1:]:
            if d.X.shape != first.X.shape or d.targets.shape != first.targets.shape:
                raise ValueError("per-network datasets must have the same shapes (X, targets)")
            for name in ("X_test", "X_val"):
                a, b = getattr(d, name), getattr(first, name)
                if (a is None) != (b is None) or (a is not None and a.shape != b.shape):
                    raise ValueError(f"per-network datasets must all have {name} of the same shape, or none")
        self.shared = len(datasets) == 1
        self.R, self.N, self.D = n_networks, first.X.shape[0], first.X.shape[1]
        self.n_classes = first.n_classes

        def put(arrays, dtype):
            t = torch.as_tensor(np.stack(arrays)).to(device, dtype)
            return t[0] if self.shared else t

        self.X = put([d.X for d in datasets], torch.float32)  # (N, D) or (R, N, D)
        self.y = put([d.y for d in datasets], torch.int64)
        self.targets = put([d.targets for d in datasets], torch.float32)  # (C, O) or (R, C, O)
        self.lc = put([d.y if d.lc_labels is None else d.lc_labels for d in datasets], torch.int64)
        self.n_lc_classes = int(
            max(int(d.lc_labels.max()) + 1 if d.lc_labels is not None else d.n_classes for d in datasets)
        )
        self.sets = {}
        for name in ("test", "val"):
            if getattr(first, f"X_{name}") is not None:
                self.sets[name] = (
                    put([getattr(d, f"X_{name}") for d in datasets], torch.float32),
                    put([getattr(d, f"y_{name}") for d in datasets], torch.int64),
                )
        self.info = first.info

    def batch(self, X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` (R, b) of X ((N, ...) shared, or (R, N, ...)) for each network: (R, b, ...)."""
        R, b = idx.shape
        if self.shared:
            return X.index_select(0, idx.reshape(-1)).view(R, b, *X.shape[1:])
        offs = (torch.arange(R, device=idx.device) * X.shape[1])[:, None]
        flat = X.reshape(R * X.shape[1], *X.shape[2:])
        return flat.index_select(0, (idx + offs).reshape(-1)).view(R, b, *X.shape[2:])

    def target_rows(self, y: torch.Tensor) -> torch.Tensor:
        """Target vectors (R, n, O) for classes ``y`` (R, n)."""
        if self.shared:
            return self.targets[y]
        return torch.gather(self.targets, 1, y[:, :, None].expand(-1, -1, self.targets.shape[2]))

    def rows(self, X: torch.Tensor, y: torch.Tensor, sl: slice, nets: torch.Tensor):
        """A slice of rows of a whole set for networks ``nets``: (r, n, D), (r, n)."""
        if self.shared:
            xs = X[sl].unsqueeze(0).expand(len(nets), -1, -1)
            ys = y[sl].unsqueeze(0).expand(len(nets), -1)
        else:
            xs, ys = X[nets, sl], y[nets, sl]
        return xs, ys

    def targets_for(self, ys: torch.Tensor, nets: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return self.targets[ys]
        t = self.targets[nets]  # (r, C, O)
        return torch.gather(t, 1, ys[:, :, None].expand(-1, -1, t.shape[2]))
