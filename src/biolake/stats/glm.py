"""Generalized linear models by IRLS: logistic, Poisson and negative binomial with an offset, as R.

* :func:`glm_fit` — maximum likelihood by iteratively reweighted least squares (Fisher
  scoring; canonical links, so Newton–Raphson), with prior weights and an offset, for the
  families ``binomial`` (logit link, 0/1 response), ``poisson`` (log link) and
  ``negbin`` (log link, fixed ``theta``: variance ``μ + μ²/θ``), as R ``glm.fit``. R stops
  IRLS when the deviance changes by less than ``epsilon = 1e-8`` relative; here the
  iterations continue until the deviance and the coefficients stop changing in double
  precision, so the result is the maximum likelihood estimate itself (R with
  ``glm.control(epsilon = 1e-14)`` agrees to about 1e-12; R's default stops within about
  1e-9 of it).
* :func:`theta_ml` — the maximum likelihood ``theta`` of a negative binomial for given
  means, the Newton iterations of MASS ``theta.ml`` step for step (same start, same stop
  at ``|Δθ| ≤ eps^0.25``), so the ``theta`` agrees with MASS, not only the optimum.
* :func:`glm_nb` — MASS ``glm.nb``: a Poisson fit, then alternating ``theta_ml`` and IRLS
  at fixed ``theta`` until the log-likelihood and ``theta`` settle; ``se_theta`` is the
  standard error ``theta.ml`` attaches (``1/sqrt(information)`` at its last Newton step),
  as ``glm.nb``'s ``SE.theta``.
* :func:`theta_ml_se` — ``theta_ml`` with that standard error.
* :func:`ols_fit` — least squares of a full-rank design (R ``lm``): coefficients, residuals,
  ``(X'X)⁻¹`` and residual df, for sandwich covariances (:mod:`biolake.stats.hac`).
* :func:`independent_columns` — the columns kept when aliased (collinear) ones are dropped
  left to right, as R's pivoting QR (``dqrdc2``, tolerance 1e-7) drops them (``NA`` in R).

Standard errors are the square roots of the diagonal of the inverse Fisher information
``(XᵀWX)⁻¹`` at the estimate (dispersion 1, as ``summary.glm`` for these families and
``summary.negbin``); ``z = coef/se`` and ``p = 2Φ(−|z|)``.

Examples
--------
>>> import numpy as np
>>> x = np.column_stack([np.ones(6), [0, 0, 1, 1, 2, 2]])
>>> fit = glm_fit(x, np.array([2.0, 3, 6, 7, 8, 9]), family="poisson")
>>> np.round(fit.coef, 6)
array([1.130243, 0.538818])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, special, stats

__all__ = [
    "FAMILIES",
    "GlmFit",
    "OlsFit",
    "glm_fit",
    "glm_nb",
    "independent_columns",
    "nb_loglik",
    "ols_fit",
    "pearson_dispersion",
    "theta_ml",
    "theta_ml_se",
]

FAMILIES = ("binomial", "poisson", "negbin")
_EPS = np.finfo(np.float64).eps


@dataclass
class GlmFit:
    """A fitted GLM.

    Attributes
    ----------
    coef, se, z, p
        Estimates, standard errors, Wald z and two-sided p-values, one per column of ``x``.
    cov
        Inverse Fisher information (the covariance of ``coef``).
    mu
        Fitted means.
    deviance
        Residual deviance.
    iterations
        IRLS iterations (for ``glm_nb``: outer alternations).
    converged
        Whether the stopping rule was met.
    theta
        The negative binomial ``theta`` (``nan`` for other families).
    se_theta
        Its standard error from ``theta.ml`` (``glm_nb`` only; ``nan`` otherwise).
    """

    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    cov: np.ndarray
    mu: np.ndarray
    deviance: float
    iterations: int
    converged: bool
    theta: float = math.nan
    se_theta: float = math.nan


def _family(family: str, theta: float):
    """(variance, mu_eta, linkinv, deviance residuals) of a family with its canonical-ish link."""
    if family == "binomial":

        def linkinv(eta):  # R's logit_linkinv: eta clamped to ±30
            tmp = np.where(eta < -30, _EPS, np.where(eta > 30, 1 / _EPS, np.exp(np.clip(eta, -30, 30))))
            return tmp / (1 + tmp)

        def mu_eta(eta):
            e = np.exp(-np.abs(eta))
            return np.where(np.abs(eta) > 30, _EPS, e / (1 + e) ** 2)

        def variance(mu):
            return mu * (1 - mu)

        def dev(y, mu, w):
            with np.errstate(divide="ignore", invalid="ignore"):
                t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
                t2 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
            return float(np.sum(2 * w * (t1 + t2)))

        return variance, mu_eta, linkinv, dev

    def linkinv(eta):
        return np.maximum(np.exp(eta), _EPS)

    def mu_eta(eta):
        return np.maximum(np.exp(eta), _EPS)

    if family == "poisson":

        def variance(mu):
            return mu

        def dev(y, mu, w):
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
            return float(np.sum(2 * w * r))

        return variance, mu_eta, linkinv, dev

    def variance(mu):
        return mu + mu**2 / theta

    def dev(y, mu, w):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(y > 0, y * np.log(y / mu), 0.0) - (y + theta) * np.log((y + theta) / (mu + theta))
        return float(np.sum(2 * w * r))

    return variance, mu_eta, linkinv, dev


def glm_fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    family: str = "binomial",
    offset: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    theta: float = math.nan,
    eta_start: np.ndarray | None = None,
    max_iter: int = 100,
) -> GlmFit:
    """Fit a GLM by IRLS to full precision (see the module docstring).

    Parameters
    ----------
    x
        Design matrix (n × p), with the intercept column if wanted; full column rank.
    y
        Response: 0/1 for ``binomial``, non-negative counts otherwise.
    family
        One of :data:`FAMILIES`.
    offset
        Added to the linear predictor (e.g. ``log(person_time)``).
    weights
        Prior weights (default 1).
    theta
        The ``negbin`` shape (required for that family).
    eta_start
        Starting linear predictor (offset included), as R's ``etastart``.
    max_iter
        Iteration limit.
    """
    if family not in FAMILIES:
        raise ValueError(f"The 'family' parameter of glm_fit must be one of {', '.join(FAMILIES)}; got {family!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = x.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    variance, mu_eta, linkinv, devfun = _family(family, theta)
    if eta_start is not None:
        eta = np.asarray(eta_start, dtype=np.float64).copy()
    elif family == "binomial":
        eta = special.logit((w * y + 0.5) / (w + 1))
    elif family == "poisson":
        eta = np.log(y + 0.1)
    else:
        eta = np.log(y + (y == 0) / 6.0)
    mu = linkinv(eta)
    dev_old = devfun(y, mu, w)
    coef = np.zeros(p)
    converged = False
    it = 0
    small = 0
    for it in range(1, max_iter + 1):
        g = mu_eta(eta)
        var = variance(mu)
        info = x.T @ (x * (w * g**2 / var)[:, None])  # Fisher information XᵀWX (p × p)
        factor = linalg.cho_factor(info)
        if it == 1:  # R's first step: weighted least squares of the working response from eta_start
            new = linalg.cho_solve(factor, x.T @ (w * g**2 / var * (eta - off + (y - mu) / g)))
        else:  # the same Fisher-scoring step written as a correction, so the rounding of the solve
            # (cond(XᵀWX) = cond(X)²) only slows convergence and never limits the accuracy of the
            # optimum, which is where the score Xᵀ(w (y − μ) μ'/V) vanishes
            new = coef + linalg.cho_solve(factor, x.T @ (w * (y - mu) * g / var))
        eta = x @ new + off
        mu = linkinv(eta)
        dev = devfun(y, mu, w)
        change = np.max(np.abs(new - coef) / (np.abs(new) + 1e-3)) if it > 1 else math.inf
        coef = new
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-15 or change < 1e-14:
            small += 1
            if small >= 2:  # two quiet steps in a row: the Newton iterations have settled
                converged = True
                break
        else:
            small = 0
        dev_old = dev
    g = mu_eta(eta)
    info = x.T @ (x * (w * g**2 / variance(mu))[:, None])
    cov = linalg.cho_solve(linalg.cho_factor(info), np.eye(p))
    se = np.sqrt(np.diag(cov))
    zstat = coef / se
    pval = 2 * stats.norm.sf(np.abs(zstat))
    return GlmFit(coef, se, zstat, pval, cov, mu, dev, it, converged, theta)


def theta_ml(
    y: np.ndarray, mu: np.ndarray, *, weights: np.ndarray | None = None, limit: int = 10, eps: float = _EPS**0.25
) -> float:
    """ML estimate of the negative binomial ``theta`` for fixed means, as MASS ``theta.ml``.

    Starts at ``n / Σ w (y/μ − 1)²`` and takes Newton steps while ``|Δθ| > eps`` (at most
    ``limit − 1`` steps), exactly as MASS, so the result equals MASS's to rounding.
    """
    return theta_ml_se(y, mu, weights=weights, limit=limit, eps=eps)[0]


def theta_ml_se(
    y: np.ndarray, mu: np.ndarray, *, weights: np.ndarray | None = None, limit: int = 10, eps: float = _EPS**0.25
) -> tuple[float, float]:
    """:func:`theta_ml` and its standard error, MASS ``theta.ml``'s ``attr(, "SE")``.

    The SE is ``1/sqrt(information)`` at the start of MASS's last Newton step (``nan``
    when no step was taken or the information is not positive).
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    n = float(np.sum(w))
    uy, inverse = np.unique(y, return_inverse=True)  # digamma/trigamma only at the distinct counts
    t0 = n / float(np.sum(w * (y / mu - 1) ** 2))
    it = 0
    delta = 1.0
    info = math.nan
    while True:
        it += 1
        if not (it < limit and abs(delta) > eps):
            break
        t0 = abs(t0)
        dg = special.digamma(t0 + uy)[inverse]
        tg = special.polygamma(1, t0 + uy)[inverse]
        score = np.sum(w * (dg - special.digamma(t0) + math.log(t0) + 1 - np.log(t0 + mu) - (y + t0) / (mu + t0)))
        info = np.sum(w * (-tg + special.polygamma(1, t0) - 1 / t0 + 2 / (mu + t0) - (y + t0) / (mu + t0) ** 2))
        delta = float(score / info)
        t0 = t0 + delta
    se = 1.0 / math.sqrt(info) if info > 0 else math.nan
    return max(t0, 0.0), se


