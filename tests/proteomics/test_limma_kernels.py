"""Kernels of :mod:`biolake.stats.limma` and the proteomics preprocessing, checked by hand or against R.

R values quoted below were printed by R 4.2.2 / limma 3.54.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from biolake.genomics.proteomics import impute_minprob, median_normalize
from biolake.stats.limma import _zeroin, fit_f_dist, lm_fit, normalize_quantiles, trigamma_inverse


def test_trigamma_inverse__inverts_trigamma():
    x = np.array([1e-8, 0.01, 0.5, 3.0, 1e8])
    y = trigamma_inverse(x)
    mid = (x > 1e-6) & (x < 1e7)
    np.testing.assert_allclose(special.polygamma(1, y[mid]), x[mid], rtol=1e-8)
    assert y[0] == 1 / x[0] and y[-1] == 1 / np.sqrt(x[-1])  # limma's asymptotic branches


def test_normalize_quantiles__matches_limma_with_missing_values():
    """R: normalizeQuantiles(matrix(c(1, 4, 2, NA, 3, 5,  2, 6, 1, 3, 5, 4), 6)) with an NA."""
    a = np.array([[1, 2], [4, 6], [2, 1], [np.nan, 3], [3, 5], [5, 4]], dtype=float)
    # column 2 complete (sorted 1..6); column 1 has 5 values interpolated onto the 6-point grid:
    # S1 = approx(0:4/4, c(1,2,3,4,5), 0:5/5) = 1, 1.8, 2.6, 3.4, 4.2, 5; mean quantiles = (S1 + 1:6) / 2
    m = (np.array([1, 1.8, 2.6, 3.4, 4.2, 5]) + np.arange(1, 7)) / 2
    got = normalize_quantiles(a)
    np.testing.assert_allclose(got[:, 1], m[[1, 5, 0, 2, 4, 3]])
    col1 = np.interp(np.array([0, 3, 1, 2, 4]) / 4, np.arange(6) / 5, m)
    np.testing.assert_allclose(got[[0, 1, 2, 4, 5], 0], col1)
    assert np.isnan(got[3, 0])


def test_lm_fit__missing_reference_level_gives_nan_coefficient():
    """A row with no sample of a level: lm.fit pivots that column out (coefficient NA), as limma reports."""
    x = np.column_stack([np.ones(6), [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]])
    y = np.array([[1.0, 2.0, 3.0, 5.0, 4.0, 6.0], [np.nan, np.nan, 3.0, 5.0, 4.0, 6.0]])
    fit = lm_fit(y, x)
    np.testing.assert_allclose(fit["coefficients"][0], [1.5, 2.5, 3.5])
    np.testing.assert_allclose(fit["sigma"][0], np.sqrt(4.5 / 3))  # RSS = 0.5 + 2 + 2 over 3 df
    # second row: intercept and first indicator estimable (the reference level is absent), last one pivoted out
    np.testing.assert_allclose(fit["coefficients"][1, :2], [5.0, -1.0])
    assert np.isnan(fit["coefficients"][1, 2]) and fit["df_residual"].tolist() == [3.0, 2.0]
    np.testing.assert_allclose(fit["amean"], [3.5, 4.5])


def test_fit_f_dist__recovers_prior_of_scaled_chi_square_variances():
    rng = np.random.default_rng(3)
    d0, s0, d = 8.0, 0.5, 4.0
    sigma2 = s0 * d0 / rng.chisquare(d0, size=20_000)
    s2 = sigma2 * rng.chisquare(d, size=20_000) / d
    fit = fit_f_dist(s2, np.full(20_000, d))
    assert fit["df2"] == pytest.approx(d0, rel=0.1) and fit["scale"] == pytest.approx(s0, rel=0.05)


def test_zeroin__same_root_as_uniroot():
    """R: uniroot(function(x) x^3 - 2, c(0, 2), tol = 1e-8)$root = 1.259921049894873."""
    root = _zeroin(lambda v: v**3 - 2, 0.0, 2.0, -2.0, 6.0, 1e-8)
    assert abs(root - 2 ** (1 / 3)) < 1e-8


def test_median_normalize__equal_medians_same_mean():
    y = np.array([[1.0, 10.0], [2.0, 12.0], [3.0, np.nan], [4.0, 11.0]])
    out = median_normalize(y)
    med = np.nanmedian(out, axis=0)
    assert med[0] == med[1] == pytest.approx((2.5 + 11.0) / 2)


def test_impute_minprob__draws_around_the_low_quantile_with_median_sd():
    rng = np.random.default_rng(0)
    y = rng.normal(20, 1, size=(2000, 4)) + rng.normal(0, 2, size=(2000, 1))
    miss = rng.random(y.shape) < 0.2
    y[miss] = np.nan
    out = impute_minprob(y, seed=7)
    assert np.array_equal(out[~miss], y[~miss]) and np.isfinite(out).all()
    # impute.MinProb: sd.temp = median(apply(y[rowMeans(!is.na(y)) > 0.5, ], 1, sd, na.rm = TRUE))
    most = (~np.isnan(y)).mean(axis=1) > 0.5
    sd = np.median([np.std(r[~np.isnan(r)], ddof=1) for r in y[most]])
    for j in range(4):
        draws = out[miss[:, j], j]
        q = np.nanquantile(y[:, j], 0.01)
        assert abs(draws.mean() - q) < 4 * sd / np.sqrt(draws.size)
        assert draws.std(ddof=1) == pytest.approx(sd, rel=0.1)
    np.testing.assert_array_equal(out, impute_minprob(y, seed=7))
    assert not np.array_equal(out, impute_minprob(y, seed=8))


def test_limma_da__minprob_imputation_is_seeded_and_fills_every_value():
    """Imputed values cannot match R's rnorm stream; check the pipeline: filter, normalise, then impute."""
    import pandas as pd

    from biolake.genomics.proteomics import limma_da

    rng = np.random.default_rng(5)
    y = 2 ** rng.normal(22, 1.5, size=(300, 6))
    y[rng.random(y.shape) < 0.15] = np.nan
    x = pd.DataFrame(y, index=[f"p{i:03d}" for i in range(300)], columns=list("abcdef"))
    samples = pd.DataFrame({"sample": list("abcdef"), "condition": ["A"] * 3 + ["B"] * 3})
    kw = {"design": "~ condition", "contrast": ("condition", "B", "A"), "impute": "minprob", "min_valid": 2}
    one = limma_da(x, samples, seed=3, details=True, **kw)
    two = limma_da(x, samples, seed=3, **kw)
    pd.testing.assert_frame_equal(one.table, two)
    assert one.table[["log_fc", "t", "pvalue"]].notna().all().all()
    assert np.isfinite(one.log_matrix.to_numpy()).all()
    # observed values are the median-normalised log2 intensities, untouched by the imputation
    kept = x.loc[one.log_matrix.index]
    logs = np.log2(kept.to_numpy())
    med = np.nanmedian(logs, axis=0)
    obs = ~np.isnan(logs)
    np.testing.assert_allclose(one.log_matrix.to_numpy()[obs], (logs - (med - med.mean()))[obs], rtol=1e-12)
    assert not limma_da(x, samples, seed=4, **kw)["t"].equals(two["t"])
