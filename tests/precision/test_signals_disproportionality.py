"""PRR, ROR and IC on hand-computed 2×2 tables, zero cells included (reference: R, formulas by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biolake.errors import InputError
from biolake.precision.signals.disproportionality import disproportionality, evans_signal


def _table(a, b, c, d):
    n = a + b + c + d
    expected = (a + b) * (a + c) / n
    return disproportionality(np.array([a]), np.array([a + b]), np.array([a + c]), n, np.array([expected]))


def _one(result):
    return {k: float(v[0]) for k, v in result.items()}


def test_disproportionality__full_table():
    """a=10, b=30, c=20, d=940 (N=1000), E = 40·30/1000 = 1.2.

    By hand: PRR = (10/40)/(20/960) = 12; ROR = 10·940/(30·20) = 47/3;
    ROR CI = exp(ln(47/3) ∓ 1.96·√(1/10+1/30+1/20+1/940)).
    R: chisq.test(matrix(c(10, 20, 30, 940), 2))$statistic = 61.649842497136319;
    log2((10.5)/(1.7)) = 2.6267826764157833; log2(qgamma(0.025, 10.5, 1.7)) = 1.5966402305035028.
    """
    r = _one(_table(10, 30, 20, 940))
    se = math.sqrt(1 / 10 + 1 / 30 + 1 / 20 + 1 / 940)
    assert r["prr"] == pytest.approx(12.0, rel=1e-12, abs=1e-12)
    assert r["prr_chi2"] == pytest.approx(61.649842497136319, rel=1e-12)
    assert r["ror"] == pytest.approx(47 / 3, rel=1e-12)
    assert r["ror_lo"] == pytest.approx(math.exp(math.log(47 / 3) - 1.96 * se), rel=1e-12)
    assert r["ror_hi"] == pytest.approx(math.exp(math.log(47 / 3) + 1.96 * se), rel=1e-12)
    assert r["ic"] == pytest.approx(2.6267826764157833, abs=1e-12)
    assert r["ic025"] == pytest.approx(1.5966402305035028, abs=1e-12)


def test_disproportionality__zero_c():
    """a=3, b=7, c=0, d=90: the event only with the drug.

    PRR = 0.3/0 = inf; ROR = 270/0 = inf; ROR CI: ln inf ∓ 1.96·inf → lower NaN, upper inf.
    R: chisq.test(matrix(c(3, 0, 7, 90), 2))$statistic = 18.480336006109205;
    ic = log2(3.5/0.8) = 2.1292830169449664; ic025 = log2(qgamma(0.025, 3.5, 0.8)) = 0.078839661103048367.
    """
    r = _one(_table(3, 7, 0, 90))
    assert r["prr"] == math.inf
    assert r["ror"] == math.inf
    assert math.isnan(r["ror_lo"])
    assert r["ror_hi"] == math.inf
    assert r["prr_chi2"] == pytest.approx(18.480336006109205, rel=1e-12)
    assert r["ic"] == pytest.approx(2.1292830169449664, abs=1e-12)
    assert r["ic025"] == pytest.approx(0.078839661103048367, abs=1e-12)


def test_disproportionality__zero_b_and_c():
    """a=5, b=0, c=0, d=95: PRR = 1/0 = inf, ROR = 475/0 = inf.

    R: chisq.test(matrix(c(5, 0, 0, 95), 2))$statistic = 80.05540166204986;
    log2(qgamma(0.025, 5.5, 0.75)) = 1.347003490530194.
    """
    r = _one(_table(5, 0, 0, 95))
    assert r["prr"] == math.inf and r["ror"] == math.inf
    assert r["prr_chi2"] == pytest.approx(80.05540166204986, rel=1e-12)
    assert r["ic025"] == pytest.approx(1.347003490530194, abs=1e-12)


def test_disproportionality__zero_d():
    """a=2, b=1, c=1, d=0: PRR = (2/3)/(1/1); ROR = 0/1 = 0, lower = exp(−inf) = 0, upper = exp(−inf + inf) = NaN.

    R: chisq.test(matrix(c(2, 1, 1, 0), 2))$statistic = 0 (Yates correction min(0.5, |x − E|) = 0.25);
    log2(2.5/2.75) = −0.13750352374993496; log2(qgamma(0.025, 2.5, 2.75)) = −2.7261439021572116.
    """
    r = _one(_table(2, 1, 1, 0))
    assert r["prr"] == pytest.approx(2 / 3, rel=1e-12)
    assert r["ror"] == 0.0 and r["ror_lo"] == 0.0 and math.isnan(r["ror_hi"])
    assert r["prr_chi2"] == 0.0
    assert r["ic"] == pytest.approx(-0.13750352374993496, abs=1e-12)
    assert r["ic025"] == pytest.approx(-2.7261439021572116, abs=1e-12)


def test_disproportionality__event_in_every_report():
    """a=1, b=0, c=3, d=0 (the event in all 4 reports): ad = 0 and bc = 0 → ROR = 0/0 = NaN.

    By hand: a/(a+b) = 1, c/(c+d) = 3/3 = 1 → PRR = 1; R chisq.test gives NaN (a zero margin);
    E = 1·4/4 = 1 → ic = log2(1.5/1.5) = 0; log2(qgamma(0.025, 1.5, 1.5)) = −3.7972272683613473.
    """
    r = _one(_table(1, 0, 3, 0))
    assert r["prr"] == pytest.approx(1.0, rel=1e-12)
    assert math.isnan(r["prr_chi2"]) and math.isnan(r["ror"])
    assert r["ic"] == 0.0
    assert r["ic025"] == pytest.approx(-3.7972272683613473, abs=1e-12)


def test_disproportionality__drug_in_every_report():
    """n_drug = N = 5, n = n_event = 2: c = d = 0, so c/(c+d) = 0/0 and PRR is NaN (by hand; never an error)."""
    r = _one(disproportionality(np.array([2]), np.array([5]), np.array([2]), 5, np.array([2.0])))
    assert math.isnan(r["prr"])


def test_disproportionality__vectorized_equals_single():
    """Many tables at once give the values of each table alone (same formulas)."""
    tables = [(10, 30, 20, 940), (3, 7, 0, 90), (5, 0, 0, 95), (2, 1, 1, 0), (7, 2, 9, 300)]
    a = np.array([t[0] for t in tables])
    n1 = np.array([t[0] + t[1] for t in tables])
    m1 = np.array([t[0] + t[2] for t in tables])
    total = np.array([sum(t) for t in tables])
    e = n1 * m1 / total
    together = disproportionality(a, n1, m1, total, e)
    for i, t in enumerate(tables):
        alone = _table(*t)
        for k in together:
            np.testing.assert_array_equal(together[k][i], alone[k][0])


def test_disproportionality__inconsistent_margins():
    """n larger than its drug margin is not a 2×2 table: an InputError."""
    with pytest.raises(InputError, match="consistent 2×2 table"):
        disproportionality(np.array([5]), np.array([3]), np.array([6]), 100, np.array([1.0]))


def test_evans_signal__rules():
    """Evans: n ≥ 3 and PRR ≥ 2 and χ² ≥ 4 (by hand; NaN is not a signal)."""
    got = evans_signal(
        np.array([3, 2, 3, 3, 3]), np.array([2.0, 5.0, 1.9, 2.0, np.nan]), np.array([4.0, 9.0, 9.0, 3.9, 9.0])
    )
    assert got.tolist() == [True, False, False, False, False]
