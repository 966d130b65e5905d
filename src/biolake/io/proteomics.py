"""Protein × sample intensity tables (MaxQuant ``proteinGroups.txt`` or a plain matrix) → the lake.

Two formats (``format="auto"`` picks ``maxquant`` when the header has ``Protein IDs``):

* ``maxquant``: MaxQuant's ``proteinGroups.txt`` (tab-separated, quoted fields allowed).
  The protein id is ``Majority protein IDs`` (else ``Protein IDs``), ``Gene names`` is
  kept. One intensity column per sample, by ``quant``: ``lfq`` = ``LFQ intensity <sample>``,
  ``ibaq`` = ``iBAQ <sample>`` (not ``iBAQ peptides``), ``intensity`` = ``Intensity
  <sample>`` (label-free; SILAC ``Intensity L/M/H <sample>`` columns are not samples).
  Rows flagged ``+`` in ``Potential contaminant`` (older versions: ``Contaminant``),
  ``Reverse`` or ``Only identified by site`` are removed unless ``keep_flagged``; the
  numbers removed are in the run record (``params.removed``) and the dataset's attrs.
  Zero intensities are missing values (MaxQuant writes 0 for "not quantified").
* ``matrix``: CSV or TSV (gzip too), first column the protein id, then one numeric
  column per sample; ``NA``, ``NaN`` or an empty field is missing. Zeros are kept (a
  later log2 transform makes them missing).

Ids are text (leading zeros stay). A bad file gives one :class:`InputError` naming the
file, line and column (ragged row, non-numeric or infinite value, duplicate protein or
sample id, missing quantification columns) and nothing is stored.

The dataset ``NAME`` is a Zarr group (encoding ``proteomics-zarr`` version 1, the layout
of :mod:`biolake.io.counts`) holding ``intensity`` (float64, dims ``proteins × samples``,
NaN missing), ``protein_id``, ``sample_id`` and ``gene_name``; the tables
``NAME_proteins`` (``protein_id``, ``gene_name``) and ``NAME_samples`` (``sample_id``)
list them for SQL.

Examples
--------
>>> info = ingest_proteomics(lake, "proteinGroups.txt", name="pg", quant="lfq")   # doctest: +SKIP
>>> info.attrs["removed"]                                                      # doctest: +SKIP
{'contaminant': 4, 'reverse': 3, 'only_identified_by_site': 2, 'total': 8}
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.io.counts import _check_header, _chunk_rows, _delimiter, _Invalid, _iter_text_blocks, _open_text
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake.progress import NullProgress, Progress

__all__ = [
    "PROTEOMICS_ENCODING",
    "PROTEOMICS_ENCODING_VERSION",
    "ProteomicsStore",
    "ingest_proteomics",
    "open_proteomics",
]

PROTEOMICS_ENCODING = "proteomics-zarr"
PROTEOMICS_ENCODING_VERSION = 1
_MISSING = ("", "NA", "NAN", "NaN", "nan", "N/A")
_QUANT_PREFIX = {"lfq": "LFQ intensity ", "ibaq": "iBAQ ", "intensity": "Intensity "}
_FLAGS = {
    "contaminant": ("Potential contaminant", "Contaminant"),
    "reverse": ("Reverse",),
    "only_identified_by_site": ("Only identified by site",),
}


@dataclass
class _Parsed:
    proteins: list[str]
    genes: list[str]
    samples: list[str]
    values: np.ndarray
    removed: dict[str, int]


def _number(field: str, path: Path, line: int, column: int, sample: str) -> float:
    text = field.strip()
    if text in _MISSING:
        return math.nan
    try:
        v = float(text)
    except ValueError:
        raise InputError(
            f"value {field!r} is not a number for sample {sample!r}", file=path, line=line, column=column
        ) from None
    if not math.isfinite(v):
        raise InputError(f"value {field!r} is not finite for sample {sample!r}", file=path, line=line, column=column)
    return v


def _add_protein(pid: str, seen: set[str], path: Path, line: int, column: int) -> None:
    if pid == "":
        raise InputError("empty protein id", file=path, line=line, column=column)
    if pid in seen:
        raise InputError(f"duplicate protein id {pid!r}", file=path, line=line, column=column)
    seen.add(pid)


def _parse_matrix(path: Path) -> _Parsed:
    """Arrow's streaming CSV reader for valid files; the line-by-line reader finds the problem otherwise."""
    delimiter = _delimiter(path)
    with _open_text(path) as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if header is None or len(header) < 2:
        return _parse_matrix_lines(path, delimiter)
    samples = _check_header(path, header)
    proteins: list[str] = []
    blocks: list[np.ndarray] = []
    seen: set[str] = set()
    try:
        for ids, values in _iter_text_blocks(path, delimiter, samples):
            if np.isinf(values).any() or np.any(ids == ""):
                raise _Invalid
            for pid in ids.tolist():
                if pid in seen:
                    raise _Invalid
                seen.add(pid)
            proteins.extend(ids.tolist())
            blocks.append(values)
    except (_Invalid, pa.ArrowInvalid):
        return _parse_matrix_lines(path, delimiter)
    values = np.concatenate(blocks) if blocks else np.zeros((0, len(samples)))
    return _Parsed(proteins, [""] * len(proteins), samples, values, {})


