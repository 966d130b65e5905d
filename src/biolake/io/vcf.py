"""VCF and BCF files (``.vcf``, ``.vcf.gz`` bgzip, ``.bcf``) → a lake genotype dataset in the VCF Zarr layout.

The genotype dataset has the arrays of :mod:`biolake.io.plink` (``call_genotype``,
``call_genotype_mask``, ``call_alt_count``, ``variant_*``, ``sample_id``, ``contig_id``)
plus ``call_genotype_phased`` (variants, samples; bool) and, when any record has a
``DS`` field, ``call_dosage`` (variants, samples; float32, NaN missing). The group
attributes hold ``vcf_zarr_version`` and ``source: vcf``; the catalog encoding is
``vcf-zarr`` version 1. A variants table ``NAME_variants`` has the columns
``chrom pos id ref alt qual filter`` (``qual`` float32, null for ``.``; ``filter`` as
written, ``.`` when missing).

Conventions
-----------
Multi-allelic sites
    Split into one biallelic record per ALT allele, in ALT order, exactly as
    ``bcftools norm -m-`` splits them: in the record of ALT allele *k* an allele index
    *k* becomes 1, REF and every other ALT allele become 0 (so ``1/2`` gives ``1/0`` and
    ``0/1``), missing alleles stay missing and the phase is kept. ``DS`` takes the *k*-th
    value when a sample has one per ALT allele, else its single value; a missing DS
    stays missing in every split record (bcftools 1.16 writes it as an empty field after
    the first split record, which reads back as 0). ID, QUAL and FILTER are copied to
    every split record. A site without ALT (``.``) is one record
    whose ALT is ``.``.
Ploidy
    Calls are stored with ploidy 2. A haploid call (chrX of males, chrY, MT: ``GT=1``) is
    ``[allele, -2]``: -2 is the VCF Zarr *fill* value of the absent second allele.
    ``call_genotype_mask`` is ``call_genotype < 0`` (missing or fill, as bio2zarr writes
    it). Ploidy above 2 is refused.
Missing calls
    ``./.`` is ``[-1, -1]``; a half-missing call ``./1`` keeps its known allele
    (``[-1, 1]``). A sample without a GT field is ``[-1, -1]``.
``call_alt_count`` (the compact copy the association and QC kernels read)
    The number of ALT alleles of a diploid call (0, 1, 2). A haploid call counts as a
    homozygous diploid one (0 or 2), as ``plink2 --vcf`` imports it; any missing allele
    (``./.``, ``./1``, ``.``) makes it -1 (missing), as ``plink2 --vcf-half-call missing``.
``call_genotype_packed``
    The same counts, four samples per byte (2 bits each, 3 = missing), uncompressed: what
    the linear association kernel reads (:func:`biolake.io.plink.pack_alt_count`).
Order
    Records must be grouped by contig and sorted by position within a contig; a position
    below the previous one of its contig, or a contig that reappears after another one,
    is an error. ``contig_id`` lists the contigs in order of appearance.

Malformed records (a wrong number of columns, a non-numeric POS or QUAL, a bad GT or
DS, an allele index beyond the ALT alleles) raise :class:`~biolake.errors.InputError`
with the file and line (the record number for BCF); nothing is added to the lake then.

Speed and memory
----------------
Text VCF is parsed by biolake's own numba parser (the GIL released) on blocks of about
10-16 MB of text, with fast paths for the common biallelic records whose FORMAT is ``GT``
(fixed width: every call ``a/b``, read at a stride of 4 bytes) or ``GT:DS`` (``a/b:0.123``);
a line that does not fit goes to the general parser, which gives the same values. bgzip
files are decompressed block-parallel (BGZF blocks are independent deflate streams) by
libdeflate (the ``deflate`` package; zlib when it is missing), about twice zlib's speed. Two
parser threads and one writer thread overlap, and at most a few blocks are in flight,
so memory is bounded by the block and Zarr chunk sizes, not by the file (the default
chunk holds about 8 M calls and at most 65,536 variants). The per-call arrays are
compressed with Blosc lz4 and bit shuffle (bio2zarr also bit-shuffles genotypes):
smaller and faster to write than the default. ``variant_contig`` is int16 (the number
of contigs is not known before the end of the stream). BCF is decoded by htslib through
cyvcf2, one record at a time, then parsed by the same code (slower than text VCF).
The parser is validated field by field against ``bcftools query`` and ``bcftools norm
-m-`` (``tests/genomics/test_vcf.py``).

Examples
--------
>>> from biolake.io.vcf import ingest_vcf
>>> info = ingest_vcf(lake, "cohort.vcf.gz", name="cohort")          # doctest: +SKIP
>>> lake.open_array("cohort")["call_genotype"].shape                  # doctest: +SKIP
(50000, 2000, 2)
"""

from __future__ import annotations

import concurrent.futures as cf
import gzip
import os
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from biolake.errors import InputError, check_param

try:
    import deflate as _libdeflate
except ImportError:  # pragma: no cover - a dependency; zlib does the same, slower
    _libdeflate = None
from biolake.io.plink import (
    GENOTYPE_ENCODING,
    GENOTYPE_ENCODING_VERSION,
    VCF_ZARR_VERSION,
    create_packed,
    default_variant_chunk,
    pack_alt_count,
)
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake._fs import content_hash
from biolake.lake.arrays import ArrayStage
from biolake.lake.progress import NullProgress, Progress

__all__ = ["ingest_vcf", "parse_vcf_text", "vcf_variants_schema"]

_BLOCK_BYTES = 16 << 20  # text parsed per task
_BGZF_GROUP = 1 << 20  # compressed bytes decompressed per task (about 10 MB of text)
_IN_FLIGHT = 3
_MAX_VARIANT_CHUNK = 1 << 16  # default chunks: about 8 M calls, at most this many variants

_POW10 = 10.0 ** np.arange(23, dtype=np.float64)  # exact
_E_COLUMNS, _E_POS, _E_GT, _E_ALLELE, _E_PLOIDY, _E_DS, _E_QUAL, _E_UNSORTED, _E_TOO_MANY = range(1, 10)


