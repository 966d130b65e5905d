"""Count series in long format: read, group, order, check and (optionally) fill gaps.

Public-health count data come as one row per series and time point::

    disease,region,date,count
    influenza,North,2024-01-01,12
    influenza,North,2024-01-08,15
    ...

A *series* is one combination of the ``by`` columns. The time column holds dates
(daily or weekly: all dates of a weekly table fall on one weekday), ISO weeks
(``2024-W05``), CDC MMWR epi weeks (``202405``, ``2024-05``) or plain period numbers;
without a time column, rows are in time order within each series (R's ``epoch``).

The reader streams the table from DuckDB sorted by series and time, and cuts it into
chunks of whole series (:func:`iter_series_chunks`), so tables larger than memory are
processed chunk by chunk. :func:`series_matrix` turns one chunk into a (series × time)
matrix after checking it: a duplicated (series, time) row, a negative, missing or
non-integer count, or a missing time point (unless ``fill_gaps``) is an
:class:`~biolake.errors.InputError` naming the series and the time point.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"region": ["A", "A", "B"], "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-01"]),
...                    "count": [1, 4, 2]})
>>> load_counts(df, by=["region"], fill_gaps=True)
  region        date  count
0      A  2024-01-01      1
1      A  2024-01-02      0
2      A  2024-01-03      4
3      B  2024-01-01      2
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from biolake.errors import InputError, check_param

__all__ = [
    "FREQUENCIES",
    "CountSource",
    "CountSpec",
    "SeriesMatrix",
    "iter_series_chunks",
    "load_counts",
    "open_counts",
    "result_frame",
    "series_matrix",
]

FREQUENCIES = ("auto", "day", "week", "isoweek", "epiweek", "index")
"""Time units: ``day``/``week`` for dates, ``isoweek``/``epiweek`` for week labels,
``index`` for period numbers; ``auto`` decides from the column (see :func:`open_counts`)."""

_T = "__bl_t"
_C = "__bl_count"
_EPOCH = _dt.date(1970, 1, 1)
_ISO_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
_EPI_WEEK = re.compile(r"^\s*(\d{4})-?(\d{2})\s*$")


def _string_mapper() -> Any:
    """``types_mapper`` giving Arrow strings pandas' own default string dtype when that dtype is
    Arrow-backed (pandas ≥ 3): the same dtype, built without the slow generic path; None otherwise."""
    dtype = pa.array(["a"]).to_pandas().dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return {pa.string(): dtype, pa.large_string(): dtype}.get
    return None


_STRINGS = _string_mapper()


def result_frame(table: pa.Table) -> pd.DataFrame:
    """A result table as a DataFrame, one block per column (the same frame as ``table.to_pandas()``;
    3 M rows with a text key column convert in 0.02 s instead of 0.2–0.6 s)."""
    return table.to_pandas(split_blocks=True, types_mapper=_STRINGS)


@dataclass(frozen=True)
class CountSpec:
    """How to read count series from a long table.

    Attributes
    ----------
    by
        Series key columns (empty: the whole table is one series).
    date_col
        Time column, or None for row order within each series.
    count_col
        Count column.
    freq
        Time unit, one of :data:`FREQUENCIES` (resolved: never ``"auto"`` after
        :func:`open_counts`).
    fill_gaps
        Insert explicit zero counts for missing time points instead of failing.
    time_name
        Name of the time column in results (``date_col``, or ``"date"``).
    source
        Where the data came from (for error messages).
    week_style
        For ``epiweek``: how labels are written back (``"int"``, ``"dash"`` or ``"plain"``).
    """

    by: tuple[str, ...]
    date_col: str | None
    count_col: str
    freq: str
    fill_gaps: bool
    time_name: str
    source: str
    week_style: str = "int"


@dataclass
class CountSource:
    """An opened count table: the spec and a DuckDB query streaming it sorted by series and time."""

    spec: CountSpec
    connection: Any
    query: str
    key_types: dict[str, pa.DataType] = field(default_factory=dict)
    _owns: Any = None
    #: an in-memory input already in series order, fetched whole (the query's result; chunks are slices of it)
    table: pa.Table | None = None

    def close(self) -> None:
        """Close the DuckDB connection (and the lake connection context, if any)."""
        if self._owns is not None:
            self._owns.__exit__(None, None, None)
            self._owns = None
        else:
            self.connection.close()

    def __enter__(self) -> CountSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _open_relation(data: Any, lake: Any) -> tuple[Any, str, str, Any]:
    """A DuckDB connection, a FROM expression and a description of ``data``."""
    import duckdb

    if isinstance(data, pd.DataFrame | pa.Table):
        con = duckdb.connect(":memory:")
        con.register("__bl_input", data)
        return con, "__bl_input", "data frame", None
    if isinstance(data, os.PathLike | str):
        spec = str(data)
        path = Path(spec)
        if not spec.startswith("lake:") and path.is_file():
            from biolake.io.table import table_format

            fmt, delimiter = table_format(path)
            con = duckdb.connect(":memory:")
            if fmt == "parquet":
                return con, f"read_parquet({_quote_str(str(path))})", spec, None
            opts = f"delim={_quote_str(delimiter or ',')}, header=true, quote='\"', escape='\"', sample_size=-1"
            return con, f"read_csv({_quote_str(str(path))}, {opts})", spec, None
        name = spec[5:] if spec.startswith("lake:") else spec
        if lake is None:
            raise InputError("no such file (give a lake to read the dataset lake:NAME)", file=spec)
        info = lake.info(name)
        if info.kind != "table":
            raise InputError(f"dataset {name!r} is an array, not a table", file=f"lake:{name}")
        ctx = lake.connect()
        con = ctx.__enter__()
        return con, _quote_ident(info.name), f"lake:{info.name}", ctx
    raise InputError(f"cannot read counts from a {type(data).__name__}; give a file, lake:NAME or a DataFrame")


def _first_row(con: Any, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query (fetching all of it: DuckDB wants results finished)."""
    rows = con.sql(sql).fetchall()
    return rows[0] if rows else None


