"""Datasets for the service: thread-safe lake access, previews, streamed downloads and uploads.

* :class:`ServiceLake` — a :class:`~biolake.lake.Lake` whose catalog connections are
  serialized within the process (DuckDB refuses a read-only and a read-write connection
  to the same file at once in one process; the server's threads would otherwise collide).
* :func:`preview` — rows ``offset … offset+limit`` of a table, reading only the Parquet
  row groups that hold them.
* :func:`stream_csv`, :func:`stream_parquet` — a table as CSV or Parquet bytes, batch by
  batch (bounded memory).
* :class:`UploadReceiver` — parses a ``multipart/form-data`` body as it arrives and
  writes its ``file`` part to a temporary file inside the lake, stopping as soon as the
  size limit is passed; :func:`public_input_error` rewrites the ingest's error so it
  names the client's file, not the temporary path.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from biolake.errors import BiolakeError, InputError
from biolake.lake import DatasetInfo, Lake
from biolake.lake._fs import remove_tree
from biolake.lake.tables import delimited_header, delimited_rows, iter_parquet_batches

__all__ = [
    "ServiceLake",
    "UploadReceiver",
    "UploadTooLarge",
    "dataset_dict",
    "preview",
    "public_input_error",
    "safe_filename",
    "stream_csv",
    "stream_parquet",
    "table_schema",
]

_CATALOG_LOCK = threading.RLock()
_STREAM_BATCH = 65_536


class ServiceLake(Lake):
    """A lake whose catalog connections are taken one at a time within this process.

    Other processes (the CLI, workers) are still handled by :class:`Lake`'s retry on
    the file lock.
    """

    @contextlib.contextmanager
    def _catalog(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with _CATALOG_LOCK, super()._catalog() as con:
            yield con


class UploadTooLarge(BiolakeError):
    """The upload is larger than the service accepts (HTTP 413)."""


def dataset_dict(info: DatasetInfo, lake: Lake) -> dict[str, Any]:
    """A catalog entry as JSON for clients: the data path relative to the lake, no server paths."""
    d = info.to_dict()
    if info.kind == "table":
        d["schema"] = table_schema(info)
    try:
        d["path"] = str(info.path.relative_to(lake.root))
    except ValueError:
        d["path"] = info.path.name
    if d.get("source"):
        d["source"] = Path(str(d["source"])).name
    if isinstance(d.get("attrs"), dict) and isinstance(d["attrs"].get("file"), str):  # results' files
        d["attrs"] = {**d["attrs"], "file": Path(d["attrs"]["file"]).name}
    return d


def table_schema(info: DatasetInfo) -> dict[str, str]:
    """A table's columns in their stored order (from the first Parquet footer) → Arrow type."""
    files = sorted(info.path.glob("*.parquet"))
    if not files:
        return dict(info.schema)
    return {f.name: str(f.type) for f in pq.ParquetFile(files[0]).schema_arrow}


