"""Reading survival data: the columns a survival analysis uses, missing rows dropped, coding."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param

__all__ = ["Design", "check_event_coding", "design_matrix", "load_columns", "prepare"]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def check_event_coding(function: str, event_coding: Any) -> tuple[float, float]:
    """``(censored, event)`` codes from ``(0, 1)``, ``(1, 2)`` or the text ``"1,2"``."""
    value = event_coding
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
        try:
            value = tuple(float(p) for p in parts)
        except ValueError:
            value = None
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in value)
        and float(value[0]) != float(value[1])
    )
    check_param(function, "event_coding", event_coding, ok, "two different numbers: censored,event (0,1 or 1,2)")
    return float(value[0]), float(value[1])


def load_columns(data: Any, columns: Sequence[str], *, lake: Any = None) -> tuple[pd.DataFrame, str]:
    """The named columns of ``data`` (DataFrame, Arrow table, CSV/TSV/Parquet file or ``lake:NAME``).

    Only these columns are read (through DuckDB for files and lake tables); a missing column
    is an :class:`InputError` naming the source.
    """
    import duckdb

    wanted = list(dict.fromkeys(columns))
    if isinstance(data, pd.DataFrame | pa.Table):
        names = list(data.columns) if isinstance(data, pd.DataFrame) else data.column_names
        source = "data frame"
        _check_present(wanted, names, source)
        frame = data[wanted] if isinstance(data, pd.DataFrame) else data.select(wanted).to_pandas()
        return frame.reset_index(drop=True), source
    if not isinstance(data, str | os.PathLike):
        raise InputError(
            f"cannot read survival data from a {type(data).__name__}; give a file, lake:NAME or a DataFrame"
        )
    spec = str(data)
    path = Path(spec)
    select = ", ".join(_quote_ident(c) for c in wanted)
    if not spec.startswith("lake:") and path.is_file():
        from biolake.io.table import table_format

        fmt, delimiter = table_format(path)
        if fmt == "parquet":
            rel = f"read_parquet({_quote_str(str(path))})"
        else:
            opts = (
                f"delim={_quote_str(delimiter or ',')}, header=true, quote='\"', escape='\"', "
                "sample_size=-1, nullstr=['', 'NA']"
            )
            rel = f"read_csv({_quote_str(str(path))}, {opts})"
        with duckdb.connect(":memory:") as con:
            try:
                names = [d[0] for d in con.sql(f"SELECT * FROM {rel} LIMIT 0").description]
            except duckdb.Error as exc:
                raise InputError(" ".join(str(exc).split())[:300], file=spec) from None
            _check_present(wanted, names, spec)
            try:
                frame = con.sql(f"SELECT {select} FROM {rel}").df()
            except duckdb.Error as exc:
                raise InputError(" ".join(str(exc).split())[:300], file=spec) from None
        return frame, spec
    name = spec[5:] if spec.startswith("lake:") else spec
    if lake is None:
        raise InputError("no such file (give a lake to read the dataset lake:NAME)", file=spec)
    info = lake.info(name)
    if info.kind != "table":
        raise InputError(f"dataset {name!r} is an array, not a table", file=f"lake:{name}")
    source = f"lake:{info.name}"
    _check_present(wanted, list(info.schema), source)
    return lake.to_pandas(info.name, columns=wanted), source


def _check_present(wanted: Sequence[str], names: Sequence[str], source: str) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InputError(f"no column {', '.join(repr(c) for c in missing)} (columns: {', '.join(names)})", file=source)


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


@dataclass
class Design:
    """Survival data ready for the kernels."""

    time: np.ndarray
    event: np.ndarray
    """1 = event, 0 = censored."""
    x: np.ndarray
    """Covariate columns (``n × p``; text covariates one-hot coded)."""
    names: list[str]
    """Column names of ``x``: a numeric covariate's name, or covariate name + level (R style)."""
    terms: list[tuple[str, list[int]]]
    """Each covariate with its columns in ``x``."""
    group: np.ndarray | None = None
    """Group labels (text; None where the group is missing: such rows are left out of the
    Kaplan–Meier curves and the log-rank test only), or None without a group column."""
    group_levels: list[str] = field(default_factory=list)
    """The group labels in sorted order (numeric order for a numeric group column)."""
    n_input: int = 0
    """Rows before missing values were dropped."""
    dropped: int = 0
    """Rows dropped for a missing time, event or covariate."""
    source: str = ""
    levels: dict[str, list[str]] = field(default_factory=dict)
    """The levels of each text covariate, the baseline first."""


