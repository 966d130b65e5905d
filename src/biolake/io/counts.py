"""Gene × sample count matrices (RNA-seq) → a Zarr matrix in the lake.

A count file is CSV or TSV (gzip too; the delimiter by extension): a header row whose
first field names the gene id column and whose other fields are sample ids, then one
row per gene, ids first. Ids are kept as text (leading zeros stay). The file is
streamed by Arrow in blocks, so memory is bounded by the block size. Nothing is
stored unless the whole file is valid; a bad file gives one :class:`InputError`
naming the file, line and column: a ragged row, a missing, non-numeric, negative or
non-integer count, a duplicate gene or sample id.

The dataset ``NAME`` is a Zarr group (encoding ``counts-zarr`` version 1) holding
``counts`` (int32, dims ``genes × samples``), ``gene_id`` and ``sample_id``; the tables
``NAME_genes`` (``gene_id``) and ``NAME_samples`` (``sample_id``) list the ids for SQL.

Examples
--------
>>> info = ingest_counts(lake, "counts.tsv.gz", name="rnaseq")        # doctest: +SKIP
>>> info.shape                                                        # doctest: +SKIP
[20000, 12]
>>> store = open_counts(lake, "lake:rnaseq")                           # doctest: +SKIP
>>> store.read(0, 5).shape                                            # doctest: +SKIP
(5, 12)
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from biolake.errors import InputError
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake.progress import NullProgress, Progress

__all__ = ["COUNTS_ENCODING", "COUNTS_ENCODING_VERSION", "CountStore", "ingest_counts", "open_counts"]

COUNTS_ENCODING = "counts-zarr"
COUNTS_ENCODING_VERSION = 1
_MAX_COUNT = np.iinfo(np.int32).max
_BLOCK_BYTES = 8 << 20


def _delimiter(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith((".tsv", ".txt", ".tab")):
        return "\t"
    raise InputError("unknown count file format: use .csv, .tsv or .txt (gzip too)", file=path)


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _check_header(path: Path, header: list[str]) -> list[str]:
    if len(header) < 2:
        raise InputError("the header needs a gene id column and at least one sample column", file=path, line=1)
    samples = header[1:]
    seen: set[str] = set()
    for i, s in enumerate(samples, start=2):
        if s == "":
            raise InputError("empty sample id in the header", file=path, line=1, column=i)
        if s in seen:
            raise InputError(f"duplicate sample id {s!r}", file=path, line=1, column=i)
        seen.add(s)
    return samples


def _scan_for_problem(path: Path, delimiter: str) -> InputError:
    """A Python pass over the file that finds the first invalid line (slow path, errors only)."""
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return InputError("empty file", file=path)
        samples = _check_header(path, header)
        genes: set[str] = set()
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != len(header):
                return InputError(f"expected {len(header)} fields, found {len(row)}", file=path, line=line)
            if row[0] in genes:
                return InputError(f"duplicate gene id {row[0]!r}", file=path, line=line, column=1)
            if row[0] == "":
                return InputError("empty gene id", file=path, line=line, column=1)
            genes.add(row[0])
            for j, field in enumerate(row[1:], start=2):
                problem = _count_problem(field)
                if problem:
                    return InputError(f"{problem} for sample {samples[j - 2]!r}", file=path, line=line, column=j)
    return InputError("cannot parse the file", file=path)


def _count_problem(field: str) -> str | None:
    text = field.strip()
    if text == "" or text.upper() in ("NA", "NAN"):
        return "missing count"
    try:
        value = float(text)
    except ValueError:
        return f"count {field!r} is not a number"
    if not np.isfinite(value):
        return f"count {field!r} is not finite"
    if value < 0:
        return f"negative count {field!r}"
    if value != round(value):
        return f"non-integer count {field!r}"
    if value > _MAX_COUNT:
        return f"count {field!r} is above {_MAX_COUNT}"
    return None


def _iter_text_blocks(path: Path, delimiter: str, samples: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    header_names = ["__gene__", *samples]
    types = {"__gene__": pa.string(), **dict.fromkeys(samples, pa.float64())}
    reader = pacsv.open_csv(
        pa.input_stream(str(path), compression="detect"),
        read_options=pacsv.ReadOptions(column_names=header_names, skip_rows=1, block_size=_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=["", "NA", "NaN", "nan"], strings_can_be_null=False
        ),
    )
    for batch in reader:
        ids = batch.column(0).to_numpy(zero_copy_only=False).astype(str)
        values = np.column_stack(
            [batch.column(j).to_numpy(zero_copy_only=False) for j in range(1, batch.num_columns)]
        ).astype(np.float64)
        yield ids, values


def _read_header(path: Path, delimiter: str) -> list[str]:
    with _open_text(path) as fh:
        header = next(csv.reader(fh, delimiter=delimiter), None)
    if header is None:
        raise InputError("empty file", file=path)
    return header


def _chunk_rows(n_samples: int) -> int:
    return int(min(16_384, max(256, 2_000_000 // max(1, n_samples))))


def ingest_counts(
    lake: Lake,
    path: str | os.PathLike[str],
    *,
    name: str,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a gene × sample count matrix as the array dataset ``name``.

    Parameters
    ----------
    lake
        The lake to write into.
    path
        CSV/TSV (gzip too): first column gene id, one column per sample; or ``.h5ad``
        (AnnData's HDF5 file, read with h5py): ``obs`` are the samples and ``var`` the
        genes (AnnData's convention), counts from ``layers['counts']`` if present, else
        ``X``; dense or sparse (CSR/CSC).
    name
        Dataset name; the tables ``name_genes`` and ``name_samples`` are added too.
    progress
        Where to report progress (genes read).

    Returns
    -------
    DatasetInfo
        The catalog entry of the count matrix (shape genes × samples).

    Raises
    ------
    InputError
        For a missing or malformed file (see the module docstring); nothing is stored.
    """
    validate_name(name)
    validate_name(f"{name}_samples")
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    progress = progress or NullProgress()
    if path.name.lower().endswith(".h5ad"):
        return _ingest_h5ad(lake, path, name=name, progress=progress)
    delimiter = _delimiter(path)
    params = {"name": name, "format": "csv" if delimiter == "," else "tsv"}
    with lake.run("ingest counts", params=params, inputs=[str(path)]) as run:
        digest = run.hash_input(str(path))
        attrs = {"assay": "rna-seq counts", "encoding": COUNTS_ENCODING}
        stage = run.array(
            name,
            source=str(path.resolve()),
            source_hash=digest,
            encoding=COUNTS_ENCODING,
            encoding_version=COUNTS_ENCODING_VERSION,
            attrs=attrs,
        )
        genes, samples = _write_text(path, delimiter, stage, progress)
        stage.write("gene_id", np.asarray(genes, dtype=str), dims=("genes",))
        stage.write("sample_id", np.asarray(samples, dtype=str), dims=("samples",))
        stage.attrs["encoding"] = COUNTS_ENCODING
        stage.attrs["encoding_version"] = COUNTS_ENCODING_VERSION
        run.table(f"{name}_genes", source=str(path.resolve())).write(pd.DataFrame({"gene_id": list(genes)}))
        run.table(f"{name}_samples", source=str(path.resolve())).write(pd.DataFrame({"sample_id": list(samples)}))
    return lake.info(name)


