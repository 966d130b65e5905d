"""Outbreak detection on many count series at once: EARS C1, C2, C3, CUSUM and Farrington.

:func:`surveil` reads a long count table (see :mod:`biolake.publichealth.counts`),
cuts it into chunks of whole series, runs the vectorized kernel
(:func:`biolake.stats.ears.ears_c`, :func:`biolake.stats.cusum.cusum` or
:func:`biolake.stats.farrington.farrington_flexible`) on each chunk (a series × time matrix) on a
backend (threads by default, or a Dask cluster) and returns one table for all series.
:func:`surveil_job` does the same as a lake run: the result is written to a file and
registered in the lake, with a run record.

Results have one row per series and monitored time point (a point with at least the
method's history: ``baseline`` earlier points for C1, ``baseline + 2`` for C2,
``baseline + 4`` for C3; for CUSUM the points from ``range_start`` on; for Farrington
the points from ``freq·b + w + 1`` on, R's default ``range``), with columns

=============== ==============================================================
the ``by`` keys  the series, under their own names
``date``         the time point: dates, week labels or period numbers as in the
                 time column (whatever its name), or the 1-based row number of
                 the series without a time column (R's ``epoch``)
``count``        the observed count
``expected``     EARS: mean of the baseline counts; CUSUM: the in-control mean ``m``;
                 Farrington: R's ``control$expected``
``upper_bound``  the alarm threshold (R's ``upperbound``); empty where R gives NA
                 (C3 with a zero baseline sigma; Farrington with too few recent
                 cases (``limit54``) or no converging fit)
``alarm``        EARS: ``count > upper_bound``; CUSUM: ``score ≥ h``; Farrington:
                 R's alarm (false where R gives NA)
``score``        C1/C2: ``(count − expected) / sigma``; C3: the sum of the truncated
                 C2 statistics of the two previous points that R's threshold uses;
                 CUSUM: the CUSUM statistic; Farrington: R's ``control$score``
``sigma``        EARS only: ``max(sd of the baseline counts, min_sigma)``
``pvalue``       Farrington only: R's ``control$pvalue``
``phi``          Farrington only: the dispersion of the final model
``trend``        Farrington only: the time-trend coefficient where kept, else empty
=============== ==============================================================

Examples
--------
>>> import pandas as pd
>>> counts = pd.DataFrame({"region": ["A"] * 10, "count": [3, 4, 2, 5, 3, 4, 3, 4, 12, 3]})
>>> res = surveil(counts, method="ears-c1", by=["region"], scheduler="synchronous")
>>> res[["date", "count", "upper_bound", "alarm"]].round(3)
   date  count  upper_bound  alarm
0     8      4        6.444  False
1     9     12        6.587   True
2    10      3       15.074  False
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.lake.backend import map_chunks
from biolake.lake.progress import NullProgress, Progress
from biolake.publichealth.counts import (
    CountSpec,
    SeriesMatrix,
    cells_table,
    iter_series_chunks,
    open_counts,
    result_frame,
    series_matrix,
)
from biolake.stats.cusum import CUSUM_TRANSFORMS, cusum
from biolake.stats.ears import ears_c, ears_default_alpha
from biolake.stats.farrington import (
    FARRINGTON_POWER_TRANSFORMS,
    FARRINGTON_THRESHOLD_METHODS,
    FarringtonLayoutError,
    farrington_flexible,
)
from biolake.stats.glr import GLR_CHANGES, GLR_DIRECTIONS, GLR_RETURNS, glr_pois

__all__ = ["SURVEIL_METHODS", "SurveilOptions", "surveil", "surveil_job", "surveil_kernel"]

SURVEIL_METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum", "farrington", "glr")
"""Methods of :func:`surveil`."""

_EARS = {"ears-c1": "C1", "ears-c2": "C2", "ears-c3": "C3"}
_TIME = "date"  # the time column of results
_POP = "__bl_extra_0"  # the population column in streamed chunks (open_counts' extra_cols)


@dataclass(frozen=True)
class SurveilOptions:
    """Checked method settings of :func:`surveil` (R's control elements)."""

    method: str
    alpha: float = 0.001
    baseline: int = 7
    min_sigma: float = 0.0
    k: float = 1.04
    h: float = 2.26
    m: float | None = None
    trans: str = "standard"
    range_start: int | None = None
    b: int = 5
    w: int = 3
    no_periods: int = 1
    weights_threshold: float = 2.58
    past_weeks_not_included: int | None = None
    p_threshold_trend: float = 0.05
    threshold_method: str = "delta"
    pow_trans: str = "2/3"
    trend: bool = True
    reweight: bool = True
    limit54: tuple[int, int] = (5, 4)
    population_col: str | None = None
    c_arl: float = 5.0  # GLR (R glrpois control names)
    m_tilde: int = 1
    big_m: int = -1
    change: str = "intercept"
    direction: str = "inc"
    ret: str = "cases"
    mu0: float | None = None
    mu0_s: int = 1
    mu0_trend: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Result columns after ``count``."""
        if self.method == "farrington":
            return ("expected", "upper_bound", "alarm", "score", "pvalue", "phi", "trend")
        extra = ("sigma",) if self.method in _EARS else ()
        return ("expected", "upper_bound", "alarm", "score", *extra)

    def farrington_params(self) -> dict[str, Any]:
        """The Farrington settings under R's names (for the run record)."""
        return {
            "b": self.b,
            "w": self.w,
            "alpha": self.alpha,
            "noPeriods": self.no_periods,
            "weightsThreshold": self.weights_threshold,
            "pastWeeksNotIncluded": self.w if self.past_weeks_not_included is None else self.past_weeks_not_included,
            "pThresholdTrend": self.p_threshold_trend,
            "thresholdMethod": self.threshold_method,
            "powertrans": self.pow_trans,
            "trend": self.trend,
            "reweight": self.reweight,
            "limit54": list(self.limit54),
            "populationOffset": self.population_col is not None,
        }


def _population_matrix(chunk: pa.Table, spec: CountSpec, sm: SeriesMatrix) -> np.ndarray:
    """The population column of a chunk laid out like ``sm.counts`` (checked: positive, no gaps)."""
    from biolake.publichealth.counts import _series_starts, _week_start_days

    n = chunk.num_rows
    starts = _series_starts(chunk, spec.by)
    series_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    raw_t = chunk.column("__bl_t").to_numpy(zero_copy_only=False)
    t = _week_start_days(raw_t, spec.freq, spec) if spec.freq in ("isoweek", "epiweek") else raw_t.astype(np.int64)
    pos = (t - sm.t0[series_of_row]) // sm.step
    col = chunk.column(_POP)
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type)):
        raise InputError(f"population column is not numeric ({col.type})", file=spec.source)
    values = col.to_numpy(zero_copy_only=False).astype(np.float64)
    out = np.full(sm.counts.shape, np.nan)
    out[series_of_row, pos] = values
    inside = np.arange(out.shape[1])[None, :] < sm.lengths[:, None]
    bad = np.argwhere(inside & ~(out > 0) | inside & ~np.isfinite(out))
    if len(bad):
        i, j = (int(v) for v in bad[0])
        from biolake.publichealth.counts import _describe_series, _time_text

        what = "missing population" if np.isnan(out[i, j]) else f"population {out[i, j]:g} is not > 0"
        raise InputError(
            f"{_describe_series(sm.keys, i, spec)}: {what} at {_time_text(spec, int(sm.t0[i] + j * sm.step))}",
            file=spec.source,
        )
    return out


