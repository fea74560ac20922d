"""Selectivity measures for every unit of an activation matrix at once.

Definitions follow SPEC.md (and the book's Methods page):

* local code (unit u, class c): class c's activations are disjoint from all others' (strict);
  ``on`` if they lie above, ``off`` if below; ``gap`` is the distance between the two sets;
* top-class selectivity (TCS): c is the class of the most active example; TCS is the share of class c's
  examples more active than every example of every other class;
* precision@k: the most frequent class among the k most active examples and its share, ties at the k-th
  value shared out in proportion to the tied examples' classes;
* CCMAS: (mu_c - mu_rest) / (mu_c + mu_rest) for the class with the highest mean; CCMAS_2 the same after
  dropping that class. A zero denominator gives NaN (a dead unit).

Everything is computed with torch on the device the activations live on (numpy input is used on the CPU),
in float64, so results do not depend on the device's default precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

__all__ = [
    "ClassStats",
    "as_tensor",
    "check_table",
    "class_stats",
    "local_codes",
    "local_codes_from_stats",
    "ccmas_from_stats",
    "precision_from_counts",
    "unit_table",
    "SelectivityAccumulator",
    "layer_means",
    "threshold_shares",
    "extreme_units",
    "class_agreement",
    "fit_exponential_vs_normal",
    "PAPER001_TABLE1",
    "PAPER001_TABLE_A2",
    "PAPER001_AGREEMENT",
]

POOLINGS = ("classes", "images")


def as_tensor(acts, device: torch.device | str | None = None) -> torch.Tensor:
    """Activations as a float64 tensor (numpy arrays go to the CPU unless ``device`` says otherwise)."""
    t = acts if isinstance(acts, torch.Tensor) else torch.as_tensor(np.asarray(acts))
    if device is not None:
        t = t.to(device)
    return t.to(torch.float64)


def check_table(acts: torch.Tensor, labels: torch.Tensor, k: int | None = None) -> None:
    """Raise ``ValueError`` with a clear message for tables the measures cannot be computed on."""
    if acts.ndim != 2:
        raise ValueError(f"acts must be 2-D (examples x units); got shape {tuple(acts.shape)}")
    if labels.ndim != 1 or labels.shape[0] != acts.shape[0]:
        raise ValueError(
            f"labels must be 1-D with one label per row of acts: acts has {acts.shape[0]} rows, "
            f"labels has shape {tuple(labels.shape)}"
        )
    if acts.shape[1] == 0:
        raise ValueError("acts has no units (0 columns)")
    if not torch.isfinite(acts).all():
        raise ValueError("acts contains NaN or infinite values; clean the table before measuring selectivity")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        if not torch.equal(labels, labels.round()):
            raise ValueError("labels must be integers (class ids)")
    n_classes = torch.unique(labels).numel()
    if n_classes < 2:
        raise ValueError(f"selectivity needs at least two classes; labels contain {n_classes}")
    if k is not None and not 1 <= k <= acts.shape[0]:
        raise ValueError(f"k must be between 1 and the number of examples ({acts.shape[0]}); got k={k}")


@dataclass
class ClassStats:
    """Per-class sufficient statistics of a table: what CCMAS and local codes need.

    All tensors are (C, U) except ``counts`` (C,). ``classes`` holds the original class ids, sorted.
    """

    classes: torch.Tensor
    counts: torch.Tensor
    sums: torch.Tensor
    mins: torch.Tensor
    maxs: torch.Tensor


def _class_index(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    classes, idx = torch.unique(labels.to(torch.int64), sorted=True, return_inverse=True)
    return classes, idx


def class_stats(acts: torch.Tensor, idx: torch.Tensor, n_classes: int) -> ClassStats:
    """Per-class count, sum, min and max of every unit (``idx`` are class indices 0..C-1)."""
    n, u = acts.shape
    dev = acts.device
    counts = torch.zeros(n_classes, dtype=torch.float64, device=dev).index_add_(
        0, idx, torch.ones(n, dtype=torch.float64, device=dev)
    )
    sums = torch.zeros(n_classes, u, dtype=torch.float64, device=dev).index_add_(0, idx, acts)
    expand = idx[:, None].expand(n, u)
    mins = torch.full((n_classes, u), torch.inf, dtype=torch.float64, device=dev).scatter_reduce_(
        0, expand, acts, reduce="amin"
    )
    maxs = torch.full((n_classes, u), -torch.inf, dtype=torch.float64, device=dev).scatter_reduce_(
        0, expand, acts, reduce="amax"
    )
    return ClassStats(torch.arange(n_classes, device=dev), counts, sums, mins, maxs)


def _others_extreme(values: torch.Tensor, largest: bool) -> torch.Tensor:
    """For each class c (row), the max (or min) of the other rows: uses the top two along classes."""
    top2 = torch.topk(values, 2, dim=0, largest=largest).values
    first = top2[0:1].expand_as(values)
    is_first = values == first
    # if c holds the extreme, the others' extreme is the runner-up (equal to it when two classes tie)
    return torch.where(is_first, top2[1:2].expand_as(values), first)


def local_codes_from_stats(stats: ClassStats, min_gap: float = 0.0) -> pd.DataFrame:
    """Local codes from per-class min/max: rows ``unit, cls, kind, gap`` (gap strictly > ``min_gap``)."""
    max_other = _others_extreme(stats.maxs, largest=True)
    min_other = _others_extreme(stats.mins, largest=False)
    on_gap = stats.mins - max_other
    off_gap = min_other - stats.maxs
    present = stats.counts[:, None] > 0
    rows = []
    for kind, gap in (("on", on_gap), ("off", off_gap)):
        hit = (gap > 0) & (gap > min_gap) & present
        c_idx, units = torch.nonzero(hit, as_tuple=True)
        rows.append(
            pd.DataFrame(
                {
                    "unit": units.cpu().numpy().astype(np.int64),
                    "cls": stats.classes[c_idx].cpu().numpy().astype(np.int64),
                    "kind": kind,
                    "gap": gap[c_idx, units].cpu().numpy(),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["unit", "kind", "cls"], ignore_index=True)


def local_codes(acts, labels, min_gap: float = 0.0) -> pd.DataFrame:
    """One row per (unit, class) local code: columns ``unit, cls, kind ('on'|'off'), gap``.

    Strict: tied activations across the class boundary are not local codes.
    """
    a = as_tensor(acts)
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).to(a.device)
    check_table(a, y)
    if min_gap < 0:
        raise ValueError(f"min_gap must be >= 0; got {min_gap}")
    classes, idx = _class_index(y)
    stats = class_stats(a, idx, len(classes))
    stats.classes = classes
    return local_codes_from_stats(stats, min_gap)


def _ccmas_for(means: torch.Tensor, top: torch.Tensor, rest_mean: torch.Tensor) -> torch.Tensor:
    mu_c = means.gather(0, top[None]).squeeze(0)
    den = mu_c + rest_mean
    return torch.where(den != 0, (mu_c - rest_mean) / torch.where(den != 0, den, 1.0), torch.nan)


def ccmas_from_stats(stats: ClassStats, pooling: str = "classes") -> dict[str, torch.Tensor]:
    """CCMAS, CCMAS_2 and the min-max normalised CCMAS from per-class statistics (class indices returned)."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    counts, sums = stats.counts, stats.sums
    c, u = sums.shape
    present = counts > 0
    means = sums / counts.clamp(min=1)[:, None]
    neg = torch.tensor(-torch.inf, dtype=means.dtype, device=means.device)
    ranked = torch.where(present[:, None], means, neg)
    order = torch.argsort(-ranked, dim=0, stable=True)  # stable: ties go to the smaller class id
    top, second = order[0], order[1]
    n_present = int(present.sum())
    total_sum, total_n = sums.sum(0), counts.sum()
    sum_means = torch.where(present[:, None], means, 0).sum(0)

    def rest(excluded: list[torch.Tensor], n_classes_left: int) -> torch.Tensor:
        if pooling == "classes":
            s = sum_means - sum(means.gather(0, e[None]).squeeze(0) for e in excluded)
            return s / max(n_classes_left, 1)
        s = total_sum - sum(sums.gather(0, e[None]).squeeze(0) for e in excluded)
        n = total_n - sum(counts[e] for e in excluded)
        return s / n.clamp(min=1)

    ccmas = _ccmas_for(means, top, rest([top], n_present - 1))
    if n_present >= 3:
        ccmas2 = _ccmas_for(means, second, rest([top, second], n_present - 2))
    else:
        ccmas2 = torch.full((u,), torch.nan, dtype=means.dtype, device=means.device)
    # min-max normalisation per unit shifts every mean by the unit's minimum; the range cancels
    unit_min = torch.where(present[:, None], stats.mins, torch.inf).min(0).values
    mu_c = means.gather(0, top[None]).squeeze(0)
    r = rest([top], n_present - 1)
    den = mu_c + r - 2 * unit_min
    ccmas_mm = torch.where(den != 0, (mu_c - r) / torch.where(den != 0, den, 1.0), torch.nan)
    return {"ccmas_idx": top, "ccmas": ccmas, "ccmas2_idx": second, "ccmas2": ccmas2, "ccmas_minmax": ccmas_mm}


