"""How every claim of the book is judged: one set of rules, so that a verdict means the same on every page.

The unit of analysis is an independent network (a seed); checkpoints or images of one network are not
independent observations. Outcomes (``OUTCOMES``):

* **reproduced** — "a is above/below b": a one-sided test is significant in the claimed direction. "No
  difference": an equivalence test — the (1 − 2α) interval of the difference lies inside ±margin. "No loss
  beyond a margin": a non-inferiority test — the interval's lower end lies above −margin. A shape: the
  paper's shape has the lowest AIC, by at least ``min_delta``. A non-significant result is never a reproduction.
* **contradicted** — significant the other way; for "no difference", the interval lies wholly beyond the margin.
* **not reproduced** — the interval excludes the smallest effect of interest (``sesoi``) on the claimed side;
  for "no difference", a significant difference whose interval is not wholly beyond the margin; for "no loss
  beyond a margin" (non-inferiority), a significant loss whose interval reaches beyond the margin; for a shape,
  another shape wins by at least ``min_delta``.
* **inconclusive** — none of these; ``n_needed`` says how many networks a side would give 80 % power at the
  effect in question (the smallest effect of interest when stated, else the observed one).
* **not run** — fewer than two observations a side (or too few points for a shape).

A share of units or networks (k of n with a property) is judged with exact tests (``judge_proportion``: binomial
against a stated share; ``judge_two_proportions``: Fisher's against another share), not a t-test on 0/1 flags,
which has no spread to work with when every flag is 0.

Each ``Verdict`` carries n, the effect, its (1 − 2α) interval, p and ``n_needed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, stats

__all__ = [
    "OUTCOMES",
    "POWER",
    "Verdict",
    "judge_difference",
    "judge_equivalence",
    "judge_noninferiority",
    "judge_proportion",
    "judge_two_proportions",
    "judge_shape",
    "SHAPES",
    "aic_table",
    "count_outcomes",
]

OUTCOMES = ("reproduced", "not reproduced", "contradicted", "inconclusive", "not run")
POWER = 0.8  # the power n_needed is computed for
EXPECTED = ("greater", "less")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim and the numbers behind it.

    ``n``: networks (a paired test: pairs; otherwise the smaller side; a shape: points); ``effect``: mean of a − b
    (a shape: AIC of the best other shape minus the paper's, positive when the paper's shape wins); ``ci``: its
    (1 − 2α) interval; ``p``: the test's p-value (a shape: the paper's shape's Akaike weight); ``n_needed``:
    networks a side for 80 % power, when inconclusive and computable; ``test``: what was computed.
    """

    outcome: str
    p: float
    n: int
    effect: float
    ci: tuple[float, float]
    n_needed: int | None
    test: str

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}; got {self.outcome!r}")

    def as_dict(self) -> dict:
        """The verdict as flat columns (``ci_low``, ``ci_high``) for a checks table."""
        d = asdict(self)
        low, high = d.pop("ci")
        d.update(ci_low=float(low), ci_high=float(high))
        return d

    def __str__(self) -> str:
        if self.outcome == "not run":
            return f"not run ({self.test})"
        p = "p < 1e-300" if self.p == 0 else f"p = {self.p:.3g}"
        text = (f"{self.outcome} (n = {self.n}, effect {self.effect:+.3g}, "
                f"interval [{self.ci[0]:.3g}, {self.ci[1]:.3g}], {p}; {self.test})")
        if self.outcome == "inconclusive":
            text += (f"; about {self.n_needed} networks a side would decide it" if self.n_needed
                     else "; more networks would not decide it at this effect")
        return text