def _resolve_freq(con: Any, src: str, date_col: str, col_type: str, freq: str, source: str) -> tuple[str, str]:
    """Resolve ``auto`` and check that the time column's type suits ``freq``; return (freq, week_style)."""
    t = col_type.upper()
    is_date = t.startswith(("DATE", "TIMESTAMP"))
    is_int = t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    )
    col = _quote_ident(date_col)
    first = _first_row(con, f"SELECT {col}::VARCHAR FROM {src} WHERE {col} IS NOT NULL LIMIT 1")
    sample = "" if first is None else str(first[0])
    week_style = "int" if is_int else ("dash" if "-" in sample else "plain")
    if freq == "auto":
        if is_int:
            freq = "index"
        elif is_date or not (_ISO_WEEK.match(sample) or _EPI_WEEK.match(sample)):
            n_weekdays = _first_row(
                con, f"SELECT count(DISTINCT dayofweek(TRY_CAST({col} AS DATE))) FROM {src} WHERE {col} IS NOT NULL"
            )[0]
            freq = "week" if n_weekdays == 1 else "day"
        elif _ISO_WEEK.match(sample):
            freq = "isoweek"
        else:
            freq = "epiweek"
    if freq in ("day", "week") and not is_date:
        bad = _first_row(
            con, f"SELECT {col}::VARCHAR FROM {src} WHERE {col} IS NOT NULL AND TRY_CAST({col} AS DATE) IS NULL LIMIT 1"
        )
        if bad is not None:
            raise InputError(f"{bad[0]!r} is not a date (YYYY-MM-DD)", file=source, column=date_col)
    if freq == "index" and not is_int:
        raise InputError(f"--freq index needs an integer column; {date_col!r} is {col_type}", file=source)
    return freq, week_style


