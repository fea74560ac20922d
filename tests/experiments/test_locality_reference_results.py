"""The committed reference results of the locality prior: the source's settings, and networks that reload to the
test accuracy they were stored with."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes.book import project_root
from localcodes.experiments import locality as lpx
from localcodes.experiments import locality_reference as R

STORED = project_root() / "results" / "reference" / lpx.CHAPTER
pytestmark = pytest.mark.skipif(not (STORED / "networks.parquet").exists(), reason="no reference results committed")


def test_every_lenet_setting_has_ten_seeds_per_arm_at_the_source_settings():
    table = pd.read_parquet(STORED / "networks.parquet")
    lenet = table[table["network"] == "lenet"]
    assert len(lenet)
    for (setting, arm), rows in lenet.groupby(["setting", "arm"]):
        assert rows["seed"].nunique() >= 10, (setting, arm)
        assert (rows["epochs"] >= 10).all() and (rows["n_train"] == 60_000).all() and (rows["batch_size"] == 64).all()
    for setting, spec in R.SETTINGS.items():  # what the settings promise is what was stored
        rows = table[table["setting"] == setting]
        if len(rows):
            assert set(rows["arm"]) == set(spec["arms"]) and set(rows["optimizer"]) == {spec["optimizer"]}


def test_the_readme_code_s_networks_reach_its_accuracy_on_mnist():
    table = pd.read_parquet(STORED / "networks.parquet")
    mnist = table[table["dataset"] == "MNIST"]
    if not len(mnist):
        pytest.skip("no MNIST reference results committed yet")
    assert set(mnist["setting"]) == {k for k, v in R.SETTINGS.items() if v.get("digits") == "mnist"}
    code = mnist[mnist["setting"] == "SGD (the README's code), MNIST"].groupby("arm")["accuracy"].median()
    assert (code >= 0.97).all(), code  # the README: 98.1 % (control), 97.9 % (LP)
    # the README table's RMSProp setting (lr 0.01, weight decay 0.01) trains worse here (about 0.87 on MNIST); the
    # chapter shows it beside the code's; nothing about it is asserted


@pytest.mark.parametrize("setting", ["SGD (the README's code)", "SGD (the README's code), MNIST"])
def test_stored_networks_reload_to_their_stored_accuracy(setting):
    res = R.load(setting)
    if res is None:
        pytest.skip(f"{setting}: not stored")
    torch.set_num_threads(1)
    try:
        _, _, ev = lpx.reloaded(res, device="cpu")
    except ConnectionError as err:  # MNIST comes from the package registry; a machine without it cannot check
        pytest.skip(f"no MNIST here: {err}")
    np.testing.assert_array_equal(ev["accuracy"].cpu().numpy(), res.metrics["accuracy"].to_numpy())
