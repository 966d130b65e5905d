"""Frequentist and Bayesian-confidence disproportionality of drug–event 2×2 tables, vectorized.

For every drug–event pair the counts of unique reports form the 2×2 table

===========  =========  ============
             event      not event
===========  =========  ============
drug         a = n      b = n1 − a
not drug     c = m1 − a d = N − n1 − m1 + a
===========  =========  ============

with ``n1`` the reports naming the drug, ``m1`` those naming the event and ``N`` all
reports. :func:`disproportionality` computes, on whole arrays at once,

* ``prr`` = [a/(a+b)] / [c/(c+d)] and ``prr_chi2``, the Yates-corrected χ² of the table
  exactly as R ``chisq.test(correct = TRUE)`` computes it (the correction is
  ``min(0.5, |a − E_a|)``, so a table that fits its margins gives 0, not a negative
  number): ``N (|ad − bc| − min(N/2, |ad − bc|))² / ((a+b)(c+d)(a+c)(b+d))``;
* ``ror`` = ad/(bc) with ``ror_lo``/``ror_hi`` = exp(ln ror ∓ 1.96 √(1/a + 1/b + 1/c + 1/d));
* the BCPNN information component ``ic`` = log2((n + 0.5)/(E + 0.5)) and ``ic025`` =
  log2 of the 2.5 % quantile of Gamma(shape n + 0.5, rate E + 0.5) (Norén et al. 2006's
  credibility interval), with ``E`` the expected count.

A zero cell never raises: the formulas are evaluated in IEEE arithmetic, so a zero
denominator gives ``inf`` and an undefined value (0/0, inf − inf) gives NaN (written
as an empty field / null).

Examples
--------
>>> import numpy as np
>>> r = disproportionality(np.array([10]), np.array([40]), np.array([30]), 1000, np.array([1.2]))
>>> [round(float(r[k][0]), 4) for k in ("prr", "ror", "ic")]
[12.0, 15.6667, 2.6268]
"""

from __future__ import annotations

import numpy as np
from scipy import special

from biolake.errors import check_param

__all__ = ["Z_95", "disproportionality", "evans_signal"]

Z_95 = 1.96
"""The normal quantile of the ROR interval (the issue's 1.96, not qnorm(0.975))."""


def disproportionality(
    n: np.ndarray,
    n_drug: np.ndarray,
    n_event: np.ndarray,
    n_total: np.ndarray | int,
    expected: np.ndarray,
) -> dict[str, np.ndarray]:
    """PRR with Yates χ², ROR with its 95 % CI and the information component, for all pairs at once.

    Parameters
    ----------
    n
        Reports naming the drug and the event (``a``), one entry per pair.
    n_drug
        Reports naming the drug (``a + b``).
    n_event
        Reports naming the event (``a + c``).
    n_total
        All reports (``N``), a scalar or one entry per pair.
    expected
        Expected count of the pair (``n_drug · n_event / N``, or its stratified version).

    Returns
    -------
    dict of numpy.ndarray
        ``prr``, ``prr_chi2``, ``ror``, ``ror_lo``, ``ror_hi``, ``ic``, ``ic025`` (float64).
    """
    a = np.asarray(n, dtype=np.float64)
    n1 = np.asarray(n_drug, dtype=np.float64)
    m1 = np.asarray(n_event, dtype=np.float64)
    total = np.broadcast_to(np.asarray(n_total, dtype=np.float64), a.shape)
    e = np.asarray(expected, dtype=np.float64)
    check_param("disproportionality", "n", "arrays of different lengths", a.shape == n1.shape == m1.shape, "")
    check_param("disproportionality", "expected", e.shape, e.shape == a.shape, f"of shape {a.shape}")
    check_param("disproportionality", "n", "negative counts", bool(np.all(a >= 0)), "non-negative counts")
    b = n1 - a
    c = m1 - a
    d = total - n1 - m1 + a
    check_param(
        "disproportionality",
        "n_total",
        "counts inconsistent with their margins",
        bool(np.all((b >= 0) & (c >= 0) & (d >= 0))),
        "at least n_drug + n_event − n (a consistent 2×2 table)",
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        prr = (a / (a + b)) / (c / (c + d))
        ad_bc = np.abs(a * d - b * c)
        yates = np.minimum(total / 2.0, ad_bc)
        chi2 = total * (ad_bc - yates) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
        ror = (a * d) / (b * c)
        se = np.sqrt(1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d)
        log_ror = np.log(ror)
        ror_lo = np.exp(log_ror - Z_95 * se)
        ror_hi = np.exp(log_ror + Z_95 * se)
        ic = np.log2((a + 0.5) / (e + 0.5))
        # the Gamma(n + 0.5, 1) quantile depends on n only: computed once per distinct n
        q = _per_distinct_count(a, lambda v: special.gammaincinv(v + 0.5, 0.025))
        ic025 = np.log2(q / (e + 0.5))
    return {
        "prr": prr,
        "prr_chi2": chi2,
        "ror": ror,
        "ror_lo": ror_lo,
        "ror_hi": ror_hi,
        "ic": ic,
        "ic025": ic025,
    }


def _per_distinct_count(a: np.ndarray, f) -> np.ndarray:
    """``f(a)`` evaluated once per distinct value: by a table over 0 … max for integer counts, else np.unique."""
    ai = a.astype(np.int64) if a.size else a
    if a.size and np.array_equal(ai, a) and ai.min() >= 0 and ai.max() <= 4 * a.size + 1024:
        present = np.flatnonzero(np.bincount(ai.ravel()))
        table = np.empty(int(ai.max()) + 1)
        table[present] = f(present.astype(np.float64))
        return table[ai]
    values, inverse = np.unique(a, return_inverse=True)
    return f(values)[inverse.reshape(a.shape)]


def evans_signal(n: np.ndarray, prr: np.ndarray, prr_chi2: np.ndarray) -> np.ndarray:
    """Evans et al. (2001) criteria: n ≥ 3, PRR ≥ 2 and χ² ≥ 4 (NaN compares false)."""
    n = np.asarray(n)
    with np.errstate(invalid="ignore"):
        return (n >= 3) & (np.asarray(prr) >= 2) & (np.asarray(prr_chi2) >= 4)