def _parse_matrix_lines(path: Path, delimiter: str) -> _Parsed:
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise InputError("empty file", file=path)
        if len(header) < 2:
            raise InputError("the header needs a protein id column and at least one sample column", file=path, line=1)
        samples = _check_header(path, header)
        proteins: list[str] = []
        rows: list[list[float]] = []
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields, found {len(row)}", file=path, line=line)
            _add_protein(row[0], seen, path, line, 1)
            proteins.append(row[0])
            rows.append([_number(f, path, line, j, samples[j - 2]) for j, f in enumerate(row[1:], start=2)])
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(samples))
    return _Parsed(proteins, [""] * len(proteins), samples, values, {})


def _quant_columns(header: list[str], quant: str) -> list[tuple[int, str]]:
    prefix = _QUANT_PREFIX[quant]
    silac = {"Intensity L", "Intensity M", "Intensity H"} & set(header)
    cols = []
    for i, h in enumerate(header):
        if not h.startswith(prefix) or h == "iBAQ peptides":
            continue
        if quant == "intensity" and silac and h[: len("Intensity L ")] in {f"{s} " for s in silac}:
            continue
        cols.append((i, h[len(prefix) :]))
    return cols


def _parse_maxquant(path: Path, quant: str, keep_flagged: bool) -> _Parsed:
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise InputError("empty file", file=path)
        idx = {h: i for i, h in enumerate(header)}
        id_col = idx.get("Majority protein IDs", idx.get("Protein IDs"))
        if id_col is None:
            raise InputError("no 'Majority protein IDs' or 'Protein IDs' column: not a proteinGroups.txt", file=path)
        gene_col = idx.get("Gene names")
        qcols = _quant_columns(header, quant)
        if not qcols:
            raise InputError(f"no {_QUANT_PREFIX[quant].strip()!r} columns (--quant {quant})", file=path, line=1)
        samples = [s for _, s in qcols]
        dup = [s for s in samples if samples.count(s) > 1]
        if dup:
            raise InputError(f"duplicate sample {dup[0]!r} in the {quant} columns", file=path, line=1)
        flags = {k: next((idx[c] for c in names if c in idx), None) for k, names in _FLAGS.items()}
        removed = dict.fromkeys(_FLAGS, 0)
        removed["total"] = 0
        proteins: list[str] = []
        genes: list[str] = []
        rows: list[list[float]] = []
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields, found {len(row)}", file=path, line=line)
            hit = [k for k, c in flags.items() if c is not None and row[c].strip() == "+"]
            for k in hit:
                removed[k] += 1
            vals = [_number(row[i], path, line, i + 1, s) for i, s in qcols]
            if hit and not keep_flagged:
                removed["total"] += 1
                continue
            _add_protein(row[id_col], seen, path, line, id_col + 1)
            proteins.append(row[id_col])
            genes.append(row[gene_col] if gene_col is not None else "")
            rows.append(vals)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(samples))
    values[values == 0] = np.nan
    return _Parsed(proteins, genes, samples, values, removed)


def _detect(path: Path) -> str:
    with _open_text(path) as fh:
        first = fh.readline()
    cols = [c.strip('"') for c in first.rstrip("\r\n").split("\t")]
    return "maxquant" if ("Protein IDs" in cols or "Majority protein IDs" in cols) else "matrix"


