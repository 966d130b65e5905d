"""Polygenic risk scores (``biolake precision prs``), as ``plink2 --score``.

Modules: :mod:`.weights` (PGS Catalog and plain weights files), :mod:`.matching`
(weights → dataset variants, with the match log), :mod:`.kernel` (the numba kernel and
one block as a backend task), :mod:`.association` (OR per SD, AUC, R², deciles),
:mod:`.job` (:func:`prs`, the validated public function).
"""

from biolake.precision.prs.job import COLUMNS, PrsResult, compute_scores, prs
from biolake.precision.prs.matching import Match, match_weights
from biolake.precision.prs.weights import MODELS, Weights, read_weights

__all__ = [
    "COLUMNS",
    "MODELS",
    "Match",
    "PrsResult",
    "Weights",
    "compute_scores",
    "match_weights",
    "prs",
    "read_weights",
]
