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

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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


def _baseline_stats(x: np.ndarray, baseline: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd (ddof 1) of ``x[:, t-baseline-lag : t-lag]`` for every t (NaN where undefined)."""
    n_series, n_time = x.shape
    mean = np.full((n_series, n_time), np.nan)
    sd = np.full((n_series, n_time), np.nan)
    first = baseline + lag
    if n_time > first:
        windows = sliding_window_view(x[:, : n_time - lag - 1], baseline, axis=1)  # window k: x[k : k+b]
        m = windows.mean(axis=-1)
        # two-pass variance, as R's var(): sum of squared deviations from the mean / (b - 1)
        dev = windows - m[..., None]
        v = np.einsum("ijk,ijk->ij", dev, dev) / (baseline - 1)
        mean[:, first:] = m
        sd[:, first:] = np.sqrt(v)
    return mean, sd


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
    n_time = x.shape[1]
    z = NormalDist().inv_cdf(1.0 - alpha)
    mean, sd = _baseline_stats(x, baseline, _LAG[method])
    sigma = np.maximum(sd, min_sigma)  # NaN stays NaN where undefined
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("C1", "C2"):
            upper = mean + z * sigma
            score = np.where(sigma > 0, (x - mean) / sigma, np.nan)
        else:
            c2 = (x - mean) / sigma  # ±inf or NaN where sigma == 0, as in R
            part = np.maximum(0.0, c2 - 1.0)
            lags = np.full_like(x, np.nan)
            lags[:, 2:] = part[:, :-2] + part[:, 1:-1]
            upper = np.maximum(0.0, x + sigma * (z - lags))
            score = lags
    first = ears_first_index(method, baseline)
    t = np.arange(n_time)
    evaluable = np.broadcast_to(t >= first, x.shape)
    if lengths is not None:
        evaluable = evaluable & (t[None, :] < np.asarray(lengths)[:, None])
    evaluable = np.ascontiguousarray(evaluable)
    nan = np.float64(np.nan)
    expected = np.where(evaluable, mean, nan)
    sigma = np.where(evaluable, sigma, nan)
    upper = np.where(evaluable, upper, nan)
    score = np.where(evaluable & np.isfinite(score), score, nan)
    with np.errstate(invalid="ignore"):
        alarm = evaluable & (x > upper)  # comparisons with NaN are False (R: NA)
    return EarsResult(expected=expected, sigma=sigma, upper_bound=upper, alarm=alarm, score=score, evaluable=evaluable)
