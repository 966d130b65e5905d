"""The 2-bit packed PRS kernel (:func:`biolake.precision.prs.kernel.score_packed`) against an
independent float64 numpy computation of plink2's ``--score`` sums.

Reference (numpy, written from plink2's documented definitions, not from the kernel)::

    e   = ALT count, or 2 - ALT count when the effect allele is REF (swap)
    t   = e (additive), min(e, 1) (dominant), e == 2 (recessive)
    p   = effect-allele frequency among the calls of the variant; mu = 2p additive, p otherwise
    sum = sum_v w_v * (t if called else mu)          (mean imputation)
"""

from __future__ import annotations

import numpy as np
import pytest

from biolake.io.plink import pack_alt_count
from biolake.precision.prs.kernel import _BYTE_COUNTS, _quad, score_packed, score_rows


def _reference(counts, swap, model, w, impute):
    called = counts >= 0
    e = np.where(swap[:, None], 2 - counts, counts).astype(float)
    t = np.where(model[:, None] == 1, np.minimum(e, 1), np.where(model[:, None] == 2, (e == 2) * 1.0, e))
    n_called = called.sum(axis=1)
    p = np.where(called, e, 0).sum(axis=1) / np.maximum(2.0 * n_called, 1)
    mu = np.where(model == 0, 2 * p, p) if impute else np.zeros(len(p))
    dos = np.where(called, t, mu[:, None])
    sums = dos.T @ w
    observed = np.where(called, t, 0).sum(axis=0)
    missing = (~called).sum(axis=0)
    return sums, observed, missing


def test_quad__transposes_four_variants_by_four_samples():
    # variant v, sample s has code (v + s) % 4: byte v = sum_s code << 2s
    p = [sum(((v + s) % 4) << (2 * s) for s in range(4)) for v in range(4)]
    x = int(_quad(np.uint8(p[0]), np.uint8(p[1]), np.uint8(p[2]), np.uint8(p[3])))
    for s in range(4):
        assert (x >> (8 * s)) & 255 == sum(((v + s) % 4) << (2 * v) for v in range(4))


@pytest.mark.parametrize("impute", [True, False])
@pytest.mark.parametrize("n", [1, 7, 13, 64])
def test_score_packed__equals_float64_reference(n, impute):
    rng = np.random.default_rng(n)
    m, k = 37, 3  # not a multiple of 8: a partial last group
    counts = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    counts[rng.random((m, n)) < 0.1] = -1
    counts[5] = -1  # a variant without any call
    swap = rng.random(m) < 0.5
    model = rng.integers(0, 3, size=m).astype(np.int8)
    w = rng.normal(size=(m, k))
    rows = np.sort(rng.choice(m, size=29, replace=False)).astype(np.int64)
    packed = pack_alt_count(counts)
    acc = np.zeros((4 * packed.shape[1], k + 2))
    score_packed(packed, n, rows, swap[rows], model[rows], w[rows], impute, _BYTE_COUNTS, acc)
    sums, observed, missing = _reference(counts[rows], swap[rows], model[rows], w[rows], impute)
    np.testing.assert_allclose(acc[:n, :k], sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(acc[:n, k], observed, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.rint(acc[:n, k + 1]).astype(int), missing)
    # the int8 kernel adds the same table rows in the same order: identical sums
    acc8 = np.zeros((n, k + 2))
    score_rows(counts, rows, swap[rows], model[rows], w[rows], impute, acc8)
    np.testing.assert_array_equal(acc[:n], acc8)
