"""Zarr arrays: chunked matrices (genotypes, expression, images) in the lake.

An array dataset is one Zarr group (Zarr format 2, as the VCF Zarr layout of sgkit and
bio2zarr uses) holding one or more named arrays. Each array may name its dimensions
(``_ARRAY_DIMENSIONS``, as xarray reads them), so ``xarray.open_zarr`` and
``sgkit.load_dataset`` open the group.

Examples
--------
>>> with lake.run("example") as run:                                      # doctest: +SKIP
...     stage = run.array("expr")
...     x = stage.create("counts", shape=(20_000, 96), dtype="int32",
...                      chunks=(5_000, 96), dims=("genes", "samples"))
...     for start in range(0, 20_000, 5_000):
...         x[start:start + 5_000] = next_chunk()
>>> lake.open_array("expr")["counts"].shape                              # doctest: +SKIP
(20000, 96)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

__all__ = ["ArrayStage"]


class ArrayStage:
    """A Zarr group being written for one array dataset (made by ``Run.array``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.group = zarr.open_group(str(path), mode="w", zarr_format=2)
        self.main: str | None = None

    @property
    def attrs(self) -> Any:
        """The group's attributes (JSON-able values)."""
        return self.group.attrs

    def create(
        self,
        name: str,
        *,
        shape: Sequence[int],
        dtype: Any,
        chunks: Sequence[int] | None = None,
        dims: Sequence[str] | None = None,
        fill_value: Any = None,
    ) -> zarr.Array:
        """Create an empty chunked array in the group; write it slice by slice.

        The first array created is the dataset's *main* array, whose shape the
        catalog records (set :attr:`main` to choose another).
        """
        shape = tuple(int(s) for s in shape)
        if chunks is None:
            chunks = _default_chunks(shape, np.dtype(dtype) if dtype is not str else np.dtype("O"))
        arr = self.group.create_array(
            name, shape=shape, dtype=dtype, chunks=tuple(int(c) for c in chunks), fill_value=fill_value
        )
        if dims is not None:
            if len(dims) != len(shape):
                raise ValueError(f"dims {dims!r} do not match the shape {shape}")
            arr.attrs["_ARRAY_DIMENSIONS"] = list(dims)
        if self.main is None:
            self.main = name
        return arr

    def write(
        self,
        name: str,
        data: Any,
        *,
        chunks: Sequence[int] | None = None,
        dims: Sequence[str] | None = None,
        fill_value: Any = None,
    ) -> zarr.Array:
        """Create an array from an in-memory array (numpy or array-like) in one call."""
        data = np.asarray(data)
        dtype: Any = str if data.dtype.kind in "UO" else data.dtype
        arr = self.create(name, shape=data.shape, dtype=dtype, chunks=chunks, dims=dims, fill_value=fill_value)
        if data.size:
            arr[...] = data
        return arr

    def close(self) -> None:
        """Consolidate the metadata (one read opens the whole group)."""
        zarr.consolidate_metadata(str(self.path), zarr_format=2)

    def abort(self) -> None:
        """Nothing to release: the staging directory is removed by the run."""

    def summary(self) -> dict[str, Any]:
        """Shape, dtype and chunking of every member array; the main array's shape."""
        schema = {}
        for name, arr in sorted(self.group.arrays()):
            schema[name] = {
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "chunks": list(arr.chunks),
                "dims": arr.attrs.get("_ARRAY_DIMENSIONS"),
            }
        if not schema:
            raise ValueError("nothing was written to this array dataset")
        main = self.main if self.main in schema else next(iter(schema))
        return {"schema": schema, "shape": schema[main]["shape"], "n_rows": None}


def _default_chunks(shape: tuple[int, ...], dtype: np.dtype[Any], target_bytes: int = 16 << 20) -> tuple[int, ...]:
    """Chunk along the first axis so one chunk holds about ``target_bytes``."""
    if not shape:
        return ()
    row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * max(dtype.itemsize, 1))
    rows = max(1, min(shape[0], target_bytes // row_bytes))
    return (rows, *shape[1:])