def open_counts(
    data: Any,
    *,
    by: Sequence[str] = (),
    date_col: str | None = None,
    count_col: str = "count",
    freq: str = "auto",
    fill_gaps: bool = False,
    lake: Any = None,
    function: str = "open_counts",
    extra_cols: Sequence[str] = (),
) -> CountSource:
    """Open a long count table for streaming by series (see the module docstring).

    Parameters
    ----------
    data
        A DataFrame or Arrow table, a CSV/TSV/Parquet file, or a lake table
        (``lake:NAME`` or a bare ``NAME`` that is not a file; needs ``lake``).
    by
        Series key columns.
    date_col
        Time column; default: ``date`` if the table has one, else ``week``, else none
        (rows are in time order within each series).
    count_col
        Count column (non-negative integers).
    freq
        One of :data:`FREQUENCIES`. ``auto``: integer columns are period numbers
        (``index``); dates are ``week`` when all fall on one weekday, else ``day``;
        strings such as ``2024-W05`` are ISO weeks, ``202405``/``2024-05`` MMWR epi weeks.
    fill_gaps
        Count missing time points as zeros instead of failing.
    lake
        The lake holding ``lake:NAME`` datasets.
    function
        Name of the public function, for parameter error messages.
    extra_cols
        Further columns carried along, renamed ``__bl_extra_0``, ``__bl_extra_1``, … in the
        streamed chunks (e.g. imported cases beside the local counts).

    Returns
    -------
    CountSource
        Close it (or use it in a ``with`` block) when done.
    """
    by = tuple(by)
    check_param(function, "freq", freq, freq in FREQUENCIES, f"one of {', '.join(FREQUENCIES)}")
    check_param(function, "by", list(by), len(set(by)) == len(by), "distinct column names")
    con, src, source, owns = _open_relation(data, lake)
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
        types = {str(r[0]): str(r[1]) for r in described}
        if date_col is None:
            date_col = next((c for c in ("date", "week") if c in types), None)
        needed = [*by, count_col] + ([date_col] if date_col is not None else [])
        needed += list(extra_cols)
        for col in needed:
            if col not in types:
                raise InputError(f"no column {col!r} (columns: {', '.join(types)})", file=source)
        if date_col is not None and date_col in by:
            raise InputError(f"the time column {date_col!r} cannot also be a series key", file=source)
        time_name = date_col or "date"
        reserved = {time_name, "count", "expected", "upper_bound", "alarm", "score", "sigma"}
        clash = [k for k in by if k in reserved]
        if clash:
            raise InputError(f"series key {clash[0]!r} collides with a result column; rename it", file=source)
        week_style = "int"
        if date_col is None:
            if freq not in ("auto", "index"):
                raise InputError(f"--freq {freq} needs a time column (--date-col)", file=source)
            freq = "index"
        else:
            freq, week_style = _resolve_freq(con, src, date_col, types[date_col], freq, source)
        keys = ", ".join(_quote_ident(k) for k in by)
        count = _quote_ident(count_col)
        count = "".join(f"{_quote_ident(c)} AS __bl_extra_{i}, " for i, c in enumerate(extra_cols)) + count
        # an in-memory table already in series order is streamed as it is (DuckDB keeps the order
        # of a plain scan); anything else is sorted by DuckDB
        presorted = _in_series_order(data, by, date_col, freq)
        if date_col is None:
            # the table's row number: sorting by (keys, row number) keeps each series in table order;
            # iter_series_chunks renumbers it 1, 2, … within each series (cheaper than a partitioned window)
            number = "CAST(0 AS BIGINT)" if presorted else "row_number() OVER ()"
            inner = f"SELECT {keys + ', ' if by else ''}{count} AS {_C}, {number} AS {_T} FROM {src}"
        else:
            col = _quote_ident(date_col)
            if freq in ("day", "week"):
                t_expr = f"date_diff('day', DATE '1970-01-01', CAST({col} AS DATE))"
            elif freq == "index":
                t_expr = f"CAST({col} AS BIGINT)"
            else:
                t_expr = f"CAST({col} AS VARCHAR)"
            inner = f"SELECT {keys + ', ' if by else ''}{count} AS {_C}, {t_expr} AS {_T} FROM {src}"
        if freq in ("isoweek", "epiweek"):
            # week labels sort by their start dates, which the chunk reader computes
            order = ", ".join([*(_quote_ident(k) for k in by)]) or "1"
        else:
            order = ", ".join([*(_quote_ident(k) for k in by), _T])
        query = inner if presorted else f"SELECT * FROM ({inner}) ORDER BY {order}"
        spec = CountSpec(
            by=by,
            date_col=date_col,
            count_col=count_col,
            freq=freq,
            fill_gaps=bool(fill_gaps),
            time_name=time_name,
            source=source,
            week_style=week_style,
        )
        out = CountSource(spec=spec, connection=con, query=query, _owns=owns)
        schema = con.sql(f"SELECT * FROM ({query}) LIMIT 0").to_arrow_table().schema
        if presorted:
            # the data are in memory already: one fetch, then slices, instead of batches glued together
            out.table = _direct_table(data, schema, by, date_col, count_col, extra_cols, freq)
            if out.table is None:
                out.table = con.sql(query).to_arrow_table()
        out.key_types = {k: schema.field(k).type for k in by}
        return out
    except BaseException as exc:
        if owns is not None:
            owns.__exit__(None, None, None)
        else:
            con.close()
        import duckdb

        if isinstance(exc, duckdb.Error):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"cannot read the counts: {first}", file=source) from None
        raise


