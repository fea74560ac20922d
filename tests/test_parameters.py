"""Chapter parameters: declared with types and ranges, refused clearly before any work, by the runner and by the
chapter itself when papermill runs it alone."""

from __future__ import annotations

import math

import nbformat
import papermill
import pytest
from localcodes import book, parameters


@pytest.mark.parametrize("name", list(book.chapters()))
def test_every_parameter_is_declared_with_choices_ranges_or_a_bool(name):
    spec = book.chapter_spec(name)  # refuses an undeclared parameter itself
    for key in spec.params:
        if key != "scale":
            assert key in spec.choices or key in spec.ranges or isinstance(
                next(p[key] for p in spec.presets.values() if p.get(key) is not None), bool), key


def test_an_undeclared_parameter_is_refused_when_the_chapter_is_read(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_x.py").write_text(
        '# %% tags=["parameters"]\nscale = "book"\nn = None\n\n'
        '# %% tags=["presets"]\nPRESETS = {"smoke": {"n": 1}, "book": {"n": 1}, "paper": {"n": 1}}\nCHOICES = {}\n')
    with pytest.raises(ValueError, match=r"every parameter needs CHOICES or RANGES.*undeclared \['n'\]"):
        book.chapter_spec("01_x", root=tmp_path)


@pytest.mark.parametrize("chapter, overrides, message", [
    ("10_hidden_size_and_data", {"widths": [1_000_000_000]}, r"widths=\[1000000000\] is out of range.*\[1, 10000\]"),
    ("10_hidden_size_and_data", {"widths": []}, "widths=.. must not be empty"),
    ("10_hidden_size_and_data", {"lr": math.nan}, "lr=nan is out of range"),
    ("10_hidden_size_and_data", {"repeats": 2.5}, "repeats=2.5 is not an integer"),
    ("16_dropout", {"lr": "fast"}, r"lr='fast' is not a number; lr takes a number in \[1e-06, 100.0\]"),
    ("16_dropout", {"dropouts": [0.2, 1.5]}, "dropouts=.* is out of range"),
    ("19_four_layer", {"conditions": []}, "conditions=.. must not be empty"),
    ("19_four_layer", {"conditions": ["A", "Z"]}, r"conditions=.* is not allowed; conditions takes a non-empty list"),
    ("20_mnist_invariants", {"source": ["auto"]}, "source=.* must be a single value, not a list"),
    ("30_alexnet_selectivity", {"image_folder": "/no/such/folder"}, "image_folder=.* names no existing path"),
    ("30_alexnet_selectivity", {"layers": ["fc9"]}, "layers=.* is not allowed"),
    ("01_introduction", {"scale": "book"}, "the scale is set with --scale"),
])
def test_bad_values_are_refused_naming_the_parameter_and_what_it_takes(chapter, overrides, message):
    with pytest.raises(ValueError, match=message):
        book.validate(book.chapter_spec(chapter), "smoke", overrides)


def test_good_values_pass():
    spec = book.chapter_spec("10_hidden_size_and_data")
    assert book.validate(spec, "smoke", {"widths": [10, 500], "lr": 1}) == {"scale": "smoke", "widths": [10, 500],
                                                                            "lr": 1}
    assert book.validate(book.chapter_spec("30_alexnet_selectivity"), "smoke", {"layers": ["fc6", "prob"]})


def test_settings_checks_the_same_way_inside_a_chapter():
    presets = {"book": {"n": [1, 2], "act": "relu"}}
    with pytest.raises(ValueError, match=r"n=\[0\] is out of range"):
        parameters.settings(presets, "book", {"act": ["relu", "sigmoid"]}, {"n": (1, 10)}, n=[0], act=None)
    with pytest.raises(ValueError, match="act='tanh' is not allowed"):
        parameters.settings(presets, "book", {"act": ["relu", "sigmoid"]}, {"n": (1, 10)}, n=None, act="tanh")
    s = parameters.settings(presets, "book", {"act": ["relu", "sigmoid"]}, {"n": (1, 10)}, n=[3], act=None)
    assert (s.n, s.act) == ([3], "relu")


def _tiny_chapter(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell('scale = "book"\nn = None', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('PRESETS = {"book": {"n": 3}}\nCHOICES = {}\nRANGES = {"n": (1, 10)}',
                                  metadata={"tags": ["presets"]}),
        nbformat.v4.new_code_cell("from localcodes import book\nP = book.settings(PRESETS, scale, CHOICES, RANGES, n=n)"
                                  "\nprint('ran with', P.n)"),
    ]
    nbformat.write(nb, path)
    return path


def test_papermill_alone_refuses_an_unknown_or_bad_parameter_in_the_first_cell(tmp_path):
    source = _tiny_chapter(tmp_path / "x.ipynb")
    out = papermill.execute_notebook(str(source), str(tmp_path / "ok.ipynb"), parameters={"n": 4},
                                     kernel_name="python3", progress_bar=False)
    assert "ran with 4" in str(out.cells[-1].outputs)
    with pytest.raises(papermill.PapermillExecutionError, match=r"unknown parameter\(s\) \['nn'\]"):
        papermill.execute_notebook(str(source), str(tmp_path / "bad.ipynb"), parameters={"nn": 4},
                                   kernel_name="python3", progress_bar=False)
    with pytest.raises(papermill.PapermillExecutionError, match=r"n=40 is out of range"):
        papermill.execute_notebook(str(source), str(tmp_path / "bad.ipynb"), parameters={"n": 40},
                                   kernel_name="python3", progress_bar=False)


def test_build_refuses_bad_overrides_before_npm(monkeypatch, tmp_path):
    def no_vendor(*args, **kwargs):
        raise AssertionError("vendor ran before the parameters were checked")

    monkeypatch.setattr(book, "vendor", no_vendor)
    with pytest.raises(ValueError, match="unknown parameter"):
        book.build("smoke", only=["01_introduction"], out=tmp_path / "b", overrides={"bogus": 1})
