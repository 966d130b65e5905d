"""Unique-report counts of every drug–event pair from a Parquet long table, on integer codes, compiled.

The fast path of :func:`biolake.precision.signals.counts.count_pairs` for the common case: an
unstratified long table (``id``, ``var1``, ``var2``) in Parquet files with integer report ids
and text names, and no missing values. It gives the same table (``drug``, ``event``, ``n``,
``n_drug``, ``n_event``, ``n_total``, ``expected``; pairs sorted by drug then event name)
without DuckDB's hash aggregates over strings:

1. **Read** the three columns batch by batch, names as Arrow dictionaries; each batch's
   dictionary is mapped once to global codes (order of first appearance), report ids are
   offset by the smallest id (a dense range: a counting sort needs one slot per id in it).
2. **Group by report** with a counting sort on the report id, re-coding names to their rank
   in name order (the byte order DuckDB's ``ORDER BY name`` uses) and packing
   ``drug·E + event`` in one int64 key.
3. **Per report** (both threads, blocks of reports), sort the report's few keys, drop repeats
   (repeated rows count once) and count the report's distinct drugs and events into
   ``n_drug``/``n_event``; ``n_total`` is the number of reports with a row.
4. **Per drug**: a counting sort of the unique (report, drug, event) triples by drug, then
   the events of each drug sorted; run lengths are ``n``, in (drug, event) order.

Everything is O(rows) passes over flat integer arrays plus sorts of one report's or one
drug's events. Inputs outside that case (strata, text ids, a sparse id range, missing values,
CSV files) return ``None`` and the caller counts with DuckDB, with the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit, prange

__all__ = ["count_pairs_parquet"]

_BATCH = 1 << 20


def _names_ok(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class _Dict:
    """Global codes of names in order of first appearance; each batch dictionary mapped once."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self._last: pa.Array | None = None
        self._last_map: np.ndarray | None = None

    def map(self, arr: pa.Array) -> np.ndarray:
        if not pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_encode()
        dictionary = arr.dictionary
        if self._last is not None and (dictionary is self._last or dictionary.equals(self._last)):
            mapping = self._last_map
        else:
            codes = self.codes
            mapping = np.empty(len(dictionary), dtype=np.int32)
            for i, name in enumerate(dictionary.to_pylist()):
                code = codes.get(name)
                if code is None:
                    code = codes[name] = len(codes)
                mapping[i] = code
            self._last, self._last_map = dictionary, mapping
        idx = arr.indices.to_numpy(zero_copy_only=False)
        return mapping[idx]

    def ranks(self) -> tuple[np.ndarray, pa.Array]:
        """Rank of each code in name order, and the names in that order."""
        names = list(self.codes)
        order = sorted(range(len(names)), key=lambda i: names[i].encode("utf-8"))
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(names))
        return rank, pa.array([names[i] for i in order], type=pa.string())


@njit(nogil=True, cache=True)
def _group_by_report(rep, drug, event, rank_d, rank_e, n_events, n_rep):  # pragma: no cover - compiled
    start = np.zeros(n_rep + 1, dtype=np.int64)
    for i in range(len(rep)):
        start[rep[i] + 1] += 1
    for r in range(n_rep):
        start[r + 1] += start[r]
    pos = start[:-1].copy()
    keys = np.empty(len(rep), dtype=np.int64)
    for i in range(len(rep)):
        r = rep[i]
        keys[pos[r]] = rank_d[drug[i]] * n_events + rank_e[event[i]]
        pos[r] += 1
    return start, keys


