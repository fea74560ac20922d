"""The streaming accumulator gives the same tables as the in-memory measures, whatever the batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes.selectivity import SelectivityAccumulator, local_codes, unit_table

CCMAS_COLS = ["ccmas", "ccmas2", "ccmas_minmax"]


def _table(seed: int, dyadic: bool = True, sort_by_class: bool = False):
    """A random table with ties, zeros, negatives, a localist unit with a large top cluster and a dead unit."""
    rng = np.random.default_rng(seed)
    n, u, c = int(rng.integers(150, 500)), int(rng.integers(3, 30)), int(rng.integers(2, 8))
    y = rng.integers(0, c, n) * 3 + 5  # class ids that are neither 0-based nor contiguous
    a = rng.normal(0, 1, (n, u))
    if dyadic:  # multiples of 1/8: every sum is exact in float64, in any order
        a = np.round(a * 8) / 8
    a[rng.random((n, u)) < 0.4] = 0.0  # many zeros: ties at the k-th value
    a[:, 0] = np.where(y == y[0], 2 + rng.integers(0, 9, n) / 8, rng.integers(0, 9, n) / 8)  # on-localist
    a[:, 1] = 0.0  # dead unit
    a[:, 2] = np.where(y == y[-1], -1.0, rng.integers(0, 4, n) / 4)  # off-localist, negative
    if sort_by_class:
        order = np.argsort(y, kind="stable")
        a, y = a[order], y[order]
    return a, y


def _feed(acc: SelectivityAccumulator, a, y, rng, max_batch: int = 80) -> SelectivityAccumulator:
    """All rows in uneven batches (empty ones included), then the detector passes in other batches."""
    batches = []
    i = 0
    while i < len(y):
        b = int(rng.integers(0, max_batch))
        batches.append((a[i : i + b], y[i : i + b]))
        i += b
    for batch in batches:
        acc.update(*batch)
    return acc.detector_pass(batches[::-1])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("pooling", ["classes", "images"])
def test_streaming_equals_in_memory_exactly(seed, pooling):
    a, y = _table(seed, sort_by_class=seed % 3 == 0)
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(1, min(len(y), 150)))
    acc = _feed(SelectivityAccumulator(k=k, pooling=pooling, device="cpu"), a, y, rng)
    pd.testing.assert_frame_equal(acc.unit_table(), unit_table(a, y, k=k, pooling=pooling), check_exact=True)
    pd.testing.assert_frame_equal(acc.local_codes(), local_codes(a, y), check_exact=True)
    pd.testing.assert_frame_equal(acc.local_codes(min_gap=0.5), local_codes(a, y, min_gap=0.5), check_exact=True)
    # the table really exercises what it should: a localist unit whose top cluster is larger than k
    t = acc.unit_table()
    assert t.loc[0, "top_class_selectivity"] == 1.0 and (y == y[0]).sum() > 0
    assert np.isnan(t.loc[1, "ccmas"]) and t.loc[1, "max_informedness":].isna().all()  # the dead unit


@pytest.mark.parametrize("seed", range(4))
def test_streaming_on_continuous_float32_tables(seed):
    """Sums of arbitrary floats depend on their order: CCMAS agrees to rounding, everything else exactly."""
    a, y = _table(seed, dyadic=False)
    a = a.astype(np.float32)
    rng = np.random.default_rng(seed)
    acc = _feed(SelectivityAccumulator(k=60, device="cpu"), torch.from_numpy(a), torch.from_numpy(y), rng)
    got, ref = acc.unit_table(), unit_table(a, y, k=60)
    exact = [c for c in ref.columns if c not in CCMAS_COLS]
    pd.testing.assert_frame_equal(got[exact], ref[exact], check_exact=True)
    pd.testing.assert_frame_equal(got[CCMAS_COLS], ref[CCMAS_COLS], rtol=1e-9, atol=0)


def test_one_row_at_a_time_and_one_batch_agree():
    a, y = _table(7)
    one = SelectivityAccumulator(k=10, device="cpu").update(a, y).unit_table()
    acc = SelectivityAccumulator(k=10, device="cpu")
    for i in range(len(y)):
        acc.update(a[i : i + 1], y[i : i + 1])
    pd.testing.assert_frame_equal(acc.unit_table(), one, check_exact=True)
    assert acc.n == len(y)


def test_class_seen_only_in_the_last_batch_can_win():
    """A class that first appears at the end takes over the top class and the top cluster."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 8, (300, 4)) / 8.0
    y = np.repeat([0, 1, 2], 100)
    a[y == 2, 0] += 5.0  # class 2 is localist on unit 0, and arrives last
    acc = _feed(SelectivityAccumulator(k=20, device="cpu"), a, y, rng, max_batch=30)
    t = acc.unit_table()
    assert t.loc[0, "top_class"] == 2 and t.loc[0, "top_class_selectivity"] == 1.0
    pd.testing.assert_frame_equal(t, unit_table(a, y, k=20), check_exact=True)


