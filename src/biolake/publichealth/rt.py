"""The time-varying reproduction number R_t of every incidence series at once (Cori et al. 2013).

:func:`estimate_rt` does what R EpiEstim's ``estimate_R`` does with method
``"parametric_si"`` (``si_mean``/``si_sd``: the discretised gamma SI of EpiEstim's
``discr_si``) or ``"non_parametric_si"`` (``si_distr``: probabilities ``w_0 = 0, w_1, …``),
for every series of a long incidence table (see :mod:`biolake.publichealth.counts`):
the table is cut into chunks of whole series, each chunk becomes a (series × time)
matrix, and the kernels of :mod:`biolake.stats.epiestim` estimate every window of every
series in one pass. :func:`rt_job` does the same as a lake run.

EpiEstim's conventions are kept:

* time steps are the rows of a series (``t = 1 … T``, 1-based); all cases of ``t = 1``
  count as imported;
* with ``imported_col``, ``count_col`` holds the *local* cases and ``imported_col`` the
  imported ones (EpiEstim's ``incid`` with columns ``local`` and ``imported``): both feed
  the infectivity, only local cases the numerator;
* default windows slide by one step: ``t_start = 2 … T − window + 1``,
  ``t_end = t_start + window − 1`` (EpiEstim's ``2 … T−6`` for ``window = 7``);
* a window with ``t_end`` not above the SI mean is kept with empty values (EpiEstim's NA);
* the prior of R is gamma with mean ``mean_prior`` and sd ``std_prior`` (5 and 5).

Result columns: the ``by`` keys, ``t_start``, ``t_end``, (``date_start``, ``date_end``
when the table has a time column), ``mean_r``, ``std_r``, ``q025``, ``q05``, ``q25``,
``median``, ``q75``, ``q95``, ``q975``.

Examples
--------
>>> import pandas as pd
>>> flu = [1, 1, 0, 2, 5, 3, 3, 3, 6, 2, 5, 9, 13, 12, 13, 11, 12, 6, 6, 6]
>>> res = estimate_rt(pd.DataFrame({"count": flu}), si_mean=2.6, si_sd=1.5, scheduler="synchronous")
>>> res[["t_start", "t_end", "mean_r", "q025", "q975"]].head(2).round(4)
   t_start  t_end  mean_r    q025    q975
0        2      8  1.7358  1.0287  2.6248
1        3      9  1.7492  1.1088  2.5331
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
    _C,
    CountSpec,
    _describe_series,
    _open_relation,
    iter_series_chunks,
    open_counts,
    result_frame,
    series_matrix,
    time_labels,
)
from biolake.stats.epiestim import RT_QUANTILES, cori_posterior, discr_si, gamma_summary, overall_infectivity, si_mean

__all__ = ["RT_COLUMNS", "RtOptions", "estimate_rt", "read_si_distr", "rt_job", "rt_kernel"]

RT_COLUMNS = ("t_start", "t_end", "mean_r", "std_r", *RT_QUANTILES)
"""Result columns (besides the series keys and ``date_start``/``date_end``)."""

_IMPORTED = "__bl_extra_0"
_SI_TOLERANCE = 0.01  # EpiEstim's check_si_distr: |sum(si_distr) - 1| > 0.01 is an error


@dataclass(frozen=True)
class RtOptions:
    """Checked settings of :func:`estimate_rt`."""

    si_mean: float | None = None
    si_sd: float | None = None
    si_distr: np.ndarray | None = None
    window: int = 7
    t_start: np.ndarray | None = None
    t_end: np.ndarray | None = None
    mean_prior: float = 5.0
    std_prior: float = 5.0
    imported_col: str | None = None

    @property
    def method(self) -> str:
        """EpiEstim's method name."""
        return "parametric_si" if self.si_distr is None else "non_parametric_si"


# --------------------------------------------------------------------------- SI distribution


