"""The rating store (restart-safe), counterbalanced lists, the live rater, the observer panel and Table 2."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import rating

CLASSES = ["dog", "cat", "shoe"]


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


def test_counterbalanced_lists_balance_layers_and_rotate_positions():
    panels = pd.DataFrame(
        {
            "layer": ["conv5"] * 8 + ["fc6"] * 32 + ["fc8"] * 16,
            "unit": list(range(8)) + list(range(32)) + list(range(16)),
        }
    )
    plan = rating.counterbalanced_lists(panels, n_lists=4, seed=1)
    assert len(plan) == len(panels) and not plan.duplicated(["layer", "unit"]).any()
    counts = plan.groupby(["list", "layer"]).size().unstack()
    assert (counts["conv5"] == 2).all() and (counts["fc6"] == 8).all() and (counts["fc8"] == 4).all()
    # positions 0..n-1 within each list; layers interleave (the first 14 of a list are not all one layer)
    for _, g in plan.groupby("list"):
        assert sorted(g["position"]) == list(range(len(g)))
        assert g.sort_values("position")["layer"].iloc[:14].nunique() > 1
    # raters 0 and 4 share list 0 but see it in different orders; both see every panel of it once
    a, b = rating.rater_order(plan, 0), rating.rater_order(plan, 4)
    assert set(zip(a.layer, a.unit, strict=True)) == set(zip(b.layer, b.unit, strict=True))
    assert list(a.unit) != list(b.unit)
    assert a.iloc[0].tolist() != b.iloc[0].tolist()
    with pytest.raises(ValueError, match="n_lists"):
        rating.counterbalanced_lists(panels, 0)


def _order(tmp_path, n=4):
    from PIL import Image

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
    assert resumed._image.value == (tmp_path / "fc8.2.png").read_bytes()
    resumed._button.click()  # no answer chosen: nothing stored
    assert store.count() == 2 and "yes or no" in resumed._message.value
    resumed._answer.value, resumed._name.value = "yes", "Boot"
    resumed._button.click()
    resumed._answer.value = "no"
    resumed._button.click()
    assert (
        resumed.remaining == 0
        and resumed._button.disabled
        and "all 4 panels rated" in resumed._progress.value
    )
    frame = store.frame()
    assert frame["panel"].tolist() == order["panel"].tolist()
    assert frame["named"].fillna("-").tolist() == ["shoe", "-", "Boot", "-"]
    assert frame["seconds"].notna().all() and box is resumed.widget
    with pytest.raises(ValueError, match="finished"):
        resumed.submit(False)
    store.close()


def _ratings(rows):
    """rows: (layer, unit, [named or None for 'no'])."""
    out = []
    for layer, unit, answers in rows:
        for i, named in enumerate(answers):
            out.append(
                {
                    "rater": f"r{i}",
                    "layer": layer,
                    "unit": unit,
                    "panel": f"{layer}.{unit}",
                    "yes": named is not None,
                    "named": named,
                }
            )
    return pd.DataFrame(out)


HAND = _ratings(
    [
        ("conv5", 0, ["dog", "dog", "Dog ", "cat", "dog"]),  # 5/5 yes, 4/5 name dog
        ("conv5", 1, ["shoe", "shoe", "shoe", "shoe", None]),  # 4/5 yes = 80%: consistent, all name shoe
        ("conv5", 2, ["dog", None, "cat", "shoe", None]),  # 3/5 yes: not consistent
        ("conv5", 3, [None] * 5),
        ("fc8", 0, ["shoe"] * 5),
        ("fc8", 1, ["cat", "cat", "dog", "dog", "shoe"]),  # tie cat/dog → cat (alphabetical); agreement 2/5
    ]
)
UNITS = pd.DataFrame(
    {
        "layer": ["conv5"] * 4 + ["fc8"] * 2,
        "unit": [0, 1, 2, 3, 0, 1],
        "top_class": [0, 1, 2, 0, 2, 1],
        "ccmas_class": [1, 2, 2, 0, 2, 0],
        "top_class_selectivity": [0.01, 0.02, 0.5, 0.6, 0.9, 0.8],
    }
)


def test_table2_on_hand_made_ratings_gives_hand_checked_numbers():
    t = rating.table2(HAND, UNITS, class_names=CLASSES)
    c, f = t.loc["conv5"], t.loc["fc8"]
    # conv5: 20 answers, 12 yes; units 0 and 1 consistent (100%, 80%); agreement 4/5 and 4/4
    assert (c.n_judgments, c.n_units, c.n_consistent) == (20, 4, 2)
    assert c.yes_share == pytest.approx(60.0) and c.yes_share_se == pytest.approx(
        100 * np.sqrt(0.6 * 0.4 / 20)
    )
    assert c.consistent_share == pytest.approx(50.0) and c.consistent_share_se == pytest.approx(25.0)
    assert c.agreement == pytest.approx(90.0) and c.agreement_se == pytest.approx(10.0)
    # unit 0 names dog = its top class (not its CCMAS class cat); unit 1 names shoe = its CCMAS class
    assert c.top_class_overlap == pytest.approx(50.0) and c.ccmas_overlap == pytest.approx(50.0)
    assert c.top_class_overlap_se == pytest.approx(100 * np.sqrt(0.25 / 2))
    # fc8: every answer yes; agreement (5/5 + 2/5) / 2; both modal objects are the top class, one the CCMAS
    # class
    assert f.yes_share == 100.0 and f.yes_share_se == 0.0 and f.consistent_share == 100.0
    assert f.agreement == pytest.approx(70.0) and f.agreement_se == pytest.approx(30.0)
    assert f.top_class_overlap == pytest.approx(100.0) and f.ccmas_overlap == pytest.approx(50.0)


def test_table2_groups_names_with_synonyms_and_takes_class_names():
    units = UNITS.assign(
        top_class=[CLASSES[i] for i in UNITS.top_class], ccmas_class=[CLASSES[i] for i in UNITS.ccmas_class]
    )
    plain = rating.table2(HAND, units)
    assert plain.loc["conv5", "agreement"] == pytest.approx(90.0)  # same numbers from names as from ids
    animal = rating.table2(HAND, units, synonyms={"dog": "animal", "cat": "animal"})
    assert animal.loc["conv5", "agreement"] == pytest.approx(100.0)
    assert animal.loc["fc8", "agreement"] == pytest.approx((1 + 0.8) / 2 * 100)
    with pytest.raises(ValueError, match="units lacks rated units"):
        rating.table2(HAND, UNITS.iloc[:3], class_names=CLASSES)


def test_unit_summary_and_interpretable_selectivity():
    summ = rating.unit_summary(HAND)
    assert summ.loc[("conv5", 0), "object"] == "dog" and summ.loc[("fc8", 1), "object"] == "cat"
    assert summ["consistent"].tolist() == [True, True, False, False, True, True]
    sel = rating.interpretable_selectivity(summ, UNITS)
    assert sel.loc["conv5", "n_interpretable"] == 2
    assert sel.loc["conv5", "mean_interpretable"] == pytest.approx(0.015)
    assert sel.loc["conv5", "mean_all"] == pytest.approx((0.01 + 0.02 + 0.5 + 0.6) / 4)
    assert sel.loc["conv5", "max_interpretable"] == pytest.approx(0.02)


def test_paper_table2_errors_are_binomial_standard_errors():
    """The reading of the paper's ± that table2 reproduces: sqrt(p(1-p)/n) over answers, and over units."""
    p = rating.PAPER_TABLE2
    se = 100 * np.sqrt(p.yes_share / 100 * (1 - p.yes_share / 100) / p.n_judgments)
    assert np.allclose(se, p.yes_share_se, atol=0.06)
    se_units = 100 * np.sqrt(p.consistent_share / 100 * (1 - p.consistent_share / 100) / p.n_units)
    assert np.allclose(se_units, p.consistent_share_se, atol=0.06)


