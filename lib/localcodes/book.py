"""The book: chapter sources, their parameters, the papermill runner, vendored JavaScript and the build.

A chapter is ``notebooks/NN_name.py`` (jupytext, percent format) with

* a cell tagged ``parameters``: ``scale = "book"`` and one ``name = None`` per overridable setting;
* a cell tagged ``presets``: ``PRESETS = {"smoke": {...}, "book": {...}, "paper": {...}}`` (literals only),
  ``CHOICES = {"name": [allowed values]}`` and ``RANGES = {"name": (low, high) | "text" | "path"}`` (every
  parameter is declared in one of them or is a bool; see ``localcodes.parameters``), and optionally
  ``AFTER = ["NN_other", ...]``: chapters whose stored results this one reads (so a parallel build runs it after
  them; see ``build(jobs=…)``).

``run_chapter`` checks names and values against those cells *before* any work starts, executes the chapter
with papermill into ``book/NN_name.ipynb`` and records how it ran (scale, parameters, wall time, device,
git commit) in ``book/_runs/NN_name.json``; ``build`` turns the executed chapters into HTML.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .parameters import parse_value, settings, validate
from .store import (
    BOOK_RUN_ENV,
    REQUIRED_SCALES,
    atomic_path,
    device_name,
    git_commit,
    project_root,
    results_dir,
    write_json,
)

__all__ = [
    "ChapterSpec",
    "chapters",
    "chapter_spec",
    "parse_value",
    "validate",
    "settings",
    "run_chapter",
    "write_status",
    "write_abstract",
    "vendor",
    "build",
    "default_jobs",
    "schedule",
    "write_toc",
    "chapter_progress",
]

# npm package file → where it goes under static/vendor (the built pages load these, never a CDN)
VENDOR_FILES = {
    "vega/build/vega.min.js": "vega.min.js",
    "vega-lite/build/vega-lite.min.js": "vega-lite.min.js",
    "vega-embed/build/vega-embed.min.js": "vega-embed.min.js",
    "requirejs/require.js": "require.js",
    "mathjax/es5/tex-svg.js": "mathjax/tex-svg.js",
}
VENDOR_DIRS = {"@jupyter-widgets/html-manager/dist": "html-manager"}
BOOK_SOURCES = ("_config.yml", "_toc.yml")


@dataclass
class ChapterSpec:
    """What a chapter accepts: its parameter defaults, scale presets and allowed choices."""

    name: str
    path: Path
    params: dict = field(default_factory=dict)
    presets: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    after: list = field(default_factory=list)


def chapters(root: Path | None = None) -> dict[str, Path]:
    """All chapter sources, by name (file stem), in book order."""
    root = root or project_root()
    found = sorted(p for p in (root / "notebooks").glob("[0-9][0-9]_*") if p.suffix in (".py", ".md"))
    return {p.stem: p for p in found}


def _resolve_name(name: str, root: Path | None = None) -> tuple[str, Path]:
    table = chapters(root)
    if name in table:
        return name, table[name]
    matches = [k for k in table if k.split("_", 1)[-1] == name or k.startswith(name + "_") or k == name]
    if len(matches) == 1:
        return matches[0], table[matches[0]]
    raise ValueError(f"unknown chapter {name!r}; chapters are: {', '.join(table) or '(none)'}")


def _literal_assignments(source: str) -> dict:
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def chapter_spec(name: str, root: Path | None = None) -> ChapterSpec:
    """Read a chapter's ``parameters`` and ``presets`` cells without executing it."""
    import jupytext  # the "book" extra: the library itself runs without the chapter tools

    name, path = _resolve_name(name, root)
    nb = jupytext.read(path)
    spec = ChapterSpec(name, path)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type != "code":
            continue
        if "parameters" in tags:
            spec.params = _literal_assignments(cell.source)
        if "presets" in tags:
            values = _literal_assignments(cell.source)
            spec.presets = values.get("PRESETS", {})
            spec.choices = values.get("CHOICES", {})
            spec.ranges = values.get("RANGES", {})
            spec.after = list(values.get("AFTER", []))
    unknown = [a for a in spec.after if a not in chapters(root)]
    if unknown:
        raise ValueError(f"chapter {name}: AFTER names unknown chapters {unknown}; chapters are: "
                         f"{', '.join(chapters(root))}")
    if "scale" not in spec.params:
        raise ValueError(f"chapter {name}: its parameters cell must define `scale`")
    undeclared = [k for k in spec.params if k != "scale" and k not in spec.choices and k not in spec.ranges
                  and not isinstance(next((p.get(k) for p in spec.presets.values() if p.get(k) is not None), None),
                                     bool)]
    stray = [k for k in [*spec.choices, *spec.ranges] if k not in spec.params]
    if undeclared or stray:
        raise ValueError(f"chapter {name}: every parameter needs CHOICES or RANGES (or a bool preset): "
                         f"undeclared {undeclared}; declared but no such parameter {stray}")
    missing = [s for s in REQUIRED_SCALES if s not in spec.presets]
    if missing:
        raise ValueError(f"chapter {name}: PRESETS lacks the scales {missing}")
    return spec


