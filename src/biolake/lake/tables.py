"""Parquet tables: streamed, atomic writes; chunked reads; result files.

A table dataset is a directory of Parquet parts (``part-00000.parquet`` …). A
:class:`TableStage` receives Arrow record batches one at a time and rolls over to a
new part every ``rows_per_part`` rows, so memory stays bounded by the batch size.

:func:`write_result` writes a result as ``.parquet``, ``.csv`` or ``.tsv`` chosen by the
file's extension (CSV/TSV: header row, then rows; fields quoted only where needed).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from biolake.errors import InputError
from biolake.lake._fs import atomic_path

__all__ = [
    "RESULT_FORMATS",
    "TableStage",
    "delimited_header",
    "delimited_rows",
    "iter_parquet_batches",
    "result_format",
    "to_batches",
    "write_result",
]

RESULT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv"}
_ROW_GROUP = 131_072


def to_batches(data: Any) -> Iterator[pa.RecordBatch]:
    """Record batches from a DataFrame, Arrow table/batch/reader or an iterable of those."""
    import pandas as pd

    if isinstance(data, pa.RecordBatch):
        yield data
    elif isinstance(data, pa.Table | pd.DataFrame):
        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        batches = table.to_batches(max_chunksize=_ROW_GROUP)
        yield from batches if batches else [_empty_batch(table.schema)]
    elif isinstance(data, pa.RecordBatchReader):
        yield from data
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes | dict):
        for item in data:
            yield from to_batches(item)
    else:
        raise TypeError(f"cannot write {type(data).__name__} as a table")


class TableStage:
    """Receives record batches for one table dataset being written.

    Made by :meth:`biolake.lake.runs.Run.table`. Either call :meth:`write` (any number
    of times) or let a tool write Parquet files straight into :attr:`path`.
    """

    def __init__(self, path: Path, *, rows_per_part: int = 4 * _ROW_GROUP) -> None:
        self.path = path
        self.rows_per_part = rows_per_part
        self.schema: pa.Schema | None = None
        self.n_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._part = 0
        self._rows_in_part = 0
        self._dictionary: bool | list[str] | None = None

    def write(self, data: Any) -> None:
        """Append a DataFrame, Arrow table, record batch, or an iterable of them."""
        for batch in to_batches(data):
            self._write_batch(batch)

    def _write_batch(self, batch: pa.RecordBatch) -> None:
        if self.schema is None:
            self.schema = batch.schema.remove_metadata()
        elif not batch.schema.remove_metadata().equals(self.schema):
            try:
                batch = pa.Table.from_batches([batch]).select(self.schema.names).cast(self.schema)
                batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
            except (pa.ArrowInvalid, KeyError, ValueError) as exc:
                raise InputError(
                    f"batch schema {batch.schema} does not match the table's {self.schema}: {exc}",
                ) from None
            if batch is None:
                return
        if self._writer is None or self._rows_in_part >= self.rows_per_part:
            if self._dictionary is None:
                self._dictionary = _dictionary(batch)
            self._open_part()
        assert self._writer is not None
        self._writer.write_batch(batch, row_group_size=_ROW_GROUP)
        self._rows_in_part += batch.num_rows
        self.n_rows += batch.num_rows

    def _open_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
        assert self.schema is not None
        part = self.path / f"part-{self._part:05d}.parquet"
        self._writer = pq.ParquetWriter(part, self.schema, compression="zstd", use_dictionary=self._dictionary)
        self._part += 1
        self._rows_in_part = 0

    def close(self) -> None:
        """Finish writing (an empty table still gets one part holding its schema)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif self.schema is not None and not any(self.path.glob("*.parquet")):
            pq.write_table(self.schema.empty_table(), self.path / "part-00000.parquet")

    def abort(self) -> None:
        """Stop writing without finishing the current part."""
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None

    def summary(self) -> dict[str, Any]:
        """Schema (column → Arrow type string) and row count of what was written."""
        files = sorted(self.path.glob("*.parquet"))
        if not files:
            raise ValueError("nothing was written to this table")
        dataset = pads.dataset([str(f) for f in files], format="parquet")
        n_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        return {"schema": {f.name: str(f.type) for f in dataset.schema}, "n_rows": n_rows}


