"""Detector measures (max informedness, max F1, recall at precision 1 and 0.95) for each unit's precision class:
hand-computed cases, a literal reference, and the same numbers from memory, the accumulator and HDF5 tables."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from localcodes.selectivity import SelectivityAccumulator, local_codes, unit_table
from localcodes.selectivity.detectors import DETECTOR_COLUMNS
from localcodes.selectivity.tables import FORMAT, measure_table

DET = list(DETECTOR_COLUMNS)
OLD_COLUMNS = ["top_class", "top_class_selectivity", "precision_class", "precision", "ccmas_class", "ccmas",
               "ccmas2_class", "ccmas2", "ccmas_minmax"]


def _reference(a: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The definitions read literally: every distinct value of the unit as a threshold, one unit at a time."""
    out = []
    for u, c in enumerate(classes):
        x, is_c = a[:, u], y == c
        n_c, n_not = is_c.sum(), (~is_c).sum()
        if x.min() == x.max():
            out.append([np.nan] * 4)
            continue
        best = [-np.inf, -np.inf, 0.0, 0.0]
        for t in np.unique(x):
            tp, fp = int((x >= t)[is_c].sum()), int((x >= t)[~is_c].sum())
            hit = tp / n_c
            best[0] = max(best[0], hit - fp / n_not)
            best[1] = max(best[1], 2 * tp / (tp + fp + n_c))
            if tp / (tp + fp) >= 1.0:
                best[2] = max(best[2], hit)
            if tp / (tp + fp) >= 0.95:
                best[3] = max(best[3], hit)
        out.append(best)
    return np.array(out)


def test_ties_are_one_threshold():
    # class 0 (the precision class, k=1 picks the 5): 5, 3, 3, 1; class 1: 4, 3, 0; class 2: 2, 0, 0
    # N_c = 4, N_notc = 6. Thresholds (TP, FP): 5 (1, 0), 4 (1, 1), 3 (3, 2), 2 (3, 3), 1 (4, 3), 0 (4, 6)
    # informedness: .25, .25 - 1/6, .75 - 2/6, .75 - 3/6, 1 - 3/6 = .5, 0          -> max .5 at t = 1
    # F1 2TP/(TP+FP+N_c): 2/5, 2/6, 6/9, 6/10, 8/11, 8/14                          -> max 8/11 at t = 1
    # precision 1 only at t = 5 (hit .25); >= .95 also only there                    -> .25 and .25
    # Splitting the tie at 3 (the two class-0 threes above the class-1 three) would give (3, 1): informedness
    # .75 - 1/6 = .583 and F1 6/8 = .75, both above the tied answers.
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    a = np.array([5, 3, 3, 1, 4, 3, 0, 2, 0, 0], dtype=float)
    t = unit_table(a[:, None], labels, k=1)
    assert t.loc[0, "precision_class"] == 0
    assert t.loc[0, "max_informedness"] == pytest.approx(0.5)
    assert t.loc[0, "max_f1"] == pytest.approx(8 / 11)
    assert t.loc[0, "recall_at_precision_1"] == pytest.approx(0.25)
    assert t.loc[0, "recall_at_precision_95"] == pytest.approx(0.25)


def test_precision_exactly_095_counts_and_recall_at_1_is_0_when_never_reached():
    # class 0 (25): 19 at 10, 6 at 0; class 1 (25): 1 at 10, 1 at 5, 23 at 0. k=20: the 20 examples tied at 10
    # fill the top 20 (19 of class 0): precision class 0.
    # Thresholds (TP, FP): 10 (19, 1), 5 (19, 2), 0 (25, 25)
    # precision: 19/20 = .95 exactly (counts as >= .95), 19/21, .5; never 1            -> r95 = 19/25, r1 = 0
    # informedness: .76 - .04 = .72, .76 - .08 = .68, 0                                  -> .72
    # F1: 38/45, 38/46, 50/75                                                            -> 38/45
    labels = np.repeat([0, 1], 25)
    a = np.zeros(50)
    a[:19] = 10
    a[25] = 10
    a[26] = 5
    t = unit_table(a[:, None], labels, k=20)
    assert t.loc[0, "precision_class"] == 0 and t.loc[0, "precision"] == pytest.approx(0.95)
    assert t.loc[0, "recall_at_precision_95"] == pytest.approx(19 / 25)
    assert t.loc[0, "recall_at_precision_1"] == 0.0
    assert t.loc[0, "max_informedness"] == pytest.approx(0.72)
    assert t.loc[0, "max_f1"] == pytest.approx(38 / 45)


