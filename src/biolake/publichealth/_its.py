"""Interrupted time series: segmented regression of one series (the kernel of ``impact its``).

Design, for the ``n`` time points of a series in time order (``time = 1 … n``) and the
first time point on or after the intervention, ``t0``::

    y ~ time + level + slope [+ covariates] [+ seasonality] [+ offset(log(population))]
    level = 1{time ≥ t0},   slope = (time − t0)·level

so ``level`` is the step at the intervention and ``slope`` the change of trend after it.
Seasonality: ``fourier`` adds ``sin_k = sin(2πk·time/period)``, ``cos_k`` for
``k = 1 … harmonics``; ``month`` adds month indicators ``month2 … month12`` (treatment
contrasts against the first month present, R's ``factor(month)``).

Models: ``ols`` (R ``lm``) with Newey–West standard errors (``sandwich::NeweyWest(fit,
lag = L, prewhite = FALSE, adjust = A)``; tests and intervals on ``t`` with ``n − k`` df, as
``lmtest::coeftest``/``coefci``); ``poisson`` and ``quasipoisson`` (R ``glm``; quasi-Poisson
SEs scaled by Pearson's dispersion, ``t`` on ``n − k`` df as ``summary.glm``); ``negbin``
(R ``MASS::glm.nb``; Wald ``z``; a ``theta`` row with θ and its SE from ``theta.ml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from biolake.errors import InputError
from biolake.stats.glm import glm_fit, glm_nb, independent_columns, ols_fit, pearson_dispersion
from biolake.stats.hac import newey_west

__all__ = ["ITS_MODELS", "SEASONS", "ItsSpec", "effect_table", "fit_its", "its_design"]

ITS_MODELS = ("ols", "poisson", "quasipoisson", "negbin")
SEASONS = ("none", "fourier", "month")


@dataclass(frozen=True)
class ItsSpec:
    """Checked settings of one ITS fit."""

    model: str = "ols"
    season: str = "none"
    harmonics: int = 2
    period: float = 12.0
    lag: int | None = None
    hac_adjust: bool = False
    level: float = 0.95


def default_lag(n: int) -> int:
    """Newey & West (1994) rule of thumb ``floor(4 (n/100)^(2/9))`` (Stata's, statsmodels')."""
    return int(np.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)))


def its_design(
    n: int,
    post: np.ndarray,
    *,
    spec: ItsSpec,
    covariates: dict[str, np.ndarray] | None = None,
    months: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The design matrix, its column names and the columns of the intervention terms."""
    time = np.arange(1, n + 1, dtype=np.float64)
    t0 = float(time[np.argmax(post)])
    level = post.astype(np.float64)
    cols: dict[str, np.ndarray] = {
        "(Intercept)": np.ones(n),
        "time": time,
        "level": level,
        "slope": (time - t0) * level,
    }
    for name, values in (covariates or {}).items():
        cols[name] = np.asarray(values, dtype=np.float64)
    if spec.season == "fourier":
        for k in range(1, spec.harmonics + 1):
            cols[f"sin{k}"] = np.sin(2 * np.pi * k * time / spec.period)
            cols[f"cos{k}"] = np.cos(2 * np.pi * k * time / spec.period)
    elif spec.season == "month":
        if months is None:
            raise InputError("--season month needs a date column")
        present = sorted(set(int(m) for m in months))
        for m in present[1:]:
            cols[f"month{m}"] = (months == m).astype(np.float64)
    names = list(cols)
    return np.column_stack([cols[c] for c in names]), names, np.array([names.index("level"), names.index("slope")])