def iter_parquet_batches(
    path: str | os.PathLike[str], *, batch_size: int = 65_536, columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Stream the record batches of a Parquet file or directory of parts, in order."""
    p = Path(path)
    files = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
    for f in files:
        pf = pq.ParquetFile(f)
        yield from pf.iter_batches(batch_size=batch_size, columns=list(columns) if columns else None)


def result_format(path: str | os.PathLike[str]) -> str:
    """``"parquet"``, ``"csv"`` or ``"tsv"`` from a file's extension; else an InputError."""
    suffix = Path(path).suffix.lower()
    if suffix not in RESULT_FORMATS:
        raise InputError(
            f"unknown output format {suffix or '(no extension)'!r}: use .parquet, .csv or .tsv",
            file=path,
        )
    return RESULT_FORMATS[suffix]


def delimited_header(schema: pa.Schema, delimiter: str) -> bytes:
    """The header line of a CSV/TSV file, fields quoted only where needed."""
    header = io.StringIO()
    csv.writer(header, delimiter=delimiter, lineterminator="\n").writerow(schema.names)
    return header.getvalue().encode()


def delimited_rows(batch: pa.RecordBatch, delimiter: str) -> bytes:
    """Rows of a batch as CSV/TSV; a batch is quoted only if one of its values needs it.

    Values need quotes when they hold the delimiter, a quote or a line break, and empty
    strings are quoted (``""``) so that they differ from missing values (nothing).
    """
    styles = ("needed",) if _has_empty_string(batch) else ("none", "needed")
    for style in styles:
        buffer = pa.BufferOutputStream()
        options = pacsv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style=style)
        try:
            pacsv.write_csv(batch, buffer, write_options=options)
        except pa.ArrowInvalid:
            continue  # a value holds a delimiter, quote or line break: quote strings
        return buffer.getvalue().to_pybytes()
    raise AssertionError("unreachable: the 'needed' quoting style always succeeds")


def _has_empty_string(batch: pa.RecordBatch) -> bool:
    import pyarrow.compute as pc

    for column in batch.columns:
        is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if is_text and pc.any(pc.equal(pc.utf8_length(column), 0)).as_py():
            return True
    return False


class _ResultWriter:
    """Writes batches as Parquet, or as CSV/TSV."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._writer: Any = None
        self._sink: Any = None
        self.schema: pa.Schema | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "parquet":
            if self._writer is None:
                self.schema = batch.schema
                self._writer = pq.ParquetWriter(
                    self.path, batch.schema, compression="zstd", use_dictionary=_dictionary(batch)
                )
            self._writer.write_batch(batch)
            return
        delimiter = "," if self.fmt == "csv" else "\t"
        if self._sink is None:
            self.schema = batch.schema
            self._sink = open(self.path, "wb")  # noqa: SIM115  (closed in close())
            self._sink.write(delimited_header(batch.schema, delimiter))
        self._sink.write(delimited_rows(batch, delimiter))

    def close(self, schema: pa.Schema | None) -> None:
        if self._writer is None and self._sink is None and schema is not None:
            self.write(_empty_batch(schema))
        if self._writer is not None:
            self._writer.close()
        if self._sink is not None:
            self._sink.close()


def _dictionary(batch: pa.RecordBatch) -> bool | list[str]:
    """Columns to dictionary-encode: all but floating-point columns whose first batch is mostly distinct.

    Measured values (R_t, estimates) are nearly all distinct: hashing them into a dictionary
    (131,072 doubles per row group are 1 MiB, pyarrow's dictionary page limit) cost ~3/4 of the
    write time and gave larger files. Floats with many repeats keep the dictionary. Nested
    schemas keep the default (dictionary everywhere).
    """
    import pyarrow.compute as pc

    schema = batch.schema
    if any(pa.types.is_nested(f.type) for f in schema) or batch.num_rows < 1024:
        return True
    plain = {
        f.name
        for f, column in zip(schema, batch.columns, strict=True)
        if pa.types.is_floating(f.type) and pc.count_distinct(column).as_py() > batch.num_rows // 2
    }
    if not plain:
        return True
    return [f.name for f in schema if f.name not in plain] or False


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


def write_result(
    data: Any,
    path: str | os.PathLike[str],
    *,
    schema: pa.Schema | None = None,
    also: Any = None,
) -> int:
    """Write a result table to ``path`` (format by extension), atomically; return its row count.

    ``data`` may be anything :func:`to_batches` accepts, streamed batch by batch.
    ``also`` may be a :class:`TableStage` that receives the same batches, so a result
    is written to a file and registered in the lake in one pass.
    ``schema`` is used to write a header when ``data`` yields no batch.
    """
    path = Path(path)
    fmt = result_format(path)
    n = 0
    with atomic_path(path) as tmp:
        writer = _ResultWriter(tmp, fmt)
        try:
            for batch in to_batches(data):
                writer.write(batch)
                if also is not None:
                    also.write(batch)
                n += batch.num_rows
        finally:
            writer.close(writer.schema or schema)
        if also is not None and also.schema is None and (writer.schema or schema) is not None:
            also.write(_empty_batch(writer.schema or schema))
    return n
