"""The rating store: restart-safe, no duplicates, refuses bad answers."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from localcodes import rating


def _answers(rater, kind="human"):
    return pd.DataFrame(
        {
            "rater": rater,
            "kind": kind,
            "layer": ["conv5", "conv5", "fc8"],
            "unit": [0, 1, 3],
            "panel": ["p/conv5.0.png", "p/conv5.1.png", "p/fc8.3.png"],
            "yes": [True, False, True],
            "named": ["dog", None, "shoe"],
        }
    )


def test_store_survives_a_restart_without_duplicating_or_losing_answers(tmp_path):
    path = tmp_path / "ratings.sqlite"
    store = rating.RatingStore(path)
    assert store.add("ann", "conv5", 0, "p/conv5.0.png", True, "dog") is True
    assert store.add("ann", "conv5", 1, "p/conv5.1.png", False) is True
    # the process dies here: no close(); a second connection (a restarted kernel) sees both answers
    with rating.RatingStore(path) as again:
        assert again.count() == 2
        assert again.answered("ann") == {"p/conv5.0.png", "p/conv5.1.png"}
        # answering the same panel again is ignored, and the first answer stands
        assert again.add("ann", "conv5", 0, "p/conv5.0.png", False) is False
        # a batch that overlaps what is stored adds only what is new
        assert again.add_many(_answers("ann")) == 1
        assert again.add_many(_answers("bob")) == 3
        assert again.add_many(_answers("bob")) == 0
    store.close()
    with rating.RatingStore(path) as final:
        frame = final.frame()
    assert len(frame) == 6
    assert not frame.duplicated(["rater", "panel"]).any()
    first = frame[(frame.rater == "ann") & (frame.panel == "p/conv5.0.png")].iloc[0]
    assert bool(first.yes) is True and first.named == "dog"
    # the file is a plain SQLite database any tool can read
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM ratings WHERE rater = 'bob'").fetchone()[0] == 3


def test_store_refuses_bad_answers(tmp_path):
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match="kind must be one of"):
            store.add("ann", "fc8", 0, "x", True, kind="robot")
        with pytest.raises(ValueError, match="rater must be"):
            store.add("  ", "fc8", 0, "x", True)
        with pytest.raises(ValueError, match="lacks the column"):
            store.add_many(pd.DataFrame({"rater": ["a"]}))


def test_rater_index_is_stable_across_sessions(tmp_path):
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        assert store.rater_index("ann") == 0
        store.add("ann", "fc8", 0, "a", True, "dog", when="2024-01-01T00:00:00")
        store.add("bob", "fc8", 0, "a", False, when="2024-01-02T00:00:00")
        store.add("ann", "fc8", 1, "b", False, when="2024-01-03T00:00:00")
        assert (store.rater_index("ann"), store.rater_index("bob"), store.rater_index("cid")) == (0, 1, 2)