def test_measured_for_the_precision_class_not_the_top_class():
    # class 0: 5, 5, 5; class 1: 9, 0, 0. The top class is 1 (the 9), but k=3 takes the 9 and two of the three
    # tied 5s: expected 2 of class 0, 1 of class 1 -> precision class 0 (2/3). For class 0 (N_c = N_notc = 3):
    # thresholds (TP, FP): 9 (0, 1), 5 (3, 1), 0 (3, 3)
    # informedness -1/3, 1 - 1/3 = 2/3, 0 -> 2/3; F1 0, 6/7, 6/9 -> 6/7; precision 0, .75, .5 -> r1 = r95 = 0
    labels = np.array([0, 0, 0, 1, 1, 1])
    a = np.array([5, 5, 5, 9, 0, 0], dtype=float)
    t = unit_table(a[:, None], labels, k=3)
    assert t.loc[0, "top_class"] == 1 and t.loc[0, "precision_class"] == 0
    assert t.loc[0, "max_informedness"] == pytest.approx(2 / 3)
    assert t.loc[0, "max_f1"] == pytest.approx(6 / 7)
    assert t.loc[0, "recall_at_precision_1"] == 0.0 and t.loc[0, "recall_at_precision_95"] == 0.0


def test_grandmother_unit_and_dead_units():
    # unit 0: class 2 at 1, everything else at 0 -> threshold 1 gives TP = N_c, FP = 0: every measure 1
    # unit 1: constant 0, unit 2: constant 2.5 (dead: one threshold, TP = N_c and FP = N_notc) -> NaN for all four
    # unit 3: class 2 at 1 but one class-0 example tied with it at 1: (TP, FP) = (5, 1) at 1, (5, 10) at 0:
    # informedness 1 - 1/10 = .9; F1 10/11; precision 5/6 < .95 -> r1 = r95 = 0
    labels = np.repeat([0, 1, 2], 5)
    a = np.zeros((15, 4))
    a[:, 0] = labels == 2
    a[:, 2] = 2.5
    a[:, 3] = labels == 2
    a[0, 3] = 1
    t = unit_table(a, labels, k=5)
    assert t.loc[0, DET].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert t.loc[[1, 2], DET].isna().all().all()
    assert t.loc[3, "precision_class"] == 2
    assert t.loc[3, "max_informedness"] == pytest.approx(0.9)
    assert t.loc[3, "max_f1"] == pytest.approx(10 / 11)
    assert t.loc[3, ["recall_at_precision_1", "recall_at_precision_95"]].tolist() == [0.0, 0.0]


def _table(seed: int, n_classes: int | None = None):
    """A random table with ties, zeros, negatives, a localist unit and a dead unit; dyadic values (exact in
    float32 and float64), class ids neither 0-based nor contiguous."""
    rng = np.random.default_rng(seed)
    n, u = int(rng.integers(60, 400)), int(rng.integers(3, 25))
    c = n_classes or int(rng.integers(2, 9))
    y = rng.integers(0, c, n) * 3 + 5
    a = np.round(rng.normal(0, 1, (n, u)) * 4) / 4
    a[rng.random((n, u)) < 0.4] = 0.0
    a[:, 0] = np.where(y == y[0], 2 + rng.integers(0, 9, n) / 8, rng.integers(0, 9, n) / 8)
    a[:, 1] = 0.0
    return a, y, int(rng.integers(1, min(n, 120)))


@pytest.mark.parametrize("seed", range(10))
def test_equal_to_the_definitions_read_literally(seed):
    a, y, k = _table(seed, n_classes=2 if seed == 0 else None)
    t = unit_table(a, y, k=k)
    np.testing.assert_allclose(t[DET].to_numpy(), _reference(a, y, t["precision_class"].to_numpy()),
                               rtol=0, atol=1e-12)
    assert t.loc[1, DET].isna().all() and t.drop(index=1)[DET].notna().all().all()
    assert (t[DET].drop(index=1) >= 0).all().all() and (t[DET].drop(index=1) <= 1).all().all()


def _batches(a, y, rng, max_batch=60):
    cuts = np.sort(rng.integers(0, len(y), int(rng.integers(1, 12))))
    edges = [0, *cuts.tolist(), len(y)]
    return [(a[i:j], y[i:j]) for i, j in zip(edges[:-1], edges[1:], strict=True)]  # empty batches included


