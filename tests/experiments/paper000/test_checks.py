"""A chapter's stored results and checks round-trip; verdict wording."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from localcodes.experiments import paper000 as P000


def test_save_and_load_chapter_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    summary = pd.DataFrame({"width": [10, 20], "mean": [1.0, 2.0]})
    checks = [{"finding": 6, "key": "k", "claim": "c", "paper": "p", "ours": "o", "holds": np.bool_(True),
               "direction": True, "diff": np.float64(1.5), "p": 0.01},
              {"finding": None, "key": "q", "claim": "c2", "paper": "p2", "ours": "o2", "holds": None},
              {"finding": 1, "key": "r", "claim": "c3", "paper": "p3", "ours": "o3", "holds": False,
               "direction": True},
              {"finding": 1, "key": "s", "claim": "c4", "paper": "p4", "ours": "o4", "holds": False,
               "direction": True, "p": 0.2},
              {"finding": 1, "key": "t", "claim": "c5", "paper": "p5", "ours": "o5", "holds": False,
               "direction": False, "p": 0.01}]
    folder = P000.save_chapter("smoke", "99_test", summary, checks, extra=1)
    s, c = P000.load_chapter("smoke", "99_test")
    pd.testing.assert_frame_equal(s, summary)
    assert c[0]["holds"] is True and c[1]["holds"] is None
    table = pd.read_parquet(folder / "checks.parquet")
    assert table["finding"].tolist()[0] == 6 and pd.isna(table["finding"].tolist()[1])
    assert table["direction"].tolist()[2] is True and pd.isna(table["direction"].tolist()[1])
    assert json.loads((folder / "checks.json").read_text())["extra"] == 1
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["chapter"] == "99_test" and prov["scale"] == "smoke" and prov["extra"] == 1
    assert {"git_commit", "device", "date", "torch"} <= set(prov)
    assert P000.verdict_table(c)["verdict at this scale"].tolist() == [
        "reproduced", "cannot be judged", "partly (same direction)", "same direction, not significant",
        "not reproduced"]
    assert P000.verdict_lines(c).count("\n* ") == 4