def _farrington(counts: np.ndarray, **kwargs: Any) -> Any:
    try:
        return farrington_flexible(counts, **kwargs)
    except FarringtonLayoutError as exc:
        raise InputError(f"farrington: {exc}") from None


def surveil_kernel(chunk: pa.Table, *, spec: CountSpec, options: SurveilOptions) -> pa.Table:
    """Check one chunk of whole series, run the method on its (series × time) matrix, return long rows."""
    sm = series_matrix(chunk, spec)
    columns: dict[str, Any]
    if options.method in _EARS:
        res = ears_c(
            sm.counts,
            method=_EARS[options.method],
            alpha=options.alpha,
            baseline=options.baseline,
            min_sigma=options.min_sigma,
            lengths=sm.lengths,
        )
        columns = {"expected": res.expected, "upper_bound": res.upper_bound, "alarm": res.alarm}
        columns.update(score=res.score, sigma=res.sigma)
        evaluable = res.evaluable
    elif options.method == "farrington":
        dated = spec.freq in ("day", "week", "isoweek", "epiweek")
        fres = _farrington(
            sm.counts,
            b=options.b,
            w=options.w,
            alpha=options.alpha,
            no_periods=options.no_periods,
            weights_threshold=options.weights_threshold,
            past_weeks_not_included=options.past_weeks_not_included,
            p_threshold_trend=options.p_threshold_trend,
            threshold_method=options.threshold_method,
            pow_trans=options.pow_trans,
            trend=options.trend,
            reweight=options.reweight,
            limit54=options.limit54,
            population=None if options.population_col is None else _population_matrix(chunk, spec, sm),
            lengths=sm.lengths,
            freq=365 if spec.freq == "day" else 52,
            t0=sm.t0 if dated else None,
            step=sm.step,
        )
        columns = {"expected": fres.expected, "upper_bound": fres.upper_bound, "alarm": fres.alarm}
        columns.update(score=fres.score, pvalue=fres.pvalue, phi=fres.phi, trend=fres.trend)
        evaluable = fres.evaluable
    elif options.method == "glr":
        assert options.range_start is not None
        gres = glr_pois(
            sm.counts,
            start=options.range_start - 1,
            c_arl=options.c_arl,
            mu0=None if options.mu0 is None else np.full(sm.counts.shape, options.mu0),
            m_tilde=options.m_tilde,
            big_m=options.big_m,
            change=options.change,
            direction=options.direction,
            ret=options.ret,
            lengths=sm.lengths,
            freq=365 if spec.freq == "day" else 52,
            mu0_s=options.mu0_s,
            mu0_trend=options.mu0_trend,
        )
        columns = {"expected": gres.expected, "upper_bound": gres.upper_bound, "alarm": gres.alarm}
        columns.update(score=gres.score)
        evaluable = gres.evaluable
    else:
        assert options.range_start is not None
        cres = cusum(
            sm.counts,
            start=options.range_start - 1,
            k=options.k,
            h=options.h,
            m=options.m,
            trans=options.trans,
            lengths=sm.lengths,
        )
        columns = {"expected": cres.expected, "upper_bound": cres.upper_bound, "alarm": cres.alarm}
        columns.update(score=cres.score)
        evaluable = cres.evaluable
    table = cells_table(sm, spec, evaluable, columns)
    if spec.time_name != _TIME:
        table = table.rename_columns([_TIME if c == spec.time_name else c for c in table.column_names])
    return table


