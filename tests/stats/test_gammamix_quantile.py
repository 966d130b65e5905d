"""Quantiles of two-gamma mixtures (``biolake.stats.gammamix``) against SciPy and the NumPy iteration.

* One component (w = 1 or 0): the quantile is SciPy's ``gamma.ppf`` (``gammaincinv``), to 1e-10.
* A mixture: the mixture CDF evaluated by SciPy at the returned quantile equals q to 1e-10.
* The MGPS posterior's EB05/EB95 equal the vectorised NumPy/SciPy iteration of
  ``biolake.precision.signals.mgps._mixture_quantile`` (the same algorithm) to 1e-10 relative.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from biolake.precision.signals.mgps import _mixture_quantile
from biolake.stats.gammamix import gamma_mixture_quantile


def test_gamma_mixture_quantile__single_component_is_gamma_ppf() -> None:
    rng = np.random.default_rng(2)
    shape = rng.gamma(1.0, 20.0, 2000) + 1e-3
    rate = rng.gamma(1.0, 3.0, 2000) + 1e-3
    for q in (0.05, 0.5, 0.95):
        for w, (s, r) in ((1.0, (shape, rate)), (0.0, (shape, rate))):
            got = gamma_mixture_quantile(q, np.full(2000, w), s, r, s, r, threads=2)
            want = stats.gamma.ppf(q, s, scale=1 / r)
            np.testing.assert_allclose(got, want, rtol=1e-10)


def test_gamma_mixture_quantile__mixture_cdf_at_quantile_is_q() -> None:
    rng = np.random.default_rng(3)
    m = 5000
    w = rng.random(m)
    n = rng.geometric(0.2, m).astype(float)
    e = rng.gamma(0.5, 2.0, m)
    s1, r1, s2, r2 = 0.3 + n, 0.1 + e, 12.0 + n, 10.0 + e
    for q in (0.05, 0.95):
        x = gamma_mixture_quantile(q, w, s1, r1, s2, r2, threads=1)
        cdf = w * special.gammainc(s1, r1 * x) + (1 - w) * special.gammainc(s2, r2 * x)
        np.testing.assert_allclose(cdf, q, rtol=0, atol=1e-10)


def test_gamma_mixture_quantile__equals_vectorised_numpy_iteration() -> None:
    rng = np.random.default_rng(4)
    m = 20000
    w = rng.random(m)
    w[:50] = 0.0
    w[50:100] = 1.0
    n = rng.geometric(0.3, m).astype(float)
    e = rng.gamma(0.5, 2.0, m)
    s1, r1, s2, r2 = 5e-12 + n, 0.0071 + e, 63.09 + n, 70.57 + e  # a degenerate first component, as FAERS fits
    for q in (0.05, 0.95):
        got = gamma_mixture_quantile(q, w, s1, r1, s2, r2, threads=2)
        np.testing.assert_allclose(got, _mixture_quantile(q, w, s1, r1, s2, r2), rtol=1e-10)
