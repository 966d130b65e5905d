"""The polygenic score kernel: weighted effect-allele dosages summed per sample, as ``plink2 --score``.

For a scored variant with weight ``w`` (per score) and effect-allele dosage
``e = ALT count`` (or ``2 − ALT count`` when the effect allele is REF), the variant adds
``w · t(e)`` to the sample's score sum, where ``t`` is the model (additive ``e``,
dominant ``min(e, 1)``, recessive ``max(e − 1, 0)``). A missing call adds ``w · μ`` with
mean imputation (plink2's default: ``μ = 2p`` additive, ``μ = p`` dominant/recessive, ``p``
the effect-allele frequency among the scored samples with a call) and nothing with
``no-mean-imputation``. Per sample the kernel also counts the missing calls (``ALLELE_CT =
2 × (scored − missing)``) and sums the observed ``t(e)`` (``NAMED_ALLELE_DOSAGE_SUM``).

:func:`score_rows` is the numba kernel (GIL released); :func:`score_task` reads one block
of the lake and runs it (a picklable task for any backend).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from biolake.genomics.store import Block, _open_group, has_packed, read_block
from biolake.lake.arrays import read_rows

__all__ = ["ScoreTask", "score_packed", "score_rows", "score_task"]


@numba.njit(cache=True, nogil=True)
def _code_table(
    total: int, missing: int, n: int, sw: bool, model: int, w: np.ndarray, impute: bool, out: np.ndarray, slot: int
) -> None:
    """``out[slot, code, :]``: what a call with code 0/1/2 (ALT count) or 3 (missing) adds.

    ``total`` is the variant's ALT allele count over its ``n - missing`` calls. Columns
    ``0..S-1`` are the scores, ``S`` the observed dosage, ``S+1`` the missing count.
    """
    n_scores = w.size
    called = n - missing
    if sw:
        total = 2 * called - total
    mu = 0.0
    if impute and called > 0:
        p = total / (2.0 * called)
        mu = 2.0 * p if model == 0 else p
    for c in range(3):
        e = 2 - c if sw else c
        if model == 1:
            t = 1.0 if e >= 1 else 0.0
        elif model == 2:
            t = 1.0 if e == 2 else 0.0
        else:
            t = float(e)
        for s in range(n_scores):
            out[slot, c, s] = w[s] * t
        out[slot, c, n_scores] = t
        out[slot, c, n_scores + 1] = 0.0
    for s in range(n_scores):
        out[slot, 3, s] = w[s] * mu
    out[slot, 3, n_scores] = 0.0
    out[slot, 3, n_scores + 1] = 1.0


@numba.njit(cache=True, nogil=True)
def _variant_table(
    g: np.ndarray, sw: bool, model: int, w: np.ndarray, impute: bool, out: np.ndarray, slot: int
) -> None:
    """:func:`_code_table` of one row of ALT counts (-1 missing)."""
    n = g.size
    total = 0
    missing = 0
    for j in range(n):  # branch-free: vectorized
        c = np.int64(g[j])
        total += max(c, 0)
        missing += c < 0
    _code_table(total, missing, n, sw, model, w, impute, out, slot)


@numba.njit(cache=True, nogil=True)
def _combine(tab: np.ndarray, big: np.ndarray) -> None:
    """``big[h, code]``: the sum of the four tables ``tab[4h..4h+3]`` at the 2-bit codes packed in ``code``."""
    width = tab.shape[2]
    for h in range(big.shape[0]):
        o = 4 * h
        for code in range(256):
            a = code & 3
            b = (code >> 2) & 3
            c = (code >> 4) & 3
            d = (code >> 6) & 3
            for t in range(width):
                big[h, code, t] = ((tab[o, a, t] + tab[o + 1, b, t]) + tab[o + 2, c, t]) + tab[o + 3, d, t]


@numba.njit(cache=True, nogil=True)
def score_rows(
    counts: np.ndarray,
    rows: np.ndarray,
    swap: np.ndarray,
    model: np.ndarray,
    weights: np.ndarray,
    impute: bool,
    acc: np.ndarray,
) -> None:
    """Add rows ``rows`` of ``counts`` (ALT counts, -1 missing) to ``acc`` in place.

    ``acc`` is samples × (scores + 2): the score sums, then the observed dosage sum and
    the number of missing calls. Eight variants are added at once, as two
    tables of the 4⁴ = 256 genotype combinations of four variants (the 2-bit code of a
    call is ``count & 3``, 3 for missing): each sample costs two table rows per eight variants.
    """
    n = counts.shape[1]
    n_scores = weights.shape[1]
    width = n_scores + 2
    tab = np.zeros((8, 4, width))
    big = np.empty((2, 256, width))
    n_rows = rows.size
    for q in range(0, n_rows, 8):
        k = min(8, n_rows - q)
        for v in range(8):
            if v < k:
                r = q + v
                _variant_table(counts[rows[r]], swap[r], model[r], weights[r], impute, tab, v)
            else:
                tab[v, :, :] = 0.0
        _combine(tab, big)
        g = [counts[rows[q + min(v, k - 1)]] for v in range(8)]  # absent rows repeat a present one (zero table)
        g0, g1, g2, g3, g4, g5, g6, g7 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
        lo = big[0]
        hi = big[1]
        for j in range(n):
            ca = (g0[j] & 3) | ((g1[j] & 3) << 2) | ((g2[j] & 3) << 4) | ((g3[j] & 3) << 6)
            cb = (g4[j] & 3) | ((g5[j] & 3) << 2) | ((g6[j] & 3) << 4) | ((g7[j] & 3) << 6)
            for t in range(width):
                acc[j, t] += lo[ca, t] + hi[cb, t]


def _byte_counts() -> np.ndarray:
    """Per packed byte: ALT alleles of its non-missing calls + (missing calls << 32)."""
    out = np.zeros(256, dtype=np.int64)
    for b in range(256):
        for s in range(4):
            c = (b >> (2 * s)) & 3
            out[b] += (1 << 32) if c == 3 else c
    return out


_BYTE_COUNTS = _byte_counts()


@numba.njit(cache=True, nogil=True)
def _quad(p0: np.uint8, p1: np.uint8, p2: np.uint8, p3: np.uint8) -> np.uint32:
    """Four packed bytes (four variants × four samples of 2-bit codes) transposed: byte ``s`` of the
    result holds sample ``s``'s codes of the four variants (variant ``v`` at bits ``2v``)."""
    x = np.uint32(p0) | (np.uint32(p1) << 8) | (np.uint32(p2) << 16) | (np.uint32(p3) << 24)
    t = ((x >> 12) ^ x) & np.uint32(0x0000F0F0)
    x = x ^ t ^ (t << 12)
    t = ((x >> 6) ^ x) & np.uint32(0x00CC00CC)
    return x ^ t ^ (t << 6)


