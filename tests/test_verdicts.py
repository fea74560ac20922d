"""The verdict rules: data built to give each outcome, and the numbers behind them against scipy."""

import numpy as np
import pytest
from localcodes import verdicts as V
from scipy import stats

RNG = np.random.default_rng(0)


def noisy(mean, n, sd=1.0, seed=0):
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_outcomes_are_the_five_of_the_rules():
    assert V.OUTCOMES == ("reproduced", "not reproduced", "contradicted", "inconclusive", "not run")


def test_a_clear_difference_in_the_claimed_direction_is_reproduced_and_matches_scipy():
    a, b = noisy(5, 10, seed=1), noisy(0, 10, seed=2)
    v = V.judge_difference(a, b, expected="greater", paired=True)
    assert v.outcome == "reproduced" and v.n == 10 and v.n_needed is None
    ref = stats.ttest_rel(a, b, alternative="greater")
    assert v.p == pytest.approx(ref.pvalue) and v.effect == pytest.approx(np.mean(a - b))
    assert v.ci[0] > 0
    w = V.judge_difference(a, b, expected="greater", paired=False)
    assert w.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def test_the_other_direction_is_contradicted():
    a, b = noisy(0, 10, seed=1), noisy(5, 10, seed=2)
    assert V.judge_difference(a, b, expected="greater").outcome == "contradicted"
    assert V.judge_difference(a, b, expected="less").outcome == "reproduced"


def test_a_small_effect_excluded_by_the_interval_is_not_reproduced():
    a = noisy(0.0, 400, sd=1.0, seed=3)
    b = noisy(0.0, 400, sd=1.0, seed=4)
    v = V.judge_difference(a, b, expected="greater", paired=False, sesoi=0.5)
    assert v.outcome == "not reproduced" and v.ci[1] < 0.5


def test_an_underpowered_difference_is_inconclusive_with_the_networks_it_needs():
    unit = np.array([-1.5, -0.5, 0.5, 1.5]) / np.std([-1.5, -0.5, 0.5, 1.5], ddof=1)  # sd exactly 1
    a, b = unit + 0.1, unit.copy()
    v = V.judge_difference(a, b, expected="greater", paired=False, sesoi=0.5)
    assert v.outcome == "inconclusive" and v.n_needed is not None and v.n_needed > 4
    assert "networks a side would decide it" in str(v)
    # the power it promises holds (simulated at the stated effect)
    sims = [V.judge_difference(noisy(0.5, v.n_needed, seed=100 + i), noisy(0, v.n_needed, seed=900 + i),
                               paired=False).outcome == "reproduced" for i in range(300)]
    assert 0.65 < np.mean(sims) < 0.95


def test_no_significant_difference_is_never_a_reproduction():
    a = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 0.1])
    b = a[::-1] + 0.05
    assert V.judge_difference(a, b).outcome in ("inconclusive", "not reproduced")
    # an under-powered "no difference" must come out inconclusive, not reproduced
    v = V.judge_equivalence(a, b, margin=0.3, paired=False)
    assert v.outcome == "inconclusive" and v.n_needed and v.n_needed > 6


def test_equivalence_needs_the_interval_inside_the_margin():
    a, b = noisy(0, 400, sd=0.2, seed=9), noisy(0, 400, sd=0.2, seed=10)
    v = V.judge_equivalence(a, b, margin=0.1, paired=False)
    assert v.outcome == "reproduced" and -0.1 < v.ci[0] and v.ci[1] < 0.1 and v.p < 0.05
    far = V.judge_equivalence(noisy(3, 50, seed=11), noisy(0, 50, seed=12), margin=0.5, paired=False)
    assert far.outcome == "contradicted"
    near = V.judge_equivalence(noisy(0.5, 200, seed=13), noisy(0, 200, seed=14), margin=0.6, paired=False)
    assert near.outcome == "not reproduced"


def test_fewer_than_two_networks_a_side_is_not_run_and_nans_are_dropped():
    assert V.judge_difference([1.0], [0.0]).outcome == "not run"
    assert V.judge_difference([1.0, np.nan, 3.0], [0.0, 1.0, np.nan]).outcome == "not run"  # one pair left
    assert V.judge_equivalence([], [], margin=1).outcome == "not run"