def read_si_distr(source: Any, *, lake: Any = None) -> np.ndarray:
    """Read and check a serial interval distribution (EpiEstim's ``si_distr``).

    Parameters
    ----------
    source
        A CSV/TSV/Parquet file or lake table (``lake:NAME``) with a header and one column
        of probabilities ``w_0, w_1, …``; or the probabilities themselves.
    lake
        The lake for ``lake:NAME``.

    Raises
    ------
    InputError
        Unless there is one numeric column, ``w_0 = 0``, every ``w_k ≥ 0`` and the sum is
        1 within 0.01 (EpiEstim's ``check_si_distr``).
    """
    if isinstance(source, str | os.PathLike):
        con, src, name, owns = _open_relation(source, lake)
        try:
            table = con.sql(f"SELECT * FROM {src}").to_arrow_table()
        except Exception as exc:  # duckdb errors: unreadable file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot read the SI distribution: {first}", file=name) from None
        finally:
            if owns is not None:
                owns.__exit__(None, None, None)
            else:
                con.close()
        if table.num_columns != 1:
            raise InputError(
                f"an SI distribution has one column of probabilities w_0, w_1, …; found {table.num_columns} "
                f"({', '.join(table.column_names)})",
                file=name,
            )
        col = table.column(0)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type)):
            problem = f"the SI probabilities are not numbers ({col.type})"
            raise InputError(problem, file=name, column=table.column_names[0])
        values = col.to_numpy(zero_copy_only=False).astype(np.float64) if col.null_count == 0 else None
        if values is None:
            i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError("missing probability", file=name, **_where(name, i))
        file = name
    else:
        values = np.asarray(source, dtype=np.float64).ravel()
        file = "si_distr"
    if len(values) < 2:
        raise InputError(f"an SI distribution needs w_0 = 0 and at least w_1; got {len(values)} value(s)", file=file)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"probability {values[i]:g} is not a finite number >= 0", file=file, **_where(file, i))
    if values[0] != 0:
        raise InputError(
            f"the SI distribution must start with w_0 = 0 (no transmission on the day of onset); got {values[0]:g}",
            file=file,
            **_where(file, 0),
        )
    total = float(math.fsum(values))
    if abs(total - 1) > _SI_TOLERANCE:
        problem = f"the SI probabilities must sum to 1 (within {_SI_TOLERANCE}); they sum to {total:g}"
        raise InputError(problem, file=file)
    return values


def _where(file: str, i: int) -> dict[str, int]:
    """Location of value ``i`` (0-based): a line of a text file (after the header), else a record."""
    if file.lower().endswith((".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")):
        return {"line": i + 2}
    return {"record": i + 1}


# --------------------------------------------------------------------------- one chunk


def _series_error(spec: CountSpec, keys: pa.Table, i: int, problem: str) -> InputError:
    return InputError(f"{_describe_series(keys, i, spec)}: {problem}", file=spec.source)


def _windows(lengths: np.ndarray, options: RtOptions, spec: CountSpec, keys: pa.Table) -> tuple[np.ndarray, ...]:
    """Flat (series row, t_start, t_end) of every window of every series (1-based days)."""
    n_series = len(lengths)
    if options.t_start is not None and options.t_end is not None:
        short = np.flatnonzero(lengths < int(options.t_end.max()))
        if len(short):
            i = int(short[0])
            raise _series_error(
                spec, keys, i, f"has {lengths[i]} time points; the windows end at up to t = {int(options.t_end.max())}"
            )
        k = len(options.t_start)
        row = np.repeat(np.arange(n_series), k)
        return row, np.tile(options.t_start, n_series), np.tile(options.t_end, n_series)
    counts = lengths - options.window
    short = np.flatnonzero(counts < 1)
    if len(short):
        i = int(short[0])
        raise _series_error(
            spec,
            keys,
            i,
            f"has {lengths[i]} time points; a window of {options.window} needs at least {options.window + 1} "
            "(windows start at t = 2)",
        )
    row = np.repeat(np.arange(n_series), counts)
    first = np.cumsum(counts) - counts
    t_start = 2 + np.arange(len(row)) - np.repeat(first, counts)
    return row, t_start, t_start + options.window - 1


