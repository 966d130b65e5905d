"""Matching score weights to the variants of a lake genotype dataset.

Each weights row is located by contig + position (when the file gives them) or by
variant ID (rsID-only files, plain tables; an unknown ``CHR:POS[:A:B]`` ID falls back
to its position), then its alleles are compared with the dataset's REF/ALT:

=================  ==========================================================================
reason             meaning (``used`` is true for the first four)
=================  ==========================================================================
``match``          effect allele = ALT (and other allele = REF when given): dosage = ALT count
``flip``           effect allele = REF: dosage = 2 − ALT count
``strand``         alleles on the opposite strand (complemented SNV), effect allele = ALT
``strand+flip``    opposite strand and effect allele = REF
``ambiguous``      A/T or C/G SNV (strand cannot be told): dropped unless ``keep_ambiguous``
                   (then only ``match``/``flip`` are tried)
``multi-allelic``  more than one dataset record at the position (or with the ID)
``missing``        no dataset record at the position / with the ID
``allele mismatch``  a record is there, but its alleles are not the weights' alleles
``duplicate``      the record is already used by an earlier weights row
=================  ==========================================================================

Examples
--------
>>> m = match_weights(read_weights("PGS000001.txt"), store)            # doctest: +SKIP
>>> m.n_used, m.rate                                                    # doctest: +SKIP
(75, 0.974)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from biolake.genomics.store import GenotypeStore
from biolake.precision.prs.weights import Weights, position_ids

__all__ = ["USED_REASONS", "Match", "match_weights", "release_memory"]

USED_REASONS = ("match", "flip", "strand", "strand+flip")
_PIECE = 1 << 15


@dataclass
class Match:
    """The outcome of :func:`match_weights`.

    ``variant``/``reason``/``ref``/``alt``/``variant_id`` are per weights row (``variant``
    -1 when unmatched; ``ref``/``alt``/``variant_id`` only when :func:`match_weights` was
    asked for ``variant_ids``, else empty); ``used_*`` are the used rows sorted by dataset
    variant index.
    """

    variant: np.ndarray
    reason: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    variant_id: np.ndarray
    used_rows: np.ndarray
    used_variant: np.ndarray
    used_swap: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.variant)

    @property
    def n_used(self) -> int:
        return len(self.used_rows)

    @property
    def rate(self) -> float:
        """Fraction of weights rows used."""
        return self.n_used / self.n_rows if self.n_rows else 0.0

    def counts(self) -> dict[str, int]:
        """Rows per reason."""
        import pandas as pd

        counts = pd.Series(self.reason, dtype=object).value_counts()
        return {str(k): int(v) for k, v in sorted(counts.items())}


def _norm(name: str) -> str:
    s = str(name)
    return s[3:] if s.lower().startswith("chr") else s


def _locate_by_position(
    store: GenotypeStore, group: object, chrom: np.ndarray, pos: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For ``rows``: the first dataset index at (contig, position) and how many records are there."""
    contig_code = {}
    for i, c in enumerate(store.contigs):
        contig_code.setdefault(_norm(c), i)
    lake_key = (np.asarray(group["variant_contig"][:], dtype=np.int64) << 32) | np.asarray(
        group["variant_position"][:], dtype=np.int64
    )
    order = None
    if lake_key.size > 1 and (np.diff(lake_key) < 0).any():
        order = np.argsort(lake_key, kind="stable")
        lake_key = lake_key[order]
    codes = np.array([contig_code.get(str(c), -1) if c is not None else -1 for c in chrom[rows]], dtype=np.int64)
    key = (codes << 32) | pos[rows]
    lo = np.searchsorted(lake_key, key, side="left")
    hi = np.searchsorted(lake_key, key, side="right")
    count = np.where(codes >= 0, hi - lo, 0)
    first = np.where(count > 0, lo, -1)
    if order is not None:
        first = np.where(count > 0, order[np.minimum(lo, len(order) - 1)], -1)
    return first, count