@njit(nogil=True, parallel=True, cache=True)
def _per_report(start, keys, n_events, n_drugs, blocks):  # pragma: no cover - compiled
    n_rep = len(start) - 1
    ucount = np.zeros(n_rep, dtype=np.int64)
    nd = np.zeros((blocks, n_drugs), dtype=np.int64)
    ne = np.zeros((blocks, n_events), dtype=np.int64)
    step = (n_rep + blocks - 1) // blocks
    for b in prange(blocks):
        ev = np.empty(64, dtype=np.int64)
        for r in range(b * step, min(n_rep, (b + 1) * step)):
            lo, hi = start[r], start[r + 1]
            if hi == lo:
                continue
            seg = keys[lo:hi]
            seg.sort()
            m = 1
            for j in range(1, hi - lo):
                if seg[j] != seg[m - 1]:
                    seg[m] = seg[j]
                    m += 1
            ucount[r] = m
            if m > len(ev):
                ev = np.empty(2 * m, dtype=np.int64)
            last = -1
            for j in range(m):
                d = seg[j] // n_events
                ev[j] = seg[j] - d * n_events
                if d != last:
                    nd[b, d] += 1
                    last = d
            evs = ev[:m]
            evs.sort()
            last = -1
            for j in range(m):
                if evs[j] != last:
                    ne[b, evs[j]] += 1
                    last = evs[j]
    return ucount, nd.sum(axis=0), ne.sum(axis=0)


