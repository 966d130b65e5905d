"""Cox proportional hazards regression (Efron ties) of a table, as R ``coxph``.

:func:`coxph` reads the time, event and covariate columns, drops rows with a missing value
in any of them, codes text covariates one-hot (the first sorted level is the baseline; the
columns are named covariate + level, as R names them, e.g. ``celltypesmallcell``), fits
the model with :func:`biolake.stats.coxph.coxph_efron` and returns the Cox table:

================ ==============================================================
``term``         the covariate column (R's coefficient name)
``coef``         the log hazard ratio
``se``           model standard error (the inverse information matrix)
``robust_se``    robust standard error, R ``coxph(robust = TRUE)`` without cluster
``z``            ``coef / se``
``p``            two-sided p-value of ``z`` (normal)
``hazard_ratio`` ``exp(coef)``
``ci_lower``     ``exp(coef − Φ⁻¹(0.975)·se)`` (95 % by default)
``ci_upper``     ``exp(coef + Φ⁻¹(0.975)·se)``
================ ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from biolake.errors import InputError
from biolake.stats.coxph import CoxFit, coxph_efron

__all__ = ["COX_COLUMNS", "CoxResult", "cox_table", "coxph", "fit_design"]

COX_COLUMNS = ("term", "coef", "se", "robust_se", "z", "p", "hazard_ratio", "ci_lower", "ci_upper")
"""Columns of the Cox table."""


@dataclass
class CoxResult:
    """A Cox fit with its table (see :func:`coxph`)."""

    table: pd.DataFrame
    fit: CoxFit
    terms: list[tuple[str, list[int]]]
    """Each covariate with its columns (rows of ``table``)."""


def cox_table(fit: CoxFit, names: Sequence[str], *, conf_int: float = 0.95) -> pd.DataFrame:
    """The Cox table (:data:`COX_COLUMNS`) of a fit.

    Parameters
    ----------
    fit
        A :class:`biolake.stats.coxph.CoxFit`.
    names
        Term names, one per coefficient.
    conf_int
        Confidence level of the hazard ratio interval.

    Returns
    -------
    pandas.DataFrame
        One row per term.
    """
    coef = fit.coef
    se = np.sqrt(np.diag(fit.var))
    robust = np.sqrt(np.diag(fit.robust_var)) if fit.robust_var is not None else np.full(len(coef), np.nan)
    z = coef / se
    q = float(norm.ppf(1 - (1 - conf_int) / 2))
    return pd.DataFrame(
        {
            "term": pd.Series(list(names), dtype=str),
            "coef": coef,
            "se": se,
            "robust_se": robust,
            "z": z,
            "p": 2 * norm.sf(np.abs(z)),
            "hazard_ratio": np.exp(coef),
            "ci_lower": np.exp(coef - q * se),
            "ci_upper": np.exp(coef + q * se),
        }
    )


def fit_design(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    names: Sequence[str],
    *,
    source: str = "data",
    max_iter: int = 20,
    eps: float = 1e-9,
) -> CoxFit:
    """Fit :func:`biolake.stats.coxph.coxph_efron`, turning data problems into :class:`InputError`.

    Parameters
    ----------
    time, event, x
        Times, event indicators (1/0) and covariates (``n × p``).
    names
        Covariate column names (for messages).
    source
        The data's name (for messages).
    max_iter, eps
        As R's ``iter.max`` and ``eps``.

    Returns
    -------
    CoxFit
        The fit.
    """
    if x.shape[1] == 0:
        raise InputError("no covariates: give --covars for the Cox model", file=source)
    if int(np.sum(event)) == 0:
        raise InputError("no events: the Cox model needs at least one event", file=source)
    constant = [names[j] for j in range(x.shape[1]) if np.all(x[:, j] == x[0, j])]
    if constant:
        raise InputError(f"covariate {', '.join(constant)} is constant (after dropping missing rows)", file=source)
    if np.linalg.matrix_rank(x - x.mean(axis=0)) < x.shape[1]:
        raise InputError(f"covariates {', '.join(names)} are collinear", file=source)
    try:
        return coxph_efron(time, event, x, max_iter=max_iter, eps=eps, robust=True)
    except np.linalg.LinAlgError:
        raise InputError(
            "the Cox model's information matrix is singular (collinear covariates or a covariate that "
            "separates events from non-events)",
            file=source,
        ) from None


def coxph(
    data: Any,
    *,
    time: str,
    event: str,
    covars: Sequence[str],
    event_coding: Sequence[float] | str = (0, 1),
    conf_int: float = 0.95,
    max_iter: int = 20,
    eps: float = 1e-9,
    lake: Any = None,
) -> CoxResult:
    """Fit a Cox proportional hazards model (Efron ties), as R ``coxph(..., robust = TRUE)``.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    time, event
        The time and event columns (event 1 = event, 0 = censored by default).
    covars
        Covariate columns; text columns are one-hot coded (first sorted level = baseline).
    event_coding
        The ``(censored, event)`` codes: ``(0, 1)`` or R's ``(1, 2)``.
    conf_int
        Confidence level of the hazard ratio interval.
    max_iter, eps
        Newton–Raphson limits, as R's ``coxph.control(iter.max, eps)``.
    lake
        The lake for ``lake:NAME`` inputs.

    Returns
    -------
    CoxResult
        ``table`` (see the module docstring), the fit and the terms.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [5, 8, 8, 3, 10, 12, 4, 9], "d": [1, 1, 0, 1, 1, 0, 1, 1],
    ...                    "arm": ["b", "a", "b", "b", "a", "a", "b", "a"]})
    >>> res = coxph(df, time="t", event="d", covars=["arm"])
    >>> res.table[["term", "coef", "hazard_ratio"]].round(4)
       term    coef  hazard_ratio
    0  armb  1.7558        5.7882
    """
    from biolake.errors import check_param
    from biolake.precision.survival._data import check_event_coding, prepare

    check_param("coxph", "conf_int", conf_int, isinstance(conf_int, float) and 0 < conf_int < 1, "a number in (0, 1)")
    check_param("coxph", "max_iter", max_iter, isinstance(max_iter, int) and max_iter >= 1, "an integer >= 1")
    check_param("coxph", "eps", eps, isinstance(eps, float) and eps > 0, "a number > 0")
    coding = check_event_coding("coxph", event_coding)
    design = prepare(data, time=time, event=event, covars=covars, event_coding=coding, lake=lake, function="coxph")
    fit = fit_design(
        design.time, design.event, design.x, design.names, source=design.source, max_iter=max_iter, eps=eps
    )
    return CoxResult(table=cox_table(fit, design.names, conf_int=conf_int), fit=fit, terms=design.terms)
