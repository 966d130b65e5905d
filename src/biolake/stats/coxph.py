"""Cox proportional hazards regression with Efron's tie handling, as R ``survival::coxph``.

The kernel works on one right-censored sample held in memory (``time``, ``event`` and an
``n × p`` covariate matrix) and reproduces R's ``coxph.fit``/``coxfit6`` step by step:

* covariates that are not all in {0, 1} (R's ``nocenter``) are centred on their mean and
  scaled by ``1 / mean |x − mean|``; 0/1 columns are left as they are;
* Newton–Raphson from ``beta = 0``; the iteration stops when the log partial likelihood
  changes by at most ``eps`` relative to the best one so far (``|1 − best/new| ≤ eps``,
  R's ``eps = 1e-9``) and at most ``max_iter`` (20) iterations are made; a step that
  lowers the likelihood is shrunk (the ``k``-th halving sets ``new = (new + k·old)/(k+1)``,
  as coxfit6); when the iterations run out the last good estimate is kept;
* the model variance is the inverse of the information matrix at the estimate, and the
  robust variance is R's ``coxph(robust = TRUE)`` without ``cluster``: ``D'D`` with ``D``
  the dfbeta residuals (score residuals × variance, as ``residuals.coxph(type = "dfbeta")``).

Risk-set sums are not accumulated subject by subject: with the rows sorted by decreasing
time, the sums over each risk set are cumulative sums over groups of tied times, and the
``Σ_k C_k / d_k`` part of the information matrix (``C_k`` the risk-weighted sum of squares
of the ``k``-th Efron step, ``d_k`` its denominator) is ``X' diag(r ∘ w) X`` with per-subject
weights ``w`` that are themselves cumulative sums: one matrix product per iteration
(``O(n·p²)``, BLAS), no loop over subjects.

Examples
--------
>>> import numpy as np
>>> t = np.array([5.0, 8, 8, 3, 10, 12, 4, 9])
>>> e = np.array([1, 1, 0, 1, 1, 0, 1, 1])
>>> x = np.array([[1.0], [0], [1], [1], [0], [0], [1], [0]])
>>> fit = coxph_efron(t, e, x)
>>> round(float(fit.coef[0]), 6), fit.iterations
(1.755813, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["CoxFit", "cox_score_residuals", "coxph_efron", "efron_information", "zph_score_test"]


@dataclass
class CoxFit:
    """A fitted Cox model (see :func:`coxph_efron`)."""

    coef: np.ndarray
    """Coefficients, one per covariate column."""
    var: np.ndarray
    """Model variance: the inverse information matrix at ``coef``."""
    robust_var: np.ndarray | None
    """Robust (sandwich) variance ``D'D`` of the dfbeta residuals ``D``, or None."""
    loglik: tuple[float, float]
    """Log partial likelihood at ``beta = 0`` and at ``coef``."""
    score_test: float
    """Score test statistic at ``beta = 0``."""
    iterations: int
    """Newton–Raphson iterations made (R's ``iter``)."""
    converged: bool
    """Whether the likelihood converged within ``max_iter`` iterations."""
    n: int
    """Subjects."""
    n_events: int
    """Events."""


class _Sorted:
    """Groups of tied times (0 = the latest) and the Efron steps, without reordering rows."""

    def __init__(self, time: np.ndarray, event: np.ndarray) -> None:
        ev = np.asarray(event).astype(bool)
        self.event = ev
        uniq, group = np.unique(-time, return_inverse=True)
        self.group = group.astype(np.int64).reshape(-1)  # group of each row, by decreasing time
        self.n_groups = g = len(uniq)
        self.dead = np.flatnonzero(ev)
        self.dead_group = self.group[self.dead]
        self.deaths = np.bincount(self.dead_group, minlength=g)
        self.death_groups = np.flatnonzero(self.deaths)
        d = self.deaths[self.death_groups]
        # one Efron step per death: its group and k / d for k = 0 .. d-1
        self.step_group = np.repeat(self.death_groups, d)
        k = np.arange(len(self.dead)) - np.repeat(np.cumsum(d) - d, d)
        self.step_frac = k / np.repeat(d, d).astype(float)
        self._dead_sum: tuple[int, np.ndarray] | None = None

    def dead_sum(self, xs: np.ndarray) -> np.ndarray:
        """Σ x over the events (cached for the matrix it was computed from)."""
        if self._dead_sum is None or self._dead_sum[0] != id(xs):
            self._dead_sum = (id(xs), xs[self.dead].sum(axis=0))
        return self._dead_sum[1]


def _reverse_cumsum(values: np.ndarray) -> np.ndarray:
    """Cumulative sums from the last element backwards (over the first axis)."""
    return np.cumsum(values[::-1], axis=0)[::-1]