@njit(nogil=True, cache=True)
def _bucket_by_drug(start, keys, ucount, n_events, n_drugs):  # pragma: no cover - compiled
    n_rep = len(start) - 1
    bstart = np.zeros(n_drugs + 1, dtype=np.int64)
    for r in range(n_rep):
        lo = start[r]
        for j in range(lo, lo + ucount[r]):
            bstart[keys[j] // n_events + 1] += 1
    for d in range(n_drugs):
        bstart[d + 1] += bstart[d]
    pos = bstart[:-1].copy()
    ev = np.empty(bstart[-1], dtype=np.int32)
    for r in range(n_rep):
        lo = start[r]
        for j in range(lo, lo + ucount[r]):
            d = keys[j] // n_events
            ev[pos[d]] = keys[j] - d * n_events
            pos[d] += 1
    return bstart, ev


@njit(nogil=True, parallel=True, cache=True)
def _pairs_per_drug(bstart, ev):  # pragma: no cover - compiled
    n_drugs = len(bstart) - 1
    distinct = np.zeros(n_drugs, dtype=np.int64)
    for d in prange(n_drugs):
        lo, hi = bstart[d], bstart[d + 1]
        if hi == lo:
            continue
        seg = ev[lo:hi]
        seg.sort()
        m = 1
        for j in range(lo + 1, hi):
            if ev[j] != ev[j - 1]:
                m += 1
        distinct[d] = m
    out_start = np.zeros(n_drugs + 1, dtype=np.int64)
    for d in range(n_drugs):
        out_start[d + 1] = out_start[d] + distinct[d]
    total = out_start[-1]
    p_drug = np.empty(total, dtype=np.int32)
    p_event = np.empty(total, dtype=np.int32)
    p_n = np.empty(total, dtype=np.int64)
    for d in prange(n_drugs):
        lo, hi = bstart[d], bstart[d + 1]
        k = out_start[d] - 1
        for j in range(lo, hi):
            if j == lo or ev[j] != ev[j - 1]:
                k += 1
                p_drug[k] = d
                p_event[k] = ev[j]
                p_n[k] = 0
            p_n[k] += 1
    return p_drug, p_event, p_n


def _parquet_files(source: str | Path | Sequence[str | Path]) -> list[Path] | None:
    if isinstance(source, (str, Path)):
        p = Path(source)
        files = sorted(p.glob("*.parquet")) if p.is_dir() else [p]
    else:
        files = [Path(s) for s in source]
    return files if files and all(f.is_file() for f in files) else None


def count_pairs_parquet(
    source: str | Path | Sequence[str | Path],
    *,
    threads: int = 2,
    max_id_range: int | None = None,
    ignore_strata: bool = False,
) -> tuple[pa.Table, int] | None:
    """Counts of every pair of an unstratified Parquet long table (see the module), or ``None``.

    Parameters
    ----------
    source
        A Parquet file, a folder of ``*.parquet`` parts or a list of files.
    threads
        Threads of the compiled passes.
    ignore_strata
        Count unstratified even when the table has ``strat*`` columns (else return ``None``).
    max_id_range
        Largest ``max(id) − min(id) + 1`` accepted (default ``max(4·rows, 2^20)``): the
        counting sort holds one slot per id in that range.

    Returns
    -------
    tuple or None
        The counts table (as :func:`~biolake.precision.signals.counts.count_pairs` gives) and
        the number of distinct (report, drug, event) rows; ``None`` when the input is not
        such a table (then count with DuckDB).
    """
    files = _parquet_files(source)
    if files is None:
        return None
    metas = [pq.ParquetFile(f) for f in files]
    rows = 0
    for pf in metas:
        schema = pf.schema_arrow
        names = schema.names
        if not {"id", "var1", "var2"} <= set(names) or (not ignore_strata and any("strat" in c for c in names)):
            return None
        if not pa.types.is_integer(schema.field("id").type) or schema.field("id").type == pa.uint64():
            return None
        if not (_names_ok(schema.field("var1").type) and _names_ok(schema.field("var2").type)):
            return None
        if metas[0].schema_arrow.field("id").type != schema.field("id").type:
            return None
        rows += pf.metadata.num_rows
    if rows == 0:
        return None
    rep = np.empty(rows, dtype=np.int64)
    drug = np.empty(rows, dtype=np.int32)
    event = np.empty(rows, dtype=np.int32)
    dd, de = _Dict(), _Dict()
    at = 0
    for f in files:
        pf = pq.ParquetFile(f, read_dictionary=["var1", "var2"])
        for batch in pf.iter_batches(batch_size=_BATCH, columns=["id", "var1", "var2"]):
            if any(batch.column(i).null_count for i in range(3)):
                return None  # missing values: DuckDB's path names the record
            k = batch.num_rows
            rep[at : at + k] = batch.column(0).to_numpy()
            drug[at : at + k] = dd.map(batch.column(1))
            event[at : at + k] = de.map(batch.column(2))
            at += k
    lo, hi = int(rep.min()), int(rep.max())
    limit = max(4 * rows, 1 << 20) if max_id_range is None else max_id_range
    if hi - lo + 1 > limit:
        return None
    rep -= lo
    rank_d, drug_names = dd.ranks()
    rank_e, event_names = de.ranks()
    n_drugs, n_events = len(drug_names), len(event_names)
    if n_drugs * n_events >= 2**62:
        return None
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        start, keys = _group_by_report(rep, drug, event, rank_d, rank_e, n_events, hi - lo + 1)
        del rep, drug, event
        blocks = max(1, min(64, 8 * int(threads)))
        ucount, n_drug, n_event = _per_report(start, keys, n_events, n_drugs, blocks)
        distinct_rows = int(ucount.sum())
        n_total = int(np.count_nonzero(ucount))
        bstart, ev = _bucket_by_drug(start, keys, ucount, n_events, n_drugs)
        del keys, start
        p_drug, p_event, p_n = _pairs_per_drug(bstart, ev)
        del ev
    finally:
        numba.set_num_threads(before)
    nd = n_drug[p_drug]
    ne = n_event[p_event]
    expected = nd.astype(np.float64) / n_total * ne.astype(np.float64)
    table = pa.table(
        {
            "drug": pa.DictionaryArray.from_arrays(pa.array(p_drug), drug_names).cast(pa.string()),
            "event": pa.DictionaryArray.from_arrays(pa.array(p_event), event_names).cast(pa.string()),
            "n": pa.array(p_n),
            "n_drug": pa.array(nd),
            "n_event": pa.array(ne),
            "n_total": pa.array(np.full(len(p_n), n_total, dtype=np.int64)),
            "expected": pa.array(expected),
        }
    )
    return table, distinct_rows
