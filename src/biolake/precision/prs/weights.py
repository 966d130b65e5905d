"""Polygenic score weights files: the PGS Catalog scoring-file format and a plain table.

PGS Catalog scoring files (format 2.0, harmonized or not)
    ``#`` header lines (``#pgs_id=PGS000001``, ``#genome_build=GRCh37`` …), then a
    tab-separated table with ``effect_allele`` and ``effect_weight`` and the variant
    located by ``chr_name``/``chr_position`` (harmonized files: ``hm_chr``/``hm_pos``,
    used when filled) or by ``rsID`` only. ``other_allele`` (or ``hm_inferOtherAllele``)
    is optional; ``is_dominant``/``is_recessive`` (``TRUE``/``FALSE``) set the model of
    a variant. The score's name is the ``pgs_id`` (else ``pgs_name``, else the file's stem).
Plain tables
    A header line ``id effect_allele NAME…`` (tab- or whitespace-separated): every
    column after the effect allele holds one score's weights and is named by its header.
    Variants are matched by ID; an ID of the form ``CHR:POS[:A:B]`` that is not a
    dataset ID is matched by position (and alleles).

A non-numeric weight, an empty required field or a line with too few fields raises
:class:`~biolake.errors.InputError` naming the file, the line and the column.

Examples
--------
>>> w = read_weights("PGS000001_hmPOS_GRCh37.txt")      # doctest: +SKIP
>>> w.scores, len(w)                                     # doctest: +SKIP
(['PGS000001'], 77)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from biolake.errors import InputError

__all__ = ["MODELS", "Weights", "read_weights"]

#: Genetic models of a variant's dosage, as plink2's ``--score`` modifiers.
MODELS = ("additive", "dominant", "recessive")

_POS_ID = re.compile(r"^(?:chr)?([0-9A-Za-z]+)[:_](\d+)(?:[:_]([A-Za-z]+)[:_]([A-Za-z]+))?$")
_TRUE = {"true", "t", "1", "yes"}


@dataclass
class Weights:
    """A weights file, parsed: one row per variant line, one weight column per score.

    Attributes
    ----------
    path, fmt
        The file and its format (``"pgs"`` or ``"plain"``).
    scores
        Score names (the ``score`` values of the output).
    id, chrom, pos
        Variant ID (an Arrow string array, null when absent), contig (``chr`` prefix removed, None when absent)
        and position (-1 when absent), per row.
    effect_allele, other_allele
        Upper-case alleles (``other_allele`` None when not given).
    weights
        float64 (rows × scores).
    model
        Per row: 0 additive, 1 dominant, 2 recessive (from ``is_dominant``/``is_recessive``).
    line
        The 1-based line number of each row in the file.
    header
        The ``#key=value`` header lines.
    """

    path: str
    fmt: str
    scores: list[str]
    id: pa.Array
    chrom: np.ndarray
    pos: np.ndarray
    effect_allele: np.ndarray
    other_allele: np.ndarray
    weights: np.ndarray
    model: np.ndarray
    line: np.ndarray
    header: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.weights.shape[0])


def _shared(values: pd.Series) -> np.ndarray:
    """Stripped strings as an object array sharing one Python object per distinct value ("" for missing)."""
    codes, uniques = pd.factorize(values.fillna("").str.strip())
    u = np.asarray(uniques, dtype=object)
    return u[codes] if len(u) else np.full(len(values), "", dtype=object)


def _norm_chrom(values: pd.Series) -> np.ndarray:
    out = _shared(values)
    names = np.array([None if c == "" else (c[3:] if c.lower().startswith("chr") else c) for c in pd.unique(out)])
    index = {c: i for i, c in enumerate(pd.unique(out))}
    return names[[index[c] for c in out]] if len(out) else np.array([], dtype=object)


def _alleles(values: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(values.fillna("").str.strip().str.upper())
    u = np.asarray(uniques, dtype=object)
    u[np.isin(u, ["", ".", "NA", "NAN", "NONE"])] = None
    return u[codes] if len(u) else np.full(len(values), None, dtype=object)


def _positions(values: pd.Series) -> np.ndarray:
    """Positions as float (NaN where empty or not a number)."""
    try:
        arr = pa.array(values.fillna(""), type=pa.string())
        return pc.cast(pc.if_else(pc.equal(pc.utf8_trim_whitespace(arr), ""), None, arr), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_numeric(values.astype(object).str.strip(), errors="coerce").to_numpy(dtype=np.float64)


def _ids(values: pd.Series) -> pa.Array:
    """IDs as an Arrow string array (null where empty or ``.``): no Python object per row."""
    v = values.fillna("").str.strip()
    return pa.array(v.where((v != "") & (v != "."), None), type=pa.string())


def _numbers(frame: Any, col: str, path: Path, first_line: int) -> np.ndarray:
    raw = frame[col]
    if raw.dtype == np.float64:
        return raw.to_numpy()
    values = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = raw.iloc[i]
        problem = f"missing value in column {col!r}" if text is None or not str(text).strip() else None
        problem = problem or f"weight {str(text).strip()!r} in column {col!r} is not a finite number"
        raise InputError(problem, file=str(path), line=first_line + i)
    return values


def _required(frame: Any, col: str, path: Path, first_line: int) -> None:
    empty = frame[col].isna().to_numpy() | (frame[col].str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"missing value in column {col!r}", file=str(path), line=first_line + i)


def read_weights(path: str | os.PathLike[str]) -> Weights:
    """Read a PGS Catalog scoring file or a plain ``id effect_allele NAME…`` table.

    Raises
    ------
    InputError
        No such file, no header line, a missing required column, a line with too few
        fields, an empty required field or a non-numeric weight (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such weights file", file=str(path))
    opener = __import__("gzip").open if path.suffix == ".gz" else open
    header: dict[str, str] = {}
    n_comment = 0
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        head_line = ""
        for raw in fh:
            if raw.startswith("#"):
                n_comment += 1
                key, sep, value = raw.lstrip("#").strip().partition("=")
                if sep:
                    header[key.strip()] = value.strip()
                continue
            head_line = raw.rstrip("\r\n")
            break
    if not head_line.strip():
        raise InputError("no header line (expected a PGS Catalog scoring file or 'id effect_allele NAME…')", file=path)
    tab = "\t" in head_line
    columns = head_line.split("\t") if tab else head_line.split()
    columns = [c.strip() for c in columns]
    header_line = n_comment + 1
    if len(set(columns)) != len(columns):
        raise InputError("duplicate column names in the header", file=str(path), line=header_line)
    lowered = {c.lower(): c for c in columns}
    is_pgs = "effect_weight" in lowered and "effect_allele" in lowered
    numeric = [lowered["effect_weight"]] if is_pgs else columns[2:]
    frame = _read_fast(path, n_comment, columns, numeric) if tab else None
    if frame is None:
        frame = _read_table(path, tab, n_comment, columns)
    first = header_line + 1
    if is_pgs:
        return _pgs(frame, lowered, header, path, first)
    if len(columns) < 3:
        raise InputError(
            "expected a PGS Catalog scoring file (effect_allele, effect_weight) or a plain header "
            f"'id effect_allele NAME…'; got {len(columns)} column(s)",
            file=str(path),
            line=header_line,
        )
    return _plain(frame, columns, header, path, first)


def _read_fast(path: Path, n_comment: int, columns: list[str], numeric: list[str]) -> _Frame | None:
    """Tab-separated files through Arrow's CSV reader: weights as float64, strings kept in Arrow.

    Returns None on any problem (a non-numeric or non-finite weight, a short line …):
    the file is then read again by :func:`_read_table`, which names the offending line.
    """
    import pyarrow.csv as pcsv

    types = {c: (pa.float64() if c in numeric else pa.string()) for c in columns}
    pool = pa.system_memory_pool()  # buffers go back to the OS when freed (large weights files)
    weights = np.empty((_count_lines(path), len(numeric)))  # filled in place: no copies of the matrix
    n = 0
    strings: dict[str, list[pa.Array]] = {c: [] for c in columns if c not in numeric}
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(
                skip_rows=n_comment + 1, column_names=columns, block_size=1 << 20, use_threads=False
            ),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types=types, null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
            memory_pool=pool,
        )
        for batch in reader:
            block = weights[n : n + batch.num_rows]
            if block.shape[0] < batch.num_rows:
                return None
            for k, name in enumerate(numeric):
                block[:, k] = batch.column(name).to_numpy(zero_copy_only=False)
            if not np.isfinite(block).all():
                return None
            n += batch.num_rows
            for name, parts in strings.items():
                parts.append(batch.column(name))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    weights = weights[:n]
    out: dict[str, pd.Series] = {}
    for k, name in enumerate(numeric):
        out[name] = pd.Series(weights[:, k], copy=False)
    for name, parts in strings.items():
        col = pa.chunked_array(parts, type=pa.string()).combine_chunks(memory_pool=pool)
        out[name] = pd.Series(pd.arrays.ArrowExtensionArray(col), copy=False)
    return _Frame(out, len(weights), weights)


