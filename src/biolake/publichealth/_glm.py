"""Small-model fitting for the intervention analyses: OLS and Poisson / negative-binomial GLMs.

These fit one model at a time (an interrupted time series, a panel), as R's ``lm``,
``glm(family = poisson | quasipoisson)`` and ``MASS::glm.nb`` do, to full convergence:

* :func:`independent_columns` drops aliased (collinear) columns in order, as R's pivoting
  QR (``dqrdc2``, tolerance 1e-7) does, so the coefficients R reports as ``NA`` are the
  ones left out here;
* :func:`fit_ols` — coefficients, residuals, ``(X'X)⁻¹``, residual df;
* :func:`fit_poisson` — IRLS with log link and an optional offset (R starts from
  ``mu = y + 0.1``); the quasi-Poisson dispersion is Pearson's χ²/(n − k);
* :func:`fit_negbin` — ``glm.nb``: alternate the IRLS fit at fixed θ and θ's maximum
  likelihood (Newton on the score, R's ``theta.ml``) until both settle; the covariance is
  R's: the inverse Fisher information of β at the final θ (θ treated as known), and θ's
  standard error is ``1/sqrt(information)`` as ``theta.ml`` gives it.

(The Poisson/NB kernels of :mod:`biolake.stats.glm`, written in parallel, cover the
vectorised many-series case; this module is the one-model version the ITS needs.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = ["GlmFit", "OlsFit", "fit_negbin", "fit_ols", "fit_poisson", "independent_columns"]

_ALIAS_TOL = 1e-7
_THETA_MAX = 1e8


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


def _inv_xtwx(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    r = np.linalg.qr(x * np.sqrt(w)[:, None], mode="r")
    rinv = np.linalg.solve(r, np.eye(r.shape[0]))
    return rinv @ rinv.T


@dataclass
class OlsFit:
    """An OLS fit: coefficients, residuals, fitted values, ``(X'X)⁻¹``, residual variance and df."""

    coef: np.ndarray
    resid: np.ndarray
    fitted: np.ndarray
    bread: np.ndarray
    sigma2: float
    df_resid: int


def fit_ols(x: np.ndarray, y: np.ndarray) -> OlsFit:
    """Least squares of ``y`` on a full-rank ``x`` (as R's ``lm``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    qm, r = np.linalg.qr(x)
    coef = np.linalg.solve(r, qm.T @ y)
    fitted = x @ coef
    resid = y - fitted
    n, k = x.shape
    rinv = np.linalg.solve(r, np.eye(k))
    df = n - k
    sigma2 = float(resid @ resid / df) if df > 0 else float("nan")
    return OlsFit(coef=coef, resid=resid, fitted=fitted, bread=rinv @ rinv.T, sigma2=sigma2, df_resid=df)


@dataclass
class GlmFit:
    """A log-link count GLM: coefficients, unscaled covariance, means, deviance, dispersion, θ."""

    coef: np.ndarray
    cov_unscaled: np.ndarray
    mu: np.ndarray
    deviance: float
    pearson: float
    df_resid: int
    iterations: int
    theta: float = float("inf")
    se_theta: float = float("nan")
    loglik: float = float("nan")

    @property
    def dispersion(self) -> float:
        """Pearson χ²/(n − k): quasi-Poisson's dispersion."""
        return self.pearson / self.df_resid if self.df_resid > 0 else float("nan")


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    return float(2.0 * np.sum(special.xlogy(y, y / mu) - (y - mu)))


def _nb_deviance(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    return float(2.0 * np.sum(special.xlogy(y, y / mu) - (y + theta) * np.log((y + theta) / (mu + theta))))


def _irls(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    theta: float,
    eta0: np.ndarray,
    *,
    tol: float,
    maxit: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """IRLS for the log link; variance mu (+ mu²/θ). Returns coef, eta, iterations."""
    with np.errstate(all="ignore"):
        return _irls_loop(x, y, offset, theta, eta0, tol=tol, maxit=maxit)


def _irls_loop(
    x: np.ndarray, y: np.ndarray, offset: np.ndarray, theta: float, eta0: np.ndarray, *, tol: float, maxit: int
) -> tuple[np.ndarray, np.ndarray, int]:
    eta = eta0
    dev_old = np.inf
    coef = np.zeros(x.shape[1])
    for it in range(1, maxit + 1):
        mu = np.exp(eta)
        w = mu if np.isinf(theta) else mu / (1.0 + mu / theta)
        z = eta - offset + (y - mu) / mu
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)
        eta = x @ coef + offset
        mu = np.exp(eta)
        dev = _poisson_deviance(y, mu) if np.isinf(theta) else _nb_deviance(y, mu, theta)
        if not np.isfinite(dev) or not np.all(np.isfinite(coef)):
            raise FloatingPointError("IRLS diverged (fitted means overflow or vanish)")
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            return coef, eta, it
        dev_old = dev
    raise FloatingPointError(f"IRLS did not converge in {maxit} iterations")


def fit_poisson(
    x: np.ndarray, y: np.ndarray, *, offset: np.ndarray | None = None, tol: float = 1e-12, maxit: int = 100
) -> GlmFit:
    """Poisson log-link GLM by IRLS (R ``glm(family = poisson)``, ``epsilon = tol``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=np.float64)
    coef, eta, it = _irls(x, y, off, np.inf, np.log(y + 0.1), tol=tol, maxit=maxit)
    mu = np.exp(eta)
    n, k = x.shape
    return GlmFit(
        coef=coef,
        cov_unscaled=_inv_xtwx(x, mu),
        mu=mu,
        deviance=_poisson_deviance(y, mu),
        pearson=float(np.sum((y - mu) ** 2 / mu)),
        df_resid=n - k,
        iterations=it,
        loglik=float(np.sum(y * np.log(mu) - mu - special.gammaln(y + 1))),
    )


def _theta_ml(y: np.ndarray, mu: np.ndarray, theta0: float, *, tol: float, maxit: int = 50) -> tuple[float, float]:
    """θ's maximum likelihood given the means (R ``MASS::theta.ml``); returns θ and its SE."""

    def score(t: float) -> float:
        return float(
            np.sum(special.digamma(t + y) - special.digamma(t) + np.log(t) + 1 - np.log(t + mu) - (y + t) / (mu + t))
        )

    def info(t: float) -> float:
        return float(
            np.sum(
                -special.polygamma(1, t + y) + special.polygamma(1, t) - 1 / t + 2 / (mu + t) - (y + t) / (mu + t) ** 2
            )
        )

    t = theta0 if np.isfinite(theta0) and theta0 > 0 else 1.0
    converged = False
    with np.errstate(all="ignore"):
        for _ in range(maxit):
            i_t = info(t)
            t_new = t + score(t) / i_t if i_t > 0 else np.nan
            if not np.isfinite(t_new) or t_new <= 0 or t_new > _THETA_MAX:
                break
            converged = abs(t_new - t) < tol * max(1.0, t)
            t = t_new
            if converged:
                break
        if not converged:
            # Newton failed (near-Poisson data: θ → ∞, or a poor start): maximise over log θ instead
            res = optimize.minimize_scalar(
                lambda lt: -_nb_loglik(y, mu, float(np.exp(lt))),
                bounds=(np.log(1e-8), np.log(_THETA_MAX)),
                method="bounded",
                options={"xatol": 1e-12},
            )
            t = float(np.exp(res.x))
        i_t = info(t)
    return t, (1.0 / np.sqrt(i_t) if i_t > 0 else float("nan"))


def _nb_loglik(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    return float(
        np.sum(
            special.gammaln(theta + y)
            - special.gammaln(theta)
            - special.gammaln(y + 1)
            + theta * np.log(theta)
            + special.xlogy(y, mu)
            - (theta + y) * np.log(theta + mu)
        )
    )


def fit_negbin(
    x: np.ndarray, y: np.ndarray, *, offset: np.ndarray | None = None, tol: float = 1e-12, maxit: int = 100
) -> GlmFit:
    """Negative-binomial log-link GLM with θ by maximum likelihood (R ``MASS::glm.nb``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=np.float64)
    pois = fit_poisson(x, y, offset=off, tol=tol, maxit=maxit)
    mu = pois.mu
    # R's glm.nb starts θ at the moment estimate from the Poisson fit, then theta.ml
    theta0 = len(y) / float(np.sum((y / mu - 1.0) ** 2))
    theta, _ = _theta_ml(y, mu, theta0, tol=1e-10)
    eta = np.log(mu)
    total = 0
    ll_old = np.inf
    for _ in range(maxit):
        coef, eta, it = _irls(x, y, off, theta, eta, tol=tol, maxit=maxit)
        total += it
        mu = np.exp(eta)
        theta_new, _ = _theta_ml(y, mu, theta, tol=1e-12)
        ll = _nb_loglik(y, mu, theta_new)
        done = abs(theta_new - theta) < 1e-10 * theta and abs(ll - ll_old) < 1e-10 * (abs(ll) + 1)
        theta, ll_old = theta_new, ll
        if done:
            break
    coef, eta, it = _irls(x, y, off, theta, eta, tol=tol, maxit=maxit)
    mu = np.exp(eta)
    theta, se_theta = _theta_ml(y, mu, theta, tol=1e-12)
    n, k = x.shape
    w = mu / (1.0 + mu / theta)
    return GlmFit(
        coef=coef,
        cov_unscaled=_inv_xtwx(x, w),
        mu=mu,
        deviance=_nb_deviance(y, mu, theta),
        pearson=float(np.sum((y - mu) ** 2 / (mu + mu**2 / theta))),
        df_resid=n - k,
        iterations=total + it,
        theta=theta,
        se_theta=se_theta,
        loglik=_nb_loglik(y, mu, theta),
    )
