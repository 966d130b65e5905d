"""Propensity scores, matching, stratification and covariate balance, as OHDSI CohortMethod.

* :func:`fit_propensity` — a large-scale propensity model: L1-regularised logistic
  regression of the treatment on every baseline covariate (CohortMethod's ``createPs`` with
  Cyclops' Laplace prior, its variance chosen by cross-validation). Here scikit-learn's
  ``LogisticRegression`` (liblinear, L1) with C chosen from 7 values on a log grid by the
  held-out log likelihood of stratified K-fold cross-validation (K = min(10, smaller
  class); increasing C, stopping when the likelihood falls); the intercept column is
  scaled (``intercept_scaling = 10``) so that its penalty
  is small. At most ``max_fit`` persons (CohortMethod's ``maxCohortSizeForFitting`` =
  250,000) are sampled to fit; scores are predicted for everyone.
* :func:`match_on_ps` — greedy nearest-neighbour matching on the logit of the PS with a
  caliper of ``caliper`` standard deviations of the logit PS (CohortMethod's default
  ``caliper = 0.2, caliperScale = "standardized logit"``), closest pair first as CohortMethod's
  ``Match.cpp`` does, up to ``max_ratio`` comparators per target, in rounds: every target
  first gets one comparator, then a second, … (matched sets are numbered; the unmatched get -1).
* :func:`stratify_by_ps` — strata at the quantiles of the PS of the whole population.
* :func:`balance` — standardized mean differences of every covariate before and after:
  ``(mean_t − mean_c) / √((var_t + var_c) / 2)`` with the variances of each group (CohortMethod's
  ``computeCovariateBalance``). After matching, comparators weigh 1/k in a set with k of them;
  after stratification, comparators in stratum s weigh n_t,s / n_c,s (the target population's
  composition, ATT).
"""

from __future__ import annotations

import heapq
import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit

__all__ = ["balance", "fit_propensity", "match_on_ps", "preference_score", "stratify_by_ps"]