def rt_kernel(chunk: pa.Table, *, spec: CountSpec, options: RtOptions) -> pa.Table:
    """Check one chunk of whole series, estimate R_t in every window of every series, return the rows."""
    sm = series_matrix(chunk, spec)
    local = sm.counts
    total = local
    if options.imported_col is not None:
        swapped = chunk.set_column(chunk.schema.get_field_index(_C), _C, chunk.column(_IMPORTED))
        try:
            imported = series_matrix(swapped, spec).counts
        except InputError as exc:
            raise InputError(f"column {options.imported_col!r}: {exc.problem}", file=exc.file) from None
        total = local + imported
    lengths = sm.lengths
    t_max = local.shape[1]
    if options.si_distr is None:
        assert options.si_mean is not None and options.si_sd is not None
        w = discr_si(np.arange(t_max), options.si_mean, options.si_sd)
        means = si_mean(w, upto=lengths)  # EpiEstim's SI for k = 0 … T−1 of each series
    else:
        w = options.si_distr
        means = np.full(len(lengths), float(si_mean(w)))
    row, t_start, t_end = _windows(lengths, options, spec, sm.keys)
    lam = overall_infectivity(total, w)
    shape, scale = cori_posterior(
        local, lam, row, t_start, t_end, mean_prior=options.mean_prior, std_prior=options.std_prior
    )
    shape = np.where(t_end > means[row], shape, np.nan)
    summary = gamma_summary(shape, scale)
    out: dict[str, Any] = {}
    for key in spec.by:
        out[key] = sm.keys.column(key).take(pa.array(row))
    out["t_start"] = pa.array(t_start, type=pa.int64())
    out["t_end"] = pa.array(t_end, type=pa.int64())
    if spec.date_col is not None:
        out["date_start"] = time_labels(spec, sm.t0[row] + (t_start - 1) * sm.step)
        out["date_end"] = time_labels(spec, sm.t0[row] + (t_end - 1) * sm.step)
    out["mean_r"] = pa.array(summary.mean, from_pandas=True)
    out["std_r"] = pa.array(summary.std, from_pandas=True)
    for name in RT_QUANTILES:
        out[name] = pa.array(summary.quantiles[name], from_pandas=True)
    return pa.table(out)


def _result_schema(spec: CountSpec, key_types: dict[str, pa.DataType]) -> pa.Schema:
    fields = [pa.field(k, key_types[k]) for k in spec.by]
    fields += [pa.field("t_start", pa.int64()), pa.field("t_end", pa.int64())]
    if spec.date_col is not None:
        if spec.freq in ("day", "week"):
            time_type = pa.date32()
        elif spec.freq == "index" or (spec.freq == "epiweek" and spec.week_style == "int"):
            time_type = pa.int64()
        else:
            time_type = pa.string()
        fields += [pa.field("date_start", time_type), pa.field("date_end", time_type)]
    fields += [pa.field(c, pa.float64()) for c in RT_COLUMNS[2:]]
    return pa.schema(fields)


