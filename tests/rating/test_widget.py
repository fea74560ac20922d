"""The live rater: records answers, resumes, and its controls work."""

from __future__ import annotations

import pandas as pd
import pytest
from localcodes import rating
from PIL import Image


def _order(tmp_path, n=4):
    rows = []
    for u in range(n):
        path = tmp_path / f"fc8.{u}.png"
        Image.new("L", (8, 8), color=u * 40).save(path)
        rows.append({"layer": "fc8", "unit": u, "panel": str(path)})
    return pd.DataFrame(rows)


def test_rating_session_records_answers_and_resumes(tmp_path):
    order = _order(tmp_path)
    store = rating.RatingStore(tmp_path / "r.sqlite")
    session = rating.RatingSession(store, "ann", order)
    assert session.remaining == 4 and session.current.unit == 0
    with pytest.raises(ValueError, match="needs the object"):
        session.submit(True, "  ")
    session.submit(True, "shoe")
    session.submit(False)
    store.close()
    # a new kernel: the session starts at the third panel, and the answers are there
    store = rating.RatingStore(tmp_path / "r.sqlite")
    resumed = rating.RatingSession(store, "ann", order)
    assert resumed.remaining == 2 and resumed.current.unit == 2
    # the widget: answering through its controls stores the answer and shows the next panel
    box = resumed.widget
    assert resumed.controls["image"].value == (tmp_path / "fc8.2.png").read_bytes()
    resumed.controls["button"].click()  # no answer chosen: nothing stored
    assert store.count() == 2 and "yes or no" in resumed.controls["message"].value
    resumed.controls["answer"].value, resumed.controls["name"].value = "yes", "Boot"
    resumed.controls["button"].click()
    resumed.controls["answer"].value = "no"
    resumed.controls["button"].click()
    assert (
        resumed.remaining == 0
        and resumed.controls["button"].disabled
        and "all 4 panels rated" in resumed.controls["progress"].value
    )
    frame = store.frame()
    assert frame["panel"].tolist() == order["panel"].tolist()
    assert frame["named"].fillna("-").tolist() == ["shoe", "-", "Boot", "-"]
    assert frame["seconds"].notna().all() and box is resumed.widget
    with pytest.raises(ValueError, match="finished"):
        resumed.submit(False)
    store.close()


def test_the_raters_name_is_escaped_in_the_widgets_html(tmp_path):
    order = _order(tmp_path, n=1)
    name = '<img src=x onerror="alert(1)"> & co'
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        session = rating.RatingSession(store, name, order)
        progress = session.controls["progress"].value
        assert "<img" not in progress and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in progress
        session.controls["answer"].value = "no"
        session.controls["button"].click()
        assert "<img" not in session.controls["progress"].value and "all 1 panels rated" in \
            session.controls["progress"].value
        assert store.frame().rater.tolist() == [name]  # stored as typed; escaped only where shown as HTML
        for bad in (None, 3, "  "):  # not stored as "None" or "3"
            with pytest.raises(ValueError, match="rater must be a non-empty string"):
                rating.RatingSession(store, bad, order)