def run_chapter(
    name: str,
    scale: str = "book",
    overrides: dict | None = None,
    out_dir: Path | None = None,
    root: Path | None = None,
    progress: bool = True,
) -> Path:
    """Execute one chapter with papermill at a scale; return the executed notebook's path."""
    import jupytext  # the "book" extra (see chapter_spec)
    import papermill

    root = root or project_root()
    spec = chapter_spec(name, root)
    params = validate(spec, scale, overrides)
    out_dir = Path(out_dir or root / "book")
    out_dir.mkdir(parents=True, exist_ok=True)
    source_nb = out_dir / "_runs" / f"{spec.name}.source.ipynb"
    source_nb.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(spec.path), source_nb)
    target = out_dir / f"{spec.name}.ipynb"
    start = time.perf_counter()
    partial = out_dir / f".{spec.name}.partial.ipynb"
    owns_env = BOOK_RUN_ENV not in os.environ
    os.environ[BOOK_RUN_ENV] = "1"  # inherited by the kernel: library progress bars stay out of the page
    try:
        papermill.execute_notebook(
            str(source_nb),
            str(partial),
            parameters=params,
            kernel_name="python3",
            progress_bar=progress,
            cwd=str(root),
        )
        _fold_setup_cells(partial)
        os.replace(partial, target)  # a chapter that fails leaves the last good output in place
    finally:
        partial.unlink(missing_ok=True)
        if owns_env:
            os.environ.pop(BOOK_RUN_ENV, None)
    wall = time.perf_counter() - start
    source_nb.unlink(missing_ok=True)
    overrides_used = {k: v for k, v in params.items() if k != "scale"}
    record = {
        "chapter": spec.name,
        "scale": scale,
        "command": " ".join([f"localcodes run {spec.name} --scale {scale}",
                             *(f"-p {k} {shlex.quote(repr(v))}" for k, v in overrides_used.items())]),
        "parameters": overrides_used,
        "wall_s": round(wall, 2),
        "device": device_name(),
        "git_commit": git_commit(root),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    write_json(out_dir / "_runs" / f"{spec.name}.json", record)
    if scale == "paper":  # paper-scale results are committed: keep how they were made beside them
        write_json(results_dir("paper", spec.name) / "run.json", record)
    return target


# cells that set a run up rather than tell its story: folded ("show code") in the book, still one click away
FOLDED_TAGS = ("presets", "injected-parameters")


def _fold_setup_cells(path: Path) -> None:
    """Tag the presets cell and papermill's injected-parameters cell ``hide-input`` in an executed notebook."""
    import nbformat  # the "book" extra (see chapter_spec)

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).setdefault("tags", [])
        if any(t in tags for t in FOLDED_TAGS) and "hide-input" not in tags:
            tags.append("hide-input")
    nbformat.write(nb, path)