def precision_from_counts(greater: torch.Tensor, tied: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision@k from per-class counts of examples above / equal to each unit's k-th value (C, U).

    The ``k - sum(greater)`` remaining slots are shared out in proportion to the tied examples' classes.
    """
    n_greater = greater.sum(0)
    n_tied = tied.sum(0)
    slots = k - n_greater
    expected = greater + tied * (slots / n_tied.clamp(min=1))[None, :]
    best, cls = expected.max(0)  # first maximum: ties go to the smaller class id
    return cls, best / k


def _unit_chunks(u: int, n: int, budget: int = 2**26):
    """Column blocks so that an (N x block) temporary stays around ``budget`` elements."""
    step = max(1, budget // max(n, 1))
    for start in range(0, u, step):
        yield slice(start, min(u, start + step))


def unit_table(acts, labels, k: int = 100, pooling: str = "classes") -> pd.DataFrame:
    """Selectivity of every unit: top-class selectivity, precision@k, CCMAS and CCMAS_2.

    Parameters
    ----------
    acts : (N, U) numpy array or torch tensor (any device)
    labels : (N,) integer class ids
    k : number of most active examples for precision (paper 001 uses 100; Zhou et al. 60)
    pooling : ``"classes"`` (mu_rest = mean of the other classes' means, Morcos et al.) or
        ``"images"`` (mu_rest = mean of all other examples, paper 001's code)

    Returns a DataFrame indexed by unit with columns ``top_class, top_class_selectivity, precision_class,
    precision, ccmas_class, ccmas, ccmas2_class, ccmas2, ccmas_minmax``. Class columns hold original labels.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    a = as_tensor(acts)
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).to(a.device)
    check_table(a, y, k)
    classes, idx = _class_index(y)
    n, u = a.shape
    c = len(classes)
    stats = class_stats(a, idx, c)
    cc = ccmas_from_stats(stats, pooling)

    top_idx, max_other = _top_class(stats.maxs)

    tcs_count = torch.empty(u, dtype=torch.float64, device=a.device)
    prec_cls = torch.empty(u, dtype=torch.int64, device=a.device)
    prec = torch.empty(u, dtype=torch.float64, device=a.device)
    for sl in _unit_chunks(u, n):
        block = a[:, sl]
        in_top = idx[:, None] == top_idx[None, sl]
        tcs_count[sl] = (in_top & (block > max_other[None, sl])).sum(0).to(torch.float64)
        kth = torch.topk(block, k, dim=0).values[-1]
        greater = torch.zeros(c, block.shape[1], dtype=torch.float64, device=a.device).index_add_(
            0, idx, (block > kth[None, :]).to(torch.float64)
        )
        tied = torch.zeros_like(greater).index_add_(0, idx, (block == kth[None, :]).to(torch.float64))
        prec_cls[sl], prec[sl] = precision_from_counts(greater, tied, k)
    tcs = tcs_count / stats.counts[top_idx]
    return _assemble(classes, top_idx, tcs, prec_cls, prec, cc)


def _top_class(maxs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Top class index per unit (the class of the most active example; the smallest class id among tied maxima)
    and the largest activation of every other class."""
    unit_max = maxs.max(0).values
    top_idx = torch.argmax((maxs == unit_max[None, :]).to(torch.int8), dim=0)
    max_other = _others_extreme(maxs, largest=True).gather(0, top_idx[None]).squeeze(0)
    return top_idx, max_other


def _assemble(classes, top_idx, tcs, prec_cls, prec, cc) -> pd.DataFrame:
    def lab(i: torch.Tensor) -> np.ndarray:
        return classes[i].cpu().numpy().astype(np.int64)

    table = pd.DataFrame(
        {
            "top_class": lab(top_idx),
            "top_class_selectivity": tcs.cpu().numpy(),
            "precision_class": lab(prec_cls),
            "precision": prec.cpu().numpy(),
            "ccmas_class": lab(cc["ccmas_idx"]),
            "ccmas": cc["ccmas"].cpu().numpy(),
            "ccmas2_class": lab(cc["ccmas2_idx"]),
            "ccmas2": cc["ccmas2"].cpu().numpy(),
            "ccmas_minmax": cc["ccmas_minmax"].cpu().numpy(),
        }
    )
    table.index.name = "unit"
    return table


# --- streaming ------------------------------------------------------------------------------------------------


class SelectivityAccumulator:
    """Streaming version of ``unit_table`` and ``local_codes``: feed (activations, labels) in row batches.

    One pass over a table too large for memory, all units at once, on ``device`` (default: CUDA when present).
    The state is small: per-class counts, sums, minima and maxima (C x U); for precision@k the examples above
    each unit's running k-th largest value with their labels plus per-class counts of the examples tied at it;
    for top-class selectivity the current top class's examples that lie above every other class (its "top
    cluster", never larger than that class). Results equal the in-memory functions: classes, counts, precision,
    top-class selectivity and local codes exactly; CCMAS up to float64 rounding of the class sums, which are
    added up in batch order.

    >>> acc = SelectivityAccumulator(k=100)
    >>> for a, y in batches:                       # doctest: +SKIP
    ...     acc.update(a, y)
    >>> table, codes = acc.unit_table(), acc.local_codes()   # doctest: +SKIP
    """

    def __init__(self, k: int = 100, pooling: str = "classes", device: torch.device | str | None = None) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer; got {k}")
        from ..store import pick_device

        self.k, self.pooling = int(k), pooling
        self.device = pick_device(None if device is None else str(device))
        self.n = 0
        self.n_units: int | None = None
        self.classes = torch.empty(0, dtype=torch.int64, device=self.device)

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

    def _add_classes(self, labels: torch.Tensor) -> None:
        new = torch.unique(labels)
        new = new[~torch.isin(new, self.classes)]
        if new.numel() == 0:
            return
        classes, order = torch.sort(torch.cat([self.classes, new]))
        u, c_new = self.n_units, new.numel()

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
        """Add a batch: ``acts`` (b, U) numpy/torch, ``labels`` (b,) integer class ids. Returns ``self``."""
        a = as_tensor(acts, self.device)
        y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).to(self.device)
        if a.ndim != 2:
            raise ValueError(f"acts must be 2-D (examples x units); got shape {tuple(a.shape)}")
        if y.ndim != 1 or y.shape[0] != a.shape[0]:
            raise ValueError(
                f"labels must be 1-D with one label per row of acts: acts has {a.shape[0]} rows, "
                f"labels has shape {tuple(y.shape)}"
            )
        if self.n_units is None:
            if a.shape[1] == 0:
                raise ValueError("acts has no units (0 columns)")
            self._init_state(a.shape[1])
        elif a.shape[1] != self.n_units:
            raise ValueError(f"every batch must have the same units: first had {self.n_units}, this has {a.shape[1]}")
        if a.shape[0] == 0:
            return self
        if y.dtype.is_floating_point and not torch.equal(y, y.round()):
            raise ValueError("labels must be integers (class ids)")
        y = y.to(torch.int64)
        self._add_classes(y)
        idx = torch.searchsorted(self.classes, y)
        c = self.classes.numel()
        s = class_stats(a, idx, c)
        # NaN and infinities show in the batch's class minima/maxima (cheaper than scanning the batch again)
        seen = s.counts > 0
        if not (torch.isfinite(s.mins[seen]).all() and torch.isfinite(s.maxs[seen]).all()):
            raise ValueError("acts contains NaN or infinite values; clean the table before measuring selectivity")
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
            top_idx, threshold = _top_class(self.maxs)
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

    def unit_table(self) -> pd.DataFrame:
        """The same table as ``unit_table(all rows, all labels, k, pooling)``."""
        self._check_ready(self.k)
        stats = self.stats()
        cc = ccmas_from_stats(stats, self.pooling)
        top_idx, _ = _top_class(self.maxs)
        tcs = (self.run > -torch.inf).sum(0).to(torch.float64) / self.counts[top_idx]
        greater = torch.zeros_like(self.tied).scatter_add_(0, self.above_idx.clamp(min=0),
                                                            (self.above_idx >= 0).to(torch.float64))
        prec_cls, prec = precision_from_counts(greater, self.tied, self.k)
        return _assemble(self.classes, top_idx, tcs, prec_cls, prec, cc)

    def local_codes(self, min_gap: float = 0.0) -> pd.DataFrame:
        """The same local codes as ``local_codes(all rows, all labels, min_gap)``."""
        self._check_ready()
        if min_gap < 0:
            raise ValueError(f"min_gap must be >= 0; got {min_gap}")
        return local_codes_from_stats(self.stats(), min_gap)


# --- summaries across layers (paper 001's tables) -------------------------------------------------------------

# Paper 001, Table 1: % of units over thresholds (AlexNet, 721,536 correctly classified ImageNet images)
PAPER001_TABLE1 = pd.DataFrame(
    {
        "precision > 50%": [99.7, 75.4, 4.5, 3.0, 4.7],
        "precision > 75%": [99.6, 32.8, 0.3, 0.1, 0.0],
        "CCMAS > 0.7": [100.0, 99.9, 99.9, 99.7, 3.4],
        "CCMAS > 0.8": [100.0, 97.2, 92.1, 86.7, 0.0],
        "CCMAS > 0.9": [100.0, 84.5, 5.0, 6.7, 0.0],
        "TCS > 5%": [100.0, 23.6, 0.1, 0.0, 0.0],
    },
    index=pd.Index(["prob", "fc8", "fc7", "fc6", "conv5"], name="layer"),
)
# Paper 001, Table A2: layer means (CCMASN is their normalised CCMAS; precision and TCS in %)
PAPER001_TABLE_A2 = pd.DataFrame(
    {
        "ccmas": [0.999309, 0.995644, 0.847799, 0.8439226, 0.491029],
        "ccmas_minmax": [0.984169, 1.002905, 0.830854, 0.821118, 0.464662],
        "precision": [99.7, 70.1, 15.4, 12.1, 9.6],
        "top_cluster_size": [592.5, 108.4, 20.3, 17.4, 17.3],
        "top_class_selectivity": [82.1, 5.1, 0.23, 0.19, 0.17],
    },
    index=pd.Index(["prob", "fc8", "fc7", "fc6", "conv5"], name="layer"),
)
# Paper 001 §3.2: % of units whose top class and CCMAS class are the same (chance 0.1% with 1000 classes)
PAPER001_AGREEMENT = pd.Series({"conv5": 0.0, "fc6": 9.8, "fc8": 83.5}, name="TCS class = CCMAS class (%)")


def _counts_of(labels) -> pd.Series:
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    return pd.Series(np.bincount(y - y.min()), index=np.arange(y.min(), y.max() + 1))


def _with_cluster(table: pd.DataFrame, class_counts: pd.Series | None) -> pd.DataFrame:
    t = table.copy()
    if class_counts is not None:  # top cluster size = TCS x number of (correct) examples of the top class
        t["top_cluster_size"] = np.rint(t["top_class_selectivity"] * class_counts.reindex(t["top_class"]).values)
    return t


def layer_means(tables: dict[str, pd.DataFrame], labels=None) -> pd.DataFrame:
    """Paper 001's Table A2: per layer the mean CCMAS, min-max CCMAS, precision (%), top cluster size (needs
    ``labels``) and top-class selectivity (%); dead units (NaN CCMAS) are left out of the CCMAS means and counted."""
    counts = None if labels is None else _counts_of(labels)
    rows = {}
    for layer, table in tables.items():
        t = _with_cluster(table, counts)
        row = {
            "units": len(t),
            "dead units": int(t["ccmas"].isna().sum()),
            "ccmas": t["ccmas"].mean(),
            "ccmas_minmax": t["ccmas_minmax"].mean(),
            "precision": 100 * t["precision"].mean(),
            "top_class_selectivity": 100 * t["top_class_selectivity"].mean(),
        }
        if "top_cluster_size" in t:
            row["top_cluster_size"] = t["top_cluster_size"].mean()
        rows[layer] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def threshold_shares(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Paper 001's Table 1: % of each layer's units with precision > 50% / 75%, CCMAS > 0.7 / 0.8 / 0.9 and
    top-class selectivity > 5% (dead units count as not over any threshold)."""
    rows = {}
    for layer, t in tables.items():
        rows[layer] = {
            "precision > 50%": 100 * (t["precision"] > 0.5).mean(),
            "precision > 75%": 100 * (t["precision"] > 0.75).mean(),
            "CCMAS > 0.7": 100 * (t["ccmas"] > 0.7).mean(),
            "CCMAS > 0.8": 100 * (t["ccmas"] > 0.8).mean(),
            "CCMAS > 0.9": 100 * (t["ccmas"] > 0.9).mean(),
            "TCS > 5%": 100 * (t["top_class_selectivity"] > 0.05).mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def extreme_units(tables: dict[str, pd.DataFrame], labels=None) -> pd.DataFrame:
    """Paper 001's Table A1: per layer the unit with the highest CCMAS, precision and top-class selectivity
    (ties: the lowest unit number), with all its measures; ``name`` is ``layer.unit``."""
    counts = None if labels is None else _counts_of(labels)
    rows = []
    for criterion, col in (("top CCMAS", "ccmas"), ("top precision", "precision"),
                           ("top class selectivity", "top_class_selectivity")):
        for layer, table in tables.items():
            t = _with_cluster(table, counts)
            if t[col].notna().sum() == 0:
                continue
            unit = int(t[col].idxmax())
            rows.append({"criterion": criterion, "layer": layer, "unit": unit, "name": f"{layer}.{unit}",
                         **t.loc[unit].to_dict()})
    return pd.DataFrame(rows)


def class_agreement(tables: dict[str, pd.DataFrame], n_classes: int | None = None) -> pd.DataFrame:
    """% of units whose measures pick the same class (top class vs CCMAS class, vs precision class, precision vs
    CCMAS class; dead units left out where CCMAS is involved), and the chance level 1/``n_classes`` in %."""
    rows = {}
    for layer, t in tables.items():
        live = t["ccmas"].notna()
        rows[layer] = {
            "TCS class = CCMAS class": 100 * (t["top_class"] == t["ccmas_class"])[live].mean(),
            "TCS class = precision class": 100 * (t["top_class"] == t["precision_class"]).mean(),
            "precision class = CCMAS class": 100 * (t["precision_class"] == t["ccmas_class"])[live].mean(),
        }
        if n_classes:
            rows[layer]["chance"] = 100 / n_classes
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def fit_exponential_vs_normal(values) -> pd.DataFrame:
    """Maximum-likelihood exponential and normal fits to ``values`` (paper 001, App. A3), compared by
    log-likelihood, AIC and the Kolmogorov-Smirnov statistic (scipy.stats). The exponential is fitted with its
    location at the smallest value (a shifted exponential, as for non-zero ReLU activations)."""
    from scipy import stats

    v = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values, dtype=np.float64).ravel()
    if v.size < 3:
        raise ValueError(f"values must hold at least 3 numbers to fit distributions; got {v.size}")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite entries")
    rows = {}
    for name, dist in (("exponential", stats.expon), ("normal", stats.norm)):
        params = dist.fit(v)
        loglik = float(np.sum(dist.logpdf(v, *params)))
        rows[name] = {
            "loc": params[0],
            "scale": params[1],
            "log_likelihood": loglik,
            "aic": 2 * len(params) - 2 * loglik,
            "ks_statistic": float(stats.kstest(v, dist.cdf, args=params).statistic),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fit")
