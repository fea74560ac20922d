"""Live chapters (``make lab``): the chapters open as notebooks through jupytext, and their charts render in a live
kernel (Vega-Lite mimetypes the front end draws itself) while the book's runs keep the offline HTML."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import altair as alt
import pytest
from localcodes import book, charts
from localcodes.store import BOOK_RUN_ENV, project_root

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: jupytext brings tomli
    import tomli as tomllib

ROOT = project_root()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# what `make lab` writes into its JupyterLab settings: double-clicking a chapter opens it as a notebook
DEFAULT_VIEWERS = {"defaultViewers": {"python": "Jupytext Notebook"}}


@pytest.fixture
def restore_renderer():
    before = alt.renderers.active
    yield
    alt.renderers.enable(before)


def _chart_outputs(cells) -> list[dict]:
    return [o.get("data", {}) for c in cells if c.get("cell_type") == "code" for o in c.get("outputs", [])
            if any("vegalite" in k or "localcodes-chart" in str(v) for k, v in o.get("data", {}).items())]


def test_setup_picks_the_live_renderer_outside_book_runs(monkeypatch, restore_renderer):
    monkeypatch.delenv(BOOK_RUN_ENV, raising=False)
    assert charts.setup() == "live"
    bundle = alt.Chart({"values": [{"a": 1}]}).mark_point().encode(x="a:Q")._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.vegalite.v5+json" in data and charts.VEGALITE_MIME in data
    assert "text/html" not in data  # not the book-only HTML (it needs scripts only the built pages load)
    monkeypatch.setenv(BOOK_RUN_ENV, "1")
    assert charts.setup() == "book"
    data = alt.Chart({"values": [{"a": 1}]}).mark_point().encode(x="a:Q")._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "localcodes-chart" in data["text/html"] and not any("vegalite" in k for k in data)
    assert charts.setup("jupyter") == "live"  # the old name of the live mode
    with pytest.raises(ValueError, match="mode must be one of"):
        charts.setup("cdn")


def test_the_live_bundle_carries_the_spec_unchanged():
    spec = {"mark": "point", "description": "a </script> inside a string"}
    bundle = charts.live_render({"$schema": alt.SCHEMA_URL, **spec})
    assert bundle[charts.VEGALITE_MIME] == {"$schema": alt.SCHEMA_URL, **spec}
    v5 = "https://vega.github.io/schema/vega-lite/v5.json"
    assert bundle["application/vnd.vegalite.v5+json"] == {"$schema": v5, **spec}
    assert bundle["text/plain"].startswith("<altair chart lc-chart-")


def test_jupytext_is_configured_for_the_chapters():
    config = tomllib.loads((ROOT / "jupytext.toml").read_text())
    assert config["formats"] == "py:percent"
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", make, re.M) and "Jupytext Notebook" in make and "--ServerApp.root_dir=$(CURDIR)" in make
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("jupyterlab") for r in extras["lab"])


def test_a_chapter_saved_from_jupyterlab_stays_byte_identical(tmp_path):
    """JupyterLab saves through jupytext's contents manager: outputs, execution counts and the front end's own
    metadata must not leak into the chapter (nor jupytext's version stamp into its header)."""
    pytest.importorskip("jupyter_server")
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    (tmp_path / "notebooks").mkdir()
    source = ROOT / "notebooks" / "01_introduction.py"
    copy = tmp_path / "notebooks" / source.name
    shutil.copy(source, copy)
    manager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)(root_dir=str(tmp_path))

    async def open_run_save():
        model = await manager.get(f"notebooks/{source.name}", content=True)
        assert model["type"] == "notebook"
        nb = model["content"]
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert ["parameters"] in tags and ["presets"] in tags
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.outputs = [{"output_type": "stream", "name": "stdout", "text": "ran"}]
        code.execution_count = 7
        code.metadata["scrolled"] = True
        nb.metadata["language_info"] = {"name": "python", "version": sys.version.split()[0]}
        await manager.save(model, f"notebooks/{source.name}")

    asyncio.run(open_run_save())
    assert copy.read_text() == source.read_text()
    assert sorted(p.name for p in (tmp_path / "notebooks").iterdir()) == [source.name]  # no .ipynb twin