def _result_schema(spec: CountSpec, key_types: dict[str, pa.DataType], options: SurveilOptions) -> pa.Schema:
    if spec.freq in ("day", "week"):
        time_type = pa.date32()
    elif spec.freq == "index" or (spec.freq == "epiweek" and spec.week_style == "int"):
        time_type = pa.int64()
    else:
        time_type = pa.string()
    fields = [pa.field(k, key_types[k]) for k in spec.by]
    fields += [pa.field(_TIME, time_type), pa.field("count", pa.int64())]
    fields += [pa.field(c, pa.bool_() if c == "alarm" else pa.float64()) for c in options.columns]
    return pa.schema(fields)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_surveil_options(
    function: str,
    *,
    method: str,
    alpha: float | None,
    baseline: int,
    min_sigma: float,
    k: float,
    h: float,
    m: float | None,
    trans: str,
    range_start: int | None,
    chunk_series: int,
    **farrington: Any,
) -> SurveilOptions:
    """Validate the settings of :func:`surveil` (one message form) and fill R's defaults."""
    check_param(function, "method", method, method in SURVEIL_METHODS, f"one of {', '.join(SURVEIL_METHODS)}")
    check_param(
        function,
        "chunk_series",
        chunk_series,
        _is_int(chunk_series) and chunk_series >= 1,
        "a positive integer",
    )
    if method in _EARS:
        check_param(
            function, "alpha", alpha, alpha is None or (_is_real(alpha) and 0 < alpha < 1), "a number in (0, 1) or None"
        )
        check_param(function, "baseline", baseline, _is_int(baseline) and baseline >= 3, "an integer >= 3")
        check_param(function, "min_sigma", min_sigma, _is_real(min_sigma) and min_sigma >= 0, "a finite number >= 0")
        return SurveilOptions(
            method=method,
            alpha=float(alpha) if alpha is not None else ears_default_alpha(_EARS[method]),
            baseline=int(baseline),
            min_sigma=float(min_sigma),
        )
    if method == "farrington":
        return _check_farrington(function, alpha=alpha, **farrington)
    if method == "glr":
        return _check_glr(function, range_start=range_start, **farrington)
    check_param(
        function,
        "range_start",
        range_start,
        _is_int(range_start) and range_start is not None and range_start >= 2,
        "an integer >= 2 for method cusum (the first monitored time point of each series, 1-based)",
    )
    check_param(function, "k", k, _is_real(k), "a finite number")
    check_param(function, "h", h, _is_real(h), "a finite number")
    check_param(function, "m", m, m is None or (_is_real(m) and m > 0), "a number > 0 or None")
    check_param(function, "trans", trans, trans in CUSUM_TRANSFORMS, f"one of {', '.join(CUSUM_TRANSFORMS)}")
    assert range_start is not None
    return SurveilOptions(
        method=method,
        k=float(k),
        h=float(h),
        m=None if m is None else float(m),
        trans=trans,
        range_start=int(range_start),
    )