def _write_text(path: Path, delimiter: str, stage: Any, progress: Progress) -> tuple[list[str], list[str]]:
    header = _read_header(path, delimiter)
    samples = _check_header(path, header)
    n = len(samples)
    rows = _chunk_rows(n)
    arr = stage.create("counts", shape=(0, n), dtype="int32", chunks=(rows, n), dims=("genes", "samples"))
    genes: list[str] = []
    seen: set[str] = set()
    total = 0
    with progress.task(f"Ingesting {path.name}", total=None) as task:
        try:
            for ids, values in _iter_text_blocks(path, delimiter, samples):
                bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values)) | (values > _MAX_COUNT)
                if bad.any() or np.any(ids == ""):
                    raise _Invalid
                for g in ids.tolist():
                    if g in seen:
                        raise _Invalid
                    seen.add(g)
                genes.extend(ids.tolist())
                arr.resize((total + len(ids), n))
                arr[total : total + len(ids)] = values.astype(np.int32)
                total += len(ids)
                task.update(total)
        except (_Invalid, pa.ArrowInvalid):
            raise _scan_for_problem(path, delimiter) from None
    if total == 0:
        raise InputError("no gene rows after the header", file=path)
    return genes, samples


class _Invalid(Exception):
    pass


@dataclass(frozen=True)
class CountStore:
    """An opened count matrix of the lake."""

    name: str
    path: str
    n_genes: int
    n_samples: int
    gene_id: np.ndarray
    sample_id: list[str]
    chunk_rows: int

    def read(self, start: int, stop: int) -> np.ndarray:
        """Counts of genes ``start:stop`` (all samples)."""
        import zarr

        return zarr.open_group(self.path, mode="r")["counts"][start:stop]

    def to_frame(self) -> pd.DataFrame:
        """The whole matrix as a DataFrame (genes × samples): for small data only."""
        return pd.DataFrame(self.read(0, self.n_genes), index=self.gene_id, columns=self.sample_id)