def _locate_by_id(group: object, ids: pa.Array, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The first dataset index with each ID and the number of records with it.

    Streamed over the dataset's IDs one chunk at a time; each chunk is the (small) hash
    set that the weights IDs are looked up in (Arrow ``index_in``), so memory is bounded
    by the chunk and no Python object is made per weights row.
    """
    n = len(ids)
    first = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    arr = group["variant_id"]
    pool = pa.system_memory_pool()  # freed buffers go back to the OS (mimalloc keeps them)
    for start in range(0, arr.shape[0], chunk):
        block = pa.array(np.asarray(arr[start : start + chunk], dtype=object), type=pa.string(), memory_pool=pool)
        own = pc.index_in(block, value_set=block, memory_pool=pool).to_numpy(zero_copy_only=False)
        occurrences = np.bincount(own, minlength=len(block))
        found = pc.index_in(ids, value_set=block, memory_pool=pool)
        hit = pc.coalesce(found, pa.scalar(-1, found.type), memory_pool=pool).to_numpy(zero_copy_only=False)
        del found
        del block
        rows = np.flatnonzero(hit >= 0)
        if rows.size:
            count[rows] += occurrences[hit[rows]]
            fresh = rows[first[rows] < 0]
            first[fresh] = start + hit[fresh]
    return first, count


def match_weights(
    weights: Weights, store: GenotypeStore, *, keep_ambiguous: bool = False, variant_ids: bool = False
) -> Match:
    """Match every weights row to at most one variant of ``store`` (see the module docstring).

    ``variant_ids``: also keep the dataset IDs and alleles of the matched variants (for the match log).
    """
    from biolake.genomics.store import _open_group

    group = _open_group(store.path)
    n = len(weights)
    first = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    ea = weights.effect_allele
    oa = weights.other_allele  # copied before the first change
    by_pos = np.flatnonzero(weights.pos >= 0)
    if by_pos.size:
        f, c = _locate_by_position(store, group, weights.chrom, weights.pos, by_pos)
        first[by_pos], count[by_pos] = f, c
    by_id = np.flatnonzero(weights.pos < 0)
    if by_id.size:
        ids = weights.id if by_id.size == n else weights.id.take(pa.array(by_id))
        f, c = _locate_by_id(group, ids, max(store.variant_chunk, 1 << 16))
        del ids
        if by_id.size == n:  # every row located by ID: no copies
            first, count = f, c
        else:
            first[by_id], count[by_id] = f, c
        del f
        release_memory()
        # unknown IDs of the form CHR:POS[:A:B] are located by position
        lost = by_id[c == 0]
        if lost.size:
            chrom, pos, a, b = position_ids(weights.id.take(pa.array(lost)))
            ok = pos >= 0
            if ok.any():
                rows = lost[ok]
                tmp_chrom = np.full(n, None, dtype=object)
                tmp_pos = np.full(n, -1, dtype=np.int64)
                tmp_chrom[rows], tmp_pos[rows] = chrom[ok], pos[ok]
                f2, c2 = _locate_by_position(store, group, tmp_chrom, tmp_pos, rows)
                first[rows], count[rows] = f2, c2
                oa = oa.copy()
                for r, x, y in zip(rows.tolist(), a[ok].tolist(), b[ok].tolist(), strict=True):
                    if x is not None and oa[r] is None:
                        oa[r] = y if ea[r] == x else (x if ea[r] == y else None)
    reason = np.empty(n, dtype=object)
    reason.fill("missing")  # one shared object (np.full would make a string object per row)
    reason[count > 1] = "multi-allelic"
    single = np.flatnonzero(count == 1)
    keep = n if variant_ids else 0  # the dataset's alleles and IDs per row: only for the match log
    ref = np.full(keep, None, dtype=object)
    alt = np.full(keep, None, dtype=object)
    vid = np.full(keep, None, dtype=object)
    usable = np.zeros(n, dtype=bool)
    if single.size:
        # in pieces of _PIECE rows (in dataset order): bounded temporary memory
        order = single[np.argsort(first[single], kind="stable")]
        for lo in range(0, order.size, _PIECE):
            rows = order[lo : lo + _PIECE]
            where = first[rows]
            alleles = np.asarray(group["variant_allele"].get_orthogonal_selection((where, slice(None))), dtype=object)
            r_ref = _shared(alleles[:, 0])
            r_alt = _shared(alleles[:, 1]) if alleles.shape[1] > 1 else np.full(rows.size, ".", dtype=object)
            del alleles
            if variant_ids:
                ref[rows], alt[rows] = r_ref, r_alt
                vid[rows] = np.asarray(group["variant_id"].get_orthogonal_selection(where), dtype=object)
            r_reason = _reasons(ea[rows], oa[rows], r_ref, r_alt, keep_ambiguous)
            reason[rows] = r_reason
            usable[rows] = _isin(r_reason, USED_REASONS)
    variant = np.where(usable, first, -1)
    del first, count
    # a dataset variant scored once: later rows matching it are duplicates
    used = np.flatnonzero(variant >= 0)
    order = np.argsort(variant[used], kind="stable")  # file order kept among equal variants
    used = used[order]
    dup = np.zeros(used.size, dtype=bool)
    dup[1:] = variant[used][1:] == variant[used][:-1]
    if dup.any():
        reason[used[dup]] = "duplicate"
        variant[used[dup]] = -1
        used = used[~dup]
    swap = _isin(reason[used], ("flip", "strand+flip"))
    return Match(
        variant=variant,
        reason=reason,
        ref=ref,
        alt=alt,
        variant_id=vid,
        used_rows=used,
        used_variant=variant[used],
        used_swap=swap,
    )


def release_memory() -> None:
    """Give freed heap memory back to the OS between the phases of a job.

    glibc keeps freed blocks of the main heap and Arrow's default (mimalloc) pool keeps
    its pages, so without this a later phase's allocations (e.g. on worker threads, which
    have heaps of their own) sit on top of what an earlier phase once needed.
    """
    import contextlib
    import ctypes
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # glibc only


def _shared(values: np.ndarray) -> np.ndarray:
    """The same values sharing one Python object per distinct value (a million short allele strings
    read from the store would otherwise be a million objects: about 50 bytes each)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes]