def _clean(a, b, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if paired:
        if a.shape != b.shape:
            raise ValueError(f"paired=True needs a and b of the same length; got {a.size} and {b.size}")
        keep = np.isfinite(a) & np.isfinite(b)
        return a[keep], b[keep]
    return a[np.isfinite(a)], b[np.isfinite(b)]


def _not_run(n: int, test: str) -> Verdict:
    return Verdict("not run", math.nan, n, math.nan, (math.nan, math.nan), None, test)


def _t_summary(a: np.ndarray, b: np.ndarray, paired: bool) -> tuple[float, float, float, float]:
    """(effect, standard error, degrees of freedom, sd for power) of a − b."""
    if paired:
        d = a - b
        sd = float(np.std(d, ddof=1))
        return float(d.mean()), sd / math.sqrt(d.size), d.size - 1.0, sd
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    se2 = va / a.size + vb / b.size
    effect = float(a.mean() - b.mean())
    if se2 == 0:
        return effect, 0.0, a.size + b.size - 2.0, 0.0
    df = se2**2 / ((va / a.size) ** 2 / (a.size - 1) + (vb / b.size) ** 2 / (b.size - 1))  # Welch
    return effect, math.sqrt(se2), float(df), math.sqrt((va + vb) / 2)


def _p_greater(t_effect: float, se: float, df: float) -> float:
    """One-sided p of "the true value is above 0" given an estimate and its standard error."""
    if se == 0:
        return 0.0 if t_effect > 0 else 1.0
    return float(stats.t.sf(t_effect / se, df))


def _interval(effect: float, se: float, df: float, alpha: float) -> tuple[float, float]:
    half = 0.0 if se == 0 else float(stats.t.ppf(1 - alpha, df)) * se
    return effect - half, effect + half


def _power_n(delta: float, sd: float, paired: bool, alpha: float) -> int | None:
    """Networks a side for POWER to detect ``delta`` with a one-sided t-test at ``alpha`` (exact, noncentral t)."""
    if not (np.isfinite(delta) and np.isfinite(sd)) or delta <= 0 or sd <= 0:
        return None

    def power(n: int) -> float:
        df = n - 1 if paired else 2 * n - 2
        ncp = delta / sd * (math.sqrt(n) if paired else math.sqrt(n / 2))
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, ncp))

    hi = 2
    while power(hi) < POWER:
        hi *= 2
        if hi > 10**7:
            return None
    lo = max(2, hi // 2)
    while lo < hi:  # the smallest n with enough power
        mid = (lo + hi) // 2
        if power(mid) >= POWER:
            hi = mid
        else:
            lo = mid + 1
    return int(hi)


def judge_difference(a, b, expected: str = "greater", paired: bool = True, alpha: float = 0.05,
                     sesoi: float | None = None) -> Verdict:
    """Judge the claim "a is ``expected`` (greater/less) than b" across networks.

    ``paired``: a[i] and b[i] come from matched networks (same seed and data); otherwise Welch's test. ``sesoi``:
    the smallest effect of interest (positive, in the units of a − b); an interval that excludes it on the
    claimed side means "not reproduced". NaNs are dropped (with their pair).
    """
    if expected not in EXPECTED:
        raise ValueError(f"expected must be one of {EXPECTED}; got {expected!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    if sesoi is not None and not (np.isfinite(sesoi) and sesoi > 0):
        raise ValueError(f"sesoi must be a positive number or None; got {sesoi}")
    a, b = _clean(a, b, paired)
    name = ("paired t-test" if paired else "Welch t-test") + f", one-sided ({expected}), alpha {alpha:g}"
    n = int(a.size if paired else min(a.size, b.size))
    if n < 2:
        return _not_run(n, name + ": fewer than two networks a side")
    effect, se, df, sd = _t_summary(a, b, paired)
    sign = 1.0 if expected == "greater" else -1.0
    if se == 0 and effect == 0:
        p_claim = p_other = 1.0
    else:
        p_claim = _p_greater(sign * effect, se, df)
        p_other = _p_greater(-sign * effect, se, df)
    ci = _interval(effect, se, df, alpha)
    if p_claim < alpha:
        outcome = "reproduced"
    elif p_other < alpha:
        outcome = "contradicted"
    elif sesoi is not None and (ci[1] < sesoi if expected == "greater" else ci[0] > -sesoi):
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    needed = None
    if outcome == "inconclusive":
        needed = _power_n(sesoi if sesoi is not None else abs(effect), sd, paired, alpha)
    if sesoi is not None:
        name += f", smallest effect of interest {sesoi:g}"
    return Verdict(outcome, p_claim, n, effect, ci, needed, name)


def judge_equivalence(a, b, margin: float, paired: bool = True, alpha: float = 0.05) -> Verdict:
    """Judge the claim "a and b do not differ" by an equivalence test (two one-sided tests): reproduced only when
    the (1 − 2α) interval of a − b lies inside ±``margin``."""
    if not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive number; got {margin}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    a, b = _clean(a, b, paired)
    name = ("paired" if paired else "Welch") + f" equivalence test (TOST), margin ±{margin:g}, alpha {alpha:g}"
    n = int(a.size if paired else min(a.size, b.size))
    if n < 2:
        return _not_run(n, name + ": fewer than two networks a side")
    effect, se, df, sd = _t_summary(a, b, paired)
    ci = _interval(effect, se, df, alpha)
    p = max(_p_greater(effect + margin, se, df), _p_greater(margin - effect, se, df))
    if -margin < ci[0] and ci[1] < margin:
        outcome = "reproduced"
    elif ci[0] > margin or ci[1] < -margin:
        outcome = "contradicted"
    elif ci[0] > 0 or ci[1] < 0:
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    needed = None
    if outcome == "inconclusive":
        needed = _power_n(margin - abs(effect), sd, paired, alpha)
    return Verdict(outcome, p, n, effect, ci, needed, name)


def judge_noninferiority(a, b, margin: float, paired: bool = True, alpha: float = 0.05) -> Verdict:
    """Judge the claim "a is not worse than b by more than ``margin``" (a − b > −margin) by a one-sided
    non-inferiority test: reproduced when the (1 − 2α) interval of a − b lies above −``margin``, contradicted when
    it lies wholly below, not reproduced when a is significantly below b but the interval reaches past the
    margin."""
    if not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive number; got {margin}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    a, b = _clean(a, b, paired)
    name = ("paired" if paired else "Welch") + f" non-inferiority test, margin {margin:g}, alpha {alpha:g}"
    n = int(a.size if paired else min(a.size, b.size))
    if n < 2:
        return _not_run(n, name + ": fewer than two networks a side")
    effect, se, df, sd = _t_summary(a, b, paired)
    ci = _interval(effect, se, df, alpha)
    p = _p_greater(effect + margin, se, df)
    if ci[0] > -margin:
        outcome = "reproduced"
    elif ci[1] < -margin:
        outcome = "contradicted"
    elif ci[1] < 0:
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    needed = _power_n(effect + margin, sd, paired, alpha) if outcome == "inconclusive" else None
    return Verdict(outcome, p, n, effect, ci, needed, name)


# --- shares ---------------------------------------------------------------------------------------------------


def _wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The Wilson score interval of k/n with 1 − 2α coverage (the one-sided tests' matching interval)."""
    z = float(stats.norm.ppf(1 - alpha))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _check_counts(k: int, n: int, name: str) -> None:
    if not (float(k).is_integer() and float(n).is_integer() and 0 <= k <= n):
        raise ValueError(f"{name} must be whole counts with 0 <= k <= n; got k={k}, n={n}")


def _binomial_power_n(p_true: float, p0: float, expected: str, alpha: float) -> int | None:
    """Smallest n (by doubling, then bisection) at which the one-sided exact binomial test reaches POWER."""
    if expected == "greater" and not p_true > p0 or expected == "less" and not p_true < p0:
        return None

    def power(n: int) -> float:
        if expected == "greater":
            c = int(stats.binom.isf(alpha, n, p0)) + 1  # the smallest k with P(X >= k | p0) <= alpha
            return float(stats.binom.sf(c - 1, n, p_true))
        c = int(stats.binom.ppf(alpha, n, p0)) - 1  # the largest k with P(X <= k | p0) <= alpha
        while c >= 0 and stats.binom.cdf(c, n, p0) > alpha:
            c -= 1
        return float(stats.binom.cdf(c, n, p_true)) if c >= 0 else 0.0

    hi = 2
    while power(hi) < POWER:
        hi *= 2
        if hi > 10**7:
            return None
    lo = max(2, hi // 2)
    while lo < hi:
        mid = (lo + hi) // 2
        if power(mid) >= POWER:
            hi = mid
        else:
            lo = mid + 1
    return int(hi)


def judge_proportion(k: int, n: int, p0: float, expected: str = "greater", alpha: float = 0.05) -> Verdict:
    """Judge the claim "the share k/n is ``expected`` (greater/less) than ``p0``" by a one-sided exact binomial
    test (scipy). Effect: k/n − p0, with the Wilson (1 − 2α) interval; ``n_needed`` assumes the observed share."""
    if expected not in EXPECTED:
        raise ValueError(f"expected must be one of {EXPECTED}; got {expected!r}")
    if not 0 < p0 < 1:
        raise ValueError(f"p0 must be in (0, 1); got {p0}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    _check_counts(k, n, "k and n")
    k, n = int(k), int(n)
    name = f"exact binomial test against {p0:g}, one-sided ({expected}), alpha {alpha:g}"
    if n < 2:
        return _not_run(n, name + ": fewer than two observations")
    other = "less" if expected == "greater" else "greater"
    p_claim = float(stats.binomtest(k, n, p0, alternative=expected).pvalue)
    p_other = float(stats.binomtest(k, n, p0, alternative=other).pvalue)
    low, high = _wilson(k, n, alpha)
    outcome = "reproduced" if p_claim < alpha else "contradicted" if p_other < alpha else "inconclusive"
    needed = _binomial_power_n(k / n, p0, expected, alpha) if outcome == "inconclusive" else None
    return Verdict(outcome, p_claim, n, k / n - p0, (low - p0, high - p0), needed, name)


def judge_two_proportions(k1: int, n1: int, k2: int, n2: int, expected: str = "greater",
                          alpha: float = 0.05) -> Verdict:
    """Judge the claim "share k1/n1 is ``expected`` (greater/less) than share k2/n2" (independent samples) by a
    one-sided Fisher exact test (scipy). Effect: the difference of the shares, with Newcombe's (1 − 2α) interval
    from the two Wilson intervals; ``n_needed`` (per side) from the normal approximation at the observed shares."""
    if expected not in EXPECTED:
        raise ValueError(f"expected must be one of {EXPECTED}; got {expected!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5); got {alpha}")
    _check_counts(k1, n1, "k1 and n1")
    _check_counts(k2, n2, "k2 and n2")
    k1, n1, k2, n2 = int(k1), int(n1), int(k2), int(n2)
    name = f"Fisher exact test, one-sided ({expected}), alpha {alpha:g}"
    if min(n1, n2) < 2:
        return _not_run(min(n1, n2), name + ": fewer than two observations a side")
    other = "less" if expected == "greater" else "greater"
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    p_claim = float(stats.fisher_exact(table, alternative=expected).pvalue)
    p_other = float(stats.fisher_exact(table, alternative=other).pvalue)
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = _wilson(k1, n1, alpha), _wilson(k2, n2, alpha)
    d = p1 - p2
    ci = (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    outcome = "reproduced" if p_claim < alpha else "contradicted" if p_other < alpha else "inconclusive"
    needed = None
    delta = d if expected == "greater" else -d
    if outcome == "inconclusive" and delta > 0:
        za, zb = stats.norm.ppf(1 - alpha), stats.norm.ppf(POWER)
        pbar = (p1 + p2) / 2
        spread = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
        needed = int(math.ceil((spread / delta) ** 2))
    return Verdict(outcome, p_claim, min(n1, n2), d, ci, needed, name)


# --- shapes ---------------------------------------------------------------------------------------------------

Shape = tuple[Callable[..., np.ndarray], Callable[[np.ndarray, np.ndarray], list[float]]]

#: Candidate shapes y = f(x; θ) with a starting guess from the data. ``rise-and-fall``: a quadratic in log x
#: whose maximum lies inside the range is what "a peak" means; ``judge_shape`` checks the vertex.
SHAPES: dict[str, Shape] = {
    "constant": (lambda x, a: np.full_like(x, a, dtype=float), lambda x, y: [float(np.mean(y))]),
    "linear": (lambda x, a, b: a + b * x, lambda x, y: [float(np.mean(y)), 0.0]),
    "sqrt": (lambda x, a, b: a - b * np.sqrt(x), lambda x, y: [float(np.max(y)), 0.0]),
    "exponential": (lambda x, a, b, c: a + b * np.exp(-c * x),
                    lambda x, y: [float(y[np.argmax(x)]), float(y[np.argmin(x)] - y[np.argmax(x)]),
                                  1.0 / max(float(np.ptp(x)), 1e-12)]),
    "log-linear": (lambda x, a, b: a + b * np.log(x), lambda x, y: [float(np.mean(y)), 0.0]),
    "rise-and-fall": (lambda x, a, b, c: a + b * np.log(x) + c * np.log(x) ** 2,
                      lambda x, y: [float(np.mean(y)), 0.0, 0.0]),
}


def aic_table(x, y, candidates: Sequence[str] | Mapping[str, Shape]) -> dict[str, float]:
    """AIC (least squares, ``n ln(RSS/n) + 2k``) of each candidate shape fitted to the points ``(x, y)``; a
    shape that cannot be fitted gets ``inf``."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    shapes = {c: SHAPES[c] for c in candidates} if not isinstance(candidates, Mapping) else dict(candidates)
    out = {}
    for name, (f, guess) in shapes.items():
        k = f.__code__.co_argcount - 1
        try:
            theta, _ = optimize.curve_fit(f, x, y, p0=guess(x, y), maxfev=20_000)
            rss = float(np.sum((y - f(x, *theta)) ** 2))
        except (RuntimeError, ValueError, TypeError, optimize.OptimizeWarning):
            out[name] = math.inf
            continue
        rss = max(rss, 1e-300 * y.size)
        out[name] = y.size * math.log(rss / y.size) + 2 * k
    return out


def judge_shape(x, y, expected: str, candidates: Sequence[str] | Mapping[str, Shape] | None = None,
                min_delta: float = 2.0) -> Verdict:
    """Judge "y follows the ``expected`` shape in x" on per-network points: the paper's shape must have the
    lowest AIC by at least ``min_delta`` (not merely fit). For ``rise-and-fall`` the fitted maximum must also
    lie inside the range of x (else that shape counts as not fitted)."""
    if candidates is None:
        candidates = [c for c in SHAPES if c != expected] + [expected]
    names = list(candidates)
    if expected not in names:
        raise ValueError(f"expected shape {expected!r} must be among the candidates {names}")
    unknown = [c for c in names if not isinstance(candidates, Mapping) and c not in SHAPES]
    if unknown:
        raise ValueError(f"unknown shapes {unknown}; choose from {sorted(SHAPES)} or pass a mapping")
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    test = f"AIC over shapes {names}, the paper's ({expected}) must win by {min_delta:g}"
    if x.size < 4 or np.unique(x).size < 3:
        return _not_run(int(x.size), test + ": fewer than four points at three x values")
    if "rise-and-fall" in names and np.any(x <= 0):
        raise ValueError("rise-and-fall is fitted in log x: x must be positive")
    aic = aic_table(x, y, candidates)
    if "rise-and-fall" in aic and np.isfinite(aic["rise-and-fall"]):
        f, guess = SHAPES["rise-and-fall"]
        theta, _ = optimize.curve_fit(f, x, y, p0=guess(x, y), maxfev=20_000)
        vertex = -theta[1] / (2 * theta[2]) if theta[2] < 0 else math.nan
        if not (np.log(x.min()) < vertex < np.log(x.max())):
            aic["rise-and-fall"] = math.inf  # no maximum inside the range: not a rise and fall
    others = {k: v for k, v in aic.items() if k != expected}
    best_other = min(others.values())
    delta = best_other - aic[expected]
    finite = np.array([v for v in aic.values() if np.isfinite(v)])
    weights = np.exp(-(finite - finite.min()) / 2)
    weight = float(np.exp(-(aic[expected] - finite.min()) / 2) / weights.sum()) if np.isfinite(aic[expected]) else 0.0
    if delta >= min_delta:
        outcome = "reproduced"
    elif delta <= -min_delta:
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    winner = min(aic, key=aic.get)
    return Verdict(outcome, weight, int(x.size), float(delta), (math.nan, math.nan), None,
                   test + f"; lowest AIC: {winner}")


def count_outcomes(outcomes: Sequence[str]) -> dict[str, int]:
    """How many claims have each outcome, in ``OUTCOMES`` order (every outcome listed, zeros included)."""
    bad = sorted(set(outcomes) - set(OUTCOMES))
    if bad:
        raise ValueError(f"unknown outcomes {bad}; allowed: {OUTCOMES}")
    return {o: int(sum(1 for x in outcomes if x == o)) for o in OUTCOMES}
