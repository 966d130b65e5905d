"""Clumping of association results into loci: by distance, and by LD as PLINK 1.9 ``--clump``.

:func:`distance_clump` — lead variants by p-value: the variant with the smallest p (≤
``p1``) leads a locus and every variant within ``kb`` of it joins that locus; repeat with the
best variant not yet in a locus.

:func:`ld_clump` — PLINK 1.9 ``--clump`` (``plink_ld.c``, ``clump_reports``) step by step:

* index candidates are the variants with p ≤ ``p1``, taken in order of p (ties: input order);
  a candidate already in a clump is skipped;
* an index variant's clump takes every variant not yet clumped, on the same contig, within
  ``kb`` (|Δbp| ≤ kb·1000 − 1, PLINK's ``bp_radius``), whose r² with the index is > ``r2``;
  such variants are marked clumped whatever their p, and listed (PLINK's SP2) when p < ``p2``;
* r² is PLINK 1.9's: haplotype frequencies of the two variants by the two-locus EM
  maximum likelihood solution from unphased hard calls (the double heterozygotes split by
  the root of a cubic, ``em_phase_hethet``, including its choice among several roots), over
  samples called at both variants; r² = D²/(p₁(1−p₁)q₁(1−q₁)), 0 when |D| < 2⁻⁴⁴, undefined
  (never clumped) when either variant is monomorphic among them.

All samples are used (PLINK uses founders only: give it a fileset whose samples have no
parents, or the same samples). Diploid calls only (PLINK's haploid handling of X/Y is not
reproduced).

Examples
--------
>>> import numpy as np
>>> a = np.array([0, 1, 2, 1, 0, 2, 1, 0], dtype=np.int8)
>>> round(plink_r2(a, a), 12)
1.0
>>> distance_clump(np.array([0, 0, 0]), np.array([100, 200_000, 900_000]), np.array([1e-9, 1e-10, 1e-8]),
...                p1=5e-8, kb=500).lead.tolist()
[1, 1, 2]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["Clumps", "distance_clump", "ld_clump", "plink_r2", "r2_from_counts"]

_EPSILON = 0.000000000931322574615478515625
_SMALLISH_EPSILON = 0.00000000002910383045673370361328125
_SMALL_EPSILON = 0.00000000000005684341886080801486968994140625


@dataclass
class Clumps:
    """Result of clumping ``n`` variants.

    Attributes
    ----------
    leads
        Indices of the lead (index) variants, best first.
    lead
        For each variant, the index of the lead of its locus (itself for a lead), -1 if in none.
    r2
        For each variant, r² with its lead (1 for a lead, NaN when by distance or in no locus).
    """

    leads: np.ndarray
    lead: np.ndarray
    r2: np.ndarray


def _order(p: np.ndarray, p1: float) -> np.ndarray:
    cand = np.flatnonzero(p <= p1)
    return cand[np.lexsort((cand, p[cand]))]  # by p, ties by input order


def distance_clump(chrom: np.ndarray, pos: np.ndarray, p: np.ndarray, *, p1: float, kb: float) -> Clumps:
    """Loci by distance: lead variants (p ≤ ``p1``) best first; variants within ``kb`` join the lead's locus.

    A variant within ``kb`` of two leads joins the better one. The window is |Δbp| ≤ kb·1000 − 1,
    as PLINK's ``--clump-kb``.
    """
    chrom, pos, p = np.asarray(chrom), np.asarray(pos, dtype=np.int64), np.asarray(p, dtype=np.float64)
    radius = int(kb * 1000 * (1 + _SMALL_EPSILON) - 1)
    lead = np.full(p.size, -1, dtype=np.int64)
    leads = []
    by_chrom: dict[object, np.ndarray] = {c: np.flatnonzero(chrom == c) for c in np.unique(chrom)}
    sorted_pos = {c: (idx[np.argsort(pos[idx], kind="stable")]) for c, idx in by_chrom.items()}
    for i in _order(p, p1):
        if lead[i] >= 0:
            continue
        leads.append(i)
        idx = sorted_pos[chrom[i]]
        ps = pos[idx]
        lo, hi = np.searchsorted(ps, pos[i] - radius, "left"), np.searchsorted(ps, pos[i] + radius, "right")
        window = idx[lo:hi]
        window = window[lead[window] < 0]
        lead[window] = i
    r2 = np.full(p.size, np.nan)
    r2[np.asarray(leads, dtype=np.int64)] = 1.0
    return Clumps(np.asarray(leads, dtype=np.int64), lead, r2)


# ----------------------------------------------------------------------------- PLINK 1.9 r²


@numba.njit(cache=True, nogil=True)
def _cubic_real_roots(a: float, b: float, c: float, out: np.ndarray) -> int:
    a2 = a * a
    qq = (a2 - 3 * b) * (1.0 / 9.0)
    rr = (2 * a2 * a - 9 * a * b + 27 * c) * (1.0 / 54.0)
    r2 = rr * rr
    q3 = qq * qq * qq
    adiv3 = a * (1.0 / 3.0)
    if r2 < q3:
        sq = math.sqrt(qq)
        dxx = math.acos(rr / (qq * sq)) * (1.0 / 3.0)
        sq *= -2
        pi = 3.1415926535897932
        out[0] = sq * math.cos(dxx) - adiv3
        out[1] = sq * math.cos(dxx + (2.0 * pi / 3.0)) - adiv3
        out[2] = sq * math.cos(dxx - (2.0 * pi / 3.0)) - adiv3
        if out[0] > out[1]:
            dxx = out[0]
            out[0] = out[1]
            if dxx > out[2]:
                out[1] = out[2]
                out[2] = dxx
            else:
                out[1] = dxx
            if out[0] > out[1]:
                dxx = out[0]
                out[0] = out[1]
                out[1] = dxx
        elif out[1] > out[2]:
            dxx = out[1]
            out[1] = out[2]
            out[2] = dxx
        if out[1] - out[0] < _EPSILON:
            out[1] = out[2]
            return 1 if out[1] - out[0] < _EPSILON else 2
        return 2 if out[2] - out[1] < _EPSILON else 3
    dxx = -((abs(rr) + math.sqrt(r2 - q3)) ** (1.0 / 3.0))
    if dxx == 0.0:
        out[0] = -adiv3
        return 1
    if rr < 0.0:
        dxx = -dxx
    sq = qq / dxx
    out[0] = dxx + sq - adiv3
    if abs(dxx - sq) >= _EPSILON * 8:
        return 1
    if dxx >= 0.0:
        out[1] = out[0]
        out[0] = -dxx - adiv3
    else:
        out[1] = -dxx - adiv3
    return 2


@numba.njit(cache=True, nogil=True)
def _lnlike(
    k11: float,
    k12: float,
    k21: float,
    k22: float,
    center: float,
    f11: float,
    f12: float,
    f21: float,
    f22: float,
    half: float,
    incr: float,
) -> float:
    f11 += incr
    f22 += incr
    f12 += half - incr
    f21 += half - incr
    ll = center * math.log(f11 * f22 + f12 * f21)
    if k11 != 0.0:
        ll += k11 * math.log(f11)
    if k12 != 0.0:
        ll += k12 * math.log(f12)
    if k21 != 0.0:
        ll += k21 * math.log(f21)
    if k22 != 0.0:
        ll += k22 * math.log(f22)
    return ll


@numba.njit(cache=True, nogil=True)
def r2_from_counts(counts: np.ndarray) -> float:
    """PLINK 1.9's signed r² from the 3×3 table of hard calls (NaN if a variant is monomorphic).

    ``counts[3*r + c]``: samples with r copies of the second allele at the first variant and c
    at the second (PLINK's ``em_phase_hethet_nobase``; r, c = 0 is homozygous for allele 1).
    """
    k11 = float(2 * counts[0] + counts[1] + counts[3])
    k12 = float(2 * counts[2] + counts[1] + counts[5])
    k21 = float(2 * counts[6] + counts[3] + counts[7])
    k22 = float(2 * counts[8] + counts[5] + counts[7])
    center = float(counts[4])
    twice_tot = k11 + k12 + k21 + k22 + 2 * center
    if twice_tot == 0.0:
        return np.nan
    rec = 1.0 / twice_tot
    f11, f12, f21, f22 = k11 * rec, k12 * rec, k21 * rec, k22 * rec
    p1122, p1221 = f11 * f22, f12 * f21
    half = center * rec
    f1x = f11 + f12 + half
    f2x = 1.0 - f1x
    fx1 = f11 + f21 + half
    fx2 = 1.0 - fx1
    sols = np.zeros(3)
    start, end = 0, 1
    if center > 0:
        if p1122 != 0.0 or p1221 != 0.0:
            end = _cubic_real_roots(
                0.5 * (f11 + f22 - f12 - f21 - 3 * half),
                0.5 * (p1122 + p1221 + half * (f12 + f21 - f11 - f22 + half)),
                -0.5 * half * p1122,
                sols,
            )
            while end and sols[end - 1] > half + _SMALLISH_EPSILON:
                end -= 1
            while start < end and sols[start] < -_SMALLISH_EPSILON:
                start += 1
            if start == end:
                start, end = 0, 2
                sols[0], sols[1] = 0.0, half
            else:
                if sols[start] < 0:
                    sols[start] = 0.0
                if sols[end - 1] > half:
                    sols[end - 1] = half
        else:
            sols[0] = 0.0
            xx, xy = f11 + f22, f12 + f21
            if xx + _SMALLISH_EPSILON < half + xy and xy + _SMALLISH_EPSILON < half + xx:
                end = 3
                sols[1] = (half + xy - xx) * 0.5
                sols[2] = half
            else:
                end = 2
                sols[1] = half
        best = sols[start]
        if end > start + 1:
            best_ll = _lnlike(k11, k12, k21, k22, center, f11, f12, f21, f22, half, best)
            for k in range(start + 1, end):
                cur = _lnlike(k11, k12, k21, k22, center, f11, f12, f21, f22, half, sols[k])
                if cur > best_ll:  # PLINK 1.9 keeps comparing with the first root's likelihood
                    best = sols[k]
        f11 += best
    elif p1122 == 0.0 and p1221 == 0.0:
        return np.nan
    expected = fx1 * f1x
    d = f11 - expected
    if abs(d) < _SMALL_EPSILON:
        return 0.0
    denom = expected * f2x * fx2
    if denom == 0.0:
        return np.nan
    return abs(d) * d / denom


@numba.njit(cache=True, nogil=True)
def _table(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    counts = np.zeros(9, dtype=np.int64)
    for s in range(a.size):
        x, y = a[s], b[s]
        if x < 0 or y < 0 or x > 2 or y > 2:
            continue
        counts[3 * (2 - x) + (2 - y)] += 1  # ALT counts: PLINK's allele 1 (A1) is the ALT
    return counts


@numba.njit(cache=True, nogil=True)
def plink_r2(a: np.ndarray, b: np.ndarray) -> float:
    """PLINK 1.9 ``--clump`` r² (signed like D) of two ALT-count vectors (int8, -1 missing)."""
    return r2_from_counts(_table(a, b))


@numba.njit(cache=True, nogil=True)
def _ld_clump_kernel(
    order: np.ndarray,
    contig: np.ndarray,
    pos: np.ndarray,
    p: np.ndarray,
    geno: np.ndarray,
    row: np.ndarray,
    radius: int,
    r2_threshold: float,
    lead: np.ndarray,
    r2_out: np.ndarray,
) -> np.ndarray:
    n = pos.size
    clumped = np.zeros(n, dtype=np.bool_)
    leads = np.empty(order.size, dtype=np.int64)
    n_leads = 0
    for i in order:
        if clumped[i]:
            continue
        leads[n_leads] = i
        n_leads += 1
        lead[i] = i
        r2_out[i] = 1.0
        clumped[i] = True
        gi = geno[row[i]]
        # variants are sorted by contig then position: scan both ways from i
        j = i - 1
        while j >= 0 and contig[j] == contig[i] and pos[i] - pos[j] <= radius:
            if not clumped[j]:
                r = r2_from_counts(_table(gi, geno[row[j]]))
                if not np.isnan(r) and abs(r) > r2_threshold:
                    clumped[j] = True
                    lead[j] = i
                    r2_out[j] = abs(r)
            j -= 1
        j = i + 1
        while j < n and contig[j] == contig[i] and pos[j] - pos[i] <= radius:
            if not clumped[j]:
                r = r2_from_counts(_table(gi, geno[row[j]]))
                if not np.isnan(r) and abs(r) > r2_threshold:
                    clumped[j] = True
                    lead[j] = i
                    r2_out[j] = abs(r)
            j += 1
    return leads[:n_leads]


def ld_clump(
    contig: np.ndarray,
    pos: np.ndarray,
    p: np.ndarray,
    alt_count: np.ndarray,
    *,
    p1: float = 1e-4,
    r2: float = 0.5,
    kb: float = 250.0,
) -> Clumps:
    """LD clumping as PLINK 1.9 ``--clump`` (see the module docstring).

    Parameters
    ----------
    contig, pos, p
        Per variant: contig code (any integers), position and p-value. The variants must be
        those of the LD reference that are in the association results, in the reference's
        order (sorted by contig, then position within a contig).
    alt_count
        (variants × samples) int8 ALT counts from the reference, -1 missing.
    p1, r2, kb
        PLINK's ``--clump-p1``, ``--clump-r2``, ``--clump-kb``.

    Returns
    -------
    Clumps
        ``lead[j]`` is the index variant whose clump ``j`` joined and ``r2[j]`` its r² (PLINK's
        SP2 are the members with p < ``--clump-p2``).
    """
    contig = np.asarray(contig, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    geno = np.ascontiguousarray(alt_count, dtype=np.int8)
    radius = int(kb * 1000 * (1 + _SMALL_EPSILON) - 1)
    lead = np.full(p.size, -1, dtype=np.int64)
    r2_out = np.full(p.size, np.nan)
    row = np.arange(p.size, dtype=np.int64)
    leads = _ld_clump_kernel(_order(p, p1), contig, pos, p, geno, row, radius, float(r2), lead, r2_out)
    return Clumps(leads, lead, r2_out)
