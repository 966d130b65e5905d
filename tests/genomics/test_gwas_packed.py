"""The 2-bit packed genotype copy and the linear-regression kernel that reads it.

The packed kernel sums per-byte lookup tables instead of per-sample products; its
statistics must equal those of the int8 kernel (itself tested against plink2 and an
independent float64 fit) to rounding, for any sample subset and any missing calls.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.io.plink import pack_alt_count
from biolake.stats.linreg import linreg_block, linreg_prepare, packed_prep


def test_pack_alt_count__hand_packed_bytes():
    """Sample j at bits 2·(j % 4): [0, 1, 2, missing] → 0 + 1·4 + 2·16 + 3·64 = 228; [2] → 2."""
    counts = np.array([[0, 1, 2, -1, 2], [2, 2, 2, 2, -1]], dtype=np.int8)
    assert pack_alt_count(counts).tolist() == [[228, 2], [170, 3]]


def _compare(counts: np.ndarray, y: np.ndarray, cov: np.ndarray, samples: np.ndarray | None) -> None:
    sel = np.arange(counts.shape[1]) if samples is None else samples
    prep = linreg_prepare(y[sel], covariates=cov[sel])
    ref = linreg_block(counts[:, sel], prep)
    got = linreg_block(
        None, prep, packed=pack_alt_count(counts), packed_prep=packed_prep(prep, samples=samples, n_all=counts.shape[1])
    )
    for key in ("obs_ct", "errcode", "a1_freq"):
        np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
    for key in ("beta", "se", "stat", "p"):
        a, b = got[key], ref[key]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=key)
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-9, atol=1e-300, err_msg=key)


def test_linreg_block__packed_equals_int8_with_missing_and_subset():
    rng = np.random.default_rng(7)
    n, m = 503, 300  # n not a multiple of 4: padding samples in the last byte
    counts = rng.binomial(2, rng.uniform(0.02, 0.5, m)[:, None], size=(m, n)).astype(np.int8)
    counts[rng.random((m, n)) < 0.03] = -1
    counts[:5] = 1  # constant
    counts[5, :] = -1  # no call
    counts[6, :-3] = -1  # too few calls
    y = rng.normal(size=n) + 0.3 * counts[10].clip(0)
    cov = rng.normal(size=(n, 4))
    _compare(counts, y, cov, None)
    _compare(counts, y, cov, np.sort(rng.choice(n, 400, replace=False)))


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(10, 60), m=st.integers(1, 20), k=st.integers(0, 3), seed=st.integers(0, 2**31), miss=st.floats(0, 0.2)
)
def test_linreg_block__packed_equals_int8_property(n, m, k, seed, miss):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 3, size=(m, n)).astype(np.int8)
    counts[rng.random((m, n)) < miss] = -1
    _compare(counts, rng.normal(size=n), rng.normal(size=(n, k)), None)