def _direct_table(
    data: Any,
    schema: pa.Schema,
    by: Sequence[str],
    date_col: str | None,
    count_col: str,
    extra_cols: Sequence[str],
    freq: str,
) -> pa.Table | None:
    """The query's result built from an in-memory Arrow table without DuckDB, or None where that is
    not plainly the same table (DuckDB's column types are taken from ``schema``, the query's own)."""
    if not isinstance(data, pa.Table):
        return None
    columns = [data.column(k) for k in by]
    columns += [data.column(c) for c in extra_cols] + [data.column(count_col)]
    n = data.num_rows
    if date_col is None:
        columns.append(pa.chunked_array([np.zeros(n, dtype=np.int64)]))
    else:
        col = data.column(date_col)
        if freq == "index" and pa.types.is_integer(col.type):
            columns.append(col.cast(pa.int64()))
        elif freq in ("day", "week") and pa.types.is_date32(col.type):
            columns.append(col.cast(pa.int32()).cast(pa.int64()))
        else:
            return None
    if any(column.type != fld.type for column, fld in zip(columns, schema, strict=True)):
        return None  # a type DuckDB converts: let it
    return pa.Table.from_arrays(columns, schema=schema)


def _in_series_order(data: Any, by: Sequence[str], date_col: str | None, freq: str) -> bool:
    """Whether an in-memory table's rows are already as ``ORDER BY by, time`` would put them.

    Checked with Arrow compute on consecutive rows (keys compared bytewise / numerically, as
    DuckDB's default ordering); only for key and time columns without missing values and of
    types whose order is unambiguous (strings, integers, dates, naive timestamps, booleans), and a time
    column that is absent, a week label (ordered by the chunk reader), or an integer, date or
    timestamp. Ties in the time are allowed (a duplicated time point is reported later either way).
    """
    if isinstance(data, pd.DataFrame):
        cols = [*by] + ([date_col] if date_col is not None and freq not in ("isoweek", "epiweek") else [])
        try:
            table = pa.Table.from_pandas(data[list(dict.fromkeys(cols))], preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError, KeyError):
            return False
    elif isinstance(data, pa.Table):
        table = data
    else:
        return False
    if table.num_rows < 2:
        return True
    cols = list(by)
    if date_col is not None and freq not in ("isoweek", "epiweek"):
        cols.append(date_col)
    arrays = []
    for name in cols:
        col = table.column(name).combine_chunks()
        t = col.type  # not dictionaries (categoricals): DuckDB orders an ENUM by its categories
        ok = (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_integer(t)
            or pa.types.is_date(t)
            or (pa.types.is_timestamp(t) and t.tz is None)
            or pa.types.is_boolean(t)
        )
        if not ok or col.null_count:
            return False
        if name == date_col and not (pa.types.is_integer(t) or pa.types.is_date(t) or pa.types.is_timestamp(t)):
            return False
        arrays.append(col)
    undecided = np.ones(table.num_rows - 1, dtype=bool)
    for i, col in enumerate(arrays):
        head, tail = col.slice(0, len(col) - 1), col.slice(1)
        less = pc.less(tail, head).to_numpy(zero_copy_only=False)
        if (undecided & less).any():
            return False
        if i < len(arrays) - 1:
            undecided &= ~pc.greater(tail, head).to_numpy(zero_copy_only=False)
    return True