def vcf_variants_schema() -> pa.Schema:
    """Arrow schema of the variants table of a VCF ingest: ``chrom pos id ref alt qual filter``."""
    return pa.schema(
        [
            ("chrom", pa.string()),
            ("pos", pa.int64()),
            ("id", pa.string()),
            ("ref", pa.string()),
            ("alt", pa.string()),
            ("qual", pa.float32()),
            ("filter", pa.string()),
        ]
    )


# ------------------------------------------------------------------------------ numba parser


@numba.njit(cache=True, nogil=True)
def _parse_float(buf: np.ndarray, p: int, end: int) -> tuple[float, bool]:
    """A decimal number in ``buf[p:end]`` (sign, digits, fraction, exponent); ok flag."""
    if p >= end:
        return np.nan, False
    neg = False
    if buf[p] == 45 or buf[p] == 43:  # - +
        neg = buf[p] == 45
        p += 1
    mant = 0.0
    n_digits = 0
    frac = 0
    while p < end and 48 <= buf[p] <= 57:
        mant = mant * 10.0 + (buf[p] - 48)
        n_digits += 1
        p += 1
    if p < end and buf[p] == 46:  # .
        p += 1
        while p < end and 48 <= buf[p] <= 57:
            mant = mant * 10.0 + (buf[p] - 48)
            frac += 1
            n_digits += 1
            p += 1
    if n_digits == 0:
        return np.nan, False
    exp = 0
    if p < end and (buf[p] == 101 or buf[p] == 69):  # e E
        p += 1
        eneg = False
        if p < end and (buf[p] == 45 or buf[p] == 43):
            eneg = buf[p] == 45
            p += 1
        if p >= end or not (48 <= buf[p] <= 57):
            return np.nan, False
        while p < end and 48 <= buf[p] <= 57:
            exp = exp * 10 + (buf[p] - 48)
            p += 1
        if eneg:
            exp = -exp
    if p != end:
        return np.nan, False
    e = exp - frac
    if 0 <= e <= 22:  # powers of ten up to 1e22 are exact doubles: the same value as 10.0**e, without pow
        v = mant * _POW10[e]
    elif -22 <= e < 0:
        v = mant / _POW10[-e]
    else:
        v = mant * 10.0**e if e >= 0 else mant / 10.0 ** (-e)
    return (-v if neg else v), True


@numba.njit(cache=True, nogil=True)
def _grow(a: np.ndarray, rows: int, cap: int) -> np.ndarray:
    out = np.empty((cap,) + a.shape[1:], a.dtype)  # noqa: RUF005 (numba needs tuple concatenation)
    out[:rows] = a[:rows]
    return out


@numba.njit(cache=True, nogil=True)
def _format_index(buf: np.ndarray, f0: int, f1: int, c0: int, c1: int) -> int:
    """Index of the FORMAT key ``c0 c1`` (two letters) in ``buf[f0:f1]``, -1 if absent."""
    k = 0
    i = f0
    while i < f1:
        j = i
        while j < f1 and buf[j] != 58:
            j += 1
        if j - i == 2 and buf[i] == c0 and buf[i + 1] == c1:
            return k
        k += 1
        i = j + 1
    return -1


@numba.njit(cache=True, nogil=True)
def _allele(c: int, na: int) -> int:
    """Allele index of one GT character: 0-9, -1 for '.', -3 if not an allele, -4 if beyond the ALTs."""
    if c == 46:
        return -1
    a = c - 48
    if a < 0 or a > 9:
        return -3
    return a if a <= na else -4


@numba.njit(cache=True, nogil=True)
def _gt_ds_line(
    buf: np.ndarray,
    p: int,
    n: int,
    n_samples: int,
    na: int,
    gt: np.ndarray,
    mk: np.ndarray,
    ph: np.ndarray,
    ac: np.ndarray,
    ds: np.ndarray,
) -> int:
    """The samples of a ``GT:DS`` line starting at ``buf[p]`` when every one is ``a/b:DS``.

    Returns the start of the next line, or -1 to fall back to the general parser.

    A DS is ``.`` (NaN) or digits with an optional ``.`` and fraction, at most 15 digits in
    all, so the integer mantissa is exact and ``mantissa / 10**fraction`` is the value
    :func:`_parse_float` computes; a sign, an exponent, a comma (one DS per ALT) or a CR
    line end falls back.
    """
    for smp in range(n_samples):
        if p + 5 >= n:
            return -1
        c1 = buf[p + 1]
        if (c1 != 47 and c1 != 124) or buf[p + 3] != 58:
            return -1
        x = buf[p] - 48
        y = buf[p + 2] - 48
        x = -1 if x == -2 else x  # '.'
        y = -1 if y == -2 else y
        if x < -1 or x > na or y < -1 or y > na:
            return -1
        i = p + 4
        if buf[i] == 46 and (buf[i + 1] == 9 or buf[i + 1] == 10):
            v = np.nan
            i += 1
        else:
            mant = 0
            nd = 0
            frac = 0
            while i < n and 48 <= buf[i] <= 57:
                mant = mant * 10 + (buf[i] - 48)
                nd += 1
                i += 1
            if i < n and buf[i] == 46:
                i += 1
                while i < n and 48 <= buf[i] <= 57:
                    mant = mant * 10 + (buf[i] - 48)
                    nd += 1
                    frac += 1
                    i += 1
            if nd == 0 or nd > 15 or i >= n:
                return -1
            v = float(mant) / _POW10[frac]
        c = buf[i]
        if (c != 9 and c != 10) or ((c == 10) != (smp == n_samples - 1)):
            return -1
        gt[smp, 0] = x
        gt[smp, 1] = y
        mk[smp, 0] = x < 0
        mk[smp, 1] = y < 0
        ph[smp] = c1 == 124
        ac[smp] = -1 if x < 0 or y < 0 else x + y
        ds[smp] = v
        p = i + 1
    return p