def preview(info: DatasetInfo, *, offset: int = 0, limit: int = 100) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` of a table dataset, in stored order.

    Only the row groups holding those rows are read (from the Parquet footers' row counts).
    """
    files = sorted(info.path.glob("*.parquet"))
    pieces: list[pa.Table] = []
    schema: pa.Schema | None = None
    skip, want = offset, limit
    for f in files:
        pf = pq.ParquetFile(f)
        schema = schema or pf.schema_arrow
        if want <= 0:
            break
        for rg in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(rg).num_rows
            if skip >= n:
                skip -= n
                continue
            part = pf.read_row_group(rg).slice(skip, want)
            skip = 0
            pieces.append(part)
            want -= part.num_rows
            if want <= 0:
                break
    if not pieces:
        if schema is None:
            return pa.table({})
        return schema.empty_table()
    return pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]


def stream_csv(info: DatasetInfo, *, delimiter: str = ",") -> Iterator[bytes]:
    """A table dataset as CSV (or TSV) bytes: header row, then rows, batch by batch."""
    first = True
    for batch in iter_parquet_batches(info.path, batch_size=_STREAM_BATCH):
        if first:
            yield delimited_header(batch.schema, delimiter)
            first = False
        if batch.num_rows:
            yield delimited_rows(batch, delimiter)
    if first:
        files = sorted(info.path.glob("*.parquet"))
        if files:
            yield delimited_header(pq.ParquetFile(files[0]).schema_arrow, delimiter)


class _Chunks:
    """A write-only file object that hands out what was written since the last call."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False
        self._position = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def stream_parquet(info: DatasetInfo) -> Iterator[bytes]:
    """A table dataset as one Parquet file, written and sent row group by row group."""
    files = sorted(info.path.glob("*.parquet"))
    if not files:
        return
    schema = pq.ParquetFile(files[0]).schema_arrow
    sink = _Chunks()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for batch in iter_parquet_batches(info.path, batch_size=_STREAM_BATCH):
            writer.write_batch(batch)
            chunk = sink.take()
            if chunk:
                yield chunk
    finally:
        writer.close()
    yield sink.take()


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(filename: str | None, *, default: str = "upload.csv") -> str:
    """The last component of a client's file name, reduced to ``[A-Za-z0-9._-]`` (never a path)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _SAFE.sub("_", name).lstrip(".")[-120:]
    return name or default


def public_input_error(exc: InputError, *, tmp_file: Path, shown_name: str) -> InputError:
    """The same InputError, naming ``shown_name`` instead of the server's temporary file."""
    file = exc.file
    if file is not None and (file == str(tmp_file) or file.endswith(tmp_file.name) or str(tmp_file.parent) in file):
        file = shown_name
    problem = exc.problem.replace(str(tmp_file), shown_name).replace(str(tmp_file.parent), "")
    return InputError(problem, file=file, line=exc.line, record=exc.record, column=exc.column)


class UploadReceiver:
    """Parse a ``multipart/form-data`` body chunk by chunk; write the ``file`` part to disk.

    Parameters
    ----------
    lake
        The lake whose ``.tmp/`` holds the temporary file (removed by :meth:`cleanup`).
    content_type
        The request's ``Content-Type`` header (must be multipart with a boundary).
    max_bytes
        Largest accepted file; :meth:`feed` raises :class:`UploadTooLarge` past it.
    """

    def __init__(self, lake: Lake, content_type: str, *, max_bytes: int) -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        kind, options = parse_options_header(content_type or "")
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InputError("send the file as multipart/form-data with a part named 'file'", file="upload")
        self.lake = lake
        self.max_bytes = max_bytes
        self.dir = lake.new_tmp_dir()
        self.path: Path | None = None
        self.filename: str | None = None
        self.size = 0
        self._fh: Any = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self._parse_options_header = parse_options_header
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    # -- parser callbacks
    def _part_begin(self) -> None:
        self._headers = {}
        self._field = b""
        self._value = b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = b""
        self._value = b""

    def _headers_finished(self) -> None:
        _disposition, options = self._parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"")
        self._in_file = name == b"file" and self.path is None
        if name == b"file" and self.path is not None:
            raise InputError("send one part named 'file'", file="upload")
        if self._in_file:
            raw = options.get(b"filename", b"").decode("utf-8", "replace")
            self.filename = safe_filename(raw)
            self.path = self.dir / self.filename
            self._fh = open(self.path, "wb")  # noqa: SIM115  (closed in _part_end or cleanup)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise UploadTooLarge(f"the file is larger than the limit of {self.max_bytes} bytes")
        self._fh.write(data[start:end])

    def _part_end(self) -> None:
        if self._in_file and self._fh is not None:
            self._fh.close()
            self._fh = None
        self._in_file = False

    # -- public
    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the body."""
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise InputError(f"malformed multipart body: {' '.join(str(exc).split())}", file="upload") from None

    def finish(self) -> Path:
        """End of the body: the path of the received file (InputError if there was none)."""
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.finalize()
        except FormParserError as exc:
            raise InputError(f"malformed multipart body: {' '.join(str(exc).split())}", file="upload") from None
        if self._fh is not None:
            raise InputError("the multipart body ended inside the file part", file="upload")
        if self.path is None:
            raise InputError("no part named 'file' in the upload", file="upload")
        return self.path

    def cleanup(self) -> None:
        """Remove the temporary file and its directory."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        remove_tree(self.dir)