def _isin(values: np.ndarray, choices: tuple[str, ...]) -> np.ndarray:
    """Hash-based membership of an object array (numpy's isin sorts objects)."""
    import pandas as pd

    return pd.Series(values, dtype=object).isin(choices).to_numpy(dtype=bool)


_BASE_CODE = {"A": 0, "C": 1, "G": 2, "T": 3}  # complement = 3 - code


def _reasons(ea: np.ndarray, oa: np.ndarray, ref: np.ndarray, alt: np.ndarray, keep_ambiguous: bool) -> np.ndarray:
    """The reason of each weights row against its one dataset record (vectorized on integer allele codes)."""
    import pandas as pd

    n = len(ea)
    joint = np.concatenate([ea, oa, ref, alt])
    codes, uniques = pd.factorize(joint, use_na_sentinel=True)  # -1 for None
    uniq = np.asarray(uniques, dtype=object)
    if uniq.size:  # dataset alleles compared case-insensitively
        canon = {u: str(u).upper() for u in uniq}
        codes2, uniq2 = pd.factorize(np.array([canon[u] for u in uniq], dtype=object))
        codes = np.where(codes >= 0, codes2[np.maximum(codes, 0)], -1)
        uniq = np.asarray(uniq2, dtype=object)
    e, o, r, a = codes[:n], codes[n : 2 * n], codes[2 * n : 3 * n], codes[3 * n :]
    base = np.array([_BASE_CODE.get(u, -1) for u in uniq] + [-1], dtype=np.int64)  # index -1 → -1
    be, bo, br, ba = base[e], base[o], base[r], base[a]
    no_other = o < 0
    snv = (br >= 0) & (ba >= 0)
    amb = snv & (br + ba == 3)
    exact = (e >= 0) & (e == a) & (no_other | (o == r))
    flip = (e >= 0) & (e == r) & (no_other | (o == a))
    strandable = snv & ~amb & (be >= 0) & (no_other | (bo >= 0))
    strand = strandable & (3 - be == ba) & (no_other | (3 - bo == br))
    strand_flip = strandable & (3 - be == br) & (no_other | (3 - bo == ba))
    conditions = [e < 0, amb & (not keep_ambiguous), exact, flip, strand, strand_flip]
    names = np.array(["allele mismatch", "ambiguous", "match", "flip", "strand", "strand+flip"], dtype=object)
    return names[np.select(conditions, np.arange(len(names)), 0)]  # one shared object per reason