@numba.njit(cache=True, nogil=True)
def _parse_block(buf: np.ndarray, n_samples: int, n_lines: int) -> tuple:  # type: ignore[type-arg]
    """Parse complete VCF data lines: genotypes of every output row (multi-allelic records split).

    Returns gt (rows, samples, 2) int8, mask, phased, alt_count, dosage (None-like: 0 rows
    when no record has DS), row → record index, ALT start/end of each row, per record
    the field starts (``fields[r, k]``, k < 10; ``fields[r, 10]`` the line end), line
    index, pos and qual; the number of rows; and ``err = [code, line index, sample]``.
    """
    n = buf.shape[0]
    n_fixed = 9 if n_samples > 0 else 8
    cap = max(n_lines, 1)
    gt = np.empty((cap, n_samples, 2), np.int8)
    mk = np.empty((cap, n_samples, 2), np.bool_)
    ph = np.empty((cap, n_samples), np.bool_)
    ac = np.empty((cap, n_samples), np.int8)
    ds = np.empty((0, n_samples), np.float32)
    row_rec = np.empty(cap, np.int64)
    alt_se = np.empty((cap, 2), np.int64)
    fields = np.zeros((cap, 11), np.int64)
    line_idx = np.empty(cap, np.int64)
    pos = np.empty(cap, np.int64)
    qual = np.empty(cap, np.float32)
    err = np.zeros(3, np.int64)
    ga = np.empty((n_samples, 2), np.int16)
    gph = np.zeros(n_samples, np.bool_)
    dcap = 4
    dsv = np.empty((n_samples, dcap), np.float32)
    dsn = np.zeros(n_samples, np.int64)
    has_ds = False
    rec = 0
    row = 0
    li = -1
    p = 0
    while p < n:
        li += 1
        # ---- fixed fields
        fields[rec, 0] = p
        q = p
        k = 0
        while buf[q] != 10 and k < n_fixed:
            if buf[q] == 9:
                k += 1
                fields[rec, k] = q + 1
            q += 1
        if k < n_fixed:  # at the line end
            end = q - 1 if q > p and buf[q - 1] == 13 else q
            if end == p:  # blank line
                p = q + 1
                continue
            if n_samples > 0 or k < 7:
                err[0], err[1] = _E_COLUMNS, li
                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
            for j in range(k + 1, 10):
                fields[rec, j] = end + 1
            fields[rec, 10] = end
        elif n_samples == 0:
            err[0], err[1] = _E_TOO_MANY, li
            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
        line_idx[rec] = li
        # ---- POS
        p0 = fields[rec, 1]
        p1 = fields[rec, 2] - 1
        if p1 <= p0 or p1 - p0 > 12:
            err[0], err[1] = _E_POS, li
            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
        v = 0
        for i in range(p0, p1):
            c = buf[i]
            if c < 48 or c > 57:
                err[0], err[1] = _E_POS, li
                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
            v = v * 10 + (c - 48)
        pos[rec] = v
        if rec > 0 and v < pos[rec - 1]:
            c0 = fields[rec, 0]
            c1 = fields[rec, 1] - 1
            d0 = fields[rec - 1, 0]
            d1 = fields[rec - 1, 1] - 1
            same = c1 - c0 == d1 - d0
            if same:
                for i in range(c1 - c0):
                    if buf[c0 + i] != buf[d0 + i]:
                        same = False
                        break
            if same:
                err[0], err[1] = _E_UNSORTED, li
                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
        # ---- QUAL
        q0 = fields[rec, 5]
        q1 = fields[rec, 6] - 1
        if q1 - q0 == 1 and buf[q0] == 46:
            qual[rec] = np.nan
        else:
            qv, ok = _parse_float(buf, q0, q1)
            if not ok:
                err[0], err[1] = _E_QUAL, li
                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
            qual[rec] = qv
        # ---- ALT: one output row per ALT allele
        a0 = fields[rec, 4]
        a1 = fields[rec, 5] - 1
        if a1 - a0 == 1 and buf[a0] == 46:
            na = 0
        else:
            na = 1
            for i in range(a0, a1):
                if buf[i] == 44:
                    na += 1
        nr = max(na, 1)
        if row + nr > gt.shape[0]:
            ncap = max(2 * gt.shape[0], row + nr)
            gt = _grow(gt, row, ncap)
            mk = _grow(mk, row, ncap)
            ph = _grow(ph, row, ncap)
            ac = _grow(ac, row, ncap)
            row_rec = _grow(row_rec, row, ncap)
            alt_se = _grow(alt_se, row, ncap)
            if has_ds:
                ds = _grow(ds, row, ncap)
        s = a0
        for k in range(nr):
            e = s
            while e < a1 and buf[e] != 44:
                e += 1
            alt_se[row + k, 0] = s
            alt_se[row + k, 1] = e
            row_rec[row + k] = rec
            s = e + 1
        if n_samples == 0:
            rec += 1
            row += nr
            p = fields[rec - 1, 10] + 1
            while p < n and buf[p - 1] != 10:
                p += 1
            continue
        # ---- samples
        f0 = fields[rec, 8]
        f1 = fields[rec, 9] - 1
        gi = _format_index(buf, f0, f1, 71, 84)  # GT
        di = _format_index(buf, f0, f1, 68, 83)  # DS
        only_gt = gi == 0 and f1 - f0 == 2
        if di >= 0 and not has_ds:
            has_ds = True
            ds = np.empty((gt.shape[0], n_samples), np.float32)
            ds[:row] = np.nan
        p = fields[rec, 9]
        if only_gt and na <= 1 and not has_ds:
            # fastest path: GT only, biallelic, every call diploid with one-character alleles
            fast = True
            for smp in range(n_samples):
                if p + 3 >= n:
                    fast = False
                    break
                c1 = buf[p + 1]
                c3 = buf[p + 3]
                if (c1 != 47 and c1 != 124) or (c3 != 9 and c3 != 10) or ((c3 == 10) != (smp == n_samples - 1)):
                    fast = False
                    break
                x = buf[p] - 48
                y = buf[p + 2] - 48
                x = -1 if x == -2 else x  # '.'
                y = -1 if y == -2 else y
                if x < -1 or x > na or y < -1 or y > na:
                    fast = False
                    break
                gt[row, smp, 0] = x
                gt[row, smp, 1] = y
                mk[row, smp, 0] = x < 0
                mk[row, smp, 1] = y < 0
                ph[row, smp] = c1 == 124
                ac[row, smp] = -1 if x < 0 or y < 0 else x + y
                p += 4
            if fast:
                fields[rec, 10] = p - 1
                row += 1
                rec += 1
                continue
            p = fields[rec, 9]
        elif gi == 0 and di == 1 and f1 - f0 == 5 and na <= 1:
            # fast path of FORMAT GT:DS, biallelic: "0/1:0.8312" (one-character alleles, DS as
            # digits with an optional fraction of at most 15 digits in all, or "."); any other
            # form sends the whole line to the general parser below, which gives the same values
            q = _gt_ds_line(buf, p, n, n_samples, na, gt[row], mk[row], ph[row], ac[row], ds[row])
            if q >= 0:
                p = q
                fields[rec, 10] = p - 1
                row += 1
                rec += 1
                continue
        for smp in range(n_samples):
            # fast path: a one-character-allele diploid GT first ("0/1", "1|0", "./.")
            k0 = 0
            if gi == 0:
                c1 = buf[p + 1] if p + 1 < n else 10
                if c1 == 47 or c1 == 124:
                    c3 = buf[p + 3] if p + 3 < n else 10
                    if c3 == 9 or c3 == 10 or c3 == 13 or c3 == 58:
                        x = _allele(buf[p], na)
                        y = _allele(buf[p + 2], na)
                        if x >= -1 and y >= -1:
                            ga[smp, 0] = x
                            ga[smp, 1] = y
                            gph[smp] = c1 == 124
                            dsn[smp] = 0
                            if only_gt or c3 != 58:
                                if c3 == 13:
                                    c3 = 10
                                    p += 1
                                if (c3 == 10) != (smp == n_samples - 1):
                                    err[0], err[1] = (_E_COLUMNS if c3 == 10 else _E_TOO_MANY), li
                                    return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                                p += 4
                                continue
                            p += 4
                            k0 = 1
            if k0 == 0:
                ga[smp, 0] = -1
                ga[smp, 1] = -1
                gph[smp] = False
                dsn[smp] = 0
            k = k0
            while True:
                q = p
                while buf[q] != 58 and buf[q] != 9 and buf[q] != 10:
                    q += 1
                if k == gi:
                    i = p
                    ploidy = 0
                    while True:
                        if i >= q:
                            err[0], err[1], err[2] = _E_GT, li, smp
                            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                        if buf[i] == 46:
                            a = -1
                            i += 1
                        elif 48 <= buf[i] <= 57:
                            a = 0
                            while i < q and 48 <= buf[i] <= 57:
                                if a <= na:
                                    a = a * 10 + (buf[i] - 48)
                                i += 1
                            if a > na:
                                err[0], err[1], err[2] = _E_ALLELE, li, smp
                                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                        else:
                            err[0], err[1], err[2] = _E_GT, li, smp
                            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                        if ploidy >= 2:
                            err[0], err[1], err[2] = _E_PLOIDY, li, smp
                            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                        ga[smp, ploidy] = a
                        ploidy += 1
                        if i == q or (buf[i] == 13 and i + 1 == q and buf[q] == 10):
                            break
                        if buf[i] == 124:
                            gph[smp] = True
                        elif buf[i] != 47:
                            err[0], err[1], err[2] = _E_GT, li, smp
                            return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                        i += 1
                    if ploidy == 1:
                        ga[smp, 1] = -2
                elif k == di:
                    i = p
                    qe = q - 1 if buf[q] == 10 and q > p and buf[q - 1] == 13 else q
                    nv = 0
                    while i < qe:
                        j = i
                        while j < qe and buf[j] != 44:
                            j += 1
                        if nv >= dcap:
                            dsv = _grow(dsv.T.copy(), dcap, 2 * dcap).T.copy()
                            dcap *= 2
                        if j - i == 1 and buf[i] == 46:
                            dsv[smp, nv] = np.nan
                        else:
                            fv, ok = _parse_float(buf, i, j)
                            if not ok:
                                err[0], err[1], err[2] = _E_DS, li, smp
                                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
                            dsv[smp, nv] = fv
                        nv += 1
                        i = j + 1
                    dsn[smp] = nv
                k += 1
                p = q + 1
                if buf[q] != 58:
                    break
            if (buf[q] == 10) != (smp == n_samples - 1):
                err[0], err[1] = (_E_COLUMNS if buf[q] == 10 else _E_TOO_MANY), li
                return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, 0, 0, err
        end = p - 1
        fields[rec, 10] = end - 1 if end > 0 and buf[end - 1] == 13 else end
        # ---- emit the split rows (bcftools norm -m-: other ALT alleles become REF)
        for k in range(nr):
            allele = k + 1
            rr = row + k
            for smp in range(n_samples):
                x = ga[smp, 0]
                y = ga[smp, 1]
                if na > 1:
                    if x > 0:
                        x = 1 if x == allele else 0
                    if y > 0:
                        y = 1 if y == allele else 0
                gt[rr, smp, 0] = x
                gt[rr, smp, 1] = y
                mk[rr, smp, 0] = x < 0
                mk[rr, smp, 1] = y < 0
                ph[rr, smp] = gph[smp]
                if x < 0 or y == -1:
                    ac[rr, smp] = -1
                elif y == -2:
                    ac[rr, smp] = 2 * x
                else:
                    ac[rr, smp] = x + y
                if has_ds:
                    m = dsn[smp]
                    if m == 0:
                        ds[rr, smp] = np.nan
                    elif k < m:
                        ds[rr, smp] = dsv[smp, k]
                    else:
                        ds[rr, smp] = dsv[smp, 0]
        row += nr
        rec += 1
    return gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, rec, row, err


