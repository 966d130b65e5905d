"""Poisson CUSUM on many count series at once, as R ``surveillance::cusum`` (``algo.cusum``).

For a series ``x`` monitored from the 0-based time ``start`` on, with in-control mean
``m`` (default: the mean of ``x[:start]``), reference value ``k`` and decision
boundary ``h``, each monitored count is standardized,

* ``standard``: ``z = (x − m) / √m``,
* ``rossi`` (Rossi et al. 1999): ``z = (x − 3m + 2√(x·m)) / (2√m)``,

then ``S_t = max(0, S_{t−1} + z_t − k)`` with ``S_{start−1} = 0``, and ``alarm = S_t ≥ h``
(no reset after an alarm, as surveillance 1.20). The upper bound is the count that would
just reach ``h`` given ``S_{t−1}``, R's back-transformation:

* ``standard``: ``ceil(√m · (h + k − S_{t−1}) + m)``,
* ``rossi``: ``2h√m + 2k√m − 2S_{t−1}√m + 5m − 2·√(4m² + 2m^{3/2}(h + k − S_{t−1}))``,

with NaN and negative bounds set to 0. Where ``m`` is 0 the statistic is NaN (or
infinite) as in R: ``alarm`` is then false where R gives NA.

All series are columns of one recursion over time (a loop over time points, each an
array operation over every series).

Examples
--------
>>> import numpy as np
>>> x = np.array([[2, 3, 1, 2, 2, 3, 9, 8, 2.0]])
>>> res = cusum(x, start=5)
>>> res.alarm[0, 5:].tolist()
[False, True, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CUSUM_TRANSFORMS", "CusumResult", "cusum"]

CUSUM_TRANSFORMS = ("standard", "rossi")


@dataclass(frozen=True)
class CusumResult:
    """Per series and time point results of :func:`cusum` (arrays shaped like the input).

    Attributes
    ----------
    expected
        The in-control mean ``m`` at monitored points (NaN elsewhere).
    upper_bound
        R's ``upperbound``.
    alarm
        ``S_t ≥ h`` (False where unmonitored or NaN).
    score
        The CUSUM statistic ``S_t``.
    evaluable
        Whether the time point is monitored.
    """

    expected: np.ndarray
    upper_bound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    evaluable: np.ndarray


def cusum(
    observed: np.ndarray,
    *,
    start: int,
    k: float = 1.04,
    h: float = 2.26,
    m: float | None = None,
    trans: str = "standard",
    lengths: np.ndarray | None = None,
) -> CusumResult:
    """CUSUM for a matrix of count series, as R ``surveillance::cusum``.

    Parameters
    ----------
    observed
        Counts, shape ``(n_series, n_time)``; shorter series padded at the end (``lengths``).
    start
        0-based index of the first monitored time point (R's ``range[1] − 1``), ≥ 1.
    k, h
        Reference value and decision boundary.
    m
        In-control mean; default: per series, the mean of the counts before ``start``.
    trans
        ``"standard"`` or ``"rossi"``.
    lengths
        Length of each series (default: all ``n_time``).

    Returns
    -------
    CusumResult
        Arrays shaped like ``observed``.
    """
    if trans not in CUSUM_TRANSFORMS:
        raise ValueError(f"trans must be one of {CUSUM_TRANSFORMS}; got {trans!r}")
    if start < 1:
        raise ValueError(f"start must be >= 1; got {start}")
    x = np.asarray(observed, dtype=np.float64)
    n_series, n_time = x.shape
    nan = np.float64(np.nan)
    score = np.full(x.shape, nan)
    upper = np.full(x.shape, nan)
    t = np.arange(n_time)
    evaluable = np.broadcast_to(t >= start, x.shape)
    if lengths is not None:
        evaluable = evaluable & (t[None, :] < np.asarray(lengths)[:, None])
    evaluable = np.ascontiguousarray(evaluable)
    if m is None:
        mean = x[:, :start].mean(axis=1) if n_time >= start else np.full(n_series, nan)
    else:
        mean = np.full(n_series, float(m))
    root = np.sqrt(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_prev = np.zeros(n_series)
        for j in range(start, n_time):
            xj = x[:, j]
            if trans == "standard":
                z = (xj - mean) / root
                ub = np.ceil(root * (h + k - s_prev) + mean)
            else:
                z = (xj - 3 * mean + 2 * np.sqrt(xj * mean)) / (2 * root)
                m32 = np.power(mean, 1.5)
                ub = (
                    2 * h * root
                    + 2 * k * root
                    - 2 * s_prev * root
                    + 5 * mean
                    - 2 * np.sqrt(4 * mean**2 + 2 * m32 * h + 2 * m32 * k - 2 * m32 * s_prev)
                )
            s = np.maximum(0.0, s_prev + (z - k))  # NaN stays NaN, as R's max()
            score[:, j] = s
            upper[:, j] = ub
            s_prev = s
        upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper)
        alarm = evaluable & (score >= h)
    expected = np.where(evaluable, mean[:, None], nan)
    upper = np.where(evaluable, upper, nan)
    score = np.where(evaluable & np.isfinite(score), score, nan)
    return CusumResult(expected=expected, upper_bound=upper, alarm=alarm, score=score, evaluable=evaluable)
