"""A chapter's stored results and checks round-trip; every check carries a verdict; how the table words it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from localcodes import verdicts as V
from localcodes.experiments import paper000 as P000


def _checks():
    rng = np.random.default_rng(0)
    clear = V.judge_difference(rng.normal(5, 1, 8), rng.normal(0, 1, 8))
    weak = V.judge_difference([1.0, -0.5, 0.2], [0.0, 0.0, 0.0], sesoi=0.5)
    other_way = V.judge_difference(rng.normal(0, 1, 8), rng.normal(5, 1, 8))
    return [P000.check(6, "k", "c", "p", "o", clear), P000.check(None, "q", "c2", "p2", "o2", weak),
            P000.check(1, "t", "c3", "p3", "o3", other_way),
            P000.check(1, "n", "c4", "p4", "o4", V.judge_difference([1.0], [0.0]))]


def test_save_and_load_chapter_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    summary = pd.DataFrame({"width": [10, 20], "mean": [1.0, 2.0]})
    folder = P000.save_chapter("smoke", "99_test", summary, _checks(), extra=1)
    s, c = P000.load_chapter("smoke", "99_test")
    pd.testing.assert_frame_equal(s, summary)
    assert [x["outcome"] for x in c] == ["reproduced", "inconclusive", "contradicted", "not run"]
    table = pd.read_parquet(folder / "checks.parquet")
    assert list(table.columns) == P000.CHECK_COLUMNS
    assert table["finding"].tolist()[0] == 6 and pd.isna(table["finding"].tolist()[1])
    assert table["n_needed"].tolist()[1] > 3 and pd.isna(table["n_needed"].tolist()[0])
    assert json.loads((folder / "checks.json").read_text())["extra"] == 1
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["chapter"] == "99_test" and prov["scale"] == "smoke" and prov["extra"] == 1
    assert {"git_commit", "device", "date", "torch"} <= set(prov)


def test_a_check_without_a_verdict_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    old_style = {"finding": 1, "key": "r", "claim": "c", "paper": "p", "ours": "o", "holds": True}
    with pytest.raises(ValueError, match=r"\['r'\] carry no verdict outcome"):
        P000.save_chapter("smoke", "99_test", pd.DataFrame(), [old_style])


def test_verdict_table_and_lines_show_the_test_and_the_networks_needed():
    table = P000.verdict_table(_checks())
    words = table["verdict at this scale"].tolist()
    assert words[0] == "reproduced" and words[2] == "contradicted" and words[3] == "not run"
    assert words[1].startswith("inconclusive (about ") and "networks a side would decide it" in words[1]
    assert table["n"].tolist()[:3] == [8, 3, 8] and "paired t-test" in table["test"].iloc[0]
    lines = P000.verdict_lines(_checks())
    assert lines.count("\n* ") == 3 and "**contradicted**" in lines
