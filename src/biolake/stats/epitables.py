"""Kernels of epidemiology's 2×2 tables and rates: risk ratio, odds ratio, risk difference, Mantel–Haenszel.

A 2×2 table is written as in epiR (``a`` exposed cases, ``b`` exposed non-cases, ``c``
unexposed cases, ``d`` unexposed non-cases); every function takes arrays (one table per
element, or per stratum along the last axis for the Mantel–Haenszel functions).

* :func:`risk_ratio_wald`, :func:`odds_ratio_wald` — as R ``epitools::riskratio.wald`` /
  ``oddsratio.wald`` (Wald CI on the log scale);
* :func:`odds_ratio_midp` — the conditional median-unbiased estimate and the mid-p exact
  CI of ``epitools::oddsratio.midp`` (roots found to full precision rather than to
  ``uniroot``'s default tolerance of 1.2e-4), with the two-sided mid-p value of
  ``epitools::ormidp.test``;
* :func:`risk_difference_wald` — as ``epiR::epi.2by2`` (``ARisk.strata.wald``);
* :func:`chi2_p` — Pearson's chi-square test without continuity correction (``chisq.test``);
* :func:`mantel_haenszel` — the Mantel–Haenszel risk ratio, odds ratio (Robins–Breslow–
  Greenland variance) and risk difference of ``epiR::epi.2by2`` with the Cochran–
  Mantel–Haenszel test of ``stats::mantelhaen.test(correct = FALSE)``, the Breslow–Day
  test (without Tarone's correction, as epiR's ``bOR.homog``) and Woolf's tests
  (``wRR.homog``, ``wOR.homog``);
* :func:`poisson_rate_ci` — exact (Garwood) Poisson CI of a rate, as ``poisson.test``;
* :func:`direct_standardize` — the directly standardized rate with the Fay–Feuer gamma CI
  (``epitools::ageadjust.direct``); :func:`indirect_standardize` — the SMR with an exact
  Poisson or log-normal CI and the indirectly standardized rate (``ageadjust.indirect``).

Examples
--------
>>> import numpy as np
>>> est, lo, hi = odds_ratio_wald(np.array([43.0]), np.array([11.0]), np.array([3.0]), np.array([18.0]))
>>> round(float(est[0]), 4), round(float(lo[0]), 4), round(float(hi[0]), 4)
(23.4545, 5.8412, 94.1787)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

_EPS = float(np.finfo(np.float64).eps)

__all__ = [
    "MantelHaenszel",
    "chi2_p",
    "direct_standardize",
    "indirect_standardize",
    "mantel_haenszel",
    "odds_ratio_midp",
    "odds_ratio_wald",
    "poisson_rate_ci",
    "risk_difference_wald",
    "risk_ratio_wald",
]


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 * (1.0 + conf_level)))


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def risk_ratio_wald(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Risk ratio ``(a/(a+b)) / (c/(c+d))`` and its Wald CI (``epitools::riskratio.wald``)."""
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    n1, n0 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        est = (a / n1) / (c / n0)
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
        z = _z(conf_level)
        return est, np.exp(np.log(est) - z * se), np.exp(np.log(est) + z * se)