FARRINGTON_DEFAULTS: dict[str, Any] = {
    "b": 5,
    "w": 3,
    "no_periods": 1,
    "weights_threshold": 2.58,
    "past_weeks_not_included": None,
    "p_threshold_trend": 0.05,
    "threshold_method": "delta",
    "pow_trans": "2/3",
    "trend": True,
    "reweight": True,
    "limit54": (5, 4),
    "population_col": None,
}
"""R ``farringtonFlexible``'s defaults (surveillance 1.20) under biolake's names (``alpha`` 0.05 besides)."""


def _check_farrington(function: str, *, alpha: float | None, **given: Any) -> SurveilOptions:
    o = {**FARRINGTON_DEFAULTS, **{k: v for k, v in given.items() if k in FARRINGTON_DEFAULTS}}
    check_param(
        function, "alpha", alpha, alpha is None or (_is_real(alpha) and 0 < alpha < 1), "a number in (0, 1) or None"
    )
    check_param(function, "b", o["b"], _is_int(o["b"]) and o["b"] >= 1, "an integer >= 1")
    check_param(function, "w", o["w"], _is_int(o["w"]) and o["w"] >= 0, "an integer >= 0")
    p = o["no_periods"]
    check_param(function, "no_periods", p, _is_int(p) and p >= 1, "an integer >= 1")
    check_param(
        function,
        "weights_threshold",
        o["weights_threshold"],
        _is_real(o["weights_threshold"]),
        "a finite number",
    )
    pw = o["past_weeks_not_included"]
    check_param(function, "past_weeks_not_included", pw, pw is None or (_is_int(pw) and pw >= 0), "an integer >= 0")
    pt = o["p_threshold_trend"]
    check_param(function, "p_threshold_trend", pt, _is_real(pt) and 0 <= pt <= 1, "a number in [0, 1]")
    tm = o["threshold_method"]
    methods = ", ".join(FARRINGTON_THRESHOLD_METHODS)
    check_param(function, "threshold_method", tm, tm in FARRINGTON_THRESHOLD_METHODS, f"one of {methods}")
    pt2 = o["pow_trans"]
    check_param(
        function,
        "pow_trans",
        pt2,
        pt2 in FARRINGTON_POWER_TRANSFORMS,
        f"one of {', '.join(FARRINGTON_POWER_TRANSFORMS)}",
    )
    lim = o["limit54"]
    lim_ok = (
        isinstance(lim, Sequence)
        and not isinstance(lim, str)
        and len(lim) == 2
        and _is_int(lim[0])
        and _is_int(lim[1])
        and lim[0] >= 0
        and lim[1] > 0
    )
    check_param(function, "limit54", lim, lim_ok, "two integers (cases >= 0, weeks > 0)")
    pc = o["population_col"]
    check_param(function, "population_col", pc, pc is None or (isinstance(pc, str) and pc != ""), "a column name")
    return SurveilOptions(
        method="farrington",
        alpha=0.05 if alpha is None else float(alpha),
        b=int(o["b"]),
        w=int(o["w"]),
        no_periods=int(p),
        weights_threshold=float(o["weights_threshold"]),
        past_weeks_not_included=None if pw is None else int(pw),
        p_threshold_trend=float(pt),
        threshold_method=tm,
        pow_trans=pt2,
        trend=bool(o["trend"]),
        reweight=bool(o["reweight"]),
        limit54=(int(lim[0]), int(lim[1])),
        population_col=pc,
    )


