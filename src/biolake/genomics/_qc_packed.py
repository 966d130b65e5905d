"""QC counts straight from the 2-bit genotype copy (``call_genotype_packed``), as plink2 counts.

The per-variant genotype counts are popcounts of three masks per 64-bit word (32 samples): with
``lo``/``hi`` the low and high bits of each 2-bit code (0, 1, 2 ALT alleles, 3 missing), the
heterozygous calls are ``lo & ~hi``, the hom-ALT calls ``hi & ~lo`` and the missing ones ``lo & hi``.
The per-sample sums (missing calls, heterozygous calls of the variants that count for F) are kept in
*vertical* counters, as plink2 keeps them: each sample's count grows in its own 2-bit slot of a word
for 3 variants, then in a 4-bit slot for 15, then in a byte for 255, and only then is it added to
the sample's integer total, so a variant costs a few word operations per 32 samples instead of one
operation per sample. The per-sample sums that need a weight per variant (expected heterozygosity)
are the sum over all counted variants minus the sum over the sample's missing calls, which are few.

The results equal :func:`biolake.genomics.qc.count_genotypes` on the unpacked matrix (integer
counts exactly; ``e_het`` to rounding).
"""

from __future__ import annotations

import numba
import numpy as np

from biolake.stats.similarity import _popcount64

_EHET_MIN = 2.0**-35  # plink2 --het skips variants with a smaller expected heterozygosity
_M55 = np.uint64(0x5555555555555555)
_M33 = np.uint64(0x3333333333333333)
_M0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_OFFSET = np.array([0, 2, 1, 3], dtype=np.int64)  # slot of byte lane r: 4k + _OFFSET[r]


@numba.njit(cache=True, nogil=True, inline="always")
def expected_het(n0: int, n1: int, n2: int) -> float:  # pragma: no cover  (compiled)
    """``2p(1-p)`` of a variant's called genotypes (hom REF, het, hom ALT counts), as ``plink2 --het`` weighs it;
    0 without a call. A variant counts for F only when this is at least ``_EHET_MIN``."""
    nm = n0 + n1 + n2
    if nm == 0:
        return 0.0
    f_ref = (2.0 * n0 + n1) / (2.0 * nm)
    f_alt = 1.0 - f_ref
    return 1.0 - f_ref * f_ref - f_alt * f_alt


@numba.njit(cache=True, nogil=True)
def _spill2(a2, a4):  # pragma: no cover  (compiled)
    for w in range(a2.shape[0]):
        x = a2[w]
        a4[0, w] += x & _M33
        a4[1, w] += (x >> np.uint64(2)) & _M33
        a2[w] = 0


@numba.njit(cache=True, nogil=True)
def _spill4(a4, a8):  # pragma: no cover  (compiled)
    for w in range(a4.shape[1]):
        e = a4[0, w]
        o = a4[1, w]
        a8[0, w] += e & _M0F
        a8[1, w] += (e >> np.uint64(4)) & _M0F
        a8[2, w] += o & _M0F
        a8[3, w] += (o >> np.uint64(4)) & _M0F
        a4[0, w] = 0
        a4[1, w] = 0


@numba.njit(cache=True, nogil=True)
def _spill8(a8, total, offset):  # pragma: no cover  (compiled)
    n = total.shape[0]
    for w in range(a8.shape[1]):
        for r in range(4):
            x = a8[r, w]
            if x == 0:
                continue
            for k in range(8):
                j = 32 * w + 4 * k + offset[r]
                if j < n:
                    total[j] += np.int64((x >> np.uint64(8 * k)) & np.uint64(0xFF))
            a8[r, w] = 0


@numba.njit(cache=True, nogil=True)
def _add(masks, a2, a4, a8, total, added, offset):  # pragma: no cover  (compiled)
    """Add one variant's 0/1-per-slot masks to the vertical counters; ``added`` counts before this one."""
    for w in range(masks.shape[0]):
        a2[w] += masks[w]
    added += 1
    if added % 3 == 0:
        _spill2(a2, a4)
        if added % 15 == 0:
            _spill4(a4, a8)
            if added % 255 == 0:
                _spill8(a8, total, offset)
    return added


@numba.njit(cache=True, nogil=True)
def _flush(a2, a4, a8, total, offset):  # pragma: no cover  (compiled)
    _spill2(a2, a4)
    _spill4(a4, a8)
    _spill8(a8, total, offset)


