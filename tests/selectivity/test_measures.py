"""In-memory selectivity measures against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes.selectivity import local_codes, unit_table
from localcodes.synthetic import A4_EXPECTED, synthetic_units


def test_a4_cases_match_paper_captions():
    acts, labels, names = synthetic_units()
    table = unit_table(acts, labels, k=100)
    table.index = names
    got = table.loc[A4_EXPECTED.index]
    # paper 001 Fig. A4: CCMAS 1 / precision ≈ 11% / TCS 1%; 1 / 1 / 1; ≈ 0.06 / 1 / 1
    assert got.loc["A4a one active item", "ccmas"] == pytest.approx(1.0)
    assert got.loc["A4a one active item", "precision"] == pytest.approx(0.11, abs=0.005)
    assert got.loc["A4a one active item", "top_class_selectivity"] == pytest.approx(0.01)
    assert got.loc["A4b grandmother unit", ["ccmas", "precision", "top_class_selectivity"]].tolist() == [1, 1, 1]
    assert got.loc["A4c one class 0.1 higher", "ccmas"] == pytest.approx(0.1 / 1.7)
    assert got.loc["A4c one class 0.1 higher", "ccmas"] == pytest.approx(0.06, abs=0.002)
    assert got.loc["A4c one class 0.1 higher", ["precision", "top_class_selectivity"]].tolist() == [1, 1]


def test_precision_ties_are_shared_in_proportion():
    # 3 classes x 4 examples; unit: two class-0 examples at 5, then a tie at 1 between 1 of class 0,
    # 2 of class 1 and 3 of class 2; everything else 0.
    labels = np.repeat([0, 1, 2], 4)
    a = np.zeros(12)
    a[[0, 1]] = 5
    a[[2, 4, 5, 8, 9, 10]] = 1
    # k=4: two places left for 6 tied examples → class 0: 2 + 2*1/6, class 1: 2*2/6, class 2: 2*3/6
    t = unit_table(a[:, None], labels, k=4)
    assert t.loc[0, "precision_class"] == 0
    assert t.loc[0, "precision"] == pytest.approx((2 + 2 / 6) / 4)
    # the result does not depend on the order of rows
    perm = np.random.default_rng(1).permutation(12)
    t2 = unit_table(a[perm, None], labels[perm], k=4)
    pd.testing.assert_frame_equal(t, t2)


def test_top_class_selectivity_counts_only_examples_above_all_others():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    a = np.array([10, 9, 3, 1, 4, 2, 0, 0], dtype=float)
    t = unit_table(a[:, None], labels, k=2)
    # top class 0 (the 10); class-0 examples above max of others (4): 10 and 9 → 2 of 4
    assert t.loc[0, "top_class"] == 0
    assert t.loc[0, "top_class_selectivity"] == pytest.approx(0.5)


def test_ccmas_poolings_and_ccmas2_by_hand():
    labels = np.array([0, 0, 1, 2, 2, 2])
    a = np.array([4, 2, 1, 0, 0, 3], dtype=float)  # class means 3, 1, 1; image mean of others (1+0+0+3)/4 = 1
    t = unit_table(a[:, None], labels, k=1, pooling="classes")
    assert t.loc[0, "ccmas_class"] == 0
    assert t.loc[0, "ccmas"] == pytest.approx((3 - 1) / (3 + 1))
    # CCMAS_2: drop class 0; next class is 1 (tie with 2 → smaller id); rest = class 2 mean 1 → 0
    assert t.loc[0, "ccmas2_class"] == 1
    assert t.loc[0, "ccmas2"] == pytest.approx(0.0)
    a2 = np.array([4, 2, 1, 0, 0, 7], dtype=float)  # means 3, 1, 7/3; others-as-images mean (1+7)/4 = 2
    t_img = unit_table(a2[:, None], labels, k=1, pooling="images")
    t_cls = unit_table(a2[:, None], labels, k=1, pooling="classes")
    assert t_img.loc[0, "ccmas"] == pytest.approx((3 - 2) / (3 + 2))
    assert t_cls.loc[0, "ccmas"] == pytest.approx((3 - (1 + 7 / 3) / 2) / (3 + (1 + 7 / 3) / 2))


def test_negative_activations_push_ccmas_above_one_and_minmax_fixes_it():
    labels = np.repeat([0, 1, 2], 3)
    a = np.where(labels == 0, 1.0, -0.5)
    t = unit_table(a[:, None], labels, k=3)
    assert t.loc[0, "ccmas"] == pytest.approx((1 + 0.5) / (1 - 0.5))
    assert t.loc[0, "ccmas"] > 1
    assert t.loc[0, "ccmas_minmax"] == pytest.approx(1.0)


def test_dead_unit_gives_nan_ccmas_and_no_local_codes():
    labels = np.repeat([0, 1, 2], 5)
    a = np.zeros((15, 2))
    a[:, 1] = np.arange(15)
    t = unit_table(a, labels, k=3)
    assert np.isnan(t.loc[0, "ccmas"]) and np.isnan(t.loc[0, "ccmas2"])
    assert t.loc[0, "top_class_selectivity"] == 0
    codes = local_codes(a, labels)
    assert 0 not in set(codes["unit"])


def test_local_codes_on_off_gap_and_strictness():
    labels = np.repeat([0, 1, 2], 3)
    a = np.zeros((9, 4))
    a[:, 0] = np.where(labels == 1, [5.0] * 9, [1.0, 2.0, 3.0] * 3)  # on for class 1, gap 5 - 3 = 2
    a[:, 1] = np.where(labels == 2, 0.0, 1.0)  # off for class 2, gap 1
    a[:, 2] = np.where(labels == 0, 1.0, 0.0)
    a[8, 2] = 1.0  # a class-2 example ties with class 0 → not a local code (strict)
    a[:, 3] = np.where(labels == 0, 2.0, 0.0)  # with 3 classes: on for 0 only (classes 1 and 2 tie at 0)
    codes = local_codes(a, labels)
    rows = {(r.unit, r.cls, r.kind): r.gap for r in codes.itertuples()}
    assert rows == {(0, 1, "on"): 2.0, (1, 2, "off"): 1.0, (3, 0, "on"): 2.0}
    assert list(codes.columns) == ["unit", "cls", "kind", "gap"]
    assert local_codes(a, labels, min_gap=1.5)["unit"].tolist() == [0, 3]


def test_two_classes_give_on_and_off_codes():
    labels = np.array([0, 0, 1, 1])
    a = np.array([[1.0], [2.0], [3.0], [4.0]])
    codes = local_codes(a, labels)
    assert set(zip(codes["cls"], codes["kind"], strict=True)) == {(1, "on"), (0, "off")}


def test_labels_keep_their_original_ids():
    labels = np.array([7, 7, 3, 3, 11, 11])
    a = np.array([0, 0, 9, 8, 1, 1], dtype=float)
    t = unit_table(a[:, None], labels, k=2)
    assert t.loc[0, ["top_class", "precision_class", "ccmas_class"]].tolist() == [3, 3, 3]
    codes = local_codes(a[:, None], labels)
    assert set(zip(codes["cls"], codes["kind"], strict=True)) == {(3, "on"), (7, "off")}


def test_numpy_and_torch_inputs_agree():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    a = np.round(rng.normal(size=(300, 17)), 1)  # rounding makes many ties
    a[:, 3] = 0
    from_np = unit_table(a, labels, k=30)
    from_torch = unit_table(torch.tensor(a), torch.tensor(labels), k=30)
    pd.testing.assert_frame_equal(from_np, from_torch)
    pd.testing.assert_frame_equal(local_codes(a, labels), local_codes(torch.tensor(a), torch.tensor(labels)))


def test_unit_table_matches_a_slow_reference_on_random_tables():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 60)
    a = rng.integers(0, 4, size=(60, 9)).astype(float)  # heavy ties
    t = unit_table(a, labels, k=10)
    for u in range(9):
        col = a[:, u]
        top = min(labels[col == col.max()])
        others = col[labels != top].max()
        assert t.loc[u, "top_class_selectivity"] == pytest.approx(np.mean(col[labels == top] > others))
        kth = np.sort(col)[::-1][9]
        exp = {c: np.sum((col > kth) & (labels == c)) for c in range(4)}
        ties = {c: np.sum((col == kth) & (labels == c)) for c in range(4)}
        slots = 10 - sum(exp.values())
        share = {c: exp[c] + slots * ties[c] / sum(ties.values()) for c in range(4)}
        assert t.loc[u, "precision"] == pytest.approx(max(share.values()) / 10)


@pytest.mark.parametrize(
    ("acts", "labels", "k", "message"),
    [
        (np.zeros((4, 2)), np.array([0, 1, 0]), 1, "one label per row"),
        (np.zeros(4), np.array([0, 1, 0, 1]), 1, "2-D"),
        (np.full((4, 2), np.nan), np.array([0, 1, 0, 1]), 1, "NaN"),
        (np.zeros((4, 2)), np.array([1, 1, 1, 1]), 1, "at least two classes"),
        (np.zeros((4, 2)), np.array([0, 1, 0, 1]), 5, "k must be between"),
    ],
)
def test_bad_input_is_refused_clearly(acts, labels, k, message):
    with pytest.raises(ValueError, match=message):
        unit_table(acts, labels, k=k)


def test_bad_pooling_names_the_choices():
    with pytest.raises(ValueError, match="pooling must be one of"):
        unit_table(np.eye(4), np.array([0, 1, 0, 1]), k=1, pooling="means")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_gives_the_same_numbers_as_cpu():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 500)
    a = rng.normal(size=(500, 40))
    on_gpu = unit_table(torch.tensor(a).cuda(), torch.tensor(labels).cuda())
    pd.testing.assert_frame_equal(unit_table(a, labels), on_gpu)
