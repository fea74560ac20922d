"""Every chapter as executed once, at the smoke scale, by the session's ``smoke_book`` build: no errors, the
stored results each chapter promises, the paper's numbers and an offline chart on its page."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest
from localcodes import book

# chapters of paper 000 that leave checks.parquet (claims with the paper's values beside ours)
CHECKS_CHAPTERS = ["10_hidden_size_and_data", "11_random_sparseness", "12_input_length", "13_relu_vs_sigmoid",
                   "14_output_code", "15_perturbed_prototypes", "20_mnist_invariants"]
# chapters of paper 000 that leave provenance.json beside their results
PROVENANCE_CHAPTERS = ["16_dropout", "17_activation_noise", "18_training_time", "19_four_layer", "21_memorisation"]


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
def test_paper000_chapter_stores_its_checks_and_shows_the_paper(name, smoke_book):
    checks = pd.read_parquet(smoke_book.folder(name) / "checks.parquet")
    assert {"finding", "claim", "holds", "ours"} <= set(checks.columns) and len(checks) >= 1
    text = json.dumps(json.loads(smoke_book.executed(name).read_text()))
    assert "paper" in text.lower() and "localcodes-chart" in text  # the paper's numbers and an offline chart


@pytest.mark.slow
@pytest.mark.parametrize("name", PROVENANCE_CHAPTERS)
def test_paper000_chapter_stores_provenance(name, smoke_book):
    assert (smoke_book.folder(name) / "provenance.json").exists()


@pytest.mark.slow
def test_alexnet_chapter_shows_table_a2_and_charts(smoke_book):
    text = smoke_book.executed("30_alexnet_selectivity").read_text()
    assert "Table A2" in text and "localcodes-chart" in text