def nb_loglik(theta: float, mu: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Negative binomial log-likelihood as MASS ``glm.nb``'s ``loglik``."""
    return float(
        np.sum(
            w
            * (
                special.gammaln(theta + y)
                - special.gammaln(theta)
                - special.gammaln(y + 1)
                + theta * math.log(theta)
                + y * np.log(mu + (y == 0))
                - (theta + y) * np.log(theta + mu)
            )
        )
    )


def glm_nb(
    x: np.ndarray,
    y: np.ndarray,
    *,
    offset: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    epsilon: float = 1e-14,
    max_iter: int = 25,
) -> GlmFit:
    """Negative binomial regression with log link and unknown ``theta``, as MASS ``glm.nb``.

    The alternation of MASS (Poisson start; ``theta_ml`` at the current means; IRLS at the
    previous ``theta``) runs until ``|ΔL|/d₁ + |Δθ|/d₂ ≤ epsilon`` (MASS's rule with
    ``glm.control(epsilon)``; default here 1e-14 rather than MASS's 1e-8, so that the fixed
    point is reached) or ``max_iter`` alternations (R's default ``maxit = 25``); ``theta_ml``
    keeps MASS's own tolerance (``limit = max_iter``). Without overdispersion ``theta`` grows
    without bound and the fit is reported as not converged (MASS warns).
    The coefficients and standard errors are those of the last IRLS fit, as MASS reports.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    fit = glm_fit(x, y, family="poisson", offset=offset, weights=w)
    mu = fit.mu
    th = theta_ml(y, mu, weights=w, limit=max_iter)
    d1 = math.sqrt(2 * max(1, n - x.shape[1]))
    d2 = delta = 1.0
    lm = nb_loglik(th, mu, y, w)
    lm0 = lm + 2 * d1
    it = 0
    while True:
        it += 1
        if not (it <= max_iter and abs(lm0 - lm) / d1 + abs(delta) / d2 > epsilon):
            break
        fit = glm_fit(x, y, family="negbin", offset=offset, weights=w, theta=th, eta_start=np.log(mu))
        t0 = th
        th, se_th = theta_ml_se(y, mu, weights=w, limit=max_iter)
        mu = fit.mu
        delta = t0 - th
        lm0 = lm
        lm = nb_loglik(th, mu, y, w)
    fit.theta = th
    fit.se_theta = se_th
    fit.iterations = it
    fit.converged = it <= max_iter and fit.converged
    return fit


def pearson_dispersion(y: np.ndarray, mu: np.ndarray, n_coef: int) -> float:
    """Pearson's χ²/(n − k) of a Poisson fit: quasi-Poisson's dispersion (``summary.glm``)."""
    y = np.asarray(y, dtype=np.float64)
    df = len(y) - n_coef
    return float(np.sum((y - mu) ** 2 / mu)) / df if df > 0 else math.nan


_ALIAS_TOL = 1e-7


def independent_columns(x: np.ndarray, *, tol: float = _ALIAS_TOL) -> np.ndarray:
    """Indices of the columns kept when aliased ones are dropped left to right (as R's ``lm``)."""
    x = np.asarray(x, dtype=np.float64)
    keep: list[int] = []
    q = np.zeros((x.shape[0], 0))
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = np.linalg.norm(col)
        if norm == 0:
            continue
        r = col - q @ (q.T @ col)
        r = r - q @ (q.T @ r)  # re-orthogonalise
        rn = np.linalg.norm(r)
        if rn > tol * norm:
            keep.append(j)
            q = np.column_stack([q, r / rn])
    return np.asarray(keep, dtype=np.int64)


@dataclass
class OlsFit:
    """An OLS fit: coefficients, residuals, fitted values, ``(X'X)⁻¹``, residual variance and df."""

    coef: np.ndarray
    resid: np.ndarray
    fitted: np.ndarray
    bread: np.ndarray
    sigma2: float
    df_resid: int


def ols_fit(x: np.ndarray, y: np.ndarray) -> OlsFit:
    """Least squares of ``y`` on a full-rank ``x`` by QR (as R's ``lm``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    qm, r = np.linalg.qr(x)
    coef = np.linalg.solve(r, qm.T @ y)
    fitted = x @ coef
    resid = y - fitted
    n, k = x.shape
    rinv = np.linalg.solve(r, np.eye(k))
    df = n - k
    sigma2 = float(resid @ resid / df) if df > 0 else math.nan
    return OlsFit(coef=coef, resid=resid, fitted=fitted, bread=rinv @ rinv.T, sigma2=sigma2, df_resid=df)
