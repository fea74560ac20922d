"""Verdicts on the seven findings from stored results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes.experiments import paper000 as P000


def test_verdicts_follow_their_rules():
    rng = np.random.default_rng(0)
    drop = pd.DataFrame(
        {"dropout %": np.repeat([0, 90], 30), "lc_pairs": np.r_[rng.poisson(2, 30), rng.poisson(40, 30)]}
    )
    assert P000.verdict_dropout(drop)[0] == P000.REPRODUCED
    assert P000.verdict_dropout(drop.assign(lc_pairs=drop["lc_pairs"][::-1].to_numpy()))[0] == P000.NOT
    assert P000.verdict_dropout(None)[0] == P000.NOT_RUN
    comp = pd.DataFrame(
        {"n_hidden": [250, 500], "control": [4.0, 10.0], "shuffled": [2.0, 1.0], "p": [0.2, 0.03]}
    )
    assert P000.verdict_memorisation(comp)[0] == P000.REPRODUCED
    assert P000.verdict_memorisation(comp.assign(p=[0.2, 0.3]))[0] == P000.PARTLY
    assert P000.verdict_memorisation(comp.assign(shuffled=[5.0, 12.0]))[0] == P000.NOT
    tests = pd.DataFrame({"n_hidden": [100, 100, 1000, 1000], "difference": [-1.0, -2.0, 1.0, 3.0]})
    assert P000.verdict_noise(tests)[0] == P000.REPRODUCED
    assert P000.verdict_noise(tests.assign(difference=[-3.0, -2.0, -1.0, 0.0]))[0] == P000.PARTLY
    assert P000.verdict_noise(tests.assign(difference=[3.0, 2.0, -1.0, 0.0]))[0] == P000.NOT
    turning = pd.DataFrame(
        {"turning_point": [100.0, 110.0, np.nan], "train_acc_99": [90.0, 100.0, 80.0], "epochs": [225.0] * 3}
    )
    assert P000.verdict_stopping(turning)[0] == P000.REPRODUCED
    assert P000.verdict_stopping(turning, tolerance=0.01)[0] == P000.PARTLY
    fits = pd.DataFrame(
        {
            "accuracy": ["classification"] * 2,
            "n_hidden": [250, 500],
            "gradient": [30.0, -5.0],
            "r2": [0.4, 0.1],
            "p": [0.001, 0.2],
        }
    )
    assert P000.verdict_generalisation(fits)[0] == P000.REPRODUCED
    assert P000.verdict_generalisation(fits.assign(p=[0.5, 0.5]))[0] == P000.NOT


def test_combined_verdicts():
    assert P000.combine_verdicts([P000.REPRODUCED, P000.NOT_RUN]) == P000.REPRODUCED
    assert P000.combine_verdicts([P000.REPRODUCED, P000.NOT]) == P000.PARTLY
    assert P000.combine_verdicts([P000.NOT, P000.NOT]) == P000.NOT
    assert P000.combine_verdicts([P000.NOT_RUN]) == P000.NOT_RUN


def test_findings_table_reads_stored_results_and_says_not_run_when_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    from localcodes.store import results_dir, write_parquet

    ev, per = P000.findings_table("smoke")
    assert (ev["verdict"] == P000.NOT_RUN).all() and (per["verdict"] == P000.NOT_RUN).all()
    comp = pd.DataFrame({"n_hidden": [250], "control": [4.0], "shuffled": [1.0], "p": [0.01]})
    write_parquet(results_dir("smoke", "21_memorisation") / "compare.parquet", comp)
    ev, per = P000.findings_table("smoke")
    assert per.set_index("finding").loc[2, "verdict"] == P000.REPRODUCED
    assert per.set_index("finding").loc[4, "verdict"] == P000.NOT_RUN
    page = P000.evidence_html(ev)
    assert page.count("<tr") == len(ev) + 1  # header + one row per piece of evidence
    assert '<a href="21_memorisation.html">21_memorisation</a>' in page
    assert "<code>holds</code>" in page or "verdict_memorisation" in page
    odd = ev.head(1).assign(detail="a < b & `x`")
    assert "a &lt; b &amp; <code>x</code>" in P000.evidence_html(odd, link_suffix=None)
    with pytest.raises(ValueError):
        P000.evidence_html(ev.drop(columns=["detail"]))
