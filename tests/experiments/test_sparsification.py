"""The sparsification claim: pruned accuracy against the same network unpruned, no loss beyond a stated margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from localcodes.experiments import sparsification as spx


def _curve(loss_at: dict[float, float], weight_extra: float | None = 0.01, seeds: int = 8, sd: float = 0.002):
    """A pruning table: the linear arm loses ``loss_at[keep]`` accuracy (plus noise), pruning by |W| loses
    ``weight_extra`` more, the control loses twice as much."""
    rng = np.random.default_rng(0)
    rows = []
    for m in range(2 * seeds):
        arm, seed = ("control", m) if m < seeds else ("linear", m - seeds)
        base = 0.85 + rng.normal(0, 0.01)
        for criterion in ["magnitude", "weight"] if weight_extra is not None else ["magnitude"]:
            for keep in [1.0, *loss_at]:
                drop = 0.0 if keep == 1.0 else loss_at[keep] * (2 if arm == "control" else 1)
                if criterion == "weight" and keep < 1.0:
                    drop += weight_extra
                acc = base - drop + (0 if keep == 1.0 else rng.normal(0, sd))
                for bn in ("recalibrated", "running"):
                    rows.append({"member": m, "arm": arm, "seed": seed, "criterion": criterion, "bn": bn,
                                 "keep": keep, "accuracy": acc - (0.3 if bn == "running" else 0), "length": keep * 100})
    return pd.DataFrame(rows)


def test_small_losses_are_no_loss_and_large_ones_contradict_the_claim():
    curve = _curve({0.5: 0.001, 0.1: 0.05})
    j = spx.judge(curve).set_index(["arm", "key"])
    assert j.loc[("linear", "sparsify_0.5"), "outcome"] == "reproduced"
    assert j.loc[("linear", "sparsify_0.1"), "outcome"] == "contradicted"
    assert j.loc[("linear", "sparsify_0.1"), "effect"] == pytest.approx(-0.05, abs=0.003)
    assert j.loc[("control", "sparsify_0.1"), "outcome"] == "contradicted"
    assert j.loc[("linear", "wp_beats_w"), "outcome"] == "reproduced"  # |W| pruning loses a point more
    assert ("control", "wp_beats_w") not in j.index  # a control has no prior to ignore


def test_a_rule_or_share_that_was_not_run_is_not_run():
    j = spx.judge(_curve({0.5: 0.001}, weight_extra=None)).set_index(["arm", "key"])
    assert j.loc[("linear", "sparsify_0.1"), "outcome"] == "not run"
    assert j.loc[("linear", "wp_beats_w"), "outcome"] == "not run"


def test_loss_table_pairs_each_network_with_itself_and_finds_the_sparsest_share():
    curve = _curve({0.5: 0.0, 0.3: 0.002, 0.1: 0.03})
    t = spx.loss_table(curve)
    row = t[(t.criterion == "magnitude") & (t.arm == "linear") & (t.keep == 0.3)].iloc[0]
    assert row["effect"] == pytest.approx(row["pruned"] - row["unpruned"]) and row["outcome"] == "reproduced"
    best = spx.sparsest_equivalent(t).set_index(["criterion", "arm"])["sparsest share within the margin"]
    assert best[("magnitude", "linear")] == 0.3 and best[("magnitude", "control")] == 0.3
    assert spx.wire_table(curve).loc[("magnitude", "linear"), 0.5] == 50
    with pytest.raises(ValueError, match="curve is empty"):
        spx.loss_table(curve.iloc[:0])
