"""A chapter's stored results and its checks of the paper's claims.

A check is one claim of paper 000 that a chapter tests, judged with ``localcodes.verdicts`` (never an ad-hoc
rule), a dict made by ``check``: ``finding`` (the §1.1 finding it bears on, 1–7, or None), ``key``, ``claim``,
``paper`` (what the paper shows), ``ours`` (our numbers, as text), and the verdict's ``test``, ``n``, ``effect``,
``ci_low``, ``ci_high``, ``p``, ``outcome`` (one of ``verdicts.OUTCOMES``) and ``n_needed``.

What a chapter of experiments 1–7 and 12 leaves for the findings chapter (``save_chapter``):
``results/<scale>/<chapter>/summary.parquet`` (one row per condition × hidden size: mean, sem, sd, min, max,
count of ``lc_pairs``, ``lc_units`` and ``lc_share``, and the mean final training accuracy), ``checks.json`` /
``checks.parquet`` (one row per check) and ``provenance.json``. The chapters of experiments 8–11 and 13 store
their final rows and tables (``save_frames``) and are judged by ``findings``' rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from localcodes import verdicts
from localcodes.store import provenance, results_dir, write_json, write_parquet

from .sweeps import read_result

NO_PAPER_RESULTS = "*No paper-scale results are stored yet.*"


CHECK_COLUMNS = ["finding", "key", "claim", "paper", "ours", "test", "n", "effect", "ci_low", "ci_high", "p",
                 "outcome", "n_needed"]


def check(finding: int | None, key: str, claim: str, paper: str, ours: str, verdict: verdicts.Verdict) -> dict:
    """One claim as a row of a chapter's checks table: what the paper says, what we found, and the verdict."""
    return {"finding": finding, "key": key, "claim": claim, "paper": paper, "ours": ours, **verdict.as_dict()}


def save_chapter(scale: str, chapter: str, summary: pd.DataFrame, checks: list[dict], **extra) -> Path:
    """Write a chapter's ``summary.parquet``, ``checks.json`` and ``checks.parquet`` (read by the findings
    chapter) and ``provenance.json`` (git commit, device, date, versions, and ``extra``: the chapter's settings)."""
    folder = results_dir(scale, chapter)
    write_json(folder / "provenance.json", provenance(chapter=chapter, scale=scale, **extra))
    write_parquet(folder / "summary.parquet", summary.reset_index(drop=True))
    clean = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in c.items()} for c in checks]
    write_json(folder / "checks.json", {"chapter": chapter, "scale": scale, "checks": clean, **extra})
    bad = [c.get("key") for c in clean if c.get("outcome") not in verdicts.OUTCOMES]
    if bad:
        raise ValueError(f"checks {bad} carry no verdict outcome; build them with checks.check(...)")
    table = pd.DataFrame(clean, columns=CHECK_COLUMNS)
    table["finding"] = table["finding"].astype("Int64")
    table["n_needed"] = table["n_needed"].astype("Int64")
    write_parquet(folder / "checks.parquet", table)
    return folder


def load_chapter(scale: str, chapter: str) -> tuple[pd.DataFrame | None, list[dict] | None]:
    """A chapter's stored ``summary.parquet`` and ``checks`` at ``scale`` (None where absent)."""
    folder = results_dir(scale, chapter, create=False)
    summary = pd.read_parquet(folder / "summary.parquet") if (folder / "summary.parquet").exists() else None
    checks = json.loads((folder / "checks.json").read_text())["checks"] if (folder / "checks.json").exists() \
        else None
    return summary, checks


def verdict_table(checks: list[dict]) -> pd.DataFrame:
    """The checks of a chapter as a table: the claim, the paper's and our numbers, the test and its verdict."""
    rows = []
    for c in checks:
        decided = c["outcome"] not in ("inconclusive", "not run")
        rows.append({
            "claim (paper 000)": c["claim"], "paper": c.get("paper", ""), "ours": c["ours"],
            "test": c["test"], "n": c["n"], "effect [interval]": _effect_text(c), "p": _p_text(c["p"]),
            "verdict at this scale": c["outcome"] + ("" if decided or not c.get("n_needed") else
                                                     f" (about {c['n_needed']} networks a side would decide it)"),
        })
    return pd.DataFrame(rows)


def _effect_text(c: dict) -> str:
    if c["effect"] is None or not np.isfinite(c["effect"]):
        return ""
    if c["ci_low"] is None or not np.isfinite(c["ci_low"]):
        return f"{c['effect']:+.3g}"
    return f"{c['effect']:+.3g} [{c['ci_low']:.3g}, {c['ci_high']:.3g}]"


def _p_text(p) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "< 1e-300" if p == 0 else f"{p:.3g}"


def verdict_lines(checks: list[dict]) -> str:
    """The checks as Markdown bullet points, for a chapter's closing summary."""
    if not checks:
        return "Nothing to judge at this scale."
    return "\n".join(f"* {c['claim']}: **{c['outcome']}** ({c['ours']}; {c['test']}, n = {c['n']}"
                     + (f", p = {_p_text(c['p'])}" if _p_text(c['p']) else "") + ")." for c in checks)


def save_frames(scale: str, chapter: str, parameters: dict, networks: int, **frames: pd.DataFrame) -> Path:
    """Write a chapter's tables as ``<name>.parquet`` (``final=...``: read by the findings chapter) and then its
    ``provenance.json`` (git commit, device, date, versions, the chapter's ``parameters`` and its ``networks``)."""
    folder = results_dir(scale, chapter)
    for name, frame in frames.items():
        write_parquet(folder / f"{name}.parquet", frame)
    write_json(folder / "provenance.json", provenance(chapter=chapter, scale=scale, parameters=parameters,
                                                      networks=networks))
    return folder


def paper_scale_results(scale: str, chapter: str, name: str, shown: str = "the tables above",
                        caption: str = "") -> tuple[str, pd.DataFrame | None]:
    """What to show of a chapter's stored ``paper``-scale result ``name``: a sentence in Markdown, and the table
    (None when this run is the paper-scale run or nothing is stored). ``shown``: where this run's own tables are;
    ``caption``: said after "Paper scale (stored results)"."""
    if scale == "paper":
        return f"This run *is* the paper-scale run ({shown}).", None
    frame = read_result(results_dir("paper", chapter, create=False), name)
    if frame is None:
        return "No paper-scale results are stored yet.", None
    return "**Paper scale (stored results)**" + (f": {caption}" if caption else ""), frame