def write_status(book_dir: Path) -> Path:
    """The status page: how every executed chapter was run (an execution-statistics table)."""
    runs = sorted(p for p in (book_dir / "_runs").glob("*.json") if not p.name.startswith("_"))
    lines = [
        "# Execution status",
        "",
        "How each chapter of this build was executed: the scale and parameter overrides given to the runner",
        "(`localcodes run CHAPTER --scale S -p name value`), its wall time, the device and the git commit.",
        "",
        "| chapter | scale | overrides | wall time (s) | device | git commit | date |",
        "|---|---|---|---:|---|---|---|",
    ]
    total = 0.0
    for path in runs:
        r = json.loads(path.read_text())
        total += r["wall_s"]
        over = ", ".join(f"`{k}={v!r}`" for k, v in r["parameters"].items()) or "none"
        lines.append(
            f"| {r['chapter']} | {r['scale']} | {over} | {r['wall_s']:.1f} | {r['device']} | "
            f"`{r['git_commit'][:12]}` | {r['date']} |"
        )
    lines += ["", f"Sum of the chapters' execution times: {total:.1f} s ({total / 60:.1f} min)."]
    build_run = book_dir / "_runs" / "_build.json"
    if build_run.exists():
        b = json.loads(build_run.read_text())
        lines += [f"The last `localcodes build` executed {len(b['chapters'])} chapter(s) at scale `{b['scale']}`, "
                  f"{b['jobs']} at a time ({b.get('threads', '?')} CPU thread(s) each), in {b['wall_s']:.1f} s "
                  f"({b['wall_s'] / 60:.1f} min) of wall time ({b['date']})."]
    lines.append("")
    out = book_dir / "status.md"
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines))
    return out


ABSTRACT = "abstract.md"


def write_abstract(book_dir: Path, scale: str, root: Path | None = None) -> Path:
    """The book's abstract (``book/abstract.md``, included by the index page): the ``abstract.md`` that chapters
    computed from their stored verdicts at ``scale`` (``results/<scale>/<chapter>/abstract.md``), in chapter order;
    nothing is typed here, so the abstract never says more than the verdicts."""
    parts = []
    for name in chapters(root):
        path = results_dir(scale, name, create=False) / ABSTRACT
        if path.exists():
            parts.append(path.read_text().strip())
    text = "\n\n".join(parts) if parts else (
        f"*No chapter has stored verdicts at the `{scale}` scale yet: run the book (`make book`) to compute them.*")
    out = book_dir / ABSTRACT
    with atomic_path(out) as tmp:
        tmp.write_text(text + "\n")
    return out


def vendor(root: Path | None = None, static_dir: Path | None = None) -> Path:
    """Install the pinned npm packages (package-lock.json) and copy what the pages need into static/vendor."""
    root = root or project_root()
    dest = Path(static_dir or root / "static") / "vendor"
    modules = root / "node_modules"
    wanted = [modules / f for f in VENDOR_FILES] + [modules / d for d in VENDOR_DIRS]
    if not all(p.exists() for p in wanted):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to vendor the book's JavaScript (apt-get install npm)")
        cmd = [npm, "ci" if (root / "package-lock.json").exists() else "install", "--ignore-scripts",
               "--no-audit", "--no-fund"]
        subprocess.run(cmd, cwd=root, check=True)
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in VENDOR_FILES.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(modules / src, dest / name)
    for src, name in VENDOR_DIRS.items():
        target = dest / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(modules / src, target, ignore=shutil.ignore_patterns("*.map", "embed.js*"))
    return dest


# chapter-number ranges → the book's parts (a chapter's place is its two-digit prefix)
PARTS = (
    (0, 9, "Introduction"),
    (10, 29, "Local codes in feed-forward networks (paper 000)"),
    (30, 39, "Selectivity metrics on AlexNet (paper 001)"),
    (40, 49, "Activation maximisation (paper 001)"),
    (50, 59, "A locality prior"),
    (60, 69, "Sparseness across layers"),
    (70, 99, "Beyond the papers"),
)


def write_toc(root: Path | None = None, book_root: Path | None = None) -> Path:
    """Write _toc.yml from the chapters present: intro page, methods, chapters by part, status page."""
    root = root or project_root()
    book_root = book_root or root
    lines = ["# Generated by `localcodes build` from notebooks/NN_*.py; edit the chapters, not this file.",
             "format: jb-book", "root: book/index", "parts:"]
    by_part: dict[str, list[str]] = {}
    for name in chapters(root):
        number = int(name[:2])
        caption = next(c for lo, hi, c in PARTS if lo <= number <= hi)
        by_part.setdefault(caption, []).append(f"book/{name}")
    if (book_root / "book" / "methods.md").exists():
        by_part.setdefault("Introduction", []).append("book/methods")
    for _, _, caption in PARTS:
        if caption in by_part:
            lines += [f"  - caption: {caption}", "    chapters:"]
            lines += [f"      - file: {f}" for f in by_part[caption]]
    lines += ["  - caption: About this build", "    chapters:", "      - file: book/status"]
    if (book_root / "book" / "performance.md").exists():
        lines.append("      - file: book/performance")
    out = book_root / "_toc.yml"
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return out


