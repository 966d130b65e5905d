"""Performance metrics of risk models: discrimination, calibration, clinical utility, survival.

Pure numpy kernels (no biolake imports). Each function names the R function it matches;
``tests/precision/test_risk_metrics.py`` checks them against R's outputs.

Binary outcome ``y`` (0/1) and predicted probability (or score) ``p``:

* :func:`roc_auc` — area under the ROC curve, the Mann–Whitney probability
  ``P(p_case > p_control) + ½ P(tie)`` (R ``pROC::auc``, Hmisc ``somers2`` ``C``);
* :func:`average_precision` — PR-AUC as average precision ``Σ_k (R_k − R_{k−1}) P_k`` over
  the distinct thresholds in decreasing order (scikit-learn ``average_precision_score``);
* :func:`brier_score` — ``mean((p − y)²)`` (``rms::val.prob`` ``Brier``);
* :func:`calibration` — ``rms::val.prob``'s ``Intercept`` and ``Slope``: the two coefficients
  of the logistic regression ``logit P(y) = a + b·logit(p)`` (val.prob's ``f.recal <-
  lrm.fit(logit, y)``; both from one fit), plus calibration-in-the-large, the intercept of
  ``glm(y ~ offset(logit(p)), binomial)`` (not reported by val.prob);
* :func:`net_benefit` — decision-curve net benefit ``TP/n − FP/n · t/(1 − t)`` of treating
  those with ``p ≥ t``, and of treating all (Vickers & Elkin 2006; R ``dcurves::dca``);
* :func:`calibration_bins` / :func:`lowess_smooth` — the points of a calibration plot;
* :func:`bootstrap_ci` — percentile bootstrap interval of any of these.

Right-censored survival ``time``, ``event`` (1 = event) and a risk marker (higher = worse):

* :func:`censoring_km` — Kaplan–Meier of the censoring distribution ``G`` (events as
  censorings), the inverse-probability-of-censoring weights (IPCW) below use ``G(T_i−)``
  for subjects with an event and ``G(t)`` for those still event-free at ``t``;
* :func:`uno_c` — Uno's C: ``Σ_{i,j} δ_i G(T_i−)^{-2} 1(T_i < T_j) [1(M_i > M_j) + ½ 1(M_i =
  M_j)] / Σ_{i,j} δ_i G(T_i−)^{-2} 1(T_i < T_j)`` over ``T_i ≤ τ`` (R ``survival::concordance(…,
  timewt = "n/G2")``; pairs with tied event times not comparable, a subject censored at an event
  time counts as later);
* :func:`time_auc` — cumulative/dynamic time-dependent AUC at ``t``: cases ``T_i ≤ t, δ_i =
  1`` weighted ``1/G(T_i−)``, controls ``T_j > t``: ``Σ w_i 1(M_i > M_j) + ½ 1(M_i = M_j) / (Σ w_i
  · n_controls)`` (R ``timeROC::timeROC(weighting = "marginal")``,
  ``riskRegression::Score(metrics = "auc")``);
* :func:`brier_survival` / :func:`integrated_brier` — IPCW Brier score at ``t`` (Graf et al.
  1999): ``mean(S_i(t)² 1(T_i ≤ t, δ_i = 1)/G(T_i−) + (1 − S_i(t))² 1(T_i > t)/G(t))`` and its
  integral over ``[0, τ]`` divided by ``τ``, the step-function integral of ``pec``'s ``crps``
  (``riskRegression::Score(summary = "ibs")``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numba import njit
from scipy.stats import rankdata

__all__ = [
    "BINARY_METRICS",
    "average_precision",
    "binary_metric_values",
    "bootstrap_ci",
    "brier_score",
    "brier_survival",
    "calibration",
    "calibration_bins",
    "censoring_km",
    "integrated_brier",
    "lowess_smooth",
    "net_benefit",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "time_auc",
    "uno_c",
]


# --------------------------------------------------------------------------- binary outcome


def _binary(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).reshape(-1)
    p = np.asarray(p, dtype=float).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in length ({len(y)} vs {len(p)})")
    return y, p


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney, ties count ½); NaN without both classes."""
    y, p = _binary(y, p)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def roc_curve(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """ROC points (``fpr``, ``tpr``, ``threshold``), from (0, 0) at ``+inf``, one per distinct score."""
    y, p = _binary(y, p)
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    n1, n0 = y.sum(), len(y) - y.sum()
    return {
        "fpr": np.r_[0.0, fp / n0 if n0 else fp * np.nan],
        "tpr": np.r_[0.0, tp / n1 if n1 else tp * np.nan],
        "threshold": np.r_[np.inf, ps[last]],
    }


def pr_curve(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """Precision–recall points, one per distinct score in decreasing order."""
    y, p = _binary(y, p)
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    tp = np.cumsum(ys)[last]
    n1 = y.sum()
    return {"recall": tp / n1 if n1 else tp * np.nan, "precision": tp / (last + 1), "threshold": ps[last]}


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision ``Σ_k (R_k − R_{k−1}) P_k`` (scikit-learn's PR-AUC); NaN without cases."""
    y, _ = _binary(y, p)
    if y.sum() == 0:
        return float("nan")
    c = pr_curve(y, p)
    recall = np.r_[0.0, c["recall"]]
    return float(np.sum(np.diff(recall) * c["precision"]))


def brier_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared difference of probability and outcome."""
    y, p = _binary(y, p)
    return float(np.mean((p - y) ** 2))


def _logistic_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, *, tol: float = 1e-13) -> np.ndarray:
    """Maximum-likelihood logistic coefficients by Newton–Raphson from 0 (small designs)."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        eta = offset + x @ beta
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu)
        step = np.linalg.solve((x * w[:, None]).T @ x, x.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            break
    return beta


def calibration(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """``rms::val.prob`` intercept and slope, and calibration-in-the-large (see the module).

    Probabilities of exactly 0 or 1 are left out (as val.prob does).
    """
    y, p = _binary(y, p)
    keep = (p > 0) & (p < 1)
    y, p = y[keep], p[keep]
    if len(y) == 0 or y.min() == y.max():
        return {"intercept": float("nan"), "slope": float("nan"), "in_the_large": float("nan")}
    lp = np.log(p / (1 - p))
    a, b = _logistic_fit(np.column_stack([np.ones_like(lp), lp]), y, np.zeros_like(lp))
    (large,) = _logistic_fit(np.ones((len(y), 1)), y, lp)
    return {"intercept": float(a), "slope": float(b), "in_the_large": float(large)}


BINARY_METRICS = (
    "roc_auc",
    "pr_auc",
    "brier",
    "calibration_intercept",
    "calibration_slope",
    "calibration_in_the_large",
)
"""Names of the values :func:`binary_metric_values` returns, in order."""


def binary_metric_values(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC, PR-AUC, Brier score and the calibration intercept, slope and in-the-large of
    predicted probabilities ``p`` for 0/1 outcomes ``y`` (:data:`BINARY_METRICS`; one vector, so
    :func:`bootstrap_ci` can resample all of them at once)."""
    cal = calibration(y, p)
    return np.array(
        [
            roc_auc(y, p),
            average_precision(y, p),
            brier_score(y, p),
            cal["intercept"],
            cal["slope"],
            cal["in_the_large"],
        ]
    )


def net_benefit(y: np.ndarray, p: np.ndarray, thresholds: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """Net benefit of the model (treat if ``p ≥ t``) and of treating all, at each threshold ``t``."""
    y, p = _binary(y, p)
    t = np.asarray(thresholds, dtype=float)
    n = len(y)
    treat = p[None, :] >= t[:, None]
    tp = (treat & (y[None, :] == 1)).sum(axis=1)
    fp = (treat & (y[None, :] == 0)).sum(axis=1)
    odds = t / (1 - t)
    prev = y.mean()
    return {"threshold": t, "model": tp / n - fp / n * odds, "treat_all": prev - (1 - prev) * odds}


def calibration_bins(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> dict[str, np.ndarray]:
    """Groups of about equal size by sorted ``p``: mean predicted, observed rate, size."""
    y, p = _binary(y, p)
    order = np.argsort(p, kind="mergesort")
    groups = np.array_split(order, min(bins, len(p)))
    groups = [g for g in groups if len(g)]
    return {
        "predicted": np.array([p[g].mean() for g in groups]),
        "observed": np.array([y[g].mean() for g in groups]),
        "n": np.array([len(g) for g in groups]),
    }


def lowess_smooth(x: np.ndarray, y: np.ndarray, *, frac: float = 2 / 3, points: int = 100) -> dict[str, np.ndarray]:
    """Local linear fit with tricube weights (lowess without robustness iterations, as val.prob's
    ``lowess(p, y, iter = 0)``, evaluated on a grid instead of R's ``delta`` interpolation)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.linspace(x.min(), x.max(), points)
    k = max(2, int(np.ceil(frac * len(x))))
    fit = np.empty_like(grid)
    for i, g in enumerate(grid):
        d = np.abs(x - g)
        h = np.partition(d, k - 1)[k - 1]
        w = np.clip(1 - (d / h) ** 3, 0, None) ** 3 if h > 0 else (d == 0).astype(float)
        sw = w.sum()
        mx, my = (w * x).sum() / sw, (w * y).sum() / sw
        sxx = (w * (x - mx) ** 2).sum()
        fit[i] = my if sxx <= 1e-12 * max(1.0, sw) else my + (w * (x - mx) * (y - my)).sum() / sxx * (g - mx)
    return {"x": grid, "y": fit}


def bootstrap_ci(
    statistic: Callable[..., Any],
    *arrays: np.ndarray,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    strata: np.ndarray | None = None,
) -> tuple[Any, Any]:
    """Percentile bootstrap interval of ``statistic(*arrays)`` over resampled rows.

    ``statistic`` may return one number or a vector (then the bounds are arrays, one per
    element: all statistics from the same resamples). With ``strata`` the rows are resampled
    within each stratum. Replicates where a statistic is not finite are dropped for it.
    """
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)] if strata is not None else [np.arange(n)]
    values = []
    for _ in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        values.append(np.atleast_1d(np.asarray(statistic(*(np.asarray(a)[idx] for a in arrays)), dtype=float)))
    vals = np.array(values).reshape(n_boot, -1)
    alpha = (1 - level) / 2
    lo, hi = np.full(vals.shape[1], np.nan), np.full(vals.shape[1], np.nan)
    for k in range(vals.shape[1]):
        v = vals[:, k][np.isfinite(vals[:, k])]
        if len(v):
            lo[k], hi[k] = np.quantile(v, [alpha, 1 - alpha])
    if np.ndim(statistic(*arrays)) == 0:
        return float(lo[0]), float(hi[0])
    return lo, hi


# --------------------------------------------------------------------------- survival


def censoring_km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier of the censoring distribution: the distinct times and ``G`` just after each.

    Events at a censoring time leave the risk set first: ``G`` drops at time ``u`` by the factor
    ``1 − c(u) / (n(u) − d(u))`` (``c`` censored, ``d`` events, ``n`` at risk at ``u``), as
    R survival's internal ``fastkm1`` (concordance) and ``prodlim(reverse = TRUE)`` (riskRegression).
    """
    time = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=float)
    uniq, inv = np.unique(time, return_inverse=True)
    n_cens = np.bincount(inv, weights=1 - ev, minlength=len(uniq))
    n_event = np.bincount(inv, weights=ev, minlength=len(uniq))
    n_at = np.bincount(inv, minlength=len(uniq)).astype(float)
    at_risk = n_at[::-1].cumsum()[::-1] - n_event  # the events of a time leave before its censorings
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(n_cens > 0, 1 - n_cens / np.where(at_risk > 0, at_risk, 1), 1.0)
    return uniq, np.cumprod(factor)


def _g_at(uniq: np.ndarray, g: np.ndarray, t: np.ndarray, *, left: bool) -> np.ndarray:
    """``G(t)`` (``left=False``) or ``G(t−)`` (``left=True``) from :func:`censoring_km`."""
    idx = np.searchsorted(uniq, t, side="left" if left else "right") - 1
    return np.where(idx >= 0, g[np.clip(idx, 0, None)], 1.0)


@njit(cache=True, nogil=True)
def _pair_counts(time, event, rank, n_ranks):  # pragma: no cover - compiled
    """For each row with an event: subjects 'later' (time greater, or equal and censored) with a
    lower score, with an equal score, and in all. Rows sorted by time; Fenwick tree over score ranks."""
    n = len(time)
    tree = np.zeros(n_ranks + 1, dtype=np.int64)
    below = np.zeros(n, dtype=np.int64)
    equal = np.zeros(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    added = 0
    i = n - 1
    while i >= 0:
        j = i
        while j >= 0 and time[j] == time[i]:
            j -= 1
        for k in range(j + 1, i + 1):
            if not event[k]:
                r = rank[k] + 1
                while r <= n_ranks:
                    tree[r] += 1
                    r += r & (-r)
                added += 1
        for k in range(j + 1, i + 1):
            if event[k]:
                lo = 0
                r = rank[k]
                while r > 0:
                    lo += tree[r]
                    r -= r & (-r)
                up = 0
                r = rank[k] + 1
                while r > 0:
                    up += tree[r]
                    r -= r & (-r)
                below[k] = lo
                equal[k] = up - lo
                total[k] = added
        for k in range(j + 1, i + 1):
            if event[k]:
                r = rank[k] + 1
                while r <= n_ranks:
                    tree[r] += 1
                    r += r & (-r)
                added += 1
        i = j
    return below, equal, total


def uno_c(time: np.ndarray, event: np.ndarray, marker: np.ndarray, *, tau: float | None = None) -> float:
    """Uno's concordance (see the module); ``marker``: higher = higher risk. ``O(n log n)``."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(np.bool_)
    marker = np.asarray(marker, dtype=float)
    uniq, g = censoring_km(time, event)
    order = np.lexsort((marker, time))
    levels, rank = np.unique(marker[order], return_inverse=True)
    below, equal, total = _pair_counts(time[order], event[order], rank.astype(np.int64).reshape(-1), len(levels))
    t_sorted, e_sorted = time[order], event[order]
    use = e_sorted & (t_sorted <= (np.inf if tau is None else tau))
    w = 1 / _g_at(uniq, g, t_sorted[use], left=True) ** 2
    den = float(w @ total[use])
    return float(w @ (below[use] + 0.5 * equal[use])) / den if den else float("nan")


def time_auc(time: np.ndarray, event: np.ndarray, marker: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Cumulative/dynamic IPCW time-dependent AUC at each of ``times`` (see the module)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    marker = np.asarray(marker, dtype=float)
    uniq, g = censoring_km(time, event)
    out = np.empty(len(times))
    for k, t in enumerate(times):
        case = event & (time <= t)
        ctrl = time > t
        if not case.any() or not ctrl.any():
            out[k] = np.nan
            continue
        w = 1 / _g_at(uniq, g, time[case], left=True)
        ctrl_m = np.sort(marker[ctrl])
        below = np.searchsorted(ctrl_m, marker[case], side="left")
        upto = np.searchsorted(ctrl_m, marker[case], side="right")
        out[k] = float(w @ (below + 0.5 * (upto - below)) / (w.sum() * len(ctrl_m)))
    return out


def brier_survival(time: np.ndarray, event: np.ndarray, surv: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """IPCW Brier score at each of ``times``; ``surv[i, k]`` is subject ``i``'s predicted ``S(times[k])``."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    surv = np.asarray(surv, dtype=float)
    uniq, g = censoring_km(time, event)
    g_own = _g_at(uniq, g, time, left=True)
    out = np.empty(len(times))
    for k, t in enumerate(times):
        s = surv[:, k]
        case = event & (time <= t)
        ctrl = time > t
        g_t = _g_at(uniq, g, np.array([t]), left=False)[0]
        term = np.where(case, s**2 / np.where(case, g_own, 1.0), 0.0) + np.where(ctrl, (1 - s) ** 2 / g_t, 0.0)
        out[k] = float(term.mean())
    return out


def integrated_brier(times: np.ndarray, brier: np.ndarray, *, tau: float | None = None) -> float:
    """Step-function integral of the Brier curve over ``[t_0, τ)`` divided by ``τ − t_0`` (``pec::crps``).

    ``times`` are the increasing evaluation times (the first, ``t_0``, is the start, usually 0);
    ``brier[k]`` holds on ``[times[k], times[k+1])``; ``τ`` defaults to the last time (R ``pec``'s
    ``Dint(times, brier, range = c(t_0, τ))``).
    """
    times = np.asarray(times, dtype=float)
    brier = np.asarray(brier, dtype=float)
    start = float(times[0])
    tau = float(times[-1]) if tau is None else min(float(tau), float(times[-1]))
    if tau <= start:
        return 0.0
    keep = times < tau
    t, b = times[keep], brier[keep]
    widths = np.diff(np.r_[t, tau])
    return float((b * widths).sum() / (tau - start))
