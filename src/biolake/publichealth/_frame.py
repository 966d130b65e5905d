"""Reading and checking the small tables of the intervention analyses (series and panels).

The tables are read through the count reader's DuckDB relation (a DataFrame, a CSV/TSV/
Parquet file or ``lake:NAME``, see :mod:`biolake.publichealth.counts`) into pandas, then
checked here: the columns exist, numeric columns are numbers without missing values,
counts are non-negative integers, and no (series, time) pair occurs twice. Every problem
is an :class:`~biolake.errors.InputError` naming the source, the row and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError
from biolake.publichealth.counts import _open_relation

__all__ = [
    "check_counts",
    "check_numeric",
    "check_unique",
    "parse_time_point",
    "read_frame",
    "table_columns",
    "time_values",
]


def table_columns(data: Any, *, lake: Any = None) -> list[str]:
    """The column names of a table (DataFrame, file or ``lake:NAME``)."""
    con, src, name, owns = _open_relation(data, lake)
    try:
        return [str(r[0]) for r in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    except Exception as exc:  # duckdb: unreadable file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the table: {first}", file=name) from None
    finally:
        if owns is not None:
            owns.__exit__(None, None, None)
        else:
            con.close()


def read_frame(data: Any, *, columns: Sequence[str], lake: Any = None) -> tuple[pd.DataFrame, str]:
    """The table as a DataFrame (only ``columns``, in file order) and a description of its source."""
    con, src, name, owns = _open_relation(data, lake)
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
        present = [str(r[0]) for r in described]
        for col in columns:
            if col not in present:
                raise InputError(f"no column {col!r} (columns: {', '.join(present)})", file=name)
        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in dict.fromkeys(columns))
        frame = con.sql(f"SELECT {cols} FROM {src}").df()
    except InputError:
        raise
    except Exception as exc:  # duckdb: unreadable file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the table: {first}", file=name) from None
    finally:
        if owns is not None:
            owns.__exit__(None, None, None)
        else:
            con.close()
    return frame, name


def _line(frame: pd.DataFrame, i: int) -> int:
    """The file line of row position ``i`` (header is line 1)."""
    return int(frame.index[i]) + 2


def check_numeric(frame: pd.DataFrame, col: str, source: str) -> np.ndarray:
    """The column as float64; missing or non-numeric values are an error."""
    values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"missing or non-numeric value {frame[col].iloc[i]!r}", file=source, line=_line(frame, i), column=col
        )
    return values


def check_counts(frame: pd.DataFrame, col: str, source: str) -> np.ndarray:
    """A count column: non-negative integers."""
    values = check_numeric(frame, col, source)
    bad = np.flatnonzero((values < 0) | (values != np.floor(values)))
    if len(bad):
        i = int(bad[0])
        what = "negative count" if values[i] < 0 else "count is not a non-negative integer"
        raise InputError(f"{what} ({values[i]:g})", file=source, line=_line(frame, i), column=col)
    return values


def time_values(frame: pd.DataFrame, col: str, source: str) -> pd.Series:
    """The time column as datetimes (date/timestamp/ISO text) or numbers (period index)."""
    raw = frame[col]
    if raw.isna().any():
        i = int(np.flatnonzero(raw.isna().to_numpy())[0])
        raise InputError("missing time", file=source, line=_line(frame, i), column=col)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(np.float64)
    try:
        return pd.to_datetime(raw)
    except (ValueError, TypeError):
        raise InputError("time values are neither dates nor numbers", file=source, column=col) from None


def parse_time_point(value: Any, times: pd.Series, what: str) -> Any:
    """A user-given time point (``--intervention``) in the type of the time column."""
    if pd.api.types.is_datetime64_any_dtype(times):
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError):
            raise InputError(f"{what} {value!r} is not a date (the time column holds dates)") from None
    try:
        return float(value)
    except (ValueError, TypeError):
        raise InputError(f"{what} {value!r} is not a number (the time column holds numbers)") from None


def check_regular(times: np.ndarray, source: str, what: str) -> None:
    """Time points evenly spaced: a constant step, or (dates) the same day of consecutive months/years."""
    t = np.asarray(times)
    if len(t) < 3:
        return
    if np.issubdtype(t.dtype, np.datetime64):
        day = t.astype("datetime64[D]")
        days = np.diff(day.astype(np.int64))
        if np.all(days == days[0]):
            return
        month = t.astype("datetime64[M]")
        day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
        months = np.diff(month.astype(np.int64))
        same_day = bool(np.all(day_of_month == day_of_month[0]))
        if same_day and np.all(months == months[0]) and months[0] > 0:
            return
        i = int(np.flatnonzero(months != months[0])[0]) if same_day else int(np.flatnonzero(days != days[0])[0])
        raise InputError(
            f"{what}: time points are not evenly spaced ({day[i]} to {day[i + 1]}); add the missing time points",
            file=source,
        )
    d = np.diff(t.astype(np.float64))
    bad = np.flatnonzero(d != d[0])
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"{what}: time points are not evenly spaced ({t[i]:g} to {t[i + 1]:g}); add the missing time points",
            file=source,
        )


def check_unique(frame: pd.DataFrame, keys: Sequence[str], source: str) -> None:
    """No two rows with the same ``keys`` values (e.g. series and time)."""
    dup = frame.duplicated(subset=list(keys), keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        row = ", ".join(f"{k}={frame[k].iloc[i]}" for k in keys)
        raise InputError(f"duplicated row ({row})", file=source, line=_line(frame, i))
