"""Detector measures of the follow-up study (Gale et al., *Are there any 'object detectors' in the hidden layers of
CNNs trained to identify objects or scenes?*, Vision Research 2020), for each unit's precision class c.

A unit detects an example when the example's activation is at least a threshold t; t runs over the unit's distinct
activation values, so tied examples are detected together. With TP and FP the detected examples of class c and of
the other classes, and N_c, N_notc the sizes of class c and of the rest:

* hit rate TP/N_c, false-alarm rate FP/N_notc;
* ``max_informedness`` = max over t of (hit rate - false-alarm rate); never negative, since the lowest threshold
  detects everything (1 - 1 = 0);
* ``max_f1`` = max over t of 2TP/(TP + FP + N_c);
* ``recall_at_precision_1`` / ``recall_at_precision_95``: the largest hit rate among thresholds whose precision
  TP/(TP + FP) is >= 1.0 / >= 0.95 (compared in integers: 20 TP >= 19 (TP + FP)), 0 when there is none;
* dead units (constant activation) get NaN.

Every maximum is reached at a threshold equal to one of class c's activations: raising t to the next class-c value
keeps TP and can only lower FP. So only those thresholds are evaluated, from two things that add up over row
batches: class c's activations sorted, and for every activation how many class-c values lie at or below it (a
``searchsorted``), counted into a histogram. The streaming accumulator builds the same two in two more passes over
the rows (``SelectivityAccumulator.detector_pass``), so its numbers equal the in-memory ones exactly.
"""

from __future__ import annotations

import torch

__all__ = ["DETECTOR_COLUMNS", "class_values", "counts_at_or_above", "detector_measures", "ClassValueCollector"]

DETECTOR_COLUMNS = ("max_informedness", "max_f1", "recall_at_precision_1", "recall_at_precision_95")


def class_values(acts: torch.Tensor, rows_by_class: torch.Tensor, starts: torch.Tensor, counts: torch.Tensor,
                 cls: torch.Tensor) -> torch.Tensor:
    """Each unit's activations over the examples of its class ``cls[u]``, sorted ascending: a (U, M) tensor
    padded with +inf to M, the largest class size among the units' classes.

    ``rows_by_class`` are the row indices grouped by class (a stable argsort of the class indices); class i's
    rows start at ``starts[i]`` and number ``counts[i]`` (int64).
    """
    n_c = counts[cls]
    j = torch.arange(int(n_c.max()), device=acts.device)[:, None]
    rows = rows_by_class[(starts[cls][None, :] + j).clamp(max=acts.shape[0] - 1)]
    vals = torch.where(j < n_c[None, :], acts.gather(0, rows), torch.inf)
    return torch.sort(vals.T, dim=1).values.contiguous()