GLR_DEFAULTS: dict[str, Any] = {
    "c_arl": 5.0,
    "m_tilde": 1,
    "big_m": -1,
    "change": "intercept",
    "direction": "inc",
    "ret": "cases",
    "mu0": None,
    "mu0_s": 1,
    "mu0_trend": False,
}
"""R ``glrpois``'s defaults (surveillance 1.20) under biolake's names (``ret`` is ``cases`` here, R's is ``value``)."""


def _check_glr(function: str, *, range_start: int | None, **given: Any) -> SurveilOptions:
    o = {**GLR_DEFAULTS, **{k: v for k, v in given.items() if k in GLR_DEFAULTS}}
    check_param(
        function,
        "range_start",
        range_start,
        _is_int(range_start) and range_start is not None and range_start >= 2,
        "an integer >= 2 for method glr (the first monitored time point of each series, 1-based)",
    )
    check_param(function, "c_arl", o["c_arl"], _is_real(o["c_arl"]) and o["c_arl"] > 0, "a finite number > 0")
    check_param(function, "m_tilde", o["m_tilde"], _is_int(o["m_tilde"]) and o["m_tilde"] >= 1, "an integer >= 1")
    bm = o["big_m"]
    check_param(
        function,
        "big_m",
        bm,
        _is_int(bm) and (bm == -1 or bm >= o["m_tilde"]),
        "-1 (no window) or an integer >= m_tilde",
    )
    check_param(function, "change", o["change"], o["change"] in GLR_CHANGES, f"one of {', '.join(GLR_CHANGES)}")
    d = o["direction"]
    check_param(function, "direction", d, d in GLR_DIRECTIONS, f"one of {', '.join(GLR_DIRECTIONS)}")
    check_param(function, "ret", o["ret"], o["ret"] in GLR_RETURNS, f"one of {', '.join(GLR_RETURNS)}")
    mu = o["mu0"]
    check_param(function, "mu0", mu, mu is None or (_is_real(mu) and mu > 0), "a number > 0 or None")
    check_param(function, "mu0_s", o["mu0_s"], _is_int(o["mu0_s"]) and o["mu0_s"] >= 0, "an integer >= 0")
    assert range_start is not None
    return SurveilOptions(
        method="glr",
        range_start=int(range_start),
        c_arl=float(o["c_arl"]),
        m_tilde=int(o["m_tilde"]),
        big_m=int(bm),
        change=o["change"],
        direction=d,
        ret=o["ret"],
        mu0=None if mu is None else float(mu),
        mu0_s=int(o["mu0_s"]),
        mu0_trend=bool(o["mu0_trend"]),
    )


