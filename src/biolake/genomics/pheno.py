"""Phenotype and covariate files for association tests, read as plink2 reads them.

A file is a table with a header row, its fields separated by commas, tabs or runs of
spaces (the header line decides: a comma makes it comma-separated, else a tab makes
it tab-separated, else whitespace). plink2's ``#FID IID …`` files work as they are: a
leading ``#`` of the header is dropped. Samples are matched by the ``IID`` column (or
another one named by ``sample_col``). Missing values: ``NA``, ``nan``, ``.``, an empty
field, and plink2's ``-9``.

Case/control traits are coded as plink2 codes them: ``1`` control, ``2`` case (``0``
and ``-9`` missing); a trait whose values are only ``0`` and ``1`` is read as
``0`` control, ``1`` case (plink2 with ``--1``).

Examples
--------
>>> from pathlib import Path
>>> p = tmp_path / "pheno.txt"                                     # doctest: +SKIP
>>> _ = p.write_text("#FID IID qt\\nF1 S1 1.5\\nF1 S2 -9\\n")        # doctest: +SKIP
>>> ids, values = read_sample_values(p, ["qt"])                    # doctest: +SKIP
>>> ids.tolist(), values[:, 0].tolist()                            # doctest: +SKIP
(['S1', 'S2'], [1.5, nan])
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from biolake.errors import InputError

__all__ = ["MISSING_VALUES", "case_control", "read_sample_values"]

#: Field values read as missing (compared case-insensitively, after stripping).
MISSING_VALUES = frozenset({"", "na", "nan", ".", "-9", "-9.0", "none", "null"})
_SPACES = re.compile(r"\s+")


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return _SPACES.split(line.strip())
    return [f.strip() for f in line.rstrip("\r\n").split(sep)]


def read_sample_values(
    path: str | os.PathLike[str], columns: list[str], *, sample_col: str = "IID"
) -> tuple[np.ndarray, np.ndarray]:
    """Sample IDs and the float values of ``columns`` (NaN = missing) of a phenotype/covariate file.

    Raises
    ------
    InputError
        A missing file or column, a line with the wrong number of fields, a value that
        is not a number, or a sample listed twice — naming the file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    with path.open(encoding="utf-8", errors="replace") as fh:
        header_line = fh.readline()
        while header_line and not header_line.strip():
            header_line = fh.readline()
        if not header_line:
            raise InputError("the file is empty (a header row is required)", file=path)
        sep = "," if "," in header_line else ("\t" if "\t" in header_line else None)
        header = _split(header_line, sep)
        if header and header[0].startswith("#"):
            header[0] = header[0][1:]
        index = {name: i for i, name in enumerate(header)}
        if sample_col not in index:
            raise InputError(
                f"no sample column {sample_col!r} in the header (columns: {', '.join(header)}); use --sample-col",
                file=path,
                line=1,
            )
        missing_cols = [c for c in columns if c not in index]
        if missing_cols:
            raise InputError(
                f"no column {missing_cols[0]!r} in the header (columns: {', '.join(header)})", file=path, line=1
            )
        want = [index[c] for c in columns]
        sid = index[sample_col]
        ids: list[str] = []
        rows: list[list[float]] = []
        seen: dict[str, int] = {}
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            fields = _split(line, sep)
            if len(fields) != len(header):
                raise InputError(f"expected {len(header)} fields, found {len(fields)}", file=path, line=lineno)
            sample = fields[sid]
            if sample in seen:
                raise InputError(
                    f"sample {sample!r} is listed twice (first on line {seen[sample]})", file=path, line=lineno
                )
            seen[sample] = lineno
            values = []
            for col, j in zip(columns, want, strict=True):
                text = fields[j]
                if text.lower() in MISSING_VALUES:
                    values.append(np.nan)
                    continue
                try:
                    val = float(text)
                except ValueError:
                    raise InputError(f"{text!r} is not a number", file=path, line=lineno, column=col) from None
                values.append(val if np.isfinite(val) else np.nan)
            ids.append(sample)
            rows.append(values)
    arr = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    return np.array(ids, dtype=object), arr


def case_control(
    values: np.ndarray, *, file: str | os.PathLike[str] | None = None, column: str | None = None
) -> np.ndarray:
    """A case/control trait as 0/1 floats (NaN missing): plink2's 1/2 coding (0 missing), or 0/1.

    Raises
    ------
    InputError
        If other values occur, or there are no cases or no controls.
    """
    v = np.asarray(values, dtype=np.float64)
    present = v[~np.isnan(v)]
    levels = set(np.unique(present).tolist())
    if levels <= {0.0, 1.0, 2.0} and 2.0 in levels:
        y = np.where(v == 2.0, 1.0, np.where(v == 1.0, 0.0, np.nan))
    elif levels <= {0.0, 1.0}:
        y = v.copy()
    else:
        bad = sorted(levels - {0.0, 1.0, 2.0})[:3]
        raise InputError(
            f"a case/control trait must be coded 1/2 (0, -9 or NA missing) or 0/1; found {bad}",
            file=file,
            column=column,
        )
    n_case = int(np.nansum(y))
    n_control = int((y == 0).sum())
    if n_case == 0 or n_control == 0:
        raise InputError(
            f"the trait has {n_case} cases and {n_control} controls; both are needed", file=file, column=column
        )
    return y
