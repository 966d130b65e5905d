"""Delimited text (CSV/TSV, gzip too) and Parquet files → lake tables.

Files are streamed by DuckDB straight into Parquet with bounded memory on all cores:
the CSV dialect is fixed (RFC 4180 quoting, the delimiter by extension or
``delimiter=``, a header row), column types are inferred from the first
``sample_rows`` rows (``-1``: the whole file) and can be set with ``types=``. A
malformed row is an :class:`~biolake.errors.InputError` naming the file and line,
and nothing is added to the lake.

Examples
--------
>>> from biolake.io import ingest_table
>>> info = ingest_table(lake, "patients.csv", name="patients")       # doctest: +SKIP
>>> info.n_rows                                                      # doctest: +SKIP
5000
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from biolake.errors import InputError, check_param
from biolake.io._formats import format_by_suffix
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake._fs import content_hash
from biolake.lake.progress import NullProgress, Progress

__all__ = ["TABLE_FORMATS", "ingest_table", "table_format"]

TABLE_FORMATS = {
    ".csv": ("csv", ","),
    ".tsv": ("csv", "\t"),
    ".tab": ("csv", "\t"),
    ".txt": ("csv", "\t"),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
}
_MEMORY_LIMIT = os.environ.get("BIOLAKE_DUCKDB_MEMORY", "512MB")
_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ (),]*$")


def table_format(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """``("csv", delimiter)`` or ``("parquet", None)`` from the file name (``.gz`` allowed)."""
    return format_by_suffix(path, TABLE_FORMATS, what="table", expected=".csv, .tsv, .txt (gzip too) or .parquet")


def ingest_table(
    lake: Lake,
    path: str | os.PathLike[str],
    *,
    name: str,
    delimiter: str | None = None,
    types: Mapping[str, str] | None = None,
    sample_rows: int = 20_480,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a CSV/TSV (gzip too) or Parquet file as the table dataset ``name``.

    Parameters
    ----------
    lake
        The lake to write into.
    path
        The file; the format comes from its extension.
    name
        Dataset name (replaces an existing dataset of that name when it commits).
    delimiter
        Field delimiter of a text file (default: ``,`` for .csv, tab for .tsv/.txt).
    types
        Column name → SQL type (``VARCHAR``, ``BIGINT``, ``DOUBLE``, ``DATE`` …) for
        columns whose inferred type is wrong.
    sample_rows
        Rows read to infer column types; ``-1`` reads the whole file first.
    progress
        Where to report progress (bytes read).

    Returns
    -------
    DatasetInfo
        The catalog entry of the new table.
    """
    validate_name(name)
    if str(path).startswith("lake:"):
        return _copy_lake_table(lake, str(path), name=name)
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    fmt, default_delim = table_format(path)
    check_param("ingest_table", "sample_rows", sample_rows, sample_rows == -1 or sample_rows > 0, "-1 or > 0")
    if delimiter is not None:
        delimiter = delimiter.encode().decode("unicode_escape")  # accept "\t" spelled out
        check_param("ingest_table", "delimiter", delimiter, len(delimiter) == 1, "one character")
    for col, typ in (types or {}).items():
        check_param("ingest_table", "types", f"{col}={typ}", bool(_TYPE_NAME.match(typ)), "COLUMN=SQLTYPE pairs")
    progress = progress or NullProgress()
    params = {
        "name": name,
        "format": fmt,
        "delimiter": delimiter or default_delim,
        "types": dict(types or {}),
        "sample_rows": sample_rows,
    }
    with lake.run("ingest table", params=params, inputs=[str(path)]) as run:
        stage = run.table(name, source=str(path.resolve()))
        hasher = _Hasher(path)
        hasher.start()
        header = None
        if fmt == "csv":
            header = _read_header(path, delimiter or default_delim or ",")
            source = _csv_source(path, delimiter or default_delim or ",", types or {}, sample_rows)
        else:
            source = f"read_parquet('{_quote(path)}')"
        target = stage.path / "part-00000.parquet"
        _copy_to_parquet(source, target, path, progress, fmt, delimiter or default_delim)
        _check_columns(target, path, header)
        hasher.join()
        run.set_input_hash(str(path), hasher.digest)
        run.annotate(name, source_hash=hasher.digest)
    return lake.info(name)


