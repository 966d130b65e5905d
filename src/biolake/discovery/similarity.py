"""Fingerprint similarity search over a molecule library in the lake.

:func:`similar` scores query molecules against a library ingested with
:func:`biolake.io.molecules.ingest_molecules` (whose fingerprints are stored sorted by
popcount) and returns, per query, the top-k hits or every hit at or above a threshold —
exactly RDKit's scores (``DataStructs.BulkTanimotoSimilarity`` and friends, see
:mod:`biolake.stats.similarity`), ordered by similarity descending, ties by id.

The job maps the kernel over chunks of the fingerprint array on a backend (threads by
default, processes, or a Dask cluster). From the popcount bins alone (``bin_start``) it
finds, per query, the run of rows whose popcount can reach the score sought
(Swamidass–Baldi bounds) and sends each chunk only the rows some query's run covers;
chunks outside every run are never read. Workers memory-map those rows of the raw
(uncompressed) chunk files. A top-k search runs in two rounds: first the rows of the
popcounts nearest each query's own, whose k-th best score then bounds, exactly, the rows
left to search.

Result columns (:data:`RESULT_COLUMNS`):

==============  =======  =========================================================
``query``       string   query id (the SMILES itself for a query given as SMILES)
``id``          string   library molecule id
``similarity``  float64  the score (Tanimoto, Dice or Tversky)
``rank``        int64    1 = most similar, per query (ties broken by ``id``)
``smiles``      string   canonical SMILES of the library molecule
==============  =======  =========================================================

Rows are ordered by query (in input order), then rank.

Examples
--------
>>> from biolake.discovery import similar
>>> hits = similar(lake, "library", "CC(=O)Oc1ccccc1C(=O)O", top_k=5)   # doctest: +SKIP
>>> hits.columns.tolist()                                                # doctest: +SKIP
['query', 'id', 'similarity', 'rank', 'smiles']
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import zarr

from biolake.errors import InputError, check_param
from biolake.io.molecules import FP_ENCODING, fingerprint_words, mol_from_record, molecule_format, read_molecules
from biolake.lake import DatasetInfo, Lake
from biolake.lake.arrays import read_rows
from biolake.lake.backend import get_backend
from biolake.lake.chunks import ArrayChunk
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.similarity import METRICS, popcounts, threshold_search, topk_search

__all__ = ["RESULT_COLUMNS", "RESULT_SCHEMA", "Queries", "load_queries", "similar"]

RESULT_SCHEMA = pa.schema(
    [
        ("query", pa.string()),
        ("id", pa.string()),
        ("similarity", pa.float64()),
        ("rank", pa.int64()),
        ("smiles", pa.string()),
    ]
)
RESULT_COLUMNS = RESULT_SCHEMA.names
_DEFAULT_TOP_K = 100
_ROUND1_ROWS = 32_768  # rows per query searched before the floor is set


class Queries:
    """Query molecules: ``ids``, packed fingerprints ``fps`` (``(n, words)`` uint64), source files."""

    def __init__(self, ids: list[str], fps: np.ndarray, sources: list[str] | None = None) -> None:
        self.ids = ids
        self.fps = fps
        self.sources = sources or []

    def __len__(self) -> int:
        return len(self.ids)


def load_queries(query: str | os.PathLike[str] | Sequence[str] | Mapping[str, str], fp: str) -> Queries:
    """Parse queries into fingerprints of the library's kind.

    Parameters
    ----------
    query
        One SMILES (its own id); a path to a molecule file (``.smi``, ``.csv``/``.tsv``,
        ``.sdf``, gzip too: every molecule in it, ids from the file); a list of those;
        or a mapping id → SMILES.
    fp
        The library's fingerprint spec.

    Returns
    -------
    Queries

    Raises
    ------
    InputError
        If a query cannot be read by RDKit (naming the file and record, or the SMILES).
    """
    sources: list[str] = []
    if isinstance(query, Mapping):
        items = [(str(k), str(v), "smiles", "--query", None) for k, v in query.items()]
    else:
        parts = [query] if isinstance(query, str | os.PathLike) else list(query)
        items = []
        for part in parts:
            if isinstance(part, os.PathLike) or _looks_like_file(str(part)):
                sources.append(str(part))
                items += _file_items(Path(part))
            else:
                items.append((str(part), str(part), "smiles", "--query", None))
    check_param("similar", "query", query, len(items) > 0, "at least one molecule")
    mols = []
    for ident, text, fmt, where, record in items:
        mol, reason = mol_from_record(text, fmt)
        if mol is None:
            raise InputError(f"RDKit cannot read query {ident!r} ({reason})", file=where, record=record)
        mols.append(mol)
    return Queries([i[0] for i in items], fingerprint_words(mols, fp), sources)


def _file_items(path: Path) -> list[tuple[str, str, str, str, int | None]]:
    if not path.is_file():
        raise InputError("no such query file", file=path)
    fmt = "sdf" if molecule_format(path) == "sdf" else "smiles"
    return [(ident, text, fmt, str(path), record) for record, _line, text, ident, _props in read_molecules(path)]


def _looks_like_file(text: str) -> bool:
    if os.path.exists(text):
        return True
    lowered = text.lower()
    return any(lowered.endswith(s) for s in (".smi", ".csv", ".tsv", ".sdf", ".gz", ".smiles", ".sd", ".mol"))


# ------------------------------------------------------------------------- kernel
def _search_chunk(
    chunk: ArrayChunk,
    *,
    queries: np.ndarray,
    bin_start: np.ndarray,
    mode: str,
    k: int,
    threshold: float,
    floor: np.ndarray | None,
    metric: str,
    alpha: float,
    beta: float,
) -> dict[str, np.ndarray]:
    """Search rows ``chunk.start:chunk.stop`` of the popcount-sorted fingerprints (runs on a worker).

    The rows' popcounts come from ``bin_start`` (rows with popcount ``p`` are
    ``bin_start[p]:bin_start[p + 1]``), so only the fingerprint words and, for ties, the keys are read.
    """
    start, stop = chunk.start, chunk.stop
    pops = _pops_from_bins(bin_start, start, stop)
    fps = read_fingerprint_rows(chunk.path, start, stop)
    if mode == "threshold":
        qi, rows, scores = threshold_search(
            queries, fps, pops, threshold=threshold, metric=metric, alpha=alpha, beta=beta
        )
        if rows.size == 0:
            return _empty_threshold()
        keys = read_rows(chunk.path, "key", start, stop).astype(np.int64, copy=False)
        return {"query": qi, "pos": rows + start, "score": scores, "key": keys[rows]}
    keys = read_rows(chunk.path, "key", start, stop).astype(np.int64, copy=False)
    s, kk, r, counts = topk_search(queries, fps, pops, keys, k=k, floor=floor, metric=metric, alpha=alpha, beta=beta)
    mask = np.arange(s.shape[1])[None, :] < counts[:, None]
    qi = np.nonzero(mask)[0]
    return {"query": qi, "pos": r[mask] + start, "score": s[mask], "key": kk[mask]}


def _pops_from_bins(bin_start: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Popcounts (``int32``) of rows ``start:stop`` of a popcount-sorted array, from its bin starts."""
    if stop <= start:
        return np.zeros(0, np.int32)
    p0 = int(np.searchsorted(bin_start, start, side="right")) - 1
    p1 = int(np.searchsorted(bin_start, stop - 1, side="right")) - 1
    counts = np.minimum(bin_start[p0 + 1 : p1 + 2], stop) - np.maximum(bin_start[p0 : p1 + 1], start)
    return np.repeat(np.arange(p0, p1 + 1, dtype=np.int32), counts)