def _l1_model(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", intercept_scaling=10.0, random_state=seed)


def fit_propensity(
    x: sp.csr_matrix,
    treatment: np.ndarray,
    *,
    c: float | None = None,
    cs: np.ndarray | None = None,
    max_fit: int = 250_000,
    max_cv: int = 50_000,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Propensity scores by L1 logistic regression with C chosen by cross-validation (see the module).

    ``c`` fixes the inverse regularisation strength (no cross-validation, as CohortMethod's
    ``createPrior(useCrossValidation = FALSE)``); otherwise the C of ``cs`` (default
    ``10^[-2, -1.5, …, 1]``) with the largest held-out log likelihood over stratified K-fold
    (K = min(10, smaller class)) on at most ``max_cv`` sampled persons is used; the C are
    tried in increasing order and the search stops at the first one that does worse than
    the best so far (as Cyclops' auto-search stops). Returns the
    scores and a small description (C, non-zero coefficients, folds).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(treatment, dtype=np.int8)
    n = len(y)
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        return np.full(n, counts[1] / max(n, 1), dtype=float), {"C": np.nan, "nonzero": 0, "folds": 0}
    used = np.asarray(x.sum(axis=0)).ravel()
    keep = np.nonzero((used > 0) & (used < n))[0]  # constant columns carry nothing
    xs = x[:, keep].tocsr() if len(keep) else sp.csr_matrix(np.zeros((n, 1)))
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    folds = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if c is None:
            cv_rows = np.sort(rng.choice(n, max_cv, replace=False)) if n > max_cv else np.arange(n)
            yc, xc = y[cv_rows], xs[cv_rows]
            folds = int(min(10, np.bincount(yc, minlength=2).min()))
            grid = np.asarray(cs if cs is not None else np.logspace(-2, 1, 7), dtype=float)
            if folds >= 2:
                # C in increasing order; stop at the first C whose held-out likelihood is lower than the best
                # (the CV likelihood is unimodal in C in practice; large C are the slow fits)
                split = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(xc, yc))
                best_ll, c = -np.inf, float(grid[0])
                for value in np.sort(grid):
                    ll = 0.0
                    for train, test in split:
                        p = _l1_model(value, seed).fit(xc[train], yc[train]).predict_proba(xc[test])[:, 1]
                        p = np.clip(p, 1e-15, 1 - 1e-15)
                        ll += float(np.sum(np.where(yc[test] == 1, np.log(p), np.log1p(-p))))
                    if ll <= best_ll:
                        break
                    best_ll, c = ll, float(value)
            else:
                c = 1.0
        model = _l1_model(c, seed).fit(xs[fit_rows], y[fit_rows])
    ps = model.predict_proba(xs)[:, 1]
    return ps, {"C": float(c), "nonzero": int(np.count_nonzero(model.coef_)), "folds": folds}


def preference_score(ps: np.ndarray, treatment: np.ndarray) -> np.ndarray:
    """Walker's preference score: the PS with the target's prevalence removed (for equipoise)."""
    p = float(np.mean(treatment))
    ps = np.clip(ps, 1e-12, 1 - 1e-12)
    x = np.log(ps / (1 - ps)) - np.log(p / (1 - p))
    return 1 / (1 + np.exp(-x))


@njit(cache=True)
def _find(ptr: np.ndarray, i: int) -> int:  # pragma: no cover - compiled
    root = i
    while ptr[root] != root:
        root = ptr[root]
    while ptr[i] != root:
        nxt = ptr[i]
        ptr[i] = root
        i = nxt
    return root


@njit(cache=True)
def _nearest_free(right: np.ndarray, left: np.ndarray, c_sorted: np.ndarray, pos: int, v: float):  # pragma: no cover
    """(distance, index) of the closest free comparator to v (the one after it on a tie; -1 = none)."""
    nc = len(c_sorted)
    jr = _find(right, pos) if pos <= nc else nc
    jl = _find(left, pos) - 1  # left is shifted by one
    dr = abs(c_sorted[jr] - v) if jr < nc else np.inf
    dl = abs(c_sorted[jl] - v) if jl >= 0 else np.inf
    if jl >= 0 and dl < dr:
        return dl, jl
    if jr < nc:
        return dr, jr
    return np.inf, -1


@njit(cache=True)
def _greedy(t_logit, c_sorted, caliper, max_ratio):  # pragma: no cover - compiled
    nc = len(c_sorted)
    nt = len(t_logit)
    # right[i]: first free comparator at or after i (nc = none); left[i + 1]: last free at or before i (0 = none)
    right = np.arange(nc + 1)
    left = np.arange(nc + 1)
    c_set = np.full(nc, -1, dtype=np.int64)
    matched = np.zeros(nt, dtype=np.int64)
    pos = np.searchsorted(c_sorted, t_logit)
    for r in range(max_ratio):
        # closest pair first (CohortMethod's Match.cpp): a heap of (distance, target, comparator)
        heap = [(0.0, 0, 0)]
        heap.pop()
        for i in range(nt):
            if matched[i] < r:
                continue
            v = t_logit[i]
            jr = pos[i] if pos[i] < nc else nc
            jr = _find(right, jr) if jr < nc else nc
            jl = _find(left, pos[i]) - 1
            if jr < nc:
                heap.append((abs(c_sorted[jr] - v), i, jr))
            if jl >= 0:
                heap.append((abs(c_sorted[jl] - v), i, jl))
        heapq.heapify(heap)
        new = 0
        while len(heap) > 0:
            d, i, j = heapq.heappop(heap)
            if not d < caliper:
                break
            if matched[i] > r:
                continue  # this target has its match of this round
            if c_set[j] == -1:
                c_set[j] = i
                matched[i] += 1
                new += 1
                right[j] = j + 1
                left[j + 1] = j
            else:
                d2, j2 = _nearest_free(right, left, c_sorted, pos[i], t_logit[i])
                if j2 >= 0:
                    heapq.heappush(heap, (d2, i, j2))
        if new == 0:
            break
    return c_set, matched


def match_on_ps(ps: np.ndarray, treatment: np.ndarray, *, max_ratio: int = 1, caliper: float = 0.2) -> np.ndarray:
    """Matched-set id per person (-1 = unmatched): greedy matching on the logit PS (see the module).

    As CohortMethod's ``matchOnPs`` (``Match.cpp``): in each round the closest (target,
    free comparator) pair over all targets is matched first, then the next closest, … while
    the distance is below the caliper (a target whose nearest comparator was taken looks for
    its next nearest free one). Taking targets in a fixed order instead — e.g. of decreasing
    PS, "hardest first" — leaves the surplus targets of a crowded high-PS region with
    comparators of lower PS, a one-sided residual confounding. A set is numbered by its
    target's position in the input.
    """
    ps = np.clip(np.asarray(ps, dtype=float), 1e-12, 1 - 1e-12)
    logit = np.log(ps / (1 - ps))
    treat = np.asarray(treatment).astype(bool)
    width = caliper * float(np.std(logit, ddof=1)) if len(logit) > 1 else 0.0
    t_idx = np.nonzero(treat)[0]
    c_idx = np.nonzero(~treat)[0]
    t_idx = t_idx[np.argsort(logit[t_idx], kind="stable")]
    c_order = c_idx[np.argsort(logit[c_idx], kind="stable")]
    if len(t_idx) == 0 or len(c_idx) == 0:
        return np.full(len(ps), -1, dtype=np.int64)
    c_set, matched = _greedy(logit[t_idx], logit[c_order], width, int(max_ratio))
    out = np.full(len(ps), -1, dtype=np.int64)
    out[t_idx[matched > 0]] = t_idx[matched > 0]
    hit = c_set >= 0
    out[c_order[hit]] = t_idx[c_set[hit]]
    return out


def stratify_by_ps(ps: np.ndarray, *, strata: int = 5) -> np.ndarray:
    """Stratum number 0 … strata-1 at the quantiles of the PS of everyone."""
    ps = np.asarray(ps, dtype=float)
    edges = np.unique(np.quantile(ps, np.linspace(0, 1, strata + 1)[1:-1]))
    return np.searchsorted(edges, ps, side="right").astype(np.int64)


def _weights(treat: np.ndarray, group: np.ndarray) -> np.ndarray:
    """ATT weights after matching (group = set id) or stratification (group = stratum); 0 = left out."""
    w = np.zeros(len(treat))
    ok = group >= 0
    g = group[ok]
    t = treat[ok]
    _, inv = np.unique(g, return_inverse=True)
    nt = np.bincount(inv, weights=t.astype(float))
    nc = np.bincount(inv, weights=(~t).astype(float))
    wc = np.where(nc > 0, nt / np.maximum(nc, 1), 0.0)
    w_ok = np.where(t, (nc[inv] > 0).astype(float), wc[inv])
    w[ok] = w_ok
    return w


def _means(x: sp.csr_matrix, w: np.ndarray) -> np.ndarray:
    total = w.sum()
    return np.asarray(x.T @ w).ravel() / total if total > 0 else np.full(x.shape[1], np.nan)


def _smd(mt: np.ndarray, mc: np.ndarray) -> np.ndarray:
    sd = np.sqrt((mt * (1 - mt) + mc * (1 - mc)) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (mt - mc) / np.where(sd > 0, sd, 1), np.nan)


def balance(x: sp.csr_matrix, treatment: np.ndarray, group: np.ndarray) -> pd.DataFrame:
    """Means and SMDs of every (binary) covariate before and after matching/stratification (see the module)."""
    treat = np.asarray(treatment).astype(bool)
    ones = np.ones(len(treat))
    mt_b = _means(x, ones * treat)
    mc_b = _means(x, ones * ~treat)
    w = _weights(treat, np.asarray(group))
    mt_a = _means(x, w * treat)
    mc_a = _means(x, w * ~treat)
    return pd.DataFrame(
        {
            "target_mean_before": mt_b,
            "comparator_mean_before": mc_b,
            "std_diff_before": _smd(mt_b, mc_b),
            "target_mean_after": mt_a,
            "comparator_mean_after": mc_a,
            "std_diff_after": _smd(mt_a, mc_a),
        }
    )
