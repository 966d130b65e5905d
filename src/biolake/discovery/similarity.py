"""Fingerprint similarity search over a molecule library in the lake.

:func:`similar` scores query molecules against a library ingested with
:func:`biolake.io.molecules.ingest_molecules` (whose fingerprints are stored sorted by
popcount) and returns, per query, the top-k hits or every hit at or above a threshold —
exactly RDKit's scores (``DataStructs.BulkTanimotoSimilarity`` and friends, see
:mod:`biolake.stats.similarity`), ordered by similarity descending, ties by id.

The job maps the kernel over chunks of the fingerprint array on a backend (threads by
default, processes, or a Dask cluster); each chunk is read by the worker itself and
skipped without reading its fingerprints when no query can reach it (Swamidass–Baldi
popcount bounds). A top-k search runs in two rounds: first the chunks holding each
query's own popcount, whose k-th best score then prunes the other chunks exactly.

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
from biolake.lake.backend import get_backend
from biolake.lake.chunks import ArrayChunk
from biolake.lake.progress import NullProgress, Progress
from biolake.lake.tables import iter_parquet_batches
from biolake.stats.similarity import METRICS, threshold_search, topk_search

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
    mode: str,
    k: int,
    threshold: float,
    floor: np.ndarray | None,
    metric: str,
    alpha: float,
    beta: float,
) -> dict[str, np.ndarray]:
    """Search one chunk of the popcount-sorted fingerprints (runs on a worker)."""
    import zarr

    group = zarr.open_group(chunk.path, mode="r")
    pops = np.asarray(group["popcount"][chunk.start : chunk.stop], dtype=np.int32)
    if mode == "threshold":
        if not _reachable(queries, pops, threshold, metric, alpha, beta):
            return _empty_threshold()
        fps = np.asarray(group["fp"][chunk.start : chunk.stop])
        qi, rows, scores = threshold_search(
            queries, fps, pops, threshold=threshold, metric=metric, alpha=alpha, beta=beta
        )
        keys = np.asarray(group["key"][chunk.start : chunk.stop])[rows]
        return {"query": qi, "pos": rows + chunk.start, "score": scores, "key": keys}
    if floor is not None and not _reachable(queries, pops, floor, metric, alpha, beta):
        return _empty_threshold()
    fps = np.asarray(group["fp"][chunk.start : chunk.stop])
    keys = np.asarray(group["key"][chunk.start : chunk.stop])
    s, kk, r, counts = topk_search(queries, fps, pops, keys, k=k, floor=floor, metric=metric, alpha=alpha, beta=beta)
    mask = np.arange(s.shape[1])[None, :] < counts[:, None]
    qi = np.nonzero(mask)[0]
    return {"query": qi, "pos": r[mask] + chunk.start, "score": s[mask], "key": kk[mask]}


def _empty_threshold() -> dict[str, np.ndarray]:
    return {
        "query": np.zeros(0, np.int64),
        "pos": np.zeros(0, np.int64),
        "score": np.zeros(0, np.float64),
        "key": np.zeros(0, np.int64),
    }


def _reachable(
    queries: np.ndarray, pops: np.ndarray, t: float | np.ndarray, metric: str, alpha: float, beta: float
) -> bool:
    """Whether some popcount of the chunk lets some query reach its score ``t`` (bounds only)."""
    if pops.size == 0:
        return False
    from biolake.stats.similarity import popcounts

    y = popcounts(queries).astype(np.float64)[:, None]
    z = np.unique(pops).astype(np.float64)[None, :]
    x = np.minimum(y, z)
    if metric == "tanimoto":
        d = y + z - x
        num = x
    elif metric == "dice":
        d = y + z
        num = 2.0 * x
    else:
        d = alpha * y + beta * z + (1.0 - alpha - beta) * x
        num = x
    bound = np.divide(num, d, out=np.zeros_like(d), where=d != 0)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64).reshape(-1, 1), (y.shape[0], 1))
    return bool(np.any(bound >= t - 1e-9))


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
    info = lake.info(library)
    if info.kind == "table":
        fp_name = info.attrs.get("fingerprints")
        if not fp_name:
            raise InputError(
                "is not a molecule library (ingest it with 'biolake ingest molecules')", file=f"lake:{info.name}"
            )
        table_name, info = info.name, lake.info(fp_name)
    else:
        table_name = str(info.attrs.get("molecules"))
    if info.encoding != FP_ENCODING[0]:
        raise InputError("is not a fingerprint dataset", file=f"lake:{info.name}")
    if info.encoding_version > FP_ENCODING[1]:
        raise InputError(
            f"fingerprint layout version {info.encoding_version} is newer than this biolake reads",
            file=f"lake:{info.name}",
        )
    return table_name, info


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
    table_name, fp_info = _resolve_library(lake, library)
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
        chunks = [ArrayChunk(str(fp_info.path), "fp", a, min(a + step, n)) for a in range(0, n, step)]
        common = {"queries": queries.fps, "metric": metric, "alpha": float(alpha), "beta": float(beta)}
        with progress.task(f"Searching {table_name}", total=len(chunks)) as task, get_backend(scheduler) as backend:
            if k is None:
                assert threshold is not None
                parts = []
                for part in backend.map(
                    _search_chunk, chunks, mode="threshold", k=1, threshold=float(threshold), floor=None, **common
                ):
                    parts.append(part)
                    task.advance()
                merged = _merge(parts, None, len(queries))
            else:
                merged = _topk_rounds(backend, chunks, group, queries, k, threshold, common, task)
        df = _finish(lake, table_name, group, queries, merged)
        if out is not None:
            run.result(pa.Table.from_pandas(df, schema=RESULT_SCHEMA, preserve_index=False), out)
        else:
            stage = run.table(f"{table_name}_hits", attrs={"role": "result", "library": table_name})
            stage.write(pa.Table.from_pandas(df, schema=RESULT_SCHEMA, preserve_index=False))
    return df


def _topk_rounds(
    backend: Any,
    chunks: list[ArrayChunk],
    group: Any,
    queries: Queries,
    k: int,
    threshold: float | None,
    common: dict[str, Any],
    task: Any,
) -> dict[str, np.ndarray]:
    """Top-k in two rounds: each query's home chunk first, then the rest with its k-th score as floor."""
    from biolake.stats.similarity import popcounts

    bin_start = np.asarray(group["bin_start"][:])
    qpop = np.minimum(popcounts(queries.fps), bin_start.shape[0] - 2)
    starts = np.array([c.start for c in chunks], dtype=np.int64)
    n = int(chunks[-1].stop) if chunks else 0
    home_pos = np.minimum(bin_start[qpop], max(n - 1, 0))
    home = sorted({int(np.searchsorted(starts, p, side="right") - 1) for p in home_pos}) if chunks else []
    base_floor = np.full(len(queries), -1.0 if threshold is None else float(threshold))
    round1 = [chunks[i] for i in home]
    parts = []
    for part in backend.map(_search_chunk, round1, mode="topk", k=k, threshold=0.0, floor=base_floor, **common):
        parts.append(part)
        task.advance()
    first = _merge(parts, k, len(queries))
    floor = base_floor.copy()
    counts = np.bincount(first["query"], minlength=len(queries))
    for qi in np.nonzero(counts >= k)[0]:
        floor[qi] = max(floor[qi], float(first["score"][first["query"] == qi][k - 1]))
    home_set = set(home)
    rest = [c for i, c in enumerate(chunks) if i not in home_set]
    for part in backend.map(_search_chunk, rest, mode="topk", k=k, threshold=0.0, floor=floor, **common):
        parts.append(part)
        task.advance()
    return _merge(parts, k, len(queries))


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


