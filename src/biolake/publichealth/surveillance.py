"""Outbreak detection on many count series at once: EARS C1, C2, C3 and CUSUM.

:func:`surveil` reads a long count table (see :mod:`biolake.publichealth.counts`),
cuts it into chunks of whole series, runs the vectorized kernel
(:func:`biolake.stats.ears.ears_c` or :func:`biolake.stats.cusum.cusum`) on each chunk
(a series × time matrix) on a
backend (threads by default, or a Dask cluster) and returns one table for all series.
:func:`surveil_job` does the same as a lake run: the result is written to a file and
registered in the lake, with a run record.

Results have one row per series and monitored time point (a point with at least the
method's history: ``baseline`` earlier points for C1, ``baseline + 2`` for C2,
``baseline + 4`` for C3; for CUSUM the points from ``range_start`` on), with columns

=============== ==============================================================
the ``by`` keys  the series, under their own names
time column      ``date_col`` (dates, week labels or period numbers as given), or
                 ``date`` holding 1-based row numbers without a time column
``count``        the observed count
``expected``     EARS: mean of the baseline counts; CUSUM: the in-control mean ``m``
``upper_bound``  the alarm threshold (R ``surveillance::earsC``'s ``upperbound``);
                 empty where R gives NA (C3 with a zero baseline sigma)
``alarm``        EARS: ``count > upper_bound``; CUSUM: ``score ≥ h`` (false where R
                 gives NA)
``score``        C1/C2: ``(count − expected) / sigma``; C3: the sum of the truncated
                 C2 statistics of the two previous points that R's threshold uses;
                 CUSUM: the CUSUM statistic
``sigma``        EARS only: ``max(sd of the baseline counts, min_sigma)``
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

import pandas as pd
import pyarrow as pa

from biolake.errors import check_param
from biolake.lake.backend import map_chunks
from biolake.lake.progress import NullProgress, Progress
from biolake.publichealth.counts import CountSpec, cells_table, iter_series_chunks, open_counts, series_matrix
from biolake.stats.cusum import CUSUM_TRANSFORMS, cusum
from biolake.stats.ears import ears_c, ears_default_alpha

__all__ = ["SURVEIL_METHODS", "SurveilOptions", "surveil", "surveil_job", "surveil_kernel"]

SURVEIL_METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum")
"""Methods of :func:`surveil`."""

_EARS = {"ears-c1": "C1", "ears-c2": "C2", "ears-c3": "C3"}


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

    @property
    def columns(self) -> tuple[str, ...]:
        """Result columns after ``count``."""
        extra = ("sigma",) if self.method in _EARS else ()
        return ("expected", "upper_bound", "alarm", "score", *extra)


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
    return cells_table(sm, spec, evaluable, columns)


def _result_schema(spec: CountSpec, key_types: dict[str, pa.DataType], options: SurveilOptions) -> pa.Schema:
    if spec.freq in ("day", "week"):
        time_type = pa.date32()
    elif spec.freq == "index" or (spec.freq == "epiweek" and spec.week_style == "int"):
        time_type = pa.int64()
    else:
        time_type = pa.string()
    fields = [pa.field(k, key_types[k]) for k in spec.by]
    fields += [pa.field(spec.time_name, time_type), pa.field("count", pa.int64())]
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
    )
    if resolved is not None:
        resolved.update(date_col=source.spec.date_col, freq=source.spec.freq, time_column=source.spec.time_name)
        if options.method in _EARS:
            resolved.update(alpha=options.alpha)
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
        C1, C2, C3) or ``"cusum"`` (R ``surveillance::cusum``).
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
    >>> out.loc[out.alarm, ["week", "count"]].to_dict("records")
    [{'week': 10, 'count': 9}]
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
    return table.to_pandas()


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