@numba.njit(cache=True, nogil=True)
def _gather(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``buf[starts[i]:ends[i]]``: (data, int32 offsets) of an Arrow string array."""
    n = starts.shape[0]
    offsets = np.empty(n + 1, np.int32)
    total = 0
    offsets[0] = 0
    for i in range(n):
        total += ends[i] - starts[i]
        offsets[i + 1] = total
    data = np.empty(max(total, 1), np.uint8)
    for i in range(n):
        data[offsets[i] : offsets[i + 1]] = buf[starts[i] : ends[i]]
    return data, offsets


def _strings(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.StringArray:
    data, offsets = _gather(buf, np.ascontiguousarray(starts), np.ascontiguousarray(ends))
    arr = pa.StringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data))
    arr.validate(full=True)
    return arr


_MESSAGES = {
    _E_COLUMNS: "too few columns",
    _E_TOO_MANY: "too many columns",
    _E_POS: "POS is not a positive integer",
    _E_GT: "malformed GT",
    _E_ALLELE: "GT allele index beyond the ALT alleles",
    _E_PLOIDY: "ploidy above 2 is not supported",
    _E_DS: "DS is not a number",
    _E_QUAL: "QUAL is not a number",
    _E_UNSORTED: "position is below the previous record's on the same contig (sort the file, e.g. bcftools sort)",
}


def parse_vcf_text(buf: bytes | np.ndarray, *, n_samples: int, sample_names: list[str] | None = None) -> dict[str, Any]:
    """Parse data lines of a VCF (complete lines, header excluded) into split biallelic rows.

    Returns a dict with ``gt`` (rows, samples, 2) int8, ``phased``, ``alt_count``,
    ``dosage`` (or None), Arrow arrays ``chrom id ref alt filter``, numpy ``pos`` and
    ``qual``, ``line`` (0-based line index in ``buf`` of each row) and ``error``:
    None or ``(message, line_index, sample_index)``.
    """
    data = np.frombuffer(buf, dtype=np.uint8) if isinstance(buf, bytes | bytearray | memoryview) else buf
    n_lines = int(np.count_nonzero(data == 10))
    gt, mk, ph, ac, ds, row_rec, alt_se, fields, line_idx, pos, qual, _, rows, err = _parse_block(
        data, n_samples, n_lines
    )
    if err[0]:
        smp = int(err[2]) if err[0] in (_E_GT, _E_ALLELE, _E_PLOIDY, _E_DS) else None
        if err[0] in (_E_COLUMNS, _E_TOO_MANY):
            msg = f"expected {9 + n_samples if n_samples else 8} tab-separated columns"
            msg += f" (9 + {n_samples} samples)" if n_samples else " (no samples in the header)"
            msg += ", found " + ("fewer" if err[0] == _E_COLUMNS else "more")
        else:
            msg = _MESSAGES[int(err[0])]
        if smp is not None:
            who = sample_names[smp] if sample_names else str(smp + 1)
            msg += f" (sample {who})"
        return {"error": (msg, int(err[1]), smp), "n_rows": 0, "n_lines": n_lines}
    row_rec = row_rec[:rows]
    alt_se = alt_se[:rows]
    f = fields[row_rec]
    chrom = _strings(data, f[:, 0], f[:, 1] - 1)
    out: dict[str, Any] = {
        "error": None,
        "n_rows": rows,
        "n_lines": n_lines,
        "gt": gt[:rows],
        "mask": mk[:rows],
        "phased": ph[:rows],
        "alt_count": ac[:rows],
        "dosage": ds[:rows] if ds.shape[0] else None,
        "chrom": chrom,
        "pos": pos[row_rec],
        "id": _strings(data, f[:, 2], f[:, 3] - 1),
        "ref": _strings(data, f[:, 3], f[:, 4] - 1),
        "alt": _strings(data, alt_se[:, 0], alt_se[:, 1]),
        "qual": qual[row_rec],
        "filter": _strings(data, f[:, 6], f[:, 7] - 1),
        "line": line_idx[row_rec],
    }
    return out


# ------------------------------------------------------------------------------ reading text


def _bgzf_blocks(data: bytes | memoryview) -> tuple[list[tuple[int, int]], int]:
    """(offset, size) of the complete BGZF blocks in ``data``; bytes consumed."""
    blocks = []
    off = 0
    n = len(data)
    while off + 18 <= n:
        if data[off] != 0x1F or data[off + 1] != 0x8B or data[off + 3] & 4 == 0:
            raise ValueError("not BGZF")
        xlen = struct.unpack_from("<H", data, off + 10)[0]
        bsize = None
        x = off + 12
        while x < off + 12 + xlen:
            si1, si2, slen = data[x], data[x + 1], struct.unpack_from("<H", data, x + 2)[0]
            if si1 == 66 and si2 == 67 and slen == 2:
                bsize = struct.unpack_from("<H", data, x + 4)[0] + 1
            x += 4 + slen
        if bsize is None:
            raise ValueError("not BGZF")
        if off + bsize > n:
            break
        blocks.append((off, bsize))
        off += bsize
    return blocks, off


def _inflate(data: bytes, blocks: list[tuple[int, int]]) -> bytes:
    """Decompress BGZF blocks; a corrupt block raises ``zlib.error``.

    libdeflate (the ``deflate`` package; what htslib uses too) inflates a whole block in
    one call into a buffer of the block's ISIZE: about twice as fast as zlib here, and it
    releases the GIL, so groups of blocks run in parallel threads. zlib is the fallback.
    """
    out: list[bytes | bytearray] = []
    view = memoryview(data)
    for off, size in blocks:
        xlen = struct.unpack_from("<H", data, off + 10)[0]
        payload = view[off + 12 + xlen : off + size - 8]
        if _libdeflate is None:
            out.append(zlib.decompress(payload, wbits=-15))
            continue
        isize = struct.unpack_from("<I", data, off + size - 4)[0]
        try:
            text = _libdeflate.deflate_decompress(payload, isize)
        except _libdeflate.DeflateError as exc:
            raise zlib.error(f"{exc}") from None
        if len(text) != isize:
            raise zlib.error("the block's ISIZE does not match its data")
        out.append(text)
    return b"".join(out)


def _is_bgzf(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) == 18 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _text_pieces(path: Path, pool: cf.ThreadPoolExecutor) -> Iterator[bytes]:
    """Decompressed text of a .vcf / .vcf.gz in order (bgzip decompressed block-parallel)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic != b"\x1f\x8b":
        with open(path, "rb") as fh:
            while piece := fh.read(_BLOCK_BYTES):
                yield piece
        return
    if not _is_bgzf(path):
        with gzip.open(path, "rb") as gz:
            try:
                while piece := gz.read(_BLOCK_BYTES):
                    yield piece
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(f"corrupt gzip data ({exc})", file=path) from None
        return
    pending: deque[cf.Future[bytes]] = deque()
    rest = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_BGZF_GROUP)
            data = rest + chunk
            try:
                blocks, used = _bgzf_blocks(data)
            except (ValueError, struct.error):
                raise InputError("corrupt BGZF (bgzip) data", file=path) from None
            if blocks:
                pending.append(pool.submit(_inflate, data, blocks))
            rest = data[used:]
            while len(pending) > _IN_FLIGHT or (pending and not chunk):
                try:
                    yield pending.popleft().result()
                except zlib.error as exc:
                    raise InputError(f"corrupt BGZF (bgzip) data ({exc})", file=path) from None
            if not chunk:
                break
    if rest:
        raise InputError("truncated BGZF (bgzip) file", file=path)


