"""Paper 000's prototype codes and output codes: the properties Fig. 1 promises."""

import numpy as np
import pytest
from localcodes import codes
from scipy import stats


def test_blocks_and_exact_random_weight():
    c = codes.prototype_code(n_classes=10, length=500, n_per_class=50, random_weight=1 / 3, seed=0)
    assert c.X.shape == (500, 500) and c.y.shape == (500,)
    assert set(np.unique(c.X)) == {0.0, 1.0}
    assert np.bincount(c.y).tolist() == [50] * 10
    # prototype z: ones exactly in block z (50 bits)
    for z in range(10):
        assert c.prototypes[z].sum() == 50
        assert c.prototypes[z, z * 50 : (z + 1) * 50].all()
    block = c.invariant[c.y]
    # unperturbed: the whole block is on; outside it exactly round(1/3 * 450) = 150 ones
    assert (c.X[block] == 1).all()
    outside = np.where(block, 0, c.X).sum(1)
    assert (outside == 150).all()
    assert (c.X.sum(1) == 200).all()


@pytest.mark.parametrize("random_weight, expected", [(1 / 9, 50), (2 / 9, 100), (1 / 3, 150)])
def test_random_weight_of_experiment_3(random_weight, expected):
    c = codes.prototype_code(n_per_class=5, random_weight=random_weight, seed=3)
    outside = np.where(c.invariant[c.y], 0, c.X).sum(1)
    assert (outside == expected).all()


def test_perturbation_rate_within_binomial_bounds():
    p = 0.3
    c = codes.prototype_code(n_per_class=40, perturb=p, seed=1)
    block = c.invariant[c.y]
    n_bits = int(block.sum())
    turned_off = int((c.X[block] == 0).sum())
    lo, hi = stats.binom.interval(0.999, n_bits, p)
    assert lo <= turned_off <= hi
    # random bits never overwrite a turned-off prototype bit, and the random part keeps its exact weight
    assert (c.X[block] == c.kept[block]).all()
    assert (np.where(block, 0, c.X).sum(1) == 150).all()
    # every codeword gets its own draw: the surviving blocks differ between codewords of a class
    kept0 = c.kept[c.y == 0][:, :50]
    assert len(np.unique(kept0, axis=0)) > 1


def test_within_class_closer_than_between():
    c = codes.prototype_code(n_per_class=30, seed=2)
    within, between = codes.class_distances(c)
    assert within < between
    # within: two exact-weight random parts on the same 450 bits, 2*150*(1 - 150/450) = 200 apart;
    # between: each block differs where the other class's random part is 0 (2 * 50 * 2/3), and the other
    # 400 bits are random in both (400 * 2 * 1/3 * 2/3)
    assert within == pytest.approx(200, rel=0.03)
    assert between == pytest.approx(2 * 50 * 2 / 3 + 400 * 2 * (1 / 3) * (2 / 3), rel=0.03)


def test_shared_random_quirk_reuses_vector_w():
    c = codes.prototype_code(n_per_class=8, shared_random=True, seed=4)
    x = c.X.reshape(10, 8, 500)
    free = ~c.invariant  # (10, 500)
    # codeword w of classes 0 and 1: identical outside the two blocks
    both_free = free[0] & free[1]
    assert (x[0, :, both_free.nonzero()[0]] == x[1, :, both_free.nonzero()[0]]).all()
    plain = codes.prototype_code(n_per_class=8, shared_random=False, seed=4).X.reshape(10, 8, 500)
    assert not (plain[0][:, both_free] == plain[1][:, both_free]).all()


def test_test_set_same_prototypes_fresh_codewords():
    c = codes.prototype_code(n_per_class=10, perturb=0.1, seed=0)
    t = c.test_set(n_per_class=100, seed=1)
    assert len(t) == 1000 and t.params["perturb"] == 0.1
    np.testing.assert_array_equal(t.prototypes, c.prototypes)
    # no training codeword reappears (2^450-ish possibilities)
    d = codes.hamming(c.X, t.X)
    assert d.min() > 0
    # same seed regenerates the same code
    np.testing.assert_array_equal(codes.prototype_code(n_per_class=10, perturb=0.1, seed=0).X, c.X)


def test_shuffled_targets_keep_inputs():
    c = codes.prototype_code(n_per_class=20, seed=0)
    s = c.shuffled(seed=5)
    np.testing.assert_array_equal(s.X, c.X)
    np.testing.assert_array_equal(s.source, c.y)
    assert np.bincount(s.y).tolist() == np.bincount(c.y).tolist()
    assert (s.y != c.y).mean() > 0.7  # a random permutation of 10 balanced classes moves ~90%


def test_output_codes():
    d = codes.output_code(10, "distributed", seed=0)
    assert d.shape == (10, 50) and (d.sum(1) == 25).all()
    assert len(np.unique(d, axis=0)) == 10
    o = codes.output_code(10, "onehot")
    np.testing.assert_array_equal(o, np.eye(10))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(length=505), "length"),
        (dict(n_classes=1), "n_classes"),
        (dict(random_weight=1.5), "random_weight"),
        (dict(perturb=-0.1), "perturb"),
        (dict(n_per_class=0), "n_per_class"),
    ],
)
def test_bad_parameters_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        codes.prototype_code(**kwargs)


def test_bad_output_kind_refused():
    with pytest.raises(ValueError, match="kind"):
        codes.output_code(10, "binary")