def _key_changes(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Whether each row's key differs from the previous row's (length n − 1); nulls equal nulls.

    As a factorization with missing values as one code: in a float column, null and NaN are the
    same missing value.
    """
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(col, pa.DictionaryArray):
        col = col.dictionary_decode()
    if pa.types.is_floating(col.type):
        col = pc.fill_null(col, float("nan"))
    head, tail = col.slice(0, len(col) - 1), col.slice(1)
    if pa.types.is_null(col.type):
        return np.zeros(len(tail), dtype=bool)
    try:
        differ = pc.not_equal(tail, head)
    except pa.ArrowNotImplementedError:  # a type Arrow cannot compare: factorize (missing values one code)
        codes, _ = pd.factorize(col.to_pandas(), use_na_sentinel=False)
        return codes[1:] != codes[:-1]
    valid_head = head.is_valid().to_numpy(zero_copy_only=False)
    valid_tail = tail.is_valid().to_numpy(zero_copy_only=False)
    out = pc.fill_null(differ, True).to_numpy(zero_copy_only=False)
    out = np.where(valid_head & valid_tail, out, valid_head != valid_tail)
    if pa.types.is_floating(col.type):
        nan_head = pc.is_nan(head).to_numpy(zero_copy_only=False)
        nan_tail = pc.is_nan(tail).to_numpy(zero_copy_only=False)
        out = np.where(nan_head | nan_tail, nan_head != nan_tail, out)
    return out


def _series_starts(table: pa.Table, by: Sequence[str]) -> np.ndarray:
    """Row indices where a new series starts (0 included), for a table sorted by ``by``."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for key in by:
        new[1:] |= _key_changes(table.column(key))
    return np.flatnonzero(new)


def _number_rows(chunk: pa.Table, starts: np.ndarray) -> pa.Table:
    """Replace the time column by 1, 2, … within each series (tables without a time column)."""
    n = chunk.num_rows
    lengths = np.diff(np.append(starts, n))
    t = np.arange(1, n + 1, dtype=np.int64) - np.repeat(starts, lengths)
    return chunk.set_column(chunk.schema.get_field_index(_T), _T, pa.array(t))


def _same_key(left: pa.Table, i: int, right: pa.Table, j: int, by: Sequence[str]) -> bool:
    """Whether row ``i`` of ``left`` and row ``j`` of ``right`` have the same series keys (nulls equal)."""
    for key in by:
        a, b = left.column(key)[i].as_py(), right.column(key)[j].as_py()
        if a == b:
            continue
        if a is None or b is None or not (isinstance(a, float) and isinstance(b, float) and a != a and b != b):
            return False
    return True


def iter_series_chunks(
    source: CountSource, *, chunk_series: int = 5_000, batch_rows: int = 65_536
) -> Iterator[pa.Table]:
    """Stream the table as Arrow tables of whole series, at most ``chunk_series`` series each.

    The rows come sorted by series keys (then time); every series lies in one chunk.
    """
    check_param("iter_series_chunks", "chunk_series", chunk_series, chunk_series >= 1, "a positive integer")
    import duckdb

    by = source.spec.by
    numbered = source.spec.date_col is None

    def finish(chunk: pa.Table, chunk_starts: np.ndarray) -> pa.Table:
        return _with_starts(_number_rows(chunk, chunk_starts) if numbered else chunk, chunk_starts)

    if source.table is not None:
        whole = source.table
        starts = _series_starts(whole, by)
        for i in range(0, len(starts), chunk_series):
            first = int(starts[i])
            end = int(starts[i + chunk_series]) if i + chunk_series < len(starts) else whole.num_rows
            yield finish(whole.slice(first, end - first).combine_chunks(), starts[i : i + chunk_series] - first)
        return
    try:
        reader = source.connection.sql(source.query).to_arrow_reader(batch_rows)
        pending: pa.Table | None = None
        starts = np.zeros(0, dtype=np.int64)

        for batch in reader:
            table = pa.Table.from_batches([batch])
            if table.num_rows == 0:
                continue
            # series starts of the new rows only (the rows already pending keep theirs)
            new_starts = _series_starts(table, by)
            if pending is None or pending.num_rows == 0:
                pending, starts = table, new_starts
            else:
                offset = pending.num_rows
                if _same_key(pending, offset - 1, table, 0, by):
                    new_starts = new_starts[1:]  # the last pending series continues
                starts = np.concatenate([starts, new_starts + offset])
                pending = pa.concat_tables([pending, table])
            # complete series: all but the last, which may continue in the next batch
            while len(starts) - 1 >= chunk_series:
                cut = int(starts[chunk_series])
                yield finish(pending.slice(0, cut).combine_chunks(), starts[:chunk_series])
                pending = pending.slice(cut)
                starts = starts[chunk_series:] - cut
        if pending is not None and pending.num_rows:
            yield finish(pending.combine_chunks(), starts)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"cannot read the counts: {first}", file=source.spec.source) from None


# --------------------------------------------------------------------------- one chunk