def _label(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numeric(frame: pd.DataFrame, column: str, source: str, what: str) -> np.ndarray:
    series = frame[column]
    if _is_text(series):
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{what} must be numeric; got {series.iloc[row]!r}", file=source, record=row + 1, column=column
            )
        series = converted
    return series.to_numpy(dtype=float, na_value=np.nan)


def design_matrix(
    frame: pd.DataFrame, covars: Sequence[str], *, source: str = "data"
) -> tuple[np.ndarray, list[str], list[tuple[str, list[int]]], dict[str, list[str]]]:
    """Covariate matrix: numeric columns as they are, text columns one-hot (first sorted level = baseline)."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    terms: list[tuple[str, list[int]]] = []
    levels: dict[str, list[str]] = {}
    for col in covars:
        series = frame[col]
        start = len(names)
        if _is_text(series):
            text = series.astype(str).to_numpy()
            lev = sorted(set(text.tolist()))
            levels[col] = lev
            for level in lev[1:]:
                blocks.append((text == level).astype(float)[:, None])
                names.append(f"{col}{level}")
        else:
            blocks.append(series.to_numpy(dtype=float, na_value=np.nan)[:, None])
            names.append(col)
        if len(names) > start:
            terms.append((col, list(range(start, len(names)))))
    x = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    return x, names, terms, levels


def prepare(
    data: Any,
    *,
    time: str,
    event: str,
    covars: Sequence[str] = (),
    group: str | None = None,
    event_coding: tuple[float, float] = (0.0, 1.0),
    lake: Any = None,
    function: str = "survival",
) -> Design:
    """Read and check the columns, drop rows with missing values, code events and covariates."""
    check_param(function, "time", time, isinstance(time, str) and bool(time), "a column name")
    check_param(function, "event", event, isinstance(event, str) and bool(event), "a column name")
    check_param(
        function,
        "covars",
        covars,
        not isinstance(covars, str) and all(isinstance(c, str) and c for c in covars),
        "a list of column names",
    )
    check_param(
        function, "group", group, group is None or (isinstance(group, str) and bool(group)), "a column name or None"
    )
    covars = list(dict.fromkeys(covars))
    for c in covars:
        if c in (time, event):
            raise InputError(f"covariate {c!r} is the time or event column", file="--covars")
    columns = [time, event, *covars] + ([group] if group else [])
    frame, source = load_columns(data, columns, lake=lake)
    n_input = len(frame)
    t = _numeric(frame, time, source, "time")
    e = _numeric(frame, event, source, "event")
    keep = ~(np.isnan(t) | np.isnan(e))
    for c in covars:
        keep &= frame[c].notna().to_numpy()
    frame = frame.loc[keep].reset_index(drop=True)
    t, e = t[keep], e[keep]
    rows = np.flatnonzero(keep) + 1
    censored, dead = event_coding
    bad = ~((e == censored) | (e == dead))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"event must be {_label(censored)} (censored) or {_label(dead)} (event); got {_label(e[i])}"
            + (" (use --event-coding 1,2 for R's 1/2 coding)" if e[i] == 2 and (censored, dead) == (0.0, 1.0) else ""),
            file=source,
            record=int(rows[i]),
            column=event,
        )
    if not np.isfinite(t).all() or (t < 0).any():
        i = int(np.flatnonzero(~np.isfinite(t) | (t < 0))[0])
        raise InputError(
            f"time must be a finite number >= 0; got {t[i]!r}", file=source, record=int(rows[i]), column=time
        )
    for c in covars:
        if not _is_text(frame[c]):
            v = frame[c].to_numpy(dtype=float, na_value=np.nan)
            if not np.isfinite(v).all():
                i = int(np.flatnonzero(~np.isfinite(v))[0])
                raise InputError(
                    f"covariate value must be finite; got {v[i]!r}", file=source, record=int(rows[i]), column=c
                )
    if len(t) == 0:
        raise InputError("no rows left after dropping rows with missing values", file=source)
    x, names, terms, levels = design_matrix(frame, covars, source=source)
    labels = None
    group_levels: list[str] = []
    if group:
        values = frame[group]
        present = values.notna().to_numpy()
        labels = np.full(len(values), None, dtype=object)
        if _is_text(values):
            labels[present] = values[present].astype(str).to_numpy(dtype=object)
            group_levels = sorted(set(labels[present].tolist()))
        else:
            labels[present] = [_label(v) for v in values[present].to_numpy()]
            group_levels = [_label(v) for v in np.unique(values[present].to_numpy())]
    return Design(
        time=t,
        event=(e == dead).astype(np.int8),
        x=x,
        names=names,
        terms=terms,
        group=labels,
        group_levels=group_levels,
        n_input=n_input,
        dropped=n_input - len(t),
        source=source,
        levels=levels,
    )
