"""Logistic regression of a case/control trait on many genotype columns, as ``plink2 --glm`` (logistic).

For every variant the model ``logit P(case) = X·γ + g·β`` is fitted on the samples with
a call, by iteratively reweighted least squares (Newton–Raphson from ``0``), or by
Firth's penalized likelihood (Firth 1993; the ``logistf`` algorithm of Heinze &
Schemper 2002: modified score ``Xᵀ(y − π + h(½ − π))``, steps capped at 5 and halved
up to 5 times while the penalized log-likelihood decreases). Standard errors come from
the inverse Fisher information at the estimate; ``stat`` is the Wald z and ``p`` its
two-sided normal p-value.

plink2's rules (plink2 2.00a3.5, ``plink2_glm_logistic.cc``), computed here in double
rather than plink2's single precision:

* a genotype column whose cases (or controls) carry no ALT allele cannot be fitted
  (``SEPARATION,ALT1``); with ``firth="fallback"`` such variants, and those whose
  IRLS fails, are fitted by Firth instead;
* IRLS fails (``LOGISTIC_CONVERGE_FAIL``) when after the 4th iteration the step
  (``Σ|Δ|``) exceeds 20 and twice the smallest step so far, or stays within 1e-3 of 1
  after the 7th, or a coefficient exceeds 8e3 after 14 iterations (else the fit is
  ``UNFINISHED`` and still reported); in double precision the step of a (quasi-)separated
  fit does not reach plink2's float32 thresholds, so a step still above 1e-3 after 14
  iterations is a failure too (plink2's float32 fit fails there); plink2 stops at ``Σ|Δ| < 1e-4`` — here the
  Newton steps continue (at most 5 more) to ``Σ|Δ| < 1e-10`` so the estimates are exact
  in double precision; a converged fit with ``|coef| > 6e4`` fails too;
* Firth stops when ``max|Δ| ≤ xconv``, ``max|U*| < gconv`` and the penalized
  log-likelihood changes by at most ``lconv`` (plink2: 1e-4 each in single precision,
  25 iterations; here 1e-9, 1e-7, 1e-10 and 200 iterations), or, once plink2's 1e-4
  criteria hold, when the steps stop shrinking and leave the penalized log-likelihood unchanged
  (the floating-point floor, reached by very rare alleles whose large variance amplifies gradient
  rounding);
  ``UNFINISHED`` only when plink2's criteria never held;
* ``INVALID_RESULT`` when a variance is below 1e-20 or not finite, or two estimates
  correlate above 0.99999.

Examples
--------
>>> import numpy as np
>>> g = np.array([[0, 1, 2, 1, 0, 2, 1, 0, 1, 2]], dtype=np.int8)
>>> y = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=float)
>>> res = logistic_gwas(g, y)
>>> round(float(res["beta"][0]), 4), round(float(res["se"][0]), 4)
(1.7163, 1.1555)
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import special

from biolake.stats.linreg import (
    ERR_FIRTH,
    ERR_INVALID,
    ERR_LOGISTIC,
    ERR_SEPARATION,
    ERR_UNFINISHED,
    LinregPrep,
    design_stats,
    linreg_prepare,
)
from biolake.stats.logistic_batch import logistic_batch, null_coef

__all__ = ["FIRTH_MODES", "logistic_block", "logistic_gwas"]

FIRTH_MODES = ("no", "fallback", "always")


@numba.njit(cache=True, nogil=True)
def _chol_inverse(h: np.ndarray, out: np.ndarray) -> tuple[bool, float]:  # pragma: no cover - compiled
    """Inverse of a symmetric positive definite ``h`` into ``out``; (ok, log det h)."""
    p = h.shape[0]
    ll = np.zeros((p, p))
    logdet = 0.0
    for i in range(p):
        for j in range(i + 1):
            s = h[i, j]
            for k in range(j):
                s -= ll[i, k] * ll[j, k]
            if i == j:
                if not s > 0.0:
                    return False, 0.0
                ll[i, i] = math.sqrt(s)
                logdet += 2.0 * math.log(ll[i, i])
            else:
                ll[i, j] = s / ll[j, j]
    linv = np.zeros((p, p))
    for i in range(p):
        linv[i, i] = 1.0 / ll[i, i]
        for j in range(i):
            s = 0.0
            for k in range(j, i):
                s -= ll[i, k] * linv[k, j]
            linv[i, j] = s / ll[i, i]
    for i in range(p):
        for j in range(i + 1):
            s = 0.0
            for k in range(i, p):
                s += linv[k, i] * linv[k, j]
            out[i, j] = s
            out[j, i] = s
    return True, logdet


_FAST = {"reassoc", "contract", "arcp", "nsz"}  # reordered sums (SIMD), NaN/inf semantics kept


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _fit_stats(
    xt: np.ndarray, y: np.ndarray, coef: np.ndarray, pp: np.ndarray, vv: np.ndarray, want_ll: bool
) -> float:  # pragma: no cover - compiled
    """π, π(1−π) at ``coef`` (``xt``: predictors × samples); returns the log-likelihood (0 unless ``want_ll``)."""
    p, n = xt.shape
    eta = np.zeros(n)
    for j in range(p):
        cj = coef[j]
        for i in range(n):
            eta[i] += xt[j, i] * cj
    ll = 0.0
    if not want_ll:
        for i in range(n):
            pi = 1.0 / (1.0 + math.exp(-eta[i]))
            pp[i] = pi
            vv[i] = pi * (1.0 - pi)
        return ll
    for i in range(n):
        e = eta[i]
        if e >= 0:
            t = math.exp(-e)
            pi = 1.0 / (1.0 + t)
            log_p = -math.log1p(t)
            log_q = -e + log_p
        else:
            t = math.exp(e)
            pi = t / (1.0 + t)
            log_q = -math.log1p(t)
            log_p = e + log_q
        pp[i] = pi
        vv[i] = pi * (1.0 - pi)
        ll += y[i] * log_p + (1.0 - y[i]) * log_q
    return ll


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _hessian(xt: np.ndarray, vv: np.ndarray, h: np.ndarray) -> None:  # pragma: no cover - compiled
    p, n = xt.shape
    for a in range(p):
        for b in range(a + 1):
            s = 0.0
            for i in range(n):
                s += xt[a, i] * xt[b, i] * vv[i]
            h[a, b] = s
            h[b, a] = s


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _xt_dot(xt: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = xt · w``."""
    p, n = xt.shape
    for a in range(p):
        s = 0.0
        for i in range(n):
            s += xt[a, i] * w[i]
        out[a] = s


