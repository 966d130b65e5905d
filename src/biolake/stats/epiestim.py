"""The time-varying reproduction number of Cori et al. (2013), as R EpiEstim's ``estimate_R``.

For incidence ``I_t = local_t + imported_t`` (time steps ``t = 1 … T``) and a discrete
serial interval (SI) distribution ``w_0 = 0, w_1, w_2, …``, the *overall infectivity* is

    Λ_t = Σ_{s=1}^{t−1} w_s · I_{t−s}          (EpiEstim's ``overall_infectivity``)

and, for a window ``[t_start, t_end]`` (``2 ≤ t_start ≤ t_end ≤ T``) and a gamma prior
with mean ``m`` and sd ``s`` (shape ``a = (m/s)²``, scale ``b = s²/m``), the posterior
of R is gamma with

    shape = a + Σ_{t ∈ window} local_t,     scale = 1 / (1/b + Σ_{t ∈ window} Λ_t).

EpiEstim counts every case of the first time step as imported (``local_1 = 0``); windows
start at ``t = 2`` so that only changes ``Λ``. A window whose ``t_end`` is not greater than
the mean of the SI distribution is NA (EpiEstim's rule). For a parametric SI EpiEstim
uses the discretised gamma :func:`discr_si` at ``k = 0 … T−1`` (not renormalised), so
that mean — and with it the NA rule — depends on the series length ``T``.

This module works on a whole matrix of series (rows) × time at once: the convolution and
the window sums are numba kernels (GIL released: chunks of series run in parallel threads); the gamma
quantiles are inverted once per distinct posterior shape
(shapes are prior + whole case counts). It imports nothing of biolake.

Examples
--------
>>> import numpy as np
>>> w = discr_si(np.arange(6), 2.6, 1.5)
>>> np.round(w, 4)
array([0.    , 0.2332, 0.3586, 0.1981, 0.1033, 0.0529])
>>> incid = np.array([[1, 1, 0, 2, 5, 3, 3, 3, 6, 2.0]])
>>> lam = overall_infectivity(incid, discr_si(np.arange(10), 2.6, 1.5))
>>> shape, scale = cori_posterior(incid, lam, np.array([0]), np.array([2]), np.array([8]))
>>> np.round(shape * scale, 4)
array([1.7358])
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import special

__all__ = [
    "RT_QUANTILES",
    "GammaSummary",
    "cori_posterior",
    "discr_si",
    "gamma_prior",
    "gamma_summary",
    "overall_infectivity",
    "si_mean",
]

RT_QUANTILES = {"q025": 0.025, "q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95, "q975": 0.975}
"""Result column → probability of the posterior quantiles EpiEstim reports."""


def discr_si(k: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """EpiEstim's ``discr_si``: the discretised gamma SI distribution with mean ``mu`` and sd ``sigma``.

    The gamma distribution of ``SI − 1`` (shape ``((mu−1)/sigma)²``, scale ``sigma²/(mu−1)``)
    integrated against a triangular kernel, as Cori et al. (2013), Web Appendix 11;
    negative values from rounding are set to 0. Needs ``mu > 1``, ``sigma > 0``.
    """
    k = np.asarray(k, dtype=np.float64)
    a = ((mu - 1.0) / sigma) ** 2
    b = sigma**2 / (mu - 1.0)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        return np.where(x > 0, special.gammainc(shape, np.maximum(x, 0.0) / b), 0.0)

    res = k * cdf(k, a) + (k - 2) * cdf(k - 2, a) - 2 * (k - 1) * cdf(k - 1, a)
    res = res + a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    return np.maximum(res, 0.0)


def si_mean(w: np.ndarray, *, upto: np.ndarray | None = None) -> np.ndarray:
    """Mean ``Σ k·w_k`` of an SI distribution, summed as R does (long double, in order).

    With ``upto`` (lengths ``T``), the mean of ``w_0 … w_{T−1}`` for each ``T`` — EpiEstim's
    mean of a parametric SI computed for ``k = 0 … T−1``.
    """
    w = np.asarray(w, dtype=np.float64)
    terms = (w * np.arange(len(w), dtype=np.float64)).astype(np.longdouble)
    cum = np.cumsum(terms)
    if upto is None:
        return np.asarray(cum[-1] if len(cum) else 0.0, dtype=np.float64)
    upto = np.asarray(upto, dtype=np.int64)
    idx = np.minimum(upto, len(w)) - 1
    return np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0).astype(np.float64)


def gamma_prior(mean_prior: float, std_prior: float) -> tuple[float, float]:
    """Shape and scale of the gamma prior of R with the given mean and sd."""
    return (mean_prior / std_prior) ** 2, std_prior**2 / mean_prior


@numba.njit(cache=True, nogil=True)
def _infectivity(incid: np.ndarray, w: np.ndarray) -> np.ndarray:  # pragma: no cover (numba)
    n, t_max = incid.shape
    m = min(len(w), t_max)
    out = np.zeros((n, t_max))
    for i in range(n):
        row = out[i]
        x = incid[i]
        # Λ_t = Σ_{s=1}^{min(t, m−1)} w_s·I_{t−s}, accumulated in the order s = 1, 2, … for every t
        # (the same sums, term by term, as a loop over s inside a loop over t); the inner loop over t
        # runs along the row and vectorises
        for s in range(1, m):
            ws = w[s]
            for t in range(s, t_max):
                row[t] += ws * x[t - s]
    return out


def overall_infectivity(incid: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``Λ`` for each series (row) of the total incidence ``incid``; column 0 (EpiEstim's NA) is 0.

    ``w[0]`` is ignored (EpiEstim requires it to be 0); a distribution shorter than the
    series is zero beyond its end, a longer one is cut.
    """
    incid = np.ascontiguousarray(incid, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if incid.ndim != 2:
        raise ValueError("incid must be a (series × time) matrix")
    nonzero = np.flatnonzero(w)
    w = w[: nonzero[-1] + 1] if len(nonzero) else w[:1]  # trailing zeros add nothing (a gamma tail is 0 in float)
    return _infectivity(incid, w)


@numba.njit(cache=True, nogil=True)
def _window_sums(
    local: np.ndarray, lam: np.ndarray, row: np.ndarray, t_start: np.ndarray, t_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover (numba)
    n = len(row)
    cases = np.zeros(n)
    infect = np.zeros(n)
    for j in range(n):
        i = row[j]
        c = 0.0
        f = 0.0
        for t in range(t_start[j] - 1, t_end[j]):
            c += local[i, t]
            f += lam[i, t]
        cases[j] = c
        infect[j] = f
    return cases, infect


def cori_posterior(
    local: np.ndarray,
    lam: np.ndarray,
    row: np.ndarray,
    t_start: np.ndarray,
    t_end: np.ndarray,
    *,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior gamma shape and scale of R for windows ``[t_start, t_end]`` (1-based) of series ``row``.

    ``local`` holds the local cases (``local[:, 0]`` is never used: windows start at 2),
    ``lam`` the overall infectivity of :func:`overall_infectivity`.
    """
    a_prior, b_prior = gamma_prior(mean_prior, std_prior)
    cases, infect = _window_sums(
        np.ascontiguousarray(local, dtype=np.float64),
        np.ascontiguousarray(lam, dtype=np.float64),
        np.ascontiguousarray(row, dtype=np.int64),
        np.ascontiguousarray(t_start, dtype=np.int64),
        np.ascontiguousarray(t_end, dtype=np.int64),
    )
    return a_prior + cases, 1.0 / (1.0 / b_prior + infect)


@dataclass(frozen=True)
class GammaSummary:
    """Mean, sd and the :data:`RT_QUANTILES` of gamma distributions (NaN where the shape is NaN)."""

    mean: np.ndarray
    std: np.ndarray
    quantiles: dict[str, np.ndarray]


def gamma_summary(shape: np.ndarray, scale: np.ndarray) -> GammaSummary:
    """The posterior summaries EpiEstim reports: ``a·b``, ``√a·b`` and R's ``qgamma`` quantiles."""
    shape = np.asarray(shape, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    # shapes are prior + whole case counts and repeat across windows: invert each distinct one once
    # (qgamma(p, a, scale = b) = b · P⁻¹(a, p), P the regularized lower incomplete gamma function)
    table = _shape_table(shape)
    if table is not None:
        uniq, inverse = table
        present = ~np.isnan(uniq)
        probs = list(RT_QUANTILES.values())
        grid = np.full((len(probs), len(uniq)), np.nan)
        for j, p in enumerate(probs):
            grid[j, present] = special.gammaincinv(uniq[present], p)
        scaled = _gather_scaled(grid, inverse.ravel(), np.broadcast_to(scale, shape.shape).ravel())
        quantiles = {name: scaled[j].reshape(shape.shape) for j, name in enumerate(RT_QUANTILES)}
    else:
        uniq, inverse = np.unique(shape, return_inverse=True)
        inverse = inverse.reshape(shape.shape)
        quantiles = {name: special.gammaincinv(uniq, p)[inverse] * scale for name, p in RT_QUANTILES.items()}
    return GammaSummary(mean=shape * scale, std=np.sqrt(shape) * scale, quantiles=quantiles)


@numba.njit(cache=True, nogil=True)
def _gather_scaled(grid: np.ndarray, index: np.ndarray, scale: np.ndarray) -> np.ndarray:  # pragma: no cover
    """``grid[:, index] * scale`` in one pass (rows: the quantiles)."""
    k, n = grid.shape[0], len(index)
    out = np.empty((k, n))
    for i in range(n):
        g = index[i]
        b = scale[i]
        for j in range(k):
            out[j, i] = grid[j, g] * b
    return out


@numba.njit(cache=True, nogil=True)
def _grid_index(flat: np.ndarray, lo: float, n_grid: int) -> tuple[bool, np.ndarray, np.ndarray]:  # pragma: no cover
    """Slot ``round(x − lo)`` of each shape (NaN: slot ``n_grid``), and the shape of each slot.

    Fails (first value False) when two different shapes fall on one slot.
    """
    n = len(flat)
    index = np.empty(n, dtype=np.int64)
    table = np.full(n_grid + 1, np.nan)
    for i in range(n):
        x = flat[i]
        if x != x:
            index[i] = n_grid
            continue
        k = int(np.floor(x - lo + 0.5))
        if k < 0 or k >= n_grid:
            return False, index, table
        t = table[k]
        if t != t:
            table[k] = x
        elif t != x:
            return False, index, table
        index[i] = k
    return True, index, table


def _shape_table(shape: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct shapes without sorting, when they lie on a grid ``lo + k`` (whole case counts).

    Returns ``(table, index)`` with ``table[index] == shape`` exactly (NaN where the shape is
    NaN; unused grid points are NaN too), or None when two distinct shapes round to one grid
    point (e.g. non-integer incidence), a shape is infinite, or the grid would be much longer
    than the input — the caller then sorts (``np.unique``). Only an index is computed: every
    quantile is still ``gammaincinv`` of the shape itself, so the result is the same as element
    by element.
    """
    flat = np.ascontiguousarray(shape, dtype=np.float64).ravel()
    if len(flat) == 0:
        return None
    lo = float(np.nanmin(flat)) if not np.isnan(flat).all() else np.nan
    hi = float(np.nanmax(flat)) if not np.isnan(lo) else np.nan
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    span = hi - lo
    if span > 4 * len(flat) + 1024:
        return None
    ok, index, table = _grid_index(flat, lo, int(np.floor(span + 0.5)) + 1)
    if not ok:
        return None
    return table, index.reshape(shape.shape)
