"""The chapter runner, and the whole book built at smoke scale and opened offline in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from localcodes import book
from localcodes.cli import main as cli_main
from localcodes.experiments import paper000 as P000
from localcodes.store import REQUIRED_SCALES, SCALES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL = ("file:", "data:", "blob:")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.mark.parametrize("name", list(book.chapters()))
def test_every_chapter_declares_its_parameters_for_every_scale(name):
    spec = book.chapter_spec(name)
    assert set(REQUIRED_SCALES) <= set(spec.presets) <= set(SCALES)
    for scale, preset in spec.presets.items():
        missing = [k for k in spec.params if k != "scale" and k not in preset]
        assert not missing, f"{name}: preset {scale!r} lacks {missing}"
    assert spec.params["scale"] == "book"


def test_runner_refuses_unknown_names_listing_the_allowed_ones():
    spec = book.chapter_spec("01_introduction")
    with pytest.raises(ValueError, match=r"(?s)unknown parameter\(s\) \[.n_hidden.\].*n_per_class"):
        book.validate(spec, "book", {"n_hidden": 3})


def test_runner_refuses_bad_values_and_scales():
    spec = book.chapter_spec("introduction")
    with pytest.raises(ValueError,
                       match=r"n_per_class=.many. is not an integer; n_per_class takes an integer in \[1, 10000\]"):
        book.validate(spec, "book", {"n_per_class": "many"})
    with pytest.raises(ValueError, match="scale must be one of"):
        book.validate(spec, "huge", {})
    assert book.validate(spec, "smoke", {"n_per_class": 20}) == {"scale": "smoke", "n_per_class": 20}


def test_choices_are_enforced():
    spec = book.ChapterSpec("x", Path("x.py"), params={"scale": "book", "act": None},
                            presets={s: {"act": "sigmoid"} for s in SCALES}, choices={"act": ["sigmoid", "relu"]})
    with pytest.raises(ValueError, match=r"act='tanh' is not allowed; act takes one of \['sigmoid', 'relu'\]"):
        book.validate(spec, "book", {"act": "tanh"})
    assert book.validate(spec, "book", {"act": "relu"})["act"] == "relu"


def test_unknown_chapter_lists_the_chapters():
    with pytest.raises(ValueError, match="01_introduction"):
        book.chapter_spec("no_such_chapter")


def test_parse_value_reads_literals():
    assert book.parse_value("[100, 500]") == [100, 500]
    assert book.parse_value("0.5") == 0.5
    assert book.parse_value("true") is True
    assert book.parse_value("sigmoid") == "sigmoid"


def test_settings_applies_overrides_and_refuses_unknown():
    presets = {"book": {"a": 1, "b": [1, 2]}}
    s = book.settings(presets, "book", a=None, b=[3])
    assert (s.a, s.b, s.scale) == (1, [3], "book")
    with pytest.raises(ValueError, match="unknown setting"):
        book.settings(presets, "book", c=1)


def test_cli_refuses_bad_parameters_before_any_work(tmp_path, capsys):
    code = cli_main(["run", "01_introduction", "--scale", "smoke", "-p", "n_hidden", "3", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "n_hidden" in err and "n_per_class" in err
    assert not list(tmp_path.glob("*.ipynb"))


@pytest.mark.slow
def test_whole_book_builds_at_smoke_scale_with_every_chapter(smoke_book):
    out, index = smoke_book.out, smoke_book.index
    assert index.exists()
    html = out / "_build" / "html"
    for name in book.chapters():
        assert (html / "book" / f"{name}.html").exists(), f"chapter {name} missing from the build"
    status = (html / "book" / "status.html").read_text()
    for name in book.chapters():
        assert name in status
    for executed in (out / "book").glob("*.ipynb"):
        cells = json.loads(executed.read_text())["cells"]
        # a library progress bar saved as an ipywidget makes the page fetch widget fonts that are not there
        widgets = [k for cell in cells for o in cell.get("outputs", []) for k in o.get("data", {}) if "widget" in k]
        assert not widgets, f"{executed.name} saved widget outputs {widgets}"
        bars = [o["text"][:80] for cell in cells for o in cell.get("outputs", [])
                if o.get("output_type") == "stream" and re.search(r"\d+/\d+ \[\d", "".join(o["text"]))]
        assert not bars, f"{executed.name} saved progress bars as text: {bars[:3]}"
        tags = [cell["metadata"].get("tags", []) for cell in cells]
        setup = [t for t in tags if "injected-parameters" in t or "presets" in t]
        assert len(setup) == 2 and all("hide-input" in t for t in setup), f"{executed.name}: setup cells {setup}"
    for page in html.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert not re.search(r'src="https?://', text), f"{page} loads a script from the network"
        assert not re.search(r'<link[^>]+href="https?://[^"]+\.css', text), f"{page} loads CSS from the network"


@pytest.mark.slow
@pytest.mark.browser
def test_book_works_offline_in_chromium(smoke_book):
    from playwright.sync_api import sync_playwright

    out = smoke_book.out
    html = out / "_build" / "html"
    pages = [html / "book" / f"{name}.html" for name in book.chapters()]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True)
        for path in pages:
            page = context.new_page()
            problems: list[str] = []
            remote: list[str] = []
            page.on("console", lambda m, pr=problems: pr.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e, pr=problems: pr.append(f"pageerror: {e}"))
            page.on("request", lambda r, rm=remote: rm.append(r.url) if not r.url.startswith(LOCAL) else None)
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            charts = page.locator(".localcodes-chart")
            n = charts.count()
            if n:
                page.wait_for_function(
                    "n => document.querySelectorAll('.localcodes-chart svg').length >= n", arg=n, timeout=30_000
                )
            assert not problems, f"{path.name}: {problems}"
            assert not remote, f"{path.name} tried the network: {remote}"
            page.close()

        # the Introduction's jitterplot: choosing another unit redraws the plot
        page = context.new_page()
        page.goto((html / "book" / "01_introduction.html").as_uri())
        page.wait_for_selector(".localcodes-chart svg")
        chart = page.locator(".localcodes-chart").filter(has=page.locator("select")).first
        before = chart.locator("svg").inner_html()
        chart.locator("select").first.select_option(index=2)
        page.wait_for_timeout(300)
        after = chart.locator("svg").inner_html()
        assert before != after, "changing the unit selector did not change the jitterplot"
        browser.close()


def test_progress_bars_are_off_in_book_runs_only(monkeypatch):
    from localcodes.store import BOOK_RUN_ENV, progress_bar

    monkeypatch.setenv(BOOK_RUN_ENV, "1")
    with progress_bar(total=3) as bar:
        assert bar.disable
    assert list(progress_bar(range(3))) == [0, 1, 2]
    monkeypatch.delenv(BOOK_RUN_ENV)
    with progress_bar(total=3) as bar:
        assert not bar.disable


def test_schedule_runs_independent_chapters_at_once_and_waits_for_after():
    import threading
    import time

    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    both_running = threading.Barrier(2, timeout=10)  # breaks (fails the test) unless a and b overlap

    def run(name):
        with lock:
            events.append(("start", name))
        if name in ("a", "b"):
            both_running.wait()
        time.sleep(0.01)
        with lock:
            events.append(("end", name))

    done = book.schedule(["a", "b", "c", "d"], {"c": ["a", "b"], "d": ["c", "not_selected"]}, run, jobs=2)
    assert sorted(done) == ["a", "b", "c", "d"] and done[-2:] == ["c", "d"]
    pos = {e: i for i, e in enumerate(events)}
    assert pos[("start", "c")] > max(pos[("end", "a")], pos[("end", "b")])
    assert pos[("start", "d")] > pos[("end", "c")]


def test_schedule_starts_the_longest_chain_first_and_stops_on_failure():
    order: list[str] = []
    book.schedule(["short", "long1", "long2"], {"long2": ["long1"]}, order.append, jobs=1,
                  cost={"short": 5, "long1": 3, "long2": 3})
    assert order == ["long1", "short", "long2"]  # chain 6 before 5, then 5 before 3

    ran: list[str] = []

    def run(name):
        ran.append(name)
        if name == "x":
            raise ValueError("boom")

    with pytest.raises(RuntimeError, match="chapter x failed: boom"):
        book.schedule(["x", "y"], {"y": ["x"]}, run, jobs=2)
    assert ran == ["x"]
    with pytest.raises(ValueError, match="cycle"):
        book.schedule(["p", "q"], {"p": ["q"], "q": ["p"]}, ran.append, jobs=2)
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        book.schedule(["p"], {}, ran.append, jobs=0)


def test_chapters_name_existing_chapters_in_after():
    table = book.chapters()
    for name in table:
        assert all(a in table and a < name for a in book.chapter_spec(name).after), name
    # the findings page must run after every chapter whose results it reads
    assert set(P000.CHECKS_CHAPTERS) <= set(table)
    assert set(P000.CHECKS_CHAPTERS) <= set(book.chapter_spec("29_findings").after)


def test_default_jobs_reads_the_environment(monkeypatch):
    monkeypatch.setenv("LOCALCODES_JOBS", "3")
    assert book.default_jobs() == 3
    monkeypatch.setenv("LOCALCODES_JOBS", "zero")
    with pytest.raises(ValueError, match="LOCALCODES_JOBS"):
        book.default_jobs()


def test_a_paper_scale_run_stores_how_it_was_made_beside_its_results(tmp_path, monkeypatch):
    import papermill

    def fake_execute(source, target, **kwargs):  # the runner's bookkeeping, without executing the chapter
        shutil.copy(source, target)

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path / "results"))
    book.run_chapter("01_introduction", "paper", {"n_per_class": 7}, out_dir=tmp_path / "book", progress=False)
    run = json.loads((tmp_path / "results" / "paper" / "01_introduction" / "run.json").read_text())
    assert run["command"] == "localcodes run 01_introduction --scale paper -p n_per_class 7"
    assert run["parameters"] == {"n_per_class": 7} and {"wall_s", "device", "git_commit", "date"} <= set(run)
    book.run_chapter("01_introduction", "book", out_dir=tmp_path / "book", progress=False)
    assert not (tmp_path / "results" / "book" / "01_introduction" / "run.json").exists()


def test_a_chapter_without_a_reference_preset_refuses_that_scale_clearly():
    spec = book.ChapterSpec("x", Path("x.py"), params={"scale": "book", "a": None},
                            presets={s: {"a": 1} for s in REQUIRED_SCALES})
    with pytest.raises(ValueError, match=r"chapter x has no 'reference' preset: its scales are"):
        book.validate(spec, "reference", {})


def test_the_abstract_is_what_the_chapters_stored_in_chapter_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path / "results"))
    out = book.write_abstract(tmp_path, "smoke")
    assert "No chapter has stored verdicts" in out.read_text()
    names = list(book.chapters())
    for name, text in ((names[-1], "last part"), (names[0], "first part")):
        folder = tmp_path / "results" / "smoke" / name
        folder.mkdir(parents=True)
        (folder / "abstract.md").write_text(text)
    text = book.write_abstract(tmp_path, "smoke").read_text()
    assert text.index("first part") < text.index("last part") and "No chapter" not in text


def test_a_parallel_build_reports_each_running_chapters_cells(tmp_path):
    nb = {"cells": [{"cell_type": "markdown"}, *({"cell_type": "code", "metadata": {"papermill": {"status": s}}}
                                                   for s in ("completed", "completed", "running", "pending"))]}
    (tmp_path / ".10_x.partial.ipynb").write_text(json.dumps(nb))
    assert book.chapter_progress(tmp_path / ".10_x.partial.ipynb") == (2, 4)
    assert book.chapter_progress(tmp_path / "missing.ipynb") is None
    lines: list[str] = []
    ticker = book._Ticker(tmp_path, lines.append, every=0.02)
    ticker.running.update({"10_x": time.perf_counter(), "11_y": time.perf_counter()})
    ticker.start()
    time.sleep(0.2)
    ticker.stop.set()
    ticker.join()
    assert any("10_x: cell 2 of 4" in line for line in lines) and any("11_y: starting" in line for line in lines)


def test_a_fresh_checkout_schedules_by_the_committed_chapter_times(tmp_path):
    import json

    (tmp_path / "_runs").mkdir()
    (tmp_path / book.CHAPTER_TIMES).write_text(json.dumps({"book": {"a": 300, "b": 20}, "smoke": {"a": 3}}))
    assert book._last_wall_times(tmp_path, "book") == {"a": 300.0, "b": 20.0}
    (tmp_path / "_runs" / "01_a.json").write_text(json.dumps({"scale": "book", "chapter": "a", "wall_s": 250.5}))
    assert book._last_wall_times(tmp_path, "book") == {"a": 250.5, "b": 20.0}  # this checkout's own run wins
    assert book._last_wall_times(tmp_path / "nowhere", "book") == {}
    committed = json.loads((book.project_root() / "book" / book.CHAPTER_TIMES).read_text())["book"]
    assert set(committed) == set(book.chapters())  # every chapter has an estimate
