"""The checks of the chapters of experiments 8–11 and 13: paper 000's claims judged with ``localcodes.verdicts``.

One builder per chapter, each taking the frame the chapter stores and returning its checks (``checks.check``
rows), so a changed stored frame changes the outcome:

* ``dropout_checks`` — experiment 8 (``16_dropout/final.parquet``): more local codes at large dropout (finding
  4), the low rates overlapping with none, the dip at 20 %;
* ``noise_checks`` — experiment 9 (``17_activation_noise/final.parquet``): noise lowers the local codes of
  under-resourced networks and raises those of over-resourced ones, judged per hidden size (finding 3);
* ``training_time_checks`` — experiment 10 (``18_training_time/curves.parquet``): local codes rise with training
  (Fig. 3a), go with test accuracy (finding 5) and turn when training accuracy reaches 99 % (finding 7);
* ``condition_checks`` — experiment 11 (``19_four_layer/final.parquet``): each Table 1 contrast (finding 6),
  A ≈ B, C ≈ D and "no local codes with ReLU";
* ``memorisation_checks`` — experiment 13 (``21_memorisation/final.parquet``): shuffled targets give fewer
  local codes, reduced by at most 47 % (finding 2).

The unit is a network. Networks of one repeat share their seed (the same code and initialisation) across the
conditions of a sweep, so conditions are compared paired by repeat (and hidden size). Counts of local codes are
compared on log(1 + count): the effects the paper describes are ratios (a count that doubles), and the log keeps
the largest counts from swamping the rest. The smallest effect of interest on that scale is ``LOG_SESOI`` (a
25 % change of 1 + count); "about as many" means within ``EQ_MARGIN`` (the same 25 %). Rates, sizes or
conditions of the paper that a scale does not run get a "not run" row naming what would run them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy import stats

from localcodes import verdicts

from .checks import check
from .reported import DROPOUT_LEVELS, KS_PAPER, TABLE1_CONTRASTS, TABLE2
from .statistics import require_columns
from .training_time import mark_read, turning_table

LOG_SESOI = math.log(1.25)  # smallest effect of interest on log(1 + local codes): a 25 % change
EQ_MARGIN = math.log(1.25)  # "about as many": within ±25 % on 1 + local codes
RHO_SESOI = 0.1  # smallest per-network rank correlation of interest (local codes vs test accuracy)
TURN_MARGIN = 0.1  # "roughly coincides": within ±10 % of the training run
MAX_REDUCTION = 0.47  # experiment 13: "reduced by a maximum 47 %"
PEAK = 1000  # experiment 1's peak of local codes (n_HLN): smaller networks are under-resourced (experiment 9)
NOISE_SIZES = (100, 500, 1000)  # experiment 9's hidden sizes
MEMORISATION_SIZES = (250, 500)  # experiment 13's hidden sizes
RELU_NONE_MARGIN = 1.0  # "no local codes": a mean within ±1 local code of zero
SIX = ("large training set", "softmax", "early stopping on training accuracy")  # finding 6's factors


def not_run(reason: str) -> verdicts.Verdict:
    """A verdict for a claim this scale does not test, saying why (and what would test it)."""
    return verdicts.Verdict("not run", math.nan, 0, math.nan, (math.nan, math.nan), None, reason)


def _relabel(v: verdicts.Verdict, prefix: str) -> verdicts.Verdict:
    return dataclasses.replace(v, test=prefix + v.test)


def _wide(frame: pd.DataFrame, column: str, value: str = "lc_pairs", on=("repeat",)) -> pd.DataFrame:
    """``value`` per network: one row per ``on`` (the pairing), one column per level of ``column``."""
    return frame.pivot_table(index=list(on), columns=column, values=value, aggfunc="mean")


def _log(x) -> np.ndarray:
    return np.log1p(np.asarray(x, dtype=float))


def _m(x) -> str:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return f"{x.mean():.1f}" if x.size else "–"


# --- experiment 8: dropout --------------------------------------------------------------------------------------

def _ks(rate: int) -> str:
    p = KS_PAPER[(KS_PAPER["a"] == 0) & (KS_PAPER["b"] == rate)]["p"]
    return f"KS vs 0 %: p = {p.iloc[0]:.2g}" if len(p) else ""


def _table2(rate: int) -> str:
    return f"mean {TABLE2.loc['mean', 0]:.2f} → {TABLE2.loc['mean', rate]:.2f} (Table 2)" if rate in TABLE2 else ""


def dropout_checks(final: pd.DataFrame, levels=DROPOUT_LEVELS) -> list[dict]:
    """Experiment 8's claims from the final rows (``dropout %``, ``repeat``, ``lc_pairs``): every rate of the
    paper's ``levels`` against no dropout, paired by repeat on log(1 + local codes) — ≥ 50 %: more (finding 4;
    "above 50 % there is a significant difference", Table 2's means rise to 73.8 at 90 %); 20 %: fewer (the dip
    of Table 2, 16.13 vs 18.44); 10, 30, 40 %: about as many (the low rates overlap, within ``EQ_MARGIN``).
    Rates not run at this scale give "not run"."""
    require_columns(final, ["dropout %", "repeat", "lc_pairs"])
    wide = _wide(final, "dropout %")
    rates = sorted(set(int(r) for r in levels if r > 0) | set(int(r) for r in wide.columns if r > 0))
    out = []
    for r in rates:
        paper = "; ".join(x for x in (_table2(r), _ks(r)) if x)
        if r >= 50:
            finding, key, claim = 4, f"more_at_{r}", f"{r} % dropout gives more local codes than none"
            paper = paper or "large dropout increases local codes"
        elif r == 20:
            finding, key, claim = None, "dip_at_20", "20 % dropout gives fewer local codes than none (the dip)"
        else:
            finding, key, claim = None, f"overlap_at_{r}", f"{r} % dropout gives about as many local codes as none"
            paper = (paper + "; " if paper else "") + "0–40 % overlap (Fig. 10)"
        if 0 not in wide.columns or r not in wide.columns:
            out.append(check(finding, key, claim, paper, "not run",
                             not_run(f"{r} % or 0 % dropout not run at this scale (the `paper` preset runs "
                                     f"{', '.join(str(x) for x in levels)} %)")))
            continue
        pair = wide[[0, r]].dropna()
        a, b = _log(pair[r]), _log(pair[0])
        if r >= 50:
            v = verdicts.judge_difference(a, b, "greater", paired=True, sesoi=LOG_SESOI)
        elif r == 20:
            v = verdicts.judge_difference(a, b, "less", paired=True, sesoi=LOG_SESOI)
        else:
            v = verdicts.judge_equivalence(a, b, margin=EQ_MARGIN, paired=True)
        ours = f"mean {_m(pair[0])} → {_m(pair[r])} ({len(pair)} pairs)"
        out.append(check(finding, key, claim, paper, ours, _relabel(v, "log(1 + LCs), paired by repeat: ")))
    return out


# --- experiment 9: activation noise -----------------------------------------------------------------------------

def noise_checks(final: pd.DataFrame, sizes=NOISE_SIZES, peak: int = PEAK) -> list[dict]:
    """Experiment 9's claims from the final rows (``n_hidden``, ``sigma``, ``repeat``, ``lc_pairs``), one per
    hidden size: for networks below the ``peak`` (under-resourced) noise lowers the local codes, at or above it
    (over-resourced) it raises them (finding 3). Per network, log(1 + local codes) averaged over σ > 0 against
    σ = 0 with the same seed (paired by repeat). Sizes of the paper not run at this scale give "not run"."""
    require_columns(final, ["n_hidden", "sigma", "repeat", "lc_pairs"])
    out = []
    for h in sorted(set(int(s) for s in sizes) | set(int(s) for s in final["n_hidden"].unique())):
        under = h < peak
        expected = "less" if under else "greater"
        claim = (f"noise lowers the local codes of {h}-unit (under-resourced) networks" if under else
                 f"noise raises the local codes of {h}-unit (over-resourced) networks")
        paper = ("decrease (Fig. 11; not significant for small σ)" if under else
                 "increase, significantly in most cases (Fig. 11)")
        g = final[final["n_hidden"] == h]
        wide = _wide(g, "sigma") if len(g) else pd.DataFrame()
        noisy = [s for s in wide.columns if s > 0]
        if 0 not in wide.columns or not noisy:
            out.append(check(3, f"noise_{h}", claim, paper, "not run",
                             not_run(f"{h} hidden units with and without noise not run at this scale (the "
                                     "`paper` preset runs 100, 500 and 1000)")))
            continue
        with_noise = np.log1p(wide[noisy]).mean(axis=1, skipna=False)
        pair = pd.concat({"none": wide[0], "noisy": with_noise, "raw": wide[noisy].mean(axis=1)}, axis=1).dropna()
        v = verdicts.judge_difference(pair["noisy"], np.log1p(pair["none"]), expected, paired=True,
                                      sesoi=LOG_SESOI)
        ours = (f"mean {_m(pair['none'])} at σ = 0 → {_m(pair['raw'])} over σ ∈ {[float(s) for s in noisy]} "
                f"({len(pair)} pairs)")
        out.append(check(3, f"noise_{h}", claim, paper, ours,
                         _relabel(v, "log(1 + LCs) averaged over σ > 0 vs σ = 0, paired by repeat: ")))
    return out


# --- experiment 10: training time -------------------------------------------------------------------------------

def _network_rho(g: pd.DataFrame) -> float:
    ok = g.dropna(subset=["lc_read", "test_acc"])
    if len(ok) < 3 or ok["lc_read"].nunique() < 2 or ok["test_acc"].nunique() < 2:
        return math.nan
    return float(stats.spearmanr(ok["lc_read"], ok["test_acc"]).statistic)


def training_time_checks(curves: pd.DataFrame, min_acc: float = 0.5) -> list[dict]:
    """Experiment 10's claims from the stored curves (``n_hidden, repeat, epoch, lc_pairs, train_acc, test_acc,
    train_pm, test_pm``), read from the first checkpoint with ≥ ``min_acc`` training accuracy (``mark_read``):

    * Fig. 3a — local codes rise with training: each network's last read count against its first (paired,
      log(1 + count));
    * finding 5 — local codes go with test classification accuracy: each network's Spearman ρ between its read
      local codes and its test accuracy over the checkpoints, mean ρ > 0 (a one-sample test over networks:
      checkpoints of one network are not independent), smallest effect ``RHO_SESOI``;
    * finding 7 — the turning point of the local-code curve coincides with 99 % training accuracy: equivalence
      of the two epochs (as shares of the run) within ``TURN_MARGIN``, over the networks that have both."""
    require_columns(curves, ["n_hidden", "repeat", "epoch", "lc_pairs", "train_acc", "test_acc", "train_pm",
                             "test_pm"])
    read = mark_read(curves, min_acc)
    nets = read.dropna(subset=["lc_read"]).sort_values("epoch").groupby(["n_hidden", "repeat"])
    first_last = nets.agg(first=("lc_read", "first"), last=("lc_read", "last"), k=("lc_read", "size"))
    first_last = first_last[first_last["k"] >= 2]
    rise = verdicts.judge_difference(_log(first_last["last"]), _log(first_last["first"]), "greater", paired=True,
                                     sesoi=LOG_SESOI)
    out = [check(7, "rise_with_training", "local codes rise with training time (Fig. 3a)",
                 "increase with training for every hidden size",
                 f"mean {_m(first_last['first'])} at the first read checkpoint → {_m(first_last['last'])} at the "
                 f"end ({len(first_last)} networks)",
                 _relabel(rise, "log(1 + LCs), last vs first read checkpoint, paired by network: "))]
    rhos = read.groupby(["n_hidden", "repeat"]).apply(_network_rho, include_groups=False).dropna()
    gen = verdicts.judge_difference(rhos.to_numpy(), np.zeros(len(rhos)), "greater", paired=True,
                                    sesoi=RHO_SESOI)
    out.append(check(5, "lc_vs_test_accuracy", "local codes correlate with test classification accuracy",
                     "positive gradients of LCs on test accuracy for every size (Table 11)",
                     f"per-network Spearman ρ: mean {rhos.mean():+.2f} over {len(rhos)} networks" if len(rhos)
                     else "no network with three varying read checkpoints",
                     _relabel(gen, "per-network Spearman ρ (read checkpoints) against 0: ")))
    turning = turning_table(read)
    both = turning.dropna(subset=["turning_point", "train_acc_99"])
    stop = verdicts.judge_equivalence(both["turning_point"] / both["epochs"], both["train_acc_99"] / both["epochs"],
                                      margin=TURN_MARGIN, paired=True)
    found = turning["turning_point"].notna().sum()
    out.append(check(7, "turning_point_at_99", "the LC turning point coincides with 99 % training accuracy",
                     "turning point roughly where training accuracy reaches 100 % (Fig. 3b, c)",
                     f"turning point found for {found} of {len(turning)} networks; median gap "
                     + (f"{((both['turning_point'] - both['train_acc_99']) / both['epochs']).median():+.0%} of "
                        "the run" if len(both) else "–"),
                     _relabel(stop, "epochs as shares of the run, paired by network: ")))
    return out


# --- experiment 11: pseudo-deep networks ------------------------------------------------------------------------

def _conditions(final: pd.DataFrame, a: str, b: str) -> pd.DataFrame | None:
    wide = _wide(final, "condition", on=("n_hidden", "repeat"))
    if a not in wide.columns or b not in wide.columns:
        return None
    return wide[[a, b]].dropna()


def condition_checks(final: pd.DataFrame, contrasts: pd.DataFrame | None = None) -> list[dict]:
    """Experiment 11's claims from the final rows (``condition``, ``n_hidden``, ``repeat``, ``activation``,
    ``lc_pairs``; both hidden layers), paired by first-layer size and repeat (the same code for every condition
    of a repeat), on log(1 + local codes): each Table 1 contrast, "fewer" < "more" (finding 6 for large
    training sets, softmax and early stopping; the ReLU contrasts bear on no finding); A ≈ B and C ≈ D (within
    ``EQ_MARGIN``); ReLU networks have no local codes (mean within ±``RELU_NONE_MARGIN`` of 0)."""
    require_columns(final, ["condition", "n_hidden", "repeat", "activation", "lc_pairs"])
    contrasts = TABLE1_CONTRASTS if contrasts is None else contrasts
    out = []
    for c in contrasts.itertuples(index=False):
        finding = 6 if c.factor in SIX else None
        key, claim = f"{c.fewer}_lt_{c.more}", f"{c.factor}: {c.fewer} has fewer local codes than {c.more}"
        pair = _conditions(final, c.fewer, c.more)
        if pair is None:
            out.append(check(finding, key, claim, c.source, "not run",
                             not_run(f"condition {c.fewer} or {c.more} not run at this scale (the `book` and "
                                     "`paper` presets run A–S)")))
            continue
        v = verdicts.judge_difference(_log(pair[c.fewer]), _log(pair[c.more]), "less", paired=True, sesoi=LOG_SESOI)
        out.append(check(finding, key, claim, c.source,
                         f"mean {_m(pair[c.fewer])} vs {_m(pair[c.more])} ({len(pair)} pairs)",
                         _relabel(v, "log(1 + LCs), paired by size and repeat: ")))
    for a, b, paper in (("A", "B", "little difference between stopping on validation loss and the full budget "
                                   "(Fig. 6a)"),
                        ("C", "D", "no real effect of dropout (Fig. 6)")):
        claim = f"{a} and {b} have about as many local codes"
        pair = _conditions(final, a, b)
        if pair is None:
            out.append(check(None, f"{a}_eq_{b}", claim, paper, "not run",
                             not_run(f"condition {a} or {b} not run at this scale")))
            continue
        v = verdicts.judge_equivalence(_log(pair[a]), _log(pair[b]), margin=EQ_MARGIN, paired=True)
        out.append(check(None, f"{a}_eq_{b}", claim, paper, f"mean {_m(pair[a])} vs {_m(pair[b])} ({len(pair)} "
                         "pairs)", _relabel(v, "log(1 + LCs), paired by size and repeat: ")))
    relu = final.loc[final["activation"] == "relu", "lc_pairs"].to_numpy(float)
    claim, paper = "ReLU networks have no local codes", "H–S (ReLU) show none (Fig. 6)"
    if relu.size < 2:
        out.append(check(None, "relu_none", claim, paper, "not run",
                         not_run("fewer than two ReLU networks at this scale")))
    else:
        v = verdicts.judge_equivalence(relu, np.zeros_like(relu), margin=RELU_NONE_MARGIN, paired=True)
        out.append(check(None, "relu_none", claim, paper,
                         f"mean {relu.mean():.2f} local codes, {(relu == 0).mean():.0%} of {relu.size} with none",
                         _relabel(v, "local codes of every ReLU network against 0: ")))
    return out


# --- experiment 13: memorisation --------------------------------------------------------------------------------

def memorisation_checks(final: pd.DataFrame, sizes=MEMORISATION_SIZES, max_reduction: float = MAX_REDUCTION
                        ) -> list[dict]:
    """Experiment 13's claims from the final rows (``n_hidden``, ``targets`` control/shuffled, ``repeat``,
    ``lc_pairs``), per hidden size, control and shuffled networks paired by repeat (the same codewords): shuffled
    targets give fewer local codes (log(1 + count)), and reduce them by at most ``max_reduction`` — the shuffled
    count above (1 − ``max_reduction``) × the control's (raw counts, a one-sided test) — both finding 2. Sizes of
    the paper not run at this scale give "not run"."""
    require_columns(final, ["n_hidden", "targets", "repeat", "lc_pairs"])
    out = []
    for h in sorted(set(int(s) for s in sizes) | set(int(s) for s in final["n_hidden"].unique())):
        g = final[final["n_hidden"] == h]
        wide = _wide(g, "targets") if len(g) else pd.DataFrame()
        fewer = f"shuffled targets give {h}-unit networks fewer local codes"
        most = f"shuffled targets reduce the local codes of {h}-unit networks by at most {max_reduction:.0%}"
        if not {"control", "shuffled"} <= set(wide.columns):
            why = not_run(f"{h} hidden units not run at this scale (the `paper` preset runs 250 and 500)")
            out += [check(2, f"fewer_{h}", fewer, "fewer, not none (Fig. 13)", "not run", why),
                    check(2, f"at_most_{h}", most, "reduced by a maximum 47 % (Fig. 13)", "not run", why)]
            continue
        pair = wide[["control", "shuffled"]].dropna()
        ours = (f"mean {_m(pair['control'])} → {_m(pair['shuffled'])} ({len(pair)} pairs; reduction "
                + (f"{1 - pair['shuffled'].mean() / pair['control'].mean():.0%})" if pair["control"].mean() > 0
                   else "undefined)"))
        v = verdicts.judge_difference(_log(pair["shuffled"]), _log(pair["control"]), "less", paired=True,
                                      sesoi=LOG_SESOI)
        out.append(check(2, f"fewer_{h}", fewer, "fewer, not none (Fig. 13)", ours,
                         _relabel(v, "log(1 + LCs), paired by repeat: ")))
        keep = 1 - max_reduction
        v = verdicts.judge_difference(pair["shuffled"], keep * pair["control"], "greater", paired=True)
        out.append(check(2, f"at_most_{h}", most, "reduced by a maximum 47 % (Fig. 13)", ours,
                         _relabel(v, f"shuffled − {keep:.2f} × control (raw counts), paired by repeat: ")))
    return out