def _iter_results(
    data: Any,
    *,
    function: str,
    options: SurveilOptions,
    by: Sequence[str],
    date_col: str | None,
    count_col: str,
    freq: str,
    fill_gaps: bool,
    lake: Any,
    scheduler: Any,
    chunk_series: int,
    progress: Progress,
    resolved: dict[str, Any] | None = None,
) -> tuple[pa.Schema, Iterator[pa.Table]]:
    if isinstance(by, str):
        by = [by]
    source = open_counts(
        data,
        by=by,
        date_col=date_col,
        count_col=count_col,
        freq=freq,
        fill_gaps=fill_gaps,
        lake=lake,
        function=function,
        extra_cols=[options.population_col] if options.population_col is not None else [],
    )
    if options.population_col is not None and options.population_col in (*by, count_col, source.spec.date_col):
        source.close()
        raise InputError(f"the population column {options.population_col!r} is also a key, count or time column")
    if _TIME in by:
        source.close()
        raise InputError(f"series key {_TIME!r} collides with the result's time column; rename it")
    if resolved is not None:
        resolved.update(date_col=source.spec.date_col, freq=source.spec.freq, time_column=_TIME)
        if options.method in _EARS:
            resolved.update(alpha=options.alpha)
        if options.method == "farrington":
            resolved.update(options.farrington_params())
    schema = _result_schema(source.spec, source.key_types, options)

    def generate() -> Iterator[pa.Table]:
        try:
            with progress.task(f"Surveillance ({options.method})") as task:
                chunks = iter_series_chunks(source, chunk_series=chunk_series)
                for table in map_chunks(surveil_kernel, chunks, scheduler=scheduler, spec=source.spec, options=options):
                    task.advance(table.num_rows)
                    yield table.cast(schema)
        finally:
            source.close()

    return schema, generate()


