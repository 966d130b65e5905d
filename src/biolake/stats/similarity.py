"""Bit-vector similarity kernels: Tanimoto, Dice and Tversky on packed fingerprints.

Fingerprints are packed little-endian into ``uint64`` words: bit ``i`` of a vector is
bit ``i % 64`` of word ``i // 64`` (rows of a 2-D ``uint64`` array). Scores are computed
in ``float64`` with the formulas and the operation order of RDKit's
``DataStructs.BulkTanimotoSimilarity`` / ``BulkDiceSimilarity`` /
``BulkTverskySimilarity`` (``x`` bits in common, ``y`` bits of the query, ``z`` bits of
the library vector), so the scores are *identical* to RDKit's, not just close:

* Tanimoto ``x / (y + z - x)``; Dice ``2 x / (y + z)``;
  Tversky ``x / (α y + β z + (1 - α - β) x)``; 0 when the denominator is 0.

Searches prune with the Swamidass–Baldi bound: a library vector with ``z`` bits can
share at most ``min(y, z)`` bits with the query, so its score is at most
``score(min(y, z), y, z)``; with the library sorted by popcount, the rows that can
reach a threshold form one contiguous range (found by binary search), and a top-k
search narrows each query's popcount band to the rows whose bound reaches its k-th best
score so far. Within the band, a row is scored only if it shares at least the fewest
bits ``x`` that can reach the score for its popcount (a table per query and popcount,
found by bisection on the exact score, with a slack of 1e-9), so most rows cost a
popcount and an integer comparison, and every kept score is tested exactly.

Rows are scored in tiles of 64 (16 KiB at 2048 bits, in L1 cache) with every query
before the next tile, so the library is read from memory once per batch of queries.
From 4 queries on, a tile is first transposed (word-major) and each query sweeps it
with the loop over rows innermost: LLVM vectorizes that loop across rows (8 rows per
AVX-512 register, no horizontal sums); with fewer queries rows are scored one by one
(a single query is bound by memory bandwidth anyway). The kernels are numba-compiled
with the GIL released (``nogil``) so threads run them in parallel; popcounts use the
SWAR bit trick that LLVM compiles to the hardware ``popcnt`` instruction (vectorized,
``vpopcntq``, where the CPU has it).

The kernels know nothing of files or of the lake (see ``biolake.discovery.similarity``
for the chunked job).

Examples
--------
>>> import numpy as np
>>> lib = np.array([[0b1011], [0b0011], [0b1000]], dtype=np.uint64)
>>> q = np.array([[0b0011]], dtype=np.uint64)
>>> bulk_scores(q, lib, metric="tanimoto").round(4).tolist()
[[0.6667, 1.0, 0.0]]
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "METRICS",
    "bulk_scores",
    "pack_bits",
    "popcounts",
    "threshold_search",
    "topk_search",
]

METRICS = {"tanimoto": 0, "dice": 1, "tversky": 2}
"""Metric name → code used by the kernels."""

_SLACK = 1e-9  # the pruning bound may be one rounding step off; never prune a true hit


@numba.njit(nogil=True, cache=True, inline="always")
def _popcount64(x: np.uint64) -> np.uint64:  # pragma: no cover  (compiled)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@numba.njit(nogil=True, cache=True, inline="always")
def _common(a: np.ndarray, i: int, b: np.ndarray, j: int) -> int:  # pragma: no cover
    c = np.uint64(0)
    for w in range(a.shape[1]):
        c += _popcount64(a[i, w] & b[j, w])
    return np.int64(c)


@numba.njit(nogil=True, cache=True)
def _transpose_tile(lib, r0, m, tt):  # pragma: no cover
    """Copy library rows ``r0:r0+m`` word-major into ``tt`` (``(words, TILE)``)."""
    nw = lib.shape[1]
    for j in range(m):
        for w in range(nw):
            tt[w, j] = lib[r0 + j, w]


@numba.njit(nogil=True, cache=True)
def _tile_counts(q, i, tt, acc):  # pragma: no cover
    """``acc[j]`` = bits query ``i`` shares with row ``j`` of a transposed tile, for every ``j``.

    The loop over the tile's rows is innermost, so it vectorizes across rows (8 rows per
    AVX-512 register, no horizontal sums); 8 words are summed per pass over ``acc``.
    """
    nw, t = tt.shape
    for j in range(t):
        acc[j] = 0
    w = 0
    while w + 8 <= nw:
        q0, q1, q2, q3 = q[i, w], q[i, w + 1], q[i, w + 2], q[i, w + 3]
        q4, q5, q6, q7 = q[i, w + 4], q[i, w + 5], q[i, w + 6], q[i, w + 7]
        t0, t1, t2, t3 = tt[w], tt[w + 1], tt[w + 2], tt[w + 3]
        t4, t5, t6, t7 = tt[w + 4], tt[w + 5], tt[w + 6], tt[w + 7]
        for j in range(t):
            c0 = _popcount64(q0 & t0[j]) + _popcount64(q1 & t1[j])
            c1 = _popcount64(q2 & t2[j]) + _popcount64(q3 & t3[j])
            c2 = _popcount64(q4 & t4[j]) + _popcount64(q5 & t5[j])
            c3 = _popcount64(q6 & t6[j]) + _popcount64(q7 & t7[j])
            acc[j] += (c0 + c1) + (c2 + c3)
        w += 8
    while w < nw:
        q0 = q[i, w]
        t0 = tt[w]
        for j in range(t):
            acc[j] += _popcount64(q0 & t0[j])
        w += 1


@numba.njit(nogil=True, cache=True)
def _counts(q, i, lib, r0, a, b, tt, acc, batched):  # pragma: no cover
    """Bits query ``i`` shares with rows ``a:b`` of the tile starting at ``r0``, into ``acc[r - r0]``."""
    if batched:
        _tile_counts(q, i, tt, acc)
    else:
        for r in range(a, b):
            acc[r - r0] = np.uint64(_common(q, i, lib, r))


@numba.njit(nogil=True, cache=True, inline="always")
def _score(x: float, y: float, z: float, metric: int, alpha: float, beta: float) -> float:  # pragma: no cover
    if metric == 0:
        d = y + z - x
        return 0.0 if d == 0.0 else x / d
    if metric == 1:
        s = y + z
        return 0.0 if s == 0.0 else 2.0 * x / s
    d = alpha * y + beta * z + (1.0 - alpha - beta) * x
    return 0.0 if d == 0.0 else x / d


@numba.njit(nogil=True, cache=True, inline="always")
def _bound(y: float, z: float, metric: int, alpha: float, beta: float) -> float:  # pragma: no cover
    return _score(min(y, z), y, z, metric, alpha, beta)


@numba.njit(nogil=True, cache=True)
def _min_common(y, z, f, metric, alpha, beta, slack):  # pragma: no cover
    """Fewest common bits ``x`` with ``score(x, y, z) >= f - slack`` (``min(y, z) + 1`` if none).

    For fixed ``y`` and ``z`` every metric grows with ``x`` (up to one rounding step, which
    ``slack`` absorbs), so rows sharing fewer bits cannot reach ``f`` and are skipped
    without computing their score; the rows kept are then tested exactly.
    """
    top = min(y, z)
    if f - slack <= 0.0:
        return 0
    lo, hi = 0, top + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _score(float(mid), float(y), float(z), metric, alpha, beta) >= f - slack:
            hi = mid
        else:
            lo = mid + 1
    return lo


@numba.njit(nogil=True, cache=True)
def _fill_min_common(table, y, z0, z1, f, metric, alpha, beta, slack):  # pragma: no cover
    for z in range(z0, z1 + 1):
        table[z] = _min_common(y, z, f, metric, alpha, beta, slack)


_TILE = 64  # library rows per tile: 16 KiB at 2048 bits, stays in L1 for all queries
_BATCH = 4  # from this many queries a tile is transposed once and swept by all of them


@numba.njit(nogil=True, cache=True)
def _popcounts(fps: np.ndarray) -> np.ndarray:  # pragma: no cover
    out = np.empty(fps.shape[0], np.int32)
    for i in range(fps.shape[0]):
        c = np.uint64(0)
        for w in range(fps.shape[1]):
            c += _popcount64(fps[i, w])
        out[i] = np.int32(c)
    return out


def popcounts(fps: np.ndarray) -> np.ndarray:
    """Number of set bits of each packed fingerprint.

    Parameters
    ----------
    fps
        ``(n, words)`` array of ``uint64``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` ``int32``.

    Examples
    --------
    >>> popcounts(np.array([[3, 1], [0, 0]], dtype=np.uint64)).tolist()
    [3, 0]
    """
    return _popcounts(_as_words(fps))


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack 0/1 vectors (``(n, n_bits)``) into ``(n, ceil(n_bits / 64))`` ``uint64`` words.

    Bit ``i`` goes to bit ``i % 64`` of word ``i // 64``; the last word is zero-padded.

    Examples
    --------
    >>> pack_bits(np.array([[1, 0, 1]], dtype=np.uint8)).tolist()
    [[5]]
    """
    bits = np.asarray(bits, dtype=np.uint8)
    if bits.ndim == 1:
        bits = bits[None, :]
    n, n_bits = bits.shape
    n_words = max(1, -(-n_bits // 64))
    padded = np.zeros((n, n_words * 64), dtype=np.uint8)
    padded[:, :n_bits] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False).reshape(n, n_words)


def _as_words(fps: np.ndarray) -> np.ndarray:
    fps = np.asarray(fps)
    if fps.ndim == 1:
        fps = fps[None, :]
    if fps.dtype != np.uint64 or fps.ndim != 2:
        raise ValueError(f"fingerprints must be a 2-D uint64 array; got {fps.dtype} with shape {fps.shape}")
    return np.ascontiguousarray(fps)


def _metric_code(metric: str, alpha: float, beta: float) -> int:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}; got {metric!r}")
    if metric == "tversky" and not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0):
        raise ValueError(f"Tversky alpha and beta must be in [0, 1]; got {alpha}, {beta}")
    return METRICS[metric]


# --------------------------------------------------------------------------- full scores
@numba.njit(nogil=True, cache=True)
def _bulk(q, qpop, lib, lpop, metric, alpha, beta):  # pragma: no cover
    nq = q.shape[0]
    n = lib.shape[0]
    out = np.empty((nq, n), np.float64)
    batched = nq >= _BATCH
    tt = np.empty((lib.shape[1], _TILE), np.uint64)
    acc = np.empty(_TILE, np.uint64)
    zf = np.empty(_TILE, np.float64)
    for r0 in range(0, n, _TILE):
        r1 = min(n, r0 + _TILE)
        m = r1 - r0
        for j in range(m):
            zf[j] = float(lpop[r0 + j])
        if batched:
            _transpose_tile(lib, r0, m, tt)
        for i in range(nq):
            y = float(qpop[i])
            if batched:
                _tile_counts(q, i, tt, acc)
                for j in range(m):
                    out[i, r0 + j] = _score(float(np.int64(acc[j])), y, zf[j], metric, alpha, beta)
            else:
                for j in range(m):
                    out[i, r0 + j] = _score(float(_common(q, i, lib, r0 + j)), y, zf[j], metric, alpha, beta)
    return out


def bulk_scores(
    queries: np.ndarray,
    library: np.ndarray,
    *,
    metric: str = "tanimoto",
    alpha: float = 0.5,
    beta: float = 0.5,
    library_popcounts: np.ndarray | None = None,
) -> np.ndarray:
    """Every query against every library vector: the ``(n_queries, n_library)`` score matrix.

    The same numbers as RDKit's ``Bulk*Similarity(query, library)`` for each query
    (the query is RDKit's first argument, so Tversky's ``alpha`` weighs the query's own bits).

    Parameters
    ----------
    queries, library
        Packed fingerprints, ``(n, words)`` ``uint64`` with the same number of words.
    metric
        ``"tanimoto"``, ``"dice"`` or ``"tversky"``.
    alpha, beta
        Tversky weights, each in [0, 1].
    library_popcounts
        Precomputed popcounts of ``library`` (computed if None).

    Returns
    -------
    numpy.ndarray
        ``float64`` scores.
    """
    q = _as_words(queries)
    lib = _as_words(library)
    if q.shape[1] != lib.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} words, the library {lib.shape[1]}")
    code = _metric_code(metric, alpha, beta)
    lpop = popcounts(lib) if library_popcounts is None else np.asarray(library_popcounts, dtype=np.int32)
    return _bulk(q, popcounts(q), lib, lpop, code, float(alpha), float(beta))


# --------------------------------------------------------------------------- threshold
@numba.njit(nogil=True, cache=True)
def _pop_range(y, lpop, t, metric, alpha, beta, slack):  # pragma: no cover
    """First and last+1 row of a popcount-sorted library whose bound can reach t."""
    n = lpop.shape[0]
    # rows below the query's popcount: the bound grows with z up to y
    lo = np.searchsorted(lpop, np.int32(y))
    hi = lo
    while lo > 0 and _bound(y, float(lpop[lo - 1]), metric, alpha, beta) >= t - slack:
        # jump over equal popcounts at once
        z = lpop[lo - 1]
        lo = np.searchsorted(lpop, z)
    while hi < n and _bound(y, float(lpop[hi]), metric, alpha, beta) >= t - slack:
        z = lpop[hi]
        hi = np.searchsorted(lpop, z, side="right")
    return lo, hi


@numba.njit(nogil=True, cache=True)
def _grow(oq, orow, osc, m):  # pragma: no cover
    cap = 2 * oq.shape[0]
    oq2 = np.empty(cap, np.int64)
    orow2 = np.empty(cap, np.int64)
    osc2 = np.empty(cap, np.float64)
    oq2[:m] = oq[:m]
    orow2[:m] = orow[:m]
    osc2[:m] = osc[:m]
    return oq2, orow2, osc2


@numba.njit(nogil=True, cache=True)
def _threshold(q, qpop, lib, lpop, t, metric, alpha, beta, slack):  # pragma: no cover
    nq = q.shape[0]
    n = lib.shape[0]
    nbits = lib.shape[1] * 64
    starts = np.empty(nq, np.int64)
    stops = np.empty(nq, np.int64)
    # xmin[i, z]: fewest common bits that can reach t for query i and a row of popcount z
    xmin = np.zeros((nq, nbits + 1), np.int64)
    for i in range(nq):
        lo, hi = _pop_range(float(qpop[i]), lpop, t, metric, alpha, beta, slack)
        starts[i] = lo
        stops[i] = hi
        if hi > lo:
            _fill_min_common(xmin[i], qpop[i], lpop[lo], lpop[hi - 1], t, metric, alpha, beta, slack)
    oq = np.empty(1024, np.int64)
    orow = np.empty(1024, np.int64)
    osc = np.empty(1024, np.float64)
    m = 0
    batched = nq >= _BATCH
    tt = np.empty((lib.shape[1], _TILE), np.uint64)
    acc = np.empty(_TILE, np.uint64)
    for r0 in range(0, n, _TILE):
        r1 = min(n, r0 + _TILE)
        transposed = False
        for i in range(nq):
            a = max(r0, starts[i])
            b = min(r1, stops[i])
            if a >= b:
                continue
            if batched and not transposed:
                _transpose_tile(lib, r0, r1 - r0, tt)
                transposed = True
            _counts(q, i, lib, r0, a, b, tt, acc, batched)
            y = float(qpop[i])
            xm = xmin[i]
            for r in range(a, b):
                x = np.int64(acc[r - r0])
                if x < xm[lpop[r]]:
                    continue
                s = _score(float(x), y, float(lpop[r]), metric, alpha, beta)
                if s >= t:
                    if m == oq.shape[0]:
                        oq, orow, osc = _grow(oq, orow, osc, m)
                    oq[m] = i
                    orow[m] = r
                    osc[m] = s
                    m += 1
    return oq[:m].copy(), orow[:m].copy(), osc[:m].copy()


def threshold_search(
    queries: np.ndarray,
    library: np.ndarray,
    library_popcounts: np.ndarray,
    *,
    threshold: float,
    metric: str = "tanimoto",
    alpha: float = 0.5,
    beta: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query, library row) pairs scoring at least ``threshold``.

    Parameters
    ----------
    queries, library
        Packed fingerprints (``uint64`` words); the library **sorted by popcount**
        (ascending), which the pruning relies on.
    library_popcounts
        Popcounts of the library rows (ascending).
    threshold
        Keep pairs with ``score >= threshold``.
    metric, alpha, beta
        As for :func:`bulk_scores`.

    Returns
    -------
    tuple of numpy.ndarray
        ``query`` index, library ``row`` index and ``score`` of each hit, in no
        particular order.
    """
    q = _as_words(queries)
    lib = _as_words(library)
    lpop = np.ascontiguousarray(library_popcounts, dtype=np.int32)
    if lpop.size > 1 and np.any(lpop[1:] < lpop[:-1]):
        raise ValueError("the library must be sorted by popcount")
    code = _metric_code(metric, alpha, beta)
    return _threshold(q, popcounts(q), lib, lpop, float(threshold), code, float(alpha), float(beta), _SLACK)


# --------------------------------------------------------------------------- top k
@numba.njit(nogil=True, cache=True, inline="always")
def _worse(s1, k1, s2, k2):  # pragma: no cover
    """Whether (s1, k1) ranks after (s2, k2): lower score, or equal score and larger key."""
    return s1 < s2 or (s1 == s2 and k1 > k2)


@numba.njit(nogil=True, cache=True)
def _sift_down(hs, hk, hr, size, pos):  # pragma: no cover
    # min-heap on rank: the root is the worst kept entry
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        worst = left
        right = left + 1
        if right < size and _worse(hs[right], hk[right], hs[left], hk[left]):
            worst = right
        if _worse(hs[worst], hk[worst], hs[pos], hk[pos]):
            hs[pos], hs[worst] = hs[worst], hs[pos]
            hk[pos], hk[worst] = hk[worst], hk[pos]
            hr[pos], hr[worst] = hr[worst], hr[pos]
            pos = worst
        else:
            return


@numba.njit(nogil=True, cache=True)
def _sift_up(hs, hk, hr, pos):  # pragma: no cover
    while pos > 0:
        parent = (pos - 1) // 2
        if _worse(hs[pos], hk[pos], hs[parent], hk[parent]):
            hs[pos], hs[parent] = hs[parent], hs[pos]
            hk[pos], hk[parent] = hk[parent], hk[pos]
            hr[pos], hr[parent] = hr[parent], hr[pos]
            pos = parent
        else:
            return


@numba.njit(nogil=True, cache=True)
def _topk(q, qpop, lib, lpop, keys, k, floor, metric, alpha, beta, slack):  # pragma: no cover
    nq = q.shape[0]
    n = lib.shape[0]
    nbits = lib.shape[1] * 64
    hs = np.full((nq, k), -1.0)
    hk = np.full((nq, k), -1, np.int64)
    hr = np.full((nq, k), -1, np.int64)
    sizes = np.zeros(nq, np.int64)
    lo = np.zeros(nq, np.int64)
    hi = np.full(nq, n, np.int64)
    # xmin[i, z]: fewest common bits that can reach the score a row must beat (the floor, then
    # the k-th best so far) as it was when xf[i, z] was set; refreshed for a tile's popcounts when
    # that score has risen since, so it may lag behind it (which never prunes a hit)
    xmin = np.zeros((nq, nbits + 1), np.int64)
    xf = np.full((nq, nbits + 1), -1.0)
    for i in range(nq):
        if floor[i] > 0.0:
            lo[i], hi[i] = _pop_range(float(qpop[i]), lpop, floor[i], metric, alpha, beta, slack)
    batched = nq >= _BATCH
    tt = np.empty((lib.shape[1], _TILE), np.uint64)
    acc = np.empty(_TILE, np.uint64)
    for r0 in range(0, n, _TILE):
        r1 = min(n, r0 + _TILE)
        transposed = False
        for i in range(nq):
            a = max(r0, lo[i])
            b = min(r1, hi[i])
            if a >= b:
                continue
            if batched and not transposed:
                _transpose_tile(lib, r0, r1 - r0, tt)
                transposed = True
            _counts(q, i, lib, r0, a, b, tt, acc, batched)
            y = float(qpop[i])
            f = floor[i]
            s_i = hs[i]
            k_i = hk[i]
            r_i = hr[i]
            xm = xmin[i]
            cur = f if sizes[i] < k else max(f, s_i[0])
            if cur > 0.0:
                for z in range(lpop[a], lpop[b - 1] + 1):
                    if xf[i, z] < cur:
                        xm[z] = _min_common(qpop[i], z, cur, metric, alpha, beta, slack)
                        xf[i, z] = cur
            changed = False
            for r in range(a, b):
                x = np.int64(acc[r - r0])
                if x < xm[lpop[r]]:
                    continue
                s = _score(float(x), y, float(lpop[r]), metric, alpha, beta)
                if s < f:
                    continue
                key = keys[r]
                size = sizes[i]
                if size < k:
                    s_i[size] = s
                    k_i[size] = key
                    r_i[size] = r
                    _sift_up(s_i, k_i, r_i, size)
                    sizes[i] = size + 1
                    changed = True
                elif _worse(s_i[0], k_i[0], s, key):
                    s_i[0] = s
                    k_i[0] = key
                    r_i[0] = r
                    _sift_down(s_i, k_i, r_i, k, 0)
                    changed = True
            if changed and sizes[i] == k and s_i[0] > 0.0:
                # every row outside the popcount band that can reach the k-th score is pruned
                new_lo, new_hi = _pop_range(y, lpop, s_i[0], metric, alpha, beta, slack)
                lo[i] = max(lo[i], new_lo)
                hi[i] = min(hi[i], new_hi)
    return hs, hk, hr, sizes


def topk_search(
    queries: np.ndarray,
    library: np.ndarray,
    library_popcounts: np.ndarray,
    keys: np.ndarray,
    *,
    k: int,
    floor: np.ndarray | None = None,
    metric: str = "tanimoto",
    alpha: float = 0.5,
    beta: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` best library rows of each query, ties broken by the smaller key.

    Parameters
    ----------
    queries, library, library_popcounts
        As for :func:`threshold_search` (library sorted by popcount).
    keys
        ``int64`` sort key of each library row (e.g. the rank of its id), unique.
    k
        How many hits per query (fewer if the library is smaller).
    floor
        Per query, a score a row must reach to be kept (``-1`` for none): the k-th best
        score already found elsewhere, which prunes the search exactly.
    metric, alpha, beta
        As for :func:`bulk_scores`.

    Returns
    -------
    tuple of numpy.ndarray
        ``scores (nq, k)``, ``keys (nq, k)``, ``rows (nq, k)`` (unsorted within a
        query; unused slots hold -1) and ``counts (nq,)`` of filled slots.
    """
    q = _as_words(queries)
    lib = _as_words(library)
    lpop = np.ascontiguousarray(library_popcounts, dtype=np.int32)
    if lpop.size > 1 and np.any(lpop[1:] < lpop[:-1]):
        raise ValueError("the library must be sorted by popcount")
    code = _metric_code(metric, alpha, beta)
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    fl = np.full(q.shape[0], -1.0) if floor is None else np.ascontiguousarray(floor, dtype=np.float64)
    return _topk(
        q,
        popcounts(q),
        lib,
        lpop,
        np.ascontiguousarray(keys, dtype=np.int64),
        int(k),
        fl,
        code,
        float(alpha),
        float(beta),
        _SLACK,
    )