@numba.njit(cache=True, nogil=True)
def _count_packed(words, n_samples, autosomal, offset):  # pragma: no cover  (compiled)
    n_var, nw = words.shape
    counts = np.zeros((n_var, 4), dtype=np.int64)
    s_missing = np.zeros(n_samples, dtype=np.int64)
    s_het = np.zeros(n_samples, dtype=np.int64)
    obs_missing = np.zeros(n_samples, dtype=np.int64)
    ehet_missing = np.zeros(n_samples, dtype=np.float64)
    het = np.zeros(nw, dtype=np.uint64)
    miss = np.zeros(nw, dtype=np.uint64)
    h2 = np.zeros(nw, dtype=np.uint64)
    h4 = np.zeros((2, nw), dtype=np.uint64)
    h8 = np.zeros((4, nw), dtype=np.uint64)
    m2 = np.zeros(nw, dtype=np.uint64)
    m4 = np.zeros((2, nw), dtype=np.uint64)
    m8 = np.zeros((4, nw), dtype=np.uint64)
    n_het_added = 0
    n_miss_added = 0
    n_f = 0
    ehet_total = 0.0
    for i in range(n_var):
        c1 = np.uint64(0)
        c2 = np.uint64(0)
        c3 = np.uint64(0)
        for w in range(nw):
            x = words[i, w]
            lo = x & _M55
            hi = (x >> np.uint64(1)) & _M55
            h = lo & ~hi
            m = lo & hi
            het[w] = h
            miss[w] = m
            c1 += _popcount64(h)
            c2 += _popcount64(hi & ~lo)
            c3 += _popcount64(m)
        n1 = np.int64(c1)
        n2 = np.int64(c2)
        n3 = np.int64(c3)
        n0 = n_samples - n1 - n2 - n3
        counts[i, 0] = n0
        counts[i, 1] = n1
        counts[i, 2] = n2
        counts[i, 3] = n3
        if n3 > 0:
            n_miss_added = _add(miss, m2, m4, m8, s_missing, n_miss_added, offset)
        if autosomal[i]:
            ehet = expected_het(n0, n1, n2)
            if ehet >= _EHET_MIN:
                n_f += 1
                ehet_total += ehet
                if n1 > 0:
                    n_het_added = _add(het, h2, h4, h8, s_het, n_het_added, offset)
                if n3 > 0:
                    for w in range(nw):
                        x = miss[w]
                        while x != 0:
                            low = x & (~x + np.uint64(1))
                            j = 32 * w + np.int64(_popcount64(low - np.uint64(1))) // 2
                            obs_missing[j] += 1
                            ehet_missing[j] += ehet
                            x ^= low
    _flush(h2, h4, h8, s_het, offset)
    _flush(m2, m4, m8, s_missing, offset)
    s_obs = n_f - obs_missing
    s_ehet = ehet_total - ehet_missing
    return counts, s_missing, s_het, s_obs, s_ehet


def _words(packed: np.ndarray) -> np.ndarray:
    """The packed rows as little-endian uint64 words (zero padding: code 0, never counted as het/missing)."""
    n_var, nb = packed.shape
    nw = (nb + 7) // 8
    if nb == 8 * nw and packed.flags.c_contiguous:
        return packed.view("<u8").reshape(n_var, nw)
    buf = np.zeros((n_var, 8 * nw), dtype=np.uint8)
    buf[:, :nb] = packed
    return buf.view("<u8").reshape(n_var, nw)


def count_genotypes_packed(
    packed: np.ndarray, n_samples: int, *, autosomal: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """:func:`biolake.genomics.qc.count_genotypes` of 2-bit packed rows (``call_genotype_packed``).

    Parameters
    ----------
    packed
        Variants × ⌈samples/4⌉ uint8, sample ``j`` in byte ``j // 4`` at bits ``2·(j % 4)``:
        the ALT count 0, 1, 2 or 3 for a missing call (:func:`biolake.io.plink.pack_alt_count`).
    n_samples
        Number of samples (the padding of the last byte is ignored).
    autosomal
        Per variant, whether it counts for the per-sample F coefficient (default: all).
    """
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    auto = np.ones(packed.shape[0], dtype=np.bool_) if autosomal is None else np.asarray(autosomal, dtype=np.bool_)
    counts, s_missing, s_het, s_obs, s_ehet = _count_packed(_words(packed), int(n_samples), auto, _OFFSET)
    return {"counts": counts, "missing_ct": s_missing, "het_ct": s_het, "f_obs_ct": s_obs, "e_het": s_ehet}


@numba.njit(cache=True, nogil=True)
def _unpack(packed, n_samples):  # pragma: no cover  (compiled)
    n_var = packed.shape[0]
    out = np.empty((n_var, n_samples), dtype=np.int8)
    for i in range(n_var):
        for j in range(n_samples):
            code = (packed[i, j >> 2] >> (2 * (j & 3))) & 3
            out[i, j] = -1 if code == 3 else code
    return out


def unpack_alt_count(packed: np.ndarray, n_samples: int) -> np.ndarray:
    """The inverse of :func:`biolake.io.plink.pack_alt_count`: int8 ALT counts, -1 for missing."""
    return _unpack(np.ascontiguousarray(packed, dtype=np.uint8), int(n_samples))
