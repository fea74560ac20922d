"""The numbers transcribed from paper 000 are self-consistent."""

from __future__ import annotations

import pytest
from localcodes import data
from localcodes.experiments import paper000 as P000


def test_table9_parses_the_papers_values():
    t = P000.table9_long()
    assert len(t) == 36
    row = t[(t.condition == "all images") & (t["mode"] == "fixed") & (t.n_hidden == 100)].iloc[0]
    assert (row["mean"], row["sem"]) == (1.5, 0.32)
    assert (t[t["mode"] == "gaussian"]["mean"] == 0).all()
    assert list(P000.TABLE10.index) == list(data.HOT_PIXEL_CONDITIONS)


def test_paper_ks_tables_are_symmetric_where_they_overlap_and_decided_at_5_percent():
    p = P000.KS_PAPER.set_index(["a", "b"])["p"]
    for (a, b), value in p.items():
        if (b, a) in p.index:
            assert value == pytest.approx(p[(b, a)]), (a, b)
        if a == b:
            assert value == 1.0


def test_paper_table2_means_lie_between_min_and_max():
    t = P000.TABLE2
    assert ((t.loc["min"] <= t.loc["mean"]) & (t.loc["mean"] <= t.loc["max"])).all()


def test_table1_has_conditions_a_to_s():
    assert list(P000.TABLE1.index) == [chr(c) for c in range(ord("A"), ord("S") + 1)]
    assert set(P000.TABLE1["stopping"]) == {"steps", "val_loss", "train_acc"}
