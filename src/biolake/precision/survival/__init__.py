"""Survival analysis as R ``survival`` does it: Kaplan–Meier, log-rank, Cox (Efron), cox.zph.

Written here rather than taken from lifelines or scikit-survival: the issue asks for
agreement with R ``survival`` to 1e-8 (lifelines' Cox differs by ~1e-6, its robust SE by
~3e-5; scikit-survival is GPL-3), and for a Cox fit on a million rows in about a second.
The Cox kernel is :mod:`biolake.stats.coxph`; see ``docs/survival.md``.
"""

from biolake.precision.survival.analysis import SurvivalResult, survival_analysis, survival_job
from biolake.precision.survival.concordance import concordance_index
from biolake.precision.survival.cox import COX_COLUMNS, CoxResult, coxph
from biolake.precision.survival.km import KM_COLUMNS, kaplan_meier
from biolake.precision.survival.logrank import LogRankResult, logrank
from biolake.precision.survival.zph import ZPH_COLUMNS

__all__ = [
    "COX_COLUMNS",
    "KM_COLUMNS",
    "ZPH_COLUMNS",
    "CoxResult",
    "LogRankResult",
    "SurvivalResult",
    "concordance_index",
    "coxph",
    "kaplan_meier",
    "logrank",
    "survival_analysis",
    "survival_job",
]
