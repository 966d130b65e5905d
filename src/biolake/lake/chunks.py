"""Chunks of lake datasets as small, picklable descriptors.

A job does not ship data to its workers: it ships *where the data is* (a Parquet part
and row group, or a Zarr array and a slice), and each worker reads its own chunk. The
same job therefore runs on local threads, local processes or a Dask cluster whose
workers see the lake's directory (a shared file system).

Examples
--------
>>> from biolake.lake.backend import map_chunks
>>> def total_age(chunk):
...     return chunk.read(columns=["age"]).column("age").to_numpy().sum()
>>> sum(map_chunks(total_age, table_chunks(lake, "patients")))      # doctest: +SKIP
290_481
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from biolake.errors import check_param

if TYPE_CHECKING:
    from biolake.lake.catalog import Lake

__all__ = ["ArrayChunk", "TableChunk", "array_chunks", "table_chunks"]


@dataclass(frozen=True)
class TableChunk:
    """Row groups ``row_groups`` of one Parquet part; ``offset`` is the first row's index in the table."""

    path: str
    row_groups: tuple[int, ...]
    offset: int
    n_rows: int

    def read(self, *, columns: Sequence[str] | None = None) -> pa.Table:
        """Read the chunk's rows (optionally only some columns)."""
        return pq.ParquetFile(self.path).read_row_groups(list(self.row_groups), columns=columns)


@dataclass(frozen=True)
class ArrayChunk:
    """Rows ``start:stop`` (first axis) of one array of a Zarr group."""

    path: str
    array: str
    start: int
    stop: int

    def read(self) -> np.ndarray:
        """Read the chunk as a numpy array."""
        import zarr

        return zarr.open_group(self.path, mode="r")[self.array][self.start : self.stop]


def table_chunks(lake: Lake, name: str, *, target_rows: int = 131_072) -> list[TableChunk]:
    """Split a table dataset into chunks of whole row groups of about ``target_rows`` rows."""
    check_param("table_chunks", "target_rows", target_rows, isinstance(target_rows, int) and target_rows > 0, "> 0")
    info = lake.info(name)
    chunks: list[TableChunk] = []
    offset = 0
    for part in sorted(Path(info.path).glob("*.parquet")):
        meta = pq.ParquetFile(part).metadata
        group: list[int] = []
        rows = 0
        for i in range(meta.num_row_groups):
            group.append(i)
            rows += meta.row_group(i).num_rows
            if rows >= target_rows:
                chunks.append(TableChunk(str(part), tuple(group), offset, rows))
                offset += rows
                group, rows = [], 0
        if group:
            chunks.append(TableChunk(str(part), tuple(group), offset, rows))
            offset += rows
    return chunks


def array_chunks(lake: Lake, name: str, array: str, *, rows: int | None = None) -> list[ArrayChunk]:
    """Split one array of an array dataset along its first axis.

    ``rows`` defaults to the array's own chunk length, so every read is of whole
    Zarr chunks; other values are allowed (any chunking gives the same job result).
    """
    group = lake.open_array(name)
    arr: Any = group[array]
    step = rows if rows is not None else arr.chunks[0]
    check_param("array_chunks", "rows", rows, isinstance(step, int) and step > 0, "a positive integer or None")
    n = arr.shape[0]
    path = str(lake.info(name).path)
    return [ArrayChunk(path, array, start, min(start + step, n)) for start in range(0, n, step)]
