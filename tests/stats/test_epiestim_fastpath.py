"""Fast paths of :mod:`biolake.stats.epiestim` against element-by-element computations.

* ``gamma_summary`` inverts each distinct posterior shape once, found on a grid ``lo + k``
  without sorting when the shapes are prior + whole case counts (and whenever no two distinct
  shapes round to one grid point); every quantile must still be
  ``gammaincinv(shape, p) · scale`` of its own element, bit for bit, and the same as
  ``scipy.stats.gamma.ppf`` (R's ``qgamma``) to 1e-12. Shapes that collide take the sorting path.
* ``overall_infectivity`` accumulates ``Σ_s w_s · I_{t−s}`` in a loop over ``s`` outside the loop
  over ``t``; the sums must equal EpiEstim's definition summed term by term in the order
  ``s = 1, 2, …`` in plain Python floats.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from biolake.stats.epiestim import RT_QUANTILES, _shape_table, discr_si, gamma_summary, overall_infectivity


def _per_element(shape: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name, p in RT_QUANTILES.items():
        out[name] = np.array([special.gammaincinv(a, p) * b for a, b in zip(shape.ravel(), scale.ravel(), strict=True)])
    return out


@settings(max_examples=30, deadline=None)
@given(
    cases=st.lists(st.integers(0, 400), min_size=1, max_size=60),
    a_prior=st.sampled_from([1.0, 0.04, 3.0 / 7.0, 2.6**2 / 1.3**2]),
    n_nan=st.integers(0, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_gamma_summary__grid_path_equals_per_element(cases, a_prior, n_nan, seed):
    rng = np.random.default_rng(seed)
    shape = a_prior + np.asarray(cases, dtype=np.float64)
    shape[rng.choice(len(shape), size=min(n_nan, len(shape)), replace=False)] = np.nan  # EpiEstim's NA windows
    scale = 1.0 / (1.0 / 5.0 + rng.gamma(2.0, 30.0, len(shape)))
    got = gamma_summary(shape, scale)
    want = _per_element(shape, scale)
    for name, p in RT_QUANTILES.items():
        np.testing.assert_array_equal(got.quantiles[name], want[name])
        ok = ~np.isnan(shape)
        np.testing.assert_allclose(got.quantiles[name][ok], stats.gamma.ppf(p, shape[ok], scale=scale[ok]), rtol=1e-12)
    np.testing.assert_array_equal(got.mean, shape * scale)
    np.testing.assert_array_equal(got.std, np.sqrt(shape) * scale)


def test_gamma_summary__grid_used_for_whole_counts():
    shape = 1.0 + np.array([3.0, 0.0, 3.0, 250.0, np.nan])
    table, index = _shape_table(shape)
    np.testing.assert_array_equal(table[index], shape)  # NaN slot holds NaN
    assert len(table) == 252  # 251 grid points (1 … 251) + the NaN slot


def test_gamma_summary__non_integer_shapes_fall_back():
    shape = np.array([1.5, 1.6, 2.25, 1.5, 7.1, np.nan])  # 1.5 and 1.6 fall on one grid point: sort instead
    assert _shape_table(shape) is None
    scale = np.array([0.5, 0.3, 0.25, 0.125, 2.0, 1.0])
    got = gamma_summary(shape, scale)
    want = _per_element(shape, scale)
    for name in RT_QUANTILES:
        np.testing.assert_array_equal(got.quantiles[name], want[name])


def test_gamma_summary__matrix_shape_kept():
    shape = 1.0 + np.arange(12, dtype=np.float64).reshape(3, 4)
    scale = np.full((3, 4), 0.5)
    got = gamma_summary(shape, scale)
    assert got.quantiles["median"].shape == (3, 4)
    np.testing.assert_array_equal(got.quantiles["median"], special.gammaincinv(shape, 0.5) * 0.5)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.lists(st.integers(0, 50), min_size=5, max_size=5), min_size=1, max_size=4),
    mean=st.floats(1.5, 8.0),
    sd=st.floats(0.5, 4.0),
    w_len=st.integers(1, 9),
)
def test_overall_infectivity__equals_definition(rows, mean, sd, w_len):
    incid = np.array(rows, dtype=np.float64)
    w = discr_si(np.arange(w_len), mean, sd)
    got = overall_infectivity(incid, w)
    for i in range(incid.shape[0]):
        for t in range(incid.shape[1]):
            acc = 0.0
            for s in range(1, min(t, len(w) - 1) + 1):
                acc += float(w[s]) * float(incid[i, t - s])
            assert got[i, t] == acc