@dataclass
class SeriesMatrix:
    """One chunk of series as a (series × time) matrix.

    Attributes
    ----------
    keys
        The series key values, one row per series.
    counts
        Counts, shape ``(n_series, n_time)``; zeros past a series' end.
    lengths
        Number of time points of each series.
    t0
        Time index of each series' first point (days for dates and weeks, else period number).
    step
        Time index units per time point (7 for weekly data, else 1).
    """

    keys: pa.Table
    counts: np.ndarray
    lengths: np.ndarray
    t0: np.ndarray
    step: int


def _week_start_days(labels: np.ndarray, freq: str, spec: CountSpec) -> np.ndarray:
    """Days since 1970-01-01 of the first day of each ISO / MMWR week label."""
    from epiweeks import Week

    system = "iso" if freq == "isoweek" else "cdc"
    pattern = _ISO_WEEK if freq == "isoweek" else _EPI_WEEK
    uniq, inverse = np.unique(labels.astype(str), return_inverse=True)
    days = np.empty(len(uniq), dtype=np.int64)
    for i, label in enumerate(uniq):
        m = pattern.match(label)
        try:
            if m is not None:
                start = Week(int(m.group(1)), int(m.group(2)), system=system).startdate()
            else:
                start = Week.fromdate(_dt.date.fromisoformat(label.strip()[:10]), system=system).startdate()
        except ValueError:
            kind = "an ISO week (YYYY-Www)" if freq == "isoweek" else "an MMWR week (YYYYWW or YYYY-WW)"
            raise InputError(f"{str(label)!r} is not {kind}", file=spec.source, column=spec.date_col) from None
        days[i] = (start - _EPOCH).days
    return days[inverse]


def time_labels(spec: CountSpec, t: np.ndarray) -> pa.Array:
    """Time column values of results from time indices (dates, week labels or numbers)."""
    t = np.asarray(t, dtype=np.int64)
    if spec.freq in ("day", "week"):
        return pa.array(t.astype("datetime64[D]"), type=pa.date32())
    if spec.freq == "index":
        return pa.array(t, type=pa.int64())
    from epiweeks import Week

    uniq, inverse = np.unique(t, return_inverse=True)
    labels = []
    for days in uniq:
        w = Week.fromdate(_EPOCH + _dt.timedelta(days=int(days)), system="iso" if spec.freq == "isoweek" else "cdc")
        if spec.freq == "isoweek":
            labels.append(f"{w.year}-W{w.week:02d}")
        elif spec.week_style == "int":
            labels.append(w.year * 100 + w.week)
        elif spec.week_style == "dash":
            labels.append(f"{w.year}-{w.week:02d}")
        else:
            labels.append(f"{w.year}{w.week:02d}")
    arr = pa.array(labels)
    return arr.take(pa.array(inverse))


def _fail(spec: CountSpec, keys: pa.Table, i: int, problem: str) -> InputError:
    """An InputError naming the source, the series (its key values) and the problem."""
    return InputError(f"{_describe_series(keys, i, spec)}: {problem}", file=spec.source)


def _describe_series(keys: pa.Table, i: int, spec: CountSpec) -> str:
    if not spec.by:
        return "the series"
    row = keys.slice(i, 1).to_pylist()[0]
    return "series " + ", ".join(f"{k}={row[k]}" for k in spec.by)


def _label(spec: CountSpec, t: int) -> str:
    return str(time_labels(spec, np.array([t]))[0].as_py())


def _time_text(spec: CountSpec, t: int) -> str:
    label = _label(spec, t)
    if spec.date_col is None:
        return f"row {label} of the series"
    return f"{spec.time_name} {label}"