def surveil(
    data: Any,
    *,
    method: str = "ears-c1",
    by: Sequence[str] = (),
    date_col: str | None = None,
    count_col: str = "count",
    freq: str = "auto",
    fill_gaps: bool = False,
    alpha: float | None = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    k: float = 1.04,
    h: float = 2.26,
    m: float | None = None,
    trans: str = "standard",
    range_start: int | None = None,
    b: int = 5,
    w: int = 3,
    no_periods: int = 1,
    weights_threshold: float = 2.58,
    past_weeks_not_included: int | None = None,
    p_threshold_trend: float = 0.05,
    threshold_method: str = "delta",
    pow_trans: str = "2/3",
    trend: bool = True,
    reweight: bool = True,
    limit54: tuple[int, int] = (5, 4),
    population_col: str | None = None,
    c_arl: float = 5.0,
    m_tilde: int = 1,
    big_m: int = -1,
    change: str = "intercept",
    direction: str = "inc",
    ret: str = "cases",
    mu0: float | None = None,
    mu0_s: int = 1,
    mu0_trend: bool = False,
    lake: Any = None,
    scheduler: Any = None,
    chunk_series: int = 2_000,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run an outbreak-detection method on every count series of a long table.

    Parameters
    ----------
    data
        Counts in long format: a DataFrame or Arrow table, a CSV/TSV/Parquet file, or a
        lake table (``lake:NAME``, or a bare name with ``lake``).
    method
        ``"ears-c1"``, ``"ears-c2"``, ``"ears-c3"`` (R ``surveillance::earsC`` methods
        C1, C2, C3), ``"cusum"`` (R ``surveillance::cusum``) or ``"farrington"`` (R
        ``surveillance::farringtonFlexible``).
    by
        Series key columns (default: the table is one series).
    date_col
        Time column (default: ``date`` or ``week`` if present, else row order).
    count_col
        Count column (non-negative integers).
    freq
        Time unit: ``auto``, ``day``, ``week``, ``isoweek``, ``epiweek`` or ``index``
        (see :func:`biolake.publichealth.counts.open_counts`).
    fill_gaps
        Count missing time points as zeros (otherwise a gap is an error).
    alpha
        EARS: type I error rate of the threshold ``z = Φ⁻¹(1 − alpha)``; default as R's
        ``earsC`` when its control list does not set it: 0.001 for C1/C2, 0.025 for C3.
    baseline
        EARS: number of baseline time points (R's ``baseline``, ≥ 3).
    min_sigma
        EARS: lower bound of the baseline standard deviation (R's ``minSigma``).
    k, h
        CUSUM: reference value and decision boundary (R's defaults 1.04 and 2.26).
    m
        CUSUM: in-control mean; default (R's ``m = NULL``): per series, the mean of the
        counts before ``range_start``.
    trans
        CUSUM: ``"standard"`` (R's default) or ``"rossi"``.
    range_start
        CUSUM (required): 1-based index, within each series, of the first monitored time
        point (R's ``range[1]``; R's ``range`` runs to the series' end here).
    b, w, no_periods, weights_threshold, past_weeks_not_included, p_threshold_trend
        Farrington: R ``farringtonFlexible``'s ``b`` (years back), ``w`` (half window),
        ``noPeriods``, ``weightsThreshold``, ``pastWeeksNotIncluded`` (default ``w``) and
        ``pThresholdTrend``; ``alpha`` defaults to 0.05 for Farrington.
    threshold_method, pow_trans, trend, reweight, limit54
        Farrington: R's ``thresholdMethod`` (``delta``, ``nbPlugin``, ``muan``),
        ``powertrans`` (``2/3``, ``1/2``, ``none``), ``trend``, ``reweight`` and ``limit54``
        (alarm only with at least ``limit54[0]`` cases in the last ``limit54[1]`` points).
    population_col
        Farrington: population column, used as ``offset(log(population))`` (R's
        ``populationOffset = TRUE``).
    c_arl, m_tilde, big_m, change, direction, ret
        GLR (``method="glr"``, R ``glrpois``; ``range_start`` required): R's ``c.ARL``,
        ``Mtilde``, ``M`` (−1: no window), ``change`` (``intercept``), ``dir`` (``inc``,
        ``dec``) and ``ret`` (``cases``: ``upper_bound`` is the count that would sound the
        alarm; ``value``: the GLR statistic; ``score`` is the statistic either way).
    mu0, mu0_s, mu0_trend
        GLR: a constant in-control mean; by default (``None``) R's Poisson GLM on the points
        before ``range_start`` with ``mu0_s`` harmonics (R's ``mu0$S``) and a trend if
        ``mu0_trend`` (R's ``mu0$trend``).
    lake
        The lake for ``lake:NAME`` inputs.
    scheduler
        Where chunks run (see :func:`biolake.lake.backend.get_backend`).
    chunk_series
        Series per chunk: the unit of parallel work and of memory.
    progress
        Where to report progress.

    Returns
    -------
    pandas.DataFrame
        One row per series and monitored time point (see the module docstring), sorted
        by series keys and time.

    Raises
    ------
    InputError
        For bad options, missing columns, duplicated (series, time) rows, negative or
        non-integer counts, and gaps without ``fill_gaps``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"week": range(1, 13), "count": [2, 3, 2, 4, 3, 2, 3, 2, 3, 9, 2, 3]})
    >>> out = surveil(df, method="ears-c2", scheduler="synchronous")
    >>> out.loc[out.alarm, ["date", "count"]].to_dict("records")
    [{'date': 10, 'count': 9}]
    >>> surveil(df, method="cusum", range_start=9, trans="rossi").alarm.tolist()
    [False, True, False, False]
    """
    options = check_surveil_options(
        "surveil",
        method=method,
        alpha=alpha,
        baseline=baseline,
        min_sigma=min_sigma,
        k=k,
        h=h,
        m=m,
        trans=trans,
        range_start=range_start,
        chunk_series=chunk_series,
        b=b,
        w=w,
        no_periods=no_periods,
        weights_threshold=weights_threshold,
        past_weeks_not_included=past_weeks_not_included,
        p_threshold_trend=p_threshold_trend,
        threshold_method=threshold_method,
        pow_trans=pow_trans,
        trend=trend,
        reweight=reweight,
        limit54=limit54,
        population_col=population_col,
        c_arl=c_arl,
        m_tilde=m_tilde,
        big_m=big_m,
        change=change,
        direction=direction,
        ret=ret,
        mu0=mu0,
        mu0_s=mu0_s,
        mu0_trend=mu0_trend,
    )
    schema, tables = _iter_results(
        data,
        function="surveil",
        options=options,
        by=by,
        date_col=date_col,
        count_col=count_col,
        freq=freq,
        fill_gaps=fill_gaps,
        lake=lake,
        scheduler=scheduler,
        chunk_series=chunk_series,
        progress=progress or NullProgress(),
    )
    parts = list(tables)
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    return result_frame(table)


def surveil_job(
    lake: Any,
    counts: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    method: str = "ears-c1",
    by: Sequence[str] = (),
    date_col: str | None = None,
    count_col: str = "count",
    freq: str = "auto",
    fill_gaps: bool = False,
    alpha: float | None = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    k: float = 1.04,
    h: float = 2.26,
    m: float | None = None,
    trans: str = "standard",
    range_start: int | None = None,
    b: int = 5,
    w: int = 3,
    no_periods: int = 1,
    weights_threshold: float = 2.58,
    past_weeks_not_included: int | None = None,
    p_threshold_trend: float = 0.05,
    threshold_method: str = "delta",
    pow_trans: str = "2/3",
    trend: bool = True,
    reweight: bool = True,
    limit54: tuple[int, int] = (5, 4),
    population_col: str | None = None,
    c_arl: float = 5.0,
    m_tilde: int = 1,
    big_m: int = -1,
    change: str = "intercept",
    direction: str = "inc",
    ret: str = "cases",
    mu0: float | None = None,
    mu0_s: int = 1,
    mu0_trend: bool = False,
    scheduler: Any = None,
    chunk_series: int = 2_000,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """:func:`surveil` as a lake run: write the result to ``out`` and register it.

    Parameters
    ----------
    lake
        The lake (a :class:`biolake.Lake`).
    counts
        A CSV/TSV/Parquet file or a lake table (``lake:NAME`` or a bare name).
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``); the dataset is named after its stem.
    method, by, date_col, count_col, freq, fill_gaps, alpha, baseline, min_sigma, k, h, m, trans, range_start
        As for :func:`surveil`.
    b, w, no_periods, weights_threshold, past_weeks_not_included, p_threshold_trend, threshold_method
        As for :func:`surveil`.
    pow_trans, trend, reweight, limit54, population_col
        As for :func:`surveil`.
    c_arl, m_tilde, big_m, change, direction, ret, mu0, mu0_s, mu0_trend
        As for :func:`surveil` (GLR).
    scheduler, chunk_series, progress
        As for :func:`surveil`.

    Returns
    -------
    tuple of str
        The run id and the name of the result dataset.
    """
    options = check_surveil_options(  # before a run is recorded
        "surveil",
        method=method,
        alpha=alpha,
        baseline=baseline,
        min_sigma=min_sigma,
        k=k,
        h=h,
        m=m,
        trans=trans,
        range_start=range_start,
        chunk_series=chunk_series,
        b=b,
        w=w,
        no_periods=no_periods,
        weights_threshold=weights_threshold,
        past_weeks_not_included=past_weeks_not_included,
        p_threshold_trend=p_threshold_trend,
        threshold_method=threshold_method,
        pow_trans=pow_trans,
        trend=trend,
        reweight=reweight,
        limit54=limit54,
        population_col=population_col,
        c_arl=c_arl,
        m_tilde=m_tilde,
        big_m=big_m,
        change=change,
        direction=direction,
        ret=ret,
        mu0=mu0,
        mu0_s=mu0_s,
        mu0_trend=mu0_trend,
    )
    spec = str(counts)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    by = [by] if isinstance(by, str) else list(by)
    params: dict[str, Any] = {
        "counts": spec,
        "out": str(out),
        "by": by,
        "date_col": date_col,
        "count_col": count_col,
        "freq": freq,
        "fill_gaps": fill_gaps,
    }
    if method in _EARS:
        params.update(method=method, alpha=alpha, baseline=baseline, min_sigma=min_sigma)
    elif method == "farrington":
        params.update(method=method, **options.farrington_params(), population_col=population_col)
    elif method == "glr":
        params.update(method=method, range_start=range_start, c_arl=c_arl, m_tilde=m_tilde, big_m=big_m)
        params.update(change=change, direction=direction, ret=ret, mu0=mu0, mu0_s=mu0_s, mu0_trend=mu0_trend)
    else:
        params.update(method=method, k=k, h=h, m=m, trans=trans, range_start=range_start)
    resolved: dict[str, Any] = {}
    with lake.run("publichealth surveil", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        schema, tables = _iter_results(
            spec,
            function="surveil",
            options=options,
            by=by,
            date_col=date_col,
            count_col=count_col,
            freq=freq,
            fill_gaps=fill_gaps,
            lake=lake,
            scheduler=scheduler,
            chunk_series=chunk_series,
            progress=progress or NullProgress(),
            resolved=resolved,
        )
        name = run.result(tables, out, schema=schema)
        run.annotate(name, attrs={"method": method, "by": by, **resolved})
    return run.id, name
