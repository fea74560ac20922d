"""The streaming accumulator: ``unit_table`` and ``local_codes`` from row batches of a table too large for memory.

One pass, all units at once; the state is per-class statistics plus what precision@k and top-class selectivity
need, so results equal the in-memory measures (see ``SelectivityAccumulator``). The detector measures need the
precision class before they can look at the rows, so they take two more passes (``detector_pass``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator

import pandas as pd
import torch

from ..store import pick_device
from .detectors import ClassValueCollector
from .measures import (
    POOLINGS,
    ClassStats,
    as_labels,
    as_tensor,
    assemble_unit_table,
    ccmas_from_stats,
    check_min_gap,
    class_stats,
    dead_units,
    local_codes_from_stats,
    precision_from_counts,
    top_class_of,
)

__all__ = ["SelectivityAccumulator"]


class SelectivityAccumulator:
    """Streaming version of ``unit_table`` and ``local_codes``: feed (activations, labels) in row batches.

    One pass over a table too large for memory, all units at once, on ``device`` (default: CUDA when present).
    The state is small: per-class counts, sums, minima and maxima (C x U); for precision@k the examples above
    each unit's running k-th largest value with their labels plus per-class counts of the examples tied at it;
    for top-class selectivity the current top class's examples that lie above every other class (its "top
    cluster", never larger than that class). Results equal the in-memory functions: classes, counts, precision,
    top-class selectivity, local codes and the detector measures exactly; CCMAS up to float64 rounding of the
    class sums, which are added up in batch order.

    The detector measures (``max_informedness``, ``max_f1``, ``recall_at_precision_1``, ``recall_at_precision_95``)
    are computed for each unit's precision class, which is only known once every row has been seen; they need the
    rows twice more, through ``detector_pass``. Until it has run, ``unit_table`` leaves those four columns out
    rather than give numbers that are not exact.

    >>> acc = SelectivityAccumulator(k=100)
    >>> for a, y in batches:                       # doctest: +SKIP
    ...     acc.update(a, y)
    >>> acc.detector_pass(batches)                 # doctest: +SKIP  (batches re-iterable: read twice more)
    >>> table, codes = acc.unit_table(), acc.local_codes()   # doctest: +SKIP
    """

    def __init__(self, k: int = 100, pooling: str = "classes", device: torch.device | str | None = None) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be a positive integer; got {k!r}")
        self.k, self.pooling = int(k), pooling
        self.device = pick_device(None if device is None else str(device))
        self.n = 0
        self.n_units: int | None = None
        self.classes = torch.empty(0, dtype=torch.int64, device=self.device)
        self.detectors: dict[str, torch.Tensor] | None = None  # set by detector_pass, cleared by update

    # state tensors are created on the first batch, when the number of units is known
    def _init_state(self, u: int) -> None:
        f64 = dict(dtype=torch.float64, device=self.device)
        self.n_units = u
        self.counts = torch.zeros(0, **f64)
        self.sums = torch.zeros(0, u, **f64)
        self.mins = torch.zeros(0, u, **f64)
        self.maxs = torch.zeros(0, u, **f64)
        self.tied = torch.zeros(0, u, **f64)  # per class: examples equal to the running k-th value
        self.kth = torch.full((u,), -torch.inf, **f64)
        self.above = torch.full((self.k, u), -torch.inf, **f64)  # examples > kth, sorted, -inf pads
        self.above_idx = torch.full((self.k, u), -1, dtype=torch.int64, device=self.device)  # class indices
        self.run = torch.empty(0, u, **f64)  # the top class's examples above all other classes
        self.run_cls = torch.full((u,), -1, dtype=torch.int64, device=self.device)

    def _add_classes(self, classes: torch.Tensor) -> None:
        """Grow the per-class state to ``classes`` (the sorted union of the old classes and new ones)."""
        c_new = classes.numel() - self.classes.numel()
        if c_new == 0:
            return
        # where each old class and each new one lands in the sorted union
        new = classes[~torch.isin(classes, self.classes)]
        order = torch.argsort(torch.cat([self.classes, new]))
        u = self.n_units

        def grow(t: torch.Tensor, fill: float) -> torch.Tensor:
            pad = torch.full((c_new, *t.shape[1:]), fill, dtype=t.dtype, device=t.device)
            return torch.cat([t, pad])[order]

        self.classes = classes
        self.counts = grow(self.counts, 0.0)
        self.sums = grow(self.sums.reshape(-1, u), 0.0)
        self.mins = grow(self.mins.reshape(-1, u), torch.inf)
        self.maxs = grow(self.maxs.reshape(-1, u), -torch.inf)
        self.tied = grow(self.tied.reshape(-1, u), 0.0)
        # class indices held in the buffers move to the classes' new places
        new_place = torch.empty_like(order)
        new_place[order] = torch.arange(order.numel(), device=order.device)
        self.above_idx = torch.where(self.above_idx >= 0, new_place[self.above_idx.clamp(min=0)], -1)

    def update(self, acts, labels) -> SelectivityAccumulator:
        """Add a batch: ``acts`` (b, U) numpy/torch, ``labels`` (b,) integer class ids (bool: 0 and 1).

        Atomic: a batch that is refused (bad shape, labels, NaN or infinite values) changes nothing, so the
        results never count classes whose examples were not added. Returns ``self``.
        """
        a = as_tensor(acts, self.device)
        y = as_labels(labels, self.device)
        # everything is checked before any state changes
        if a.ndim != 2:
            raise ValueError(f"acts must be 2-D (examples x units); got shape {tuple(a.shape)}")
        if y.ndim != 1 or y.shape[0] != a.shape[0]:
            raise ValueError(
                f"labels must be 1-D with one label per row of acts: acts has {a.shape[0]} rows, "
                f"labels has shape {tuple(y.shape)}"
            )
        if self.n_units is None and a.shape[1] == 0:
            raise ValueError("acts has no units (0 columns)")
        if self.n_units is not None and a.shape[1] != self.n_units:
            raise ValueError(f"every batch must have the same units: first had {self.n_units}, this has {a.shape[1]}")
        if y.dtype.is_floating_point and not torch.equal(y, y.round()):
            raise ValueError("labels must be integers (class ids)")
        y = y.to(torch.int64)
        classes = torch.unique(torch.cat([self.classes, y]))  # sorted
        idx = torch.searchsorted(classes, y)
        s = class_stats(a, idx, classes.numel())
        # NaN and infinities show in the batch's class minima/maxima (cheaper than scanning the batch again)
        seen = s.counts > 0
        if not (torch.isfinite(s.mins[seen]).all() and torch.isfinite(s.maxs[seen]).all()):
            raise ValueError("acts contains NaN or infinite values; clean the table before measuring selectivity")
        if self.n_units is None:
            self._init_state(a.shape[1])
        if a.shape[0] == 0:
            return self
        self._add_classes(classes)
        self.detectors = None  # computed for other rows
        self.n += a.shape[0]
        self.counts += s.counts
        self.sums += s.sums
        torch.minimum(self.mins, s.mins, out=self.mins)
        torch.maximum(self.maxs, s.maxs, out=self.maxs)
        self._update_precision(a, y, idx)
        self._update_run(a, idx, s.maxs)
        return self

    def _update_precision(self, a: torch.Tensor, y: torch.Tensor, idx: torch.Tensor) -> None:
        k = self.k
        # the batch's own top k, then merged with the examples above the old k-th value (2k rows at most)
        bt = torch.topk(a, min(k, a.shape[0]), dim=0)
        vals = torch.cat([self.above, bt.values])
        cls = torch.cat([self.above_idx, idx[bt.indices]])
        top = torch.topk(vals, k, dim=0)
        top_cls = cls.gather(0, top.indices)
        # the new k-th largest value: the k-th of the old "above" set and the batch, unless fewer than k of them
        # exceed the old k-th value, which then stays (its tied examples fill the remaining places)
        kth = torch.maximum(top.values[-1], self.kth)
        stays = kth == self.kth
        # examples tied at the new k-th value: counted among the top k, or, where the k-th place itself holds
        # the tied value (equal values may continue past it), among all of "above" and the batch
        eq = (top.values == kth[None, :]) & (top_cls >= 0)
        tied = torch.zeros_like(self.tied).scatter_add_(0, top_cls.clamp(min=0), eq.to(torch.float64))
        full = torch.nonzero(top.values[-1] == kth).squeeze(1)
        if full.numel():
            kf = kth[full][None, :]
            t_full = torch.zeros(self.tied.shape[0], full.numel(), dtype=torch.float64, device=self.device)
            t_full.index_add_(0, idx, (a[:, full] == kf).to(torch.float64))
            ab, ab_idx = self.above[:, full], self.above_idx[:, full]
            t_full.scatter_add_(0, ab_idx.clamp(min=0), ((ab == kf) & (ab_idx >= 0)).to(torch.float64))
            tied[:, full] = t_full
        self.tied = tied + torch.where(stays[None, :], self.tied, 0.0)
        self.kth = kth
        keep = top.values > kth[None, :]
        self.above = torch.where(keep, top.values, -torch.inf)
        self.above_idx = torch.where(keep, top_cls, -1)

    def _update_run(self, a: torch.Tensor, idx: torch.Tensor, batch_maxs: torch.Tensor) -> None:
        u = self.n_units
        if self.classes.numel() < 2:  # every example is above "all other classes" while there are none
            threshold = torch.full((u,), -torch.inf, dtype=torch.float64, device=self.device)
            top_idx = torch.zeros(u, dtype=torch.int64, device=self.device)
        else:
            top_idx, threshold = top_class_of(self.maxs)
        top_lab = self.classes[top_idx]
        # old cluster members stay if the top class did not change and they are still above the others;
        # a new top class cannot have earlier members above the old top class's maximum
        old = (self.run > threshold[None, :]) & (self.run_cls == top_lab)[None, :]
        parts = [torch.where(old, self.run, -torch.inf)]
        n_keep = old.sum(0)
        # new members: only units whose batch maximum of the top class clears the threshold can have any
        cols = torch.nonzero(batch_maxs.gather(0, top_idx[None]).squeeze(0) > threshold).squeeze(1)
        if cols.numel():
            block = a[:, cols]
            new = (block > threshold[None, cols]) & (idx[:, None] == top_idx[None, cols])
            n_new = new.sum(0)
            n_keep[cols] += n_new
            vals = torch.full((int(n_new.max()), u), -torch.inf, dtype=torch.float64, device=self.device)
            vals[:, cols] = torch.topk(torch.where(new, block, -torch.inf), vals.shape[0], dim=0).values
            parts.append(vals)
        self.run = torch.topk(torch.cat(parts), int(n_keep.max()), dim=0).values
        self.run_cls = top_lab

    def stats(self) -> ClassStats:
        """The per-class statistics so far (class indices into ``self.classes``)."""
        self._check_ready()
        st = ClassStats(self.classes, self.counts, self.sums, self.mins, self.maxs)
        return st

    def _check_ready(self, k: int | None = None) -> None:
        if self.n_units is None or self.n == 0:
            raise ValueError("no activations were added; call update() with at least one batch first")
        if self.classes.numel() < 2:
            raise ValueError(f"selectivity needs at least two classes; labels contain {self.classes.numel()}")
        if k is not None and k > self.n:
            raise ValueError(f"k must be between 1 and the number of examples ({self.n}); got k={k}")

    def _precision(self) -> tuple[torch.Tensor, torch.Tensor]:
        greater = torch.zeros_like(self.tied).scatter_add_(0, self.above_idx.clamp(min=0),
                                                            (self.above_idx >= 0).to(torch.float64))
        return precision_from_counts(greater, self.tied, self.k)

    def _batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """A detector-pass batch on the device with its class indices; labels the first pass never saw are refused."""
        acts, labels = batch
        a = as_tensor(acts, self.device)
        y = as_labels(labels, self.device)
        if a.ndim != 2 or a.shape[1] != self.n_units or y.shape != (a.shape[0],):
            raise ValueError(f"a detector-pass batch must be (rows, {self.n_units}) with one label per row; got "
                             f"acts {tuple(a.shape)}, labels {tuple(y.shape)}")
        if y.dtype.is_floating_point and not torch.equal(y, y.round()):
            raise ValueError("labels must be integers (class ids)")
        y = y.to(torch.int64)
        idx = torch.searchsorted(self.classes, y).clamp(max=self.classes.numel() - 1)
        if not torch.equal(self.classes[idx], y):
            raise ValueError("the detector pass saw labels the first pass did not; every pass must go over the same "
                             "rows")
        return a, idx

    def detector_pass(self, batches: Iterable | Callable[[], Iterable]) -> SelectivityAccumulator:
        """Compute the detector measures exactly with two more passes over the same rows, after ``update``.

        ``batches`` yields (acts, labels) pairs like ``update`` took (any batching and order, but the same rows)
        and is iterated twice: pass a re-iterable (a list, a ``DataLoader``) or a function returning a fresh
        iterator each time; a one-shot iterator is refused. The first pass gathers each unit's activations of its
        precision class, the second counts every row against them. A pass that sees other rows (counts per class,
        or the precision class's minimum and maximum, differ) raises ``ValueError``. Memory: the class-c values,
        U x the largest class size. Returns ``self``; ``unit_table`` then includes the four detector columns.
        """
        self._check_ready(self.k)
        make = batches if callable(batches) else (lambda: batches)
        if isinstance(batches, Iterator):
            raise ValueError("batches must be re-iterable (a list, a DataLoader) or a function returning a fresh "
                             "iterator: the detector pass reads the rows twice")
        prec_cls, _ = self._precision()
        collector = ClassValueCollector(prec_cls, self.counts)
        for batch in make():
            collector.collect(*self._batch(batch))
        pick = prec_cls[None, :]
        collector.end_collect(self.mins.gather(0, pick).squeeze(0), self.maxs.gather(0, pick).squeeze(0))
        for batch in make():
            collector.count(*self._batch(batch))
        self.detectors = collector.result(dead_units(self.stats()))
        return self

    def unit_table(self) -> pd.DataFrame:
        """The same table as ``unit_table(all rows, all labels, k, pooling)``; the four detector columns only after
        ``detector_pass`` (they need two more passes over the rows)."""
        self._check_ready(self.k)
        stats = self.stats()
        cc = ccmas_from_stats(stats, self.pooling)
        top_idx, _ = top_class_of(self.maxs)
        tcs = (self.run > -torch.inf).sum(0).to(torch.float64) / self.counts[top_idx]
        prec_cls, prec = self._precision()
        return assemble_unit_table(self.classes, top_idx, tcs, prec_cls, prec, cc, self.detectors)

    def local_codes(self, min_gap: float = 0.0) -> pd.DataFrame:
        """The same local codes as ``local_codes(all rows, all labels, min_gap)``."""
        min_gap = check_min_gap(min_gap)
        self._check_ready()
        return local_codes_from_stats(self.stats(), min_gap)
