"""The Open Targets harmonic sum: many scores in [0, 1] folded into one score in [0, 1].

For scores s₁ ≥ s₂ ≥ … (sorted descending) the harmonic sum is Σᵢ sᵢ / i²; Open Targets
divides it by the *maximal harmonic sum*, the sum for a vector of ones. The platform's
documentation (platform-docs ``associations.md``) takes that vector to have 1,000 ones:
Σ_{i=1}^{1000} 1/i² = 1.64393456668156 (π²/6 = 1.6449340668 is the infinite sum). The
Spark ETL that computed the platform's scores until 2026 (platform-etl-backend
``Association.scala``: ``maxHarmonicValue(100000, 2, 1)``) used 100,000 ones
(1.64492406689823); biolake uses the documented 1,000 (``MAX_TERMS``), as its interface
states. The weighted form multiplies each score by its source's weight *before* sorting
(``harmonicFn`` with a weight column in the same file).

Layers: :func:`harmonic_sum` (one vector) and :func:`grouped_harmonic_sum` (every group of a
long table at once, vectorised with one sort).

Examples
--------
>>> round(max_harmonic_sum(), 10)
1.6439345667
>>> round(harmonic_sum([1.0, 0.9, 0.8]), 12)   # (1 + 0.9/4 + 0.8/9) / 1.6439345667
0.799234297714
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["MAX_TERMS", "grouped_harmonic_sum", "harmonic_sum", "max_harmonic_sum"]

#: Length of the vector of ones whose harmonic sum normalises scores (Open Targets' documentation).
MAX_TERMS = 1000


@lru_cache(maxsize=8)
def max_harmonic_sum(n_terms: int = MAX_TERMS) -> float:
    """Σ_{i=1}^{n} 1/i², summed from the smallest term up (the most accurate order)."""
    i = np.arange(n_terms, 0, -1, dtype=np.float64)
    return float(np.sum(1.0 / (i * i)))


def harmonic_sum(scores: Sequence[float] | np.ndarray, *, n_terms: int = MAX_TERMS) -> float:
    """Normalised harmonic sum of ``scores``: Σ sᵢ/i² over the scores sorted descending, / max.

    An empty vector gives 0. Scores beyond position ``n_terms`` still count (their terms
    are tiny), as in Open Targets.
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if s.size == 0:
        return 0.0
    i = np.arange(1, s.size + 1, dtype=np.float64)
    return float(np.sum(s / (i * i)) / max_harmonic_sum(n_terms))


def grouped_harmonic_sum(
    groups: np.ndarray | Sequence[Any], scores: np.ndarray | Sequence[float], *, n_terms: int = MAX_TERMS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised harmonic sum of the scores of each group.

    Parameters
    ----------
    groups
        One group label per score (any sortable values).
    scores
        The scores (already weighted, if weights apply).

    Returns
    -------
    labels, sums, counts
        The distinct groups (sorted), their normalised harmonic sums and their numbers of scores.
    """
    g = np.asarray(groups)
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return g[:0], np.zeros(0), np.zeros(0, dtype=np.int64)
    labels, inverse = np.unique(g, return_inverse=True)
    order = np.lexsort((-s, inverse))  # by group, then score descending
    inv_sorted = inverse[order]
    starts = np.flatnonzero(np.r_[True, inv_sorted[1:] != inv_sorted[:-1]])
    counts = np.diff(np.r_[starts, inv_sorted.size])
    position = np.arange(inv_sorted.size) - np.repeat(starts, counts) + 1.0
    terms = s[order] / (position * position)
    sums = np.add.reduceat(terms, starts) / max_harmonic_sum(n_terms)
    return labels, sums, counts.astype(np.int64)
