"""2×2 tables of exposure by outcome: risk ratio, odds ratio and risk difference (as R epitools/epiR).

:func:`two_by_two` tabulates a line list (one row per person, or per cell with
``count_col``) for each exposure column, overall and per stratum, and reports

* ``risk_ratio``/``wald`` — ``epitools::riskratio(method = "wald")`` (the default method);
* ``odds_ratio``/``wald`` — ``epitools::oddsratio(method = "wald")``;
* ``odds_ratio``/``midp`` — ``epitools::oddsratio``'s default: the median-unbiased
  estimate with the mid-p exact CI (limits to full precision; epitools' ``uniroot``
  stops within about 1e-4) and the two-sided mid-p value;
* ``risk_difference``/``wald`` — ``epiR::epi.2by2`` (``ARisk.strata.wald``, as a proportion);
* with strata, rows ``stratum = "mantel-haenszel"``: the Mantel–Haenszel risk ratio, odds
  ratio and risk difference of ``epiR::epi.2by2`` (``RR.mh.wald``, ``OR.mh.wald``,
  ``ARisk.mh.wald``), ``p`` from the Cochran–Mantel–Haenszel test
  (``mantelhaen.test(correct = FALSE)``), and the homogeneity tests Woolf (risk ratio,
  epiR ``wRR.homog``) and Breslow–Day (odds ratio, epiR ``bOR.homog``).

``p`` of the Wald rows is Pearson's chi-square test without continuity correction
(epitools' ``chi.square``). Rows with a missing exposure, outcome or stratum are left out.

Result columns (:data:`TWO_BY_TWO_COLUMNS`): ``exposure stratum measure method estimate
ci_lower ci_upper p a b c d homogeneity_test homogeneity_stat homogeneity_df
homogeneity_p`` with ``a`` exposed cases, ``b`` exposed non-cases, ``c`` unexposed cases,
``d`` unexposed non-cases; ``stratum`` is ``crude`` for the whole table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.publichealth._epidata import as_binary, numeric_column, read_columns, spec_of
from biolake.stats.epitables import (
    chi2_p,
    mantel_haenszel,
    odds_ratio_midp,
    odds_ratio_wald,
    risk_difference_wald,
    risk_ratio_wald,
)

__all__ = ["TWO_BY_TWO_COLUMNS", "stratified_cells", "two_by_two", "two_by_two_job"]

TWO_BY_TWO_COLUMNS = (
    "exposure",
    "stratum",
    "measure",
    "method",
    "estimate",
    "ci_lower",
    "ci_upper",
    "p",
    "a",
    "b",
    "c",
    "d",
    "homogeneity_test",
    "homogeneity_stat",
    "homogeneity_df",
    "homogeneity_p",
)


def stratified_cells(
    exposed: np.ndarray, case: np.ndarray, weight: np.ndarray, strata: np.ndarray | None
) -> pd.DataFrame:
    """Cells a, b, c, d per stratum (sorted; complete cases only) — one row per stratum."""
    ok = ~np.isnan(exposed) & ~np.isnan(case)
    if strata is not None:
        ok &= pd.notna(strata)
    frame = pd.DataFrame(
        {
            "stratum": (strata[ok] if strata is not None else np.full(int(ok.sum()), "crude")),
            "a": weight[ok] * ((exposed[ok] == 1) & (case[ok] == 1)),
            "b": weight[ok] * ((exposed[ok] == 1) & (case[ok] == 0)),
            "c": weight[ok] * ((exposed[ok] == 0) & (case[ok] == 1)),
            "d": weight[ok] * ((exposed[ok] == 0) & (case[ok] == 0)),
        }
    )
    return frame.groupby("stratum", sort=True).sum().reset_index()


def _measures(exposure: str, stratum: str, cells: np.ndarray, conf_level: float) -> list[dict[str, Any]]:
    a, b, c, d = (float(v) for v in cells)
    base = {"exposure": exposure, "stratum": stratum, "a": a, "b": b, "c": c, "d": d}
    p_chi = float(chi2_p(a, b, c, d))
    rows = []
    for measure, method, fun in (
        ("risk_ratio", "wald", risk_ratio_wald),
        ("odds_ratio", "wald", odds_ratio_wald),
        ("risk_difference", "wald", risk_difference_wald),
    ):
        est, lo, hi = (float(v) for v in fun(a, b, c, d, conf_level=conf_level))
        rows.append(
            {**base, "measure": measure, "method": method, "estimate": est, "ci_lower": lo, "ci_upper": hi, "p": p_chi}
        )
    est, lo, hi, p = (float(v) for v in odds_ratio_midp(a, b, c, d, conf_level=conf_level))
    rows.insert(
        2, {**base, "measure": "odds_ratio", "method": "midp", "estimate": est, "ci_lower": lo, "ci_upper": hi, "p": p}
    )
    return rows


def _mh_rows(exposure: str, tab: pd.DataFrame, conf_level: float) -> list[dict[str, Any]]:
    mh = mantel_haenszel(tab["a"], tab["b"], tab["c"], tab["d"], conf_level=conf_level)
    sums = {k: float(tab[k].sum()) for k in "abcd"}
    base = {"exposure": exposure, "stratum": "mantel-haenszel", **sums, "p": mh.cmh_p}
    return [
        {**base, "measure": "risk_ratio", "method": "mh", **_ci(mh.risk_ratio), "homogeneity_test": "woolf",
         "homogeneity_stat": mh.woolf_rr, "homogeneity_df": mh.df, "homogeneity_p": mh.woolf_rr_p},
        {**base, "measure": "odds_ratio", "method": "mh", **_ci(mh.odds_ratio), "homogeneity_test": "breslow-day",
         "homogeneity_stat": mh.breslow_day, "homogeneity_df": mh.df, "homogeneity_p": mh.breslow_day_p},
        {**base, "measure": "risk_difference", "method": "mh", **_ci(mh.risk_difference)},
    ]  # fmt: skip


def _ci(values: tuple[float, float, float]) -> dict[str, float]:
    return {"estimate": values[0], "ci_lower": values[1], "ci_upper": values[2]}


def two_by_two(
    data: Any,
    *,
    exposure: str | Sequence[str],
    outcome: str,
    strata: str | None = None,
    count_col: str | None = None,
    exposed_value: str | None = None,
    case_value: str | None = None,
    conf_level: float = 0.95,
    lake: Any = None,
) -> pd.DataFrame:
    """Risk ratio, odds ratio and risk difference of each exposure, overall, per stratum and pooled (MH).

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table: one row per person (or per
        cell, with ``count_col``).
    exposure
        Exposure column(s): binary (0/1, booleans, yes/no, y/n, …, or ``exposed_value``).
    outcome
        Outcome column, binary as the exposure (or ``case_value``).
    strata
        Stratum column: per-stratum tables and the Mantel–Haenszel summary.
    count_col
        Number of persons each row stands for.
    exposed_value, case_value
        The value of the exposure / outcome columns that counts as exposed / a case.
    conf_level
        Confidence level.
    lake
        The lake holding ``lake:NAME`` tables.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TWO_BY_TWO_COLUMNS`.

    Examples
    --------
    >>> df = pd.DataFrame({"ham": [1, 1, 1, 0, 0, 0, 1, 0], "ill": [1, 1, 0, 0, 1, 0, 1, 0]})
    >>> res = two_by_two(df, exposure="ham", outcome="ill")
    >>> res.loc[res.method == "wald", ["measure", "estimate"]].round(3).to_string(index=False)
    '        measure  estimate\\n     risk_ratio       3.0\\n     odds_ratio       9.0\\nrisk_difference       0.5'
    """
    exposures = [exposure] if isinstance(exposure, str) else list(exposure)
    check_param("two_by_two", "exposure", exposures, len(exposures) >= 1, "one or more column names")
    check_param("two_by_two", "conf_level", conf_level, 0 < conf_level < 1, "a number between 0 and 1")
    cols = [*exposures, outcome] + ([strata] if strata else []) + ([count_col] if count_col else [])
    df, source = read_columns(data, cols, lake=lake)
    case = as_binary(df[outcome], outcome, source, positive=case_value)
    weight = numeric_column(df, count_col, source, what="count", integer=True) if count_col else np.ones(len(df))
    strat = None
    if strata:
        codes, uniques = pd.factorize(df[strata])  # text of each distinct value once; None where missing
        strat = np.array([str(v) for v in uniques] + [None], dtype=object)[np.where(codes >= 0, codes, len(uniques))]
    rows: list[dict[str, Any]] = []
    for col in exposures:
        exposed = as_binary(df[col], col, source, positive=exposed_value)
        if strat is not None:
            tab = stratified_cells(exposed, case, weight, strat)
            crude = tab[["a", "b", "c", "d"]].sum().to_numpy()
        else:
            tab = stratified_cells(exposed, case, weight, None)
            crude = tab[["a", "b", "c", "d"]].sum().to_numpy() if len(tab) else np.zeros(4)
        if crude.sum() == 0:
            raise InputError(f"no complete rows for exposure {col!r} and outcome {outcome!r}", file=source)
        rows += _measures(col, "crude", crude, conf_level)
        if strat is not None:
            for _, r in tab.iterrows():
                rows += _measures(col, str(r["stratum"]), r[["a", "b", "c", "d"]].to_numpy(dtype=float), conf_level)
            rows += _mh_rows(col, tab, conf_level)
    out = pd.DataFrame(rows)
    for name in TWO_BY_TWO_COLUMNS:
        if name not in out:
            out[name] = None
    out = out[list(TWO_BY_TWO_COLUMNS)]
    for name in ("a", "b", "c", "d"):
        if np.all(out[name] == np.floor(out[name])):
            out[name] = out[name].astype(np.int64)
    out["homogeneity_df"] = out["homogeneity_df"].astype("Int64")
    for name in ("homogeneity_stat", "homogeneity_p"):
        out[name] = out[name].astype(np.float64)
    out["homogeneity_test"] = out["homogeneity_test"].astype(object).where(out["homogeneity_test"].notna(), None)
    return out


def two_by_two_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    exposure: str | Sequence[str],
    outcome: str,
    strata: str | None = None,
    count_col: str | None = None,
    exposed_value: str | None = None,
    case_value: str | None = None,
    conf_level: float = 0.95,
) -> tuple[str, str]:
    """:func:`two_by_two` as a lake run: write the result to ``out`` and register it; returns (run id, dataset)."""
    exposures = [exposure] if isinstance(exposure, str) else list(exposure)
    check_param("two_by_two", "conf_level", conf_level, 0 < conf_level < 1, "a number between 0 and 1")
    spec = spec_of(data)
    params = {
        "data": spec,
        "out": str(out),
        "exposure": exposures,
        "outcome": outcome,
        "strata": strata,
        "count_col": count_col,
        "exposed_value": exposed_value,
        "case_value": case_value,
        "conf_level": conf_level,
    }
    with lake.run("publichealth two-by-two", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        result = two_by_two(
            spec,
            exposure=exposures,
            outcome=outcome,
            strata=strata,
            count_col=count_col,
            exposed_value=exposed_value,
            case_value=case_value,
            conf_level=conf_level,
            lake=lake,
        )
        name = run.result(result, out)
        run.annotate(name, attrs={"exposure": exposures, "outcome": outcome, "strata": strata})
    return run.id, name