def _toy_images(n_per_class, size=16, seed=0):
    """Three classes: a bright bar at the top, the middle or the bottom, with noise."""
    g = torch.Generator().manual_seed(seed)
    imgs, labels = [], []
    for c in range(3):
        x = torch.rand((n_per_class, size, size), generator=g) * 60
        x[:, 2 + c * 5 : 5 + c * 5, 2:-2] += 180
        imgs.append(x)
        labels.append(torch.full((n_per_class,), c))
    return torch.cat(imgs).round().to(torch.uint8), torch.cat(labels)


def test_observer_panel_says_yes_to_consistent_panels_and_names_the_class(tmp_path):
    x, y = _toy_images(200)
    ensembles, table = rating.train_observers(
        x,
        y,
        per_arch=2,
        epochs=2,
        batch_size=32,
        seed=0,
        test=_toy_images(30, seed=1),
        cache_dir=tmp_path,
        progress=False,
    )
    assert list(table.rater) == ["mlp-0", "mlp-1", "cnn-0", "cnn-1"]
    assert (table.test_accuracy > 0.9).all()
    tx, ty = _toy_images(10, seed=2)
    mixed = torch.cat([tx[ty == c][:4] for c in range(3)])[:10]  # 4 + 4 + 2 of the three classes
    scrambled = rating.phase_scrambled(tx[ty == 1], torch.Generator().manual_seed(5))
    panels = {("fc8", 0): tx[ty == 2], ("fc8", 1): mixed, ("conv5", 7): tx[ty == 0], ("fc6", 3): scrambled}
    r = rating.observer_ratings(ensembles, panels, CLASSES, min_confidence=0.5, min_share=0.5)
    assert len(r) == 4 * 4 and set(r.rater) == set(table.rater)
    assert not r[r.layer == "fc6"]["yes"].any()  # "no object": the observers learnt a reject class
    by = r.groupby(["layer", "unit"])
    assert by.get_group(("fc8", 0))["yes"].all() and (by.get_group(("fc8", 0))["named"] == "shoe").all()
    assert by.get_group(("conv5", 7))["yes"].all() and (by.get_group(("conv5", 7))["named"] == "dog").all()
    assert not by.get_group(("fc8", 1))["yes"].any() and by.get_group(("fc8", 1))["named"].isna().all()
    # the answers go straight into the store; a second pass adds nothing
    with rating.RatingStore(tmp_path / "r.sqlite") as store:
        assert store.add_many(r) == 16 and store.add_many(r) == 0
    # the cache: the same settings load the trained observers instead of training again
    again, table2 = rating.train_observers(
        x, y, per_arch=2, epochs=2, batch_size=32, seed=0, cache_dir=tmp_path, progress=False
    )
    pd.testing.assert_frame_equal(table2, table)
    for a, b in zip(again, ensembles, strict=True):
        for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert torch.equal(v.cpu(), w.cpu()), k