def _finish(lake: Lake, table_name: str, group: Any, queries: Queries, merged: dict[str, np.ndarray]) -> pd.DataFrame:
    """Add ids, SMILES and ranks to the merged hits."""
    pos = merged["pos"]
    rows = np.asarray(group["row"].get_coordinate_selection(pos)) if pos.size else np.zeros(0, np.int64)
    ids, smiles = _lookup(lake, table_name, rows)
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


def _lookup(lake: Lake, table_name: str, rows: np.ndarray) -> tuple[list[str], list[str]]:
    """``id`` and ``smiles`` of table rows (one streaming pass over the two columns)."""
    if rows.size == 0:
        return [], []
    wanted = np.unique(rows)
    path = lake.info(table_name).path
    found_ids: dict[int, str] = {}
    found_smiles: dict[int, str] = {}
    offset = 0
    for batch in iter_parquet_batches(path, columns=["id", "smiles"]):
        end = offset + batch.num_rows
        lo, hi = np.searchsorted(wanted, [offset, end])
        if hi > lo:
            local = wanted[lo:hi] - offset
            ids = batch.column(0).take(pa.array(local)).to_pylist()
            smi = batch.column(1).take(pa.array(local)).to_pylist()
            for r, i, s in zip(wanted[lo:hi].tolist(), ids, smi, strict=True):
                found_ids[r] = i
                found_smiles[r] = s
        offset = end
        if offset > wanted[-1]:
            break
    return [found_ids[int(r)] for r in rows], [found_smiles[int(r)] for r in rows]
