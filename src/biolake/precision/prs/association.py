"""How well a polygenic score separates a trait: OR per SD, AUC, R² (liability scale), deciles.

Case/control trait (0/1): logistic regression of the trait on the standardized score
(Newton–Raphson) gives the odds ratio per standard deviation and its 95 % Wald interval;
the AUC is the Mann–Whitney statistic; R² on the liability scale is Lee et al. (2012,
Genet Epidemiol 36:214) applied to the observed-scale R² (squared Pearson correlation of
the score and the 0/1 trait), with the population prevalence ``K`` (default: the sample's
case fraction ``P``)::

    t = Φ⁻¹(1 − K), z = φ(t), m = z / K, C = K(1−K)/z² · K(1−K)/(P(1−P)),
    θ = m (P−K)/(1−K) · (m (P−K)/(1−K) − t),  R²_liab = R²_obs C / (1 + R²_obs θ C).

Quantitative trait: the slope per SD of the score and R² (squared correlation).
Deciles: samples cut into ten groups by score; the case fraction (or mean trait) per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["association", "deciles", "liability_r2"]


def liability_r2(r2_obs: float, *, case_fraction: float, prevalence: float) -> float:
    """Lee et al. (2012) transformation of an observed-scale R² to the liability scale."""
    from scipy import stats

    k, p = prevalence, case_fraction
    t = stats.norm.isf(k)
    z = stats.norm.pdf(t)
    m = z / k
    c = k * (1 - k) / z**2 * k * (1 - k) / (p * (1 - p))
    theta = m * (p - k) / (1 - k) * (m * (p - k) / (1 - k) - t)
    return float(r2_obs * c / (1 + r2_obs * theta * c))


def _logistic(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    x = np.column_stack([np.ones_like(z), z])
    beta = np.zeros(2)
    cov = np.eye(2)
    for _ in range(100):
        eta = x @ beta
        pr = 1 / (1 + np.exp(-eta))
        w = pr * (1 - pr)
        h = x.T @ (x * w[:, None])
        cov = np.linalg.inv(h)
        step = cov @ (x.T @ (y - pr))
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    return float(beta[1]), float(np.sqrt(cov[1, 1]))


def association(
    score: np.ndarray, trait: np.ndarray, *, binary: bool, prevalence: float | None = None
) -> dict[str, Any]:
    """Association statistics of ``score`` with ``trait`` (NaN trait values are left out)."""
    from scipy import stats

    ok = np.isfinite(score) & np.isfinite(trait)
    s, y = score[ok], trait[ok]
    out: dict[str, Any] = {"n": int(ok.sum())}
    if s.size < 3 or np.std(s) == 0:
        return out
    z = (s - s.mean()) / s.std(ddof=1)
    r = float(np.corrcoef(z, y)[0, 1])
    out["r2"] = r * r
    if binary:
        n1 = int(y.sum())
        n0 = int(y.size - n1)
        out.update(cases=n1, controls=n0)
        if n1 == 0 or n0 == 0:
            return out
        beta, se = _logistic(z, y)
        out.update(or_per_sd=float(np.exp(beta)), or_ci_lower=float(np.exp(beta - 1.959963984540054 * se)))
        out["or_ci_upper"] = float(np.exp(beta + 1.959963984540054 * se))
        out["p"] = float(2 * stats.norm.sf(abs(beta / se)))
        ranks = stats.rankdata(s)
        out["auc"] = float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
        frac = n1 / y.size
        k = frac if prevalence is None else float(prevalence)
        out.update(prevalence=k, r2_liability=liability_r2(r * r, case_fraction=frac, prevalence=k))
    else:
        fit = stats.linregress(z, y)
        out.update(beta_per_sd=float(fit.slope), se=float(fit.stderr), p=float(fit.pvalue))
    return out


def deciles(score: np.ndarray, trait: np.ndarray) -> list[dict[str, Any]]:
    """Ten groups by score: decile number, samples, mean score and the trait's mean (case fraction)."""
    ok = np.isfinite(score) & np.isfinite(trait)
    s, y = score[ok], trait[ok]
    if s.size < 10:
        return []
    order = np.argsort(s, kind="stable")
    groups = np.array_split(order, 10)
    return [
        {"decile": i + 1, "n": int(g.size), "mean_score": float(s[g].mean()), "trait_mean": float(y[g].mean())}
        for i, g in enumerate(groups)
    ]
