"""The numeric kernels behind DE: NB density, digamma, BH, lowess, against R and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA
from scipy import special

from biolake.stats.multitest import lowess, p_adjust_bh
from biolake.stats.negbin import digamma, fit_nb_glm, nb_log_pmf, trigamma


@pytest.mark.parametrize("x", [1e-3, 0.3, 1.0, 2.5, 9.99, 10.0, 50.0, 1e3, 1e8, 1e15])
def test_digamma__matches_scipy(x):
    assert digamma(x) == pytest.approx(special.digamma(x), rel=1e-14)
    assert trigamma(x) == pytest.approx(special.polygamma(1, x), rel=1e-13)


@pytest.mark.parametrize(
    ("x", "size", "mu", "expected"),
    [(0, 2, 3, -1.83258146374831), (100, 1e8, 90, -3.7584085225621409), (3, 1e12, 2.5, -1.5428872736100898)],
)
def test_nb_log_pmf__matches_r(x, size, mu, expected):
    """R: dnbinom(x, size = size, mu = mu, log = TRUE), e.g. dnbinom(100, size = 1e8, mu = 90, log = TRUE)."""
    assert nb_log_pmf(float(x), float(size), float(mu)) == pytest.approx(expected, rel=1e-13)


def test_p_adjust_bh__matches_r():
    """R: p.adjust(c(0.01, 0.04, NA, 0.03, 0.5), "BH") = 0.04 0.05333333 NA 0.05333333 0.5."""
    got = p_adjust_bh(np.array([0.01, 0.04, np.nan, 0.03, 0.5]))
    np.testing.assert_allclose(got, [0.04, 0.16 / 3, np.nan, 0.16 / 3, 0.5], rtol=1e-15)


def test_lowess__matches_r():
    """R: set.seed(5); x <- seq(0, 0.95, length = 50); y <- round(100 * (1 - exp(-5 * x)) + rnorm(50, 0, 3));
    lowess(y ~ x, f = 1/5)$y  (tests/data/expression/lowess.csv)."""
    ref = pd.read_csv(DATA / "lowess.csv")
    _, fit = lowess(ref["x"], ref["y"], f=0.2)
    np.testing.assert_allclose(fit, ref["fit"], rtol=1e-10)


def test_fit_nb_glm__two_groups_gives_log_mean_ratio():
    y = np.array([[10.0, 12, 30, 33]])
    x = np.array([[1.0, 0], [1, 0], [1, 1], [1, 1]])
    fit = fit_nb_glm(y, x, np.ones((1, 4)), np.array([0.01]), np.array([[2.0, 1.0]]), np.full(2, 1e-12))
    np.testing.assert_allclose(fit["beta"][0], [np.log(11), np.log(31.5 / 11)], rtol=1e-8)
    assert fit["hat"][0].sum() == pytest.approx(2.0, rel=1e-8)
