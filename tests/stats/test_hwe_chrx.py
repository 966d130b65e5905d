"""Tests of the chrX HWE exact test (Graffelman & Weir 2016) in biolake.stats.hwe.

References: plink2 2.00a3.5 ``.hardy.x`` outputs made by tests/data/reference/genomics/make_chrx_reference.sh::

    plink2 --bfile chrx --hardy --out ref          # P
    plink2 --bfile chrx --hardy midp --out ref_midp  # MIDP
    plink2 --bfile tiny --hardy --out tiny; plink2 --bfile tiny --hardy midp --out tiny_midp

and exact rational enumeration of the distribution of Graffelman & Weir (2016), eq. 4::

    P = n_A! n_B! n_f! n_m! 2^{n_AB} / (n_AA! n_AB! n_BB! m_A! m_B! (2 n_f + n_m)!)
"""

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
from biolake.stats.hwe import hwe_chrx_exact_p, hwe_chrx_exact_p_many, hwe_test, hwe_test_chrx

DATA = Path(__file__).parents[1] / "data" / "genomics" / "chrx"
RTOL = 2e-5  # plink2 prints 6 significant digits

counts = st.integers(min_value=0, max_value=12)


def _tables(het: int, hom1: int, hom2: int, m1: int, m2: int) -> tuple[Fraction, list[Fraction]]:
    """Probability of the observed table and of every table with the same sexes and allele totals."""
    nf, nm = het + hom1 + hom2, m1 + m2
    n_a = 2 * hom1 + het + m1
    n_b = 2 * nf + nm - n_a
    f = math.factorial
    const = Fraction(f(n_a) * f(n_b) * f(nf) * f(nm), f(2 * nf + nm))

    def prob(h: int, a: int, b: int, x1: int, x2: int) -> Fraction:
        return const * Fraction(2**h, f(h) * f(a) * f(b) * f(x1) * f(x2))

    probs = []
    for x1 in range(0, nm + 1):
        f1 = n_a - x1
        if not 0 <= f1 <= 2 * nf:
            continue
        for h in range(f1 % 2, min(f1, 2 * nf - f1) + 1, 2):
            a = (f1 - h) // 2
            probs.append(prob(h, a, nf - a - h, x1, nm - x1))
    assert sum(probs) == 1
    return prob(het, hom1, hom2, m1, m2), probs


def brute_force_chrx_p(het: int, hom1: int, hom2: int, m1: int, m2: int, *, midp: bool = False) -> float:
    """Exact p-value by enumerating every table (rational arithmetic)."""
    if het + hom1 + hom2 + m1 + m2 == 0:
        return 0.5 if midp else 1.0
    obs, probs = _tables(het, hom1, hom2, m1, m2)
    tail = sum(p for p in probs if p <= obs)
    if midp:
        tail -= sum(p for p in probs if p == obs) / 2
    return float(tail)


def lgamma_chrx_p(het: int, hom1: int, hom2: int, m1: int, m2: int) -> float:
    """Independent float computation in log space (lgamma) over all tables, for large samples without ties."""
    nf, nm = het + hom1 + hom2, m1 + m2
    n_a = 2 * hom1 + het + m1
    lg = math.lgamma
    logs = []
    for x1 in range(0, nm + 1):
        f1 = n_a - x1
        if not 0 <= f1 <= 2 * nf:
            continue
        hs = np.arange(f1 % 2, min(f1, 2 * nf - f1) + 1, 2)
        a = (f1 - hs) // 2
        b = nf - a - hs
        lga = np.vectorize(lg)
        logs.append(hs * math.log(2) - lga(hs + 1) - lga(a + 1) - lga(b + 1) - lg(x1 + 1) - lg(nm - x1 + 1))
    logp = np.concatenate(logs)
    obs = het * math.log(2) - lg(het + 1) - lg(hom1 + 1) - lg(hom2 + 1) - lg(m1 + 1) - lg(m2 + 1)
    top = logp.max()
    w = np.exp(logp - top)
    return float(w[logp <= obs + 1e-9].sum() / w.sum())


def _hardy_x(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, sep="\t")


def _counts(frame: pd.DataFrame) -> list[np.ndarray]:
    cols = ("FEMALE_HET_A1_CT", "FEMALE_HOM_A1_CT", "FEMALE_TWO_AX_CT", "MALE_A1_CT", "MALE_AX_CT")
    return [frame[c].to_numpy() for c in cols]


