"""The rating store: restart-safe, no duplicates, refuses bad answers."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
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


def test_raters_who_open_the_chapter_at_once_get_different_numbers(tmp_path):
    path, n = tmp_path / "r.sqlite", 6
    rating.RatingStore(path).close()
    start, got, errors = threading.Barrier(n), {}, []

    def open_chapter(name):  # each rater's kernel: its own connection, all asking at the same moment
        try:
            with rating.RatingStore(path) as store:
                start.wait()
                got[name] = store.rater_index(name)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=open_chapter, args=(f"rater{i}",)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(got.values()) == list(range(n))
    with rating.RatingStore(path) as store:  # a returning rater keeps the number (and so the list)
        assert {name: store.rater_index(name) for name in got} == got
        assert store.rater_index("late") == n


def test_add_many_counts_only_its_own_new_rows_while_others_write(tmp_path):
    path, n_batches, size = tmp_path / "r.sqlite", 40, 10
    rating.RatingStore(path).close()
    start, counted = threading.Barrier(2), {}

    def writer(name):
        with rating.RatingStore(path) as store:
            start.wait()
            total = 0
            for b in range(n_batches):
                frame = pd.DataFrame({"rater": name, "layer": "fc8", "unit": range(size),
                                      "panel": [f"{b}.{u}" for u in range(size)], "yes": False})
                total += store.add_many(frame)
            counted[name] = total

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counted == {"ann": n_batches * size, "bob": n_batches * size}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("unit", 1.7, r"unit must be an integer >= 0.*got 1.7"),
        ("unit", "3", r"unit must be an integer"),
        ("unit", -1, r"unit must be an integer >= 0"),
        ("unit", True, r"unit must be an integer"),
        ("rater", None, r"rater must be a non-empty string.*got None"),
        ("rater", 7, r"rater must be a non-empty string"),
        ("layer", None, r"layer must be a non-empty string"),
        ("panel", 3.5, r"panel must be a non-empty string"),
        ("yes", 2, r"yes must be True or False \(or 1/0\); got 2"),
        ("yes", "no", r"yes must be True or False"),
        ("yes", np.int64(5), r"yes must be True or False"),
        ("named", 3, r"named must be a string or None"),
        ("seconds", -3, r"seconds must be a finite number >= 0 or None; got -3"),
        ("seconds", float("inf"), r"seconds must be a finite number >= 0"),
        ("seconds", "4", r"seconds must be a finite number >= 0"),
        ("when", 5, r"when must be an ISO time string, a datetime or None"),
    ],
)
def test_answers_of_the_wrong_type_are_refused_naming_the_parameter(tmp_path, field, value, message):
    answer = {"rater": "ann", "layer": "fc8", "unit": 1, "panel": "p", "yes": True, "named": "dog"}
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError, match=message):
            store.add(**{**answer, field: value})
        with pytest.raises(ValueError, match=message):
            column = "time" if field == "when" else field  # the frame's name for add's ``when``
            store.add_many(pd.DataFrame([{**answer, "kind": "human", column: value}]))
        assert store.count() == 0
        assert store.add(**answer, seconds=np.float32(2.5)) and store.add_many(
            pd.DataFrame({"rater": "bob", "layer": "fc8", "unit": np.array([1, 2]), "panel": ["p", "q"],
                          "yes": [True, False], "named": ["dog", None], "seconds": [1.0, np.nan]})) == 2
        frame = store.frame()
    assert frame.unit.tolist() == [1, 1, 2] and frame.seconds.fillna(-1).tolist() == [2.5, 1.0, -1]


def test_a_damaged_store_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(OSError, match=f"{path}.*not a readable rating store"):
        rating.RatingStore(path)