@numba.njit(cache=True, nogil=True)
def score_packed(
    packed: np.ndarray,
    n: int,
    rows: np.ndarray,
    swap: np.ndarray,
    model: np.ndarray,
    weights: np.ndarray,
    impute: bool,
    byte_counts: np.ndarray,
    acc: np.ndarray,
) -> None:
    """:func:`score_rows` on 2-bit packed rows (four samples per byte, :func:`biolake.io.plink.pack_alt_count`).

    ``acc`` has ``4 × packed.shape[1]`` rows (padding samples at the end are scored and
    dropped by the caller). The 2-bit codes of eight variants are turned into two table
    indices per sample with a 4 × 4 transpose of 2-bit fields per four bytes, so the
    packed rows are read as they are stored, without decoding them.
    """
    nb = packed.shape[1]
    n_scores = weights.shape[1]
    width = n_scores + 2
    tab = np.zeros((8, 4, width))
    big = np.empty((2, 256, width))
    n_rows = rows.size
    lo = big[0]
    hi = big[1]
    for q in range(0, n_rows, 8):
        k = min(8, n_rows - q)
        for v in range(8):
            if v < k:
                r = q + v
                row = packed[rows[r]]
                both = np.int64(0)
                for b in range(nb):
                    both += byte_counts[row[b]]
                _code_table(both & 0xFFFFFFFF, both >> 32, n, swap[r], model[r], weights[r], impute, tab, v)
            else:
                tab[v, :, :] = 0.0
        _combine(tab, big)
        g = [packed[rows[q + min(v, k - 1)]] for v in range(8)]  # absent rows repeat a present one (zero table)
        g0, g1, g2, g3, g4, g5, g6, g7 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
        for b in range(nb):
            xa = _quad(g0[b], g1[b], g2[b], g3[b])
            xb = _quad(g4[b], g5[b], g6[b], g7[b])
            j0 = 4 * b
            for s in range(4):
                ca = (xa >> (8 * s)) & 255
                cb = (xb >> (8 * s)) & 255
                j = j0 + s
                for t in range(width):
                    acc[j, t] += lo[ca, t] + hi[cb, t]


@dataclass(frozen=True)
class ScoreTask:
    """One block of variants to score: the block, the rows of it used, and their weights."""

    block: Block
    rows: np.ndarray
    swap: np.ndarray
    model: np.ndarray
    weights: np.ndarray


def score_task(task: ScoreTask, *, impute: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the task's block and score it: (sums samples × scores, observed dosage sums, missing counts).

    Reads the 2-bit ``call_genotype_packed`` copy when the dataset has it (a quarter of the
    bytes of the int8 counts, stored uncompressed), else the ALT counts.
    """
    block = task.block
    width = task.weights.shape[1] + 2
    if block.samples is None and has_packed(block.path):
        group = _open_group(block.path)
        packed = np.ascontiguousarray(read_rows(block.path, "call_genotype_packed", block.start, block.stop))
        n = int(group["sample_id"].shape[0])
        acc = np.zeros((4 * packed.shape[1], width))
        score_packed(packed, n, task.rows, task.swap, task.model, task.weights, impute, _BYTE_COUNTS, acc)
        acc = acc[:n]
    else:
        data: dict[str, Any] = read_block(block, annotations=False)
        counts = np.ascontiguousarray(data["alt_count"], dtype=np.int8)
        acc = np.zeros((counts.shape[1], width))
        score_rows(counts, task.rows, task.swap, task.model, task.weights, impute, acc)
    return acc[:, :-2], acc[:, -2].copy(), np.rint(acc[:, -1]).astype(np.int64)