def _bcf_pieces(path: Path) -> Iterator[bytes]:
    """A BCF file as VCF text (header, then records), formatted by htslib through cyvcf2."""
    try:
        from cyvcf2 import VCF
    except ImportError as exc:  # pragma: no cover - a dependency
        raise InputError("reading BCF needs cyvcf2 (pip install cyvcf2)", file=path) from exc
    try:
        reader = VCF(str(path), lazy=True, threads=1)
    except OSError as exc:
        raise InputError(f"htslib cannot read it as BCF ({exc})", file=path) from None
    try:
        yield reader.raw_header.encode()
        lines: list[str] = []
        size = 0
        for record in reader:
            line = str(record)
            lines.append(line)
            size += len(line)
            if size >= _BLOCK_BYTES:
                yield "".join(lines).encode()
                lines, size = [], 0
        if lines:
            yield "".join(lines).encode()
    finally:
        reader.close()


def _read_header(pieces: Iterator[bytes], path: Path) -> tuple[list[str], int, bytes]:
    """Samples, number of header lines and the text after the header."""
    buf = b""
    for piece in pieces:
        buf += piece
        i = buf.find(b"\n#CHROM")
        if i >= 0 and buf.find(b"\n", i + 1) >= 0:
            break
        if len(buf) > 256 << 20:
            break
    if not buf.startswith(b"##fileformat=VCF"):
        raise InputError("not a VCF file (the first line is not ##fileformat=VCF...)", file=path, line=1)
    i = buf.find(b"\n#CHROM")
    j = buf.find(b"\n", i + 1) if i >= 0 else -1
    if j < 0:
        raise InputError("no #CHROM header line", file=path)
    n_header = buf.count(b"\n", 0, i + 1) + 1
    try:
        columns = buf[i + 1 : j].decode("utf-8").rstrip("\r").split("\t")
    except UnicodeDecodeError:
        raise InputError("the #CHROM line is not UTF-8 text", file=path, line=n_header) from None
    if len(columns) < 8 or len(columns) == 9:
        raise InputError(
            "the #CHROM line needs 8 columns (CHROM..INFO), or FORMAT and at least one sample",
            file=path,
            line=n_header,
        )
    samples = columns[9:]
    seen: dict[str, int] = {}
    for k, s in enumerate(samples):
        if s in seen:
            raise InputError(f"duplicate sample name {s!r}", file=path, line=n_header, column=10 + k)
        seen[s] = k
    return samples, n_header, buf[j + 1 :]