@numba.njit(cache=True, nogil=True)
def _irls(x: np.ndarray, y: np.ndarray, coef: np.ndarray, hinv: np.ndarray) -> int:  # pragma: no cover - compiled
    """Newton–Raphson with plink2's failure rules (``x``: predictors × samples); 0 converged, 1 failed, 2 unfinished."""
    p, n = x.shape
    pp = np.empty(n)
    vv = np.empty(n)
    h = np.empty((p, p))
    grad = np.empty(p)
    resid = np.empty(n)
    min_delta = 1e9
    plink_converged = False
    extra = 0
    for it in range(40):
        _fit_stats(x, y, coef, pp, vv, False)
        _hessian(x, vv, h)
        for i in range(n):
            resid[i] = pp[i] - y[i]
        _xt_dot(x, resid, grad)
        ok, _ = _chol_inverse(h, hinv)
        if not ok:
            return 1
        delta = 0.0
        for j in range(p):
            d = 0.0
            for k in range(p):
                d += hinv[j, k] * grad[k]
            coef[j] -= d
            delta += abs(d)
        if not np.isfinite(delta):
            return 1
        min_delta = min(min_delta, delta)
        if not plink_converged:
            if it > 3:
                if (delta > 20.0 and delta > 2 * min_delta) or (it > 6 and abs(1.0 - delta) < 1e-3):
                    return 1
                if it > 13:
                    if delta > 1e-3:  # still stepping after 14 Newton steps: (quasi-)separation
                        return 1
                    for j in range(p):
                        if abs(coef[j]) > 8e3:
                            return 1
                    _fit_stats(x, y, coef, pp, vv, False)
                    _hessian(x, vv, h)
                    ok, _ = _chol_inverse(h, hinv)
                    return 2 if ok else 1
            if delta < 1e-4:
                plink_converged = True
        else:
            extra += 1
        if plink_converged and (delta < 1e-10 or extra >= 5):
            break
    for j in range(p):
        if abs(coef[j]) > 6e4:
            return 1
    _fit_stats(x, y, coef, pp, vv, False)
    _hessian(x, vv, h)
    ok, _ = _chol_inverse(h, hinv)
    return 0 if ok else 1