def _write_table(path, a, y):
    """A one-layer activation table in the recorder's format (float32, tall chunks)."""
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": FORMAT, "layers": json.dumps(["layer"]), "modules": json.dumps({}),
                        "model": json.dumps({"architecture": "none"}), "source": json.dumps({"test": True}),
                        "batch_size": 8, "correct_only": True, "n_images": len(y), "images_done": len(y),
                        "n_rows": len(y), "n_correct": len(y), "complete": True})
        f.create_dataset("labels", data=y.astype(np.int64), chunks=(16,), fletcher32=True)
        f.create_group("acts").create_dataset("layer", data=a.astype(np.float32), chunks=(16, 4), fletcher32=True)


@pytest.mark.parametrize("seed", range(8))
def test_memory_accumulator_and_hdf5_table_agree_exactly(seed, tmp_path):
    a, y, k = _table(seed)
    rng = np.random.default_rng(seed + 50)
    ref = unit_table(a, y, k=k)
    acc = SelectivityAccumulator(k=k, device="cpu")
    for ab, yb in _batches(a, y, rng):
        acc.update(ab, yb)
    # the detector passes batch and order the rows differently from the first pass
    perm = rng.permutation(len(y))
    acc.detector_pass(_batches(a[perm], y[perm], rng))
    pd.testing.assert_frame_equal(acc.unit_table()[DET], ref[DET], check_exact=True)
    _write_table(tmp_path / "t.h5", a, y)
    got, codes = measure_table(tmp_path / "t.h5", k=k, batch_rows=int(rng.integers(1, 50)), progress=False)["layer"]
    pd.testing.assert_frame_equal(got[DET], ref[DET], check_exact=True)
    exact = [col for col in ref.columns if col not in ("ccmas", "ccmas2", "ccmas_minmax")]
    pd.testing.assert_frame_equal(got[exact], ref[exact], check_exact=True)  # dyadic values: exact sums too
    pd.testing.assert_frame_equal(codes, local_codes(a, y), check_exact=True)


def test_existing_columns_keep_their_order_and_values():
    a, y, k = _table(3)
    t = unit_table(a, y, k=k)
    assert list(t.columns) == OLD_COLUMNS + DET
    acc = SelectivityAccumulator(k=k, device="cpu").update(a, y)
    one_pass = acc.unit_table()  # without the detector pass: the old columns only, the same numbers
    assert list(one_pass.columns) == OLD_COLUMNS
    pd.testing.assert_frame_equal(one_pass, t[OLD_COLUMNS], check_exact=True)
    pd.testing.assert_frame_equal(unit_table(torch.from_numpy(a), torch.from_numpy(y), k=k), t, check_exact=True)
    pd.testing.assert_frame_equal(unit_table(a, y, k=k, detectors=False), t[OLD_COLUMNS], check_exact=True)


def test_measure_table_without_detectors_leaves_them_out(tmp_path):
    a, y, k = _table(5)
    _write_table(tmp_path / "t.h5", a, y)
    got, _ = measure_table(tmp_path / "t.h5", k=k, progress=False, detectors=False)["layer"]
    assert list(got.columns) == OLD_COLUMNS


def test_detector_pass_takes_a_function_and_refuses_one_shot_iterators_and_other_rows():
    a, y, k = _table(4)
    acc = SelectivityAccumulator(k=k, device="cpu").update(a, y)
    with pytest.raises(ValueError, match="re-iterable"):
        acc.detector_pass(iter([(a, y)]))
    with pytest.raises(ValueError, match="same rows"):
        acc.detector_pass([(a[:-1], y[:-1])])
    b = a.copy()
    cls = int(acc.unit_table().loc[0, "precision_class"])
    b[y == cls, 0] += 100  # the precision class's values changed: its maximum differs from the first pass
    with pytest.raises(ValueError, match="same rows"):
        acc.detector_pass([(b, y)])
    with pytest.raises(ValueError, match="labels the first pass did not"):
        acc.detector_pass([(a, np.where(np.arange(len(y)) == 0, 999, y))])
    assert list(acc.unit_table().columns) == OLD_COLUMNS  # refused passes leave no detector columns
    acc.detector_pass(lambda: iter([(a[:10], y[:10]), (a[10:], y[10:])]))
    pd.testing.assert_frame_equal(acc.unit_table(), unit_table(a, y, k=k), check_exact=True)
    acc.update(a[:3], y[:3])  # new rows: the detector columns no longer describe the table
    assert list(acc.unit_table().columns) == OLD_COLUMNS
