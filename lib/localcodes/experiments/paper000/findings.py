"""Verdicts on paper 000's seven findings (§1.1), derived from the claims the chapters store.

Every chapter of paper 000 judges the claims it tests with ``localcodes.verdicts`` and stores them in
``results/<scale>/<chapter>/checks.parquet`` (``checks.CHECK_COLUMNS``; ``CHECKS_CHAPTERS`` names the chapters
read here). ``evidence`` reads them all — a chapter not run, or whose stored checks carry no ``outcome`` (an
older format), gives "not run" rows for the findings it bears on (``CHAPTER_FINDINGS``) — and ``finding_outcome``
derives a finding's outcome from its claims' outcomes by the rule ``RULE``. ``findings_table`` gives the evidence
and the findings, ``outcome_counts`` the claims per outcome, ``evidence_html`` the evidence as one HTML table and
``abstract`` a short Markdown summary computed from the stored verdicts only.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from localcodes import verdicts
from localcodes.store import results_dir

from .checks import CHECK_COLUMNS
from .reported import FINDINGS
from .statistics import require_columns
from .sweeps import read_result

NOT_RUN = "not run"
ALPHA = 0.05

# The chapters whose checks.parquet the findings page reads, and the findings each bears on (so that a chapter
# not run still shows up as "not run" under them).
CHAPTER_FINDINGS = {
    "10_hidden_size_and_data": (3, 6),
    "11_random_sparseness": (1,),
    "12_input_length": (3,),
    "13_relu_vs_sigmoid": (3,),
    "14_output_code": (),
    "15_perturbed_prototypes": (1,),
    "16_dropout": (4,),
    "17_activation_noise": (3,),
    "18_training_time": (5, 7),
    "19_four_layer": (6,),
    "20_mnist_invariants": (1,),
    "21_memorisation": (2,),
}
CHECKS_CHAPTERS = tuple(CHAPTER_FINDINGS)

RULE = ("A finding is **contradicted** if any of its claims is contradicted; otherwise **not reproduced** if any "
        "is not reproduced; **reproduced** only if every claim that ran is reproduced; **inconclusive** "
        "otherwise; **not run** when none of its claims ran.")

EVIDENCE_COLUMNS = ["finding", "chapter", *[c for c in CHECK_COLUMNS if c != "finding"]]


def finding_outcome(outcomes) -> str:
    """A finding's outcome from its claims' outcomes, by ``RULE``."""
    ran = [o for o in outcomes if o != NOT_RUN]
    verdicts.count_outcomes(list(outcomes))  # rejects unknown outcomes
    if not ran:
        return NOT_RUN
    if "contradicted" in ran:
        return "contradicted"
    if "not reproduced" in ran:
        return "not reproduced"
    if all(o == "reproduced" for o in ran):
        return "reproduced"
    return "inconclusive"


def _missing(chapter: str, findings, why: str) -> list[dict]:
    return [{"finding": f, "chapter": chapter, "key": "not_run", "claim": f"the claims {chapter} tests",
             "paper": "", "ours": why, "test": why, "n": 0, "effect": np.nan, "ci_low": np.nan, "ci_high": np.nan,
             "p": np.nan, "outcome": NOT_RUN, "n_needed": None} for f in findings]


def evidence(scale: str, chapters=None) -> pd.DataFrame:
    """Every claim stored at ``scale`` by ``chapters`` (default ``CHECKS_CHAPTERS``): ``EVIDENCE_COLUMNS``, one
    row per claim. A chapter without ``checks.parquet``, or whose checks lack ``outcome``, gives one "not run"
    row per finding it bears on, saying why."""
    rows = []
    for ch in CHECKS_CHAPTERS if chapters is None else chapters:
        expected = CHAPTER_FINDINGS.get(ch, ())
        checks = read_result(results_dir(scale, ch, create=False), "checks.parquet")
        if checks is None:
            rows += _missing(ch, expected, f"results/{scale}/{ch}/checks.parquet not found: the chapter has not "
                                           "been run at this scale")
            continue
        if "outcome" not in checks.columns:
            rows += _missing(ch, expected, f"results/{scale}/{ch}/checks.parquet has no verdict outcomes (an older "
                                           "format): rerun the chapter")
            continue
        for c in checks.to_dict("records"):
            row = {k: c.get(k) for k in EVIDENCE_COLUMNS}
            row["chapter"] = ch
            row["finding"] = None if pd.isna(c.get("finding")) else int(c["finding"])
            rows.append(row)
    ev = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    ev["finding"] = ev["finding"].astype("Int64")
    ev["n_needed"] = pd.to_numeric(ev["n_needed"]).astype("Int64")
    return ev.sort_values(["finding", "chapter"], kind="stable", na_position="last", ignore_index=True)


def findings_table(scale: str, chapters=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(evidence, per_finding)`` at ``scale``: every claim (``evidence``) and one row per finding of
    ``FINDINGS`` with its outcome (``finding_outcome`` of its claims), its number of claims and of those per
    outcome."""
    ev = evidence(scale, chapters)
    per = []
    for k, statement in FINDINGS.items():
        mine = ev.loc[ev["finding"] == k, "outcome"].tolist()
        counts = verdicts.count_outcomes(mine)
        per.append({"finding": k, "statement": statement, "outcome": finding_outcome(mine), "claims": len(mine),
                    **{o: counts[o] for o in verdicts.OUTCOMES}})
    return ev, pd.DataFrame(per)


