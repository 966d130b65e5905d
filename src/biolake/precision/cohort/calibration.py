"""Empirical calibration with negative controls, as OHDSI EmpiricalCalibration.

The systematic-error (empirical null) distribution is a normal ``N(mean, sd²)`` of the true
log hazard ratios that the study design produces for outcomes the drugs do not cause. Each
negative control's estimate ``θᵢ`` with standard error ``sᵢ`` is then ``N(mean, sd² + sᵢ²)``;
:func:`fit_null` maximises that likelihood over ``(mean, sd)`` (EmpiricalCalibration's
``fitNull``, which maximises the same likelihood over ``(mean, 1/sd²)`` with Nelder–Mead
from ``(0, 100)``; estimates with a missing or infinite value or SE are dropped first).

:func:`calibrate_p` is ``calibrateP`` (two-sided): ``2·min(Φ(z), 1 − Φ(z))`` with
``z = (θ − mean) / √(sd² + s²)``. :func:`calibrate_ci` is ``calibrateConfidenceInterval``
with the error model ``convertNullToErrorModel`` makes of a null (bias and spread that do
not depend on the true effect): ``θ − mean`` with SE ``√(s² + sd²)``.

Examples
--------
>>> null = fit_null([1.0, 2.0], [0.0, 0.0])  # EmpiricalCalibration's unit test: mean 1.5
>>> round(null.mean, 4), round(null.sd, 4)
(1.5, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["EmpiricalNull", "calibrate_ci", "calibrate_p", "fit_null"]


@dataclass(frozen=True)
class EmpiricalNull:
    """Mean and SD of the systematic-error distribution of log hazard ratios, and how many controls made it."""

    mean: float
    sd: float
    n: int


def _negloglik(theta: np.ndarray, est: np.ndarray, se: np.ndarray) -> float:
    mean, log_sd = theta
    var = np.exp(2 * log_sd) + se * se
    return float(0.5 * np.sum(np.log(2 * np.pi * var) + (est - mean) ** 2 / var))


def fit_null(log_hr: np.ndarray | list[float], se_log_hr: np.ndarray | list[float]) -> EmpiricalNull:
    """Fit the empirical null to negative-control estimates by maximum likelihood (see the module)."""
    est = np.asarray(log_hr, dtype=float)
    se = np.asarray(se_log_hr, dtype=float)
    keep = np.isfinite(est) & np.isfinite(se)
    est, se = est[keep], se[keep]
    if len(est) == 0:
        return EmpiricalNull(np.nan, np.nan, 0)
    if len(est) == 1:
        return EmpiricalNull(float(est[0]), 0.0, 1)
    best = None
    # profile start values: the sd = 0 fit and a wide one; the likelihood is smooth in (mean, log sd)
    for log_sd0 in (np.log(max(np.std(est), 1e-3)), -3.0, 0.0):
        res = optimize.minimize(
            _negloglik,
            np.array([np.mean(est), log_sd0]),
            args=(est, se),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    mean, log_sd = best.x
    sd = float(np.exp(log_sd))
    return EmpiricalNull(float(mean), sd if sd > 1e-6 else 0.0, len(est))


def calibrate_p(null: EmpiricalNull, log_hr: np.ndarray, se_log_hr: np.ndarray) -> np.ndarray:
    """Two-sided calibrated p-values (EmpiricalCalibration ``calibrateP``); NaN where the estimate is missing."""
    est = np.asarray(log_hr, dtype=float)
    se = np.asarray(se_log_hr, dtype=float)
    with np.errstate(invalid="ignore"):
        z = (est - null.mean) / np.sqrt(null.sd**2 + se**2)
        p = 2 * np.minimum(stats.norm.cdf(z), stats.norm.sf(z))
    return np.where(np.isfinite(est) & np.isfinite(se), p, np.nan)


def calibrate_ci(
    null: EmpiricalNull, log_hr: np.ndarray, se_log_hr: np.ndarray, *, conf: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated hazard ratio and CI under the null's error model (bias ``mean``, extra spread ``sd``)."""
    est = np.asarray(log_hr, dtype=float) - null.mean
    se = np.sqrt(np.asarray(se_log_hr, dtype=float) ** 2 + null.sd**2)
    z = stats.norm.ppf(0.5 + conf / 2)
    return np.exp(est), np.exp(est - z * se), np.exp(est + z * se)
