"""Verdicts on paper 000's seven findings (§1.1), computed from the results the chapters store.

One rule per piece of evidence (``verdict_dropout`` … ``verdict_stopping``, each reading one file of one chapter;
``EVIDENCE`` lists them), and the checks of the chapters of experiments 1–7 and 12 (``checks_evidence``).
``combine_verdicts`` makes one verdict of several; ``findings_table`` gives every piece of evidence and every
finding's verdict; ``evidence_html`` shows the evidence as one HTML table.
"""

from __future__ import annotations

import functools
import html
import re

import numpy as np
import pandas as pd
from scipy import stats

from localcodes.book import chapters as book_chapters
from localcodes.store import results_dir

from .reported import FINDINGS
from .statistics import require_columns
from .sweeps import read_result

REPRODUCED, PARTLY, NOT, NOT_RUN = "reproduced", "partly", "not reproduced", "not run"
ALPHA = 0.05


def verdict_dropout(final: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 4 from experiment 8 (``16_dropout/final.parquet``: ``dropout %``, ``lc_pairs``): reproduced
    when the largest rate has more LCs on average than the smallest and a KS test separates them (p < 0.05);
    partly when only the mean is higher."""
    if final is None or final.empty or final["dropout %"].nunique() < 2:
        return NOT_RUN, "no results with two or more dropout rates"
    lo, hi = final["dropout %"].min(), final["dropout %"].max()
    a = final.loc[final["dropout %"] == lo, "lc_pairs"]
    b = final.loc[final["dropout %"] == hi, "lc_pairs"]
    p = float(stats.ks_2samp(a, b).pvalue) if len(a) and len(b) else np.nan
    detail = f"mean LCs {a.mean():.1f} at {lo} % vs {b.mean():.1f} at {hi} % dropout (KS p = {p:.2g})"
    if b.mean() > a.mean() and p < ALPHA:
        return REPRODUCED, detail
    return (PARTLY if b.mean() > a.mean() else NOT), detail


def verdict_memorisation(compare: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 2 from experiment 13 (``21_memorisation/compare.parquet``: ``n_hidden, control, shuffled, p``):
    reproduced when shuffled targets give fewer LCs for every hidden size and significantly (Mann–Whitney
    p < 0.05) for at least one; partly when fewer but never significantly."""
    if compare is None or compare.empty:
        return NOT_RUN, "no results"
    fewer = compare["shuffled"] < compare["control"]
    detail = "; ".join(f"{int(r.n_hidden)} units: {r.control:.1f} → {r.shuffled:.1f} (p = {r.p:.2g})"
                       for r in compare.itertuples())
    if fewer.all() and (compare["p"] < ALPHA).any():
        return REPRODUCED, detail
    return (PARTLY if fewer.any() else NOT), detail


def verdict_noise(tests: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 3 (under- vs over-resourced) from experiment 9 (``17_activation_noise/tests.parquet``:
    ``n_hidden, sigma, difference, p``): reproduced when noise lowers the LCs of the smallest network and
    raises those of the largest (mean difference over σ > 0), partly when only the ordering holds (the
    smallest changes less favourably than the largest)."""
    if tests is None or tests.empty or tests["n_hidden"].nunique() < 2:
        return NOT_RUN, "no results with two or more hidden sizes"
    by = tests.groupby("n_hidden")["difference"].mean()
    small, large = by.iloc[0], by.iloc[-1]
    detail = (f"mean change of LCs with noise: {by.index[0]} units {small:+.2f}, {by.index[-1]} units "
              f"{large:+.2f}")
    if small < 0 < large:
        return REPRODUCED, detail
    return (PARTLY if small < large else NOT), detail


def verdict_generalisation(fits: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 5 from experiment 10 (``18_training_time/fits.parquet``: ``accuracy, n_hidden, gradient, p``,
    and ``checkpoints`` when several fits are stored: the first kind is judged): reproduced when the
    LCs-vs-test-classification-accuracy fits have positive gradients with p < 0.05 for at least half of the
    hidden sizes, partly when at least one does."""
    if fits is None or fits.empty:
        return NOT_RUN, "no results"
    if "checkpoints" in fits.columns:  # several fits per size: the first kind stored is the one to judge
        fits = fits[fits["checkpoints"] == fits["checkpoints"].iloc[0]]
    cls = fits[fits["accuracy"] == "classification"]
    good = (cls["gradient"] > 0) & (cls["p"] < ALPHA)
    detail = "; ".join(f"{int(r.n_hidden)} units: gradient {r.gradient:.1f} (R² {r.r2:.2f}, p = {r.p:.2g})"
                       for r in cls.itertuples())
    if len(cls) and good.sum() >= max(1, len(cls) / 2):
        return REPRODUCED, detail
    return (PARTLY if good.any() else NOT), detail


def verdict_conditions(contrasts: pd.DataFrame | None) -> tuple[str, str]:
    """Finding 6 from experiment 11 (``19_four_layer/contrasts.parquet``: ``factor, holds``): for each of
    large training set, softmax and early stopping on training accuracy, does the paper's direction hold in
    most of its testable contrasts? All three: reproduced; one or two: partly."""
    if contrasts is None or contrasts.empty:
        return NOT_RUN, "no results"
    factors = ["large training set", "softmax", "early stopping on training accuracy"]
    known = contrasts.dropna(subset=["holds"])
    parts, ok = [], 0
    for f in factors:
        k = known[known["factor"] == f]
        if not len(k):
            parts.append(f"{f}: not run")
            continue
        held = int(k["holds"].astype(bool).sum())
        ok += held > len(k) / 2
        parts.append(f"{f}: {held}/{len(k)} contrasts hold")
    tested = sum("not run" not in p for p in parts)
    if tested == 0:
        return NOT_RUN, "; ".join(parts)
    if ok == len(factors):
        return REPRODUCED, "; ".join(parts)
    return (PARTLY if ok else NOT), "; ".join(parts)


def verdict_stopping(turning: pd.DataFrame | None, tolerance: float = 0.25) -> tuple[str, str]:
    """Finding 7 from experiment 10 (``18_training_time/turning.parquet``: ``turning_point, train_acc_99,
    epochs``): reproduced when most networks have a turning point and it lies within ``tolerance`` of the
    training run of the epoch of 99 % training accuracy (median over networks); partly when turning points
    exist but further away."""
    if turning is None or turning.empty:
        return NOT_RUN, "no results"
    found = turning["turning_point"].notna().mean()
    both = turning.dropna(subset=["turning_point", "train_acc_99"])
    if not len(both):
        return NOT, f"turning points found for {found:.0%} of networks; none also reach 99 % train accuracy"
    gap = ((both["turning_point"] - both["train_acc_99"]).abs() / both["epochs"]).median()
    detail = (f"turning point found for {found:.0%} of networks; median distance to 99 % training accuracy "
              f"{gap:.0%} of the run")
    if found >= 0.5 and gap <= tolerance:
        return REPRODUCED, detail
    return PARTLY, detail


def combine_verdicts(verdicts: list[str]) -> str:
    """One verdict from several pieces of evidence: all reproduced → reproduced; none run → not run; all run
    ones "not reproduced" → not reproduced; otherwise partly."""
    run = [v for v in verdicts if v != NOT_RUN]
    if not run:
        return NOT_RUN
    if all(v == REPRODUCED for v in run):
        return REPRODUCED
    if all(v == NOT for v in run):
        return NOT
    return PARTLY


# (finding, evidence, chapter, file, verdict function): what the findings chapter reads, in one place
EVIDENCE = [
    (2, "experiment 13: shuffled targets give fewer LCs", "21_memorisation", "compare.parquet",
     verdict_memorisation),
    (3, "experiment 9: noise helps over-resourced, hurts under-resourced NNs", "17_activation_noise",
     "tests.parquet", verdict_noise),
    (4, "experiment 8: more LCs with large dropout (mean, KS test)", "16_dropout", "final.parquet",
     verdict_dropout),
    (5, "experiment 10: LCs vs test accuracy fits (Table 11)", "18_training_time", "fits.parquet",
     verdict_generalisation),
    (6, "experiment 11: large data, softmax, early stopping (Table 1 contrasts)", "19_four_layer",
     "contrasts.parquet", verdict_conditions),
    (7, "experiment 10: LC turning point vs 99 % training accuracy", "18_training_time", "turning.parquet",
     verdict_stopping),
]


# Chapters of experiments 1–7 and 12 (another part of the book) leave ``checks.parquet`` (see
# ``checks``: one row per claim, ``finding`` 1–7 or empty, ``claim``, ``ours``, ``holds``
# True/False/empty). The findings each chapter is expected to bear on, by chapter number, so that a chapter
# that has not been run still shows up as "not run" under those findings.
CHECKS_CHAPTERS = {10: (3, 6), 11: (1,), 12: (3,), 13: (3,), 14: (), 15: (1,), 20: (1,)}


def checks_evidence(scale: str, chapters: list[str] | None = None) -> pd.DataFrame:
    """Evidence rows from other chapters' ``checks.parquet`` at ``scale``: a claim that holds is
    "reproduced", one that does not is "not reproduced", one that could not be judged is "not run". A chapter
    without the file gives "not run" rows for the findings in ``CHECKS_CHAPTERS``. ``chapters`` defaults to
    the book's chapters numbered as in ``CHECKS_CHAPTERS``."""
    if chapters is None:
        chapters = [n for n in book_chapters() if n[:2].isdigit() and int(n[:2]) in CHECKS_CHAPTERS]
    rows = []
    for ch in chapters:
        checks = read_result(results_dir(scale, ch, create=False), "checks.parquet")
        if checks is None:
            for f in CHECKS_CHAPTERS.get(int(ch[:2]), ()):
                rows.append({"finding": f, "evidence": f"claims tested in {ch}", "chapter": ch,
                             "file": "checks.parquet", "verdict": NOT_RUN,
                             "detail": f"results/{scale}/{ch}/checks.parquet not found"})
            continue
        for c in checks.dropna(subset=["finding"]).itertuples(index=False):
            holds = None if pd.isna(c.holds) else bool(c.holds)
            verdict = NOT_RUN if holds is None else (REPRODUCED if holds else NOT)
            rows.append({"finding": int(c.finding), "evidence": str(c.claim), "chapter": ch,
                         "file": "checks.parquet", "verdict": verdict,
                         "detail": str(c.ours) + ("" if holds is not None else " (could not be judged)")})
    return pd.DataFrame(rows, columns=["finding", "evidence", "chapter", "file", "verdict", "detail"])


def findings_table(scale: str, evidence: list | None = None,
                   checks_chapters: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Verdicts on paper 000's seven findings from the results stored at ``scale``.

    Returns ``(evidence_rows, per_finding)``: one row per piece of evidence (``finding, evidence, chapter,
    file, rule, verdict, detail``; a missing file gives "not run") — the ``EVIDENCE`` of this part of the book
    (default) and the ``checks_evidence`` of the chapters of experiments 1–7 and 12 — and one row per finding
    with the combined verdict (``combine_verdicts``).
    """
    rows = []
    for finding, label, chapter, name, judge in evidence or EVIDENCE:
        frame = read_result(results_dir(scale, chapter, create=False), name)
        verdict, detail = judge(frame)
        if frame is None:
            detail = f"results/{scale}/{chapter}/{name} not found"
        rule = getattr(judge, "func", judge).__name__
        rows.append({"finding": finding, "evidence": label, "chapter": chapter, "file": name, "rule": rule,
                     "verdict": verdict, "detail": detail})
    others = checks_evidence(scale, checks_chapters).assign(rule="claim's `holds` (paper000.save_chapter)")
    ev = pd.concat([pd.DataFrame(rows), others], ignore_index=True)
    ev = ev.sort_values(["finding", "chapter"], kind="stable", ignore_index=True)
    per = []
    for k, statement in FINDINGS.items():
        mine = ev[ev["finding"] == k]
        per.append({"finding": k, "statement": statement,
                    "verdict": combine_verdicts(mine["verdict"].tolist()) if len(mine) else NOT_RUN,
                    "evidence": len(mine)})
    return ev, pd.DataFrame(per)


def evidence_html(ev: pd.DataFrame, link_suffix: str | None = ".html") -> str:
    """The evidence rows of ``findings_table`` as one HTML table, each chapter linked to its page.

    Columns: finding, evidence, chapter (a link to ``chapter + link_suffix``; plain text when ``None``),
    verdict (with the rule that decided it in small print) and the numbers behind it (``detail``). Five columns
    that wrap their sentences, where the full frame would scroll sideways.
    """
    def text(value) -> str:  # escaped, with `code` spans as <code>
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value)))

    require_columns(ev, ["finding", "evidence", "chapter", "rule", "verdict", "detail"])
    rows = []
    for r in ev.itertuples(index=False):
        chapter = html.escape(str(r.chapter))
        if link_suffix:
            chapter = f'<a href="{chapter}{link_suffix}">{chapter}</a>'
        rows.append({
            "finding": r.finding,
            "evidence": text(r.evidence),
            "chapter": chapter,
            "verdict": f"<b>{text(r.verdict)}</b><br><small>rule: {text(r.rule)}</small>",
            "the numbers": text(r.detail),
        })
    return pd.DataFrame(rows).to_html(escape=False, index=False, classes="localcodes-evidence",
                                      border=0)


def findings_tables(scale: str, stop_tolerance: float = 0.25) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``findings_table`` at ``scale`` and, when that is not ``paper``, from the stored ``paper``-scale results;
    finding 7 judged with ``stop_tolerance`` (``verdict_stopping``'s ``tolerance``)."""
    evidence = [(f, label, ch, name, functools.partial(judge, tolerance=stop_tolerance)
                 if judge is verdict_stopping else judge) for f, label, ch, name, judge in EVIDENCE]
    scales = [scale] + (["paper"] if scale != "paper" else [])
    return {s: findings_table(s, evidence) for s in scales}


def has_paper_results(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> bool:
    """Whether ``findings_tables`` found any stored ``paper``-scale evidence."""
    return any(v != NOT_RUN for v in tables["paper"][0]["verdict"]) if "paper" in tables else False


def findings_summary(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], scale: str) -> pd.DataFrame:
    """One row per finding: its statement and verdict at ``scale`` (and from stored paper-scale results when
    there are any), indexed by finding."""
    per = tables[scale][1].rename(columns={"verdict": f"verdict ({scale})"})
    if has_paper_results(tables):
        per["verdict (paper)"] = tables["paper"][1]["verdict"].to_numpy()
    return per.drop(columns=["evidence"]).set_index("finding")


def stored_chapters(scale: str) -> list[str]:
    """The local-codes chapters (numbered 10–29) with results stored at ``scale``."""
    root = results_dir(scale, create=False)
    return sorted(p.name for p in root.glob("[12][0-9]_*")) if root.exists() else []