def test_bad_input_is_named():
    acc = SelectivityAccumulator(k=5, device="cpu")
    with pytest.raises(ValueError, match="one label per row"):
        acc.update(np.zeros((4, 3)), np.zeros(5))
    acc.update(np.zeros((4, 3)), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="same units"):
        acc.update(np.zeros((4, 2)), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        acc.update(np.full((1, 3), np.nan), np.array([0]))
    with pytest.raises(ValueError, match="k must be between"):
        acc.unit_table()  # k=5 > 4 examples
    with pytest.raises(ValueError, match="no activations"):
        SelectivityAccumulator().unit_table()
    one_class = SelectivityAccumulator(k=1, device="cpu").update(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="two classes"):
        one_class.unit_table()
    with pytest.raises(ValueError, match="pooling"):
        SelectivityAccumulator(pooling="mean")
    with pytest.raises(ValueError, match="k must be"):
        SelectivityAccumulator(k=0)


def test_a_refused_batch_leaves_the_accumulator_as_it_was():
    rng = np.random.default_rng(0)
    a, y = rng.random((50, 10)), np.zeros(50, dtype=np.int64)
    acc = SelectivityAccumulator(k=5, device="cpu").update(a, y)
    bad = np.full((10, 10), np.nan)
    with pytest.raises(ValueError, match="NaN"):
        acc.update(bad, np.arange(10))  # ten new classes, all refused with the batch
    with pytest.raises(ValueError, match="two classes; labels contain 1"):
        acc.unit_table()  # as the in-memory functions say of the same rows
    with pytest.raises(ValueError, match="two classes; labels contain 1"):
        acc.local_codes()
    with pytest.raises(ValueError, match="two classes"):
        unit_table(a, y, k=5)
    fresh = SelectivityAccumulator(k=3, device="cpu")
    with pytest.raises(ValueError, match="integers"):
        fresh.update(np.ones((4, 3)), np.array([0.5, 1, 0, 1]))
    fresh.update(np.ones((4, 2)), np.array([0, 1, 0, 1]))  # the refused batch fixed neither units nor classes
    assert fresh.n_units == 2 and fresh.classes.tolist() == [0, 1]


def test_bool_labels_and_a_nan_min_gap():
    rng = np.random.default_rng(1)
    a = rng.random((40, 6))
    y = np.arange(40) % 3 == 0
    a[:, 0] += np.where(y, 2.0, 0.0)  # an 'on' code for class True (1)
    acc = SelectivityAccumulator(k=5, device="cpu").update(a[:25], y[:25]).update(a[25:], y[25:])
    acc.detector_pass([(a, y)])
    expected = unit_table(a, y.astype(np.int64), k=5)
    pd.testing.assert_frame_equal(unit_table(a, y, k=5), expected)
    pd.testing.assert_frame_equal(acc.unit_table(), expected, check_exact=False)
    pd.testing.assert_frame_equal(acc.local_codes(), local_codes(a, y))
    assert ((local_codes(a, y).unit == 0) & (local_codes(a, y).cls == 1)).any()
    for bad in (float("nan"), float("inf"), -0.5, "0.1", None):
        with pytest.raises(ValueError, match=r"min_gap must be a finite number >= 0"):
            acc.local_codes(min_gap=bad)
        with pytest.raises(ValueError, match=r"min_gap must be a finite number >= 0"):
            local_codes(a, y, min_gap=bad)