def open_counts(lake: Lake, spec: str) -> CountStore:
    """Open the count matrix ``lake:NAME`` (or ``NAME``) ingested by :func:`ingest_counts`.

    Raises
    ------
    InputError
        If the dataset does not exist or is not a count matrix.
    """
    name = spec.removeprefix("lake:")
    info = lake.info(name)
    if info.kind != "array" or info.encoding != COUNTS_ENCODING:
        raise InputError(
            f"dataset {name!r} is not a count matrix (encoding {info.encoding!r}); use 'biolake ingest counts'",
            file=spec,
        )
    if info.encoding_version > COUNTS_ENCODING_VERSION:
        raise InputError(
            f"dataset {name!r} has count encoding version {info.encoding_version}, newer than this biolake reads"
            f" ({COUNTS_ENCODING_VERSION})",
            file=spec,
        )
    group = lake.open_array(name)
    counts: Any = group["counts"]
    return CountStore(
        name=name,
        path=str(info.path),
        n_genes=int(counts.shape[0]),
        n_samples=int(counts.shape[1]),
        gene_id=np.asarray(group["gene_id"][:], dtype=object).astype(str),
        sample_id=[str(s) for s in group["sample_id"][:]],
        chunk_rows=int(counts.chunks[0]),
    )


# ------------------------------------------------------------------------------ .h5ad
def _h5_ids(group: Any, path: Path, what: str) -> list[str]:
    """The index of an AnnData dataframe group (``obs``/``var``) as text."""
    import h5py

    if not isinstance(group, h5py.Group) or "_index" not in group.attrs:
        raise InputError(f"{what} is not an AnnData dataframe (anndata >= 0.7 layout expected)", file=path)
    ds = group[str(group.attrs["_index"])]
    if isinstance(ds, h5py.Group):  # categorical index
        cats = [c.decode() if isinstance(c, bytes) else str(c) for c in ds["categories"][()]]
        return [cats[int(k)] for k in ds["codes"][()]]
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[()]]


def _h5_matrix(node: Any, path: Path, where: str) -> np.ndarray:
    """A dense or CSR/CSC AnnData matrix as a dense float array (obs × var)."""
    import h5py

    if isinstance(node, h5py.Dataset):
        return np.asarray(node[()], dtype=np.float64)
    kind = node.attrs.get("encoding-type", "")
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind not in ("csr_matrix", "csc_matrix"):
        raise InputError(f"{where} has encoding {kind!r}: expected a dense array, csr_matrix or csc_matrix", file=path)
    shape = tuple(int(v) for v in node.attrs["shape"])
    data = np.asarray(node["data"][()], dtype=np.float64)
    indices = np.asarray(node["indices"][()], dtype=np.int64)
    indptr = np.asarray(node["indptr"][()], dtype=np.int64)
    out = np.zeros(shape)
    major = shape[0] if kind == "csr_matrix" else shape[1]
    minor = shape[1] if kind == "csr_matrix" else shape[0]
    if indptr.size != major + 1 or (indices.size and (indices.min() < 0 or indices.max() >= minor)):
        raise InputError(f"{where}: inconsistent sparse matrix (indptr/indices)", file=path)
    rows = np.repeat(np.arange(major), np.diff(indptr))
    if kind == "csr_matrix":
        np.add.at(out, (rows, indices), data)
    else:
        np.add.at(out, (indices, rows), data)
    return out