def test_phase_scrambling_keeps_each_histogram_but_not_the_shape():
    x, _ = _toy_images(5)
    s = rating.phase_scrambled(x, torch.Generator().manual_seed(0))
    assert s.shape == x.shape and s.dtype == torch.uint8
    xf, sf = x.double(), s.double()
    assert torch.equal(s.flatten(1).sort(1).values, x.flatten(1).sort(1).values)  # same pixel histogram
    # the bar (rows 2-4 of class 0) is no longer brighter than the rest
    bar = (xf[:5, 2:5].mean() - xf[:5, 8:].mean(), sf[:5, 2:5].mean() - sf[:5, 8:].mean())
    assert bar[0] > 100 and abs(bar[1]) < 40


def test_observers_are_independent_members():
    """Training one member does not touch another's weights (grouped convs, batched matmuls)."""
    ens = rating.ObserverEnsemble(3, "cnn", 3, 16)
    x = torch.randn(4, 3, 16, 16)
    x2 = x.clone()
    x2[:, 1] += 1.0  # change what member 1 sees only
    out, out2 = ens(x), ens(x2)
    assert torch.equal(out[:, 0], out2[:, 0]) and torch.equal(out[:, 2], out2[:, 2])
    assert not torch.equal(out[:, 1], out2[:, 1])
    with pytest.raises(ValueError, match="arch must be one of"):
        rating.ObserverEnsemble(2, "transformer")