def _copy_book_sources(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in BOOK_SOURCES:
        shutil.copy2(src / name, dst / name)
    (dst / "book").mkdir(exist_ok=True)
    for f in (src / "book").iterdir():
        if f.is_file() and f.suffix in (".md", ".bib", ".png", ".svg"):
            shutil.copy2(f, dst / "book" / f.name)


def default_jobs() -> int:
    """Chapters executed at once by ``build``: ``$LOCALCODES_JOBS``, else one per CPU core, at most 4."""
    env = os.environ.get("LOCALCODES_JOBS")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"LOCALCODES_JOBS must be a whole number >= 1; got {env!r}")
        return int(env)
    return max(1, min(os.cpu_count() or 1, 4))


def schedule(names: list[str], after: dict[str, list[str]], run, jobs: int = 1,
             cost: dict[str, float] | None = None) -> list[str]:
    """Run ``run(name)`` for every name, at most ``jobs`` at once, each only after the names in ``after[name]``
    (those among ``names``; others are taken as already run) have finished.

    Of the names ready to start, the one heading the longest chain of work still to come goes first (chain
    lengths add ``cost``, e.g. each chapter's last wall time; 1 each when unknown), then book order — so a long
    chain such as AlexNet → locality prior → sparseness does not start last. When a run raises, nothing new
    starts, the running ones finish, and the first error is raised (naming its chapter). Returns the names in
    the order they finished.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; got {jobs}")
    wanted = set(names)
    needs = {n: [a for a in after.get(n, []) if a in wanted and a != n] for n in names}
    dependents = {n: [m for m in names if n in needs[m]] for n in names}
    cost = cost or {}
    chains: dict[str, float] = {}

    def chain(n: str, visiting: frozenset = frozenset()) -> float:
        if n in visiting:
            raise ValueError(f"chapters wait on each other (AFTER forms a cycle) through {n}")
        if n not in chains:
            chains[n] = float(cost.get(n, 1.0)) + max((chain(m, visiting | {n}) for m in dependents[n]),
                                                      default=0.0)
        return chains[n]

    order = {n: i for i, n in enumerate(names)}
    pending = sorted(names, key=lambda n: (-chain(n), order[n]))
    done, running, failed = [], {}, None
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            if failed is None:
                for n in [n for n in pending if all(a in done for a in needs[n])][: jobs - len(running)]:
                    pending.remove(n)
                    running[pool.submit(run, n)] = n
            if not running:  # only after a failure: without cycles something is always ready
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                n = running.pop(fut)
                if fut.exception() is not None:
                    failed = failed or (n, fut.exception())
                else:
                    done.append(n)
    if failed is not None:
        name, err = failed
        raise RuntimeError(f"chapter {name} failed: {err}") from err
    return done


def chapter_progress(partial: Path) -> tuple[int, int] | None:
    """(cells executed, code cells) of a running chapter, read from the notebook papermill saves after each cell;
    None when there is nothing readable yet."""
    try:
        cells = [c for c in json.loads(partial.read_text())["cells"] if c.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return None
    done = sum(c.get("metadata", {}).get("papermill", {}).get("status") == "completed" for c in cells)
    return done, len(cells)


class _Ticker(threading.Thread):
    """Every ``every`` seconds, one line per running chapter: cells done of total and time so far."""

    def __init__(self, book_dir: Path, say, every: float):
        super().__init__(daemon=True)
        self.book_dir, self.say, self.every = book_dir, say, every
        self.running: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            for name, start in sorted(dict(self.running).items()):
                got = chapter_progress(self.book_dir / f".{name}.partial.ipynb")
                cells = f"cell {got[0]} of {got[1]}" if got else "starting"
                self.say(f"  … {name}: {cells}, {time.perf_counter() - start:.0f} s")


#: Chapter wall times of a measured clean-clone build, per scale: the scheduler's estimates before this checkout
#: has run a chapter itself (else a fresh clone starts the long chapters last).
CHAPTER_TIMES = "chapter_times.json"


def _last_wall_times(book_dir: Path, scale: str) -> dict[str, float]:
    """Each chapter's wall time in the last run recorded at ``scale`` (the scheduler's cost estimates); chapters
    not yet run here take the committed estimate in ``book/chapter_times.json``."""
    out = {}
    try:
        out.update({k: float(v) for k, v in json.loads((book_dir / CHAPTER_TIMES).read_text()).get(scale, {}).items()})
    except (OSError, ValueError, AttributeError):
        pass
    for path in (book_dir / "_runs").glob("[0-9]*.json"):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if r.get("scale") == scale:
            out[r["chapter"]] = float(r["wall_s"])
    return out


def build(
    scale: str = "book",
    only: list[str] | None = None,
    root: Path | None = None,
    out: Path | None = None,
    execute: bool = True,
    overrides: dict | None = None,
    jobs: int | None = None,
) -> Path:
    """Execute every chapter (or ``only`` these) at ``scale`` and build the HTML book; return index.html.

    ``out`` builds in another folder (the book sources are copied there), leaving the checkout's book alone.
    ``jobs`` chapters run at once (default ``default_jobs()``), each after the chapters its ``AFTER`` names;
    with more than one, each kernel gets an equal share of the CPU cores as its torch/OpenMP threads (threads
    waiting on a shared core stall), unless ``OMP_NUM_THREADS`` is already set.
    """
    root = root or project_root()
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; got {jobs}")
    book_root = Path(out) if out else root
    if book_root != root:
        _copy_book_sources(root, book_root)
    book_dir = book_root / "book"
    if execute:  # refuse bad chapters or overrides before anything runs (npm included)
        names = [_resolve_name(n, root)[0] for n in only] if only else list(chapters(root))
        specs = {n: chapter_spec(n, root) for n in names}
        for n in names:
            validate(specs[n], scale, overrides)
    vendor(root, book_root / "static")
    if execute:
        env = {BOOK_RUN_ENV: "1"}
        if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # inherited by every kernel the runs start
        threads = os.environ.get("OMP_NUM_THREADS", "torch's default")
        start = time.perf_counter()

        lock = threading.Lock()

        def say(text: str) -> None:
            with lock:  # whole lines from concurrent runs
                print(text, flush=True)

        ticker = _Ticker(book_dir, say, float(os.environ.get("LOCALCODES_PROGRESS_S", "60")))

        def one(name: str) -> None:
            t = time.perf_counter()
            say(f"[{len(names)} chapters, {jobs} at once] executing {name} at scale {scale}")
            ticker.running[name] = t
            try:
                run_chapter(name, scale, overrides, out_dir=book_dir, root=root, progress=jobs == 1)
            finally:
                ticker.running.pop(name, None)
            say(f"  finished {name} in {time.perf_counter() - t:.0f} s")

        if jobs > 1:  # papermill's own bar would interleave; one line per running chapter every minute instead
            ticker.start()
        try:
            schedule(names, {n: specs[n].after for n in names}, one, jobs, cost=_last_wall_times(book_dir, scale))
        finally:
            ticker.stop.set()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        wall = time.perf_counter() - start
        print(f"executed {len(names)} chapters in {wall:.0f} s", flush=True)
        write_json(book_dir / "_runs" / "_build.json", {"scale": scale, "chapters": names, "jobs": jobs,
                                                        "threads": threads,
                                                        "wall_s": round(wall, 2), "date": time.strftime(
                                                            "%Y-%m-%d %H:%M:%S %Z")})
    write_status(book_dir)
    write_abstract(book_dir, scale, root)
    write_toc(root, book_root)
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(book_root), "--warningiserror", "--keep-going"]
    if shutil.which("jupyter-book"):
        cmd = ["jupyter-book", "build", str(book_root), "--warningiserror", "--keep-going"]
    subprocess.run(cmd, check=True, cwd=book_root)
    return book_root / "_build" / "html" / "index.html"
