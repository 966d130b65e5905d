"""Kaplan–Meier curves with Greenwood standard errors and log-transformed CIs, as R ``survfit``.

For each group, at each distinct time with at least one event (``summary(survfit(...))``'s
rows): ``n_risk`` subjects with time ≥ t, ``n_event`` events at t, the product-limit
estimate ``survival = Π (1 − d/n)``, its Greenwood standard error
``std_err = survival · sqrt(Σ d / (n (n − d)))`` (R's ``std.err`` of the summary) and the
log-transformed confidence interval ``survival · exp(∓ z · sqrt(Σ d / (n (n − d))))`` with
``z = Φ⁻¹(1 − (1 − conf_int)/2)``, the upper limit clipped at 1 (survfit's default
``conf.type = "log"``). Where the estimate reaches 0 the standard error and the limits are
missing (NaN), as R's NA.

Examples
--------
>>> import numpy as np
>>> km = kaplan_meier_table(np.array([1.0, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0]))
>>> km[["time", "n_risk", "n_event", "survival"]].round(4).to_dict("list")
{'time': [1.0, 2.0, 3.0], 'n_risk': [5, 4, 2], 'n_event': [1, 1, 1], 'survival': [0.8, 0.6, 0.3]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from biolake.errors import check_param

__all__ = ["KM_COLUMNS", "kaplan_meier", "kaplan_meier_table"]

KM_COLUMNS = ("group", "time", "n_risk", "n_event", "survival", "std_err", "ci_lower", "ci_upper")
"""Columns of the Kaplan–Meier table."""


def _curve(time: np.ndarray, event: np.ndarray, z: float) -> dict[str, np.ndarray]:
    order = np.argsort(time, kind="stable")
    t = time[order]
    e = event[order].astype(np.int64)
    uniq, first = np.unique(t, return_index=True)
    n = len(t)
    n_risk = n - first  # rows with time >= t
    n_event = np.add.reduceat(e, first) if n else np.zeros(0, dtype=np.int64)
    keep = n_event > 0
    uniq, n_risk, n_event = uniq[keep], n_risk[keep], n_event[keep]
    surv = np.cumprod(1.0 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(n_event / (n_risk * (n_risk - n_event)).astype(float))
        se_log = np.sqrt(green)
        std_err = surv * se_log
        lower = surv * np.exp(-z * se_log)
        upper = np.minimum(surv * np.exp(z * se_log), 1.0)
    zero = surv == 0
    std_err[zero | ~np.isfinite(std_err)] = np.nan
    lower[zero] = np.nan
    upper[zero] = np.nan
    return {
        "time": uniq,
        "n_risk": n_risk.astype(np.int64),
        "n_event": n_event.astype(np.int64),
        "survival": surv,
        "std_err": std_err,
        "ci_lower": lower,
        "ci_upper": upper,
    }


def kaplan_meier_table(
    time: np.ndarray,
    event: np.ndarray,
    *,
    group: np.ndarray | None = None,
    levels: Sequence[str] | None = None,
    conf_int: float = 0.95,
) -> pd.DataFrame:
    """The Kaplan–Meier table (:data:`KM_COLUMNS`) of arrays; one curve per group.

    Parameters
    ----------
    time, event
        Follow-up times and event indicators (1 = event, 0 = censored).
    group
        Group label of each row (None = one curve, labelled ``all``; rows whose label is
        None are left out).
    levels
        The groups in output order (default: sorted labels).
    conf_int
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group and event time.
    """
    check_param("kaplan_meier_table", "conf_int", conf_int, 0 < conf_int < 1, "a number in (0, 1)")
    z = float(norm.ppf(1 - (1 - conf_int) / 2))
    time = np.asarray(time, dtype=float)
    event = np.asarray(event)
    parts = []
    if group is None:
        parts.append(("all", _curve(time, event, z)))
    else:
        group = np.asarray(group, dtype=object)
        present = np.array([g is not None for g in group], dtype=bool)
        if levels is None:
            levels = sorted(set(group[present].tolist()))
        for level in levels:
            mask = present & (group == level)
            parts.append((str(level), _curve(time[mask], event[mask], z)))
    frames = [pd.DataFrame({"group": [label] * len(c["time"]), **c}) for label, c in parts]
    if not frames:
        return pd.DataFrame({c: [] for c in KM_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    out["group"] = out["group"].astype(str)
    return out[list(KM_COLUMNS)]


def kaplan_meier(
    data: Any,
    *,
    time: str,
    event: str,
    group: str | None = None,
    covars: Sequence[str] = (),
    event_coding: Sequence[float] | str = (0, 1),
    conf_int: float = 0.95,
    lake: Any = None,
) -> pd.DataFrame:
    """Kaplan–Meier curves of a table, as R ``summary(survfit(Surv(time, event) ~ group))``.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    time, event
        The time and event columns (event 1 = event, 0 = censored by default).
    group
        A column whose values define the curves (default: one curve, group ``all``).
        Rows with a missing group are left out.
    covars
        Covariates whose missing values drop a row (as in :func:`survival_analysis`).
    event_coding
        The ``(censored, event)`` codes: ``(0, 1)`` or R's ``(1, 2)`` (also as ``"1,2"``).
    conf_int
        Confidence level of the log-transformed intervals.
    lake
        The lake for ``lake:NAME`` inputs.

    Returns
    -------
    pandas.DataFrame
        Columns ``group time n_risk n_event survival std_err ci_lower ci_upper``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [3, 5, 5, 8, 9, 12], "d": [1, 1, 0, 1, 0, 1], "arm": list("ababab")})
    >>> kaplan_meier(df, time="t", event="d", group="arm")[["group", "time", "survival"]].round(3)
      group  time  survival
    0     a   3.0     0.667
    1     b   5.0     0.667
    2     b   8.0     0.333
    3     b  12.0     0.000
    """
    from biolake.precision.survival._data import check_event_coding, prepare

    coding = check_event_coding("kaplan_meier", event_coding)
    design = prepare(
        data,
        time=time,
        event=event,
        covars=covars,
        group=group,
        event_coding=coding,
        lake=lake,
        function="kaplan_meier",
    )
    return kaplan_meier_table(
        design.time,
        design.event,
        group=design.group,
        levels=design.group_levels if group else None,
        conf_int=conf_int,
    )