def ingest_proteomics(
    lake: Lake,
    path: str | os.PathLike[str],
    *,
    name: str,
    format: str = "auto",
    quant: str = "lfq",
    keep_flagged: bool = False,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a MaxQuant ``proteinGroups.txt`` or a protein × sample matrix as the dataset ``name``.

    Parameters
    ----------
    lake
        The lake to write into.
    path
        The file (see the module docstring).
    name
        Dataset name; the tables ``name_proteins`` and ``name_samples`` are added too.
    format
        ``"maxquant"``, ``"matrix"`` or ``"auto"`` (MaxQuant when the header names ``Protein IDs``).
    quant
        MaxQuant intensity columns: ``"lfq"``, ``"ibaq"`` or ``"intensity"``.
    keep_flagged
        Keep contaminants, reverse hits and only-identified-by-site rows (MaxQuant).
    progress
        Progress reporter.

    Returns
    -------
    DatasetInfo
        The catalog entry (shape proteins × samples; attrs: format, quant, removed).

    Raises
    ------
    InputError
        For a missing or malformed file; nothing is stored.
    """
    check_param(
        "ingest_proteomics",
        "format",
        format,
        format in ("auto", "maxquant", "matrix"),
        "'auto', 'maxquant' or 'matrix'",
    )
    check_param("ingest_proteomics", "quant", quant, quant in _QUANT_PREFIX, "'lfq', 'ibaq' or 'intensity'")
    validate_name(name)
    validate_name(f"{name}_proteins")
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    progress = progress or NullProgress()
    fmt = _detect(path) if format == "auto" else format
    params: dict[str, Any] = {"name": name, "format": fmt, "quant": quant if fmt == "maxquant" else None}
    if fmt == "maxquant":
        params["keep_flagged"] = keep_flagged
    try:
        with progress.task(f"Reading {path.name}", total=None):
            parsed = _parse_maxquant(path, quant, keep_flagged) if fmt == "maxquant" else _parse_matrix(path)
        if not parsed.proteins:
            raise InputError("no protein rows" + (" after removing flagged rows" if parsed.removed else ""), file=path)
    except InputError:
        with lake.run("ingest proteomics", params=params, inputs=[str(path)]):
            raise  # recorded as a failed run; nothing is stored
    if fmt == "maxquant":
        params["removed"] = parsed.removed
    n = len(parsed.samples)
    rows = _chunk_rows(n)
    with lake.run("ingest proteomics", params=params, inputs=[str(path)]) as run:
        digest = run.hash_input(str(path))
        attrs = {"assay": "proteomics intensities", "format": fmt, "quant": params["quant"], "removed": parsed.removed}
        stage = run.array(
            name,
            source=str(path.resolve()),
            source_hash=digest,
            encoding=PROTEOMICS_ENCODING,
            encoding_version=PROTEOMICS_ENCODING_VERSION,
            attrs=attrs,
        )
        arr = stage.create(
            "intensity", shape=parsed.values.shape, dtype="float64", chunks=(rows, n), dims=("proteins", "samples")
        )
        arr[:] = parsed.values
        stage.write("protein_id", np.asarray(parsed.proteins, dtype=str), dims=("proteins",))
        stage.write("gene_name", np.asarray(parsed.genes, dtype=str), dims=("proteins",))
        stage.write("sample_id", np.asarray(parsed.samples, dtype=str), dims=("samples",))
        stage.attrs["encoding"] = PROTEOMICS_ENCODING
        stage.attrs["encoding_version"] = PROTEOMICS_ENCODING_VERSION
        stage.attrs["quant"] = params["quant"]
        src = str(path.resolve())
        run.table(f"{name}_proteins", source=src).write(
            pd.DataFrame({"protein_id": parsed.proteins, "gene_name": parsed.genes})
        )
        run.table(f"{name}_samples", source=src).write(pd.DataFrame({"sample_id": parsed.samples}))
    return lake.info(name)


@dataclass(frozen=True)
class ProteomicsStore:
    """An opened protein intensity matrix of the lake."""

    name: str
    path: str
    n_proteins: int
    n_samples: int
    protein_id: np.ndarray
    gene_name: np.ndarray
    sample_id: list[str]
    quant: str | None
    chunk_rows: int

    def read(self, start: int, stop: int) -> np.ndarray:
        """Intensities of proteins ``start:stop`` (all samples; NaN missing)."""
        import zarr

        return np.asarray(zarr.open_group(self.path, mode="r")["intensity"][start:stop], dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """The whole matrix as a DataFrame (proteins × samples)."""
        return pd.DataFrame(self.read(0, self.n_proteins), index=self.protein_id, columns=self.sample_id)


def open_proteomics(lake: Lake, spec: str) -> ProteomicsStore:
    """Open ``lake:NAME`` (or ``NAME``) ingested by :func:`ingest_proteomics`.

    Raises
    ------
    InputError
        If the dataset does not exist or is not a protein matrix.
    """
    name = spec.removeprefix("lake:")
    info = lake.info(name)
    if info.kind != "array" or info.encoding != PROTEOMICS_ENCODING:
        raise InputError(
            f"dataset {name!r} is not a protein matrix (encoding {info.encoding!r}); use 'biolake ingest proteomics'",
            file=spec,
        )
    if info.encoding_version > PROTEOMICS_ENCODING_VERSION:
        raise InputError(
            f"dataset {name!r} has proteomics encoding version {info.encoding_version}, newer than this biolake reads"
            f" ({PROTEOMICS_ENCODING_VERSION})",
            file=spec,
        )
    group = lake.open_array(name)
    arr: Any = group["intensity"]
    return ProteomicsStore(
        name=name,
        path=str(info.path),
        n_proteins=int(arr.shape[0]),
        n_samples=int(arr.shape[1]),
        protein_id=np.asarray(group["protein_id"][:], dtype=object).astype(str),
        gene_name=np.asarray(group["gene_name"][:], dtype=object).astype(str),
        sample_id=[str(s) for s in group["sample_id"][:]],
        quant=info.attrs.get("quant"),
        chunk_rows=int(arr.chunks[0]),
    )
