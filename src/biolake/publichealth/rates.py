"""Crude and age-standardized rates (as R ``epitools``), for every group of a table at once.

:func:`rates` reads a table of event counts and populations (person-years), one row per
group and age group, and computes per group (``by`` columns):

* without ``age_col``: the crude rate ``Σcount / Σpopulation`` with the exact (Garwood)
  Poisson CI of R ``poisson.test`` (``epitools::pois.exact`` finds the same limits by
  ``uniroot``, to its tolerance of about 1e-4);
* ``method="direct"``: the directly standardized rate ``Σ w_i count_i/pop_i`` (``w`` the
  standard population's age distribution) with the Fay–Feuer (1997) gamma CI, as
  ``epitools::ageadjust.direct``;
* ``method="indirect"``: observed and expected counts (standard age-specific rates ×
  the group's population), the SMR = observed/expected with the exact Poisson CI
  (``smr_ci="exact"``; ``poisson.test(observed, expected)``) or the log-normal CI of
  ``epitools::ageadjust.indirect`` (``smr_ci="log-normal"``), and the indirectly
  standardized rate SMR × the standard's crude rate.

The standard population table has the age column (same name as ``age_col``) and
``population``; for the indirect method also ``count`` (events in the standard) or
``rate`` (events per person). Every age group of the data must be in the standard, and
each group must have one row per age group of the standard.

Rates (``rate``, ``crude_rate``, ``adj_rate`` and their limits) are per ``per`` persons
(default 100,000); SMRs are ratios.

Result columns: the ``by`` columns, then

* crude: ``count population rate ci_lower ci_upper``;
* direct: ``count population crude_rate adj_rate ci_lower ci_upper``;
* indirect: ``observed expected smr smr_lower smr_upper population crude_rate adj_rate
  ci_lower ci_upper``.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"age": ["young", "old"], "deaths": [10, 40], "py": [20000, 10000]})
>>> std = pd.DataFrame({"age": ["young", "old"], "population": [60000, 40000]})
>>> rates(df, count_col="deaths", population_col="py", age_col="age", standard=std).round(2)
   count  population  crude_rate  adj_rate  ci_lower  ci_upper
0     50       30000      166.67     190.0    140.77    251.08
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.publichealth._epidata import numeric_column, read_columns, spec_of
from biolake.publichealth._twobytwo import TWO_BY_TWO_COLUMNS, two_by_two, two_by_two_job
from biolake.stats.epitables import direct_standardize, indirect_standardize, poisson_rate_ci

__all__ = [
    "RATE_METHODS",
    "SMR_CI",
    "TWO_BY_TWO_COLUMNS",
    "rates",
    "rates_job",
    "two_by_two",
    "two_by_two_job",
]

RATE_METHODS = ("direct", "indirect")
SMR_CI = ("exact", "log-normal")


def _check(
    function: str, method: str, per: float, conf_level: float, smr_ci: str, age_col: str | None, standard: Any
) -> None:
    check_param(function, "method", method, method in RATE_METHODS, f"one of {', '.join(RATE_METHODS)}")
    check_param(function, "per", per, isinstance(per, int | float) and per > 0, "a number > 0")
    check_param(function, "conf_level", conf_level, 0 < conf_level < 1, "a number between 0 and 1")
    check_param(function, "smr_ci", smr_ci, smr_ci in SMR_CI, f"one of {', '.join(SMR_CI)}")
    if (age_col is None) != (standard is None):
        raise InputError("age standardization needs both --age-col and --standard")


def _read_standard(standard: Any, age_col: str, method: str, lake: Any) -> tuple[pd.DataFrame, str]:
    """The standard table: age group → population (and rate for the indirect method)."""
    optional = ("count", "rate") if method == "indirect" else ()
    std, source = read_columns(standard, [age_col, "population"], lake=lake, optional=optional)
    if method == "indirect" and "count" not in std and "rate" not in std:
        raise InputError("the standard needs a column 'count' (events) or 'rate' (events per person)", file=source)
    std["population"] = numeric_column(
        std, "population", source, what="standard population", positive=method == "direct"
    )
    if method == "indirect":
        if "count" in std:
            cnt = numeric_column(std, "count", source, what="standard count")
            pop = std["population"].to_numpy()
            if (pop <= 0).any():
                i = int(np.flatnonzero(pop <= 0)[0])
                raise InputError("standard population must be > 0", file=source, record=i + 1, column="population")
            std["rate"] = cnt / pop
            std["count"] = cnt
        else:
            std["rate"] = numeric_column(std, "rate", source, what="standard rate")
            std["count"] = std["rate"] * std["population"]
    dup = std[age_col].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"age group {std[age_col].iloc[i]!r} appears twice", file=source, record=i + 1, column=age_col)
    if std[age_col].isna().any():
        i = int(np.flatnonzero(std[age_col].isna().to_numpy())[0])
        raise InputError("missing age group", file=source, record=i + 1, column=age_col)
    return std, source


def rates(
    data: Any,
    *,
    count_col: str,
    population_col: str,
    by: Sequence[str] = (),
    age_col: str | None = None,
    standard: Any = None,
    method: str = "direct",
    per: float = 100_000,
    conf_level: float = 0.95,
    smr_ci: str = "exact",
    lake: Any = None,
) -> pd.DataFrame:
    """Crude or age-standardized rates with confidence intervals, one row per group.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    count_col, population_col
        Event counts (non-negative whole numbers) and population or person-time (> 0
        for the crude and direct methods; ≥ 0 for the indirect one).
    by
        Group columns (none: one row for the whole table).
    age_col, standard
        Age group column and the standard population table (a DataFrame, file or lake
        table); both or neither.
    method
        ``direct`` or ``indirect`` (with ``age_col``).
    per
        Rates per this many persons.
    conf_level
        Confidence level.
    smr_ci
        Indirect method: ``exact`` (Poisson) or ``log-normal`` (as ``ageadjust.indirect``).
    lake
        The lake holding ``lake:NAME`` tables.

    Returns
    -------
    pandas.DataFrame
        The columns listed in the module docstring.
    """
    by = [by] if isinstance(by, str) else list(by)
    _check("rates", method, per, conf_level, smr_ci, age_col, standard)
    cols = [*by, count_col, population_col] + ([age_col] if age_col else [])
    df, source = read_columns(data, cols, lake=lake)
    count = numeric_column(df, count_col, source, what="count", integer=True)
    pop = numeric_column(df, population_col, source, what="population", positive=method == "direct" or not age_col)
    for key in by + ([age_col] if age_col else []):
        if df[key].isna().any():
            i = int(np.flatnonzero(df[key].isna().to_numpy())[0])
            raise InputError("missing value", file=source, record=i + 1, column=key)
    frame = pd.DataFrame({"__count": count, "__pop": pop})
    for key in by:
        frame[key] = df[key].to_numpy()
    groups = frame.groupby(by, sort=True, dropna=False) if by else [((), frame)]
    rows: list[dict[str, Any]] = []
    if age_col is None:
        for _, g in groups:
            x, t = float(g["__count"].sum()), float(g["__pop"].sum())
            rate, lo, hi = poisson_rate_ci(x, t, conf_level=conf_level)
            rows.append({"count": x, "population": t, "rate": rate * per, "ci_lower": lo * per, "ci_upper": hi * per})
        return _finish(rows, groups, by, count_col=("count", "population"))
    std, std_source = _read_standard(standard, age_col, method, lake)
    frame["__age"] = df[age_col].to_numpy()
    std_index = {v: i for i, v in enumerate(std[age_col].tolist())}
    unknown = ~frame["__age"].isin(list(std_index))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            f"age group {frame['__age'].iloc[i]!r} is not in the standard ({std_source})",
            file=source,
            record=i + 1,
            column=age_col,
        )
    std_pop = std["population"].to_numpy(dtype=np.float64)
    for key, g in groups:
        where = "" if not by else " of group " + ", ".join(f"{k}={v}" for k, v in zip(by, _tuple(key), strict=True))
        pos = g["__age"].map(std_index).to_numpy()
        if len(np.unique(pos)) != len(pos):
            dup = g["__age"][g["__age"].duplicated()].iloc[0]
            raise InputError(f"age group {dup!r} appears twice{where}", file=source, column=age_col)
        if len(pos) != len(std_index):
            missing = next(a for a in std_index if a not in set(g["__age"]))
            raise InputError(f"no row for age group {missing!r}{where}", file=source, column=age_col)
        x = np.zeros(len(std_index))
        n = np.zeros(len(std_index))
        x[pos] = g["__count"].to_numpy()
        n[pos] = g["__pop"].to_numpy()
        if method == "direct":
            crude, adj, lo, hi = direct_standardize(x, n, std_pop, conf_level=conf_level)
            rows.append(
                {
                    "count": x.sum(),
                    "population": n.sum(),
                    "crude_rate": crude * per,
                    "adj_rate": adj * per,
                    "ci_lower": lo * per,
                    "ci_upper": hi * per,
                }
            )
        else:
            std_crude = float(std["count"].sum() / std["population"].sum())
            r = indirect_standardize(x, n, std["rate"].to_numpy(), std_crude, conf_level=conf_level, ci=smr_ci)
            rows.append(
                {
                    "observed": r["observed"],
                    "expected": r["expected"],
                    "smr": r["smr"],
                    "smr_lower": r["smr_lower"],
                    "smr_upper": r["smr_upper"],
                    "population": n.sum(),
                    "crude_rate": r["crude_rate"] * per,
                    "adj_rate": r["adj_rate"] * per,
                    "ci_lower": r["ci_lower"] * per,
                    "ci_upper": r["ci_upper"] * per,
                }
            )
    return _finish(rows, groups, by, count_col=("count", "observed", "population"))


def _tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _finish(rows: list[dict[str, Any]], groups: Any, by: list[str], *, count_col: tuple[str, ...]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    if by:
        keys = pd.DataFrame([_tuple(k) for k, _ in groups], columns=by)
        out = pd.concat([keys, out], axis=1)
    for col in count_col:
        if col in out and np.all(out[col] == np.floor(out[col])):
            out[col] = out[col].astype(np.int64)
    return out


def rates_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    count_col: str,
    population_col: str,
    by: Sequence[str] = (),
    age_col: str | None = None,
    standard: str | os.PathLike[str] | None = None,
    method: str = "direct",
    per: float = 100_000,
    conf_level: float = 0.95,
    smr_ci: str = "exact",
) -> tuple[str, str]:
    """:func:`rates` as a lake run: write the result to ``out`` and register it; returns (run id, dataset)."""
    by = [by] if isinstance(by, str) else list(by)
    _check("rates", method, per, conf_level, smr_ci, age_col, standard)
    spec = spec_of(data)
    std_spec = None if standard is None else spec_of(standard)
    params = {
        "data": spec,
        "out": str(out),
        "count_col": count_col,
        "population_col": population_col,
        "by": by,
        "age_col": age_col,
        "standard": std_spec,
        "method": method if age_col else "crude",
        "per": per,
        "conf_level": conf_level,
        "smr_ci": smr_ci,
    }
    inputs = [spec] + ([std_spec] if std_spec else [])
    with lake.run("publichealth rates", params=params, inputs=inputs) as run:
        for item in inputs:
            if not item.startswith("lake:"):
                run.hash_input(item)
        result = rates(
            spec,
            count_col=count_col,
            population_col=population_col,
            by=by,
            age_col=age_col,
            standard=std_spec,
            method=method,
            per=per,
            conf_level=conf_level,
            smr_ci=smr_ci,
            lake=lake,
        )
        name = run.result(result, out)
        run.annotate(name, attrs={"by": by, "method": params["method"], "per": per})
    return run.id, name