def _copy_lake_table(lake: Lake, spec: str, *, name: str) -> DatasetInfo:
    """``ingest table lake:OTHER --name NAME``: a copy of a table dataset under a new name."""
    info = lake.info(spec)
    if info.kind != "table":
        raise InputError(f"dataset {info.name!r} is a {info.kind}, not a table", file=spec)
    with lake.run("ingest table", params={"name": name, "format": "lake"}, inputs=[spec]) as run:
        stage = run.table(name, source=spec, source_hash=info.source_hash)
        stage.write(lake.iter_batches(info.name))
    return lake.info(name)


class _Hasher(threading.Thread):
    """Hashes the source file while DuckDB reads it (hashlib releases the GIL)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.digest = content_hash(self.path)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def _quote(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _csv_source(path: Path, delimiter: str, types: Mapping[str, str], sample_rows: int) -> str:
    opts = [
        f"delim='{_quote(delimiter)}'",
        "quote='\"'",
        "escape='\"'",
        "header=true",
        "skip=0",
        "strict_mode=true",
        "null_padding=false",
        "allow_quoted_nulls=false",
        f"sample_size={int(sample_rows)}",
    ]
    if types:
        inner = ", ".join(f"'{_quote(k)}': '{v}'" for k, v in types.items())
        opts.append(f"types={{{inner}}}")
    return f"read_csv('{_quote(path)}', {', '.join(opts)})"


def _copy_to_parquet(
    source: str, target: Path, path: Path, progress: Progress, fmt: str, delimiter: str | None
) -> None:
    con = duckdb.connect(":memory:", config={"memory_limit": _MEMORY_LIMIT, "threads": os.cpu_count() or 2})
    con.execute(f"SET temp_directory='{_quote(target.parent / 'duckdb.tmp')}'")
    errors: list[BaseException] = []
    sql = (
        f"COPY (SELECT * FROM {source}) TO '{_quote(target)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
    )

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    try:
        with progress.task(f"Ingesting {path.name}", total=100) as task:
            worker.start()
            while worker.is_alive():
                worker.join(0.2)
                try:
                    done = con.query_progress()
                except duckdb.Error:
                    done = -1
                if done >= 0:
                    task.update(done)
        if errors:
            raise _input_error(errors[0], path, fmt, delimiter) from None
    except BaseException:
        con.interrupt()
        worker.join()
        raise
    finally:
        con.close()
        tmp = target.parent / "duckdb.tmp"
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    if not target.exists():
        raise InputError("nothing was read", file=path)


def _open_text(path: Path) -> Any:
    opener: Any = gzip.open if path.suffix.lower() in (".gz", ".gzip") else open
    return opener(path, "rt", newline="", encoding="utf-8")


def _read_header(path: Path, delimiter: str) -> list[str]:
    """The header's column names, checked: not empty, no blank or duplicate names."""
    try:
        with _open_text(path) as fh:
            header = next(csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True), None)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except (OSError, EOFError, gzip.BadGzipFile, csv.Error) as exc:
        raise InputError(f"cannot read the header: {exc}", file=path, line=1) from None
    if not header:
        raise InputError("file is empty (no header row)", file=path)
    seen: set[str] = set()
    for k, col in enumerate(header, start=1):
        if not col.strip():
            raise InputError(f"column {k} of the header has no name", file=path, line=1)
        if col in seen:
            raise InputError(f"duplicate column name {col!r} in the header", file=path, line=1)
        seen.add(col)
    return header