@numba.njit(cache=True, nogil=True)
def _firth(x: np.ndarray, y: np.ndarray, coef: np.ndarray, hinv: np.ndarray) -> int:  # pragma: no cover - compiled
    """Firth-penalized logistic regression (logistf; ``x``: predictors × samples); 0 ok, 1 failed, 2 unfinished."""
    p, n = x.shape
    pp = np.empty(n)
    vv = np.empty(n)
    h = np.empty((p, p))
    grad = np.empty(p)
    dcoef = np.empty(p)
    tmp = np.empty((p, n))
    wts = np.empty(n)
    xconv, gconv, lconv = 1e-9, 1e-7, 1e-10
    loose = False
    dmax_old = np.inf
    loglik = _fit_stats(x, y, coef, pp, vv, True)
    _hessian(x, vv, h)
    ok, logdet = _chol_inverse(h, hinv)
    if not ok:
        return 1
    loglik += 0.5 * logdet
    for _it in range(200):
        for a in range(p):
            for i in range(n):
                tmp[a, i] = 0.0
            for b in range(p):
                hab = hinv[a, b]
                for i in range(n):
                    tmp[a, i] += hab * x[b, i]
        lev = np.zeros(n)
        for a in range(p):
            for i in range(n):
                lev[i] += x[a, i] * tmp[a, i]
        for i in range(n):
            wts[i] = y[i] - pp[i] + lev[i] * vv[i] * (0.5 - pp[i])
        _xt_dot(x, wts, grad)
        grad_max = 0.0
        for a in range(p):
            grad_max = max(grad_max, abs(grad[a]))
        dmax = 0.0
        for a in range(p):
            s = 0.0
            for b in range(p):
                s += hinv[a, b] * grad[b]
            dcoef[a] = s
            dmax = max(dmax, abs(s))
        if dmax > 5.0:
            for a in range(p):
                dcoef[a] *= 5.0 / dmax
            dmax = 5.0
        for a in range(p):
            coef[a] += dcoef[a]
        dg_converged = dmax <= xconv and grad_max < gconv
        loglik_old = loglik
        mult = 1.0
        for hs in range(6):
            loglik = _fit_stats(x, y, coef, pp, vv, True)
            _hessian(x, vv, h)
            ok, logdet = _chol_inverse(h, hinv)
            if not ok:
                return 1
            loglik += 0.5 * logdet
            if loglik >= loglik_old - (lconv if dg_converged else 0.0) or hs == 5:
                break
            mult *= 0.5
            for a in range(p):
                coef[a] -= dcoef[a] * mult
        if abs(loglik - loglik_old) <= lconv and dg_converged:
            return 0
        if dmax <= 1e-4 and grad_max < 1e-4 and abs(loglik - loglik_old) <= 1e-4:
            loose = True  # plink2's (and logistf's) criteria hold
            if loglik == loglik_old and dmax >= dmax_old:
                # the floating-point floor: steps stopped shrinking and no longer change the fit (a rare
                # allele's large variance turns gradient rounding into steps above xconv)
                return 0
        dmax_old = dmax
    return 0 if loose else 2


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _alt_sums(dosage: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per variant, ALT alleles among the called cases (``Σ g·y``) and among all called samples (exact sums)."""
    m, n = dosage.shape
    case_g = np.zeros(m)
    tot_g = np.zeros(m)
    for v in range(m):
        sc = 0.0
        st = 0.0
        for i in range(n):
            g = max(dosage[v, i], 0)
            st += g
            sc += g * y[i]
        case_g[v] = sc
        tot_g[v] = st
    return case_g, tot_g


@numba.njit(cache=True, nogil=True)
def _logistic_rows(
    dosage: np.ndarray, x: np.ndarray, y: np.ndarray, skip: np.ndarray, mode: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """β, se and error code of every variant not in ``skip`` (mode 0 no Firth, 1 fallback, 2 always)."""
    m, n = dosage.shape
    p = x.shape[1] + 1
    beta = np.full(m, np.nan)
    se = np.full(m, np.nan)
    err = np.zeros(m, dtype=np.int8)
    for v in range(m):
        if skip[v]:
            continue
        ns = 0
        case_g = 0.0
        tot_g = 0.0
        for i in range(n):
            if dosage[v, i] >= 0:
                ns += 1
                tot_g += dosage[v, i]
                case_g += dosage[v, i] * y[i]
        xs = np.empty((p, ns))
        ys = np.empty(ns)
        k = 0
        for i in range(n):
            if dosage[v, i] >= 0:
                for j in range(p - 1):
                    xs[j, k] = x[i, j]
                xs[p - 1, k] = dosage[v, i]
                ys[k] = y[i]
                k += 1
        coef = np.zeros(p)
        hinv = np.empty((p, p))
        status = 1
        use_firth = mode == 2
        if not use_firth:
            if case_g == 0.0 or case_g == tot_g:
                if mode == 0:
                    err[v] = ERR_SEPARATION
                    continue
                use_firth = True
            else:
                status = _irls(xs, ys, coef, hinv)
                if status == 1:
                    if mode == 0:
                        err[v] = ERR_LOGISTIC
                        continue
                    use_firth = True
                    coef[:] = 0.0
        if use_firth:
            status = _firth(xs, ys, coef, hinv)
            if status == 1:
                err[v] = ERR_FIRTH
                continue
        invalid = False
        for a in range(p):
            d = hinv[a, a]
            if not (d >= 1e-20 and np.isfinite(d)):
                invalid = True
        if not invalid:
            for a in range(1, p):
                for b in range(a):
                    if hinv[a, b] > 0.99999 * math.sqrt(hinv[a, a] * hinv[b, b]):
                        invalid = True
        if invalid:
            err[v] = ERR_INVALID
            continue
        beta[v] = coef[p - 1]
        se[v] = math.sqrt(hinv[p - 1, p - 1])
        if status == 2:
            err[v] = ERR_UNFINISHED
    return beta, se, err


def logistic_block(
    dosage: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    *,
    firth: str = "fallback",
    prep: LinregPrep | None = None,
    check_collinearity: bool = True,
    batched: bool = True,
) -> dict[str, np.ndarray]:
    """Statistics of every variant (row) of ``dosage`` for the 0/1 trait ``y`` and design ``x`` (``[1 | covariates]``).

    ``prep`` (:func:`biolake.stats.linreg.linreg_prepare` of ``y`` and the covariates)
    is computed when not given. With ``batched`` (the default) the variants that need
    neither Firth nor plink2's failure rules are fitted together by
    :func:`biolake.stats.logistic_batch.logistic_batch` (the same estimates to about
    1e-10); ``batched=False`` fits every variant by the per-variant code. Returns
    ``a1_freq``, ``obs_ct``, ``beta``, ``se``, ``stat`` (z), ``p`` and ``errcode`` (indices into
    :data:`biolake.stats.linreg.ERRCODES`; ``UNFINISHED`` rows keep their statistics, as
    plink2 prints them).
    """
    dosage = np.ascontiguousarray(dosage, dtype=np.int8)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if prep is None:
        prep = linreg_prepare(y, covariates=x[:, 1:])
    d = design_stats(dosage, prep, check_collinearity=check_collinearity)
    err = d["errcode"]
    mode = FIRTH_MODES.index(firth)
    skip = err != 0
    fitted = np.zeros(len(err), dtype=bool)
    batch: dict[str, np.ndarray] = {}
    if batched and mode != 2:
        # the well-behaved variants as matrix products (logistic_batch); the rest one by one below
        case_g, tot_g = _alt_sums(dosage, y)
        idx = np.flatnonzero(~skip & (case_g > 0) & (case_g < tot_g))
        if idx.size:
            batch = logistic_batch(dosage[idx], y, x, null_coef(y, x))
            batch["idx"] = idx[batch["ok"]]
            fitted[batch["idx"]] = True
    beta, se, err2 = _logistic_rows(dosage, x, y, skip | fitted, mode)
    if batch:
        beta[batch["idx"]] = batch["beta"][batch["ok"]]
        se[batch["idx"]] = batch["se"][batch["ok"]]
    err = np.where(err != 0, err, err2).astype(np.int8)
    obs = d["obs"]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = beta / se
        a1_freq = d["gsum"] / (2.0 * obs)
    pval = special.erfc(np.abs(z) / np.sqrt(2.0))
    return {
        "a1_freq": a1_freq,
        "obs_ct": obs.astype(np.int64),
        "beta": beta,
        "se": se,
        "stat": z,
        "p": pval,
        "errcode": err,
    }


def logistic_gwas(
    dosage: np.ndarray, y: np.ndarray, *, covariates: np.ndarray | None = None, firth: str = "fallback"
) -> dict[str, np.ndarray]:
    """Logistic regression of the 0/1 trait ``y`` on each genotype row of ``dosage`` and the covariates.

    Parameters
    ----------
    dosage : numpy.ndarray
        ALT allele counts, variants × samples (int8; −1 = missing call).
    y : numpy.ndarray
        1 = case, 0 = control, one per sample.
    covariates : numpy.ndarray, optional
        Samples × covariates (no missing values); an intercept is always added.
    firth : {"no", "fallback", "always"}
        When to use Firth's penalized likelihood (as plink2's ``no-firth``,
        ``firth-fallback``, ``firth``).

    Returns
    -------
    dict
        ``a1_freq``, ``obs_ct``, ``beta``, ``se``, ``stat``, ``p``, ``errcode`` per variant.

    Examples
    --------
    >>> g = np.array([[0, 0, 0, 0, 1, 0, 1, 0]], dtype=np.int8)   # ALT only in cases
    >>> y = np.array([0, 0, 0, 1, 1, 0, 1, 1.0])
    >>> res = logistic_gwas(g, y, firth="no")
    >>> int(res["errcode"][0]), bool(np.isnan(res["beta"][0]))
    (6, True)
    >>> round(float(logistic_gwas(g, y)["beta"][0]), 4)                # Firth fallback
    2.1972
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    cov = np.zeros((n, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64).reshape(n, -1)
    x = np.column_stack([np.ones(n), cov])
    return logistic_block(np.asarray(dosage, dtype=np.int8), y, x, firth=firth)
