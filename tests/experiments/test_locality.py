"""The locality chapter's experiment: cached and reloaded, options checked, the README's implied degrees of
freedom, and the chapter's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes.experiments import locality as lpx
from localcodes.locality import image_level_test
from scipy import stats


@pytest.mark.parametrize("df", [9, 120, 999])
def test_implied_degrees_of_freedom_invert_the_t_distribution(df):
    p = 1e-6
    t = stats.t.isf(p / 2, df)
    assert lpx.implied_df(-t, p) == pytest.approx(df, rel=1e-4)

def test_experiment_is_cached_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    kw = dict(arms=["control", "linear"], seeds=[0], n_train=60, n_test=40, epochs=1, batch_size=20,
              prune_fractions=(1.0, 0.1), n_calib=30, device="cpu", progress=False)
    assert lpx.run_experiment("lenet", "smoke", cached_only=True, **kw) is None
    first = lpx.run_experiment("lenet", "smoke", **kw)
    again = lpx.run_experiment("lenet", "smoke", **kw)
    assert list(tmp_path.glob("smoke/50_locality_prior/lenet-*/result.pt"))
    pd.testing.assert_frame_equal(first.metrics, again.metrics)
    pd.testing.assert_frame_equal(first.pruning, again.pruning)
    assert torch.allclose(first.maps["lp_out"], again.maps["lp_out"])
    assert first.maps["lp_out"].shape == (2, first.labels.max() + 1, 49)
    assert np.isfinite(first.metrics["accuracy"]).all() and first.dataset == again.dataset


def test_unknown_networks_are_refused():
    with pytest.raises(ValueError, match="network must be one of"):
        lpx.run_experiment("vgg")


def test_chapter_tables_are_built_from_a_small_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    res = lpx.run_experiment("lenet", "smoke", arms=["control", "linear"], seeds=[0, 1], n_train=60, n_test=40,
                             epochs=1, batch_size=20, prune_fractions=(1.0, 0.1), n_calib=30, device="cpu",
                             progress=False)
    arms = lpx.arm_order(["linear", "control"])
    assert arms == ["control", "linear"]
    clus = res.clustering(n_perm=5)
    tests = lpx.clustering_tests(clus, arms)
    assert list(tests.index) == [("linear", "lp_in"), ("linear", "lp_out")]
    main = lpx.main_test(tests)
    assert main.name == ("linear", "lp_out")
    per_image = image_level_test(res.image_var["lp_out"], res.members)
    assert "degrees of freedom" in lpx.reading_the_numbers(main, per_image, clus)
    assert lpx.readme_comparison(main, per_image).to_html()
    assert lpx.clustering_tests_table(tests).to_html()
    acc = lpx.accuracy_table(res, arms)
    assert list(acc.index) == arms and acc.loc["control", "README accuracy %"] == 98.1
    assert "percentage points" in lpx.accuracy_differences(res, arms)
    assert set(lpx.decay_table(res, clus, tests, arms).index) == {"linear"}
    eq = lpx.equal_accuracy(res.pruning, tolerance=0.01)
    tab = lpx.equal_accuracy_table(eq, res.members)
    assert "strength_length_share" in tab.columns
    assert "grid units of wire" in lpx.wire_summary(eq, res.pruning, arms)
    assert "LeNet, linear prior, LP output" in lpx.run_summary(tests, arms, None, "smoke")
    assert lpx.paper_summary("smoke", None, arms) == [
        "No paper-scale results have been computed yet; everything above is at scale `smoke`."]
    assert lpx.fmt_p(0.0) == "below 1e-300" and lpx.fmt_p(0.01) == "0.01"
    assert list(lpx.prior_summary((3,))["decay"]) == ["linear", "sqrt", "square"]


def test_stored_networks_are_repruned_under_every_rule_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    kw = dict(arms=["control", "linear"], seeds=[0, 1], n_train=60, n_test=40, epochs=1, batch_size=20,
              prune_fractions=(1.0, 0.3), n_calib=30, device="cpu", progress=False)
    res = lpx.run_experiment("lenet", "smoke", **kw)
    old = res.pruning[res.pruning.criterion != "weight"]
    res.pruning = old  # as a result stored before the rule existed
    again = lpx.repruned(res)
    assert set(again["criterion"]) == {"magnitude", "weight", "magnitude x prior"}
    both = again.merge(old, on=["member", "criterion", "bn", "keep"], suffixes=("", "_old"))
    assert len(both) == len(old) and np.array_equal(both["accuracy"], both["accuracy_old"])
    assert list(tmp_path.glob("smoke/50_locality_prior/lenet-*/pruning-*.parquet"))
    pd.testing.assert_frame_equal(lpx.repruned(res), again)  # cached beside the result
    res.metrics = res.metrics.assign(accuracy=res.metrics["accuracy"] + 0.01)
    for f in tmp_path.glob("smoke/50_locality_prior/lenet-*/pruning-*.parquet"):
        f.unlink()
    with pytest.raises(RuntimeError, match="do not give their stored test accuracy"):
        lpx.repruned(res)


def test_the_whole_alexnet_trains_on_fractal_categories(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    res = lpx.run_experiment("alexnet_whole", "smoke", arms=["control", "linear"], seeds=[0], n_train=100,
                             n_test=40, epochs=1, batch_size=20, lr=1e-3, optimizer="adam", weight_decay=1e-4,
                             prune_fractions=(1.0, 0.1), n_calib=30, device="cpu", progress=False)
    assert res.network == "alexnet_whole" and res.dataset == "fractal categories"
    assert res.side == 22 and res.maps["lp_out"].shape == (2, 10, 22 * 22)  # width 0.125: 512 fc units → 22²
    assert np.isfinite(res.metrics["accuracy"]).all() and "trained whole" in lpx.alexnet_data_note(res, "smoke")
    assert set(res.pruning["criterion"]) == {"magnitude", "weight", "magnitude x prior"}


def test_digit_subsets_are_balanced_or_the_whole_unequal_split():
    from localcodes import data

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), [5, 7, 9])  # unequal classes, like MNIST's
    d = data.Digits(rng.integers(0, 255, (21, 4, 4), dtype=np.uint8), labels, "toy", "test")
    assert lpx._digit_subset(d, 21, 0, "n_train") is d  # the whole split, as the README trained
    assert np.bincount(lpx._digit_subset(d, 12, 0, "n_train").labels).tolist() == [4, 4, 4]
    assert np.bincount(lpx._digit_subset(d, 18, 0, "n_test").labels).tolist() == [5, 5, 5]  # capped at the rarest
    with pytest.raises(ValueError, match=r"n_train=18 asks for 6 images per class.*rarest class has 5"):
        lpx._digit_subset(d, 18, 0, "n_train")


def test_the_lenet_data_set_is_chosen_by_name_and_checked_first():
    with pytest.raises(ValueError, match="digits must be one of"):
        lpx.run_experiment(digits="cifar")
    with pytest.raises(ValueError, match="takes digits='auto' only"):
        lpx.run_experiment(network="alexnet_whole", digits="mnist")
