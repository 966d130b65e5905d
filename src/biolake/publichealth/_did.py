"""Difference-in-differences on a panel (the kernel of ``impact did``).

``twfe``: two-way fixed effects ``y ~ treat + unit + time [+ covariates]`` by OLS (R
``lm(y ~ treat + factor(unit) + factor(time))``), ``treat`` the 0/1 indicator of a treated
unit in a treated period.

``event-study``: ``y ~ Σ_{k ≠ −1} 1{time − E_unit = k} + unit + time``, ``E_unit`` the
unit's first treated period (units never treated have every indicator 0); relative times
beyond ``−leads`` / ``lags`` are binned into the end points. Terms are named ``rel_m3``
(3 periods before), ``rel_0``, ``rel_2``…; the reference ``rel_m1`` is reported with
estimate 0.

Standard errors are clustered by unit: ``sandwich::vcovCL(fit, cluster = ~unit,
type = "HC1")`` (or ``"HC0"``), both with ``cadjust = TRUE``; tests and intervals use
``t`` with the residual df of the fit, as ``lmtest::coeftest(fit, vcov. = V)`` does.
Fixed effects enter as indicator columns (first unit and first period are the
references); aliased columns are dropped as R's ``lm`` drops them (reported ``NA``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from biolake.errors import InputError
from biolake.publichealth._its import effect_table
from biolake.stats.glm import independent_columns, ols_fit
from biolake.stats.hac import cluster_robust

__all__ = ["DID_DESIGNS", "fit_did", "rel_name"]

DID_DESIGNS = ("twfe", "event-study")


def rel_name(k: int) -> str:
    """Name of the event-time indicator ``k`` (``rel_m2``, ``rel_0``, ``rel_3``)."""
    return f"rel_m{-k}" if k < 0 else f"rel_{k}"


def _dummies(codes: np.ndarray, n_levels: int, prefix: str, labels: Sequence[object]) -> tuple[np.ndarray, list[str]]:
    m = np.zeros((len(codes), n_levels - 1))
    rows = np.flatnonzero(codes > 0)
    m[rows, codes[rows] - 1] = 1.0
    return m, [f"{prefix}{labels[i]}" for i in range(1, n_levels)]


def fit_did(
    y: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    treat: np.ndarray,
    *,
    design: str = "twfe",
    leads: int | None = None,
    lags: int | None = None,
    covariates: dict[str, np.ndarray] | None = None,
    hc_type: str = "HC1",
    level: float = 0.95,
    source: str = "the panel",
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Fit the DiD model. Returns the effect table (terms of interest) and a summary."""
    unit_levels, unit_codes = np.unique(unit, return_inverse=True)
    time_levels, time_codes = np.unique(time, return_inverse=True)
    if len(unit_levels) < 2 or len(time_levels) < 2:
        raise InputError("a difference-in-differences needs at least 2 units and 2 periods", file=source)
    treat = treat.astype(np.float64)
    if np.any((treat != 0) & (treat != 1)):
        raise InputError("the treatment column must hold 0/1", file=source)
    ever = np.zeros(len(unit_levels), dtype=bool)
    np.logical_or.at(ever, unit_codes, treat == 1)
    if not ever.any():
        raise InputError("no unit is ever treated", file=source)
    cols: dict[str, np.ndarray] = {"(Intercept)": np.ones(len(y))}
    if design == "twfe":
        cols["treat"] = treat
        focus = ["treat"]
    else:
        first = np.full(len(unit_levels), np.inf)
        np.minimum.at(first, unit_codes, np.where(treat == 1, time_codes.astype(np.float64), np.inf))
        # absorbing treatment: once treated, treated in every later period
        onset = first[unit_codes]
        if np.any((treat == 1) != (time_codes >= onset)):
            raise InputError(
                "the event study needs an absorbing treatment (0 before a unit's onset, 1 after)", file=source
            )
        rel = time_codes - onset  # inf for never-treated
        finite = np.isfinite(rel)
        lo = int(rel[finite].min()) if leads is None else -int(leads)
        hi = int(rel[finite].max()) if lags is None else int(lags)
        if lo > -1:
            raise InputError("the event study needs periods before treatment (a lead of at least 1)", file=source)
        binned = np.where(finite, np.clip(rel, lo, hi), np.nan)
        focus = []
        for k in range(lo, hi + 1):
            if k == -1:
                continue
            name = rel_name(k)
            cols[name] = (binned == k).astype(np.float64)
            focus.append(name)
    for name, values in (covariates or {}).items():
        cols[name] = np.asarray(values, dtype=np.float64)
    x_main = np.column_stack([cols[c] for c in cols])
    du, nu = _dummies(unit_codes, len(unit_levels), "unit", unit_levels)
    dt, nt = _dummies(time_codes, len(time_levels), "time", time_levels)
    x = np.column_stack([x_main, du, dt])
    names = [*cols, *nu, *nt]
    keep = independent_columns(x)
    xk = x[:, keep]
    fit = ols_fit(xk, y)
    cov = cluster_robust(xk, fit.resid, unit_codes, hc_type=hc_type, bread=fit.bread)
    kept_names = [names[j] for j in keep]
    est = np.full(len(focus), np.nan)
    se = np.full(len(focus), np.nan)
    for i, term in enumerate(focus):
        if term in kept_names:
            j = kept_names.index(term)
            est[i] = fit.coef[j]
            se[i] = np.sqrt(cov[j, j])
    table = effect_table(focus, est, se, df=float(fit.df_resid), level=level)
    if design == "event-study":
        ref = pd.DataFrame(
            {
                "term": ["rel_m1"],
                "estimate": [0.0],
                "se": [np.nan],
                "ci_lower": [np.nan],
                "ci_upper": [np.nan],
                "p": [np.nan],
            }
        )
        table = pd.concat([table, ref], ignore_index=True)
        table["event_time"] = [(-int(t[5:]) if t.startswith("rel_m") else int(t[4:])) for t in table.term]
        table = table.sort_values("event_time", kind="stable").reset_index(drop=True)
    summary = {
        "units": len(unit_levels),
        "periods": len(time_levels),
        "treated_units": int(ever.sum()),
        "observations": len(y),
        "df_resid": int(fit.df_resid),
        "aliased": [names[j] for j in range(x.shape[1]) if j not in set(keep.tolist())],
    }
    return table, summary
