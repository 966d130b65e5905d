"""The one-pass numba kernel of :func:`biolake.stats.ears.ears_c` against the array formulas.

The expected values are computed here independently with numpy, as R ``surveillance::earsC``
defines them (moving baseline mean and sd with denominator ``b − 1``, lag 0 for C1 and 2 for
C2/C3, C3's threshold ``max(0, x + sigma · (z − L))``, NaN/NA for C3 with a zero sigma).
For baselines of up to 8 points the kernel sums in numpy's order and must agree bit for bit;
longer baselines to 1e-13 relative. Series of different lengths, constant stretches (zero
sigma), ``min_sigma`` and every method are drawn by hypothesis.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from biolake.stats.ears import ears_c


def _reference(x: np.ndarray, method: str, alpha: float, b: int, min_sigma: float, lengths: np.ndarray):
    n, T = x.shape
    lag = 0 if method == "C1" else 2
    first = b + {"C1": 0, "C2": 2, "C3": 4}[method]
    mean = np.full((n, T), np.nan)
    sd = np.full((n, T), np.nan)
    if b + lag < T:
        win = sliding_window_view(x[:, : T - lag - 1], b, axis=1)
        m = win.mean(axis=-1)
        dev = win - m[..., None]
        mean[:, b + lag :] = m
        sd[:, b + lag :] = np.sqrt(np.einsum("ijk,ijk->ij", dev, dev) / (b - 1))
    sigma = np.maximum(sd, min_sigma)
    z = NormalDist().inv_cdf(1 - alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "C3":
            part = np.maximum(0.0, (x - mean) / sigma - 1.0)
            lags = np.full_like(x, np.nan)
            lags[:, 2:] = part[:, :-2] + part[:, 1:-1]
            upper = np.maximum(0.0, x + sigma * (z - lags))
            score = lags
        else:
            upper = mean + z * sigma
            score = np.where(sigma > 0, (x - mean) / sigma, np.nan)
    t = np.arange(T)
    ev = (t[None, :] >= first) & (t[None, :] < lengths[:, None])
    nan = np.nan
    with np.errstate(invalid="ignore"):
        alarm = ev & (x > upper)
    return {
        "expected": np.where(ev, mean, nan),
        "sigma": np.where(ev, sigma, nan),
        "upper_bound": np.where(ev, upper, nan),
        "score": np.where(ev & np.isfinite(score), score, nan),
        "alarm": alarm,
        "evaluable": ev,
    }


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4),
    T=st.integers(1, 30),
    b=st.integers(3, 11),
    method=st.sampled_from(["C1", "C2", "C3"]),
    min_sigma=st.sampled_from([0.0, 0.5, 2.0]),
    flat=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_ears_c__equals_array_formulas(n, T, b, method, min_sigma, flat, seed):
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.uniform(0.5, 30), (n, T)).astype(np.float64)
    if flat:  # constant stretches: zero sigma (C3's NaN threshold with min_sigma 0)
        x[:, : T // 2] = 4.0
    lengths = rng.integers(0, T + 1, n)
    x[np.arange(T)[None, :] >= lengths[:, None]] = 0.0  # padding past a series' end
    alpha = 0.025 if method == "C3" else 0.001
    got = ears_c(x, method=method, alpha=alpha, baseline=b, min_sigma=min_sigma, lengths=lengths)
    want = _reference(x, method, alpha, b, min_sigma, lengths)
    np.testing.assert_array_equal(got.evaluable, want["evaluable"])
    np.testing.assert_array_equal(got.alarm, want["alarm"])
    for name in ("expected", "sigma", "upper_bound", "score"):
        if b <= 8:
            np.testing.assert_array_equal(getattr(got, name), want[name], err_msg=name)
        else:
            np.testing.assert_allclose(getattr(got, name), want[name], rtol=1e-13, atol=0, err_msg=name)


def test_ears_c__hand_example():
    # C1, baseline 7 at t = 7: x[0:7] = 3 4 2 5 3 4 3 → mean 24/7, sd √(44/7 / 6) … by hand
    x = np.array([[3, 4, 2, 5, 3, 4, 3, 4, 12.0]])
    res = ears_c(x, method="C1")
    base = np.array([3, 4, 2, 5, 3, 4, 3.0])
    mean = 24 / 7
    sd = np.sqrt(((base - mean) ** 2).sum() / 6)
    assert res.expected[0, 7] == mean
    np.testing.assert_allclose(res.upper_bound[0, 7], mean + NormalDist().inv_cdf(0.999) * sd, rtol=1e-15)
    assert not res.alarm[0, 7]