# ------------------------------------------------------------------------------ writing


def _create_calls(
    stage: ArrayStage,
    name: str,
    *,
    shape: tuple[int, ...],
    dtype: Any,
    chunks: tuple[int, ...],
    dims: tuple[str, ...],
    fill_value: Any = None,
) -> Any:
    """A per-call array compressed as bio2zarr does it (Blosc, bit shuffle; lz4 for speed): smaller and faster.

    Measured on chunks of 10,000 samples x 838 variants (CPU time per chunk): bit shuffle
    makes int8 calls 2.4x smaller and encodes them 1.7x faster than no shuffle; lz4 level
    1 or 9 and blosclz are within 15 % of level 5, zstd level 1 is 1.5x smaller but 2x
    slower. A bool mask encodes faster without shuffle only when few calls are missing
    (4 ms instead of 9 at 2 % missing alleles, 19 ms instead of 8 and 2.7x larger at 47 %),
    so every per-call array keeps bit shuffle. ``call_dosage`` (float32) is bit-shuffled
    too: the fastest to encode of lz4 with bit, byte or no shuffle.
    """
    import numcodecs

    arr = stage.group.create_array(
        name,
        shape=shape,
        dtype=dtype,
        chunks=chunks,
        fill_value=fill_value,
        compressors=numcodecs.Blosc("lz4", 5, shuffle=numcodecs.Blosc.BITSHUFFLE),
    )
    arr.attrs["_ARRAY_DIMENSIONS"] = list(dims)
    if stage.main is None:
        stage.main = name
    return arr


