"""Design formulas of differential-expression models: ``~ batch + condition`` → model matrix.

A formula is ``~`` followed by factor columns of the samples table joined by ``+``
(``~ 1`` is the intercept-only model); a column whose name is not an identifier may
be quoted with backticks. The model matrix is R's ``model.matrix`` with treatment
contrasts: an intercept, then for each factor, in formula order, one indicator column
per level except the reference level. Levels are the sorted distinct values (as R's
``factor()``), unless given. Values are always read as text.

Examples
--------
>>> import pandas as pd
>>> samples = pd.DataFrame({"batch": ["a", "b", "a", "b"], "condition": ["c", "c", "t", "t"]})
>>> d = model_matrix(samples, parse_design("~ batch + condition"))
>>> d.columns
['Intercept', 'batch_b_vs_a', 'condition_t_vs_c']
>>> d.matrix.tolist()
[[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from biolake.errors import InputError

__all__ = ["Design", "align_samples", "check_full_rank", "model_matrix", "parse_design", "read_samples"]

_TERM = re.compile(r"`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*)|(1)")


def parse_design(formula: str, *, option: str = "--design") -> list[str]:
    """The factor names of a formula ``~ a + b`` (``[]`` for ``~ 1``).

    Parameters
    ----------
    formula
        The formula text.
    option
        How to name the formula in error messages.

    Returns
    -------
    list of str
        Factor names in formula order.

    Raises
    ------
    InputError
        If the formula is not ``~`` and terms joined by ``+`` (interactions, ``-`` and
        functions are not supported), or names a factor twice.

    Examples
    --------
    >>> parse_design("~ `cell type` + condition")
    ['cell type', 'condition']
    >>> parse_design("~1")
    []
    """
    text = str(formula).strip()
    if not text.startswith("~"):
        raise InputError(f"a design formula starts with '~', e.g. '~ batch + condition'; got {formula!r}", file=option)
    body = text[1:].strip()
    if not body:
        raise InputError(f"empty design formula {formula!r}", file=option)
    terms: list[str] = []
    for part in _split_plus(body):
        part = part.strip()
        m = _TERM.fullmatch(part)
        if m is None:
            raise InputError(f"unsupported term {part!r} in {formula!r}: use factor columns joined by '+'", file=option)
        if m.group(3):
            continue
        name = m.group(1) or m.group(2)
        if name in terms:
            raise InputError(f"factor {name!r} appears twice in {formula!r}", file=option)
        terms.append(name)
    return terms


def _split_plus(body: str) -> list[str]:
    parts, cur, quoted = [], [], False
    for ch in body:
        if ch == "`":
            quoted = not quoted
        if ch == "+" and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


@dataclass
class Design:
    """A model matrix with the names of its columns and the factors behind it."""

    matrix: np.ndarray
    columns: list[str]
    factors: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def column_of(self, factor: str, level: str) -> int | None:
        """Index of the indicator column of ``level`` of ``factor`` (None for the reference level)."""
        ref = self.levels[factor][0]
        if level == ref:
            return None
        return self.columns.index(f"{factor}_{level}_vs_{ref}")


def model_matrix(
    samples: pd.DataFrame,
    factors: Sequence[str],
    *,
    levels: Mapping[str, Sequence[str]] | None = None,
    file: str = "--samples",
) -> Design:
    """R's ``model.matrix`` with treatment contrasts for factor columns of ``samples``.

    Parameters
    ----------
    samples
        One row per sample.
    factors
        Factor columns, in formula order (see :func:`parse_design`).
    levels
        Optional level order per factor (the first is the reference); default sorted.
    file
        How to name the samples table in error messages.

    Returns
    -------
    Design
        The matrix (samples × columns), DESeq2's column names (``Intercept``,
        ``factor_level_vs_reference``), and the levels and values of each factor.

    Raises
    ------
    InputError
        If a factor is not a column, has missing values or a single level.
    """
    cols = [np.ones(len(samples))]
    names = ["Intercept"]
    lv: dict[str, list[str]] = {}
    values: dict[str, np.ndarray] = {}
    for f in factors:
        if f not in samples.columns:
            raise InputError(
                f"design factor {f!r} is not a column of the samples table"
                f" (columns: {', '.join(map(str, samples.columns))})",
                file=file,
            )
        col = samples[f]
        if col.isna().any():
            raise InputError(f"design factor {f!r} has missing values", file=file, column=f)
        vals = col.astype(str).to_numpy()
        given = None if levels is None else levels.get(f)
        order = list(given) if given is not None else sorted(set(vals.tolist()))
        if len(set(vals.tolist())) < 2:
            raise InputError(f"design factor {f!r} has a single level {vals[0]!r}", file=file, column=f)
        lv[f] = order
        values[f] = vals
        for level in order[1:]:
            cols.append((vals == level).astype(np.float64))
            names.append(f"{f}_{level}_vs_{order[0]}")
    return Design(np.column_stack(cols), names, list(factors), lv, values)


def check_full_rank(d: Design, *, option: str = "--design") -> None:
    """Refuse a design matrix that is not of full column rank (a factor confounded with another)."""
    if np.linalg.matrix_rank(d.matrix) < d.matrix.shape[1]:
        raise InputError(
            f"the design matrix is not full rank (columns {', '.join(d.columns)}): a factor is confounded with another",
            file=option,
        )


def read_samples(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A samples table (CSV by extension, else tab-separated; ``.gz`` too), every value as text."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=p)
    name = p.name.lower().removesuffix(".gz")
    sep = "," if name.endswith(".csv") else "\t"
    try:
        return pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the samples table: {' '.join(str(exc).split())}", file=p) from None


def align_samples(
    samples: pd.DataFrame, sample_ids: Sequence[str], *, col: str, file: str, what: str = "count"
) -> pd.DataFrame:
    """Rows of the samples table in the matrix's column order (ids as text); any mismatch is an error.

    ``what`` names the matrix in the messages (``count`` columns, ``matrix`` columns).
    """
    if col not in samples.columns:
        raise InputError(f"the samples table has no {col!r} column (use --sample-col)", file=file)
    ids = samples[col].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"sample {dup.iloc[0]!r} appears twice", file=file, column=col)
    known, wanted = set(ids), set(sample_ids)
    missing = [s for s in sample_ids if s not in known]
    if missing:
        raise InputError(
            f"{len(missing)} {what} columns are not in the samples table, e.g. {missing[0]!r}", file=file, column=col
        )
    extra = [s for s in ids if s not in wanted]
    if extra:
        raise InputError(f"{len(extra)} samples have no {what} column, e.g. {extra[0]!r}", file=file, column=col)
    return samples.assign(**{col: ids}).set_index(col).loc[list(sample_ids)].reset_index()