def test_degenerate_samples():
    same = V.judge_difference([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
    assert same.outcome == "inconclusive" and same.p == 1.0 and same.n_needed is None
    assert V.judge_difference([3.0, 3.0], [1.0, 1.0]).outcome == "reproduced"


def test_bad_input_is_refused_naming_the_parameter():
    with pytest.raises(ValueError, match="expected must be one of"):
        V.judge_difference([1, 2], [0, 1], expected="bigger")
    with pytest.raises(ValueError, match="same length"):
        V.judge_difference([1, 2, 3], [0, 1])
    with pytest.raises(ValueError, match="sesoi"):
        V.judge_difference([1, 2], [0, 1], sesoi=-1)
    with pytest.raises(ValueError, match="margin"):
        V.judge_equivalence([1, 2], [0, 1], margin=0)
    with pytest.raises(ValueError, match="alpha"):
        V.judge_difference([1, 2], [0, 1], alpha=0.7)
    with pytest.raises(ValueError, match="outcome must be one of"):
        V.Verdict("holds", 0.1, 3, 1.0, (0, 1), None, "t")


def test_the_papers_shape_must_win_not_merely_fit():
    rng = np.random.default_rng(15)
    p = np.repeat([0.0, 0.1, 0.2, 0.3, 0.4], 8)
    y = 20 - 30 * np.sqrt(p) + rng.normal(0, 0.5, p.size)
    assert V.judge_shape(p, y, "sqrt", ["linear", "exponential", "sqrt"]).outcome == "reproduced"
    line = 20 - 30 * p + rng.normal(0, 0.5, p.size)
    assert V.judge_shape(p, line, "sqrt", ["linear", "exponential", "sqrt"]).outcome == "not reproduced"


def test_a_peak_must_lie_inside_the_range():
    x = np.repeat([100, 250, 500, 1000, 2000], 6).astype(float)
    rng = np.random.default_rng(16)
    peak = 10 - 3 * (np.log(x) - np.log(500)) ** 2 + rng.normal(0, 0.5, x.size)
    assert V.judge_shape(x, peak, "rise-and-fall", ["linear", "log-linear", "rise-and-fall"]).outcome == "reproduced"
    rising = 2 * np.log(x) + rng.normal(0, 0.3, x.size)
    v = V.judge_shape(x, rising, "rise-and-fall", ["linear", "log-linear", "rise-and-fall"])
    assert v.outcome in ("not reproduced", "inconclusive") and "lowest AIC: log-linear" in v.test


def test_shapes_need_points():
    assert V.judge_shape([1, 2], [1, 2], "linear", ["constant", "linear"]).outcome == "not run"


def test_count_outcomes_lists_every_outcome():
    counts = V.count_outcomes(["reproduced", "inconclusive", "reproduced"])
    assert list(counts) == list(V.OUTCOMES) and counts["reproduced"] == 2 and counts["not run"] == 0
    with pytest.raises(ValueError, match="unknown outcomes"):
        V.count_outcomes(["holds"])


def test_as_dict_flattens_the_interval():
    d = V.judge_difference(noisy(5, 5), noisy(0, 5, seed=3)).as_dict()
    assert {"outcome", "p", "n", "effect", "ci_low", "ci_high", "n_needed", "test"} == set(d)


def test_noninferiority_needs_the_interval_above_minus_the_margin():
    base = noisy(0.8, 12, sd=0.02, seed=20)
    small_loss = base - 0.002 + noisy(0, 12, sd=0.001, seed=21)  # a significant loss, well inside a 1-point margin
    v = V.judge_noninferiority(small_loss, base, margin=0.01)
    assert v.outcome == "reproduced" and v.ci[0] > -0.01 and v.ci[1] < 0 and v.p < 0.05
    gain = V.judge_noninferiority(base + 0.05, base - 0.0 + noisy(0, 12, sd=0.001, seed=22), margin=0.01)
    assert gain.outcome == "reproduced"  # a gain is never a loss (equivalence would call it contradicted)
    big_loss = base - 0.05 + noisy(0, 12, sd=0.002, seed=23)
    assert V.judge_noninferiority(big_loss, base, margin=0.01).outcome == "contradicted"
    edge = base - 0.01 + noisy(0, 12, sd=0.004, seed=24)  # a loss around the margin: significant, undecided
    assert V.judge_noninferiority(edge, base, margin=0.01).outcome == "not reproduced"
    noisy_loss = V.judge_noninferiority(base + noisy(0, 12, sd=0.05, seed=25), base, margin=0.01)
    assert noisy_loss.outcome == "inconclusive" and noisy_loss.n_needed and noisy_loss.n_needed > 12
    p_ref = stats.ttest_1samp(small_loss - base + 0.01, 0.0, alternative="greater").pvalue
    assert v.p == pytest.approx(p_ref)
    with pytest.raises(ValueError, match="margin"):
        V.judge_noninferiority([1, 2], [1, 2], margin=0)


def test_a_share_is_judged_by_an_exact_binomial_test_not_a_t_test_on_flags():
    none = V.judge_proportion(0, 32, 0.05, "less")  # 0 of 32: a t-test on 0/1 flags has no spread and "wins"
    assert none.outcome == "inconclusive" and none.p == pytest.approx(0.95**32)
    assert none.n_needed == 59  # 0.95**59 < 0.05 < 0.95**58
    assert V.judge_proportion(0, 80, 0.05, "less").outcome == "reproduced"
    most = V.judge_proportion(25, 32, 0.5)
    assert most.outcome == "reproduced" and most.p == pytest.approx(stats.binomtest(25, 32, 0.5, "greater").pvalue)
    assert most.ci[0] < most.effect < most.ci[1] and most.effect == pytest.approx(25 / 32 - 0.5)
    assert V.judge_proportion(5, 32, 0.5).outcome == "contradicted"
    assert V.judge_proportion(1, 1, 0.5).outcome == "not run"
    with pytest.raises(ValueError, match="k and n"):
        V.judge_proportion(5, 3, 0.5)
    with pytest.raises(ValueError, match="p0"):
        V.judge_proportion(1, 3, 1.0)


def test_two_shares_are_compared_by_fishers_exact_test():
    v = V.judge_two_proportions(20, 32, 1, 32)
    ref = stats.fisher_exact([[20, 12], [1, 31]], alternative="greater").pvalue
    assert v.outcome == "reproduced" and v.p == pytest.approx(ref) and v.ci[0] < v.effect < v.ci[1]
    flat = V.judge_two_proportions(3, 32, 1, 32)
    assert flat.outcome == "inconclusive" and flat.n_needed and flat.n_needed > 32
    assert V.judge_two_proportions(1, 32, 20, 32).outcome == "contradicted"
    with pytest.raises(ValueError, match="k2 and n2"):
        V.judge_two_proportions(1, 3, -1, 3)