class _StreamWriter:
    """Appends split rows to the VCF Zarr arrays in whole chunks (the arrays grow by resizing)."""

    def __init__(self, stage: ArrayStage, *, samples: list[str], variant_chunk: int) -> None:
        n = len(samples)
        vc = variant_chunk
        self.stage = stage
        self.n = n
        self.vc = vc
        self.size = 0
        wide = (vc, max(n, 1))

        def make(name: str, dtype: Any, chunks: tuple[int, ...], dims: tuple[str, ...], fill: Any = None) -> Any:
            shape = (0, *([n, 2][: len(dims) - 1]))
            if "samples" in dims:
                return _create_calls(stage, name, shape=shape, dtype=dtype, chunks=chunks, dims=dims, fill_value=fill)
            return stage.create(name, shape=shape, dtype=dtype, chunks=chunks, dims=dims, fill_value=fill)

        self.arrays = {
            "call_genotype": make("call_genotype", "int8", (*wide, 2), ("variants", "samples", "ploidy")),
            "call_genotype_mask": make("call_genotype_mask", "bool", (*wide, 2), ("variants", "samples", "ploidy")),
            "call_genotype_phased": make("call_genotype_phased", "bool", wide, ("variants", "samples")),
            "call_alt_count": make("call_alt_count", "int8", wide, ("variants", "samples")),
            "variant_contig": make("variant_contig", "int16", (vc,), ("variants",)),
            "variant_position": make("variant_position", "int32", (vc,), ("variants",)),
            "variant_id": make("variant_id", str, (vc,), ("variants",)),
            "variant_id_mask": make("variant_id_mask", "bool", (vc,), ("variants",)),
        }
        self.arrays["variant_allele"] = stage.create(
            "variant_allele", shape=(0, 2), dtype=str, chunks=(vc, 2), dims=("variants", "alleles")
        )
        stage.write("sample_id", np.asarray(samples, dtype=object), dims=("samples",))
        stage.main = "call_genotype"
        stage.attrs.update({"vcf_zarr_version": VCF_ZARR_VERSION, "source": "vcf"})
        # one chunk of rows is gathered in reused buffers, then written whole
        self.buffers = {
            k: np.empty((vc, *a.shape[1:]), dtype=a.dtype if a.dtype.kind in "biuf" else object)
            for k, a in self.arrays.items()
        }
        self.filled = 0
        self.has_dosage = False
        self.packed = create_packed(stage, n_variants=0, n_samples=n, variant_chunk=vc)

    def append(self, part: dict[str, Any]) -> None:
        """Append the rows of ``part`` (arrays named as the Zarr arrays; ``call_dosage`` may be None)."""
        m = len(part["variant_position"])
        if part.get("call_dosage") is not None and not self.has_dosage:
            self.has_dosage = True
            self.arrays["call_dosage"] = _create_calls(
                self.stage,
                "call_dosage",
                shape=(self.size, self.n),
                dtype="float32",
                chunks=(self.vc, max(self.n, 1)),
                dims=("variants", "samples"),
                fill_value=np.float32("nan"),
            )
            self.buffers["call_dosage"] = np.full((self.vc, self.n), np.nan, dtype=np.float32)
        i = 0
        while i < m:
            take = min(self.vc - self.filled, m - i)
            dst = slice(self.filled, self.filled + take)
            for k, buf in self.buffers.items():
                value = part.get(k)
                buf[dst] = np.nan if value is None else value[i : i + take]
            self.filled += take
            i += take
            if self.filled == self.vc:
                self._flush()

    def _flush(self) -> None:
        if not self.filled:
            return
        start, stop = self.size, self.size + self.filled
        for k, arr in self.arrays.items():
            arr.resize((stop, *arr.shape[1:]))
            arr[start:stop] = self.buffers[k][: self.filled]
        self.packed.resize((stop, self.packed.shape[1]))
        self.packed[start:stop] = pack_alt_count(self.buffers["call_alt_count"][: self.filled])
        self.size = stop
        self.filled = 0

    def finish(self, contigs: list[str]) -> None:
        self._flush()
        self.stage.write("contig_id", np.asarray(contigs, dtype=object), dims=("contigs",))


# ------------------------------------------------------------------------------ ingest


def _detect(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] == b"\x1f\x8b":
        if _is_bgzf(path):
            with open(path, "rb") as fh:
                blocks, _ = _bgzf_blocks(fh.read(70000))
            if blocks:
                with open(path, "rb") as fh:
                    first = _inflate(fh.read(blocks[0][1]), blocks[:1])
                if first[:3] == b"BCF":
                    return "bcf"
        return "vcf.gz"
    if head[:3] == b"BCF":
        return "bcf"
    return "vcf"