@njit(cache=True, nogil=True)
def _group_sums(xs, r, group, event, n_groups):  # pragma: no cover - compiled
    """Per group of tied times: sums of r and r·x over all rows and over the events."""
    n, p = xs.shape
    s0 = np.zeros(n_groups)
    s1 = np.zeros((n_groups, p))
    d0 = np.zeros(n_groups)
    d1 = np.zeros((n_groups, p))
    for i in range(n):
        g = group[i]
        ri = r[i]
        s0[g] += ri
        if event[i]:
            d0[g] += ri
            for j in range(p):
                v = ri * xs[i, j]
                s1[g, j] += v
                d1[g, j] += v
        else:
            for j in range(p):
                s1[g, j] += ri * xs[i, j]
    return s0, s1, d0, d1


@dataclass
class _Pass:
    loglik: float
    u: np.ndarray
    imat: np.ndarray
    r: np.ndarray
    s1: np.ndarray  # (groups, p) risk-set sums of r·x
    d1: np.ndarray  # (groups, p) sums of r·x over the events of each group
    inv: np.ndarray  # (steps,) 1 / Efron denominators


@njit(cache=True, nogil=True)
def _step_sums_kernel(step_group, frac, inv, weight, n_groups):  # pragma: no cover - compiled
    out = np.zeros((5, n_groups))
    for k in range(len(step_group)):
        g = step_group[k]
        f = frac[k]
        w = inv[k] * weight[k]
        w2 = w * inv[k]
        out[0, g] += w
        out[1, g] += f * w
        out[2, g] += w2
        out[3, g] += f * w2
        out[4, g] += f * f * w2
    return out


