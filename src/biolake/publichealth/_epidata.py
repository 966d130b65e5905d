"""Reading and checking the columns of epidemiological tables (rates, 2×2 tables, risk factors).

Tables are read with :func:`biolake.publichealth.counts._open_relation` (CSV/TSV/Parquet
files, ``lake:NAME`` tables or DataFrames); only the named columns are loaded. Problems
become one-line :class:`~biolake.errors.InputError`\\ s naming the file, the column and the
data row (1-based ``record``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError
from biolake.publichealth.counts import _open_relation, _quote_ident

__all__ = ["as_binary", "numeric_column", "read_columns", "spec_of"]

_YES = {"1", "y", "yes", "true", "t", "case", "exposed"}
_NO = {"0", "n", "no", "false", "f", "control", "unexposed"}


def spec_of(value: Any) -> str:
    """A file path as given, or ``lake:NAME`` for a name that is not a file."""
    spec = str(value)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    return spec


def read_columns(
    data: Any, columns: Sequence[str], *, lake: Any = None, optional: Sequence[str] = ()
) -> tuple[pd.DataFrame, str]:
    """The named columns (and those of ``optional`` that exist) as a DataFrame in file order, and the source."""
    import duckdb

    if isinstance(data, os.PathLike | str) and not str(data).startswith("lake:") and not Path(str(data)).is_file():
        if lake is None:
            raise InputError("no such file", file=str(data))
        data = f"lake:{data}"
    con, src, source, owns = _open_relation(data, lake)
    try:
        described = con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
        names = [str(r[0]) for r in described]
        for col in columns:
            if col not in names:
                raise InputError(f"no column {col!r} (columns: {', '.join(names)})", file=source)
        wanted = [*columns, *(c for c in optional if c in names)]
        cols = ", ".join(_quote_ident(c) for c in dict.fromkeys(wanted))
        return con.sql(f"SELECT {cols} FROM {src}").df(), source
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the table: {first}", file=source) from None
    finally:
        if owns is not None:
            owns.__exit__(None, None, None)
        else:
            con.close()


def numeric_column(
    df: pd.DataFrame,
    col: str,
    source: str,
    *,
    what: str,
    nonnegative: bool = True,
    positive: bool = False,
    integer: bool = False,
    allow_missing: bool = False,
) -> np.ndarray:
    """Column ``col`` as float64, checked: numeric, no missing values, and the sign and integrality asked."""
    s = df[col]
    if s.dtype == bool or not (pd.api.types.is_numeric_dtype(s.dtype)):
        bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        i = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
        value = s.iloc[i] if len(s) else None
        raise InputError(f"{what} {value!r} is not a number", file=source, record=i + 1, column=col)
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(x)
    if missing.any() and not allow_missing:
        raise InputError(f"missing {what}", file=source, record=int(np.flatnonzero(missing)[0]) + 1, column=col)
    checks = [(~np.isfinite(x) & ~missing, "is not finite")]
    if positive:
        checks.append((x <= 0, "must be > 0"))
    elif nonnegative:
        checks.append((x < 0, "is negative"))
    if integer:
        checks.append((np.isfinite(x) & (x != np.floor(x)), "is not a whole number"))
    for mask, problem in checks:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise InputError(f"{what} {x[i]:g} {problem}", file=source, record=i + 1, column=col)
    return x


def as_binary(s: pd.Series, col: str, source: str, *, positive: str | None = None) -> np.ndarray:
    """A two-valued column as 1.0 (case/exposed), 0.0 or NaN (missing).

    Recognized without ``positive``: numbers 0/1, booleans, and (any case) y/n, yes/no,
    true/false, t/f, case/control, exposed/unexposed. Otherwise ``positive`` names the
    value that counts as 1 and every other value counts as 0.
    """
    out = np.full(len(s), np.nan)
    present = s.notna().to_numpy()
    if positive is not None:
        text = s.astype(str).str.strip()
        out[present] = (text[present] == str(positive)).to_numpy(dtype=np.float64)
        return out
    if s.dtype == bool:
        return s.to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = present & (x != 0) & (x != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"value {x[i]:g} is not 0 or 1 (a binary column; give the value that counts as 1)",
                file=source,
                record=i + 1,
                column=col,
            )
        return x
    text = s.astype(str).str.strip().str.lower().to_numpy()
    for i in np.flatnonzero(present):
        if text[i] in _YES:
            out[i] = 1.0
        elif text[i] in _NO:
            out[i] = 0.0
        else:
            raise InputError(
                f"value {s.iloc[i]!r} is not a recognized binary value (yes/no, y/n, 1/0, true/false); "
                "give the value that counts as 1",
                file=source,
                record=int(i) + 1,
                column=col,
            )
    return out
