"""The teaching page: ensembles grown in seconds, the live widget's callback, the explorer over stored sweeps (in
headless Chromium, offline, as the static page shows it) and the chapter at smoke scale."""

from __future__ import annotations

import json
import shutil

import nbformat
import pandas as pd
import pytest
from localcodes import book, charts
from localcodes.experiments import paper000 as P000
from localcodes.experiments import teaching as T
from localcodes.store import write_json, write_parquet

# seconds on one CPU core; dropout 70 % triples these networks' local codes (9.5 → 32.5 per network)
SMALL = T.Recipe(n_hidden=100, networks=2, n_per_class=10, epochs=100)


def test_recipe_refuses_impossible_settings():
    with pytest.raises(ValueError, match="sparseness"):
        T.Recipe(sparseness=1.0)
    with pytest.raises(ValueError, match="networks"):
        T.Recipe(networks=0)
    assert "dropout 70%" in SMALL.with_(dropout=0.7).label() and "S_R 1/9" in SMALL.with_(sparseness=1 / 9).label()


def test_grow_counts_local_codes_as_the_selectivity_tools_do():
    grown = T.grow(SMALL)
    assert list(grown.final["network"]) == [0, 1] and grown.count == grown.final["lc_pairs"].mean()
    assert int(grown.final.loc[0, "lc_pairs"]) == len(grown.codes)  # network 0's own measures agree
    assert len(grown.acts) == len(grown.labels) and grown.acts.shape[1] == SMALL.n_hidden
    assert "local codes per network" in T.summary(grown)
    assert list(T.measures(grown).index)[0] == "local code (on or off)"
    spec = T.jitterplot(grown).to_dict()
    assert spec["params"][0]["name"] == "unit"


def test_the_widgets_callback_retrains_and_changes_the_count():
    pytest.importorskip("ipywidgets")
    grower = T.Grower(SMALL)
    assert set(grower.controls) == {"n_hidden", "dropout", "noise_std", "sparseness", "output", "networks"}
    first = grower.regrow()
    shown = grower.count.value
    assert f"{first.count:.1f} local codes per network" in shown
    grower.controls["dropout"].value = 0.7
    assert grower.current() == SMALL.with_(dropout=0.7)
    second = grower.regrow()  # what a press of the button runs
    assert second.recipe.dropout == 0.7 and second.count != first.count
    assert grower.count.value != shown and f"{second.count:.1f} local codes per network" in grower.count.value
    assert [r["local codes per network"] for r in grower.runs] == [round(first.count, 1), round(second.count, 1)]
    assert not grower.button.disabled and grower.button.description == "grow"


def test_compare_reuses_the_grown_recipe_and_varies_one_setting():
    grown = T.grow(SMALL)
    table = T.compare(SMALL, {"dropout 70 %": {"dropout": 0.7}}, grown)
    assert list(table.index) == ["as set", "dropout 70 %"]
    assert table.loc["as set", "local codes per network"] == round(grown.count, 1)
    assert table.loc["dropout 70 %", "local codes per network"] > table.loc["as set", "local codes per network"]


@pytest.fixture
def stored(tmp_path, monkeypatch):
    """A results root with a few networks of each explored chapter, as those chapters store them."""
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path / "results"))
    P000.set_cpu_threads(1)
    training = {"optimizer": "sgd", "lr": 2.0, "batch_size": 32, "epochs": 3, "seed": 0}
    P000.code_sweep("smoke", [{}, {"random_weight": 1 / 9}, {"output": "onehot"}], [5, 8], 1, training)
    dropout = pd.DataFrame({"dropout": [0.0, 0.0, 0.5, 0.5], "lc_pairs": [1, 2, 5, 6], "lc_units": [1, 2, 4, 5],
                            "train_acc": [1.0, 1.0, 0.9, 1.0]})
    folder = tmp_path / "results" / "smoke" / T.STORED[3]
    write_parquet(folder / "final.parquet", dropout)
    write_json(folder / "provenance.json", {"parameters": {"n_hidden": 20}})
    noise = pd.DataFrame({"n_hidden": [20, 20], "sigma": [0.0, 0.5], "lc_pairs": [3, 1], "lc_units": [3, 1],
                          "train_acc": [1.0, 1.0]})
    write_parquet(tmp_path / "results" / "smoke" / T.STORED[4] / "final.parquet", noise)
    return tmp_path / "results"


def test_stored_networks_gather_each_experiment_from_its_chapter(stored):
    rows = T.stored_networks("smoke")
    assert list(dict.fromkeys(rows["experiment"])) == list(T.EXPERIMENTS)
    by = rows.groupby("experiment")
    assert set(by.get_group(T.EXPERIMENTS[0])["setting"]) == {"5", "8"}
    assert set(by.get_group(T.EXPERIMENTS[1])["setting"]) == {"1/9", "1/3"}
    assert set(by.get_group(T.EXPERIMENTS[2])["setting"]) == {"distributed", "onehot"}
    assert set(by.get_group(T.EXPERIMENTS[3])["n_hidden"]) == {20}  # from the chapter's recorded parameters
    assert list(by.get_group(T.EXPERIMENTS[4])["setting"]) == ["0", "0.5"]
    assert T.stored_networks("paper").empty


def test_the_explorer_offers_experiments_measures_and_an_accuracy_floor(stored):
    spec = T.explorer(T.stored_networks("smoke")).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["experiment"]["bind"]["options"] == list(T.EXPERIMENTS)
    assert params["measure"]["bind"]["options"] == list(T.MEASURES)
    assert params["min_accuracy"]["bind"]["input"] == "range"
    with pytest.raises(ValueError, match="no stored networks"):
        T.explorer(T.stored_networks("paper"))


@pytest.mark.slow
@pytest.mark.browser
def test_the_static_explorer_switches_experiment_offline_in_chromium(stored, tmp_path):
    """The explorer as the static page draws it (the book's renderer and vendored scripts, from file://, with the
    network off): choosing another experiment redraws the chart."""
    from playwright.sync_api import sync_playwright

    static = book.vendor(static_dir=tmp_path / "static")
    scripts = "".join(f'<script src="{(static / n).as_uri()}"></script>'
                      for n in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js"))
    html = charts.render(T.explorer(T.stored_networks("smoke")).to_dict())["text/html"]
    page_path = tmp_path / "explorer.html"
    page_path.write_text(f"<!doctype html><html><head><meta charset='utf-8'>{scripts}</head><body>{html}</body></html>")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(offline=True).new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_selector(".localcodes-chart svg")
        chart = page.locator(".localcodes-chart")
        before = chart.locator("svg").inner_html()
        chart.locator("select").first.select_option(T.EXPERIMENTS[3])
        page.wait_for_timeout(300)
        after = chart.locator("svg").inner_html()
        assert before != after and "50%" in after  # the dropout experiment's settings on the x axis
        assert not problems, problems
        browser.close()


@pytest.mark.slow
def test_the_chapter_runs_at_smoke_scale(stored, tmp_path):
    path = book.run_chapter("28_grow_your_own", "smoke", out_dir=tmp_path / "book", progress=False)
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps([o.get("data", {}) for o in outputs])
    assert "local codes per network" in text and "needs a running Python kernel" in text
    assert "stored networks from 5 chapters" in text
    assert text.count("localcodes-chart") >= 2  # the book's offline charts: jitterplot and explorer
    assert not [k for o in outputs for k in o.get("data", {}) if "widget" in k]  # the widget is live only