# --------------------------------------------------------------------------- options


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_rt_options(
    function: str,
    *,
    si_mean: float | None,
    si_sd: float | None,
    si_distr: Any,
    window: int,
    t_start: Sequence[int] | None,
    t_end: Sequence[int] | None,
    mean_prior: float,
    std_prior: float,
    imported_col: str | None,
    chunk_series: int,
    lake: Any = None,
) -> RtOptions:
    """Validate the settings of :func:`estimate_rt` (one message form); read ``si_distr``."""
    parametric = si_mean is not None or si_sd is not None
    check_param(
        function,
        "si_mean",
        si_mean,
        parametric or si_distr is not None,
        "a number > 1 with si_sd (parametric SI) unless si_distr (non-parametric SI) is given",
    )
    check_param(
        function,
        "si_distr",
        str(si_distr) if isinstance(si_distr, str | os.PathLike) else "given",
        si_distr is None or not parametric,
        "left out when si_mean and si_sd are given (one SI, parametric or not)",
    )
    if parametric:
        check_param(function, "si_mean", si_mean, _is_real(si_mean) and si_mean > 1, "a number > 1 (as EpiEstim)")
        check_param(function, "si_sd", si_sd, _is_real(si_sd) and si_sd > 0, "a number > 0")
    check_param(function, "window", window, _is_int(window) and window >= 1, "a positive integer")
    check_param(function, "mean_prior", mean_prior, _is_real(mean_prior) and mean_prior > 0, "a number > 0")
    check_param(function, "std_prior", std_prior, _is_real(std_prior) and std_prior > 0, "a number > 0")
    check_param(
        function, "chunk_series", chunk_series, _is_int(chunk_series) and chunk_series >= 1, "a positive integer"
    )
    check_param(
        function,
        "t_end",
        None if t_end is None else list(t_end),
        (t_start is None) == (t_end is None),
        "given together with t_start",
    )
    starts = ends = None
    if t_start is not None and t_end is not None:
        starts = np.asarray(t_start)
        ends = np.asarray(t_end)
        ok = (
            starts.ndim == 1
            and starts.shape == ends.shape
            and len(starts) > 0
            and starts.dtype.kind in "iu"
            and ends.dtype.kind in "iu"
        )
        check_param(function, "t_start", list(starts.ravel()), ok, "a non-empty list of integers as long as t_end")
        check_param(
            function,
            "t_start",
            starts.tolist(),
            bool(np.all(starts >= 2) and np.all(starts <= ends)),
            "integers >= 2 with t_start[i] <= t_end[i] (as EpiEstim)",
        )
        starts = starts.astype(np.int64)
        ends = ends.astype(np.int64)
    distr = None if si_distr is None else read_si_distr(si_distr, lake=lake)
    return RtOptions(
        si_mean=None if si_mean is None else float(si_mean),
        si_sd=None if si_sd is None else float(si_sd),
        si_distr=distr,
        window=int(window),
        t_start=starts,
        t_end=ends,
        mean_prior=float(mean_prior),
        std_prior=float(std_prior),
        imported_col=imported_col,
    )