def odds_ratio_wald(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Odds ratio ``a·d / (b·c)`` and its Wald CI (``epitools::oddsratio.wald``)."""
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = a * d / (b * c)
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        z = _z(conf_level)
        return est, np.exp(np.log(est) - z * se), np.exp(np.log(est) + z * se)


def risk_difference_wald(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Risk difference ``a/(a+b) − c/(c+d)`` and its Wald CI (``epiR::epi.2by2``, as a proportion)."""
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    n1, n0 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        est = a / n1 - c / n0
        se = np.sqrt(a * (n1 - a) / n1**3 + c * (n0 - c) / n0**3)
    z = _z(conf_level)
    return est, est - z * se, est + z * se


def chi2_p(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> np.ndarray:
    """Two-sided p-value of Pearson's chi-square test of a 2×2 table, no continuity correction."""
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    return stats.chi2.sf(stat, 1)


# --------------------------------------------------------------------------- mid-p (conditional)


class _NcHyper:
    """The noncentral hypergeometric distribution of ``a`` given the margins (as R ``fisher.test``)."""

    def __init__(self, a: float, b: float, c: float, d: float) -> None:
        m, n, k = a + b, c + d, a + c  # exposed, unexposed, cases
        self.lo, self.hi = max(0.0, k - n), min(k, m)
        self.support = np.arange(self.lo, self.hi + 1.0)
        s = self.support
        self.logdc = (
            special.gammaln(m + 1)
            - special.gammaln(s + 1)
            - special.gammaln(m - s + 1)
            + special.gammaln(n + 1)
            - special.gammaln(k - s + 1)
            - special.gammaln(n - k + s + 1)
        )
        self.x = a

    def probs(self, log_or: float) -> np.ndarray:
        d = self.logdc + log_or * self.support
        d = np.exp(d - d.max())
        return d / d.sum()

    def below_at_above(self, log_or: float) -> tuple[float, float, float]:
        p = self.probs(log_or)
        below = float(p[self.support < self.x].sum())
        at = float(p[self.support == self.x].sum())
        above = float(p[self.support > self.x].sum())
        return below, at, above


def _tails(log_or: float, h: _NcHyper, w_below: float, w_at: float, w_above: float, target: float) -> float:
    below, at, above = h.below_at_above(log_or)
    return w_below * below + w_at * at + w_above * above - target


def _root(h: _NcHyper, *weights: float) -> float:
    """exp of the log odds ratio where the weighted tail sum equals the target (brentq to full precision)."""
    t = optimize.brentq(_tails, -100.0, 100.0, args=(h, *weights), xtol=1e-15, rtol=4 * _EPS, maxiter=500)
    return math.exp(float(t))


def _midp_one(a: float, b: float, c: float, d: float, alpha: float) -> tuple[float, float, float, float]:
    h = _NcHyper(a, b, c, d)
    if h.lo == h.hi:
        return math.nan, math.nan, math.nan, math.nan
    below, at, _ = h.below_at_above(0.0)
    one = below + 0.5 * at
    p = 2.0 * min(one, 1.0 - one)
    half = alpha / 2
    lower = _root(h, 0.0, 0.5, 1.0, half) if h.x > h.lo else 0.0  # P(X > a) + P(X = a)/2 = alpha/2
    upper = _root(h, 1.0, 0.5, 0.0, half) if h.x < h.hi else math.inf  # P(X < a) + P(X = a)/2 = alpha/2
    if h.lo < h.x < h.hi:
        est = _root(h, 1.0, 0.0, -1.0, 0.0)  # P(X < a) = P(X > a): median-unbiased
    else:
        est = 0.0 if h.x <= h.lo else math.inf
    return est, lower, upper, p


def odds_ratio_midp(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median-unbiased odds ratio, mid-p exact CI and two-sided mid-p value (``epitools::oddsratio.midp``).

    The estimate solves ``P(X ≤ a) = P(X ≥ a)`` and the limits solve
    ``P(X > a) + ½P(X = a) = α/2`` (lower) and ``P(X < a) + ½P(X = a) = α/2`` (upper)
    under the conditional (noncentral hypergeometric) distribution of ``a``; the p-value is
    twice the smaller one-sided mid-p at OR = 1 (``epitools::ormidp.test``). A table
    with ``a`` at the lower (upper) end of its support has estimate and lower limit 0
    (estimate and upper limit ∞).
    """
    arrays = np.broadcast_arrays(_f(a), _f(b), _f(c), _f(d))
    shape = arrays[0].shape
    flat = [x.ravel() for x in arrays]
    out = np.full((4, flat[0].size), np.nan)
    for i in range(flat[0].size):
        cells = [float(x[i]) for x in flat]
        if all(math.isfinite(v) and v >= 0 for v in cells):
            out[:, i] = _midp_one(*cells, 1.0 - conf_level)
    return tuple(o.reshape(shape) for o in out)  # type: ignore[return-value]


# --------------------------------------------------------------------------- Mantel–Haenszel


@dataclass(frozen=True)
class MantelHaenszel:
    """Stratified 2×2 summary (see :func:`mantel_haenszel`); each measure is ``(estimate, lower, upper)``."""

    risk_ratio: tuple[float, float, float]
    odds_ratio: tuple[float, float, float]
    risk_difference: tuple[float, float, float]
    cmh_chi2: float
    cmh_p: float
    breslow_day: float
    breslow_day_p: float
    woolf_rr: float
    woolf_rr_p: float
    woolf_or: float
    woolf_or_p: float
    df: int


def mantel_haenszel(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, *, conf_level: float = 0.95
) -> MantelHaenszel:
    """Mantel–Haenszel summaries over strata, as ``epiR::epi.2by2`` and ``stats::mantelhaen.test``.

    Parameters
    ----------
    a, b, c, d
        Cell counts, one element per stratum.
    conf_level
        Confidence level of the Wald intervals.
    """
    a, b, c, d = _f(a), _f(b), _f(c), _f(d)
    z = _z(conf_level)
    n1, n0, m1 = a + b, c + d, a + c
    t = a + b + c + d
    k = len(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        # risk ratio (epiR sRR)
        rr = np.sum(a * n0 / t) / np.sum(c * n1 / t)
        var_rr = np.sum(m1 * n1 * n0 / t**2 - a * c / t) / (np.sum(a * n0 / t) * np.sum(c * n1 / t))
        rr_ci = (rr, math.exp(math.log(rr) - z * math.sqrt(var_rr)), math.exp(math.log(rr) + z * math.sqrt(var_rr)))
        # odds ratio, Robins–Breslow–Greenland variance (epiR sOR)
        g, h = a * d / t, b * c / t
        p, q = (a + d) / t, (b + c) / t
        sg, sh = np.sum(g), np.sum(h)
        orr = sg / sh
        var_or = np.sum(g * p) / (2 * sg**2) + np.sum(g * q + h * p) / (2 * sg * sh) + np.sum(h * q) / (2 * sh**2)
        or_ci = (orr, math.exp(math.log(orr) - z * math.sqrt(var_or)), math.exp(math.log(orr) + z * math.sqrt(var_or)))
        # risk difference (epiR sARisk)
        w = n1 * n0 / t
        rd = np.sum((a * n0 - c * n1) / t) / np.sum(w)
        var_p = a * d / (n1**2 * (n1 - 1)) + c * b / (n0**2 * (n0 - 1))
        var_p = np.where((n0 == 1) | (n1 == 1), 0.0, var_p)
        se_rd = math.sqrt(np.sum(w**2 * var_p) / np.sum(w) ** 2)
        rd_ci = (rd, rd - z * se_rd, rd + z * se_rd)
        # Cochran–Mantel–Haenszel chi-square without continuity correction (mantelhaen.test)
        m0 = b + d
        e_a = n1 * m1 / t
        v_a = n1 * n0 * m1 * m0 / (t**2 * (t - 1))
        cmh = np.sum(a - e_a) ** 2 / np.sum(v_a[t > 1])
        cmh_p = float(stats.chi2.sf(cmh, 1))
        # Woolf tests of homogeneity
        ln_rr = np.log((a / n1) / (c / n0))
        w_rr = 1.0 / (b / (a * n1) + d / (c * n0))
        s_rr = np.sum(w_rr * ln_rr) / np.sum(w_rr)
        woolf_rr = float(np.sum(w_rr * (ln_rr - s_rr) ** 2))
        ln_or = np.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
        w_or = 1.0 / (1 / (a + 0.5) + 1 / (b + 0.5) + 1 / (c + 0.5) + 1 / (d + 0.5))
        s_or = np.sum(w_or * ln_or) / np.sum(w_or)
        woolf_or = float(np.sum(w_or * (ln_or - s_or) ** 2))
        # Breslow–Day (epiR bOR.homog, no Tarone correction)
        amax = np.minimum(n1, m1)
        bb = n0 + n1 * orr - m1 * (1 - orr)
        det = np.sqrt(bb**2 + 4 * (1 - orr) * orr * n1 * m1)
        r1 = (-bb - det) / (2 - 2 * orr)
        r2 = (-bb + det) / (2 - 2 * orr)
        astar = np.where((r1 <= amax) & (r1 >= 0), r1, r2)
        bstar, cstar, dstar = n1 - astar, m1 - astar, n0 - m1 + astar
        var = 1.0 / (1 / astar + 1 / bstar + 1 / cstar + 1 / dstar)
        terms = (a - astar) ** 2 / var
        bd = float(np.nansum(terms))
    df = k - 1
    return MantelHaenszel(
        risk_ratio=tuple(float(v) for v in rr_ci),  # type: ignore[arg-type]
        odds_ratio=tuple(float(v) for v in or_ci),  # type: ignore[arg-type]
        risk_difference=tuple(float(v) for v in rd_ci),  # type: ignore[arg-type]
        cmh_chi2=float(cmh),
        cmh_p=cmh_p,
        breslow_day=bd,
        breslow_day_p=float(stats.chi2.sf(bd, df)) if df > 0 else math.nan,
        woolf_rr=woolf_rr,
        woolf_rr_p=float(stats.chi2.sf(woolf_rr, df)) if df > 0 else math.nan,
        woolf_or=woolf_or,
        woolf_or_p=float(stats.chi2.sf(woolf_or, df)) if df > 0 else math.nan,
        df=df,
    )


# --------------------------------------------------------------------------- rates


def poisson_rate_ci(
    count: ArrayLike, time: ArrayLike, *, conf_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate ``count/time`` with the exact (Garwood) Poisson CI, as R ``poisson.test(count, time)``."""
    x, t = _f(count), _f(time)
    alpha = 1.0 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(x > 0, stats.gamma.ppf(alpha / 2, np.where(x > 0, x, 1.0)), 0.0) / t
        upper = stats.gamma.ppf(1 - alpha / 2, x + 1) / t
        return x / t, lower, upper


def direct_standardize(
    count: ArrayLike, pop: ArrayLike, std_pop: ArrayLike, *, conf_level: float = 0.95
) -> tuple[float, float, float, float]:
    """Crude rate, directly standardized rate and its Fay–Feuer (1997) gamma CI (``ageadjust.direct``).

    ``count``, ``pop`` and ``std_pop`` are per age group. A standardized rate of 0 gets a
    lower limit of 0 (R gives NaN).
    """
    x, n, s = _f(count), _f(pop), _f(std_pop)
    alpha = 1.0 - conf_level
    crude = x.sum() / n.sum()
    w = s / s.sum()
    dsr = float(np.sum(w * x / n))
    var = float(np.sum(w**2 * x / n**2))
    wm = float(np.max(w / n))
    if dsr > 0 and var > 0:
        lower = float(stats.gamma.ppf(alpha / 2, dsr**2 / var, scale=var / dsr))
    else:
        lower = 0.0
    upper = float(stats.gamma.ppf(1 - alpha / 2, (dsr + wm) ** 2 / (var + wm**2), scale=(var + wm**2) / (dsr + wm)))
    return float(crude), dsr, lower, upper


def indirect_standardize(
    count: ArrayLike,
    pop: ArrayLike,
    std_rate: ArrayLike,
    std_crude_rate: float,
    *,
    conf_level: float = 0.95,
    ci: str = "exact",
) -> dict[str, float]:
    """SMR (observed/expected), its CI and the indirectly standardized rate (``ageadjust.indirect``).

    ``ci="exact"``: the exact Poisson CI of the observed count (as ``poisson.test``);
    ``ci="log-normal"``: ``exp(log SMR ± z/√O)``, as ``epitools::ageadjust.indirect``.
    The standardized rate is ``SMR × std_crude_rate`` with the same limits scaled.
    """
    x, n, r = _f(count), _f(pop), _f(std_rate)
    observed = float(x.sum())
    expected = float(np.sum(r * n))
    smr = observed / expected
    if ci == "exact":
        _, lo, hi = poisson_rate_ci(observed, expected, conf_level=conf_level)
        lower, upper = float(lo), float(hi)
    else:
        z = _z(conf_level)
        lower = math.exp(math.log(smr) - z / math.sqrt(observed)) if observed > 0 else 0.0
        upper = math.exp(math.log(smr) + z / math.sqrt(observed)) if observed > 0 else math.inf
    return {
        "observed": observed,
        "expected": expected,
        "smr": smr,
        "smr_lower": lower,
        "smr_upper": upper,
        "crude_rate": observed / float(n.sum()),
        "adj_rate": smr * std_crude_rate,
        "ci_lower": lower * std_crude_rate,
        "ci_upper": upper * std_crude_rate,
    }