def _live_notebook(name: str, scale: str = "smoke"):
    """A chapter as JupyterLab opens it (jupytext), at ``scale`` (the parameters cell edited, as a reader would)."""
    import jupytext

    nb = jupytext.read(book.chapters()[name])
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace('scale = "book"', f'scale = "{scale}"')
    return nb


@pytest.mark.slow
def test_a_chapter_run_in_a_live_kernel_shows_live_charts(tmp_path, monkeypatch):
    """The live mode without a browser: a kernel like JupyterLab's (no book-run variable) runs the Introduction,
    and its charts come out as Vega-Lite for the front end, not the book's HTML."""
    from nbclient import NotebookClient

    monkeypatch.delenv(BOOK_RUN_ENV, raising=False)
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path / "results"))
    nb = _live_notebook("01_introduction")
    NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(ROOT)}}).execute()
    found = _chart_outputs(nb.cells)
    assert len(found) >= 3
    for data in found:
        assert "application/vnd.vegalite.v5+json" in data and "text/html" not in data
        assert data["application/vnd.vegalite.v5+json"]["$schema"].startswith("https://vega.github.io/schema/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_the_kernel(page, timeout_s: float = 120) -> None:
    """Until the notebook's kernel is idle with no dialog open; a "Select Kernel" dialog (JupyterLab asks when its
    first connection to the new kernel fails, as it sometimes does on a loaded machine) is answered with the
    chapter's own kernel."""
    deadline, calm = time.monotonic() + timeout_s, 0
    while calm < 3:
        if time.monotonic() > deadline:
            pytest.fail("the chapter's kernel did not become ready in JupyterLab")
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():
            accept.first.click()
            calm = 0
        elif page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            calm += 1
        page.wait_for_timeout(1000)


@pytest.mark.slow
@pytest.mark.browser
def test_jupyterlab_opens_a_chapter_runs_it_and_draws_its_charts(tmp_path):
    """`make lab` as a reader uses it: JupyterLab (jupytext's notebook view as the default for .py files) opens
    the Introduction, runs every cell, and the front end draws its charts with nothing from the network."""
    pytest.importorskip("jupyterlab")
    import jupytext
    from playwright.sync_api import sync_playwright

    root = tmp_path / "lab"  # a copy, so autosave never touches the checkout's chapter
    root.mkdir()
    shutil.copy(ROOT / "jupytext.toml", root / "jupytext.toml")
    jupytext.write(_live_notebook("01_introduction"), root / "01_introduction.py", fmt="py:percent")
    settings = tmp_path / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps(DEFAULT_VIEWERS))
    port, token = _free_port(), "localcodes-test"
    env = {k: v for k, v in os.environ.items() if k != BOOK_RUN_ENV}
    env.update(LOCALCODES_RESULTS=str(tmp_path / "results"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "lib"), env.get("PYTHONPATH", "")]))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            remote: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(base) else None)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "vega" in m.text.lower()
                    else None)
            page.goto(f"{base}/lab/tree/01_introduction.py?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)  # a notebook, not a text editor
            _wait_for_the_kernel(page)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            # every cell has run (no "[*]" prompt) and vega has drawn the three charts (its canvas or svg "marks")
            drawn = "document.querySelectorAll('.jp-RenderedVegaCommon5 .marks').length >= 3"
            ran = "![...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))"
            try:
                page.wait_for_function(f"() => {drawn} && {ran}", timeout=240_000)
            finally:
                page.screenshot(path=str(tmp_path / "lab.png"))
            text = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
            assert "Traceback" not in text, text[:3000]
            assert not problems, problems
            assert not remote, f"the live chapter tried the network: {remote[:5]}"
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