def test_hwe_test_chrx__hand_example() -> None:
    """Females AA, AB, AB and males B, B (4 A and 4 B alleles; 3 females, 2 males).

    The 6 possible tables (male A count m_A; female AA/AB/BB) have probabilities, by the
    formula in the module docstring with constant 4!4!3!2!/8! = 6/35 times 2^h/(m_A! m_B! AA! AB! BB!):
    m_A=0: (2,0,1) 3/70, (1,2,0) 12/70 [observed]; m_A=1: (1,1,1) 24/70, (0,3,0) 16/70;
    m_A=2: (1,0,2) 3/70, (0,2,1) 12/70. P = (3+12+3+12)/70 = 3/7; one other table ties with the
    observed one, so mid-p = (30 - 12)/70 = 9/35. plink2 2.00a3.5 prints P 0.428571, MIDP 0.257143.
    """
    assert hwe_test_chrx(2, 1, 0, 0, 2) == pytest.approx(3 / 7, rel=1e-14)
    assert hwe_test_chrx(2, 1, 0, 0, 2, midp=True) == pytest.approx(9 / 35, rel=1e-14)
    # two females (AA, AB) and one male A: the other table (AA, AA; male B) has probability 1/5
    assert hwe_test_chrx(1, 1, 0, 1, 0) == pytest.approx(1.0, rel=1e-14)
    assert hwe_test_chrx(0, 2, 0, 0, 1) == pytest.approx(0.2, rel=1e-14)
    assert hwe_test_chrx(0, 2, 0, 0, 1, midp=True) == pytest.approx(0.1, rel=1e-14)


@pytest.mark.parametrize(("name", "col", "midp"), [("ref.hardy.x", "P", False), ("ref_midp.hardy.x", "MIDP", True)])
def test_hwe_test_chrx__matches_plink2_hardy_x(name: str, col: str, midp: bool) -> None:
    """plink2 --bfile chrx --hardy [midp]: 360 chrX variants, 150 females and 130 males (6 digits)."""
    ref = _hardy_x(name)
    p = hwe_test_chrx(*_counts(ref), midp=midp)
    np.testing.assert_allclose(p, ref[col].to_numpy(float), rtol=RTOL, atol=0)
    assert ref[col].min() < 1e-30  # the reference reaches small p-values


def test_hwe_test_chrx__matches_plink2_on_tiny_tables() -> None:
    """plink2 --bfile tiny --hardy: 600 tables of up to 7 females and 5 males; P agrees everywhere."""
    ref = _hardy_x("tiny.hardy.x")
    np.testing.assert_allclose(hwe_test_chrx(*_counts(ref)), ref["P"].to_numpy(float), rtol=RTOL, atol=0)


def test_hwe_test_chrx__midp_on_tiny_tables_is_exact_where_plink2_2_00a3_5_misses_ties() -> None:
    """plink2 --bfile tiny --hardy midp: equal unless another table ties with the observed one.

    plink2 2.00a3.5 leaves some tables tied with the observed one out of MIDP (39 of the 600 here;
    one cause: its first-row scan compares with ``1 - (2 * eps) * bias`` instead of
    ``(1 - 2 * eps) * bias``); where it differs, biolake equals exact enumeration.
    """
    ref = _hardy_x("tiny_midp.hardy.x")
    cts = _counts(ref)
    got = hwe_test_chrx(*cts, midp=True)
    differs = ~np.isclose(got, ref["MIDP"].to_numpy(float), rtol=RTOL, atol=0)
    assert differs.sum() == 39
    for i in np.flatnonzero(differs):
        row = [int(c[i]) for c in cts]
        obs, probs = _tables(*row)
        assert sum(1 for p in probs if p == obs) >= 2  # a tie
        assert got[i] == pytest.approx(brute_force_chrx_p(*row, midp=True), rel=1e-12)
        assert got[i] < ref["MIDP"][i]  # plink2 subtracted fewer ties


@settings(max_examples=300, deadline=None)
@given(counts, counts, counts, counts, counts, st.booleans())
def test_hwe_chrx_exact_p__equals_enumeration(het: int, hom1: int, hom2: int, m1: int, m2: int, midp: bool) -> None:
    """Against exact rational enumeration of all tables (Graffelman & Weir 2016)."""
    expected = brute_force_chrx_p(het, hom1, hom2, m1, m2, midp=midp)
    assert hwe_test_chrx(het, hom1, hom2, m1, m2, midp=midp) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("row", [(2, 1, 1, 97, 144), (0, 1, 2, 150, 40), (1, 0, 0, 3, 180), (3, 2, 1, 60, 61)])
@pytest.mark.parametrize("midp", [False, True])
def test_hwe_test_chrx__few_females_many_males_equal_enumeration(row: tuple[int, ...], midp: bool) -> None:
    """With few females the row modes alternate with the parity of the female allele count; all rows count."""
    assert hwe_test_chrx(*row, midp=midp) == pytest.approx(brute_force_chrx_p(*row, midp=midp), rel=1e-9)