def effect_table(
    terms: Sequence[str], est: np.ndarray, se: np.ndarray, *, df: float | None, level: float
) -> pd.DataFrame:
    """``term estimate se ci_lower ci_upper p``: Wald intervals/tests on t(df) or (df None) the normal."""
    est = np.asarray(est, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    dist = stats.norm if df is None else stats.t(df)
    q = dist.ppf(0.5 + level / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = est / se
        p = 2.0 * dist.sf(np.abs(stat))
    return pd.DataFrame(
        {"term": list(terms), "estimate": est, "se": se, "ci_lower": est - q * se, "ci_upper": est + q * se, "p": p}
    )


def fit_its(
    y: np.ndarray,
    post: np.ndarray,
    *,
    spec: ItsSpec,
    covariates: dict[str, np.ndarray] | None = None,
    months: np.ndarray | None = None,
    population: np.ndarray | None = None,
    series: str = "the series",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit one series. Returns the effect table and the series table (fitted, counterfactual, band)."""
    n = len(y)
    n_post = int(post.sum())
    if n_post == 0 or n_post == n:
        side = "after" if n_post == 0 else "before"
        raise InputError(f"{series}: no time point {side} the intervention")
    x, names, _ = its_design(n, post, spec=spec, covariates=covariates, months=months)
    keep = independent_columns(x)
    if len(keep) < x.shape[1]:
        dropped = [names[j] for j in range(x.shape[1]) if j not in set(keep.tolist())]
        raise InputError(f"{series}: the design is collinear (aliased: {', '.join(dropped)}); drop a covariate")
    if n - x.shape[1] < 1:
        raise InputError(f"{series}: {n} time points are too few for {x.shape[1]} coefficients")
    offset = None if population is None else np.log(population)
    x_cf = x.copy()
    x_cf[:, names.index("level")] = 0.0
    x_cf[:, names.index("slope")] = 0.0
    if spec.model == "ols":
        fit = ols_fit(x, y)
        lag = default_lag(n) if spec.lag is None else spec.lag
        cov = newey_west(x, fit.resid, lag=lag, adjust=spec.hac_adjust, bread=fit.bread)
        df: float | None = float(fit.df_resid)
        coef, fitted = fit.coef, fit.fitted
        cf = x_cf @ coef
        cf_se = np.sqrt(np.einsum("ij,jk,ik->i", x_cf, cov, x_cf))
        q = stats.t(df).ppf(0.5 + spec.level / 2.0)
        lower, upper = cf - q * cf_se, cf + q * cf_se
        extra = None
    else:
        if np.any(y < 0) or np.any(y != np.floor(y)):
            raise InputError(f"{series}: a count model needs non-negative integer counts")
        if not np.any(y[post.astype(bool)] > 0) or not np.any(y[~post.astype(bool)] > 0):
            raise InputError(f"{series}: a count model needs some non-zero counts before and after the intervention")
        try:
            with np.errstate(all="ignore"):
                if spec.model == "negbin":
                    gfit = glm_nb(x, y, offset=offset)
                else:
                    gfit = glm_fit(x, y, family="poisson", offset=offset)
        except (FloatingPointError, np.linalg.LinAlgError) as exc:
            raise InputError(f"{series}: the {spec.model} model cannot be fitted ({exc})") from None
        bad = not (np.all(np.isfinite(gfit.coef)) and np.all(np.isfinite(gfit.cov)))
        if bad or (spec.model != "negbin" and not gfit.converged):
            raise InputError(f"{series}: the {spec.model} model cannot be fitted (IRLS did not converge)")
        if spec.model == "negbin" and not (np.isfinite(gfit.theta) and gfit.theta > 0):
            raise InputError(f"{series}: the negbin model cannot be fitted (theta = {gfit.theta})")
        scale = pearson_dispersion(y, gfit.mu, x.shape[1]) if spec.model == "quasipoisson" else 1.0
        cov = gfit.cov * scale
        df = float(n - x.shape[1]) if spec.model == "quasipoisson" else None
        coef, fitted = gfit.coef, gfit.mu
        eta = x_cf @ coef + (0.0 if offset is None else offset)
        cf_se = np.sqrt(np.einsum("ij,jk,ik->i", x_cf, cov, x_cf))
        q = (stats.norm if df is None else stats.t(df)).ppf(0.5 + spec.level / 2.0)
        cf, lower, upper = np.exp(eta), np.exp(eta - q * cf_se), np.exp(eta + q * cf_se)
        extra = (gfit.theta, gfit.se_theta) if spec.model == "negbin" else None
    effects = effect_table(names, coef, np.sqrt(np.diag(cov)), df=df, level=spec.level)
    if extra is not None:
        theta = effect_table(["theta"], np.array([extra[0]]), np.array([extra[1]]), df=None, level=spec.level)
        theta["p"] = np.nan
        effects = pd.concat([effects, theta], ignore_index=True)
    pre = ~post.astype(bool)
    series_table = pd.DataFrame(
        {
            "observed": y,
            "fitted": fitted,
            "counterfactual": np.where(pre, fitted, cf),
            "cf_lower": np.where(pre, np.nan, lower),
            "cf_upper": np.where(pre, np.nan, upper),
            "post": post.astype(bool),
        }
    )
    return effects, series_table
