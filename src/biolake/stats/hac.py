"""Heteroskedasticity- and autocorrelation-consistent covariance of least-squares estimates.

Two sandwich estimators of ``Var(β̂)`` for a linear model ``y = Xβ + e`` fitted by OLS,
written as R's ``sandwich`` package computes them for an ``lm`` fit:

* :func:`newey_west` — ``sandwich::NeweyWest(fit, lag = L, prewhite = FALSE, adjust = A)``:
  Bartlett weights ``w_j = 1 − j/(L + 1)``, no pre-whitening,

  ``V = (X'X)⁻¹ [Γ_0 + Σ_{j=1..L} w_j (Γ_j + Γ_j')] (X'X)⁻¹ · (n/(n − k) if adjust)``,
  ``Γ_j = Σ_{t>j} u_t u_{t−j}'``, ``u_t = x_t e_t``.
* :func:`cluster_robust` — ``sandwich::vcovCL(fit, cluster = ~g, type = "HC1")`` (and
  ``"HC0"``) with ``cadjust = TRUE``:

  ``V = (X'X)⁻¹ [Σ_g s_g s_g'] (X'X)⁻¹ · G/(G − 1) · ((n − 1)/(n − k) for HC1)``,
  ``s_g = Σ_{t∈g} x_t e_t``.

``k`` is the rank of ``X`` (R's ``fit$rank``); aliased (collinear) columns must be
removed before the call. Pure numpy; nothing of biolake is imported.

Examples
--------
>>> import numpy as np
>>> x = np.column_stack([np.ones(6), np.arange(6.0)])
>>> y = x @ [1.0, 2.0] + np.array([0.5, -0.2, 0.1, -0.4, 0.3, -0.3])
>>> resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
>>> np.round(newey_west(x, resid, lag=1), 6)  # R: NeweyWest(lm(y ~ x), lag = 1, prewhite = FALSE)
array([[ 0.019553, -0.00544 ],
       [-0.00544 ,  0.002062]])
"""

from __future__ import annotations

import numpy as np

__all__ = ["bartlett_weights", "cluster_robust", "newey_west", "ols_bread"]


def ols_bread(x: np.ndarray) -> np.ndarray:
    """``(X'X)⁻¹`` of a full-rank design, by a QR decomposition (as R's ``chol2inv(qr.R(qr(X)))``)."""
    r = np.linalg.qr(np.asarray(x, dtype=np.float64), mode="r")
    rinv = np.linalg.solve(r, np.eye(r.shape[0]))
    return rinv @ rinv.T


def bartlett_weights(lag: int) -> np.ndarray:
    """Newey–West weights ``w_j = 1 − j/(lag + 1)``, ``j = 0 … lag``."""
    return 1.0 - np.arange(lag + 1) / (lag + 1.0)


def newey_west(
    x: np.ndarray,
    resid: np.ndarray,
    *,
    lag: int,
    adjust: bool = False,
    bread: np.ndarray | None = None,
) -> np.ndarray:
    """Newey–West covariance of OLS coefficients, as ``sandwich::NeweyWest(prewhite = FALSE)``.

    Parameters
    ----------
    x
        Design matrix ``(n, k)``, full column rank, rows in time order.
    resid
        OLS residuals ``(n,)``.
    lag
        Maximum lag ``L ≥ 0`` of the Bartlett kernel (R's ``lag``).
    adjust
        Multiply by ``n/(n − k)`` (R's ``adjust = TRUE``; R's default is ``FALSE``).
    bread
        ``(X'X)⁻¹`` if already computed.

    Returns
    -------
    numpy.ndarray
        The ``(k, k)`` covariance matrix.
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.asarray(resid, dtype=np.float64)
    n, k = x.shape
    if lag < 0:
        raise ValueError("lag must be >= 0")
    u = x * e[:, None]
    weights = bartlett_weights(int(lag))
    meat = u.T @ u
    for j in range(1, min(int(lag), n - 1) + 1):
        gamma = u[j:].T @ u[:-j]
        meat += weights[j] * (gamma + gamma.T)
    b = ols_bread(x) if bread is None else bread
    v = b @ meat @ b
    if adjust:
        v *= n / (n - k)
    return v


def cluster_robust(
    x: np.ndarray,
    resid: np.ndarray,
    cluster: np.ndarray,
    *,
    hc_type: str = "HC1",
    bread: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster-robust covariance of OLS coefficients, as ``sandwich::vcovCL(type = hc_type)``.

    Parameters
    ----------
    x
        Design matrix ``(n, k)``, full column rank.
    resid
        OLS residuals ``(n,)``.
    cluster
        Cluster label of each row ``(n,)`` (any hashable values).
    hc_type
        ``"HC1"`` (R's default for ``lm``: ``(n − 1)/(n − k)`` small-sample factor) or ``"HC0"``;
        both with R's ``cadjust = TRUE`` factor ``G/(G − 1)``.
    bread
        ``(X'X)⁻¹`` if already computed.
    """
    if hc_type not in ("HC0", "HC1"):
        raise ValueError("hc_type must be 'HC0' or 'HC1'")
    x = np.asarray(x, dtype=np.float64)
    e = np.asarray(resid, dtype=np.float64)
    n, k = x.shape
    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    g = int(codes.max()) + 1
    sums = np.zeros((g, k))
    np.add.at(sums, codes, x * e[:, None])
    meat = sums.T @ sums
    if g > 1:
        meat *= g / (g - 1.0)
    if hc_type == "HC1":
        meat *= (n - 1.0) / (n - k)
    b = ols_bread(x) if bread is None else bread
    return b @ meat @ b
