"""``trial enrollment``: simulated recruitment times against the Poisson–gamma closed forms.

With all sites opening at s, the Anisimov–Fedorov model gives (no simulation):
(T_n − s)/(β + T_n − s) ~ Beta(n, Nα), and the count by t is negative binomial with size Nα
and p = β/(β + t − s) (scipy ``beta.ppf`` and ``nbinom.ppf``). With staggered openings the count by t
is the sum of independent per-site negative binomials NB(α, β/(β + (t − s_i)⁺)), whose pmf is
convolved here numerically; P(T_n ≤ t) = P(count(t) ≥ n).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from biolake.discovery.trials.enrollment import parse_site_start, simulate_enrollment


@pytest.mark.parametrize(
    ("sites", "rate", "shape", "target"), [(20, 1.5, 2.0, 300), (5, 0.8, 0.7, 60), (40, 0.5, 8, 400)]
)
def test_simulate_enrollment__time_quantiles_match_beta_prime(
    sites: int, rate: float, shape: float, target: int
) -> None:
    """Quantiles of T_n vs the closed form β·x/(1 − x), x = Beta(n, Nα) quantile; within 4 MC SE of a quantile."""
    n = 20_000
    summary, _, times = simulate_enrollment(
        sites=sites, rate=rate, target=target, shape=shape, site_start=1.0, iterations=n, seed=4, level=0.9
    )
    beta_rate = shape / rate
    for q, col in ((0.05, "time_lower"), (0.5, "time_median"), (0.95, "time_upper")):
        x = stats.beta.ppf(q, target, sites * shape)
        expected = 1.0 + beta_rate * x / (1 - x)
        # MC SE of a quantile: √(q(1 − q)/n)/f(t_q); check the empirical CDF at the exact quantile instead
        assert abs(np.mean(times <= expected) - q) <= 4 * math.sqrt(q * (1 - q) / n)
        assert summary[col].iloc[0] == pytest.approx(expected, rel=0.03)
    mean = 1.0 + beta_rate * target / (sites * shape - 1)  # E[E_n/G] = n/(Nα − 1)
    assert summary.time_mean.iloc[0] == pytest.approx(mean, rel=0.02)


def test_simulate_enrollment__curve_band_is_negative_binomial() -> None:
    """Count quantiles at each grid time vs NB(size Nα, p = β/(β + t)) (all sites open at 0)."""
    sites, rate, shape = 10, 2.0, 1.5
    _, curve, _ = simulate_enrollment(sites=sites, rate=rate, target=150, shape=shape, iterations=20_000, seed=9)
    beta_rate = shape / rate
    for _, row in curve.iloc[1::10].iterrows():
        p = beta_rate / (beta_rate + row.time)
        lo, med, hi = stats.nbinom.ppf([0.05, 0.5, 0.95], sites * shape, p)
        mean = sites * shape * (1 - p) / p
        assert row.n_mean == pytest.approx(mean, rel=0.02)
        assert abs(row.n_median - med) <= max(2.0, 0.02 * med)
        assert abs(row.n_lower - lo) <= max(2.0, 0.03 * lo) and abs(row.n_upper - hi) <= max(2.0, 0.03 * hi)


def test_simulate_enrollment__staggered_sites_match_convolved_negative_binomials() -> None:
    """Sites opening at 0, 1, …, 5 months: P(T_n ≤ t) = P(Σ_i NB_i(t) ≥ n) by convolution."""
    starts = parse_site_start("0:5", 6)
    np.testing.assert_allclose(starts, [0, 1, 2, 3, 4, 5])
    rate, shape, target, n = 1.0, 2.0, 40, 20_000
    _, _, times = simulate_enrollment(
        sites=6, rate=rate, target=target, shape=shape, site_start=starts, iterations=n, seed=12
    )
    beta_rate = shape / rate
    for t in (6.0, 8.0, 10.0):
        pmf = np.zeros(target)
        pmf[0] = 1.0
        for s in starts:
            exposure = max(t - s, 0.0)
            site = stats.nbinom.pmf(np.arange(target), shape, beta_rate / (beta_rate + exposure))
            pmf = np.convolve(pmf, site)[:target]
        p_done = 1.0 - pmf.sum()
        assert abs(np.mean(times <= t) - p_done) <= 4 * math.sqrt(p_done * (1 - p_done) / n) + 1e-9


def test_simulate_enrollment__fixed_rates_are_erlang() -> None:
    """shape = inf: T_n ~ Gamma(n, rate N·R) (a Poisson process), checked at its quantiles."""
    _, _, times = simulate_enrollment(sites=8, rate=0.5, target=30, shape=math.inf, iterations=10_000, seed=1)
    for q in (0.1, 0.5, 0.9):
        t = stats.gamma.ppf(q, 30, scale=1 / 4.0)
        assert abs(np.mean(times <= t) - q) <= 4 * math.sqrt(q * (1 - q) / 10_000)


@pytest.mark.parametrize(("value", "message"), [("a,b", "expected T, A:B"), ("1,2", "expected 3 times")])
def test_parse_site_start__bad_value(value: str, message: str) -> None:
    """Bad --site-start values are one-line input errors."""
    from biolake.errors import InputError

    with pytest.raises(InputError, match=message):
        parse_site_start(value, 3)
