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

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

__all__ = ["ArrayStage", "read_rows"]


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


def read_rows(path: str | os.PathLike[str], name: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` (first axis) of the Zarr v2 array ``name`` of a dataset, read chunk file by chunk file.

    Raw chunks are memory-mapped; compressed ones are decoded with their own numcodecs codec
    (Zarr's per-read overhead is ~2 ms, more than decoding a 512 KiB chunk). Any layout this
    does not know (filters, Fortran order, chunked on other axes, another format) or a chunk
    file that is missing (all fill value) is read through Zarr.
    """
    adir = Path(path) / name
    try:
        meta = json.loads((adir / ".zarray").read_text())
    except (OSError, ValueError):
        meta = {}
    shape, chunks = list(meta.get("shape") or []), list(meta.get("chunks") or [])
    known = (
        meta.get("zarr_format") == 2
        and not meta.get("filters")
        and meta.get("order") == "C"
        and len(shape) >= 1
        and len(chunks) == len(shape)
        and chunks[1:] == shape[1:]
        and chunks[0] > 0
    )
    pieces: list[np.ndarray] = []
    if known:
        try:
            dtype = np.dtype(meta["dtype"])
            codec = None
            if meta.get("compressor") is not None:
                import numcodecs

                codec = numcodecs.get_codec(dict(meta["compressor"]))
        except (TypeError, ValueError, KeyError, ImportError):
            known = False
    if known:
        step, inner, sep = int(chunks[0]), [int(s) for s in shape[1:]], meta.get("dimension_separator") or "."
        row_items = int(np.prod(inner, dtype=np.int64)) if inner else 1
        for ci in range(start // step, (stop - 1) // step + 1 if stop > start else 0):
            lo, hi = max(start, ci * step) - ci * step, min(stop, (ci + 1) * step) - ci * step
            f = adir / (str(ci) + "".join(f"{sep}0" for _ in inner))
            size = step * row_items * dtype.itemsize
            if not f.is_file():
                known = False
                break
            if codec is None:
                if f.stat().st_size < size:
                    known = False
                    break
                mm = np.memmap(
                    f, dtype=dtype, mode="r", offset=lo * row_items * dtype.itemsize, shape=(hi - lo, *inner)
                )
                pieces.append(mm.view(np.ndarray))
            else:
                buf = codec.decode(f.read_bytes())
                arr = np.frombuffer(buf, dtype=dtype)
                if arr.size != step * row_items:
                    known = False
                    break
                pieces.append(arr.reshape(step, *inner)[lo:hi])
    if not known:
        return np.asarray(zarr.open_array(str(adir), mode="r")[start:stop])
    if not pieces:
        return np.zeros((0, *shape[1:]), np.dtype(meta["dtype"]))
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
