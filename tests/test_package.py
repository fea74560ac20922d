"""The package's public entry points and its layout rules."""

import ast
import subprocess
from pathlib import Path

import localcodes
import pytest

LIB = Path(localcodes.__file__).parent


@pytest.mark.parametrize("name", [n for n in localcodes.__all__ if n != "__version__"])
def test_every_public_entry_point_resolves(name):
    assert getattr(localcodes, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        localcodes.no_such_thing  # noqa: B018


def test_the_public_api_of_the_selectivity_tools():
    from localcodes.locality import LocalityPrior, grid_prior  # noqa: F401
    from localcodes.record import activations, read_table, record  # noqa: F401
    from localcodes.selectivity import SelectivityAccumulator, local_codes, unit_table  # noqa: F401


def test_no_module_is_over_800_lines():
    long = {str(p.relative_to(LIB)): n for p in LIB.rglob("*.py") if (n := len(p.read_text().splitlines())) > 800}
    assert not long


def test_only_experiments_name_chapters():
    import re

    chapter = re.compile(r"\b\d\d_[a-z]+_?[a-z_]*\b")
    named = [str(p.relative_to(LIB)) for p in LIB.rglob("*.py")
             if "experiments" not in p.parts and chapter.search(p.read_text())]
    assert not named


def test_benchmarks_live_in_bench():
    found = [str(p.relative_to(LIB)) for p in LIB.rglob("*.py")
             if "bench" not in p.parts and any(isinstance(n, ast.FunctionDef) and n.name == "bench_main"
                                               for n in ast.walk(ast.parse(p.read_text())))]
    assert not found


def test_lower_rooms_do_not_import_experiments_or_charts():
    lower = ("codes", "data", "synthetic", "nets", "engine", "selectivity", "am", "rating", "locality",
             "sparseness", "store", "record")
    bad = []
    for p in LIB.rglob("*.py"):
        rel = p.relative_to(LIB)
        if rel.parts[0].removesuffix(".py") not in lower:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = (node.module or "").removeprefix("localcodes.").removeprefix("localcodes")
            targets = [module.split(".")[0]] if module else [a.name for a in node.names]
            if {"experiments", "charts"} & set(targets):
                bad.append(f"{rel}: from {'.' * node.level}{node.module or ''} import ...")
    assert not bad


def test_importing_the_package_stays_light():
    code = "import sys, localcodes; print('torch' in sys.modules, 'altair' in sys.modules)"
    out = subprocess.run(["python", "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
