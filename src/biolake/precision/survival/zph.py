"""The Schoenfeld-residual test of proportional hazards, as R ``cox.zph`` (transform ``"km"``).

The fitted model is augmented with the time-varying covariates ``x · g(t)`` where ``g`` is
1 − the left-continuous Kaplan–Meier estimate of all subjects at ``t``, centred on its
mean over the events; the score test of their coefficients at 0 (with the fitted
coefficients held, R's ``zph1``) is reported per term (a text covariate's one-hot columns
together, R's ``terms = TRUE``) and for all of them (``GLOBAL``). Columns: ``term chisq df p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from biolake.stats.coxph import zph_score_test

__all__ = ["ZPH_COLUMNS", "km_time_transform", "zph_table"]

ZPH_COLUMNS = ("term", "chisq", "df", "p")
"""Columns of the proportional-hazards test table."""


def km_time_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``1 − S(t−)`` at each row's time, ``S`` the Kaplan–Meier estimate of all rows (R's ``km``).

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).

    Returns
    -------
    numpy.ndarray
        The transform at each row.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(np.int64)
    order = np.argsort(time, kind="stable")
    t = time[order]
    uniq, first = np.unique(t, return_index=True)
    n_risk = len(t) - first
    n_event = np.add.reduceat(event[order], first)
    surv = np.cumprod(1.0 - n_event / n_risk)
    before = np.concatenate(([1.0], surv[:-1]))  # S just before each distinct time
    return 1.0 - before[np.searchsorted(uniq, time)]


def zph_table(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    coef: np.ndarray,
    terms: Sequence[tuple[str, list[int]]],
) -> pd.DataFrame:
    """The proportional-hazards tests (:data:`ZPH_COLUMNS`) of a fitted Cox model.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    x
        The covariate matrix of the fit.
    coef
        The fitted coefficients.
    terms
        Each term's name and columns.

    Returns
    -------
    pandas.DataFrame
        One row per term, then ``GLOBAL``.
    """
    event = np.asarray(event).astype(np.int64)
    g = km_time_transform(time, event)
    g = g - g[event == 1].mean()
    chisq, df = zph_score_test(time, event, x, coef, g, [cols for _, cols in terms])
    return pd.DataFrame(
        {
            "term": pd.Series([name for name, _ in terms] + ["GLOBAL"], dtype=str),
            "chisq": chisq,
            "df": df,
            "p": chi2.sf(chisq, df),
        }
    )
