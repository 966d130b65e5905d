"""Taylor–Butina clustering and MaxMin diversity picking of a molecule library in the lake.

:func:`cluster_library` clusters the stored fingerprints of a library made by
:func:`biolake.io.molecules.ingest_molecules` with the Taylor–Butina algorithm: two
molecules are neighbours when their Tanimoto **distance** ``1 - similarity`` is at most
``1 - threshold``; molecules are taken in order of decreasing neighbour count (ties: the
larger row first), and each one not yet assigned becomes the centroid of a cluster with
its unassigned neighbours. This is exactly ``rdkit.ML.Cluster.Butina.ClusterData(dists,
n, 1 - threshold, isDistData=True)`` on the molecules in table order (distances computed
as ``1.0 - BulkTanimotoSimilarity`` in double precision; the tests compare the tuples).

Neighbour pairs are found block by block of the popcount-sorted fingerprints with the
threshold kernel of :mod:`biolake.stats.similarity` (Swamidass–Baldi pruning: blocks whose
popcounts cannot reach the threshold are skipped), only pairs ``i < j``; memory holds two
blocks of fingerprints and the neighbour pairs (8 bytes per pair and direction).

``pick`` adds a MaxMin diversity selection: RDKit's own
``MaxMinPicker().LazyBitVectorPick(fps, n, pick, seed=seed)`` run on bit vectors rebuilt
exactly from the stored words (so the picks are RDKit's); this needs every fingerprint in
memory as an RDKit bit vector (about 300 bytes per molecule at 2048 bits).

Result columns, one row per molecule in table order: ``id``, ``row``, ``cluster``
(0-based, in RDKit's cluster order: the largest first), ``centroid`` (bool),
``cluster_size``, and ``pick`` (1-based MaxMin pick order, null if not picked; only with
``pick``).

Examples
--------
>>> from biolake.discovery.cluster import cluster_library
>>> df = cluster_library(lake, "library", threshold=0.6, pick=50)   # doctest: +SKIP
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import zarr

from biolake.errors import check_param
from biolake.lake import Lake
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.similarity import threshold_search

__all__ = ["butina", "cluster_library", "maxmin_pick", "neighbour_pairs"]

_SLACK = 1e-9


def neighbour_pairs(
    fps: Any, pops: np.ndarray, *, threshold: float, block: int = 8192, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``i < j`` (positions in ``fps``) with ``1.0 - tanimoto <= 1.0 - threshold``.

    Parameters
    ----------
    fps
        Packed fingerprints sorted by popcount: a NumPy array or a Zarr array (read by blocks).
    pops
        Their popcounts (ascending).
    threshold
        Similarity threshold ``t``; the distance threshold is ``1.0 - t`` as in Butina.
    block
        Rows per block.

    Returns
    -------
    tuple of numpy.ndarray
        ``i`` and ``j`` (int64).
    """
    n = int(pops.shape[0])
    dist = 1.0 - threshold
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    progress = progress or NullProgress()
    starts = list(range(0, n, block))
    with progress.task("Neighbour lists", total=len(starts)) as task:
        for qs in starts:
            qe = min(n, qs + block)
            q = np.asarray(fps[qs:qe])
            ymax = float(pops[qe - 1])
            for ls in range(qs, n, block):
                le = min(n, ls + block)
                zmin = float(pops[ls])
                if zmin > 0 and ymax / zmin < threshold - _SLACK:
                    break  # sorted: later blocks have larger popcounts still
                lib = q if ls == qs else np.asarray(fps[ls:le])
                qi, r, s = threshold_search(q, lib, pops[ls:le], threshold=max(0.0, threshold - _SLACK))
                keep = (1.0 - s) <= dist
                i = qi[keep] + qs
                j = r[keep] + ls
                if ls == qs:
                    upper = j > i
                    i, j = i[upper], j[upper]
                out_i.append(i)
                out_j.append(j)
            task.advance()
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _assign(order, indptr, indices, n):  # pragma: no cover  (compiled)
    seen = np.zeros(n, np.bool_)
    cluster = np.full(n, -1, np.int64)
    centroid = np.zeros(n, np.bool_)
    c = 0
    for idx in order:
        if seen[idx]:
            continue
        seen[idx] = True
        cluster[idx] = c
        centroid[idx] = True
        for k in range(indptr[idx], indptr[idx + 1]):
            nb = indices[k]
            if not seen[nb]:
                seen[nb] = True
                cluster[nb] = c
        c += 1
    return cluster, centroid


