"""Synthetic control for one treated unit (Abadie, Diamond & Hainmueller 2010), the kernel of ``impact synth``.

Weights ``w`` on the donor units minimise the pre-period fit

    ‖Y₁,pre − Y₀,pre w‖²   subject to  w ≥ 0,  Σ w = 1,

i.e. the predictors are the pre-period outcomes themselves with ``V`` = identity (the
simple variant; not the nested optimisation of ``V`` of the R ``Synth`` package). The
quadratic programme is solved by SLSQP started from a non-negative least-squares
solution with the sum constraint as a heavily weighted extra row.

Inference (in-space placebos): every donor in turn is treated as if it were the treated
unit, with the other donors (never the treated unit) as its pool; for each unit the
ratio of post- to pre-period RMSPE is computed, and the permutation p-value is the share
of units (treated included) whose ratio is at least the treated unit's,
``p = #{ratio_j ≥ ratio_1} / (J + 1)``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["synth_placebos", "synth_weights"]


def synth_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Convex weights of the donor columns that best reproduce ``target`` (least squares).

    Parameters
    ----------
    target
        Pre-period outcomes of the treated unit, shape ``(T0,)``.
    donors
        Pre-period outcomes of the donors, shape ``(T0, J)``.
    """
    a = np.asarray(target, dtype=np.float64)
    b = np.asarray(donors, dtype=np.float64)
    j = b.shape[1]
    if j == 1:
        return np.ones(1)
    scale = max(float(np.abs(b).max()), 1.0)
    big = 1e3 * scale * np.sqrt(len(a))
    w0, _ = optimize.nnls(np.vstack([b, big * np.ones((1, j))]), np.append(a, big))
    w0 = np.clip(w0, 0, None)
    w0 = w0 / w0.sum() if w0.sum() > 0 else np.full(j, 1.0 / j)
    btb, bta = b.T @ b, b.T @ a
    norm = float(a @ a) + 1.0

    def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
        r = b @ w - a
        return float(r @ r) / norm, 2.0 * (btb @ w - bta) / norm

    res = optimize.minimize(
        fun,
        w0,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * j,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones_like(w)}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    w = np.clip(res.x if fun(res.x)[0] <= fun(w0)[0] else w0, 0.0, None)
    return w / w.sum()


def _rmspe(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gap**2))) if len(gap) else float("nan")


def synth_placebos(y: np.ndarray, treated: int, n_pre: int, *, placebo: bool = True) -> dict[str, np.ndarray]:
    """Fit the treated unit and (optionally) every donor as a placebo.

    Parameters
    ----------
    y
        Outcomes, shape ``(T, units)``, time in rows.
    treated
        Column of the treated unit.
    n_pre
        Number of pre-intervention periods (the first rows).

    Returns
    -------
    dict
        ``weights`` (units,) of the treated unit's fit (0 for itself), ``synthetic`` (T, units)
        the synthetic series of each unit fitted (NaN where not fitted), ``ratio`` (units,)
        post/pre RMSPE ratios, ``pre_rmspe``, ``post_rmspe`` and ``p`` (permutation p-value).
    """
    t, u = y.shape
    donors = [k for k in range(u) if k != treated]
    synthetic = np.full((t, u), np.nan)
    weights = np.zeros(u)
    w = synth_weights(y[:n_pre, treated], y[:n_pre, donors])
    weights[donors] = w
    synthetic[:, treated] = y[:, donors] @ w
    fitted = [treated]
    if placebo:
        for k in donors:
            pool = [d for d in donors if d != k]
            if not pool:
                continue
            wk = synth_weights(y[:n_pre, k], y[:n_pre, pool])
            synthetic[:, k] = y[:, pool] @ wk
            fitted.append(k)
    gap = y - synthetic
    pre = np.array([_rmspe(gap[:n_pre, k]) for k in range(u)])
    post = np.array([_rmspe(gap[n_pre:, k]) for k in range(u)])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pre > 0, post / pre, np.inf)
    ratio[[k for k in range(u) if k not in fitted]] = np.nan
    valid = ratio[fitted]
    p = float(np.mean(valid >= ratio[treated] * (1 - 1e-12))) if placebo else float("nan")
    return {"weights": weights, "synthetic": synthetic, "ratio": ratio, "pre_rmspe": pre, "post_rmspe": post, "p": p}