def ingest_vcf(
    lake: Lake,
    path: str | os.PathLike[str],
    *,
    name: str,
    variant_chunk: int | None = None,
    threads: int = 2,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a VCF/BCF file as the genotype dataset ``name`` (and the table ``name_variants``).

    Parameters
    ----------
    lake
        The lake to write into.
    path
        A ``.vcf``, bgzip ``.vcf.gz`` (plain gzip works, decompressed serially) or ``.bcf``
        file; the format is detected from the content.
    name
        Name of the genotype dataset; the variants table is ``{name}_variants``.
    variant_chunk
        Variants per Zarr chunk (default: about 8 M calls per chunk, at most 65,536 variants).
    threads
        Parser threads (decompression and parsing run on them; one more thread writes).
    progress
        Where to report progress (variants written).

    Returns
    -------
    DatasetInfo
        The catalog entry of the genotype dataset (encoding ``vcf-zarr`` v1).

    Raises
    ------
    InputError
        A missing or unreadable file, a malformed header or record (with its line), or
        unsorted positions. Nothing is added to the lake then.

    Examples
    --------
    >>> info = ingest_vcf(lake, "tests/data/genomics/vcf/sim.vcf.gz", name="simv")   # doctest: +SKIP
    >>> lake.open_array("simv")["call_genotype"].shape                                # doctest: +SKIP
    (1500, 250, 2)
    """
    validate_name(name)
    check_param(
        "ingest_vcf",
        "variant_chunk",
        variant_chunk,
        variant_chunk is None or (isinstance(variant_chunk, int) and variant_chunk >= 1),
        "a positive integer or None",
    )
    check_param("ingest_vcf", "threads", threads, isinstance(threads, int) and threads >= 1, "a positive integer")
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", file=path)
    progress = progress or NullProgress()
    kind = _detect(path)
    params = {"name": name, "path": str(path), "variant_chunk": variant_chunk}
    # the run is entered first: on an error its staged data is removed only after the
    # worker threads (which may be writing into it) have stopped
    with (
        lake.run("ingest vcf", params=params, inputs=[str(path)]) as run,
        cf.ThreadPoolExecutor(1, thread_name_prefix="biolake-hash") as hasher,
        cf.ThreadPoolExecutor(threads, thread_name_prefix="biolake-vcf") as pool,
        cf.ThreadPoolExecutor(1, thread_name_prefix="biolake-write") as write_pool,
        progress.task(f"Ingesting {path.name} (variants)", total=None) as task,
    ):
        digest = hasher.submit(content_hash, path)
        pieces = _bcf_pieces(path) if kind == "bcf" else _text_pieces(path, pool)
        samples, n_header, rest = _read_header(pieces, path)
        n = len(samples)
        vc = max(1, int(variant_chunk or min(default_variant_chunk(n), _MAX_VARIANT_CHUNK)))
        stage = run.array(
            name,
            source=str(path.resolve()),
            encoding=GENOTYPE_ENCODING,
            encoding_version=GENOTYPE_ENCODING_VERSION,
            attrs={"format": kind, "n_samples": n},
        )
        writer = _StreamWriter(stage, samples=samples, variant_chunk=vc)
        table = run.table(f"{name}_variants", source=str(path.resolve()), attrs={"genotypes": name})
        state = _IngestState(path=path, kind=kind, n_header=n_header, samples=samples)

        def blocks() -> Iterator[bytes | memoryview]:
            """Complete lines; a line split between two pieces is joined in a small block of its own."""
            tail = rest
            for piece in pieces:
                last = piece.rfind(b"\n")
                if last < 0:
                    tail += piece
                    continue
                start = 0
                if tail:
                    start = piece.find(b"\n") + 1
                    yield tail + piece[:start]
                if last + 1 > start:
                    yield memoryview(piece)[start : last + 1]
                tail = piece[last + 1 :]
            if tail:
                yield tail if tail.endswith(b"\n") else tail + b"\n"

        parsing: deque[cf.Future[dict[str, Any]]] = deque()
        writing: cf.Future[None] | None = None
        next_line = n_header + 1

        def drain(limit: int) -> None:
            nonlocal writing, next_line
            while len(parsing) > limit:
                res = parsing.popleft().result()
                part = state.check(res, next_line)
                next_line += res["n_lines"]
                if writing is not None:
                    writing.result()
                writing = write_pool.submit(_write_part, writer, table, part)
                task.update(state.n_rows)

        for block in blocks():
            parsing.append(pool.submit(parse_vcf_text, block, n_samples=n, sample_names=samples))
            drain(_IN_FLIGHT)
        drain(0)
        if writing is not None:
            writing.result()
        if state.n_rows == 0:
            raise InputError("no variant records", file=path)
        writer.finish(state.contigs)
        stage.attrs["n_variants"] = state.n_rows
        task.update(state.n_rows)
        run.set_input_hash(str(path), digest.result())
        run.annotate(name, source_hash=digest.result())
        run.annotate(f"{name}_variants", source_hash=digest.result())
    return lake.info(name)


class _IngestState:
    """Checks across blocks (contig order, sort order) and maps chromosomes to contig indices."""

    def __init__(self, *, path: Path, kind: str, n_header: int, samples: list[str]) -> None:
        self.path = path
        self.kind = kind
        self.n_header = n_header
        self.samples = samples
        self.contig_index: dict[str, int] = {}
        self.contigs: list[str] = []
        self.last_contig: str | None = None
        self.last_pos = -1
        self.n_rows = 0

    def error(self, message: str, line: int) -> InputError:
        if self.kind == "bcf":
            return InputError(message, file=self.path, record=line - self.n_header)
        return InputError(message, file=self.path, line=line)

    def check(self, res: dict[str, Any], first_line: int) -> dict[str, Any]:
        if res["error"] is not None:
            message, line_idx, _ = res["error"]
            raise self.error(message, first_line + line_idx)
        if res["n_rows"] == 0:
            return {}
        chrom = res["chrom"]
        codes = chrom.dictionary_encode()
        names = codes.dictionary.to_pylist()
        idx = codes.indices.to_numpy()
        # first row of every run of one chromosome
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        pos = res["pos"]
        for s in starts:
            c = names[idx[s]]
            if c == self.last_contig:
                if pos[s] < self.last_pos:
                    raise self.error(_MESSAGES[_E_UNSORTED], first_line + int(res["line"][s]))
            elif c in self.contig_index:
                raise self.error(
                    f"contig {c!r} reappears after other contigs (group records by contig, e.g. bcftools sort)",
                    first_line + int(res["line"][s]),
                )
            else:
                self.contig_index[c] = len(self.contigs)
                self.contigs.append(c)
            self.last_contig = c
            e = starts[starts > s]
            self.last_pos = int(pos[(e[0] if len(e) else len(pos)) - 1])
        if pos.max() >= 2**31:
            bad = int(np.argmax(pos >= 2**31))
            raise self.error("POS is outside [0, 2^31)", first_line + int(res["line"][bad]))
        mapping = np.array([self.contig_index[c] for c in names], dtype=np.int16)
        self.n_rows += res["n_rows"]
        ids = res["id"]
        gt = res["gt"]
        return {
            "call_genotype": gt,
            "call_genotype_mask": res["mask"],
            "call_genotype_phased": res["phased"],
            "call_alt_count": res["alt_count"],
            "call_dosage": res["dosage"],
            "variant_contig": mapping[idx],
            "variant_position": pos.astype(np.int32),
            "variant_id": ids.to_numpy(zero_copy_only=False),
            "variant_id_mask": np.asarray(ids.to_numpy(zero_copy_only=False) == "."),
            "variant_allele": np.stack(
                [res["ref"].to_numpy(zero_copy_only=False), res["alt"].to_numpy(zero_copy_only=False)], 1
            ),
            "_batch": pa.RecordBatch.from_arrays(
                [
                    chrom,
                    pa.array(pos),
                    ids,
                    res["ref"],
                    res["alt"],
                    pa.array(res["qual"], pa.float32(), from_pandas=True),
                    res["filter"],
                ],
                schema=vcf_variants_schema(),
            ),
        }


def _write_part(writer: _StreamWriter, table: Any, part: dict[str, Any]) -> None:
    if not part:
        return
    batch = part.pop("_batch")
    writer.append(part)
    table.write(batch)
