"""The locality prior at its source's settings: one row per network, claims judged with seeds as the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes.experiments import locality as lpx
from localcodes.experiments import locality_reference as R


def _table(shift_out: float, acc_drop: float, n: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for setting in ("SGD (the README's code)", "SGD, sqrt and square decay"):
        arms = ("control", "linear") if setting.startswith("SGD (") else ("sqrt", "square")
        for arm in arms:
            for seed in range(n):
                base = 8.5 + 0.3 * np.sin(seed)  # seed-to-seed spread shared by the pair
                prior = arm != "control"
                rows.append({"setting": setting, "arm": arm, "seed": seed,
                             "variance_lp_out": base - (shift_out if prior else 0) + rng.normal(0, 0.02),
                             "variance_lp_in": base + rng.normal(0, 0.02),
                             "accuracy": 0.90 - (acc_drop if prior else 0) + rng.normal(0, 0.001)})
    return pd.DataFrame(rows)


def _smoke(tmp_path, monkeypatch, prune_fractions=(1.0, 0.5)) -> lpx.LPResult:
    """Two tiny LeNets per arm in a fresh results store."""
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    return lpx.run_experiment("lenet", "smoke", arms=["control", "linear"], seeds=[0, 1], n_train=60, n_test=40,
                              epochs=1, batch_size=20, prune_fractions=prune_fractions, n_calib=30, device="cpu",
                              progress=False)


def test_a_clear_effect_is_reproduced_and_no_effect_is_not():
    clear = R.judge(_table(shift_out=0.5, acc_drop=0.0))
    out = clear.set_index(["setting", "arm", "key"])["outcome"]
    assert out[("SGD (the README's code)", "linear", "lp_out_compact")] == "reproduced"
    assert out[("SGD (the README's code)", "linear", "lp_in_compact")] == "not reproduced"
    assert out[("SGD (the README's code)", "linear", "accuracy_same")] == "reproduced"
    # the decay variants are compared with the SGD setting's control, seed by seed
    assert out[("SGD, sqrt and square decay", "square", "lp_out_compact")] == "reproduced"
    flat = R.judge(_table(shift_out=0.0, acc_drop=0.02)).set_index(["setting", "arm", "key"])["outcome"]
    assert flat[("SGD (the README's code)", "linear", "lp_out_compact")] != "reproduced"
    assert flat[("SGD (the README's code)", "linear", "accuracy_lower")] == "reproduced"
    assert flat[("SGD (the README's code)", "linear", "accuracy_same")] == "contradicted"


def test_too_few_seeds_are_not_run_and_unknown_settings_are_refused():
    few = R.judge(_table(shift_out=0.5, acc_drop=0.0, n=1))
    assert set(few["outcome"]) == {"not run"}
    with pytest.raises(ValueError, match="setting must be one of"):
        R.load("Adam")


def test_networks_table_has_one_row_per_trained_network(tmp_path, monkeypatch):
    res = _smoke(tmp_path, monkeypatch, (1.0,))
    table = R.networks_table({"SGD (the README's code)": res})
    assert len(table) == 4 and set(table["arm"]) == {"control", "linear"}
    assert {"accuracy", "loss", "variance_lp_in", "variance_lp_out", "optimizer", "epochs", "n_train"} <= set(table)
    assert np.isfinite(table["variance_lp_out"]).all()
    checks = R.judge(table)
    assert set(checks["key"]) == {"lp_out_compact", "lp_in_compact", "accuracy_lower", "accuracy_same"}
    R.save(table, checks)
    assert (tmp_path / "reference" / lpx.CHAPTER / "networks.parquet").exists()
    assert len(R.readme_test(res)) == 2
    assert "Not computed yet" in R.status_text({"SGD (the README's code)": None})


def test_the_smallest_effect_scales_with_the_sheet_and_sparsification_is_judged(tmp_path, monkeypatch):
    assert R.uniform_variance(7) == pytest.approx(8 * 49 / 48)
    assert R.sesoi(7) == R.SESOI and R.sesoi(32) == pytest.approx(R.SESOI * R.uniform_variance(32) / (8 * 49 / 48))
    res = _smoke(tmp_path, monkeypatch, (1.0, 0.5, 0.1))
    curves = R.pruning_table({"SGD (the README's code)": res})
    assert set(curves["setting"]) == {"SGD (the README's code)"} and "weight" in set(curves["criterion"])
    checks = R.judge_sparsification(curves)
    assert set(checks["key"]) == {"sparsify_0.5", "sparsify_0.1", "wp_beats_w"}
    assert set(checks["outcome"]) <= {"reproduced", "not reproduced", "contradicted", "inconclusive"}
    table = R.networks_table({"SGD (the README's code)": res})
    assert set(table["grid_side"]) == {7}
    R.save(table, pd.concat([R.judge(table), checks]), curves)
    assert (tmp_path / "reference" / lpx.CHAPTER / "pruning.parquet").exists()


def test_the_stored_networks_table_is_used_only_when_it_matches_the_results(tmp_path, monkeypatch):
    res = _smoke(tmp_path, monkeypatch, (1.0,))
    results = {"SGD (the README's code)": res}
    table = R.networks_table(results)
    R.save(table.assign(variance_lp_out=-1.0), R.judge(table))  # a marker: the stored table is what comes back
    assert (R.stored_networks(results)["variance_lp_out"] == -1.0).all()
    res.metrics = res.metrics.assign(accuracy=res.metrics["accuracy"] + 0.01)  # networks that are not the stored
    assert (R.stored_networks(results)["variance_lp_out"] > 0).all()
    assert (R.stored_networks({"RMSProp (the README's table)": res})["variance_lp_out"] > 0).all()


def test_a_setting_stored_as_tables_only_is_kept_from_the_stored_tables(tmp_path, monkeypatch):
    res = _smoke(tmp_path, monkeypatch)
    both = {"SGD (the README's code)": res, "AlexNet, trained whole (fractals)": res}
    table, curves = R.networks_table(both), R.pruning_table(both)
    R.save(table, R.judge(table), curves)
    only_lenet = {"SGD (the README's code)": res}  # the other setting's result files are not in git
    assert set(R.stored_networks(only_lenet)["setting"]) == set(both)
    assert set(R.stored_pruning(only_lenet)["setting"]) == set(both)
    text = R.status_text({**only_lenet, "AlexNet, trained whole (fractals)": None}, table)
    assert "tables only" in text and "Not computed yet" not in text


def test_no_stored_results_at_all_reads_as_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    table = R.stored_networks({})
    assert len(table) == 0
    assert "No `reference` results" in R.status_text({k: None for k in R.SETTINGS}, table)


def test_saving_again_keeps_the_settings_stored_as_tables_only(tmp_path, monkeypatch):
    res = _smoke(tmp_path, monkeypatch)
    both = {"SGD (the README's code)": res, "AlexNet, trained whole (fractals)": res}
    R.save(R.networks_table(both), R.judge(R.networks_table(both)), R.pruning_table(both))
    fresh = {"SGD (the README's code)": res, "SGD (the README's code), MNIST": res}  # AlexNet's files are gone
    table, curves = R.kept_tables(R.networks_table(fresh), R.pruning_table(fresh))
    assert set(table["setting"]) == set(fresh) | {"AlexNet, trained whole (fractals)"}
    assert set(curves["setting"]) == set(table["setting"])
    assert len(table) == 12 and not table.duplicated(["setting", "arm", "seed"]).any()


def test_the_mnist_settings_ask_for_mnist_and_judge_against_their_own_control():
    mnist = [k for k, v in R.SETTINGS.items() if v.get("digits") == "mnist"]
    assert len(mnist) == 2 and all("control" in R.SETTINGS[k]["arms"] for k in mnist)
    table = _table(0.3, 0.0).replace({"setting": {"SGD (the README's code)": mnist[0]}})
    checks = R.judge(table)
    assert set(checks["setting"]) == {mnist[0], "SGD, sqrt and square decay"}
    row = checks[(checks["setting"] == mnist[0]) & (checks["key"] == "lp_out_compact")].iloc[0]
    assert row["outcome"] == "reproduced"


def test_the_stored_whole_alexnet_run_is_shown_from_its_tables_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    assert R.stored_whole_alexnet() is None
    res = _smoke(tmp_path, monkeypatch, (1.0, 0.5))
    R.save(R.networks_table({"SGD (the README's code)": res}), R.judge(R.networks_table({"SGD (the README's code)":
                                                                                          res})))
    assert R.stored_whole_alexnet() is None  # stored, but not this setting
    both = {"SGD (the README's code)": res, R.WHOLE_ALEXNET: res}
    R.save(R.networks_table(both), R.judge(R.networks_table(both)), R.pruning_table(both))
    note, shown, curves = R.stored_whole_alexnet()
    assert "2 seeds per arm" in note and list(shown["networks"]) == [2, 2]
    assert len(curves) and "setting" not in curves
    acc = res.metrics.groupby("arm")["accuracy"].mean()
    assert shown.loc["control", "accuracy % (mean ± sd)"].startswith(f"{100 * acc['control']:.1f}")
