"""EARS C1, C2 and C3 aberration detection on many count series at once.

The Early Aberration Reporting System (EARS) methods of the CDC (Hutwagner et al.
2003) compare each count with a short moving baseline of the counts just before it.
This module computes them exactly as R ``surveillance::earsC`` does, for a whole
matrix of series (rows) × time points (columns) with array operations — no loop over
series.

For a series ``x`` (0-based time ``t``), baseline length ``b``, ``z = Φ⁻¹(1 − α)`` and
minimum sigma ``s₀``:

* **C1** — reference values ``x[t−b], …, x[t−1]``; ``expected = mean``,
  ``sigma = max(sd, s₀)`` (``sd`` with denominator ``b − 1``);
  ``upper_bound = expected + z · sigma``; monitored from ``t = b`` on.
* **C2** — the same with a lag of 2: reference values ``x[t−b−2], …, x[t−3]``;
  monitored from ``t = b + 2`` on.
* **C3** — with the C2 statistics ``C2ᵢ = (xᵢ − expectedᵢ) / sigmaᵢ`` (C2's baseline)
  and ``L = max(0, C2_{t−1} − 1) + max(0, C2_{t−2} − 1)``, R's code sets
  ``upper_bound = max(0, x[t] + sigma_t · (z − L))``; monitored from ``t = b + 4`` on.

In every method ``alarm = x[t] > upper_bound``. Where R gets NaN (C3 with a zero
sigma, i.e. a constant baseline and ``s₀ = 0``), ``upper_bound`` is NaN and ``alarm`` is
false (R's ``NA``).

Examples
--------
>>> import numpy as np
>>> x = np.array([[3, 4, 2, 5, 3, 4, 3, 4, 12.0]])
>>> res = ears_c(x, method="C1")
>>> np.round(res.upper_bound[0, -2:], 4)
array([6.4443, 6.5872])
>>> res.alarm[0, -2:]
array([False,  True])
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numba
import numpy as np

__all__ = ["EARS_METHODS", "EarsResult", "ears_c", "ears_default_alpha", "ears_first_index"]

EARS_METHODS = ("C1", "C2", "C3")
_LAG = {"C1": 0, "C2": 2, "C3": 2}
_EXTRA = {"C1": 0, "C2": 2, "C3": 4}


@dataclass(frozen=True)
class EarsResult:
    """Per series and time point results of :func:`ears_c` (arrays shaped like the input).

    Time points a method cannot evaluate (too little history, or past a series' end)
    hold NaN (floats) and False (``alarm``).

    Attributes
    ----------
    expected
        Mean of the reference values (for C3: of C2's reference values at ``t``).
    sigma
        ``max(sd, min_sigma)`` of those reference values.
    upper_bound
        The alarm threshold as R's ``upperbound``.
    alarm
        ``observed > upper_bound``.
    score
        C1/C2: ``(observed − expected) / sigma`` (NaN where sigma is 0); C3: the sum of
        the truncated C2 statistics of the two previous time points that R's threshold
        subtracts from ``z``.
    evaluable
        Whether the method monitors the time point.
    """

    expected: np.ndarray
    sigma: np.ndarray
    upper_bound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    evaluable: np.ndarray


def ears_default_alpha(method: str) -> float:
    """R's default ``alpha`` when the control list does not give one: 0.025 for C3, else 0.001."""
    return 0.025 if method == "C3" else 0.001


def ears_first_index(method: str, baseline: int) -> int:
    """0-based index of the first time point ``method`` monitors (R's ``range[1] − 1``)."""
    return baseline + _EXTRA[method]


@numba.njit(cache=True, nogil=True)
def _baseline(x: np.ndarray, t: int, baseline: int, lag: int) -> tuple[float, float]:  # pragma: no cover (numba)
    """Mean and sd (ddof 1, two passes as R's ``var``) of ``x[t-baseline-lag : t-lag]``.

    Summed in the order numpy's ``mean`` and ``einsum`` sum a short window (sequentially; the
    squares in two lanes, even and odd positions), so that for a baseline of up to 8 points the
    values equal those of the array version bit for bit (integer counts: the mean always does).
    """
    lo = t - baseline - lag
    acc = 0.0
    for k in range(lo, lo + baseline):
        acc += x[k]
    mean = acc / baseline
    even = 0.0
    odd = 0.0
    for k in range(0, baseline, 2):
        d = x[lo + k] - mean
        even += d * d
    for k in range(1, baseline, 2):
        d = x[lo + k] - mean
        odd += d * d
    return mean, np.sqrt((even + odd) / (baseline - 1))


@numba.njit(cache=True, nogil=True)
def _ears_kernel(
    x: np.ndarray,
    lengths: np.ndarray,
    baseline: int,
    lag: int,
    first: int,
    z: float,
    min_sigma: float,
    c3: bool,
    expected: np.ndarray,
    sigma_out: np.ndarray,
    upper: np.ndarray,
    score: np.ndarray,
    alarm: np.ndarray,
) -> None:  # pragma: no cover (numba)
    """One pass over every series: fill the evaluable cells (the outputs are NaN/False elsewhere)."""
    n = x.shape[0]
    for i in range(n):
        xi = x[i]
        for t in range(first, lengths[i]):
            mean, sd = _baseline(xi, t, baseline, lag)
            sigma = max(sd, min_sigma)
            expected[i, t] = mean
            sigma_out[i, t] = sigma
            if not c3:
                ub = mean + z * sigma
                if sigma > 0:
                    score[i, t] = (xi[t] - mean) / sigma
            else:
                # L = max(0, C2_{t-1} - 1) + max(0, C2_{t-2} - 1), C2_u = (x_u - mean_u) / sigma_u
                lags = 0.0
                for u in (t - 2, t - 1):
                    m_u, sd_u = _baseline(xi, u, baseline, lag)
                    s_u = max(sd_u, min_sigma)
                    if s_u > 0:
                        c2 = (xi[u] - m_u) / s_u
                    elif xi[u] - m_u > 0:
                        c2 = np.inf
                    elif xi[u] - m_u < 0:
                        c2 = -np.inf
                    else:
                        c2 = np.nan
                    part = c2 - 1.0
                    if part != part:
                        lags = np.nan
                    elif part > 0.0:
                        lags += part
                x_ub = xi[t] + sigma * (z - lags)
                ub = x_ub
                if x_ub != x_ub:
                    ub = np.nan
                elif x_ub < 0.0:
                    ub = 0.0
                if np.isfinite(lags):
                    score[i, t] = lags
            upper[i, t] = ub
            alarm[i, t] = xi[t] > ub  # False when ub is NaN (R: NA)


def ears_c(
    observed: np.ndarray,
    *,
    method: str = "C1",
    alpha: float | None = None,
    baseline: int = 7,
    min_sigma: float = 0.0,
    lengths: np.ndarray | None = None,
) -> EarsResult:
    """EARS C1/C2/C3 for a matrix of count series, as R ``surveillance::earsC``.

    Parameters
    ----------
    observed
        Counts, shape ``(n_series, n_time)``; series shorter than ``n_time`` are padded
        at the end (see ``lengths``).
    method
        ``"C1"``, ``"C2"`` or ``"C3"``.
    alpha
        Type I error rate; the threshold is ``z = Φ⁻¹(1 − alpha)``. Default: R's when the
        control list gives none (:func:`ears_default_alpha`).
    baseline
        Number of reference time points (R's ``baseline``, at least 3).
    min_sigma
        Lower bound of the baseline standard deviation (R's ``minSigma``, ≥ 0).
    lengths
        Length of each series (default: all ``n_time``); points past it are not evaluated.

    Returns
    -------
    EarsResult
        Arrays shaped like ``observed``.
    """
    if method not in EARS_METHODS:
        raise ValueError(f"method must be one of {EARS_METHODS}; got {method!r}")
    if baseline < 3:
        raise ValueError(f"baseline must be at least 3; got {baseline}")
    if min_sigma < 0:
        raise ValueError(f"min_sigma must be >= 0; got {min_sigma}")
    if alpha is None:
        alpha = ears_default_alpha(method)
    x = np.asarray(observed, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"observed must be 2-D (series x time); got shape {x.shape}")
    n_series, n_time = x.shape
    z = NormalDist().inv_cdf(1.0 - alpha)
    first = ears_first_index(method, baseline)
    ends = np.full(n_series, n_time, dtype=np.int64)
    if lengths is not None:
        ends = np.minimum(np.asarray(lengths, dtype=np.int64), n_time)
    x = np.ascontiguousarray(x)
    expected = np.full(x.shape, np.nan)
    sigma = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    score = np.full(x.shape, np.nan)
    alarm = np.zeros(x.shape, dtype=bool)
    _ears_kernel(
        x, ends, baseline, _LAG[method], first, z, min_sigma, method == "C3", expected, sigma, upper, score, alarm
    )
    t = np.arange(n_time)
    evaluable = (t[None, :] >= first) & (t[None, :] < ends[:, None])
    return EarsResult(expected=expected, sigma=sigma, upper_bound=upper, alarm=alarm, score=score, evaluable=evaluable)
