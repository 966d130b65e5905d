"""Evidence tables for target identification: reading, validation and the transforms to [0, 1].

Every source becomes rows ``gene score`` with the score in [0, 1] (one row per piece of
evidence). The transforms:

* user evidence (``--evidence NAME=FILE``): the file's ``gene`` and ``score`` columns as they
  are; a score that is not a number in [0, 1] is an error naming the file and line;
* differential expression (``--de FILE``, biolake's ``genomics de`` table: ``gene``,
  ``log2_fold_change``, ``padj``): genes with padj < 0.05 give
  ``min(1, −log10 padj / 10) · min(1, |log2_fold_change| / 2)`` (padj 1e−10 and a 4-fold change
  score 1);
* proteomics (``--proteomics FILE``: ``protein``, ``log_fc``, ``padj``; the ``gene`` column
  names the gene when present, else the protein id is taken as the gene): the same transform
  with ``log_fc``.

Gene identifiers are resolved against the annotation when one is given: a gene id (with or
without its ``.version``) or a gene name that names exactly one gene becomes that gene's id;
anything else is kept as written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError

__all__ = ["DE_PADJ", "GeneResolver", "de_evidence", "proteomics_evidence", "read_evidence", "read_frame"]

#: Adjusted p-value below which a DE or proteomics row is evidence.
DE_PADJ = 0.05


def read_frame(
    spec: str | os.PathLike[str], *, lake: Any = None, select: Callable[[list[str]], list[str]] | None = None
) -> tuple[pd.DataFrame, str, bool]:
    """A table (text files: every column as text): (frame, source name, whether row i is on line i + 2).

    ``spec`` is a .csv/.tsv/.txt (gzip too) or .parquet file, or ``lake:NAME``. ``select``
    picks the columns to read from the column names (default: all).
    """
    from biolake.io.table import table_format

    text = str(spec)
    if text.startswith("lake:"):
        if lake is None or not lake.exists(text[5:]):
            raise InputError("no such table dataset in the lake", file=text)
        info = lake.info(text[5:])
        if info.kind != "table":
            raise InputError(f"dataset {info.name!r} is an array, not a table", file=text)
        columns = select(list(info.schema)) if select else None
        return lake.to_pandas(info.name, columns=columns), text, False
    path = Path(text)
    if not path.is_file():
        raise InputError("no such file", file=text)
    fmt, delimiter = table_format(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            columns = select(list(pq.read_schema(path).names)) if select else None
            return pd.read_parquet(path, columns=columns), text, False
        options: dict[str, Any] = {"sep": delimiter, "dtype": str, "keep_default_na": False, "compression": "infer"}
        usecols = select([str(c) for c in pd.read_csv(path, nrows=0, **options).columns]) if select else None
        frame = pd.read_csv(path, usecols=usecols, engine="c", **options)
    except (ValueError, OSError, pd.errors.ParserError, EOFError) as exc:
        raise InputError(" ".join(str(exc).split())[:300], file=text) from None
    return frame, text, True


def _where(source: str, i: int, text_lines: bool) -> dict[str, Any]:
    return {"file": source, "line": i + 2} if text_lines else {"file": source, "record": i + 1}


def _column(frame: pd.DataFrame, names: tuple[str, ...], source: str, *, required: bool = True) -> str | None:
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for n in names:
        if n in lower:
            return lower[n]
    if required:
        raise InputError(
            f"no column {' or '.join(repr(n) for n in names)} (columns: {', '.join(map(str, frame.columns))})",
            file=source,
        )
    return None


def _numbers(
    frame: pd.DataFrame, col: str, source: str, text_lines: bool, *, what: str, allow_missing: bool
) -> np.ndarray:
    values = frame[col]
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    raw = values.astype(str).str.strip()
    missing = raw.isin(["", "NA", "NaN", "nan", "None", "<NA>"]).to_numpy() | values.isna().to_numpy()
    bad = np.isnan(out) & ~(missing & allow_missing)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{what} {str(values.iloc[i])!r} is not a number", **_where(source, i, text_lines))
    return out


def read_evidence(spec: str | os.PathLike[str], *, lake: Any = None) -> pd.DataFrame:
    """A user evidence table: columns ``gene`` and ``score`` (in [0, 1]), one row per piece of evidence.

    Raises
    ------
    InputError
        Missing columns, an empty gene, a score that is not a number or outside [0, 1]
        (naming the file and line).
    """
    frame, source, text_lines = read_frame(spec, lake=lake)
    gcol = _column(frame, ("gene",), source)
    scol = _column(frame, ("score",), source)
    assert gcol is not None and scol is not None
    scores = _numbers(frame, scol, source, text_lines, what="score", allow_missing=False)
    outside = ~((scores >= 0) & (scores <= 1))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(f"score {scores[i]:g} is outside [0, 1]", **_where(source, i, text_lines))
    genes = frame[gcol].astype(str).str.strip()
    empty = (genes == "") | frame[gcol].isna()
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputError("empty gene", **_where(source, i, text_lines))
    return pd.DataFrame({"gene": genes.to_numpy(dtype=object), "score": scores})


def _de_score(padj: np.ndarray, lfc: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        sig = np.minimum(1.0, -np.log10(padj) / 10.0)
    return sig * np.minimum(1.0, np.abs(lfc) / 2.0)


def _fold_evidence(
    spec: str | os.PathLike[str], *, lake: Any, id_cols: tuple[str, ...], lfc_cols: tuple[str, ...], padj: float
) -> pd.DataFrame:
    frame, source, text_lines = read_frame(spec, lake=lake)
    gcol = _column(frame, id_cols, source)
    lcol = _column(frame, lfc_cols, source)
    pcol = _column(frame, ("padj",), source)
    assert gcol is not None and lcol is not None and pcol is not None
    p = _numbers(frame, pcol, source, text_lines, what="padj", allow_missing=True)
    lfc = _numbers(frame, lcol, source, text_lines, what=lcol, allow_missing=True)
    bad = ~np.isnan(p) & ~((p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"padj {p[i]:g} is outside [0, 1]", **_where(source, i, text_lines))
    keep = ~np.isnan(p) & ~np.isnan(lfc) & (p < padj)
    genes = frame[gcol].astype(str).str.strip().to_numpy(dtype=object)
    out = pd.DataFrame({"gene": genes[keep], "score": _de_score(p[keep], lfc[keep])})
    return out[out["gene"] != ""].reset_index(drop=True)


def de_evidence(spec: str | os.PathLike[str], *, lake: Any = None, padj: float = DE_PADJ) -> pd.DataFrame:
    """Evidence from a differential-expression table (``gene log2_fold_change padj``; see the module docstring)."""
    return _fold_evidence(
        spec, lake=lake, id_cols=("gene",), lfc_cols=("log2_fold_change", "log2foldchange"), padj=padj
    )


def proteomics_evidence(spec: str | os.PathLike[str], *, lake: Any = None, padj: float = DE_PADJ) -> pd.DataFrame:
    """Evidence from a proteomics table (``protein``/``gene``, ``log_fc``, ``padj``; see the module docstring)."""
    return _fold_evidence(spec, lake=lake, id_cols=("gene", "protein"), lfc_cols=("log_fc", "logfc"), padj=padj)


class GeneResolver:
    """Maps gene ids, unversioned ids and unique gene names of an annotation to its gene ids."""

    def __init__(self, genes: pd.DataFrame | None) -> None:
        self.names: dict[str, str] = {}
        self._map: dict[str, str] = {}
        if genes is None or genes.empty:
            return
        ids = genes["gene_id"].astype(str).tolist()
        names = genes["gene_name"].fillna("").astype(str).tolist()
        self.names = dict(zip(ids, names, strict=True))
        counts = pd.Series([n for n in names if n]).value_counts()
        for gid, name in zip(ids, names, strict=True):
            if name and counts.get(name, 0) == 1:
                self._map.setdefault(name, gid)
        for gid in ids:
            self._map.setdefault(gid.split(".")[0], gid)
        for gid in ids:
            self._map[gid] = gid

    def __call__(self, genes: pd.Series) -> pd.Series:
        """The annotation's id for each value (unchanged when unknown)."""
        if not self._map:
            return genes
        return genes.map(lambda g: self._map.get(g, self._map.get(str(g).split(".")[0], g)))

    def name(self, gene: str) -> str:
        """The gene's name ('' when unknown)."""
        return self.names.get(gene, "")
