"""Packaging: the library asks for the oldest torch it needs (a lower bound, so installing it keeps a researcher's
torch); the book's exact environment is pinned once, in constraints.txt, and every installer uses that file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import venv
from importlib.metadata import version

from localcodes.store import project_root
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: jupytext brings tomli
    import tomli as tomllib

ROOT = project_root()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements() -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in PROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return [r for r in reqs if canonicalize_name(r.name) != "localcodes"]


def _constraints() -> dict[str, Requirement]:
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    reqs = [Requirement(line) for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(r.name): r for r in reqs}


def _torch() -> Requirement:
    return next(r for r in _requirements() if r.name == "torch")


def test_the_library_asks_for_a_minimum_torch_not_an_exact_one():
    torch = _torch()
    assert [s.operator for s in torch.specifier] == [">="]
    minimum = Version(next(iter(torch.specifier)).version)
    assert Version("2.3") <= minimum <= Version(version("torch").split("+")[0])
    # another torch at or above the minimum satisfies it, so pip keeps the one already installed
    for other in ("2.3.1", "2.5.0", "2.13.0", "3.0.0"):
        assert torch.specifier.contains(other) == (Version(other) >= minimum)


def test_no_library_requirement_pins_an_exact_version():
    exact = [str(r) for r in _requirements() if any(s.operator in ("==", "===") for s in r.specifier)]
    assert not exact, f"exact pins belong in constraints.txt: {exact}"


def test_constraints_pin_every_requirement_within_what_the_library_allows():
    pins = _constraints()
    assert str(pins["torch"].specifier) == "==2.13.0"
    assert str(pins["jupyter-book"].specifier) == "==1.0.4.post1"
    for name, pin in pins.items():
        assert [s.operator for s in pin.specifier] == ["=="], f"{name}: constraints pin exact versions"
    for req in _requirements():
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is not pinned in constraints.txt"
        pinned = next(iter(pin.specifier)).version
        assert req.specifier.contains(pinned, prereleases=True), f"{req} does not allow the pinned {pinned}"


def test_every_installer_uses_the_constraints_and_installs_torch_first():
    install = (ROOT / "scripts" / "install.sh").read_text()
    steps = [line for line in install.splitlines() if re.search(r"pip install", line) and not line.startswith("#")]
    assert len(steps) >= 2 and all("-c constraints.txt" in s for s in steps)
    assert steps[0].rstrip().endswith(" torch") and '-e ".[test,lab]"' in steps[1]
    assert "-c constraints.txt" in (ROOT / "environment.yml").read_text()
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\):.*constraints\.txt", make, re.M)


def test_an_editable_install_keeps_another_torch(tmp_path):
    """`pip install -e .` in an environment whose torch is another version at or above the minimum: pip's resolver
    (dry run, nothing from any index) keeps it. The old exact pin, in the same environment, asked for a new torch."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)  # sees this machine's packages
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    minimum = next(iter(_torch().specifier)).version
    other = f"{Version(minimum).major}.{Version(minimum).minor + 1}.0"  # above the minimum, not the pinned one
    dist = os.path.join(site, f"torch-{other}.dist-info")  # shadows the machine's torch inside the venv
    os.makedirs(dist)
    with open(os.path.join(dist, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: torch\nVersion: {other}\n")
    with open(os.path.join(dist, "RECORD"), "w") as f:
        f.write("")
    project = tmp_path / "project"  # the package's metadata only: no build output lands in the checkout
    (project / "lib" / "localcodes").mkdir(parents=True)
    (project / "lib" / "localcodes" / "__init__.py").write_text("")
    (project / "README.md").write_text((ROOT / "README.md").read_text())
    pyproject = (ROOT / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(pyproject)
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "",
           "PIP_CONSTRAINT": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def resolve() -> tuple[int, list[str], str]:
        report = tmp_path / "report.json"
        run = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--no-build-isolation", "--quiet",
                              "--report", str(report), "-e", str(project)], capture_output=True, text=True, env=env)
        wanted = [i["metadata"]["name"] for i in json.loads(report.read_text())["install"]] if run.returncode == 0 \
            else []
        return run.returncode, wanted, run.stderr

    seen = subprocess.run([python, "-c", "from importlib.metadata import version; print(version('torch'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert seen == other
    code, wanted, err = resolve()
    assert code == 0, err[-2000:]
    assert wanted == ["localcodes"], f"pip would also install {wanted}"
    (project / "pyproject.toml").write_text(pyproject.replace(str(_torch()), "torch==2.13.0"))
    code, wanted, err = resolve()
    assert (code != 0 and "torch" in err.lower()) or "torch" in wanted, "the exact pin kept another torch"