def _check_columns(target: Path, path: Path, header: list[str] | None) -> None:
    """DuckDB's columns must be the header's (a guard against a misdetected dialect)."""
    import pyarrow.parquet as pq

    names = pq.ParquetFile(target).schema_arrow.names
    if header is not None and names != header:
        raise InputError(
            f"the header has {len(header)} columns but the rows were read as {len(names)} "
            f"({', '.join(names[:5])}{' …' if len(names) > 5 else ''}); check the delimiter (--delimiter)",
            file=path,
            line=1,
        )


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERT = re.compile(r'Error when converting column "([^"]*)"\. (Could not convert [^\n]*)')


def _input_error(exc: BaseException, path: Path, fmt: str, delimiter: str | None) -> BaseException:
    """Translate DuckDB's reading errors into one-line InputErrors naming file and line."""
    if not isinstance(exc, duckdb.Error):
        return exc
    if isinstance(exc, duckdb.OutOfMemoryException):  # not the input's fault: exit 1 with a hint
        first = str(exc).strip().splitlines()[0]
        return MemoryError(f"{first} (raise BIOLAKE_DUCKDB_MEMORY, now {_MEMORY_LIMIT})")
    text = str(exc)
    if fmt == "parquet":
        first = text.strip().splitlines()[0]
        return InputError(f"cannot read as Parquet: {first}", file=path)
    m = _LINE.search(text)
    if m:
        line = _physical_line(path, delimiter or ",", int(m.group(1)))
        cols = _COLUMNS.search(text)
        if cols:
            return InputError(f"expected {cols.group(1)} fields, found {cols.group(2)}", file=path, line=line)
        conv = _CONVERT.search(text)
        if conv:
            col = conv.group(1)
            return InputError(
                f"column {col!r}: {conv.group(2).rstrip('.')} (type inferred from the first rows; "
                f"set it with --types {col}=VARCHAR or read more rows with --sample-rows -1)",
                file=path,
                line=line,
            )
        detail = [ln for ln in text.splitlines()[1:] if ln.strip() and not ln.startswith("Original Line")]
        return InputError(detail[0].strip() if detail else "malformed row", file=path, line=line)
    diagnosed = _diagnose_csv(path, delimiter or ",")
    if diagnosed is not None:
        return diagnosed
    first = text.strip().splitlines()[0]
    first = first.split("Error: ", 1)[-1]
    return InputError(f"cannot read as delimited text: {first}", file=path)


def _physical_line(path: Path, delimiter: str, record_line: int, *, max_records: int = 50_000_000) -> int:
    """The file line where record ``record_line`` starts (DuckDB counts records, header = 1).

    They differ only when an earlier quoted field spans several lines, so the file is
    scanned (on this error path only) to map one to the other.
    """
    try:
        with _open_text(path) as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True)
            start = 1
            for k, _ in enumerate(reader, start=1):
                if k == record_line or k > max_records:
                    return start if k == record_line else record_line
                start = reader.line_num + 1
    except (csv.Error, OSError, UnicodeDecodeError, EOFError):
        pass
    return record_line


def _diagnose_csv(path: Path, delimiter: str, max_lines: int = 5_000_000) -> InputError | None:
    """Find the first structural problem of a delimited file (used when DuckDB's sniffer fails)."""
    try:
        with _open_text(path) as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                return InputError("file is empty", file=path)
            expected = len(header)
            for record in reader:
                if reader.line_num > max_lines:
                    break
                if len(record) != expected and record:
                    return InputError(
                        f"expected {expected} fields, found {len(record)}", file=path, line=reader.line_num
                    )
            if reader.line_num <= 1:
                return InputError("no data rows after the header", file=path)
    except csv.Error as exc:
        return InputError(f"malformed quoting: {exc}", file=path, line=reader.line_num)
    except UnicodeDecodeError as exc:
        return InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return InputError(f"cannot read: {exc}", file=path)
    return None
