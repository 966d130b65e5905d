"""The log-rank test of equal survival across groups, as R ``survdiff`` (``rho = 0``).

At each distinct event time ``t`` with ``n`` subjects at risk and ``d`` events, group ``g``
(``n_g`` at risk) expects ``d · n_g / n`` events; the variance of the observed minus
expected counts is ``V_gh = d (n − d) / (n − 1) · n_g/n · (δ_gh − n_h/n)``. The chi-square
is ``(O − E)' V⁻¹ (O − E)`` over the groups with a positive expectation but the first
(R's ``df = (number of such groups) − 1``), its p-value from the chi-square distribution.

Examples
--------
>>> import numpy as np
>>> t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
>>> e = np.array([1, 1, 1, 0, 1, 1, 0, 1])
>>> g = np.array(["a", "a", "a", "a", "b", "b", "b", "b"], dtype=object)
>>> res = logrank_test(t, e, g)
>>> round(res.chisq, 6), res.df
(4.212648, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

__all__ = ["LogRankResult", "logrank", "logrank_test"]


@dataclass
class LogRankResult:
    """The log-rank test (see the module docstring)."""

    chisq: float
    df: int
    p: float
    table: pd.DataFrame
    """Per group: ``group n observed expected`` (R's ``N``, ``Observed``, ``Expected``)."""


def logrank_test(
    time: np.ndarray, event: np.ndarray, group: np.ndarray, *, levels: Sequence[str] | None = None
) -> LogRankResult:
    """Log-rank test of arrays (rows whose group is None are left out).

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    group
        Group label of each row.
    levels
        The groups in order (default: sorted labels); R drops the first one with a
        positive expectation from the quadratic form.

    Returns
    -------
    LogRankResult
        Chi-square, degrees of freedom, p-value and the per-group table.
    """
    group = np.asarray(group, dtype=object)
    present = np.array([g is not None for g in group], dtype=bool)
    time = np.asarray(time, dtype=float)[present]
    event = np.asarray(event).astype(np.int64)[present]
    group = group[present]
    if levels is None:
        levels = sorted(set(group.tolist()))
    levels = list(levels)
    code = np.full(len(group), -1, dtype=np.int64)
    for i, level in enumerate(levels):
        code[group == level] = i
    k = len(levels)
    uniq, inverse = np.unique(time, return_inverse=True)
    m = len(uniq)
    # at risk per time and group: subjects with time >= t
    count = np.zeros((m, k))
    deaths = np.zeros((m, k))
    np.add.at(count, (inverse, code), 1.0)
    np.add.at(deaths, (inverse, code), event.astype(float))
    risk = np.cumsum(count[::-1], axis=0)[::-1]
    n = risk.sum(axis=1)
    d = deaths.sum(axis=1)
    has = d > 0
    risk, n, d, deaths = risk[has], n[has], d[has], deaths[has]
    expected = (risk * (d / n)[:, None]).sum(axis=0)
    observed = deaths.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n * (n - 1)), 0.0)
    var = np.diag((risk * factor[:, None]).sum(axis=0)) - (risk * (factor / n)[:, None]).T @ risk
    use = np.flatnonzero(expected > 0)
    df = len(use) - 1
    if df >= 1:
        keep = use[1:]
        diff = (observed - expected)[keep]
        chisq = float(diff @ np.linalg.solve(var[np.ix_(keep, keep)], diff))
        p = float(chi2.sf(chisq, df))
    else:
        chisq, p = 0.0, float("nan")
    table = pd.DataFrame(
        {
            "group": pd.Series(levels, dtype=str),
            "n": np.bincount(code, minlength=k).astype(np.int64),
            "observed": observed,
            "expected": expected,
        }
    )
    return LogRankResult(chisq=chisq, df=max(df, 0), p=p, table=table)


def logrank(
    data: Any,
    *,
    time: str,
    event: str,
    group: str,
    covars: Sequence[str] = (),
    event_coding: Sequence[float] | str = (0, 1),
    lake: Any = None,
) -> LogRankResult:
    """Log-rank test of a table, as R ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    time, event
        The time and event columns (event 1 = event, 0 = censored by default).
    group
        The column whose values define the groups; rows with a missing group are left out.
    covars
        Covariates whose missing values drop a row (as in :func:`survival_analysis`).
    event_coding
        The ``(censored, event)`` codes: ``(0, 1)`` or R's ``(1, 2)``.
    lake
        The lake for ``lake:NAME`` inputs.

    Returns
    -------
    LogRankResult
        Chi-square, degrees of freedom, p-value and the per-group table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "d": [1, 1, 1, 0, 1, 1, 0, 1], "arm": list("aaaabbbb")})
    >>> round(logrank(df, time="t", event="d", group="arm").p, 4)
    0.0401
    """
    from biolake.errors import check_param
    from biolake.precision.survival._data import check_event_coding, prepare

    check_param("logrank", "group", group, isinstance(group, str) and bool(group), "a column name")
    coding = check_event_coding("logrank", event_coding)
    design = prepare(
        data, time=time, event=event, covars=covars, group=group, event_coding=coding, lake=lake, function="logrank"
    )
    assert design.group is not None
    return logrank_test(design.time, design.event, design.group, levels=design.group_levels)