def counts_at_or_above(cvals: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
    """Histogram (U, M + 1), int64: for each unit, how many of the rows of ``acts`` (b, U) have exactly i of the
    unit's class-c values (``cvals``, sorted, +inf padded) at or below them. Adds up over row batches."""
    u, m = cvals.shape
    pos = torch.searchsorted(cvals, acts.T.contiguous(), right=True)
    ones = torch.ones((), dtype=torch.int64, device=cvals.device).expand_as(pos)
    return torch.zeros(u, m + 1, dtype=torch.int64, device=cvals.device).scatter_add_(1, pos, ones)


def detector_measures(cvals: torch.Tensor, hist: torch.Tensor, n_c: torch.Tensor, n: int,
                      dead: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four detector measures (U,) from the sorted class-c values, the ``counts_at_or_above`` histogram over
    all N = ``n`` examples, the class sizes ``n_c`` (int64) and the dead units (NaN)."""
    u, m = cvals.shape
    j = torch.arange(m, device=cvals.device)
    valid = j[None, :] < n_c[:, None]
    # examples with more than j class-c values at or below them are exactly those >= cvals[:, j]
    detected = hist.flip(1).cumsum(1).flip(1)[:, 1:]
    # tied class-c values are one threshold: TP counts the whole tie group from its first (lowest) place
    new_value = torch.ones_like(valid)
    new_value[:, 1:] = cvals[:, 1:] != cvals[:, :-1]
    first = torch.where(new_value, j[None, :], 0).cummax(1).values
    tp = n_c[:, None] - first
    fp = detected - tp
    tp_f, fp_f = tp.to(torch.float64), fp.to(torch.float64)
    nc_f = n_c.to(torch.float64)[:, None]
    hit = tp_f / nc_f
    informed = hit - fp_f / (n - nc_f)
    f1 = 2 * tp_f / (tp_f + fp_f + nc_f)
    neg = torch.tensor(-torch.inf, dtype=torch.float64, device=cvals.device)
    zero = torch.zeros((), dtype=torch.float64, device=cvals.device)
    out = {
        "max_informedness": torch.where(valid, informed, neg).max(1).values,
        "max_f1": torch.where(valid, f1, neg).max(1).values,
        "recall_at_precision_1": torch.where(valid & (fp == 0), hit, zero).max(1).values,
        "recall_at_precision_95": torch.where(valid & (20 * tp >= 19 * (tp + fp)), hit, zero).max(1).values,
    }
    return {key: torch.where(dead, torch.nan, v) for key, v in out.items()}


class ClassValueCollector:
    """The streaming half of the detector measures: gathers each unit's class-c activations from row batches (a
    first pass), then counts every row against them (a second pass). Used by ``SelectivityAccumulator``.

    ``cls`` (U,) are the units' class indices and ``counts`` (C,) the class sizes of the rows already seen; both
    passes must see those same rows again (any batching, any order), which is checked.
    """

    def __init__(self, cls: torch.Tensor, counts: torch.Tensor) -> None:
        self.cls, self.counts = cls, counts.to(torch.int64)
        self.n_c = self.counts[cls]
        self.n = int(self.counts.sum())
        u, dev = cls.numel(), cls.device
        self.cvals = torch.full((u, int(self.n_c.max())), torch.inf, dtype=torch.float64, device=dev)
        self.filled = torch.zeros(u, dtype=torch.int64, device=dev)
        self.seen = torch.zeros_like(self.counts)
        self.hist: torch.Tensor | None = None
        self.rows = 0

    def collect(self, acts: torch.Tensor, idx: torch.Tensor) -> None:
        """First pass: add a batch's class-c activations (``idx``: the rows' class indices)."""
        mask = idx[:, None] == self.cls[None, :]
        place = self.filled[None, :] + mask.cumsum(0) - 1
        r, c = torch.nonzero(mask, as_tuple=True)
        slots = place[r, c]
        if slots.numel() and bool((slots >= self.n_c[c]).any()):
            raise ValueError("the detector pass saw more examples of a class than the first pass did; "
                             "every pass must go over the same rows")
        self.cvals[c, slots] = acts[r, c]
        self.filled += mask.sum(0)
        self.seen += torch.bincount(idx, minlength=self.counts.numel())
        self.rows += acts.shape[0]

    def end_collect(self, mins: torch.Tensor, maxs: torch.Tensor) -> None:
        """Check that the first pass saw the rows of the table (counts per class, and class c's minimum and maximum
        per unit equal to ``mins``/``maxs`` (U,)), then sort the values for counting."""
        self._check_rows()
        self.cvals = torch.sort(self.cvals, dim=1).values
        top = self.cvals.gather(1, (self.n_c - 1)[:, None]).squeeze(1)
        if not (torch.equal(self.cvals[:, 0], mins) and torch.equal(top, maxs)):
            raise ValueError("the detector pass saw other activations than the first pass; every pass must go "
                             "over the same rows")
        self.hist = torch.zeros(self.cvals.shape[0], self.cvals.shape[1] + 1, dtype=torch.int64,
                                device=self.cvals.device)
        self.seen.zero_()
        self.rows = 0

    def count(self, acts: torch.Tensor, idx: torch.Tensor) -> None:
        """Second pass: count a batch's rows against the class-c values."""
        self.hist += counts_at_or_above(self.cvals, acts)
        self.seen += torch.bincount(idx, minlength=self.counts.numel())
        self.rows += acts.shape[0]

    def result(self, dead: torch.Tensor) -> dict[str, torch.Tensor]:
        """The detector measures after both passes."""
        self._check_rows()
        return detector_measures(self.cvals, self.hist, self.n_c, self.n, dead)

    def _check_rows(self) -> None:
        if self.rows != self.n or not torch.equal(self.seen, self.counts):
            raise ValueError(f"the detector pass saw {self.rows} rows but the first pass {self.n}, or other "
                             "classes; every pass must go over the same rows")
