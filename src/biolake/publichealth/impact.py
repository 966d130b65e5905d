"""Evaluation of interventions: interrupted time series, difference-in-differences, synthetic control.

Three designs, each a public function returning an :class:`ImpactResult` (an *effects*
table and a *series* table) and run as a lake job by :func:`impact_job`
(``biolake publichealth impact its|did|synth``):

* :func:`interrupted_time_series` — segmented regression of each series (``by``) on
  ``time + level + slope`` (see :mod:`biolake.publichealth._its`): OLS with Newey–West
  SEs (R ``sandwich::NeweyWest(prewhite = FALSE)``), or Poisson / quasi-Poisson /
  negative-binomial GLMs (R ``glm``, ``MASS::glm.nb``) with Fourier or month seasonality
  and a log-population offset; the counterfactual (level = slope = 0) with its band.
* :func:`difference_in_differences` — two-way fixed effects or an event study with SEs
  clustered by unit (R ``sandwich::vcovCL(type = "HC1")``), see :mod:`biolake.publichealth._did`.
* :func:`synthetic_control` — donor weights for one treated unit and in-space placebo
  inference, see :mod:`biolake.publichealth._synth`.

Effects tables have the columns ``term estimate se ci_lower ci_upper p`` (after the
series keys for ITS, with ``model`` first); series tables hold ``observed``, ``fitted``,
``counterfactual`` and the band ``cf_lower``/``cf_upper``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> t = np.arange(1, 25)
>>> df = pd.DataFrame({"week": t, "count": 10 + 0.5 * t - 4.0 * (t >= 13) + np.tile([0.3, -0.3], 12)})
>>> res = interrupted_time_series(df, outcome_col="count", date_col="week", intervention=13, lag=1)
>>> res.effects.set_index("term").loc[["level", "slope"], ["estimate", "se"]].round(4).values.tolist()
[[-3.849, 0.124], [-0.0, 0.0129]]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.publichealth._did import DID_DESIGNS, fit_did
from biolake.publichealth._frame import (
    check_counts,
    check_numeric,
    check_regular,
    check_unique,
    parse_time_point,
    read_frame,
    time_values,
)
from biolake.publichealth._its import ITS_MODELS, SEASONS, ItsSpec, fit_its
from biolake.publichealth._synth import synth_placebos

__all__ = [
    "EFFECT_COLUMNS",
    "ImpactResult",
    "difference_in_differences",
    "impact_job",
    "interrupted_time_series",
    "synthetic_control",
]

EFFECT_COLUMNS = ("term", "estimate", "se", "ci_lower", "ci_upper", "p")


@dataclass
class ImpactResult:
    """Effects (``term estimate se ci_lower ci_upper p``), series, and a summary of the fit."""

    effects: pd.DataFrame
    series: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _time_out(values: np.ndarray) -> Any:
    """Times for result tables: dates without a time of day become ``datetime.date``."""
    if np.issubdtype(np.asarray(values).dtype, np.datetime64):
        idx = pd.DatetimeIndex(values)
        if bool((idx == idx.normalize()).all()):
            return idx.date
    return values


def _check_level(function: str, level: float) -> None:
    check_param(function, "level", level, isinstance(level, float | int) and 0 < level < 1, "a number in (0, 1)")


# --------------------------------------------------------------------------- ITS


def interrupted_time_series(
    data: Any,
    *,
    intervention: Any,
    outcome_col: str = "count",
    date_col: str = "date",
    by: Sequence[str] = (),
    model: str = "ols",
    covariates: Sequence[str] = (),
    season: str = "none",
    harmonics: int = 2,
    period: float = 12.0,
    population_col: str | None = None,
    lag: int | None = None,
    hac_adjust: bool = False,
    level: float = 0.95,
    lake: Any = None,
) -> ImpactResult:
    """Segmented regression of every series around an intervention.

    Parameters
    ----------
    data
        Long table: a DataFrame, a CSV/TSV/Parquet file or ``lake:NAME``; one row per
        series and time point, consecutive time points (the fit uses ``time = 1 … n``).
    intervention
        First time point under the intervention (a date, or a number for a numeric time column).
    outcome_col, date_col, by
        Outcome (a count for the GLMs), time column (dates or period numbers), series keys.
    model
        ``ols`` (Newey–West SEs), ``poisson``, ``quasipoisson`` or ``negbin``.
    covariates
        Numeric columns added to the model.
    season, harmonics, period
        ``none``, ``fourier`` (``harmonics`` sine/cosine pairs of the given ``period`` in
        time steps: 12 for monthly, 52 for weekly data) or ``month`` (month indicators).
    population_col
        GLMs: population column, entered as the offset ``log(population)``.
    lag, hac_adjust
        OLS: Newey–West lag (default ``floor(4 (n/100)^(2/9))``) and R's ``adjust``
        (``n/(n − k)``; R's default ``False``).
    level
        Confidence level of the intervals and the counterfactual band.

    Returns
    -------
    ImpactResult
        ``effects``: series keys, ``model``, ``term estimate se ci_lower ci_upper p`` for
        every coefficient (``level``: the step, ``slope``: the change of trend; log scale for
        the GLMs; ``theta`` for ``negbin``). ``series``: keys, time, ``observed fitted
        counterfactual cf_lower cf_upper post``.
    """
    fn = "interrupted_time_series"
    check_param(fn, "model", model, model in ITS_MODELS, f"one of {', '.join(ITS_MODELS)}")
    check_param(fn, "season", season, season in SEASONS, f"one of {', '.join(SEASONS)}")
    check_param(fn, "harmonics", harmonics, isinstance(harmonics, int) and harmonics >= 1, "a positive integer")
    check_param(fn, "period", period, isinstance(period, float | int) and period > 1, "a number > 1")
    check_param(fn, "lag", lag, lag is None or (isinstance(lag, int) and lag >= 0), "None or an integer >= 0")
    _check_level(fn, level)
    if population_col is not None and model == "ols":
        raise InputError("a population offset needs a count model (--model poisson, quasipoisson or negbin)")
    by, covariates = _as_list(by), _as_list(covariates)
    columns = [*by, date_col, outcome_col, *covariates] + ([population_col] if population_col else [])
    frame, source = read_frame(data, columns=columns, lake=lake)
    times = time_values(frame, date_col, source)
    start = parse_time_point(intervention, times, "the intervention")
    y = check_counts(frame, outcome_col, source) if model != "ols" else check_numeric(frame, outcome_col, source)
    cov_values = {c: check_numeric(frame, c, source) for c in covariates}
    pop = None
    if population_col is not None:
        pop = check_numeric(frame, population_col, source)
        if np.any(pop <= 0):
            raise InputError("population must be positive", file=source, column=population_col)
    if season == "month" and not pd.api.types.is_datetime64_any_dtype(times):
        raise InputError("--season month needs a date column", file=source, column=date_col)
    work = frame[by].copy() if by else pd.DataFrame(index=frame.index)
    work["__t"] = times
    check_unique(work.assign(**{date_col: frame[date_col]}), [*by, date_col], source)
    spec = ItsSpec(
        model=model,
        season=season,
        harmonics=harmonics,
        period=float(period),
        lag=lag,
        hac_adjust=hac_adjust,
        level=float(level),
    )
    effects, series, times_out, eff_rows, ser_rows, key_values = [], [], [], [], [], []
    groups = work.groupby(by, sort=True, dropna=False).indices if by else {(): np.arange(len(work))}
    all_t = work["__t"].to_numpy()
    stamp = np.datetime64(start) if isinstance(start, pd.Timestamp) else start
    for key, idx in groups.items():
        idx = np.asarray(idx)[np.argsort(all_t[idx], kind="stable")]
        key = key if isinstance(key, tuple) else (key,)
        name = "the series" if not by else "series " + ", ".join(f"{k}={v}" for k, v in zip(by, key, strict=True))
        t = all_t[idx]
        check_regular(t, source, name)
        post = t >= stamp
        months = (t.astype("datetime64[M]").astype(np.int64) % 12 + 1) if season == "month" else None
        eff, ser = fit_its(
            y[idx],
            post,
            spec=spec,
            covariates={c: v[idx] for c, v in cov_values.items()},
            months=months,
            population=None if pop is None else pop[idx],
            series=name,
        )
        effects.append(eff)
        series.append(ser)
        times_out.append(t)
        eff_rows.append(len(eff))
        ser_rows.append(len(ser))
        key_values.append(key)
    eff_all = pd.concat(effects, ignore_index=True)
    ser_all = pd.concat(series, ignore_index=True)
    eff_all.insert(0, "model", model)
    ser_all.insert(0, date_col, _time_out(np.concatenate(times_out)))
    for i, k in enumerate(by):
        values = np.array([kv[i] for kv in key_values], dtype=object)
        eff_all.insert(i, k, np.repeat(values, eff_rows))
        ser_all.insert(i, k, np.repeat(values, ser_rows))
        eff_all[k] = eff_all[k].infer_objects()
        ser_all[k] = ser_all[k].infer_objects()
    summary = {
        "design": "its",
        "model": model,
        "series": len(key_values),
        "intervention": str(intervention),
        "season": season,
        "lag": lag,
        "hac_adjust": hac_adjust,
        "by": by,
    }
    return ImpactResult(eff_all, ser_all, summary)


# --------------------------------------------------------------------------- DiD


def difference_in_differences(
    data: Any,
    *,
    unit_col: str = "unit",
    time_col: str = "period",
    outcome_col: str = "y",
    treat_col: str = "treat",
    design: str = "twfe",
    leads: int | None = None,
    lags: int | None = None,
    covariates: Sequence[str] = (),
    hc_type: str = "HC1",
    level: float = 0.95,
    lake: Any = None,
) -> ImpactResult:
    """Difference-in-differences on a panel with SEs clustered by unit.

    Parameters
    ----------
    data
        Panel in long format (one row per unit and period): a DataFrame, file or ``lake:NAME``.
    unit_col, time_col, outcome_col, treat_col
        Unit, period (sortable: numbers or dates), outcome and the 0/1 indicator of a
        treated unit in a treated period.
    design
        ``twfe`` (one coefficient ``treat``) or ``event-study`` (``rel_k`` for every event
        time ``k ≠ −1``; ``rel_m1`` = 0 is the reference).
    leads, lags
        Event study: bin event times below ``−leads`` / above ``lags`` into the end points.
    covariates
        Numeric time-varying covariates.
    hc_type
        ``HC1`` (R ``vcovCL`` default for ``lm``) or ``HC0``.
    level
        Confidence level.

    Returns
    -------
    ImpactResult
        ``effects``: ``term estimate se ci_lower ci_upper p`` (+ ``event_time`` for the
        event study). ``series``: mean outcome per period of the ever-treated and the
        never-treated units (``group``, ``time``, ``mean_outcome``, ``units``).
    """
    fn = "difference_in_differences"
    check_param(fn, "design", design, design in DID_DESIGNS, f"one of {', '.join(DID_DESIGNS)}")
    check_param(fn, "hc_type", hc_type, hc_type in ("HC0", "HC1"), "'HC0' or 'HC1'")
    for name, value in (("leads", leads), ("lags", lags)):
        check_param(
            fn, name, value, value is None or (isinstance(value, int) and value >= 1), "None or an integer >= 1"
        )
    _check_level(fn, level)
    covariates = _as_list(covariates)
    frame, source = read_frame(data, columns=[unit_col, time_col, outcome_col, treat_col, *covariates], lake=lake)
    if frame[unit_col].isna().any():
        raise InputError("missing unit", file=source, column=unit_col)
    times = time_values(frame, time_col, source)
    check_unique(frame, [unit_col, time_col], source)
    y = check_numeric(frame, outcome_col, source)
    treat = check_numeric(frame, treat_col, source)
    cov_values = {c: check_numeric(frame, c, source) for c in covariates}
    table, summary = fit_did(
        y,
        frame[unit_col].astype(str).to_numpy(),
        times.to_numpy(),
        treat,
        design=design,
        leads=leads,
        lags=lags,
        covariates=cov_values,
        hc_type=hc_type,
        level=float(level),
        source=source,
    )
    ever = frame.assign(__treated=treat).groupby(unit_col)["__treated"].transform("max").to_numpy() > 0
    series = (
        pd.DataFrame({"group": np.where(ever, "treated", "comparison"), "time": _time_out(times.to_numpy()), "y": y})
        .groupby(["group", "time"], sort=True)
        .agg(mean_outcome=("y", "mean"), units=("y", "size"))
        .reset_index()
    )
    summary.update(design=design, hc_type=hc_type)
    return ImpactResult(table, series, summary)


# --------------------------------------------------------------------------- synthetic control


def synthetic_control(
    data: Any,
    *,
    treated: str,
    intervention: Any,
    unit_col: str = "unit",
    time_col: str = "period",
    outcome_col: str = "y",
    placebo: bool = True,
    lake: Any = None,
) -> ImpactResult:
    """Synthetic control of one treated unit (``V`` = identity on the pre-period outcomes) with placebos.

    Parameters
    ----------
    data
        Balanced panel in long format (one row per unit and period).
    treated
        The treated unit (a value of ``unit_col``; compared as text).
    intervention
        First period under the intervention (a date or a number, as the time column).
    unit_col, time_col, outcome_col
        Column names.
    placebo
        Run the in-space placebos (every donor as if treated) for the permutation p-value.

    Returns
    -------
    ImpactResult
        ``effects``: ``att`` (mean post-period gap, with the permutation ``p``), ``pre_rmspe``,
        ``post_rmspe``, ``rmspe_ratio`` and ``weight[UNIT]`` per donor, in the columns
        ``term estimate se ci_lower ci_upper p`` (no SE/CI: they are empty). ``series``:
        ``unit time role observed counterfactual gap post`` for the treated unit and the placebos.
    """
    frame, source = read_frame(data, columns=[unit_col, time_col, outcome_col], lake=lake)
    times = time_values(frame, time_col, source)
    start = parse_time_point(intervention, times, "the intervention")
    check_unique(frame, [unit_col, time_col], source)
    y = check_numeric(frame, outcome_col, source)
    units = frame[unit_col].astype(str)
    wide = pd.DataFrame({"u": units, "t": times, "y": y}).pivot(index="t", columns="u", values="y").sort_index()
    if wide.isna().any().any():
        col = wide.columns[wide.isna().any()][0]
        raise InputError(f"the panel is not balanced: unit {col} lacks some periods", file=source)
    if str(treated) not in wide.columns:
        raise InputError(f"no unit {treated!r} in column {unit_col!r}", file=source)
    if wide.shape[1] < 3:
        raise InputError("a synthetic control needs at least 2 donor units", file=source)
    stamp = np.datetime64(start) if isinstance(start, pd.Timestamp) else start
    post = wide.index.to_numpy() >= stamp
    n_pre = int((~post).sum())
    if n_pre < 1 or post.sum() < 1 or np.any(post[:n_pre]):
        raise InputError("the intervention must leave at least one period before and one after it", file=source)
    cols = list(wide.columns)
    k = cols.index(str(treated))
    fit = synth_placebos(wide.to_numpy(), k, n_pre, placebo=placebo)
    gap = wide.to_numpy()[:, k] - fit["synthetic"][:, k]
    nan = np.nan
    rows = [
        ("att", float(np.mean(gap[n_pre:])), fit["p"]),
        ("pre_rmspe", fit["pre_rmspe"][k], nan),
        ("post_rmspe", fit["post_rmspe"][k], nan),
        ("rmspe_ratio", fit["ratio"][k], fit["p"]),
    ]
    rows += [(f"weight[{u}]", fit["weights"][j], nan) for j, u in enumerate(cols) if j != k]
    effects = pd.DataFrame(
        {
            "term": [r[0] for r in rows],
            "estimate": [r[1] for r in rows],
            "se": nan,
            "ci_lower": nan,
            "ci_upper": nan,
            "p": [r[2] for r in rows],
        }
    )
    parts = []
    for j, u in enumerate(cols):
        if np.all(np.isnan(fit["synthetic"][:, j])):
            continue
        obs = wide.to_numpy()[:, j]
        parts.append(
            pd.DataFrame(
                {
                    "unit": u,
                    "time": _time_out(wide.index.to_numpy()),
                    "role": "treated" if j == k else "placebo",
                    "observed": obs,
                    "counterfactual": fit["synthetic"][:, j],
                    "gap": obs - fit["synthetic"][:, j],
                    "post": post,
                }
            )
        )
    summary = {
        "design": "synth",
        "treated": str(treated),
        "donors": len(cols) - 1,
        "pre_periods": n_pre,
        "post_periods": int(post.sum()),
        "placebo": placebo,
        "p": fit["p"],
    }
    return ImpactResult(effects, pd.concat(parts, ignore_index=True), summary)


# --------------------------------------------------------------------------- job

_DESIGNS = {"its": interrupted_time_series, "did": difference_in_differences, "synth": synthetic_control}


def _spec_of(value: str | os.PathLike[str]) -> str:
    spec = str(value)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    return spec


def impact_job(
    lake: Any,
    analysis: str,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    series_out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> tuple[str, list[str]]:
    """Run one analysis (``its``, ``did`` or ``synth``) as a lake run ``publichealth impact ANALYSIS``.

    Writes the effects table to ``out`` and, if given, the series table to ``series_out``
    (both registered in the lake). ``options`` are the keyword arguments of the design's
    function. Returns the run id and the names of the result datasets.
    """
    check_param("impact_job", "analysis", analysis, analysis in _DESIGNS, "one of its, did, synth")
    spec = _spec_of(data)
    params = {"data": spec, "out": str(out), "series_out": None if series_out is None else str(series_out)}
    params.update({k: (str(v) if k == "intervention" else v) for k, v in options.items()})
    with lake.run(f"publichealth impact {analysis}", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        result = _DESIGNS[analysis](spec, lake=lake, **options)
        names = [run.result(result.effects, out)]
        run.annotate(names[0], attrs={"role_impact": "effects", **_jsonable(result.summary)})
        if series_out is not None:
            names.append(run.result(result.series, series_out))
            run.annotate(names[1], attrs={"role_impact": "series", **_jsonable(result.summary)})
    return run.id, names


def _jsonable(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out
