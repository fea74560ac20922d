"""Selectivity measures for every unit of an activation matrix at once.

The definitions (also on the book's Methods page):

* local code (unit u, class c): class c's activations are disjoint from all others' (strict);
  ``on`` if they lie above, ``off`` if below; ``gap`` is the distance between the two sets;
* top-class selectivity (TCS): c is the class of the most active example; TCS is the share of class c's
  examples more active than every example of every other class;
* precision@k: the most frequent class among the k most active examples and its share, ties at the k-th
  value shared out in proportion to the tied examples' classes;
* CCMAS: (mu_c - mu_rest) / (mu_c + mu_rest) for the class with the highest mean; CCMAS_2 the same after
  dropping that class. A zero denominator gives NaN (a dead unit);
* detector measures for the precision class (``max_informedness``, ``max_f1``, ``recall_at_precision_1``,
  ``recall_at_precision_95``; Gale et al. 2020, defined in ``detectors``), NaN for a unit of constant activation.

Everything is computed with torch on the device the activations live on (numpy input is used on the CPU),
in float64, so results do not depend on the device's default precision.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .detectors import DETECTOR_COLUMNS, class_values, counts_at_or_above, detector_measures

__all__ = [
    "ClassStats",
    "as_labels",
    "as_tensor",
    "check_min_gap",
    "check_table",
    "class_stats",
    "local_codes",
    "local_codes_from_stats",
    "ccmas_from_stats",
    "precision_from_counts",
    "top_class_of",
    "dead_units",
    "assemble_unit_table",
    "unit_table",
]

POOLINGS = ("classes", "images")


def as_tensor(acts, device: torch.device | str | None = None) -> torch.Tensor:
    """Activations as a float64 tensor (numpy arrays go to the CPU unless ``device`` says otherwise)."""
    t = acts if isinstance(acts, torch.Tensor) else torch.as_tensor(np.asarray(acts))
    if device is not None:
        t = t.to(device)
    return t.to(torch.float64)


def as_labels(labels, device: torch.device | str | None = None) -> torch.Tensor:
    """Labels as a tensor on ``device``; bool labels become the classes 0 (False) and 1 (True)."""
    y = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(np.asarray(labels))
    if device is not None:
        y = y.to(device)
    return y.to(torch.int64) if y.dtype == torch.bool else y


def check_min_gap(min_gap) -> float:
    """``min_gap`` as a float, or ``ValueError``: a NaN or infinite gap would silently give no local codes."""
    ok = isinstance(min_gap, numbers.Real) and not isinstance(min_gap, bool) and math.isfinite(min_gap)
    if not ok or min_gap < 0:
        raise ValueError(f"min_gap must be a finite number >= 0; got {min_gap!r}")
    return float(min_gap)


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
    if labels.dtype.is_floating_point and not torch.equal(labels, labels.round()):
        raise ValueError("labels must be integers (class ids)")
    n_classes = torch.unique(labels).numel()
    if n_classes < 2:
        raise ValueError(f"selectivity needs at least two classes; labels contain {n_classes}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= acts.shape[0]):
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
    min_gap = check_min_gap(min_gap)
    a = as_tensor(acts)
    y = as_labels(labels, a.device)
    check_table(a, y)
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


def dead_units(stats: ClassStats) -> torch.Tensor:
    """Units whose activation is the same for every example (U,) bool: the detector measures are NaN there."""
    present = stats.counts[:, None] > 0
    hi = torch.where(present, stats.maxs, -torch.inf).max(0).values
    lo = torch.where(present, stats.mins, torch.inf).min(0).values
    return hi == lo


def unit_table(acts, labels, k: int = 100, pooling: str = "classes", detectors: bool = True) -> pd.DataFrame:
    """Selectivity of every unit: top-class selectivity, precision@k, CCMAS, CCMAS_2 and the detector measures.

    Parameters
    ----------
    acts : (N, U) numpy array or torch tensor (any device)
    labels : (N,) integer class ids (bool labels are the classes 0 and 1)
    k : number of most active examples for precision (paper 001 uses 100; Zhou et al. 60)
    pooling : ``"classes"`` (mu_rest = mean of the other classes' means, Morcos et al.) or
        ``"images"`` (mu_rest = mean of all other examples, paper 001's code)
    detectors : ``False`` leaves the four detector columns out; they cost a ``searchsorted`` of every activation
        among its unit's precision-class activations, which on a CPU can take as long as all the other measures
        together, or twice as long

    Returns a DataFrame indexed by unit with columns ``top_class, top_class_selectivity, precision_class,
    precision, ccmas_class, ccmas, ccmas2_class, ccmas2, ccmas_minmax`` and, for the precision class, the detector
    measures of Gale et al. (2020) ``max_informedness, max_f1, recall_at_precision_1, recall_at_precision_95``
    (see ``localcodes.selectivity.detectors``; NaN for a unit of constant activation; left out with
    ``detectors=False``). Class columns hold original labels.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    a = as_tensor(acts)
    y = as_labels(labels, a.device)
    check_table(a, y, k)
    classes, idx = _class_index(y)
    n, u = a.shape
    c = len(classes)
    stats = class_stats(a, idx, c)
    cc = ccmas_from_stats(stats, pooling)

    top_idx, max_other = top_class_of(stats.maxs)
    dead = dead_units(stats)
    counts = stats.counts.to(torch.int64)
    rows_by_class = torch.argsort(idx, stable=True)
    starts = counts.cumsum(0) - counts

    tcs_count = torch.empty(u, dtype=torch.float64, device=a.device)
    prec_cls = torch.empty(u, dtype=torch.int64, device=a.device)
    prec = torch.empty(u, dtype=torch.float64, device=a.device)
    det = None
    if detectors:
        det = {key: torch.empty(u, dtype=torch.float64, device=a.device) for key in DETECTOR_COLUMNS}
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
        if det is None:
            continue
        cvals = class_values(block, rows_by_class, starts, counts, prec_cls[sl])
        hist = counts_at_or_above(cvals, block)
        for key, v in detector_measures(cvals, hist, counts[prec_cls[sl]], n, dead[sl]).items():
            det[key][sl] = v
    tcs = tcs_count / stats.counts[top_idx]
    return assemble_unit_table(classes, top_idx, tcs, prec_cls, prec, cc, det)


def top_class_of(maxs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From per-class maxima (C, U): the top class index per unit (the class of the most active example; the
    smallest class id among tied maxima) and the largest activation of every other class."""
    unit_max = maxs.max(0).values
    top_idx = torch.argmax((maxs == unit_max[None, :]).to(torch.int8), dim=0)
    max_other = _others_extreme(maxs, largest=True).gather(0, top_idx[None]).squeeze(0)
    return top_idx, max_other


def assemble_unit_table(classes, top_idx, tcs, prec_cls, prec, cc, det=None) -> pd.DataFrame:
    """The unit table from the measures' tensors (class indices mapped to the original labels ``classes``); the
    detector columns come last, when ``det`` holds them."""
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
            **{key: det[key].cpu().numpy() for key in DETECTOR_COLUMNS if det is not None},
        }
    )
    table.index.name = "unit"
    return table
