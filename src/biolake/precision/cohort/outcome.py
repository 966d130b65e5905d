"""The outcome model: a Cox regression of the treatment, stratified by matched set or PS stratum.

CohortMethod's outcome model for a matched or stratified study (``fitOutcomeModel(modelType =
"cox", stratified = TRUE)``) is a Cox model with the treatment as its only covariate and one
baseline hazard per matched set (or PS stratum): the conditional likelihood of each matched
set. This module fits that model with Efron's tie handling (as R ``coxph(Surv(time, event) ~
treatment + strata(set), ties = "efron")``; CohortMethod's Cyclops uses Breslow's ties —
with day-resolution times the two differ slightly when many events share a day).

The risk-set sums are cumulative sums over rows sorted by (stratum, decreasing time),
restarted at each stratum, so the fit is vectorised over all matched sets (no loop over the
hundreds of thousands of sets a 1:1 match makes); Newton–Raphson on the one coefficient
with step halving, started at 0, stops when the log partial likelihood changes by less than
1e-10 relative.

Examples
--------
>>> import numpy as np
>>> t = np.array([5.0, 8, 8, 3, 10, 12, 4, 9])
>>> e = np.array([1, 1, 0, 1, 1, 0, 1, 1])
>>> x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
>>> round(stratified_cox(t, e, x).coef, 6)  # one stratum = coxph_efron's 1.755813
1.755813
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["CoxResult", "incidence_rate", "mdrr", "stratified_cox"]


@dataclass
class CoxResult:
    """Treatment coefficient of a stratified Cox model (NaN when it is not estimable)."""

    coef: float
    se: float
    loglik: float
    iterations: int

    def hr_ci(self, conf: float = 0.95) -> tuple[float, float, float, float]:
        """Hazard ratio, its Wald CI and the Wald p-value."""
        if not np.isfinite(self.coef) or not np.isfinite(self.se):
            return np.nan, np.nan, np.nan, np.nan
        z = stats.norm.ppf(0.5 + conf / 2)
        p = 2 * stats.norm.sf(abs(self.coef / self.se))
        return (
            float(np.exp(self.coef)),
            float(np.exp(self.coef - z * self.se)),
            float(np.exp(self.coef + z * self.se)),
            p,
        )


class _Prep:
    """Rows sorted by (stratum, time descending); tie groups of (stratum, time)."""

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, strata: np.ndarray) -> None:
        order = np.lexsort((-time, strata))
        self.t, self.e, self.x, self.s = time[order], event[order], x[order], strata[order]
        n = len(self.t)
        new_group = np.ones(n, dtype=bool)
        new_group[1:] = (self.s[1:] != self.s[:-1]) | (self.t[1:] != self.t[:-1])
        self.group = np.cumsum(new_group) - 1
        self.n_groups = int(self.group[-1]) + 1 if n else 0
        last = np.r_[np.nonzero(new_group)[0][1:] - 1, n - 1]  # last row of each tie group
        self.group_last = last
        new_stratum = np.ones(n, dtype=bool)
        new_stratum[1:] = self.s[1:] != self.s[:-1]
        self.stratum_start = np.maximum.accumulate(np.where(new_stratum, np.arange(n), 0))
        self.d = np.bincount(self.group, weights=self.e, minlength=self.n_groups)
        self.sx_events = float(np.sum(self.x * self.e))
        ev_groups = np.nonzero(self.d > 0)[0]
        self.ev_groups = ev_groups
        dk = self.d[ev_groups].astype(np.int64)
        self.k_group = np.repeat(ev_groups, dk)  # one row per Efron step
        starts = np.cumsum(dk) - dk
        self.k_frac = (np.arange(dk.sum()) - np.repeat(starts, dk)) / np.repeat(dk, dk)

    def _cum_within(self, v: np.ndarray) -> np.ndarray:
        c = np.cumsum(v)
        before = np.where(self.stratum_start > 0, c[self.stratum_start - 1], 0.0)
        return c - before

    def pass_(self, beta: float) -> tuple[float, float, float]:
        r = np.exp(beta * self.x)
        rx, rxx = r * self.x, r * self.x * self.x
        s0 = self._cum_within(r)[self.group_last]
        s1 = self._cum_within(rx)[self.group_last]
        s2 = self._cum_within(rxx)[self.group_last]
        e0 = np.bincount(self.group, weights=r * self.e, minlength=self.n_groups)
        e1 = np.bincount(self.group, weights=rx * self.e, minlength=self.n_groups)
        e2 = np.bincount(self.group, weights=rxx * self.e, minlength=self.n_groups)
        g, f = self.k_group, self.k_frac
        den = s0[g] - f * e0[g]
        m1 = (s1[g] - f * e1[g]) / den
        m2 = (s2[g] - f * e2[g]) / den
        loglik = beta * self.sx_events - float(np.sum(np.log(den)))
        score = self.sx_events - float(np.sum(m1))
        info = float(np.sum(m2 - m1 * m1))
        return loglik, score, info


def stratified_cox(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    *,
    strata: np.ndarray | None = None,
    max_iter: int = 30,
    eps: float = 1e-10,
) -> CoxResult:
    """Cox model of one covariate ``x`` with a baseline hazard per stratum (Efron ties).

    Returns NaN coefficients when there is no event, no variation of ``x`` within the
    informative strata, or the estimate diverges (all events in one arm: |coef| > 20).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    x = np.asarray(x, dtype=float)
    strata = np.zeros(len(time), dtype=np.int64) if strata is None else np.asarray(strata)
    if len(time) == 0 or event.sum() == 0:
        return CoxResult(np.nan, np.nan, np.nan, 0)
    prep = _Prep(time, event, x, strata)
    beta = 0.0
    loglik, score, info = prep.pass_(beta)
    it = 0
    for it in range(1, max_iter + 1):
        if info <= 1e-12:
            return CoxResult(np.nan, np.nan, loglik, it)
        new = beta + score / info
        new_ll, new_score, new_info = prep.pass_(new)
        halvings = 0
        while (not np.isfinite(new_ll) or new_ll < loglik - 1e-12) and halvings < 30:
            new = (new + beta) / 2
            new_ll, new_score, new_info = prep.pass_(new)
            halvings += 1
        done = abs(new_ll - loglik) <= eps * max(1.0, abs(new_ll))
        beta, loglik, score, info = new, new_ll, new_score, new_info
        if done:
            break
    if abs(beta) > 20 or info <= 1e-12:
        return CoxResult(np.nan, np.nan, loglik, it)
    return CoxResult(float(beta), float(1 / np.sqrt(info)), float(loglik), it)


def incidence_rate(events: float, days: float) -> float:
    """Events per 1,000 person-years (365.25 days a year); NaN without follow-up."""
    return float(events / (days / 365.25) * 1000) if days > 0 else np.nan


def mdrr(
    target_subjects: int, comparator_subjects: int, events: int, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Minimum detectable relative risk, as CohortMethod's ``computeMdrr`` (Schoenfeld's formula)."""
    total = target_subjects + comparator_subjects
    if total == 0 or events == 0 or target_subjects == 0 or comparator_subjects == 0:
        return np.inf
    pa = target_subjects / total
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(np.exp(np.sqrt(z * z / (pa * (1 - pa) * events))))