def _step_sums(st: _Sorted, inv: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Per group: Σ_k c/d_k, Σ_k c·f_k/d_k, Σ_k c/d_k², Σ_k c·f_k/d_k², Σ_k c·f_k²/d_k² (c = weight)."""
    if weight is None:
        weight = np.ones_like(inv)
    return _step_sums_kernel(st.step_group, st.step_frac, inv, weight, st.n_groups)


@njit(cache=True, nogil=True)
def _row_weights(r, group, event, cum_h, hf):  # pragma: no cover - compiled
    """r_i · (H(t_i) − δ_i · hf(t_i)): the weight of row i in X' diag(.) X."""
    n = len(r)
    out = np.empty(n)
    for i in range(n):
        g = group[i]
        w = cum_h[g]
        if event[i]:
            w -= hf[g]
        out[i] = r[i] * w
    return out


@njit(cache=True, nogil=True)
def _residual_rows(xs, r, group, event, cum_h, hf, cum_hx, hxf, mbar, out):  # pragma: no cover - compiled
    n, p = xs.shape
    for i in range(n):
        g = group[i]
        ri = r[i]
        if event[i]:
            w = cum_h[g] - hf[g]
            for j in range(p):
                out[i, j] = xs[i, j] - mbar[g, j] - ri * (xs[i, j] * w - (cum_hx[g, j] - hxf[g, j]))
        else:
            w = cum_h[g]
            for j in range(p):
                out[i, j] = -ri * (xs[i, j] * w - cum_hx[g, j])
    return out


@njit(cache=True, nogil=True)
def _center_scale(x, out):  # pragma: no cover - compiled
    """R coxfit6's centring and scaling of the columns not all in {-1, 0, 1}."""
    n, p = x.shape
    means = np.zeros(p)
    scale = np.ones(p)
    zero_one = np.ones(p, dtype=np.bool_)
    for i in range(n):
        for j in range(p):
            v = x[i, j]
            means[j] += v
            if zero_one[j] and v != 0.0 and v != 1.0 and v != -1.0:
                zero_one[j] = False
    for j in range(p):
        means[j] = 0.0 if zero_one[j] else means[j] / n
    mad = np.zeros(p)
    for i in range(n):
        for j in range(p):
            v = x[i, j] - means[j]
            out[i, j] = v
            mad[j] += abs(v)
    for j in range(p):
        if not zero_one[j] and mad[j] > 0:
            scale[j] = n / mad[j]
    for i in range(n):
        for j in range(p):
            out[i, j] *= scale[j]
    return means, scale


def _outer_sum(s1: np.ndarray, d1: np.ndarray, q0: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Σ_k a_k a_k' / d_k² with a_k = s1 − f_k·d1, from the per-group sums q."""
    out = s1.T @ (s1 * q0[:, None]) + d1.T @ (d1 * q2[:, None])
    cross = s1.T @ (d1 * q1[:, None])
    return out - cross - cross.T


def _weighted_gram(xs: np.ndarray, weights: np.ndarray, buf: np.ndarray | None) -> np.ndarray:
    """X' diag(weights) X."""
    if buf is None:
        buf = np.empty_like(xs)
    np.multiply(xs, weights[:, None], out=buf)
    return buf.T @ xs


def _efron_pass(xs: np.ndarray, beta: np.ndarray, st: _Sorted, *, buf: np.ndarray | None = None) -> _Pass:
    """Log partial likelihood, score and information at ``beta`` (Efron ties)."""
    eta = xs @ beta
    r = np.exp(eta)
    s0g, s1g, d0, d1 = _group_sums(xs, r, st.group, st.event, st.n_groups)
    s0 = np.cumsum(s0g)  # risk-set sums at each group of times
    s1 = np.cumsum(s1g, axis=0)
    den = s0[st.step_group] - st.step_frac * d0[st.step_group]
    inv = 1.0 / den
    h, hf, q0, q1, q2 = _step_sums(st, inv)
    loglik = float(beta @ st.dead_sum(xs) - np.log(den).sum())
    xbar_sum = s1 * h[:, None] - d1 * hf[:, None]  # Σ_k a_k / d_k per group
    u = st.dead_sum(xs) - xbar_sum.sum(axis=0)
    rw = _row_weights(r, st.group, st.event, _reverse_cumsum(h), hf)
    imat = _weighted_gram(xs, rw, buf) - _outer_sum(s1, d1, q0, q1, q2)
    return _Pass(loglik, u, imat, r, s1, d1, inv)


def efron_information(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score vector and information matrix at ``beta`` (Efron ties).

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored), length ``n``.
    x
        Covariates, ``n × p``.
    beta
        Coefficients, length ``p``.

    Returns
    -------
    tuple
        ``(loglik, u, imat)``.
    """
    st = _Sorted(np.asarray(time, dtype=float), np.asarray(event))
    xs = np.ascontiguousarray(np.asarray(x, dtype=float))
    res = _efron_pass(xs, np.asarray(beta, dtype=float), st)
    return res.loglik, res.u, res.imat


def _solve_spd(imat: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    chol = np.linalg.cholesky(imat)
    y = np.linalg.solve(chol, rhs)
    return np.linalg.solve(chol.T, y)


def coxph_efron(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    *,
    max_iter: int = 20,
    eps: float = 1e-9,
    robust: bool = True,
) -> CoxFit:
    """Fit a Cox proportional hazards model with Efron's ties, as R ``coxph`` (see the module).

    Parameters
    ----------
    time
        Follow-up times, length ``n`` (finite).
    event
        1 = event, 0 = censored.
    x
        Covariates, ``n × p`` with ``p ≥ 1``, full column rank among the subjects.
    max_iter
        Newton–Raphson iterations at most (R's ``iter.max``).
    eps
        Relative change of the log likelihood that stops the iteration (R's ``eps``).
    robust
        Also compute the robust variance (R's ``robust = TRUE`` without ``cluster``).

    Returns
    -------
    CoxFit
        Coefficients, model and robust variance, log likelihoods, iterations.

    Raises
    ------
    numpy.linalg.LinAlgError
        When the information matrix is singular (collinear or constant covariates).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    st = _Sorted(time, event)
    n, p = x.shape
    # R's nocenter = c(-1, 0, 1): a column all in {-1, 0, 1} is neither centred nor scaled
    xs = np.empty((n, p))
    _means, scale = _center_scale(np.ascontiguousarray(x), xs)
    buf = np.empty_like(xs)

    beta = np.zeros(p)
    first = _efron_pass(xs, beta, st, buf=buf)
    loglik0 = best = first.loglik
    step = _solve_spd(first.imat, first.u)
    score_test = float(first.u @ step)
    newbeta = beta + step
    halving = 0
    converged = False
    iterations = 0
    current = first
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is the result)
        current = _efron_pass(xs, newbeta, st, buf=buf)
        newlk = current.loglik
        finite = np.isfinite(newlk) and np.isfinite(current.u).all() and np.isfinite(current.imat).all()
        if finite and abs(1 - best / newlk) <= eps:
            beta = newbeta
            converged = True
            break
        if not finite or newlk < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = newlk
            step = _solve_spd(current.imat, current.u)
            beta = newbeta
            newbeta = newbeta + step
    if not converged:
        current = _efron_pass(xs, beta, st, buf=buf)
    coef_s = beta
    var_s = np.linalg.inv(current.imat)
    var_s = (var_s + var_s.T) / 2
    coef = coef_s * scale
    var = var_s * np.outer(scale, scale)
    robust_var = None
    if robust:
        resid = _score_residuals(xs, st, current, out=buf)  # in the scaled coordinates
        # D'D with the dfbeta residuals D = resid · var
        robust_var = (var_s @ (resid.T @ resid) @ var_s) * np.outer(scale, scale)
    return CoxFit(
        coef=coef,
        var=var,
        robust_var=robust_var,
        loglik=(loglik0, current.loglik),
        score_test=score_test,
        iterations=iterations,
        converged=converged,
        n=n,
        n_events=len(st.dead),
    )


def _score_residuals(xs: np.ndarray, st: _Sorted, res: _Pass, *, out: np.ndarray | None = None) -> np.ndarray:
    """Score residuals (R ``residuals.coxph(type = "score")``, Efron ties)."""
    h, hf, q0, q1, q2 = _step_sums(st, res.inv)
    s1, d1 = res.s1, res.d1
    deaths = np.maximum(st.deaths, 1)[:, None]
    mbar = (s1 * h[:, None] - d1 * hf[:, None]) / deaths  # mean of the Efron-step means
    hx = s1 * q0[:, None] - d1 * q1[:, None]  # Σ_k xbar_k / d_k
    hxf = s1 * q1[:, None] - d1 * q2[:, None]  # Σ_k f_k xbar_k / d_k
    if out is None:
        out = np.empty_like(xs)
    return _residual_rows(
        xs, res.r, st.group, st.event, _reverse_cumsum(h), hf, np.ascontiguousarray(_reverse_cumsum(hx)), hxf, mbar, out
    )


def cox_score_residuals(time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Score residuals of a Cox model at ``beta`` (Efron ties), in the input row order.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    x
        Covariates, ``n × p``.
    beta
        Coefficients, length ``p``.

    Returns
    -------
    numpy.ndarray
        ``n × p`` score residuals (R ``residuals(fit, type = "score")``); they sum to the score.
    """
    st = _Sorted(np.asarray(time, dtype=float), np.asarray(event))
    x = np.asarray(x, dtype=float)
    xs = x - x.mean(axis=0)
    res = _efron_pass(xs, np.asarray(beta, dtype=float), st)
    return _score_residuals(xs, st, res)


def zph_score_test(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    gtime: np.ndarray,
    terms: list[list[int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Score tests of proportional hazards (R ``cox.zph``), per term and global.

    The model is augmented with the time-varying covariates ``x · g(t)`` and their score
    test at ``(beta, 0)`` is computed from the ``2p × 2p`` information matrix (R's
    ``zph1``); the score of ``beta`` is taken as 0.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    x
        Covariates, ``n × p``.
    beta
        The fitted coefficients.
    gtime
        The centred time transform ``g`` at each subject's time (used at event times).
    terms
        Column indices of each term (a text covariate's one-hot columns form one term).

    Returns
    -------
    tuple of numpy.ndarray
        Chi-square statistics and degrees of freedom: one per term, then the global test.
    """
    st = _Sorted(np.asarray(time, dtype=float), np.asarray(event))
    x = np.asarray(x, dtype=float)
    xs = x - x.mean(axis=0)
    p = xs.shape[1]
    res = _efron_pass(xs, np.asarray(beta, dtype=float), st)
    gt = np.asarray(gtime, dtype=float)
    g_group = np.zeros(st.n_groups)
    g_group[st.group] = gt
    g_step = g_group[st.step_group]
    dead = st.dead
    h, hf, *_ = _step_sums(st, res.inv, g_step)
    xbar_g = res.s1 * h[:, None] - res.d1 * hf[:, None]  # Σ_k g·a_k / d_k per group
    u_gamma = (xs[dead] * gt[dead, None]).sum(axis=0) - xbar_g.sum(axis=0)
    blocks = []
    for power in (0, 1, 2):
        h, hf, q0, q1, q2 = _step_sums(st, res.inv, g_step**power)
        rw = _row_weights(res.r, st.group, st.event, _reverse_cumsum(h), hf)
        blocks.append(_weighted_gram(xs, rw, None) - _outer_sum(res.s1, res.d1, q0, q1, q2))
    imat = np.block([[blocks[0], blocks[1]], [blocks[1].T, blocks[2]]])
    u = np.concatenate([np.zeros(p), u_gamma])
    chisq = []
    df = []
    for cols in terms:
        kk = np.concatenate([np.arange(p), p + np.asarray(cols, dtype=int)])
        uk = u[kk]
        chisq.append(float(uk @ np.linalg.solve(imat[np.ix_(kk, kk)], uk)))
        df.append(len(cols))
    chisq.append(float(u @ np.linalg.solve(imat, u)))
    df.append(p)
    return np.array(chisq), np.array(df, dtype=np.int64)