@numba.njit(cache=True, nogil=True)
def _layout(starts, t, counts, step, fill_gaps):  # pragma: no cover  (compiled)
    """Lengths and the (series × time) matrix of checked series, in one pass; ``ok`` False at the first
    cell that fails a check (the caller then finds and reports it as the general path does)."""
    n = len(t)
    n_series = len(starts)
    lengths = np.zeros(n_series, dtype=np.int64)
    for s in range(n_series):
        end = starts[s + 1] if s + 1 < n_series else n
        first = t[starts[s]]
        prev = first - step
        for i in range(starts[s], end):
            c = counts[i]
            if not (c >= 0.0 and c == np.floor(c) and c < np.inf):
                return False, lengths, np.zeros((0, 0))
            d = t[i] - prev
            if d <= 0 or (t[i] - first) % step != 0 or (d > step and not fill_gaps):
                return False, lengths, np.zeros((0, 0))
            prev = t[i]
        if end > starts[s]:
            lengths[s] = (t[end - 1] - first) // step + 1
    width = 0
    for s in range(n_series):
        width = max(width, lengths[s])
    matrix = np.zeros((n_series, width))
    for s in range(n_series):
        end = starts[s + 1] if s + 1 < n_series else n
        first = t[starts[s]]
        for i in range(starts[s], end):
            matrix[s, (t[i] - first) // step] = counts[i]
    return True, lengths, matrix


_STARTS_KEY = b"biolake.series_starts"


def _with_starts(chunk: pa.Table, starts: np.ndarray) -> pa.Table:
    """The chunk with its series starts in the schema metadata (read back by :func:`series_matrix`)."""
    return chunk.replace_schema_metadata({_STARTS_KEY: np.ascontiguousarray(starts, dtype=np.int64).tobytes()})


def _chunk_starts(chunk: pa.Table, by: Sequence[str]) -> np.ndarray:
    meta = chunk.schema.metadata or {}
    raw = meta.get(_STARTS_KEY)
    if raw is not None:
        starts = np.frombuffer(raw, dtype=np.int64)
        if len(starts) and starts[0] == 0 and starts[-1] < chunk.num_rows:
            return starts
    return _series_starts(chunk, by)


def series_matrix(chunk: pa.Table, spec: CountSpec) -> SeriesMatrix:
    """Check one chunk of whole series (sorted by keys and time) and lay it out as a matrix.

    Raises
    ------
    InputError
        For a missing, negative or non-integer count, a duplicated time point, a time
        point off the series' grid or (without ``fill_gaps``) a missing time point,
        naming the series and the time point.
    """
    n = chunk.num_rows
    starts = _chunk_starts(chunk, spec.by)
    n_series = len(starts)
    keys = chunk.select(list(spec.by)).take(pa.array(starts)) if spec.by else pa.table({})
    raw_t = chunk.column(_T)
    counts_col = chunk.column(_C)
    step = 7 if spec.freq in ("week", "isoweek", "epiweek") else 1
    if (
        spec.freq not in ("isoweek", "epiweek")
        and n
        and not raw_t.null_count
        and not counts_col.null_count
        and (pa.types.is_integer(counts_col.type) or pa.types.is_floating(counts_col.type))
    ):
        t = raw_t.to_numpy().astype(np.int64, copy=False)
        values = counts_col.to_numpy().astype(np.float64, copy=False)
        ok, lengths, matrix = _layout(starts, t, values, step, spec.fill_gaps)
        if ok:
            return SeriesMatrix(keys=keys, counts=matrix, lengths=lengths, t0=t[starts], step=step)
    series_of_row = np.repeat(np.arange(n_series), np.diff(np.append(starts, n)))
    if raw_t.null_count:
        i = int(np.flatnonzero(raw_t.is_null().to_numpy(zero_copy_only=False))[0])
        raise _fail(spec, keys, int(series_of_row[i]), f"missing {spec.time_name}")
    if spec.freq in ("isoweek", "epiweek"):
        t = _week_start_days(raw_t.to_numpy(zero_copy_only=False), spec.freq, spec)
        order = np.lexsort((t, series_of_row))
        chunk = chunk.take(pa.array(order))
        t = t[order]
    else:
        t = raw_t.to_numpy().astype(np.int64)
    counts_col = chunk.column(_C)  # (after the reordering above)
    if not (
        pa.types.is_integer(counts_col.type)
        or pa.types.is_floating(counts_col.type)
        or pa.types.is_decimal(counts_col.type)
    ):
        raise InputError(f"column {spec.count_col!r} is not numeric ({counts_col.type})", file=spec.source)
    if counts_col.null_count:
        i = int(np.flatnonzero(counts_col.is_null().to_numpy(zero_copy_only=False))[0])
        raise _fail(spec, keys, int(series_of_row[i]), f"missing count at {_time_text(spec, int(t[i]))}")
    counts = counts_col.to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(counts) | (counts < 0) | (counts != np.floor(counts)))
    if len(bad):
        i = int(bad[0])
        what = "negative count" if counts[i] < 0 else "count is not a non-negative integer"
        raise _fail(spec, keys, int(series_of_row[i]), f"{what} ({counts[i]:g}) at {_time_text(spec, int(t[i]))}")
    first_of_row = t[starts][series_of_row]
    same = np.zeros(n, dtype=bool)
    same[1:] = series_of_row[1:] == series_of_row[:-1]
    diff = np.zeros(n, dtype=np.int64)
    diff[1:] = t[1:] - t[:-1]
    dup = np.flatnonzero(same & (diff == 0))
    if len(dup):
        i = int(dup[0])
        raise _fail(spec, keys, int(series_of_row[i]), f"duplicated {_time_text(spec, int(t[i]))}")
    off = np.flatnonzero((t - first_of_row) % step != 0)
    if len(off):
        i = int(off[0])
        raise _fail(
            spec,
            keys,
            int(series_of_row[i]),
            f"{_time_text(spec, int(t[i]))} is not a whole number of weeks after the series' first "
            f"{spec.time_name} (weekly dates must fall on one weekday)",
        )
    gap = np.flatnonzero(same & (diff > step))
    if len(gap) and not spec.fill_gaps:
        i = int(gap[0])
        raise _fail(
            spec,
            keys,
            int(series_of_row[i]),
            f"missing {_time_text(spec, int(t[i - 1] + step))} (between {_label(spec, int(t[i - 1]))} and "
            f"{_label(spec, int(t[i]))}); use --fill-gaps to count missing time points as zeros",
        )
    pos = (t - first_of_row) // step
    lengths = np.zeros(n_series, dtype=np.int64)
    np.maximum.at(lengths, series_of_row, pos + 1)
    matrix = np.zeros((n_series, int(lengths.max()) if n_series else 0), dtype=np.float64)
    matrix[series_of_row, pos] = counts
    return SeriesMatrix(keys=keys, counts=matrix, lengths=lengths, t0=t[starts].astype(np.int64), step=step)