def _count_lines(path: Path) -> int:
    """Number of newline characters of the (decompressed) file, plus one: an upper bound on its rows."""
    import gzip

    count = 1
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
        while chunk := fh.read(16 << 20):
            count += chunk.count(b"\n")
    return count


class _Frame:
    """Columns as pandas Series (strings backed by Arrow), without a DataFrame's consolidating copy."""

    def __init__(self, columns: dict[str, pd.Series], n: int, weights: np.ndarray) -> None:
        self._columns = columns
        self._n = n
        self.weights = weights  # the numeric columns, in order, as one float64 matrix

    def __getitem__(self, name: str) -> pd.Series:
        return self._columns[name]

    def __len__(self) -> int:
        return self._n


def _read_table(path: Path, tab: bool, n_comment: int, columns: list[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep="\t" if tab else r"\s+",
            skiprows=n_comment + 1,
            header=None,
            names=columns,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=True,
            engine="c",
            quoting=3,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + n_comment if match else None
        raise InputError(f"more fields than the header's {len(columns)}", file=str(path), line=line) from None


def _pgs(frame: Any, cols: dict[str, str], header: dict[str, str], path: Path, first: int) -> Weights:
    n = len(frame)
    name = header.get("pgs_id") or header.get("pgs_name") or path.name.split(".")[0]
    chrom = np.full(n, None, dtype=object)
    pos = np.full(n, -1, dtype=np.int64)
    for c_col, p_col in (("chr_name", "chr_position"), ("hm_chr", "hm_pos")):
        if c_col in cols and p_col in cols:
            c = _norm_chrom(frame[cols[c_col]])
            p = _positions(frame[cols[p_col]])
            ok = (c != None) & np.isfinite(p)  # noqa: E711 (elementwise)
            chrom[ok] = c[ok]
            pos[ok] = p[ok].astype(np.int64)
    ids = pa.nulls(n, pa.string())
    for id_col in ("rsid", "hm_rsid"):
        if id_col in cols:
            found = _ids(frame[cols[id_col]])
            ids = pc.if_else(pc.is_valid(found), found, ids)
    if "chr_name" not in cols and "hm_chr" not in cols and "rsid" not in cols and "hm_rsid" not in cols:
        raise InputError(
            "a PGS Catalog scoring file needs chr_name/chr_position (or hm_chr/hm_pos) or rsID",
            file=str(path),
            line=first - 1,
        )
    located = (pos >= 0) | pc.is_valid(ids).to_numpy(zero_copy_only=False)
    if not located.all():
        i = int(np.flatnonzero(~located)[0])
        raise InputError("missing chr_name/chr_position and rsID", file=str(path), line=first + i)
    _required(frame, cols["effect_allele"], path, first)
    other_col = cols.get("other_allele") or cols.get("hm_inferotherallele")
    other = _alleles(frame[other_col]) if other_col else np.full(n, None, dtype=object)
    model = np.zeros(n, dtype=np.int8)
    for flag, code in (("is_dominant", 1), ("is_recessive", 2)):
        if flag in cols:
            model[frame[cols[flag]].str.strip().str.lower().isin(_TRUE).to_numpy()] = code
    weights = _numbers(frame, cols["effect_weight"], path, first)[:, None]
    return Weights(
        path=str(path),
        fmt="pgs",
        scores=[name],
        id=ids,
        chrom=chrom,
        pos=pos,
        effect_allele=_alleles(frame[cols["effect_allele"]]),
        other_allele=other,
        weights=weights,
        model=model,
        line=np.arange(first, first + n, dtype=np.int64),
        header=header,
    )


def _plain(frame: Any, columns: list[str], header: dict[str, str], path: Path, first: int) -> Weights:
    n = len(frame)
    id_col, ea_col, score_cols = columns[0], columns[1], columns[2:]
    _required(frame, id_col, path, first)
    _required(frame, ea_col, path, first)
    if isinstance(frame, _Frame):
        weights = frame.weights
    else:
        weights = np.empty((n, len(score_cols)), dtype=np.float64)
        for k, col in enumerate(score_cols):
            weights[:, k] = _numbers(frame, col, path, first)
    ids = _ids(frame[id_col])
    return Weights(
        path=str(path),
        fmt="plain",
        scores=list(score_cols),
        id=ids,
        # constant columns as read-only views of one value (no memory per row)
        chrom=np.broadcast_to(np.array(None, dtype=object), (n,)),
        pos=np.broadcast_to(np.array(-1, dtype=np.int64), (n,)),
        effect_allele=_alleles(frame[ea_col]),
        other_allele=np.broadcast_to(np.array(None, dtype=object), (n,)),
        weights=weights,
        model=np.zeros(n, dtype=np.int8),
        line=np.arange(first, first + n, dtype=np.int64),
        header=header,
    )


def position_ids(ids: pa.Array | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``CHR:POS[:A:B]`` IDs: contig (None if not of that form), position, alleles A and B."""
    n = len(ids)
    chrom = np.full(n, None, dtype=object)
    pos = np.full(n, -1, dtype=np.int64)
    a = np.full(n, None, dtype=object)
    b = np.full(n, None, dtype=object)
    for i, text in enumerate(ids.to_pylist() if isinstance(ids, pa.Array) else list(ids)):
        m = _POS_ID.match(str(text)) if text is not None else None
        if m:
            chrom[i], pos[i] = m.group(1), int(m.group(2))
            if m.group(3):
                a[i], b[i] = m.group(3).upper(), m.group(4).upper()
    return chrom, pos, a, b