def outcome_counts(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """Claims per outcome (``verdicts.count_outcomes``), one column per scale of ``tables``: all claims, and the
    claims that bear on one of the seven findings."""
    cols = {}
    for scale, (ev, _) in tables.items():
        cols[f"claims ({scale})"] = verdicts.count_outcomes(ev["outcome"].tolist())
        cols[f"of which on a finding ({scale})"] = verdicts.count_outcomes(ev.dropna(subset=["finding"])["outcome"]
                                                                          .tolist())
    out = pd.DataFrame(cols)
    out.index.name = "outcome"
    return out


def findings_tables(scale: str) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``findings_table`` at ``scale`` and, when that is not ``paper``, from the stored ``paper``-scale checks."""
    return {s: findings_table(s) for s in [scale] + (["paper"] if scale != "paper" else [])}


def has_paper_results(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> bool:
    """Whether ``findings_tables`` found any stored ``paper``-scale claim that ran."""
    return "paper" in tables and bool((tables["paper"][0]["outcome"] != NOT_RUN).any())


def findings_summary(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], scale: str) -> pd.DataFrame:
    """One row per finding: its statement, its outcome at ``scale`` with the claims per outcome, and the outcome
    from stored paper-scale checks when there are any; indexed by finding."""
    per = tables[scale][1]
    out = per[["finding", "statement", "outcome"]].rename(columns={"outcome": f"outcome ({scale})"})
    out["claims: reproduced / not reproduced / contradicted / inconclusive / not run"] = [
        " / ".join(str(r[o]) for o in verdicts.OUTCOMES) for r in per.to_dict("records")]
    if has_paper_results(tables):
        out["outcome (paper)"] = tables["paper"][1]["outcome"].to_numpy()
    return out.set_index("finding")


def _num(x, fmt: str = ".3g") -> str:
    try:
        return "" if x is None or pd.isna(x) or not np.isfinite(float(x)) else format(float(x), fmt)
    except (TypeError, ValueError):
        return ""


def _text(value) -> str:  # escaped, with `code` spans as <code>
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value)))


def evidence_html(ev: pd.DataFrame, link_suffix: str | None = ".html", paper: pd.DataFrame | None = None) -> str:
    """The evidence of ``findings_table`` as one HTML table: finding, claim (with its chapter, linked to
    ``chapter + link_suffix``; plain text when ``None``), the test, n, effect [interval], p, outcome and the
    networks a side that would decide an inconclusive claim; with ``paper`` (the paper-scale evidence), a column
    with the outcome of the same claim there."""
    require_columns(ev, ["finding", "chapter", "key", "claim", "test", "n", "effect", "ci_low", "ci_high", "p",
                         "outcome", "n_needed"])
    at_paper = {}
    if paper is not None and len(paper):
        at_paper = {(r["chapter"], r["key"]): r["outcome"] for r in paper.to_dict("records")}
    rows = []
    for r in ev.to_dict("records"):
        chapter = html.escape(str(r["chapter"]))
        if link_suffix:
            chapter = f'<a href="{chapter}{link_suffix}">{chapter}</a>'
        effect = _num(r["effect"], "+.3g")
        if effect and _num(r["ci_low"]):
            effect += f" [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
        row = {
            "finding": "" if pd.isna(r["finding"]) else int(r["finding"]),
            "claim (chapter)": f"{_text(r['claim'])}<br><small>{chapter}; ours: {_text(r.get('ours', ''))}</small>",
            "test": f"<small>{_text(r['test'])}</small>",
            "n": "" if pd.isna(r["n"]) else int(r["n"]),
            "effect [interval]": effect,
            "p": "< 1e-300" if r["p"] == 0 else _num(r["p"]),
            "outcome": f"<b>{_text(r['outcome'])}</b>",
            "networks needed": "" if pd.isna(r["n_needed"]) else int(r["n_needed"]),
        }
        if paper is not None:
            row["outcome (paper scale)"] = _text(at_paper.get((r["chapter"], r["key"]), NOT_RUN))
        rows.append(row)
    return pd.DataFrame(rows).to_html(escape=False, index=False, classes="localcodes-evidence", border=0)


def abstract(scale: str) -> str:
    """A short Markdown abstract of the verdicts stored at ``scale`` (and at ``paper`` scale, when any): which
    findings reproduced, which did not (or were contradicted), which are inconclusive and how many networks a
    side would decide their claims, which were not run, and the claims per outcome."""
    tables = findings_tables(scale)
    ev, per = tables[scale]
    by = {o: per[per["outcome"] == o] for o in verdicts.OUTCOMES}

    def names(frame: pd.DataFrame) -> str:
        return "; ".join(f"{int(r.finding)} ({r.statement})" for r in frame.itertuples())

    lines = [f"Paper 000's seven findings, judged from the claims the chapters test at the **`{scale}`** scale, "
             "networks as the unit. " + RULE, ""]
    for o in ("reproduced", "contradicted", "not reproduced"):
        if len(by[o]):
            lines.append(f"* **{o.capitalize()}**: finding{'s' if len(by[o]) > 1 else ''} {names(by[o])}.")
    if len(by["inconclusive"]):
        need = []
        for r in by["inconclusive"].itertuples():
            mine = ev[(ev["finding"] == r.finding) & (ev["outcome"] == "inconclusive")]["n_needed"].dropna()
            need.append(f"{int(r.finding)} (about {int(mine.max())} networks a side would decide its claims)"
                        if len(mine) else f"{int(r.finding)} (more networks would not decide it at the effect seen)")
        lines.append("* **Inconclusive**: finding" + ("s " if len(need) > 1 else " ") + "; ".join(need) + ".")
    if len(by[NOT_RUN]):
        lines.append(f"* **Not run** at this scale: finding{'s' if len(by[NOT_RUN]) > 1 else ''} "
                     + ", ".join(str(int(f)) for f in by[NOT_RUN]["finding"]) + ".")
    counts = verdicts.count_outcomes(ev["outcome"].tolist())
    lines.append(f"* Claims per outcome ({len(ev)} in all): "
                 + ", ".join(f"{o} {counts[o]}" for o in verdicts.OUTCOMES) + ".")
    if has_paper_results(tables):
        pp = tables["paper"][1]
        lines.append("* From stored `paper`-scale results: " + "; ".join(
            f"{o} {', '.join(str(f) for f in pp.loc[pp['outcome'] == o, 'finding'])}" for o in verdicts.OUTCOMES
            if (pp["outcome"] == o).any()) + ".")
    return "\n".join(lines) + "\n"


def stored_chapters(scale: str) -> list[str]:
    """The local-codes chapters (numbered 10–29) with results stored at ``scale``."""
    root = results_dir(scale, create=False)
    return sorted(p.name for p in root.glob("[12][0-9]_*")) if root.exists() else []
