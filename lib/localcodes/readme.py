"""The README's computed parts: what a build found, and one picture from the built book.

``localcodes readme`` (after ``make book``) replaces the README's block between the ``findings`` markers with the
abstract the chapters computed from their stored verdicts (the same text the book's index opens with), labelled
with the scale, date and commit, and screenshots one chart of the built book (headless Chromium) as the README's
picture. Nothing in the block is typed by hand, so the README never says more than the verdicts.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from .book import ABSTRACT, chapters
from .store import atomic_path, git_commit, project_root, results_dir

__all__ = ["START", "END", "PICTURE", "findings_block", "update_readme", "snapshot"]

START = "<!-- findings:start (written by `localcodes readme`; do not edit) -->"
END = "<!-- findings:end -->"
#: The README's picture (taken from the teaching page's first chart: a jitterplot of a grown network).
PICTURE = Path("docs") / "jitterplot.png"


def findings_block(scale: str = "book", root: Path | None = None) -> str:
    """The chapters' stored abstracts at ``scale`` in book order, labelled with where they come from."""
    parts = []
    for name in chapters(root):
        path = results_dir(scale, name, create=False) / ABSTRACT
        if path.exists():
            parts.append(path.read_text().strip())
    if not parts:
        raise ValueError(f"no chapter has stored verdicts at the {scale!r} scale: run `make book SCALE={scale}` "
                         "first")
    head = (f"*Computed from the stored verdicts of a `{scale}`-scale build ({time.strftime('%Y-%m-%d')}, commit "
            f"{git_commit(root)[:10]}); the built book's index page carries the same text.*")
    return "\n\n".join([head, *parts])


def update_readme(scale: str = "book", root: Path | None = None, picture: bool = True) -> Path:
    """Rewrite the README's findings block (and, with ``picture``, its picture from the built book)."""
    root = Path(root or project_root())
    readme = root / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} lacks the findings markers {START!r} … {END!r}")
    block = findings_block(scale, root)
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{block}\n{END}", text,
                 flags=re.S)
    if picture:
        from .experiments.teaching import CHAPTER as teaching

        snapshot(root / "_build" / "html" / "book" / f"{teaching}.html", root / PICTURE, 0)
    with atomic_path(readme) as tmp:
        tmp.write_text(new)
    return readme


def snapshot(page: Path, out: Path, index: int = 0, timeout_ms: int = 60_000) -> Path:
    """Screenshot the ``index``-th chart (``.localcodes-chart``) of a built page, offline, as a PNG."""
    from playwright.sync_api import sync_playwright  # the test extra; only this command needs a browser

    page = Path(page)
    if not page.exists():
        raise ValueError(f"{page} does not exist: build the book first (`make book`)")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            tab = browser.new_page(viewport={"width": 1100, "height": 800})
            tab.goto(page.resolve().as_uri())
            chart = tab.locator(".localcodes-chart").nth(index)
            chart.locator("canvas, svg").first.wait_for(timeout=timeout_ms)
            tab.wait_for_timeout(500)  # let vega finish drawing
            with atomic_path(out) as tmp:
                chart.screenshot(path=str(tmp), type="png")
        finally:
            browser.close()
    return out