def butina(n: int, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Taylor–Butina assignment from neighbour pairs (RDKit ``ClusterData`` order and ties).

    Parameters
    ----------
    n
        Number of points.
    i, j
        Neighbour pairs (each pair once, any order), point indices in ``[0, n)``.

    Returns
    -------
    tuple of numpy.ndarray
        ``cluster`` (0-based, RDKit's cluster order) and ``centroid`` (bool) of each point.
    """
    src = np.concatenate([i, j]).astype(np.int64)
    dst = np.concatenate([j, i]).astype(np.int64)
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    count = np.diff(indptr) + 1  # RDKit counts the point itself (distance 0)
    idx = np.arange(n, dtype=np.int64)
    visit = np.lexsort((-idx, -count))  # count descending, then index descending
    return _assign(visit, indptr, dst, n)


def maxmin_pick(words: np.ndarray, n_pick: int, *, seed: int = 42) -> np.ndarray:
    """RDKit's ``MaxMinPicker.LazyBitVectorPick`` on packed fingerprints (row indices, in pick order)."""
    from rdkit import DataStructs
    from rdkit.SimDivFilters.rdSimDivPickers import MaxMinPicker

    raw = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    fps = [DataStructs.CreateFromFPSText(raw[r].tobytes().hex()) for r in range(raw.shape[0])]
    picks = MaxMinPicker().LazyBitVectorPick(fps, len(fps), n_pick, seed=seed)
    return np.asarray(list(picks), dtype=np.int64)


def cluster_library(
    lake: Lake,
    library: str,
    *,
    threshold: float = 0.6,
    pick: int | None = None,
    seed: int = 42,
    out: str | os.PathLike[str] | None = None,
    block: int = 8192,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Butina clusters (and optionally a MaxMin pick) of a library's fingerprints.

    Parameters
    ----------
    lake
        The lake holding the library.
    library
        The molecule table made by ``ingest_molecules`` (``NAME`` or ``lake:NAME``).
    threshold
        Tanimoto similarity for two molecules to be neighbours (distance ``1 - threshold``).
    pick
        Also pick this many diverse molecules with MaxMin (RDKit ``LazyBitVectorPick``).
    seed
        Seed of the MaxMin picker.
    out
        Also write the result to this file (``.parquet``, ``.csv``, ``.tsv``) and register it
        under the file's stem; without it the result is registered as ``LIBRARY_clusters``.
    block
        Fingerprints per block of the neighbour search (bounds memory; results do not depend on it).
    progress
        Where to report progress.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, row, cluster, centroid, cluster_size`` (+ ``pick``), in table order.
    """
    from biolake.discovery.similarity import _resolve_library

    check_param(
        "cluster_library",
        "threshold",
        threshold,
        isinstance(threshold, numbers.Real) and not isinstance(threshold, bool) and 0 < threshold <= 1,
        "a number in (0, 1]",
    )
    check_param(
        "cluster_library",
        "pick",
        pick,
        pick is None or (isinstance(pick, numbers.Integral) and not isinstance(pick, bool) and pick >= 1),
        "a positive integer or None",
    )
    check_param("cluster_library", "block", block, isinstance(block, int) and block >= 1, "a positive integer")
    table_name, fp_info = _resolve_library(lake, library)
    params = {"library": table_name, "threshold": float(threshold), "pick": pick, "seed": seed}
    params.update({"fp": fp_info.attrs.get("fp"), "out": None if out is None else str(out)})
    group = zarr.open_group(str(fp_info.path), mode="r")
    pops = np.asarray(group["popcount"][:], dtype=np.int32)
    rows = np.asarray(group["row"][:], dtype=np.int64)
    n = int(pops.shape[0])
    check_param("cluster_library", "pick", pick, pick is None or pick <= n, f"at most the library size ({n})")
    with lake.run("discovery cluster", params=params, inputs=[f"lake:{table_name}"]) as run:
        i, j = neighbour_pairs(group["fp"], pops, threshold=float(threshold), block=block, progress=progress)
        cluster, centroid = butina(n, rows[i], rows[j])
        sizes = np.bincount(cluster, minlength=int(cluster.max()) + 1 if n else 0)
        ids = lake.to_pandas(table_name, columns=["id"])["id"].astype(str).tolist() if n else []
        cols: dict[str, Any] = {
            "id": pa.array(ids, type=pa.string()),
            "row": pa.array(np.arange(n, dtype=np.int64)),
            "cluster": pa.array(cluster),
            "centroid": pa.array(centroid),
            "cluster_size": pa.array(sizes[cluster] if n else np.zeros(0, np.int64)),
        }
        if pick is not None:
            words = np.empty((n, group["fp"].shape[1]), dtype=np.uint64)
            words[rows] = np.asarray(group["fp"][:])
            picks = maxmin_pick(words, int(pick), seed=seed)
            order = np.full(n, -1, np.int64)
            order[picks] = np.arange(1, picks.size + 1)
            cols["pick"] = pa.array(order, mask=order < 0)
        result = pa.table(cols)
        if out is not None:
            run.result(result, out)
        else:
            stage = run.table(f"{table_name}_clusters", attrs={"role": "result", "library": table_name})
            stage.write(result)
    return result.to_pandas()