@pytest.mark.parametrize(
    "row",
    [(480, 300, 220, 250, 150), (100, 700, 200, 330, 270), (30, 900, 70, 480, 20), (400, 400, 200, 500, 400)],
)
def test_hwe_test_chrx__large_samples_match_log_space_computation(row: tuple[int, ...]) -> None:
    """1000 females and up to 900 males: the multiplicative walk equals a log-space sum over all tables."""
    assert hwe_test_chrx(*row) == pytest.approx(lgamma_chrx_p(*row), rel=1e-8)


def test_hwe_test_chrx__without_males_is_the_autosomal_test() -> None:
    assert hwe_test_chrx(224, 26, 0, 0, 0) == hwe_test(224, 26, 0)
    assert hwe_test_chrx(224, 26, 0, 0, 0, midp=True) == hwe_test(224, 26, 0, midp=True)


@pytest.mark.parametrize(("row", "midp", "expected"), [((0, 0, 0, 0, 0), False, 1.0), ((0, 0, 0, 0, 0), True, 0.5)])
def test_hwe_test_chrx__no_samples(row: tuple[int, ...], midp: bool, expected: float) -> None:
    assert hwe_test_chrx(*row, midp=midp) == expected


def test_hwe_test_chrx__males_only_and_monomorphic_have_one_table() -> None:
    assert hwe_test_chrx(0, 0, 0, 30, 12) == 1.0
    assert hwe_test_chrx(0, 0, 0, 30, 12, midp=True) == 0.5
    assert hwe_test_chrx(0, 80, 0, 70, 0) == 1.0


@pytest.mark.parametrize("row", [(600, 0, 0, 300, 300), (900, 0, 0, 100, 100), (0, 400, 0, 0, 300)])
def test_hwe_test_chrx__tiny_p_values_resolved(row: tuple[int, ...]) -> None:
    """Female heterozygote excess, or sexes with opposite alleles: p from 1e-179 to 4e-279 (sums rescaled)."""
    p = hwe_test_chrx(*row)
    assert 0.0 < p < 1e-170
    assert p == pytest.approx(lgamma_chrx_p(*row), rel=1e-9)


def test_hwe_test_chrx__underflow_gives_zero_not_nan() -> None:
    assert hwe_test_chrx(3000, 0, 0, 1500, 1500) == 0.0
    assert hwe_test_chrx(0, 3000, 0, 0, 3000, midp=True) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts, counts), min_size=1, max_size=20), st.booleans())
def test_hwe_chrx_exact_p_many__equals_scalar_python_kernel(rows: list[tuple[int, ...]], midp: bool) -> None:
    """The compiled vectorized kernel equals the pure-Python original of the scalar kernel exactly."""
    arr = np.array(rows, dtype=np.int64)
    got = hwe_chrx_exact_p_many(*(arr[:, k].copy() for k in range(5)), midp)
    expected = [hwe_chrx_exact_p.py_func(*(int(v) for v in r), midp) for r in rows]
    assert got.tolist() == expected


def test_hwe_test_chrx__symmetric_in_the_allele_labels() -> None:
    rng = np.random.default_rng(3)
    cts = rng.integers(0, 40, size=(5, 50))
    p = hwe_test_chrx(cts[0], cts[1], cts[2], cts[3], cts[4])
    q = hwe_test_chrx(cts[0], cts[2], cts[1], cts[4], cts[3])
    np.testing.assert_allclose(p, q, rtol=1e-12)


def test_hwe_test_chrx__broadcasts_and_keeps_shape() -> None:
    p = hwe_test_chrx([[2], [3]], 1, 0, [0, 1, 2], 2)
    assert p.shape == (2, 3)
    assert p[0, 0] == pytest.approx(3 / 7, rel=1e-14)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 2, 3, 1, 1), "The 'female_het' parameter of hwe_test_chrx must be non-negative counts; got -1"),
        ((1, 2, 3, 1.5, 1), "The 'male_1' parameter of hwe_test_chrx must be integer counts; got 1.5"),
        ((1, 2, 3, 1, 2**31), "The 'male_2' parameter of hwe_test_chrx must be counts below 2**31; got 2147483648"),
    ],
)
def test_hwe_test_chrx__bad_counts(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(InputError) as err:
        hwe_test_chrx(*args)
    assert str(err.value) == message


def test_hwe_test_chrx__bad_midp_and_shapes() -> None:
    with pytest.raises(InputError, match="The 'midp' parameter of hwe_test_chrx must be True or False; got 'yes'"):
        hwe_test_chrx(1, 2, 3, 1, 1, midp="yes")
    with pytest.raises(InputError, match="must be of a shape that broadcasts"):
        hwe_test_chrx([1, 2], [1, 2, 3], 0, 0, 0)