def cells_table(sm: SeriesMatrix, spec: CountSpec, mask: np.ndarray, columns: dict[str, np.ndarray]) -> pa.Table:
    """Long result rows for the cells of ``mask`` (row-major): keys, time, count, then ``columns``."""
    n_time = mask.shape[1] if mask.ndim == 2 else 0
    flat = np.flatnonzero(mask)  # row-major; gathering by one flat index is cheaper than by (row, col)
    rows = flat // n_time if n_time else flat
    cols = flat - rows * n_time
    out: dict[str, Any] = {}
    for key in spec.by:
        out[key] = sm.keys.column(key).take(pa.array(rows))
    out[spec.time_name] = time_labels(spec, sm.t0[rows] + cols * sm.step)
    out["count"] = pa.array(np.take(sm.counts.reshape(-1), flat).astype(np.int64))
    for name, values in columns.items():
        v = np.take(np.asarray(values).reshape(-1), flat)
        out[name] = pa.array(v, from_pandas=True) if v.dtype.kind == "f" else pa.array(v)
    return pa.table(out)


def _load_chunk(chunk: pa.Table, *, spec: CountSpec) -> pa.Table:
    sm = series_matrix(chunk, spec)
    mask = np.arange(sm.counts.shape[1])[None, :] < sm.lengths[:, None]
    return cells_table(sm, spec, mask, {})


def load_counts(
    data: Any,
    *,
    by: Sequence[str] = (),
    date_col: str | None = None,
    count_col: str = "count",
    freq: str = "auto",
    fill_gaps: bool = False,
    lake: Any = None,
) -> pd.DataFrame:
    """Read, check and order count series; optionally fill missing time points with zeros.

    Parameters
    ----------
    data, by, date_col, count_col, freq, fill_gaps, lake
        As for :func:`open_counts`.

    Returns
    -------
    pandas.DataFrame
        Columns: the ``by`` columns, the time column (``date_col``, or ``date`` holding
        1-based row numbers), ``count``; sorted by series and time.

    Raises
    ------
    InputError
        For missing columns, duplicated (series, time) rows, negative, missing or
        non-integer counts, and missing time points without ``fill_gaps``.
    """
    with open_counts(
        data,
        by=by,
        date_col=date_col,
        count_col=count_col,
        freq=freq,
        fill_gaps=fill_gaps,
        lake=lake,
        function="load_counts",
    ) as source:
        tables = [_load_chunk(chunk, spec=source.spec) for chunk in iter_series_chunks(source)]
        if not tables:
            return pd.DataFrame(columns=[*source.spec.by, source.spec.time_name, "count"])
        return result_frame(pa.concat_tables(tables))