def read_fingerprint_rows(path: str | os.PathLike[str], start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the ``fp`` array of a fingerprint dataset, ``(rows, words)`` ``uint64``.

    The words are stored uncompressed (Zarr v2, no filters), so each chunk file is the raw
    little-endian rows: they are memory-mapped (read from the page cache without a copy
    when the rows lie in one chunk) instead of decoded through Zarr, which costs ~20x the
    search itself. Any other layout, or a chunk Zarr did not write (all zero), is read
    through Zarr.
    """
    return read_rows(path, "fp", start, stop).astype(np.uint64, copy=False)


def _empty_threshold() -> dict[str, np.ndarray]:
    return {
        "query": np.zeros(0, np.int64),
        "pos": np.zeros(0, np.int64),
        "score": np.zeros(0, np.float64),
        "key": np.zeros(0, np.int64),
    }


def _bands(
    qpop: np.ndarray, bin_start: np.ndarray, t: np.ndarray, metric: str, alpha: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the rows ``lo:hi`` whose popcount lets it reach its score ``t`` (Swamidass–Baldi bound).

    The bound ``score(min(y, z), y, z)`` grows with ``z`` up to the query's popcount ``y`` and
    falls after it, so the popcounts that can reach ``t`` form one range, i.e. one run of rows.
    A query with ``t <= 0`` gets every row.
    """
    n_pop = bin_start.shape[0] - 1  # popcounts 0 .. n_bits
    y = qpop.astype(np.float64)[:, None]
    z = np.arange(n_pop, dtype=np.float64)[None, :]
    x = np.minimum(y, z)
    if metric == "tanimoto":
        d, num = y + z - x, x
    elif metric == "dice":
        d, num = y + z, 2.0 * x
    else:
        d, num = alpha * y + beta * z + (1.0 - alpha - beta) * x, x
    bound = np.divide(num, d, out=np.zeros_like(d), where=d != 0)
    ok = bound >= (np.asarray(t, dtype=np.float64)[:, None] - 1e-9)
    ok[np.asarray(t) <= 0] = True
    anyok = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    last = n_pop - 1 - np.argmax(ok[:, ::-1], axis=1)
    lo = np.where(anyok, bin_start[first], 0)
    hi = np.where(anyok, bin_start[last + 1], 0)
    return lo.astype(np.int64), hi.astype(np.int64)


def _tasks(
    path: str,
    grid: list[tuple[int, int]],
    lo: np.ndarray,
    hi: np.ndarray,
    done: list[tuple[int, int]] | None = None,
) -> list[ArrayChunk]:
    """The rows of each chunk of ``grid`` that some query's band ``lo:hi`` covers, one task per chunk.

    Rows in the ranges ``done`` (searched already for every query) are left out, which may
    split a chunk into several tasks.
    """
    pieces = grid
    if done:
        cut = sorted(done)
        pieces = []
        for a, b in grid:
            for c, d in cut:
                if d <= a or c >= b:
                    continue
                if c > a:
                    pieces.append((a, c))
                a = max(a, d)
            if a < b:
                pieces.append((a, b))
    tasks = []
    for a, b in pieces:
        hit = (lo < b) & (hi > a) & (hi > lo)
        if hit.any():
            tasks.append(ArrayChunk(path, "fp", max(a, int(lo[hit].min())), min(b, int(hi[hit].max()))))
    return tasks


def _near_band(qpop: np.ndarray, bin_start: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the rows of the popcounts nearest its own, at least ``rows`` of them (or all)."""
    n_pop = bin_start.shape[0] - 1
    n = int(bin_start[-1])
    lo = np.zeros(qpop.shape[0], np.int64)
    hi = np.zeros(qpop.shape[0], np.int64)
    for i, y in enumerate(np.minimum(qpop, n_pop - 1).tolist()):
        w = 0
        while True:
            a, b = int(bin_start[max(0, y - w)]), int(bin_start[min(n_pop, y + w + 1)])
            if b - a >= min(rows, n) or w > n_pop:
                break
            w += 1
        lo[i], hi[i] = a, b
    return lo, hi


# --------------------------------------------------------------------------- job
def molecule_table(lake: Lake, library: str) -> DatasetInfo:
    """The molecule table of a library ingested by ``biolake ingest molecules`` (else a one-line error)."""
    info = lake.info(library)
    if info.kind != "table" or not info.attrs.get("fingerprints"):
        raise InputError(
            "is not a molecule library (ingest it with 'biolake ingest molecules')", file=f"lake:{info.name}"
        )
    return info


def _resolve_library(lake: Lake, library: str) -> tuple[str, DatasetInfo]:
    """(molecule table name, fingerprint dataset) of a library given by either name."""
    table_info, fp_info = _resolve(lake, library)
    return table_info.name, fp_info


def _resolve(lake: Lake, library: str) -> tuple[DatasetInfo, DatasetInfo]:
    """(molecule table, fingerprint dataset) of a library given by either name."""
    info = lake.info(library)
    if info.kind == "table":
        fp_name = info.attrs.get("fingerprints")
        if not fp_name:
            raise InputError(
                "is not a molecule library (ingest it with 'biolake ingest molecules')", file=f"lake:{info.name}"
            )
        table_info, info = info, lake.info(fp_name)
    else:
        table_info = lake.info(str(info.attrs.get("molecules")))
    if info.encoding != FP_ENCODING[0]:
        raise InputError("is not a fingerprint dataset", file=f"lake:{info.name}")
    if info.encoding_version > FP_ENCODING[1]:
        raise InputError(
            f"fingerprint layout version {info.encoding_version} is newer than this biolake reads",
            file=f"lake:{info.name}",
        )
    return table_info, info


def _check_options(
    top_k: int | None, threshold: float | None, metric: str, alpha: float, beta: float, chunk_rows: int | None
) -> int | None:
    check_param(
        "similar",
        "top_k",
        top_k,
        top_k is None or (isinstance(top_k, numbers.Integral) and not isinstance(top_k, bool) and top_k >= 1),
        "a positive integer or None",
    )
    check_param(
        "similar",
        "threshold",
        threshold,
        threshold is None
        or (isinstance(threshold, numbers.Real) and not isinstance(threshold, bool) and 0 < threshold <= 1),
        "a number in (0, 1] or None",
    )
    check_param("similar", "metric", metric, metric in METRICS, f"one of {', '.join(map(repr, METRICS))}")
    for name, value in (("alpha", alpha), ("beta", beta)):
        check_param(
            "similar",
            name,
            value,
            isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value <= 1,
            "a number in [0, 1]",
        )
    check_param(
        "similar",
        "chunk_rows",
        chunk_rows,
        chunk_rows is None or (isinstance(chunk_rows, int) and chunk_rows >= 1),
        "a positive integer or None",
    )
    if top_k is None and threshold is None:
        return _DEFAULT_TOP_K
    return None if top_k is None else int(top_k)


def similar(
    lake: Lake,
    library: str,
    query: str | os.PathLike[str] | Sequence[str] | Mapping[str, str],
    *,
    top_k: int | None = None,
    threshold: float | None = None,
    metric: str = "tanimoto",
    alpha: float = 0.5,
    beta: float = 0.5,
    out: str | os.PathLike[str] | None = None,
    scheduler: Any = None,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Find the library molecules most similar to each query.

    Parameters
    ----------
    lake
        The lake holding the library.
    library
        The molecule table made by ``ingest_molecules`` (``NAME`` or ``lake:NAME``), or
        its fingerprint dataset ``NAME_fp``.
    query
        One SMILES, a molecule file, a list of SMILES or a mapping id → SMILES (see
        :func:`load_queries`). Fingerprints are computed as the library's were.
    top_k
        Keep the ``top_k`` best hits per query (default 100 when ``threshold`` is None).
    threshold
        Keep hits with ``similarity >= threshold`` (in (0, 1]); with ``top_k`` too,
        the best ``top_k`` of those.
    metric
        ``"tanimoto"``, ``"dice"`` or ``"tversky"``.
    alpha, beta
        Tversky weights of the query's and the library molecule's own bits (as RDKit's
        ``BulkTverskySimilarity(query, library, alpha, beta)``), each in [0, 1].
    out
        Also write the result to this file (``.parquet``, ``.csv``, ``.tsv``) and register
        it under the file's stem; without it the result is registered as ``LIBRARY_hits``.
    scheduler
        Where to run (see :func:`biolake.lake.backend.get_backend`; default threads).
    chunk_rows
        Library rows per task (default: the Zarr chunk length). Results do not depend on it.
    progress
        Where to report progress (chunks searched).

    Returns
    -------
    pandas.DataFrame
        Columns ``query, id, similarity, rank, smiles`` (see the module docstring).

    Raises
    ------
    InputError
        For an option out of range, an unknown library, or a query RDKit cannot read.

    Examples
    --------
    >>> similar(lake, "library", ["c1ccccc1O", "CCO"], threshold=0.7)  # doctest: +SKIP
    """
    k = _check_options(top_k, threshold, metric, alpha, beta, chunk_rows)
    table_info, fp_info = _resolve(lake, library)
    table_name = table_info.name
    group = zarr.open_group(str(fp_info.path), mode="r")
    fp_spec = str(group.attrs["fp"])
    queries = load_queries(query, fp_spec)
    progress = progress or NullProgress()
    params = {
        "library": table_name,
        "query": query if isinstance(query, str) else f"{len(queries)} molecules",
        "n_queries": len(queries),
        "top_k": k,
        "threshold": threshold,
        "metric": metric,
        "alpha": alpha if metric == "tversky" else None,
        "beta": beta if metric == "tversky" else None,
        "fp": fp_spec,
        "out": None if out is None else str(out),
    }
    inputs = [f"lake:{table_name}", *queries.sources]
    with lake.run("discovery similar", params=params, inputs=inputs) as run:
        n, step = int(group["fp"].shape[0]), chunk_rows or int(group["fp"].chunks[0])
        grid = [(a, min(a + step, n)) for a in range(0, n, step)]
        bin_start = np.asarray(group["bin_start"][:], dtype=np.int64)
        qpop = popcounts(queries.fps)
        common = {
            "queries": queries.fps,
            "bin_start": bin_start,
            "metric": metric,
            "alpha": float(alpha),
            "beta": float(beta),
        }
        with progress.task(f"Searching {table_name}", total=n) as task, get_backend(scheduler) as backend:
            if k is None:
                assert threshold is not None
                t = np.full(len(queries), float(threshold))
                tasks = _tasks(str(fp_info.path), grid, *_bands(qpop, bin_start, t, metric, alpha, beta))
                task.advance(n - _rows(tasks))  # pruned by the popcount bounds
                parts = _run(
                    backend, tasks, task, mode="threshold", k=1, threshold=float(threshold), floor=None, **common
                )
                merged = _merge(parts, None, len(queries))
            else:
                merged = _topk_rounds(backend, str(fp_info.path), grid, qpop, k, threshold, common, task)
        df = _finish(table_info, group, queries, merged)
        if out is not None:
            run.result(pa.Table.from_pandas(df, schema=RESULT_SCHEMA, preserve_index=False), out)
        else:
            stage = run.table(f"{table_name}_hits", attrs={"role": "result", "library": table_name})
            stage.write(pa.Table.from_pandas(df, schema=RESULT_SCHEMA, preserve_index=False))
    return df


def _topk_rounds(
    backend: Any,
    path: str,
    grid: list[tuple[int, int]],
    qpop: np.ndarray,
    k: int,
    threshold: float | None,
    common: dict[str, Any],
    task: Any,
) -> dict[str, np.ndarray]:
    """Top-k in two rounds: the rows nearest each query's popcount first, then the rest with its k-th score as floor.

    Rows of popcounts near the query's own hold the best scores they can (the bound peaks at
    the query's popcount), so round 1 searches at least ``max(16 k, 32768)`` of them per query;
    its k-th best score bounds the popcount band left to search (exactly: a row outside it
    cannot reach that score), and round 2 reads only the rows of those bands not yet searched.
    """
    nq = qpop.shape[0]
    bin_start = common["bin_start"]
    base_floor = np.full(nq, -1.0 if threshold is None else float(threshold))
    lo, hi = _bands(qpop, bin_start, base_floor, common["metric"], common["alpha"], common["beta"])
    near_lo, near_hi = _near_band(qpop, bin_start, max(16 * k, _ROUND1_ROWS))
    round1 = _tasks(path, grid, np.maximum(lo, near_lo), np.minimum(hi, near_hi))
    parts = _run(backend, round1, task, mode="topk", k=k, threshold=0.0, floor=base_floor, **common)
    first = _merge(parts, k, nq)
    floor = base_floor.copy()
    counts = np.bincount(first["query"], minlength=nq)
    for qi in np.nonzero(counts >= k)[0]:
        floor[qi] = max(floor[qi], float(first["score"][first["query"] == qi][k - 1]))
    lo, hi = _bands(qpop, bin_start, floor, common["metric"], common["alpha"], common["beta"])
    rest = _tasks(path, grid, lo, hi, done=[(c.start, c.stop) for c in round1])
    task.advance(_rows(grid) - _rows(round1) - _rows(rest))  # pruned
    parts += _run(backend, rest, task, mode="topk", k=k, threshold=0.0, floor=floor, **common)
    return _merge(parts, k, nq)


def _run(backend: Any, tasks: list[ArrayChunk], task: Any, **kwargs: Any) -> list[dict[str, np.ndarray]]:
    """Search the tasks on the backend, advancing the progress by the rows of each."""
    parts = []
    for i, part in enumerate(backend.map(_search_chunk, tasks, **kwargs)):
        parts.append(part)
        task.advance(tasks[i].stop - tasks[i].start)
    return parts


def _rows(tasks: list[ArrayChunk] | list[tuple[int, int]]) -> int:
    """Rows covered by tasks or ``(start, stop)`` ranges."""
    return sum((t.stop - t.start) if isinstance(t, ArrayChunk) else (t[1] - t[0]) for t in tasks)


def _merge(parts: list[dict[str, np.ndarray]], k: int | None, n_queries: int) -> dict[str, np.ndarray]:
    """Concatenate chunk results; order by query, score descending, key; keep k per query."""
    if parts:
        cat = {name: np.concatenate([p[name] for p in parts]) for name in ("query", "pos", "score", "key")}
    else:
        cat = _empty_threshold()
    order = np.lexsort((cat["key"], -cat["score"], cat["query"]))
    cat = {name: v[order] for name, v in cat.items()}
    if k is not None and cat["query"].size:
        first = np.searchsorted(cat["query"], cat["query"], side="left")
        keep = (np.arange(cat["query"].size) - first) < k
        cat = {name: v[keep] for name, v in cat.items()}
    return cat


def _finish(table_info: DatasetInfo, group: Any, queries: Queries, merged: dict[str, np.ndarray]) -> pd.DataFrame:
    """Add ids, SMILES and ranks to the merged hits."""
    pos = merged["pos"]
    rows = np.asarray(group["row"].get_coordinate_selection(pos)) if pos.size else np.zeros(0, np.int64)
    ids, smiles = _lookup(table_info.path, rows)
    qi = merged["query"]
    first = np.searchsorted(qi, qi, side="left")
    rank = np.arange(qi.size) - first + 1
    return pd.DataFrame(
        {
            "query": pd.array([queries.ids[i] for i in qi], dtype="string"),
            "id": pd.array(ids, dtype="string"),
            "similarity": merged["score"].astype(np.float64),
            "rank": rank.astype(np.int64),
            "smiles": pd.array(smiles, dtype="string"),
        }
    )


def _lookup(path: Path, rows: np.ndarray) -> tuple[list[str], list[str]]:
    """``id`` and ``smiles`` of table rows, reading (in parallel) only the row groups that hold them."""
    if rows.size == 0:
        return [], []
    import pyarrow.parquet as pq

    wanted = np.unique(rows)
    ids: list[str] = []
    smiles: list[str] = []
    offset = 0
    for f in sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [Path(path)]:
        pf = pq.ParquetFile(f)
        meta = pf.metadata
        groups, local, base = [], [], 0
        for g in range(meta.num_row_groups):
            size = meta.row_group(g).num_rows
            lo, hi = np.searchsorted(wanted, [offset, offset + size])
            if hi > lo:
                groups.append(g)
                local.append(wanted[lo:hi] - offset + base)
                base += size
            offset += size
        if groups:
            table = pf.read_row_groups(groups, columns=["id", "smiles"], use_threads=True)
            take = pa.array(np.concatenate(local))
            ids += table.column("id").take(take).to_pylist()
            smiles += table.column("smiles").take(take).to_pylist()
        if offset > wanted[-1]:
            break
    at = np.searchsorted(wanted, rows)
    return [ids[i] for i in at.tolist()], [smiles[i] for i in at.tolist()]