def _iter_results(
    data: Any,
    *,
    options: RtOptions,
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
    by = [by] if isinstance(by, str) else list(by)
    extra = [options.imported_col] if options.imported_col is not None else []
    source = open_counts(
        data,
        by=by,
        date_col=date_col,
        count_col=count_col,
        freq=freq,
        fill_gaps=fill_gaps,
        lake=lake,
        function="estimate_rt",
        extra_cols=extra,
    )
    clash = [k for k in by if k in (*RT_COLUMNS, "date_start", "date_end")]
    if clash:
        source.close()
        raise InputError(f"series key {clash[0]!r} collides with a result column; rename it", file=source.spec.source)
    if resolved is not None:
        resolved.update(date_col=source.spec.date_col, freq=source.spec.freq, method=options.method)
    schema = _result_schema(source.spec, source.key_types)

    def generate() -> Iterator[pa.Table]:
        try:
            with progress.task("Reproduction number (Cori et al. 2013)") as task:
                chunks = iter_series_chunks(source, chunk_series=chunk_series)
                for table in map_chunks(rt_kernel, chunks, scheduler=scheduler, spec=source.spec, options=options):
                    task.advance(table.num_rows)
                    yield table.cast(schema)
        finally:
            source.close()

    return schema, generate()


# --------------------------------------------------------------------------- public


def estimate_rt(
    data: Any,
    *,
    count_col: str = "count",
    imported_col: str | None = None,
    date_col: str | None = None,
    by: Sequence[str] = (),
    si_mean: float | None = None,
    si_sd: float | None = None,
    si_distr: Any = None,
    window: int = 7,
    t_start: Sequence[int] | None = None,
    t_end: Sequence[int] | None = None,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    freq: str = "auto",
    fill_gaps: bool = False,
    lake: Any = None,
    scheduler: Any = None,
    chunk_series: int = 2_000,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Estimate the time-varying reproduction number of every series as EpiEstim's ``estimate_R``.

    Parameters
    ----------
    data
        Incidence in long format: a DataFrame or Arrow table, a CSV/TSV/Parquet file, or
        a lake table (``lake:NAME``, or a bare name with ``lake``).
    count_col
        Cases per time step (the local cases when ``imported_col`` is given).
    imported_col
        Imported cases per time step (EpiEstim's ``imported``); default: none (EpiEstim
        then counts the cases of the first step as imported).
    date_col
        Time column (default: ``date`` or ``week`` if present, else row order within each
        series). Time points must be consecutive (or use ``fill_gaps``).
    by
        Series key columns (default: the table is one series).
    si_mean, si_sd
        Mean and sd of the serial interval, in time steps (EpiEstim's ``parametric_si``;
        ``si_mean > 1``).
    si_distr
        The discrete SI distribution ``w_0 = 0, w_1, …`` (``non_parametric_si``): a file or
        lake table with one column, or the values.
    window
        Length of the sliding windows (default windows ``t_start = 2 … T − window + 1``).
    t_start, t_end
        Custom windows (1-based, ``2 ≤ t_start ≤ t_end ≤ T``) used for every series instead.
    mean_prior, std_prior
        Mean and sd of the gamma prior of R (EpiEstim's 5 and 5).
    freq, fill_gaps
        As for :func:`biolake.publichealth.counts.open_counts`.
    lake, scheduler, chunk_series, progress
        The lake for ``lake:NAME`` inputs; where chunks run; series per chunk; progress.

    Returns
    -------
    pandas.DataFrame
        One row per series and window (see the module docstring), sorted by series keys and
        ``t_start`` (custom windows in the order given).

    Raises
    ------
    InputError
        For bad options or SI distributions, missing columns, duplicated (series, time)
        rows, negative or non-integer counts, gaps without ``fill_gaps``, and series too
        short for the windows.
    """
    options = check_rt_options(
        "estimate_rt",
        si_mean=si_mean,
        si_sd=si_sd,
        si_distr=si_distr,
        window=window,
        t_start=t_start,
        t_end=t_end,
        mean_prior=mean_prior,
        std_prior=std_prior,
        imported_col=imported_col,
        chunk_series=chunk_series,
        lake=lake,
    )
    schema, tables = _iter_results(
        data,
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


def _spec_of(value: str | os.PathLike[str]) -> str:
    spec = str(value)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    return spec


def rt_job(
    lake: Any,
    counts: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    count_col: str = "count",
    imported_col: str | None = None,
    date_col: str | None = None,
    by: Sequence[str] = (),
    si_mean: float | None = None,
    si_sd: float | None = None,
    si_distr: str | os.PathLike[str] | None = None,
    window: int = 7,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    freq: str = "auto",
    fill_gaps: bool = False,
    scheduler: Any = None,
    chunk_series: int = 2_000,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """:func:`estimate_rt` as a lake run: write the result to ``out`` and register it.

    ``counts`` and ``si_distr`` are files or lake tables; the other parameters are as for
    :func:`estimate_rt`. Returns the run id and the name of the result dataset.
    """
    options = check_rt_options(  # before a run is recorded
        "estimate_rt",
        si_mean=si_mean,
        si_sd=si_sd,
        si_distr=None if si_distr is None else _spec_of(si_distr),
        window=window,
        t_start=None,
        t_end=None,
        mean_prior=mean_prior,
        std_prior=std_prior,
        imported_col=imported_col,
        chunk_series=chunk_series,
        lake=lake,
    )
    spec = _spec_of(counts)
    si_spec = None if si_distr is None else _spec_of(si_distr)
    by = [by] if isinstance(by, str) else list(by)
    params: dict[str, Any] = {
        "counts": spec,
        "out": str(out),
        "by": by,
        "date_col": date_col,
        "count_col": count_col,
        "imported_col": imported_col,
        "freq": freq,
        "fill_gaps": fill_gaps,
        "method": options.method,
        "si_mean": si_mean,
        "si_sd": si_sd,
        "si_distr": si_spec,
        "window": window,
        "mean_prior": mean_prior,
        "std_prior": std_prior,
    }
    inputs = [spec] + ([si_spec] if si_spec is not None else [])
    resolved: dict[str, Any] = {}
    with lake.run("publichealth rt", params=params, inputs=inputs) as run:
        for item in inputs:
            if not item.startswith("lake:"):
                run.hash_input(item)
        schema, tables = _iter_results(
            spec,
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
        run.annotate(name, attrs={"by": by, "window": window, **resolved})
    return run.id, name
