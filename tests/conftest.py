"""Shared fixtures. ``smoke_book``: the whole book executed once at the smoke scale (every chapter exactly once
per test session) into a fresh results root, then built; the chapter tests and the book tests read it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from localcodes import book


@dataclass(frozen=True)
class SmokeBook:
    out: Path  # the book's root (sources copied there)
    index: Path  # _build/html/index.html
    results: Path  # the results root the chapters wrote to ($LOCALCODES_RESULTS)

    def executed(self, chapter: str) -> Path:
        """The executed notebook of ``chapter``."""
        return self.out / "book" / f"{chapter}.ipynb"

    def folder(self, chapter: str) -> Path:
        """``results/smoke/<chapter>`` of this build."""
        return self.results / "smoke" / chapter


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> SmokeBook:
    out = tmp_path_factory.mktemp("book")
    results = tmp_path_factory.mktemp("results")
    saved = os.environ.get("LOCALCODES_RESULTS")
    os.environ["LOCALCODES_RESULTS"] = str(results)  # inherited by the kernels: nothing reused from this machine
    try:
        index = book.build(scale="smoke", out=out)
    finally:
        if saved is None:
            os.environ.pop("LOCALCODES_RESULTS", None)
        else:
            os.environ["LOCALCODES_RESULTS"] = saved
    return SmokeBook(out, index, results)
