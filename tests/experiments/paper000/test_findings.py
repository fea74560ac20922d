"""The findings page's verdicts, derived from the claims the chapters store."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from localcodes import verdicts
from localcodes.experiments import paper000 as P000


def test_a_finding_outcome_follows_the_printed_rule():
    f = P000.finding_outcome
    assert f(["reproduced", "not run"]) == "reproduced"
    assert f(["reproduced", "inconclusive"]) == "inconclusive"
    assert f(["reproduced", "not reproduced", "inconclusive"]) == "not reproduced"
    assert f(["reproduced", "not reproduced", "contradicted"]) == "contradicted"
    assert f(["not run", "not run"]) == "not run" and f([]) == "not run"
    with pytest.raises(ValueError):
        f(["partly"])
    assert "**contradicted** if any" in P000.RULE


def _verdict(outcome: str, n_needed=None) -> verdicts.Verdict:
    return verdicts.Verdict(outcome, 0.01, 6, 0.5, (0.1, 0.9), n_needed, "paired t-test")


def _store(scale, chapter, checks):
    P000.save_chapter(scale, chapter, pd.DataFrame({"x": [1]}), checks)


def test_findings_and_abstract_change_with_a_stored_result(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    ev, per = P000.findings_table("smoke")
    assert (ev["outcome"] == "not run").all() and (per["outcome"] == "not run").all()
    assert "not found" in ev["test"].iloc[0]
    mem = [P000.check(2, "fewer_250", "shuffled targets give fewer local codes", "fewer", "10 → 5",
                      _verdict("reproduced")),
           P000.check(2, "at_most_250", "reduced by at most 47 %", "47 %", "10 → 5", _verdict("reproduced"))]
    _store("smoke", "21_memorisation", mem)
    _store("smoke", "16_dropout", [P000.check(4, "more_at_90", "more at 90 %", "18 → 74", "18 → 20",
                                              _verdict("inconclusive", n_needed=40))])
    ev, per = P000.findings_table("smoke")
    per = per.set_index("finding")
    assert per.loc[2, "outcome"] == "reproduced" and per.loc[2, "reproduced"] == 2
    assert per.loc[4, "outcome"] == "inconclusive" and per.loc[5, "outcome"] == "not run"
    text = P000.abstract("smoke")
    assert "**Reproduced**: finding 2" in text and "about 40 networks a side" in text
    assert "Contradicted" not in text
    counts = P000.outcome_counts(P000.findings_tables("smoke"))
    assert counts.loc["reproduced", "claims (smoke)"] == 2
    page = P000.evidence_html(ev)
    assert page.count("<tr") == len(ev) + 1
    assert '<a href="21_memorisation.html">21_memorisation</a>' in page

    # a changed stored result changes the verdict and the abstract
    mem[1] = P000.check(2, "at_most_250", "reduced by at most 47 %", "47 %", "10 → 1", _verdict("contradicted"))
    _store("smoke", "21_memorisation", mem)
    per2 = P000.findings_table("smoke")[1].set_index("finding")
    assert per2.loc[2, "outcome"] == "contradicted"
    text2 = P000.abstract("smoke")
    assert text2 != text and "**Contradicted**: finding 2" in text2


def test_old_format_checks_count_as_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    from localcodes.store import results_dir, write_parquet

    old = pd.DataFrame({"finding": [3], "claim": ["x"], "ours": ["y"], "holds": [True]})
    write_parquet(results_dir("smoke", "12_input_length") / "checks.parquet", old)
    ev = P000.evidence("smoke", ["12_input_length"])
    assert list(ev["outcome"]) == ["not run"] and "older format" in ev["test"].iloc[0]


def test_paper_scale_column_and_escaping(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    c = P000.check(2, "k", "a < b & `x`", "", "", _verdict("reproduced"))
    _store("smoke", "21_memorisation", [c])
    _store("paper", "21_memorisation", [{**c, **_verdict("not reproduced").as_dict()}])
    tables = P000.findings_tables("smoke")
    assert P000.has_paper_results(tables)
    assert P000.findings_summary(tables, "smoke").loc[2, "outcome (paper)"] == "not reproduced"
    page = P000.evidence_html(tables["smoke"][0], link_suffix=None, paper=tables["paper"][0])
    assert "a &lt; b &amp; <code>x</code>" in page and "outcome (paper scale)" in page
    assert "`paper`-scale" in P000.abstract("smoke")
    with pytest.raises(ValueError):
        P000.evidence_html(tables["smoke"][0].drop(columns=["outcome"]))
    assert math.isnan(P000.not_run("why").p)
