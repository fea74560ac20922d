"""The AlexNet chapter's checks of paper 001's claims (Tables 1, A1, A2, Figs. 2–5, App. A3), each judged with
``localcodes.verdicts``.

There is one network here, so the **unit** is the unit of analysis: paper 001's claims are about the units of a
layer (their means, their shares over a threshold, one measure against another), and the units of a layer are
the observations those numbers summarise. Tests (all one-sided at alpha 0.05 unless said):

* a layer against a layer (Fig. 2, §3.2): Welch's t-test on the two layers' live units (different units, unequal
  variances and sizes);
* one measure against another on the same units (§3.1, Table 1): a paired t-test over the layer's live units;
* a layer mean against a number the paper states (a threshold): a one-sample t-test, i.e. paired against that
  constant;
* a share of units against a stated share ("most units") or another layer's share: exact tests (binomial,
  ``verdicts.judge_proportion``; Fisher, ``verdicts.judge_two_proportions``), since a t-test on 0/1 flags has no
  spread to work with when every flag is the same;
* "none at all" (no local codes): the share of units with a local code is below 1 % (exact binomial test), so
  "none of a few units" is not enough.

Dead units (constant over the images) are left out of every test. The verdicts speak for this one network
(units are not independent networks): the chapter says so beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import verdicts
from ...selectivity import PAPER001_AGREEMENT, PAPER001_TABLE1, PAPER001_TABLE_A2
from ..paper000.checks import check

__all__ = ["MEASURE_NAMES", "HIDDEN", "DETECTOR_PRECISION", "layer_checks", "unit_checks", "detector_checks",
           "verdict_table", "verdict_lines", "save_checks"]

MEASURE_NAMES = {"top_class_selectivity": "top-class selectivity", "precision": "precision@100",
                 "ccmas": "CCMAS"}
HIDDEN = ("conv5", "fc6", "fc7")
_PCT = {"top_class_selectivity", "precision"}  # Table A2 gives these in %


def _live(t: pd.DataFrame) -> pd.DataFrame:
    return t[~t["dead"]] if "dead" in t else t


def _paper_mean(layer: str, col: str) -> float:
    v = float(PAPER001_TABLE_A2.loc[layer, col])
    return v / 100 if col in _PCT else v


def _fmt(col: str, v: float) -> str:
    return f"{100 * v:.2f}%" if col in _PCT else f"{v:.3f}"


def _const(values, c: float) -> np.ndarray:
    return np.full(len(values), c, dtype=float)


def layer_checks(tables: dict[str, pd.DataFrame], layers) -> list[dict]:
    """Fig. 2 / Table A2, Table 1 and §3.2 claims about layers and measures (``tables``: the chapter's unit tables
    with a ``dead`` column)."""
    out = []
    present = [n for n in ("conv5", "fc6", "fc7", "fc8", "prob") if n in layers and n in tables]
    live = {n: _live(tables[n]) for n in present}
    # Fig. 2 / Table A2: every measure rises from layer to layer
    for col, name in MEASURE_NAMES.items():
        for lo, hi in zip(present, present[1:], strict=False):
            a, b = live[hi][col].to_numpy(float), live[lo][col].to_numpy(float)
            v = verdicts.judge_difference(a, b, "greater", paired=False)
            out.append(check(None, f"rise_{col}_{lo}_{hi}", f"Fig. 2: mean {name} is higher in {hi} than in {lo}",
                             f"Table A2: {_fmt(col, _paper_mean(lo, col))} → {_fmt(col, _paper_mean(hi, col))}",
                             f"{_fmt(col, np.nanmean(b))} → {_fmt(col, np.nanmean(a))}", v))
    hidden = [n for n in HIDDEN if n in live]
    for n in hidden:
        tcs = live[n]["top_class_selectivity"].to_numpy(float)
        v = verdicts.judge_difference(tcs, _const(tcs, 0.0025), "less")
        out.append(check(None, f"tcs_low_{n}", f"§3.1: mean top-class selectivity in {n} is below 0.25%",
                         f"{_fmt('top_class_selectivity', _paper_mean(n, 'top_class_selectivity'))}",
                         f"{100 * np.nanmean(tcs):.2f}% (floor 1 / images of the top class)", v))
    for n in hidden:
        t = live[n]
        tcs, prec, cc = (t[c].to_numpy(float) for c in ("top_class_selectivity", "precision", "ccmas"))
        v = verdicts.judge_difference(prec, 10 * tcs, "greater")
        out.append(check(None, f"prec_over_tcs_{n}", f"§3.1: in {n}, precision is over ten times top-class "
                         "selectivity", f"{_paper_mean(n, 'precision') / _paper_mean(n, 'top_class_selectivity'):.0f}x"
                         " (layer means)", f"{np.nanmean(prec) / max(np.nanmean(tcs), 1e-12):.1f}x", v))
        v = verdicts.judge_difference(cc, 10 * tcs, "greater")
        out.append(check(None, f"ccmas_over_tcs_{n}", f"§3.1: in {n}, CCMAS is over ten times top-class "
                         "selectivity", f"{_paper_mean(n, 'ccmas') / _paper_mean(n, 'top_class_selectivity'):.0f}x",
                         f"{np.nanmean(cc) / max(np.nanmean(tcs), 1e-12):.1f}x", v))
    # Table 1: precision > 50% is common, top-class selectivity > 5% is not
    for n in hidden:
        t = live[n]
        p50 = (t["precision"] > 0.5).to_numpy(float)
        t5 = (t["top_class_selectivity"] > 0.05).to_numpy(float)
        v = verdicts.judge_difference(p50, t5, "greater")
        out.append(check(None, f"t1_prec_vs_tcs_{n}", f"Table 1: in {n}, more units have precision > 50% than "
                         "top-class selectivity > 5%", f"{PAPER001_TABLE1.loc[n, 'precision > 50%']:.1f}% vs "
                         f"{PAPER001_TABLE1.loc[n, 'TCS > 5%']:.1f}%", f"{100 * p50.mean():.1f}% vs "
                         f"{100 * t5.mean():.1f}%", v))
    for n in [x for x in ("fc6", "fc7") if x in live]:
        c8 = (live[n]["ccmas"] > 0.8).to_numpy(float)
        v = verdicts.judge_proportion(int(c8.sum()), c8.size, 0.5, "greater")
        out.append(check(None, f"t1_ccmas_most_{n}", f"Table 1: most {n} units have CCMAS > 0.8",
                         f"{PAPER001_TABLE1.loc[n, 'CCMAS > 0.8']:.1f}%", f"{100 * c8.mean():.1f}%", v))
    # §3.2: CCMAS above 1 in fc8 (no ReLU)
    if "fc8" in live:
        over = (live["fc8"]["ccmas"] > 1).to_numpy(float)
        v = verdicts.judge_difference(over, _const(over, 0.0), "greater")
        out.append(check(None, "fc8_ccmas_over_1", "§3.2: CCMAS exceeds 1 for some fc8 units (negative "
                         "activations)", "fc8 mean 0.996; fc8.393: 1.244", f"{100 * over.mean():.1f}% of fc8 units", v))
    # §3.2: class agreement between top-class selectivity and CCMAS
    agree = {n: (live[n]["top_class"] == live[n]["ccmas_class"]).to_numpy(float) for n in live}
    for n in [x for x in ("conv5", "fc6") if x in agree]:
        v = verdicts.judge_proportion(int(agree[n].sum()), agree[n].size, 0.5, "less")
        out.append(check(None, f"agree_low_{n}", f"§3.2: in {n}, top-class selectivity and CCMAS mostly pick "
                         "different classes", f"same class for {PAPER001_AGREEMENT[n]:.1f}% of units",
                         f"{100 * agree[n].mean():.1f}%", v))
    if "fc8" in agree and "fc6" in agree:
        v = verdicts.judge_two_proportions(int(agree["fc8"].sum()), agree["fc8"].size, int(agree["fc6"].sum()),
                                           agree["fc6"].size, "greater")
        out.append(check(None, "agree_fc8_fc6", "§3.2: the two measures agree more often in fc8 than in fc6",
                         f"{PAPER001_AGREEMENT['fc8']:.1f}% vs {PAPER001_AGREEMENT['fc6']:.1f}%",
                         f"{100 * agree['fc8'].mean():.1f}% vs {100 * agree['fc6'].mean():.1f}%", v))
    return out


def unit_checks(tables: dict[str, pd.DataFrame], codes: dict[str, pd.DataFrame], layers,
                fits: pd.DataFrame | None = None) -> list[dict]:
    """Local codes (§3.1), Table A1's detectors, Fig. 5's CCMAS_2 and App. A3's fits (``fits``: one row per
    high-precision fc6 unit with ``zero_share``, ``aic_exponential``, ``aic_normal``, ``aic_exponential_class``,
    ``aic_normal_class``, from ``alexnet.high_precision_fits``)."""
    out = []
    live = {n: _live(tables[n]) for n in layers if n in tables}
    for group, names in (("hidden layers", [n for n in HIDDEN if n in live]),
                         ("fc8 and prob", [n for n in ("fc8", "prob") if n in live])):
        if not names:
            continue
        has = np.concatenate([np.isin(live[n].index, codes[n]["unit"]).astype(float) for n in names])
        v = verdicts.judge_proportion(int(has.sum()), has.size, 0.01, "less")
        out.append(check(None, f"no_local_codes_{group.split()[0]}", f"§3.1: no local codes in the {group} "
                         f"({', '.join(names)})", "none in any layer", f"{int(has.sum())} of {has.size} units "
                         "carry one", v))
    det = pd.concat([live[n] for n in HIDDEN if n in live])
    det = det[det["precision"] > 0.75]
    tcs = det["top_class_selectivity"].to_numpy(float)
    v = verdicts.judge_difference(tcs, _const(tcs, 0.10), "less")
    out.append(check(None, "a1_detectors_tcs", "Table A1: hidden units with precision > 75% ('object detectors') "
                     "have top-class selectivity under 10%", "fc6.1199: 95% and 3.5%; fc7.255: 97% and 7.6%; "
                     "conv5.0: 77% and 0.1%", f"{len(tcs)} such units, mean TCS "
                     + (f"{100 * tcs.mean():.1f}%" if len(tcs) else "—"), v))
    for n in [x for x in HIDDEN if x in live]:
        t = live[n][live[n]["ccmas"] > 0.8]
        c2 = t["ccmas2"].to_numpy(float)
        v = verdicts.judge_difference(c2, _const(c2, 0.5), "greater")
        out.append(check(None, f"fig5_ccmas2_{n}", f"Fig. 5: in {n}, units with CCMAS > 0.8 also have CCMAS_2 > 0.5",
                         "fc7.0: 0.813 and 0.808; points near the diagonal", f"{len(c2)} units, mean CCMAS_2 "
                         + (f"{np.nanmean(c2):.3f}" if np.isfinite(c2).any() else "—"), v))
    if fits is not None and len(fits):
        z = fits["zero_share"].to_numpy(float)
        v = verdicts.judge_difference(z, _const(z, 0.5), "greater")
        out.append(check(None, "a2_zeros", "Fig. A2: most images leave a high-precision fc6 unit at exactly 0",
                         "fc6.1199: 82.8% of all images", f"mean {100 * z.mean():.1f}% over {len(z)} units", v))
        a_n, a_e = fits["aic_normal"].to_numpy(float), fits["aic_exponential"].to_numpy(float)
        v = verdicts.judge_difference(a_n, a_e, "greater")
        out.append(check(None, "a3_exponential", "Fig. A3: the non-zero activations of all classes are fitted "
                         "better by an exponential than by a normal (AIC)", "fc6.1199: exponential",
                         f"exponential better for {int((a_e < a_n).sum())} of {len(a_e)} units", v))
        c_n, c_e = fits["aic_normal_class"].to_numpy(float), fits["aic_exponential_class"].to_numpy(float)
        v = verdicts.judge_difference(c_e, c_n, "greater")
        out.append(check(None, "a3_class_normal", "Fig. A3: the precision class's non-zero activations are "
                         "fitted better by a normal than by an exponential (AIC)", "fc6.1199 (butterfly): roughly "
                         "normal", f"normal better for {int((c_n < c_e).sum())} of {len(c_e)} units", v))
    return out


#: Zhou et al.'s threshold for an "object detector": precision above 75 %.
DETECTOR_PRECISION = 0.75


def detector_checks(tables: dict[str, pd.DataFrame], layers) -> list[dict]:
    """The follow-up study's view (Gale et al., *Are there any 'object detectors' in the hidden layers of CNNs
    trained to identify objects or scenes?*): the hidden units that precision calls detectors (precision >
    ``DETECTOR_PRECISION``) have poor hit rates and high false-alarm rates. Judged on those units, against
    thresholds stated here (a detector worth the name would find most of its class at high precision, and its best
    hit rate minus false-alarm rate would approach 1): recall at 95 % precision under one half, and max
    informedness under one half."""
    units = [_live(tables[n]) for n in HIDDEN if n in layers and n in tables]
    if not units or "max_informedness" not in units[0]:
        return []
    det = pd.concat(units)
    det = det[det["precision"] > DETECTOR_PRECISION]
    out = []
    for col, what in (("recall_at_precision_95", "find less than half of their class at 95% precision (poor hit "
                                                 "rates)"),
                      ("max_informedness", "reach a best hit rate minus false-alarm rate under 0.5 (many false "
                                           "alarms for the hits they get)")):
        x = det[col].to_numpy(float)
        v = verdicts.judge_difference(x, _const(x, 0.5), "less")
        out.append(check(None, f"detectors_{col}", f"Follow-up study: hidden units with precision > 75% {what}",
                         "poor hit rates and high false-alarm rates (Places365 and ImageNet AlexNet)",
                         f"{len(x)} such units, mean " + (f"{x.mean():.3f}" if len(x) else "—"), v))
    return out


def verdict_table(checks: list[dict]) -> pd.DataFrame:
    """The checks as a table: claim, the paper's numbers and ours, the test, n (units), effect [interval], p and
    the verdict (with the units a side that would decide an inconclusive one)."""
    rows = []
    for c in checks:
        decided = c["outcome"] not in ("inconclusive", "not run")
        eff = c["effect"]
        effect = "" if eff is None or not np.isfinite(eff) else (
            f"{eff:+.3g}" if c["ci_low"] is None or not np.isfinite(c["ci_low"])
            else f"{eff:+.3g} [{c['ci_low']:.3g}, {c['ci_high']:.3g}]")
        p = c["p"]
        rows.append({
            "claim (paper 001)": c["claim"], "paper": c["paper"], "ours": c["ours"], "test": c["test"],
            "n (units)": c["n"], "effect [interval]": effect,
            "p": "" if p is None or not np.isfinite(p) else ("< 1e-300" if p == 0 else f"{p:.3g}"),
            "verdict": c["outcome"] + ("" if decided or not c.get("n_needed") else
                                       f" (about {c['n_needed']} units a side would decide it)"),
        })
    return pd.DataFrame(rows)


def verdict_lines(checks: list[dict]) -> str:
    """How many claims got each outcome, as a Markdown sentence."""
    counts = verdicts.count_outcomes([c["outcome"] for c in checks])
    return (f"**{len(checks)} claims judged**: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + ".")


def save_checks(scale: str, chapter: str, checks: list[dict], summary: pd.DataFrame, **settings):
    """Store the chapter's ``checks.json`` / ``checks.parquet`` (a verdict per claim), ``summary.parquet`` (the
    layer summary, layer as a column) and ``provenance.json`` (with ``settings``), as the paper-000 chapters do."""
    from ..paper000.checks import save_chapter

    return save_chapter(scale, chapter, summary.reset_index(), checks, **settings)