def _read_h5ad(path: Path) -> tuple[list[str], list[str], np.ndarray, str]:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 (.h5ad) file: {exc}", file=path) from None
    with f:
        if "obs" not in f or "var" not in f:
            raise InputError("no 'obs' and 'var' groups: not an AnnData file", file=path)
        samples = _h5_ids(f["obs"], path, "obs")
        genes = _h5_ids(f["var"], path, "var")
        if "layers" in f and "counts" in f["layers"]:
            where, node = "layers['counts']", f["layers"]["counts"]
        elif "X" in f:
            where, node = "X", f["X"]
        else:
            raise InputError("no X and no layers['counts']", file=path)
        x = _h5_matrix(node, path, where)
    if x.shape != (len(samples), len(genes)):
        raise InputError(
            f"{where} has shape {x.shape}, but obs has {len(samples)} and var {len(genes)} rows", file=path
        )
    return genes, samples, x.T, where


def _ingest_h5ad(lake: Lake, path: Path, *, name: str, progress: Progress) -> DatasetInfo:
    genes, samples, counts, where = _read_h5ad(path)
    for ids, what in ((samples, "sample (obs)"), (genes, "gene (var)")):
        seen: set[str] = set()
        for v in ids:
            if v == "":
                raise InputError(f"empty {what} id", file=path)
            if v in seen:
                raise InputError(f"duplicate {what} id {v!r}", file=path)
            seen.add(v)
    if not genes:
        raise InputError("no genes (var is empty)", file=path)
    bad = ~np.isfinite(counts) | (counts < 0) | (counts != np.round(counts)) | (counts > _MAX_COUNT)
    if bad.any():
        g, j = (int(v[0]) for v in np.nonzero(bad))
        raise InputError(
            f"{where}: count {float(counts[g, j])!r} of gene {genes[g]!r}, sample {samples[j]!r} is not a non-negative"
            " integer",
            file=path,
        )
    params = {"name": name, "format": "h5ad", "matrix": where}
    with lake.run("ingest counts", params=params, inputs=[str(path)]) as run:
        digest = run.hash_input(str(path))
        stage = run.array(
            name,
            source=str(path.resolve()),
            source_hash=digest,
            encoding=COUNTS_ENCODING,
            encoding_version=COUNTS_ENCODING_VERSION,
            attrs={"assay": "rna-seq counts", "encoding": COUNTS_ENCODING},
        )
        n = len(samples)
        arr = stage.create(
            "counts", shape=counts.shape, dtype="int32", chunks=(_chunk_rows(n), n), dims=("genes", "samples")
        )
        with progress.task(f"Ingesting {path.name}", total=len(genes)) as task:
            arr[:] = counts.astype(np.int32)
            task.update(len(genes))
        stage.write("gene_id", np.asarray(genes, dtype=str), dims=("genes",))
        stage.write("sample_id", np.asarray(samples, dtype=str), dims=("samples",))
        stage.attrs["encoding"] = COUNTS_ENCODING
        stage.attrs["encoding_version"] = COUNTS_ENCODING_VERSION
        run.table(f"{name}_genes", source=str(path.resolve())).write(pd.DataFrame({"gene_id": genes}))
        run.table(f"{name}_samples", source=str(path.resolve())).write(pd.DataFrame({"sample_id": samples}))
    return lake.info(name)
