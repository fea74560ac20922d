"""Every chapter as executed once, at the smoke scale, by the session's ``smoke_book`` build: no errors, the
stored results each chapter promises, the paper's numbers and an offline chart on its page."""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest
from localcodes import book, verdicts
from localcodes.experiments import paper000 as P000

# every chapter of paper 000 leaves checks.parquet (claims judged with localcodes.verdicts) and provenance.json
CHECKS_CHAPTERS = list(P000.CHECKS_CHAPTERS)


def _errors(path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(book.chapters()))
def test_chapter_executed_without_errors(name, smoke_book):
    path = smoke_book.executed(name)
    assert path.exists(), f"{name} was not executed"
    assert not _errors(path)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKS_CHAPTERS)
def test_paper000_chapter_stores_its_verdicts_and_shows_the_paper(name, smoke_book):
    checks = pd.read_parquet(smoke_book.folder(name) / "checks.parquet")
    assert list(checks.columns) == P000.CHECK_COLUMNS and len(checks) >= 1
    assert set(checks["outcome"]) <= set(verdicts.OUTCOMES)
    assert (smoke_book.folder(name) / "provenance.json").exists()
    text = json.dumps(json.loads(smoke_book.executed(name).read_text()))
    assert "paper" in text.lower() and "localcodes-chart" in text  # the paper's numbers and an offline chart


@pytest.mark.slow
def test_the_index_opens_with_the_abstract_the_findings_computed(smoke_book):
    abstract = (smoke_book.folder("29_findings") / "abstract.md").read_text()
    html = smoke_book.out / "_build" / "html"
    index = (html / "index.html").read_text()
    redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index)
    if redirect:  # Jupyter Book's root page sends the reader on to the root document
        index = (html / redirect.group(1)).read_text()
    assert "Claims per outcome" in abstract and "Claims per outcome" in index


@pytest.mark.slow
def test_alexnet_chapter_shows_table_a2_and_charts(smoke_book):
    text = smoke_book.executed("30_alexnet_selectivity").read_text()
    assert "Table A2" in text and "localcodes-chart" in text


@pytest.mark.slow
def test_the_readme_picture_is_taken_from_the_built_teaching_page(smoke_book, tmp_path):
    from localcodes import readme
    from localcodes.experiments.teaching import CHAPTER

    page = smoke_book.out / "_build" / "html" / "book" / f"{CHAPTER}.html"
    out = readme.snapshot(page, tmp_path / "picture.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5_000
