"""Tests of biolake.stats.hwe: plink2 --hardy agreement, exactness against enumeration, properties."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.stats.hwe import hwe_exact_p, hwe_exact_p_many, hwe_test

DATA = Path(__file__).parents[1] / "data" / "genomics"

counts = st.integers(min_value=0, max_value=60)


def _read_hardy(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, sep="\t", dtype={"P": str, "MIDP": str})


def _printed(x: float) -> float:
    return float(f"{x:.6g}")


def brute_force_p(n_het: int, n_hom1: int, n_hom2: int, *, midp: bool = False) -> float:
    """Exact p-value by enumerating every table with the same allele counts (rational arithmetic)."""
    n = n_het + n_hom1 + n_hom2
    if n == 0:
        return 0.5 if midp else 1.0
    n_a = 2 * n_hom1 + n_het
    n_b = 2 * n - n_a
    probs = {}
    for h in range(n_a % 2, min(n_a, n_b) + 1, 2):
        hom_a = (n_a - h) // 2
        hom_b = n - h - hom_a
        probs[h] = Fraction(
            math.factorial(n) * 2**h * math.factorial(n_a) * math.factorial(n_b),
            math.factorial(h) * math.factorial(hom_a) * math.factorial(hom_b) * math.factorial(2 * n),
        )
    obs = probs[n_het]
    total = sum(probs.values())
    assert total == 1
    tail = sum(p for p in probs.values() if p <= obs)
    if midp:
        tail -= sum(p for p in probs.values() if p == obs) / 2
    return float(tail)


def lgamma_p(n_het: int, n_hom1: int, n_hom2: int) -> float:
    """Independent float computation in log space (lgamma), for large samples."""
    n = n_het + n_hom1 + n_hom2
    n_a = 2 * n_hom1 + n_het
    n_b = 2 * n - n_a
    hs = np.arange(n_a % 2, min(n_a, n_b) + 1, 2)
    lg = np.vectorize(math.lgamma)
    hom_a = (n_a - hs) // 2
    hom_b = n - hs - hom_a
    logp = hs * math.log(2) - lg(hs + 1) - lg(hom_a + 1) - lg(hom_b + 1)
    obs = logp[np.searchsorted(hs, n_het)]
    m = logp.max()
    w = np.exp(logp - m)
    return float(w[logp <= obs + 1e-12].sum() / w.sum())


def test_hwe_test__matches_plink2_hardy() -> None:
    """plink2 --bfile sim --hardy --out ref (PLINK v2.00a3.5): P equal in all 6 printed digits."""
    ref = _read_hardy("ref.hardy")
    p = hwe_test(ref["HET_A1_CT"].to_numpy(), ref["HOM_A1_CT"].to_numpy(), ref["TWO_AX_CT"].to_numpy())
    expected = ref["P"].astype(float).to_numpy()
    np.testing.assert_allclose(p, expected, rtol=2e-5, atol=0)
    assert [_printed(x) for x in p] == expected.tolist()


def test_hwe_test__matches_plink2_hardy_midp() -> None:
    """plink2 --bfile sim --hardy midp --out ref_midp (PLINK v2.00a3.5): MIDP equal in all printed digits."""
    ref = _read_hardy("ref_midp.hardy")
    p = hwe_test(ref["HET_A1_CT"], ref["HOM_A1_CT"], ref["TWO_AX_CT"], midp=True)
    expected = ref["MIDP"].astype(float).to_numpy()
    np.testing.assert_allclose(p, expected, rtol=2e-5, atol=0)
    assert [_printed(x) for x in p] == expected.tolist()


@pytest.mark.parametrize(
    ("het", "hom1", "hom2", "midp", "expected"),
    [
        (0, 0, 0, False, 1.0),
        (0, 0, 0, True, 0.5),
        (0, 100, 0, False, 1.0),  # one allele only: a single possible table
        (0, 100, 0, True, 0.5),
        (50, 25, 25, False, 1.0),  # the most likely table
    ],
)
def test_hwe_test__edge_cases(het: int, hom1: int, hom2: int, midp: bool, expected: float) -> None:
    """plink2 --hardy prints P=1 (MIDP=0.5) for a variant without calls and for a monomorphic one."""
    assert hwe_test(het, hom1, hom2, midp=midp) == expected


@settings(max_examples=200, deadline=None)
@given(counts, counts, counts, st.booleans())
def test_hwe_exact_p__equals_enumeration(het: int, hom1: int, hom2: int, midp: bool) -> None:
    """Against exact rational enumeration of the conditional distribution (Wigginton et al. 2005, eq. 2)."""
    expected = brute_force_p(het, hom1, hom2, midp=midp)
    assert hwe_test(het, hom1, hom2, midp=midp) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(counts, counts, counts, st.booleans())
def test_hwe_exact_p__in_unit_interval_and_symmetric(het: int, hom1: int, hom2: int, midp: bool) -> None:
    p = hwe_test(het, hom1, hom2, midp=midp)
    assert 0.0 <= p <= 1.0
    assert hwe_test(het, hom2, hom1, midp=midp) == p
    if midp:
        assert p <= hwe_test(het, hom1, hom2)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts), min_size=1, max_size=20), st.booleans())
def test_hwe_exact_p_many__equals_scalar_python_kernel(rows: list[tuple[int, int, int]], midp: bool) -> None:
    """The compiled vectorized kernel equals the pure-Python original of the scalar kernel exactly."""
    arr = np.array(rows, dtype=np.int64)
    got = hwe_exact_p_many(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), midp)
    expected = [hwe_exact_p.py_func(int(a), int(b), int(c), midp) for a, b, c in rows]
    assert got.tolist() == expected


@pytest.mark.parametrize(
    ("het", "hom1", "hom2"),
    [(2000, 1500, 1500), (1000, 2000, 2000), (3000, 1000, 1000), (4100, 450, 450), (10, 4000, 990)],
)
def test_hwe_test__large_samples_match_log_space_computation(het: int, hom1: int, hom2: int) -> None:
    assert hwe_test(het, hom1, hom2) == pytest.approx(lgamma_p(het, hom1, hom2), rel=1e-9)


@pytest.mark.parametrize("hom", [400, 480, 500])
def test_hwe_test__tiny_p_values_resolved(hom: int) -> None:
    """No heterozygote among 2·hom samples: p down to 1e-301 resolved (the sums are rescaled, not overflowed)."""
    n = 2 * hom
    lg = math.lgamma
    # P(0 heterozygotes); the other tail (all heterozygotes) is far less likely, so p ≈ P(observed)
    log_p0 = lg(n + 1) + 2 * lg(2 * hom + 1) - 2 * lg(hom + 1) - lg(2 * n + 1)
    assert hwe_test(0, hom, hom) == pytest.approx(math.exp(log_p0), rel=1e-9)


def test_hwe_test__underflow_gives_zero_not_nan() -> None:
    p = hwe_test([0, 20_000], [50_000, 0], [50_000, 0])
    assert p.tolist() == [0.0, 0.0]


def test_hwe_test__broadcasts_and_keeps_shape() -> None:
    p = hwe_test(np.array([[10, 20], [30, 40]]), 5, 5)
    assert p.shape == (2, 2)
    assert p[0, 0] == hwe_test(10, 5, 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 2, 3), "The 'n_het' parameter of hwe_test must be non-negative counts; got -1"),
        ((1, 2.5, 3), "The 'n_hom1' parameter of hwe_test must be integer counts; got 2.5"),
        ((1, 2, 2**31), "The 'n_hom2' parameter of hwe_test must be counts below 2**31; got 2147483648"),
    ],
)
def test_hwe_test__bad_counts(args: tuple[int, ...], message: str) -> None:
    with pytest.raises(InputError) as err:
        hwe_test(*args)
    assert str(err.value) == message


def test_hwe_test__bad_midp() -> None:
    with pytest.raises(InputError, match="The 'midp' parameter of hwe_test must be True or False; got 'yes'"):
        hwe_test(1, 2, 3, midp="yes")


def test_hwe_test__shapes_that_do_not_broadcast() -> None:
    with pytest.raises(InputError, match="must be of a shape that broadcasts"):
        hwe_test([1, 2], [1, 2, 3], 0)
